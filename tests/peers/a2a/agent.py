"""An A2A agent on the a2a-sdk 1.3.0, served on 127.0.0.1 at a port the OS picks.

Usage: python agent.py {complete|stream|input|data|data-stream} NAME [--no-push] [--v03] [--data-schemas]
Prints "PORT <n>" on stdout once listening. JSON-RPC at "/" and HTTP+JSON under "/rest", 1.0
with 0.3 compatibility (the card names the JSON-RPC interface, which the gateway uses).
  --no-push: the card says pushNotifications: false, and no push config store.
  --v03:     the card declares a 0.3 JSON-RPC interface (first) beside the 1.0 one, so it is
             the merged card a2a-sdk serves a 0.3 client, and a 0.3 client can use the agent.
  complete: completes every message at once with an "echo: <text>" artifact.
  stream:   working -> three artifact chunks -> completed, as separate events.
  input:    asks for input on the first message (input-required), completes on the next.
  data:     completes with a data artifact {"total": 42}, or {"total": "not a number"} when a
            data part of the message says {"bad_answer": true}.
  data-stream: the same as events: working -> the data artifact -> completed.
  --data-schemas: the card declares, in the gateway's extension
             (urn:agent-gateway:a2a:data-schemas:v1), that it accepts application/json objects
             with a string "sku" and a number "qty", and returns objects with a number "total".
"""

import asyncio
import socket
import sys

import uvicorn
from starlette.applications import Starlette

from a2a.helpers.proto_helpers import (
    get_data_parts,
    new_data_part,
    new_task_from_user_message,
    new_text_part,
)
from a2a.server.agent_execution import AgentExecutor
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes, create_rest_routes
from a2a.server.tasks import InMemoryPushNotificationConfigStore, InMemoryTaskStore, TaskUpdater
from a2a.types import (
    AgentCapabilities,
    AgentCard,
    AgentExtension,
    AgentInterface,
    AgentSkill,
    TaskState,
)

DATA_SCHEMAS = 'urn:agent-gateway:a2a:data-schemas:v1'
ACCEPTS = {
    'type': 'object',
    'required': ['sku', 'qty'],
    'properties': {'sku': {'type': 'string'}, 'qty': {'type': 'number'}, 'bad_answer': {'type': 'boolean'}},
    'additionalProperties': False,
}
RETURNS = {'type': 'object', 'required': ['total'], 'properties': {'total': {'type': 'number'}}}


class Echo(AgentExecutor):
    def __init__(self, mode: str, name: str) -> None:
        self.mode = mode
        self.name = name

    async def execute(self, context, event_queue) -> None:
        task = context.current_task
        if task is None:
            task = new_task_from_user_message(context.message)
            await event_queue.enqueue_event(task)
        updater = TaskUpdater(event_queue, task.id, task.context_id)
        text = context.get_user_input()
        if self.mode in ('data', 'data-stream'):
            sent = get_data_parts(context.message.parts)
            bad = any(isinstance(d, dict) and d.get('bad_answer') for d in sent)
            answer = {'total': 'not a number'} if bad else {'total': 42}
            if self.mode == 'data-stream':
                await updater.update_status(TaskState.TASK_STATE_WORKING)
            await updater.add_artifact([new_data_part(answer, 'application/json')], artifact_id='out')
            await updater.complete()
            return
        if self.mode == 'input' and task.status.state != TaskState.TASK_STATE_INPUT_REQUIRED:
            await updater.requires_input(updater.new_agent_message([new_text_part('which city?')]))
            return
        if self.mode == 'stream':
            await updater.update_status(TaskState.TASK_STATE_WORKING)
            for i in range(3):
                await updater.add_artifact(
                    [new_text_part(f'{self.name} chunk {i}: {text}')],
                    artifact_id='out',
                    append=i > 0,
                    last_chunk=i == 2,
                )
                await asyncio.sleep(0.01)
        else:
            await updater.add_artifact([new_text_part(f'{self.name} echo: {text}')])
        await updater.complete()

    async def cancel(self, context, event_queue) -> None:
        task = context.current_task
        updater = TaskUpdater(event_queue, task.id, task.context_id)
        await updater.cancel()


def main() -> None:
    mode, name = sys.argv[1], sys.argv[2]
    push = '--no-push' not in sys.argv[3:]
    v03 = '--v03' in sys.argv[3:]
    extensions = []
    if '--data-schemas' in sys.argv[3:]:
        declared = AgentExtension(uri=DATA_SCHEMAS, description='schemas of its data parts')
        declared.params.update({'accepts': {'application/json': ACCEPTS},
                                'returns': {'application/json': RETURNS}})
        extensions.append(declared)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    url = f'http://127.0.0.1:{port}/'
    card = AgentCard(
        name=name,
        description=f'{name}: an a2a-sdk test agent ({mode})',
        version='1.0.0',
        supported_interfaces=(
            [AgentInterface(url=url, protocol_binding='JSONRPC', protocol_version='0.3')] if v03 else []
        ) + [AgentInterface(url=url, protocol_binding='JSONRPC', protocol_version='1.0')],
        capabilities=AgentCapabilities(streaming=True, push_notifications=push, extensions=extensions),
        default_input_modes=['text/plain'],
        default_output_modes=['text/plain'],
        skills=[AgentSkill(id='echo', name='Echo', description='echoes text', tags=['text'])],
    )
    # Push configs are stored (and can be read back); no sender, so no webhook is ever called.
    handler = DefaultRequestHandler(
        agent_executor=Echo(mode, name),
        task_store=InMemoryTaskStore(),
        agent_card=card,
        push_config_store=InMemoryPushNotificationConfigStore() if push else None,
    )
    routes = create_agent_card_routes(card, cache_control='public, max-age=60')
    routes += create_jsonrpc_routes(handler, '/', enable_v0_3_compat=True)
    routes += create_rest_routes(handler, enable_v0_3_compat=True, path_prefix='/rest')
    app = Starlette(routes=routes)
    print(f'PORT {port}', flush=True)
    config = uvicorn.Config(app, log_level='warning')
    asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))


if __name__ == '__main__':
    main()
