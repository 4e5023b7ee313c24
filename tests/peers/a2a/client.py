"""The a2a-sdk 1.3.0 client, talking to one agent through the gateway.

Usage: python client.py AGENT_URL {send|stream|input|unknown} [JSONRPC|HTTP+JSON] [1.0|0.3]
  unknown: resubscribe to a task that does not exist; prints the error the SDK raised.
  input: send (the agent asks for input), resubscribe (first event, then hang up), register a
  push config inside the gateway's allow-list and read it back, try one outside it, cancel, get.
With 0.3, only the card's 0.3 interfaces are kept, so the SDK uses its 0.3 compat transport.
Resolves the card at AGENT_URL/.well-known/agent-card.json (served by the gateway), then sends
one message (or streams it) and prints one JSON line per StreamResponse, then the task fetched
again with get_task, each as {"kind": ..., ...}. Exits non-zero on any failure.
"""

import asyncio
import json
import sys

from google.protobuf.json_format import MessageToDict

import httpx

from a2a.client import A2ACardResolver, ClientConfig, create_client
from a2a.helpers.proto_helpers import new_text_message
from a2a.utils.errors import JSON_RPC_ERROR_CODE_MAP, A2AError
from a2a.types import (
    CancelTaskRequest,
    GetTaskPushNotificationConfigRequest,
    TaskPushNotificationConfig,
    GetTaskRequest,
    Role,
    SendMessageRequest,
    SubscribeToTaskRequest,
)


async def main() -> None:
    url, mode = sys.argv[1], sys.argv[2]
    binding = sys.argv[3] if len(sys.argv) > 3 else 'JSONRPC'
    version = sys.argv[4] if len(sys.argv) > 4 else '1.0'
    config = ClientConfig(streaming=(mode != 'send'), supported_protocol_bindings=[binding])
    async with httpx.AsyncClient() as http:
        card = await A2ACardResolver(http, url).get_agent_card()
    keep = [i for i in card.supported_interfaces if i.protocol_version == version and i.protocol_binding == binding]
    if not keep:
        raise SystemExit(f'the card has no {binding} {version} interface')
    del card.supported_interfaces[:]
    card.supported_interfaces.extend(keep)
    client = await create_client(card, client_config=config)
    try:
        if mode == 'unknown':
            try:
                async for event in client.subscribe(SubscribeToTaskRequest(id='no-such-task')):
                    print(json.dumps({'kind': 'event', 'event': MessageToDict(event)}), flush=True)
                print(json.dumps({'kind': 'unknown', 'refused': False}), flush=True)
            except A2AError as e:
                code = JSON_RPC_ERROR_CODE_MAP.get(type(e))
                print(json.dumps({'kind': 'unknown', 'refused': True, 'error': type(e).__name__,
                                  'code': code}), flush=True)
            return
        msg = new_text_message('hello gateway', role=Role.ROLE_USER)
        task_id = None
        async for event in client.send_message(SendMessageRequest(message=msg)):
            d = MessageToDict(event)
            print(json.dumps({'kind': 'event', 'event': d}), flush=True)
            if 'task' in d:
                task_id = d['task']['id']
            for key in ('statusUpdate', 'artifactUpdate'):
                if key in d:
                    task_id = d[key]['taskId']
        if mode == 'input':
            async for event in client.subscribe(SubscribeToTaskRequest(id=task_id)):
                print(json.dumps({'kind': 'subscribed', 'event': MessageToDict(event)}), flush=True)
                break
            created = await client.create_task_push_notification_config(
                TaskPushNotificationConfig(task_id=task_id, id='cfg-1', url='http://127.0.0.1:9/hook', token='tok')
            )
            got = await client.get_task_push_notification_config(
                GetTaskPushNotificationConfigRequest(task_id=task_id, id=created.id)
            )
            print(json.dumps({'kind': 'push', 'created': MessageToDict(created), 'got': MessageToDict(got)}), flush=True)
            try:
                await client.create_task_push_notification_config(
                    TaskPushNotificationConfig(task_id=task_id, url='http://169.254.169.254/latest')
                )
                print(json.dumps({'kind': 'push-outside', 'refused': False}), flush=True)
            except A2AError as e:
                # Only the SDK's own errors count as a refusal, reported with their JSON-RPC code
                # and HTTP status, which the Rust side checks; anything else fails the run.
                code = JSON_RPC_ERROR_CODE_MAP.get(type(e))
                # The HTTP+JSON transport raises an untyped error for a 400: report its status.
                status = getattr(getattr(e.__cause__, 'response', None), 'status_code', None)
                print(json.dumps({'kind': 'push-outside', 'refused': True, 'error': type(e).__name__,
                                  'code': code, 'status': status, 'message': str(e)}), flush=True)
            canceled = await client.cancel_task(CancelTaskRequest(id=task_id))
            print(json.dumps({'kind': 'canceled', 'task': MessageToDict(canceled)}), flush=True)
        task = await client.get_task(GetTaskRequest(id=task_id))
        print(json.dumps({'kind': 'task', 'task': MessageToDict(task)}), flush=True)
    finally:
        await client.close()


if __name__ == '__main__':
    asyncio.run(main())
