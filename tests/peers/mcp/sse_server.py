"""A legacy MCP server on the HTTP+SSE transport (2024-11-05), on the official python SDK,
for agent-gateway's real-peer tests of its SSE upstream connector.

Serves `GET /sse` (the event stream, whose first event names the POST endpoint) and
`POST /messages/?session_id=...` on 127.0.0.1, on a port the OS picks, and prints
`PORT <n>` on stdout once it listens.
"""

import asyncio
import socket
import sys

import uvicorn
from mcp.server.mcpserver import Context, MCPServer

server = MCPServer("legacy-sse")


@server.tool()
def add(a: int, b: int) -> int:
    """Adds two integers."""
    return a + b


@server.tool()
async def count(n: int, ctx: Context) -> str:
    """Counts to n, reporting progress on the way."""
    for i in range(n):
        await ctx.report_progress(i + 1, n)
    await ctx.info(f"counted to {n}")
    return f"counted {n}"


async def main() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    # Listening before the port is announced: a client may connect at once.
    sock.listen(128)
    port = sock.getsockname()[1]
    app = server.sse_app(host="127.0.0.1")
    config = uvicorn.Config(app, log_level="warning")
    print(f"PORT {port}", flush=True)
    await uvicorn.Server(config).serve(sockets=[sock])


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
