"""A fixture MCP server on the official python SDK, for agent-gateway's real-peer tests.

Serves streamable HTTP at /mcp on 127.0.0.1, on a port the OS picks, and prints
`PORT <n>` on stdout once it listens. Dual-era, as the SDK's server is: modern
(2026-07-28, stateless) and legacy (initialize + sessions) on the same endpoint.
"""

import asyncio
import socket
import sys

import uvicorn
from mcp.server.mcpserver import MCPServer

server = MCPServer("fixture")


@server.tool()
def add(a: int, b: int) -> int:
    """Adds two integers."""
    return a + b


@server.tool(name="echo-text")
def echo_text(text: str) -> str:
    """Echoes its text back."""
    return f"echo:{text}"


async def main() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    # Listening before the port is announced: a client may connect at once.
    sock.listen(128)
    port = sock.getsockname()[1]
    app = server.streamable_http_app(host="127.0.0.1")
    config = uvicorn.Config(app, log_level="warning")
    print(f"PORT {port}", flush=True)
    await uvicorn.Server(config).serve(sockets=[sock])


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
