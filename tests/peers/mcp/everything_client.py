"""Drives npm server-everything's features through an MCP endpoint with the official python SDK.

Usage: everything_client.py <url> <mode> <command> [args]
`mode` is the SDK's: "legacy" (initialize handshake) or a modern version such as "2026-07-28".
Commands, each printing one JSON line:
  links <prefix>           call <prefix>get-resource-links (count 2) and read every linked resource:
                           {"links": [uris], "read": [{"uri", "text"|"blob"}], "errors": [str]}
  roots <yes|no>           list the tools, declaring the roots capability or not: {"tools": [names]}
  logs <prefix> <level> <seconds> <toggle|no-toggle>
                           ask for log messages at <level> (legacy: logging/setLevel and the session's
                           GET stream; modern: a subscriptions/listen stream opened with that level),
                           start <prefix>toggle-simulated-logging (unless no-toggle: another client
                           of the same server session started them), and wait up to <seconds> for
                           the first log message sent after the call ended:
                           {"after_call": [{"level", "data"}], "levels_seen": [levels]}
"""

import asyncio
import json
import sys

import anyio
from mcp import Client
from mcp import types


async def links(url: str, mode: str, prefix: str) -> dict:
    async with Client(url, mode=mode) as client:
        result = await client.call_tool(f"{prefix}get-resource-links", {"count": 2})
        uris = [str(c.uri) for c in result.content if getattr(c, "type", None) == "resource_link"]
        read, errors = [], []
        for uri in uris:
            try:
                got = await client.read_resource(uri)
            except Exception as e:  # noqa: BLE001 - reported to the test
                errors.append(f"{uri}: {e}")
                continue
            for c in got.contents:
                entry = {"uri": str(c.uri)}
                if getattr(c, "text", None) is not None:
                    entry["text"] = c.text
                if getattr(c, "blob", None) is not None:
                    entry["blob"] = c.blob
                read.append(entry)
        return {"links": uris, "read": read, "errors": errors}


async def roots(url: str, mode: str, declare: str) -> dict:
    async def list_roots(_context) -> types.ListRootsResult:
        return types.ListRootsResult(roots=[types.Root(uri="file:///work", name="work")])

    callback = list_roots if declare == "yes" else None
    async with Client(url, mode=mode, list_roots_callback=callback) as client:
        tools = await client.list_tools()
        return {"tools": [t.name for t in tools.tools]}


async def logs(url: str, mode: str, prefix: str, level: str, seconds: float, toggle: bool) -> dict:
    seen: list[dict] = []
    call_done = anyio.Event()
    after_call: list[dict] = []
    first_after = anyio.Event()

    async def on_log(params: types.LoggingMessageNotificationParams) -> None:
        entry = {"level": params.level, "data": params.data}
        seen.append(entry)
        if call_done.is_set():
            after_call.append(entry)
            first_after.set()

    modern = mode != "legacy"
    async with Client(url, mode=mode, logging_callback=on_log, log_level=level if modern else None) as client:
        async def call() -> None:
            if toggle:
                await client.call_tool(f"{prefix}toggle-simulated-logging", {})
            call_done.set()

        if modern:
            async with client.listen(tools_list_changed=True):
                await call()
                with anyio.move_on_after(seconds):
                    await first_after.wait()
        else:
            await client.set_logging_level(level)
            # The SDK opens the session's GET stream once the session is up; the server sends a
            # message every 5 s, so one sent before the stream is open is not waited for.
            await call()
            with anyio.move_on_after(seconds):
                await first_after.wait()
    return {"after_call": after_call, "levels_seen": sorted({e["level"] for e in seen})}


async def main(argv: list[str]) -> None:
    url, mode, command, *rest = argv
    if command == "links":
        out = await links(url, mode, rest[0])
    elif command == "roots":
        out = await roots(url, mode, rest[0])
    elif command == "logs":
        out = await logs(url, mode, rest[0], rest[1], float(rest[2]), rest[3] == "toggle")
    else:
        raise SystemExit(f"unknown command {command}")
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
