"""The a2a-sdk 1.3.0 client, as a second caller trying to use a task that is not its own.

Usage: python thief.py AGENT_URL {JSONRPC|HTTP+JSON} {1.0|0.3} TASK_ID [OPS]
OPS is a comma-separated subset of get,cancel,subscribe,continue,push (default: all).
Resolves the card at AGENT_URL/.well-known/agent-card.json (served by the gateway), keeps the
interfaces of that binding and version, then tries get, cancel, subscribe, continue (a message
naming the task) and a push config on TASK_ID. Prints one JSON line per attempt:
{"op": ..., "refused": true, "error": <SDK error class>, "code": <JSON-RPC code>, "status": <HTTP>}
for an SDK error, or {"op": ..., "refused": false, "state": <task state, for get>} if the
attempt succeeded. Any other failure
exits non-zero.
"""

import asyncio
import json
import sys

import httpx
from google.protobuf.json_format import MessageToDict

from a2a.client import A2ACardResolver, ClientConfig, create_client
from a2a.helpers.proto_helpers import new_text_message
from a2a.utils.errors import JSON_RPC_ERROR_CODE_MAP, A2AError
from a2a.types import (
    CancelTaskRequest,
    GetTaskRequest,
    Role,
    SendMessageRequest,
    SubscribeToTaskRequest,
    TaskPushNotificationConfig,
)


def report(op, error=None, state=None):
    if error is None:
        print(json.dumps({'op': op, 'refused': False, 'state': state}), flush=True)
        return
    status = getattr(getattr(error.__cause__, 'response', None), 'status_code', None)
    print(json.dumps({'op': op, 'refused': True, 'error': type(error).__name__,
                      'code': JSON_RPC_ERROR_CODE_MAP.get(type(error)), 'status': status,
                      'message': str(error)}), flush=True)


async def main() -> None:
    url, binding, version, task_id = sys.argv[1:5]
    ops = sys.argv[5].split(',') if len(sys.argv) > 5 else ['get', 'cancel', 'subscribe', 'continue', 'push']
    config = ClientConfig(streaming=True, supported_protocol_bindings=[binding])
    async with httpx.AsyncClient() as http:
        card = await A2ACardResolver(http, url).get_agent_card()
    keep = [i for i in card.supported_interfaces if i.protocol_version == version and i.protocol_binding == binding]
    if not keep:
        raise SystemExit(f'the card has no {binding} {version} interface')
    del card.supported_interfaces[:]
    card.supported_interfaces.extend(keep)
    client = await create_client(card, client_config=config)

    async def get():
        task = await client.get_task(GetTaskRequest(id=task_id))
        return MessageToDict(task).get('status', {}).get('state')

    async def cancel():
        await client.cancel_task(CancelTaskRequest(id=task_id))

    async def subscribe():
        async for _ in client.subscribe(SubscribeToTaskRequest(id=task_id)):
            break

    async def cont():
        msg = new_text_message('let me in', role=Role.ROLE_USER)
        msg.task_id = task_id
        async for _ in client.send_message(SendMessageRequest(message=msg)):
            break

    async def push():
        await client.create_task_push_notification_config(
            TaskPushNotificationConfig(task_id=task_id, url='http://127.0.0.1:9/hook'))

    try:
        attempts = {'get': get, 'cancel': cancel, 'subscribe': subscribe, 'continue': cont, 'push': push}
        for op in ops:
            try:
                state = await attempts[op]()
                report(op, state=state)
            except A2AError as e:
                report(op, e)
    finally:
        await client.close()


if __name__ == '__main__':
    asyncio.run(main())
