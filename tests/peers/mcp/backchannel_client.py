"""Calls one tool with the official python SDK client, answering the server's requests.

Usage: backchannel_client.py <url | stdio:command...> <mode> <tool> <arguments-json>
`mode` is the SDK's ("legacy", "auto" or a modern version such as "2026-07-28"). The client
declares sampling, elicitation and roots, and answers them: sampling with the text "Hi",
elicitation by accepting `{"name": "Ada"}`, roots with `file:///src`. Prints one JSON line:
{"protocolVersion": ..., "content": [texts], "isError": bool, "error": message or null,
"asked": [the methods the server asked, in order]}.
"""

import asyncio
import json
import sys

import mcp_types as types
from mcp import Client


async def main(url: str, mode: str, tool: str, arguments: dict) -> None:
    asked: list[str] = []

    async def sampling(context, params):
        asked.append("sampling/createMessage")
        return types.CreateMessageResult(
            role="assistant", content=types.TextContent(type="text", text="Hi"), model="test-model"
        )

    async def elicitation(context, params):
        asked.append("elicitation/create")
        return types.ElicitResult(action="accept", content={"name": "Ada"})

    async def list_roots(context):
        asked.append("roots/list")
        return types.ListRootsResult(roots=[types.Root(uri="file:///src")])

    report = {"protocolVersion": None, "content": [], "isError": None, "error": None}
    async with Client(
        url,
        mode=mode,
        sampling_callback=sampling,
        elicitation_callback=elicitation,
        list_roots_callback=list_roots,
    ) as client:
        report["protocolVersion"] = client.protocol_version
        try:
            result = await client.call_tool(tool, arguments)
            report["content"] = [c.text for c in result.content if getattr(c, "type", None) == "text"]
            report["isError"] = bool(result.is_error)
        except Exception as e:  # the server's JSON-RPC error, reported rather than raised
            report["error"] = str(e)
    report["asked"] = asked
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])))
