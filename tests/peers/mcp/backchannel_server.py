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

Serves streamable HTTP at /mcp on 127.0.0.1, on a port the OS picks, and prints
`PORT <n>` on stdout once it listens.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import conformance_server as fixture
from mcp.shared.message import ServerMessageMetadata


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

if __name__ == "__main__":
    try:
        asyncio.run(fixture.main())
    except KeyboardInterrupt:
        sys.exit(0)
