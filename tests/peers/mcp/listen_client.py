"""Listens through an MCP endpoint with the official python SDK client (2026-07-28
`subscriptions/listen`), and makes the server change with a tool call.

Usage: listen_client.py <url> <tool> <resource-uri>
Opens a listen for tool-list changes and for updates of <resource-uri>, then calls <tool>
until both kinds of event have arrived (the endpoint may still be opening its own listens
upstream after acknowledging, so an early change can be missed; this is bounded). Prints one
JSON line: {"honored": {...}, "subscriptionId": ..., "events": [...], "calls": n}.
"""

import asyncio
import json
import sys

import anyio
from mcp import Client
from mcp.client.subscriptions import ResourceUpdated, ToolsListChanged


async def main(url: str, tool: str, uri: str) -> None:
    async with Client(url, mode="2026-07-28") as client:
        async with client.listen(tools_list_changed=True, resource_subscriptions=[uri]) as sub:
            honored = sub.honored.model_dump(by_alias=True, exclude_none=True, mode="json")
            events: set[str] = set()
            calls = 0
            while len(events) < 2 and calls < 40:
                await client.call_tool(tool, {})
                calls += 1
                with anyio.move_on_after(0.5):
                    while len(events) < 2:
                        event = await sub.__anext__()
                        if isinstance(event, ToolsListChanged):
                            events.add("tools")
                        elif isinstance(event, ResourceUpdated):
                            events.add(f"resource:{event.uri}")
                        else:
                            events.add(type(event).__name__)
            print(json.dumps({
                "honored": honored,
                "subscriptionId": sub.subscription_id,
                "events": sorted(events),
                "calls": calls,
            }), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
