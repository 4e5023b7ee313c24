"""An a2a-sdk 1.3.0 agent that works inside a run: it calls back through the gateway.

Usage: python run_agent.py MODE NAME GATEWAY KEY [ARG]
Prints "PORT <n>" on stdout once listening. JSON-RPC at "/", A2A 1.0.
  delegate: sends the text it got to agent ARG through the gateway, and answers with that
            agent's answer (its artifact text, or the JSON-RPC error as JSON).
  worker:   calls the gateway's MCP tool `demo__echo` ARG times (distinct arguments) and the
            `demo` model once, and answers with a JSON list of the outcomes ("ok" or the error
            code / status).
Every call to the gateway carries the agent's own key (KEY), and the run budget header the
gateway handed this agent, copied like `traceparent`, unless the text asks "drop-header".
"""

import json
import socket
import sys

import httpx
import uvicorn
from starlette.applications import Starlette

from a2a.helpers.proto_helpers import new_task_from_user_message, new_text_part
from a2a.server.agent_execution import AgentExecutor
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes
from a2a.server.tasks import InMemoryTaskStore, TaskUpdater
from a2a.types import AgentCapabilities, AgentCard, AgentInterface, AgentSkill

BUDGET = 'agw-run-budget'


class RunAgent(AgentExecutor):
    def __init__(self, mode, gateway, key, arg):
        self.mode, self.gateway, self.key, self.arg = mode, gateway, key, arg

    def headers(self, context, text):
        out = {'authorization': f'Bearer {self.key}'}
        got = context.call_context.state.get('headers', {})
        if BUDGET in got and 'drop-header' not in text:
            out[BUDGET] = got[BUDGET]
        return out

    async def delegate(self, client, headers, text):
        body = {'jsonrpc': '2.0', 'id': '1', 'method': 'SendMessage', 'params': {'message': {
            'messageId': 'delegated', 'role': 'ROLE_USER', 'parts': [{'text': text}]}}}
        res = await client.post(f'{self.gateway}/a2a/{self.arg}', json=body,
                                headers={**headers, 'a2a-version': '1.0'})
        answer = res.json()
        if 'error' in answer:
            return json.dumps({'error': answer['error']})
        return answer['result']['task']['artifacts'][0]['parts'][0]['text']

    async def work(self, client, headers):
        outcomes = []
        mcp = {**headers, 'accept': 'application/json, text/event-stream',
               'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call',
               'mcp-name': 'demo__echo'}
        for i in range(int(self.arg)):
            body = {'jsonrpc': '2.0', 'id': i, 'method': 'tools/call', 'params': {
                'name': 'demo__echo', 'arguments': {'i': i}, '_meta': {
                    'io.modelcontextprotocol/protocolVersion': '2026-07-28',
                    'io.modelcontextprotocol/clientCapabilities': {}}}}
            answer = (await client.post(f'{self.gateway}/mcp', json=body, headers=mcp)).json()
            err = answer.get('error')
            outcomes.append('ok' if err is None else {'code': err['code'], 'message': err['message']})
        body = {'model': 'demo', 'messages': [{'role': 'user', 'content': 'hi'}]}
        res = await client.post(f'{self.gateway}/v1/chat/completions', json=body, headers=headers)
        outcomes.append('ok' if res.status_code == 200 else {'status': res.status_code, 'body': res.text})
        return json.dumps(outcomes)

    async def execute(self, context, event_queue):
        task = context.current_task or new_task_from_user_message(context.message)
        if context.current_task is None:
            await event_queue.enqueue_event(task)
        updater = TaskUpdater(event_queue, task.id, task.context_id)
        text = context.get_user_input()
        headers = self.headers(context, text)
        async with httpx.AsyncClient(timeout=30) as client:
            if self.mode == 'delegate':
                out = await self.delegate(client, headers, text)
            else:
                out = await self.work(client, headers)
        await updater.add_artifact([new_text_part(out)])
        await updater.complete()

    async def cancel(self, context, event_queue):
        task = context.current_task
        await TaskUpdater(event_queue, task.id, task.context_id).cancel()


def main():
    mode, name, gateway, key = sys.argv[1:5]
    arg = sys.argv[5] if len(sys.argv) > 5 else ''
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    url = f'http://127.0.0.1:{port}/'
    card = AgentCard(
        name=name,
        description=f'{name}: an a2a-sdk agent inside a run ({mode})',
        version='1.0.0',
        supported_interfaces=[AgentInterface(url=url, protocol_binding='JSONRPC', protocol_version='1.0')],
        capabilities=AgentCapabilities(streaming=False),
        default_input_modes=['text/plain'],
        default_output_modes=['text/plain'],
        skills=[AgentSkill(id='work', name='Work', description='works inside a run', tags=['run'])],
    )
    handler = DefaultRequestHandler(
        agent_executor=RunAgent(mode, gateway, key, arg),
        task_store=InMemoryTaskStore(),
        agent_card=card,
    )
    routes = create_agent_card_routes(card)
    routes += create_jsonrpc_routes(handler, '/')
    print(f'PORT {port}', flush=True)
    config = uvicorn.Config(Starlette(routes=routes), log_level='warning')
    import asyncio
    asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))


if __name__ == '__main__':
    main()
