"""A dual-era MCP server whose tools use the session's back-channel, as real SDK servers do.

The conformance fixture (`conformance_server.py`) with one difference: its interactive
tools (`test_sampling`, `test_elicitation`, `test_elicitation_sep1034_defaults`,
`test_elicitation_sep1330_enums`, `test_missing_capability`, ...) always ask the client
with a real server-to-client request (`sampling/createMessage`, `elicitation/create`,
`roots/list`), in either era, the way a tool written with the python SDK's
`ctx.session.create_message`/`elicit` does. In the 2025-11-25 era the request goes on
the tools/call POST's SSE stream and the tool completes with the client's answer. In the
2026-07-28 era there is no back-channel: the SDK refuses to send it and the call fails
with its error (-32600, "no back-channel for server-initiated requests"); nothing
answers with `input_required`.

So a gateway in front of it serves a legacy client's interactive tools only if it speaks
the legacy era to this server on the client's behalf and relays the requests.

Usage: backchannel_server.py [--stdio | --sse]
By default serves streamable HTTP at /mcp on 127.0.0.1, on a port the OS picks, and
prints `PORT <n>` on stdout once it listens. `--sse` serves the legacy HTTP+SSE
transport instead (`GET /sse`, `POST /messages/`), also printing `PORT <n>`; `--stdio`
serves one session on stdin/stdout (the legacy era, as stdio clients speak it).
"""

from __future__ import annotations

import asyncio
import socket
import sys
from typing import Any

import conformance_server as fixture
import uvicorn
from mcp.server.sse import SseServerTransport
from mcp.server.stdio import stdio_server
from mcp.shared.message import ServerMessageMetadata
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route


async def back_channel_only(
    ctx: fixture.Ctx,
    params: Any,
    asks: list[fixture.Ask],
    *,
    state: str | None = None,
) -> dict[str, dict[str, Any]]:
    """The client's answers to `asks`, asked on the back-channel whatever the era."""
    for ask in asks:
        capability = fixture._CAPABILITY_FOR[ask.method]
        if not fixture.client_has(ctx, capability):
            raise fixture.ToolFailure(f"The client did not declare the {capability!r} capability needed for {ask.method}")
    answers: dict[str, dict[str, Any]] = {}
    for ask in asks:
        request_model, result_model = fixture._REQUEST_MODEL[ask.method]
        request = request_model.model_validate({"method": ask.method, "params": ask.params})
        # On the 2026-07-28 wire this raises the SDK's NoBackChannelError.
        result = await ctx.session.send_request(
            request,
            result_model,
            request_read_timeout_seconds=fixture.CLIENT_REQUEST_TIMEOUT,
            metadata=ServerMessageMetadata(related_request_id=ctx.request_id),
        )
        answers[ask.key] = fixture._dump(result)
    return answers


fixture.gather = back_channel_only


async def serve_stdio() -> None:
    server = fixture.build_server()
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


async def serve_sse() -> None:
    server = fixture.build_server()
    sse = SseServerTransport("/messages/")

    async def handle_sse(request: Request) -> Response:
        # As the SDK's own sse_app: the stream is served on the request's ASGI channel.
        async with sse.connect_sse(request.scope, request.receive, request._send) as (read, write):
            await server.run(read, write, server.create_initialization_options())
        return Response()

    app = Starlette(
        routes=[
            Route("/sse", endpoint=handle_sse, methods=["GET"]),
            Mount("/messages/", app=sse.handle_post_message),
        ]
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning")
    print(f"PORT {port}", flush=True)
    await uvicorn.Server(config).serve(sockets=[sock])


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else "--http"
    serve = {"--stdio": serve_stdio, "--sse": serve_sse}.get(mode, fixture.main)
    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        sys.exit(0)
