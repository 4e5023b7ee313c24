"""Lists tools and calls one through an MCP endpoint with the official python SDK client.

Usage: client.py <url> <mode> <tool> <arguments-json>
`mode` is the SDK's: "legacy" (initialize handshake), "auto" (server/discover, then fall back),
or a modern version such as "2026-07-28". Prints one JSON line:
{"protocolVersion": ..., "tools": [names], "content": [texts], "isError": bool}.
"""

import asyncio
import json
import sys

from mcp import Client


async def main(url: str, mode: str, tool: str, arguments: dict) -> None:
    async with Client(url, mode=mode) as client:
        tools = await client.list_tools()
        result = await client.call_tool(tool, arguments)
        texts = [c.text for c in result.content if getattr(c, "type", None) == "text"]
        print(json.dumps({
            "protocolVersion": client.protocol_version,
            "tools": [t.name for t in tools.tools],
            "content": texts,
            "isError": bool(result.is_error),
        }), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])))
