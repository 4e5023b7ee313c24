"""The stdio fixture server plus a `touch` tool that sends `notifications/tools/list_changed`
on its session (the 2025-11-25 way: stdio speaks the legacy era), for agent-gateway's listen
tests over stdio.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import stdio_server  # noqa: E402
from mcp.server.mcpserver import Context  # noqa: E402

server = stdio_server.server


@server.tool()
async def touch(ctx: Context) -> str:
    """Announces a changed tool list on this session."""
    await ctx.session.send_tool_list_changed()
    return "touched"


if __name__ == "__main__":
    print("stdio-listen-fixture: starting", file=sys.stderr, flush=True)
    server.run("stdio")
