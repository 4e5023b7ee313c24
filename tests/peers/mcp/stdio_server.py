"""A stdio MCP server on the official python SDK, for agent-gateway's stdio connector tests.

Speaks newline-delimited JSON-RPC on stdin/stdout (the 2025-11-25 era: initialize first).
`crash` exits the process at once, as a crashing server would; `slow-count` reports progress
and logs before it answers. Writes one line to stderr on start, for the stderr capture.
"""

import os
import sys

from mcp.server.mcpserver import Context, MCPServer

server = MCPServer("stdio-fixture")


@server.tool()
def add(a: int, b: int) -> int:
    """Adds two integers."""
    return a + b


@server.tool()
def pid() -> str:
    """The server's process id: which child answered."""
    return str(os.getpid())


@server.tool()
def crash() -> str:
    """Exits the process without answering."""
    os._exit(3)


@server.tool(name="slow-count")
async def slow_count(n: int, ctx: Context) -> str:
    """Reports progress n times, logs once, then answers."""
    for i in range(n):
        await ctx.report_progress(i + 1, n)
    await ctx.info("counted")
    return f"counted:{n}"


if __name__ == "__main__":
    print("stdio-fixture: starting", file=sys.stderr, flush=True)
    server.run("stdio")
