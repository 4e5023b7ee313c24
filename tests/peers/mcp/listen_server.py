"""The fixture server plus what agent-gateway's listen tests need: a `status` resource and a
`touch` tool that announces a changed tool list and an updated `fixture://status` to the
server's `subscriptions/listen` streams (2026-07-28).

Prints `PORT <n>` on stdout once it listens, as the fixture server does.
"""

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fixture_server  # noqa: E402
from mcp.server.mcpserver import Context  # noqa: E402

server = fixture_server.server


@server.resource("fixture://status")
def status() -> str:
    """A status the `touch` tool announces as updated."""
    return "ok"


@server.tool()
async def touch(ctx: Context) -> str:
    """Announces a changed tool list and an updated fixture://status."""
    await ctx.notify_tools_changed()
    await ctx.notify_resource_updated("fixture://status")
    return "touched"


if __name__ == "__main__":
    try:
        asyncio.run(fixture_server.main())
    except KeyboardInterrupt:
        sys.exit(0)
