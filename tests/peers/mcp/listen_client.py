"""Listens for changes through an MCP endpoint with the official python SDK client, and makes
the server change with a tool call.

Usage: listen_client.py <url> <mode> <tool> <resource-uri>
`mode` "2026-07-28": a `subscriptions/listen` stream for tool-list changes and updates of
<resource-uri>. `mode` "legacy": the initialize handshake; the SDK opens the session's GET
stream, and <resource-uri> is subscribed with `resources/subscribe` (a URI nobody owns is tried
first, and its refusal reported).

Then <tool> is called until both kinds of event have arrived (the endpoint may still be
opening its own listens upstream, so an early change can be missed; this is bounded). Prints
one JSON line: {"protocolVersion", "honored", "subscriptionId", "refused", "events", "calls"}.
"""

import asyncio
import json
import sys

import anyio
from mcp import Client
from mcp.client.subscriptions import ResourceUpdated, ToolsListChanged
from mcp.shared.exceptions import MCPError

WANTED = 2
MAX_CALLS = 40


async def modern(url: str, tool: str, uri: str) -> dict:
    async with Client(url, mode="2026-07-28") as client:
        async with client.listen(tools_list_changed=True, resource_subscriptions=[uri]) as sub:
            events: set[str] = set()
            calls = 0
            while len(events) < WANTED and calls < MAX_CALLS:
                await client.call_tool(tool, {})
                calls += 1
                with anyio.move_on_after(0.5):
                    while len(events) < WANTED:
                        event = await sub.__anext__()
                        if isinstance(event, ToolsListChanged):
                            events.add("tools")
                        elif isinstance(event, ResourceUpdated):
                            events.add(f"resource:{event.uri}")
                        else:
                            events.add(type(event).__name__)
            return {
                "protocolVersion": client.protocol_version,
                "honored": sub.honored.model_dump(by_alias=True, exclude_none=True, mode="json"),
                "subscriptionId": sub.subscription_id,
                "events": sorted(events),
                "calls": calls,
            }


async def legacy(url: str, tool: str, uri: str) -> dict:
    events: set[str] = set()
    arrived = anyio.Event()

    async def on_message(message) -> None:
        method = getattr(message, "method", None)
        if method == "notifications/tools/list_changed":
            events.add("tools")
        elif method == "notifications/resources/updated":
            events.add(f"resource:{message.params.uri}")
        elif method is not None:
            events.add(method)
        arrived.set()

    async with Client(url, mode="legacy", message_handler=on_message) as client:
        refused = None
        try:
            await client.session.subscribe_resource("nobody+" + uri)
        except MCPError as e:
            refused = e.error.code
        await client.session.subscribe_resource(uri)
        calls = 0
        while len(events) < WANTED and calls < MAX_CALLS:
            await client.call_tool(tool, {})
            calls += 1
            with anyio.move_on_after(0.5):
                while len(events) < WANTED:
                    await arrived.wait()
                    arrived = anyio.Event()
        return {
            "protocolVersion": client.protocol_version,
            "refused": refused,
            "events": sorted(events),
            "calls": calls,
        }


async def main(url: str, mode: str, tool: str, uri: str) -> None:
    report = await (legacy(url, tool, uri) if mode == "legacy" else modern(url, tool, uri))
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
