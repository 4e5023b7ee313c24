"""A legacy session opened by the official python SDK client belongs to its caller.

Usage: owner_client.py <url> <owner-key> <intruder-key> <tool>
The SDK client (legacy mode, the owner's bearer token) opens a session and calls `tool`. Then
a second caller (plain HTTP, the intruder's token) tries that session: a tools/call, a
notifications/cancelled, a GET stream and a DELETE. The owner calls again, and closes (the SDK
DELETEs its session). Prints one JSON line: {"session": bool, "content": [texts],
"intruder": {what: status}, "after": [texts]}.
"""

import asyncio
import json
import sys

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client


def texts(result):
    return [c.text for c in result.content if getattr(c, "type", None) == "text"]


async def intrude(url: str, key: str, session: str) -> dict:
    headers = {
        "Authorization": f"Bearer {key}",
        "mcp-session-id": session,
        "mcp-protocol-version": "2025-11-25",
        "accept": "application/json, text/event-stream",
    }
    call = {"jsonrpc": "2.0", "id": 99, "method": "tools/call",
            "params": {"name": "fs__read", "arguments": {}}}
    cancel = {"jsonrpc": "2.0", "method": "notifications/cancelled",
              "params": {"requestId": 1}}
    out = {}
    async with httpx2.AsyncClient(timeout=10) as other:
        out["call"] = (await other.post(url, json=call, headers=headers)).status_code
        out["cancel"] = (await other.post(url, json=cancel, headers=headers)).status_code
        get_headers = dict(headers, accept="text/event-stream")
        out["get"] = (await other.get(url, headers=get_headers)).status_code
        out["delete"] = (await other.delete(url, headers=headers)).status_code
    return out


async def main(url: str, owner: str, intruder: str, tool: str) -> None:
    seen = {}

    async def remember(response):
        sid = response.headers.get("mcp-session-id")
        if sid:
            seen["id"] = sid

    http = httpx2.AsyncClient(
        headers={"Authorization": f"Bearer {owner}"},
        event_hooks={"response": [remember]},
        timeout=30,
    )
    async with http:
        transport = streamable_http_client(url, http_client=http)
        async with Client(transport, mode="legacy") as client:
            first = await client.call_tool(tool, {})
            attempts = await intrude(url, intruder, seen["id"])
            after = await client.call_tool(tool, {})
    print(json.dumps({
        "session": "id" in seen,
        "content": texts(first),
        "intruder": attempts,
        "after": texts(after),
    }), flush=True)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
