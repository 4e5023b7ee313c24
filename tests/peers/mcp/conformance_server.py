"""The MCP conformance-suite fixture server, on the official python SDK (`mcp` 2.3.0).

The official conformance suite (npm `@modelcontextprotocol/conformance`) tests a
*server* by calling fixed fixtures: tools such as `test_simple_text` or
`test_input_required_result_elicitation`, the resources `test://static-text`,
`test://static-binary`, `test://template/{id}/data`, `test://watched-resource`,
prompts such as `test_simple_prompt`, completion, logging and subscriptions. This
module exposes every fixture the suite's server scenarios ask for, so the suite
can be pointed at it directly or through agent-gateway.

Serves streamable HTTP at /mcp on 127.0.0.1, on a port the OS picks, and prints
`PORT <n>` on stdout once it listens. Dual-era on the same endpoint, as the SDK
is: a request whose `MCP-Protocol-Version` header names 2026-07-28 is served
statelessly (per-request `_meta` envelope, `server/discover`,
`subscriptions/listen`, caching hints, multi-round-trip `input_required`
results); anything else goes through the legacy `initialize` handshake with
`Mcp-Session-Id` sessions, a GET stream, server-to-client JSON-RPC requests on
the POST response stream, and resumable SSE (priming events, `retry:`,
`Last-Event-ID`).

The interactive fixtures are era-aware: on a legacy session they send real
`sampling/createMessage` / `elicitation/create` / `roots/list` requests to the
client on the tools/call POST's SSE stream; on the 2026-07-28 wire the same
fixtures answer with `resultType: "input_required"` and complete when retried
with `inputResponses` (and the sealed `requestState`).
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import sys
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import mcp_types as types
import uvicorn
from mcp_types import INVALID_PARAMS, MISSING_REQUIRED_CLIENT_CAPABILITY
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from mcp.server.caching import CacheHint
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import NotificationOptions, Server
from mcp.server.models import InitializationOptions
from mcp.server.request_state import RequestStateBoundary, RequestStateSecurity
from mcp.server.session import ServerSession
from mcp.server.streamable_http import EventCallback, EventMessage, EventStore
from mcp.server.subscriptions import (
    InMemorySubscriptionBus,
    ListenHandler,
    PromptsListChanged,
    ResourcesListChanged,
    ResourceUpdated,
    ToolsListChanged,
)
from mcp.shared.exceptions import MCPDeprecationWarning, MCPError
from mcp.shared.message import ServerMessageMetadata

# Logging, sampling and roots are deprecated in 2026-07-28 but this fixture must
# still exercise them; keep the SDK's deprecation warnings out of the output.
warnings.filterwarnings("ignore", category=MCPDeprecationWarning)

SERVER_NAME = "mcp-conformance-fixture"
SERVER_VERSION = "1.0.0"

# A 1x1 PNG and a tiny WAV header, both base64.
PNG_1X1 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
WAV_TINY = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA="

# How long a legacy server-to-client request may wait for the client's answer.
CLIENT_REQUEST_TIMEOUT = 60.0

LOG_LEVELS = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]

Ctx = ServerRequestContext[Any, Any]


# --------------------------------------------------------------------------
# Legacy SSE resumability: an in-memory event store (priming events, replay).
# --------------------------------------------------------------------------


class MemoryEventStore(EventStore):
    """Keeps the most recent SSE events per stream so a client can resume with Last-Event-ID."""

    def __init__(self, limit: int = 20_000) -> None:
        self._limit = limit
        self._next = 0
        self._events: dict[str, tuple[str, types.JSONRPCMessage | None]] = {}

    async def store_event(self, stream_id: str, message: types.JSONRPCMessage | None) -> str:
        self._next += 1
        event_id = str(self._next)
        self._events[event_id] = (stream_id, message)
        while len(self._events) > self._limit:
            self._events.pop(next(iter(self._events)))
        return event_id

    async def replay_events_after(self, last_event_id: str, send_callback: EventCallback) -> str | None:
        entry = self._events.get(last_event_id)
        if entry is None:
            return None
        stream_id = entry[0]
        after = int(last_event_id)
        for event_id, (sid, message) in list(self._events.items()):
            if sid == stream_id and int(event_id) > after and message is not None:
                await send_callback(EventMessage(message, event_id))
        return stream_id


# --------------------------------------------------------------------------
# Shared state
# --------------------------------------------------------------------------

bus = InMemorySubscriptionBus()


@dataclass
class LegacySession:
    """What the fixture remembers about one legacy (initialize) session."""

    session: ServerSession
    log_level: str = "debug"
    subscriptions: set[str] = field(default_factory=set)


legacy_sessions: dict[str, LegacySession] = {}
MAX_LEGACY_SESSIONS = 1000
watched = {"content": "Watched resource content", "version": 0}


def is_modern(ctx: Ctx) -> bool:
    return ctx.protocol_version in MODERN_PROTOCOL_VERSIONS


def session_id_of(ctx: Ctx) -> str | None:
    request = ctx.request
    headers = getattr(request, "headers", None)
    return headers.get("mcp-session-id") if headers is not None else None


def remember_legacy(ctx: Ctx) -> LegacySession | None:
    """Track the legacy session behind this request (for logging level, subscriptions, list_changed)."""
    if is_modern(ctx):
        return None
    sid = session_id_of(ctx)
    if sid is None:
        return None
    entry = legacy_sessions.get(sid)
    if entry is None:
        while len(legacy_sessions) >= MAX_LEGACY_SESSIONS:
            legacy_sessions.pop(next(iter(legacy_sessions)))
        entry = legacy_sessions[sid] = LegacySession(ctx.session)
    else:
        entry.session = ctx.session
    return entry


async def notify_legacy(send: Callable[[LegacySession], Awaitable[None]], only: Callable[[LegacySession], bool]) -> None:
    """Send a standalone (GET-stream) notification to every matching live legacy session."""
    for sid, entry in list(legacy_sessions.items()):
        if not only(entry):
            continue
        try:
            with anyio.fail_after(2):
                await send(entry)
        except Exception:
            legacy_sessions.pop(sid, None)


async def log(ctx: Ctx, level: str, message: str) -> None:
    """A request-scoped `notifications/message`.

    Legacy: honours the session's `logging/setLevel`. Modern: the SDK drops it
    unless the request's `_meta` carried `io.modelcontextprotocol/logLevel`.
    """
    entry = remember_legacy(ctx)
    if entry is not None and LOG_LEVELS.index(level) < LOG_LEVELS.index(entry.log_level):
        return
    await ctx.session.send_log_message(level, message, logger="conformance-fixture", related_request_id=ctx.request_id)  # type: ignore[arg-type]


def text_result(text: str, *, is_error: bool = False) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=is_error)


def missing_capability(capability: str) -> MCPError:
    return MCPError(
        code=MISSING_REQUIRED_CLIENT_CAPABILITY,
        message=f"This request needs the client capability {capability!r}",
        data={"requiredCapabilities": {capability: {}}},
    )


# --------------------------------------------------------------------------
# Era-aware client input: legacy server->client requests, modern MRTR
# --------------------------------------------------------------------------

_CAPABILITY_FOR = {"elicitation/create": "elicitation", "sampling/createMessage": "sampling", "roots/list": "roots"}
_REQUEST_MODEL: dict[str, tuple[type[Any], type[Any]]] = {
    "elicitation/create": (types.ElicitRequest, types.ElicitResult),
    "sampling/createMessage": (types.CreateMessageRequest, types.CreateMessageResult),
    "roots/list": (types.ListRootsRequest, types.ListRootsResult),
}


@dataclass
class Ask:
    key: str
    method: str
    params: dict[str, Any]


class NeedInput(Exception):
    """Raised by a fixture to answer with an `input_required` result (modern wire only)."""

    def __init__(self, result: types.InputRequiredResult) -> None:
        super().__init__("input required")
        self.result = result


class ToolFailure(Exception):
    """Raised by a fixture to answer with an `isError: true` tool result."""


def client_has(ctx: Ctx, capability: str) -> bool:
    caps = ctx.session.client_capabilities
    return caps is not None and getattr(caps, capability, None) is not None


def _response_ok(method: str, value: Any) -> bool:
    expected = _REQUEST_MODEL[method][1]
    if isinstance(value, expected):
        return True
    # CreateMessageResultWithTools is the SDK's array-content split of the sampling result.
    return method == "sampling/createMessage" and isinstance(value, types.CreateMessageResultWithTools)


def _dump(value: Any) -> dict[str, Any]:
    return value.model_dump(by_alias=True, mode="json", exclude_none=True)


async def gather(
    ctx: Ctx,
    params: types.InputResponseRequestParams,
    asks: list[Ask],
    *,
    state: str | None = None,
) -> dict[str, dict[str, Any]]:
    """Obtain the client's answers to `asks`, in the request's era.

    Legacy: send each as a real JSON-RPC request on this request's POST SSE stream
    and wait for the client's POSTed response. Modern: if the retry carries every
    answer, return them; otherwise raise `NeedInput` with all `asks` (plus `state`,
    which the SDK's RequestStateBoundary seals before it leaves the server).
    """
    for ask in asks:
        capability = _CAPABILITY_FOR[ask.method]
        if not client_has(ctx, capability):
            if is_modern(ctx):
                raise missing_capability(capability)
            raise ToolFailure(f"The client did not declare the {capability!r} capability needed for {ask.method}")

    if not is_modern(ctx):
        answers: dict[str, dict[str, Any]] = {}
        for ask in asks:
            request_model, result_model = _REQUEST_MODEL[ask.method]
            request = request_model.model_validate({"method": ask.method, "params": ask.params})
            result = await ctx.session.send_request(
                request,
                result_model,
                request_read_timeout_seconds=CLIENT_REQUEST_TIMEOUT,
                metadata=ServerMessageMetadata(related_request_id=ctx.request_id),
            )
            answers[ask.key] = _dump(result)
        return answers

    responses = params.input_responses or {}
    if all(ask.key in responses and _response_ok(ask.method, responses[ask.key]) for ask in asks):
        return {ask.key: _dump(responses[ask.key]) for ask in asks}
    raise NeedInput(
        types.InputRequiredResult.model_validate(
            {
                "resultType": "input_required",
                "inputRequests": {a.key: {"method": a.method, "params": a.params} for a in asks},
                **({"requestState": state} if state is not None else {}),
            }
        )
    )


def elicit(key: str, message: str, properties: dict[str, Any], required: list[str] | None = None) -> Ask:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return Ask(key, "elicitation/create", {"message": message, "requestedSchema": schema})


def sample(key: str, prompt: str, max_tokens: int = 100) -> Ask:
    return Ask(
        key,
        "sampling/createMessage",
        {"messages": [{"role": "user", "content": {"type": "text", "text": prompt}}], "maxTokens": max_tokens},
    )


def roots(key: str) -> Ask:
    return Ask(key, "roots/list", {})


def accepted_content(answer: dict[str, Any]) -> dict[str, Any]:
    return (answer.get("content") or {}) if answer.get("action") == "accept" else {}


def sampled_text(answer: dict[str, Any]) -> str:
    content = answer.get("content")
    if isinstance(content, list):
        content = next((c for c in content if isinstance(c, dict) and c.get("type") == "text"), {})
    return content.get("text", "") if isinstance(content, dict) else ""


def state_of(params: types.InputResponseRequestParams) -> dict[str, Any]:
    """The plaintext requestState this server minted (already verified and unsealed by the SDK)."""
    if not params.request_state:
        return {}
    try:
        value = json.loads(params.request_state)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


# --------------------------------------------------------------------------
# Tools
# --------------------------------------------------------------------------

ToolFn = Callable[[Ctx, types.CallToolRequestParams, dict[str, Any]], Awaitable[types.CallToolResult]]


@dataclass
class ToolSpec:
    name: str
    description: str
    fn: ToolFn
    input_schema: dict[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})


TOOLS: dict[str, ToolSpec] = {}


def tool(name: str, description: str, input_schema: dict[str, Any] | None = None) -> Callable[[ToolFn], ToolFn]:
    def register(fn: ToolFn) -> ToolFn:
        spec = ToolSpec(name, description, fn)
        if input_schema is not None:
            spec.input_schema = input_schema
        TOOLS[name] = spec
        return fn

    return register


def string_args(*names: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {n: {"type": "string"} for n in names},
        "required": list(names),
    }


@tool("test_simple_text", "Returns a single text content block")
async def t_simple_text(ctx: Ctx, params: types.CallToolRequestParams, args: dict[str, Any]) -> types.CallToolResult:
    return text_result("This is a simple text response for testing.")


@tool("test_image_content", "Returns a PNG image content block")
async def t_image(ctx: Ctx, params: types.CallToolRequestParams, args: dict[str, Any]) -> types.CallToolResult:
    return types.CallToolResult(content=[types.ImageContent(type="image", data=PNG_1X1, mime_type="image/png")])


@tool("test_audio_content", "Returns a WAV audio content block")
async def t_audio(ctx: Ctx, params: types.CallToolRequestParams, args: dict[str, Any]) -> types.CallToolResult:
    return types.CallToolResult(content=[types.AudioContent(type="audio", data=WAV_TINY, mime_type="audio/wav")])


@tool("test_embedded_resource", "Returns an embedded text resource")
async def t_embedded(ctx: Ctx, params: types.CallToolRequestParams, args: dict[str, Any]) -> types.CallToolResult:
    resource = types.TextResourceContents(
        uri="test://embedded-resource", mime_type="text/plain", text="This is an embedded resource content."
    )
    return types.CallToolResult(content=[types.EmbeddedResource(type="resource", resource=resource)])


@tool("test_multiple_content_types", "Returns text, image and embedded resource content together")
async def t_mixed(ctx: Ctx, params: types.CallToolRequestParams, args: dict[str, Any]) -> types.CallToolResult:
    resource = types.TextResourceContents(
        uri="test://mixed-content-resource", mime_type="application/json", text='{"test":"data","value":123}'
    )
    return types.CallToolResult(
        content=[
            types.TextContent(type="text", text="Multiple content types test:"),
            types.ImageContent(type="image", data=PNG_1X1, mime_type="image/png"),
            types.EmbeddedResource(type="resource", resource=resource),
        ]
    )


async def _three_logs(ctx: Ctx) -> None:
    await log(ctx, "info", "Tool execution started")
    await asyncio.sleep(0.05)
    await log(ctx, "info", "Tool processing data")
    await asyncio.sleep(0.05)
    await log(ctx, "info", "Tool execution completed")


@tool("test_tool_with_logging", "Sends three info-level log notifications while it runs")
async def t_logging(ctx: Ctx, params: types.CallToolRequestParams, args: dict[str, Any]) -> types.CallToolResult:
    await _three_logs(ctx)
    return text_result("Tool with logging executed successfully")


@tool("test_logging_tool", "Logs while it runs; on 2026-07-28 only when the request opts in with _meta logLevel")
async def t_logging_alias(ctx: Ctx, params: types.CallToolRequestParams, args: dict[str, Any]) -> types.CallToolResult:
    await _three_logs(ctx)
    return text_result("Logging tool executed successfully")


@tool("test_tool_with_progress", "Reports progress 0/100, 50/100, 100/100 when given a progressToken")
async def t_progress(ctx: Ctx, params: types.CallToolRequestParams, args: dict[str, Any]) -> types.CallToolResult:
    for step in (0, 50, 100):
        await ctx.session.report_progress(step, 100, f"Completed step {step} of 100")
        if step != 100:
            await asyncio.sleep(0.05)
    meta: dict[str, Any] = dict(ctx.meta or {})
    token = meta.get("progress_token", meta.get("progressToken"))
    return text_result(str(token) if token is not None else "Progress tool executed without a progressToken")


@tool("test_error_handling", "Always fails with a tool execution error (isError: true)")
async def t_error(ctx: Ctx, params: types.CallToolRequestParams, args: dict[str, Any]) -> types.CallToolResult:
    return text_result("This tool intentionally returns an error for testing", is_error=True)


@tool("test_sampling", "Asks the client's LLM to answer the prompt (sampling)", string_args("prompt"))
async def t_sampling(ctx: Ctx, params: types.CallToolRequestParams, args: dict[str, Any]) -> types.CallToolResult:
    prompt = str(args.get("prompt") or "")
    answers = await gather(ctx, params, [sample("sampling", prompt)])
    return text_result(f"LLM response: {sampled_text(answers['sampling'])}")


@tool("test_elicitation", "Asks the user for a username and email (form elicitation)", string_args("message"))
async def t_elicitation(ctx: Ctx, params: types.CallToolRequestParams, args: dict[str, Any]) -> types.CallToolResult:
    ask = elicit(
        "user_info",
        str(args.get("message") or "Please provide your information"),
        {
            "username": {"type": "string", "description": "User's response"},
            "email": {"type": "string", "description": "User's email address"},
        },
        ["username", "email"],
    )
    answer = (await gather(ctx, params, [ask]))["user_info"]
    content = json.dumps(accepted_content(answer))
    return text_result(f"User response: action={answer.get('action')}, content={content}")


@tool("test_elicitation_sep1034_defaults", "Elicitation whose schema carries defaults for every primitive type")
async def t_sep1034(ctx: Ctx, params: types.CallToolRequestParams, args: dict[str, Any]) -> types.CallToolResult:
    ask = elicit(
        "user_info",
        "Please provide user information",
        {
            "name": {"type": "string", "description": "User name", "default": "John Doe"},
            "age": {"type": "integer", "description": "User age", "default": 30},
            "score": {"type": "number", "description": "User score", "default": 95.5},
            "status": {
                "type": "string",
                "description": "User status",
                "enum": ["active", "inactive", "pending"],
                "default": "active",
            },
            "verified": {"type": "boolean", "description": "Verification status", "default": True},
        },
    )
    answer = (await gather(ctx, params, [ask]))["user_info"]
    content = json.dumps(accepted_content(answer))
    return text_result(f"Elicitation completed: action={answer.get('action')}, content={content}")


@tool("test_elicitation_sep1330_enums", "Elicitation using all five enum schema variants")
async def t_sep1330(ctx: Ctx, params: types.CallToolRequestParams, args: dict[str, Any]) -> types.CallToolResult:
    ask = elicit(
        "selection",
        "Please select values using different enum schema types",
        {
            "untitledSingle": {"type": "string", "description": "Untitled single-select", "enum": ["option1", "option2", "option3"]},
            "titledSingle": {
                "type": "string",
                "description": "Titled single-select",
                "oneOf": [
                    {"const": "value1", "title": "First Option"},
                    {"const": "value2", "title": "Second Option"},
                    {"const": "value3", "title": "Third Option"},
                ],
            },
            "legacyEnum": {
                "type": "string",
                "description": "Legacy titled enum",
                "enum": ["opt1", "opt2", "opt3"],
                "enumNames": ["Option One", "Option Two", "Option Three"],
            },
            "untitledMulti": {
                "type": "array",
                "description": "Untitled multi-select",
                "items": {"type": "string", "enum": ["option1", "option2", "option3"]},
            },
            "titledMulti": {
                "type": "array",
                "description": "Titled multi-select",
                "items": {
                    "anyOf": [
                        {"const": "value1", "title": "First Choice"},
                        {"const": "value2", "title": "Second Choice"},
                        {"const": "value3", "title": "Third Choice"},
                    ]
                },
            },
        },
    )
    answer = (await gather(ctx, params, [ask]))["selection"]
    content = json.dumps(accepted_content(answer))
    return text_result(f"Elicitation completed: action={answer.get('action')}, content={content}")


@tool("test_reconnection", "Legacy SSE polling: closes its POST stream mid-call, finishes after the client resumes")
async def t_reconnection(ctx: Ctx, params: types.CallToolRequestParams, args: dict[str, Any]) -> types.CallToolResult:
    await log(ctx, "info", "Before disconnect")
    if ctx.close_sse_stream is not None:
        await ctx.close_sse_stream()
    await asyncio.sleep(0.2)
    await log(ctx, "info", "After reconnect")
    return text_result("Reconnection test completed")


JSON_SCHEMA_2020_12 = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "$defs": {
        "address": {
            "$anchor": "addressDef",
            "type": "object",
            "properties": {"street": {"type": "string"}, "city": {"type": "string"}},
        }
    },
    "properties": {
        "name": {"type": "string"},
        "address": {"$ref": "#/$defs/address"},
        "contactMethod": {"type": "string", "enum": ["phone", "email"]},
        "phone": {"type": "string"},
        "email": {"type": "string"},
    },
    "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
    "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
    "then": {"required": ["phone"]},
    "else": {"required": ["email"]},
    "additionalProperties": False,
}


@tool("json_schema_2020_12_tool", "Tool with JSON Schema 2020-12 features", JSON_SCHEMA_2020_12)
async def t_schema(ctx: Ctx, params: types.CallToolRequestParams, args: dict[str, Any]) -> types.CallToolResult:
    return text_result(f"Received: {json.dumps(args, sort_keys=True)}")


@tool(
    "test_header_param",
    "Echoes its arguments; region and priority are mirrored as Mcp-Param-Region / Mcp-Param-Priority headers",
    {
        "type": "object",
        "properties": {
            "region": {"type": "string", "description": "Routing region", "x-mcp-header": "Region"},
            "priority": {"type": "integer", "description": "Priority", "x-mcp-header": "Priority"},
            "note": {"type": "string", "description": "Not mirrored"},
        },
        "required": ["region"],
    },
)
async def t_header_param(ctx: Ctx, params: types.CallToolRequestParams, args: dict[str, Any]) -> types.CallToolResult:
    return text_result(f"Header params: {json.dumps(args, sort_keys=True)}")


@tool("test_missing_capability", "Needs the client's sampling capability; -32021 when it is not declared")
async def t_missing_cap(ctx: Ctx, params: types.CallToolRequestParams, args: dict[str, Any]) -> types.CallToolResult:
    if not client_has(ctx, "sampling"):
        if is_modern(ctx):
            raise missing_capability("sampling")
        return text_result("The client did not declare the sampling capability", is_error=True)
    answers = await gather(ctx, params, [sample("sampling", "Say hello")])
    return text_result(f"LLM response: {sampled_text(answers['sampling'])}")


@tool("test_streaming_elicitation", "Asks for confirmation; never sends a JSON-RPC request on a 2026-07-28 stream")
async def t_streaming_elicitation(
    ctx: Ctx, params: types.CallToolRequestParams, args: dict[str, Any]
) -> types.CallToolResult:
    ask = elicit("confirm", "Continue?", {"ok": {"type": "boolean"}}, ["ok"])
    answer = (await gather(ctx, params, [ask]))["confirm"]
    return text_result(f"Confirmation: action={answer.get('action')}, content={json.dumps(accepted_content(answer))}")


@tool("test_trigger_tool_change", "Announces a tools list change (listen streams and legacy sessions)")
async def t_trigger_tools(ctx: Ctx, params: types.CallToolRequestParams, args: dict[str, Any]) -> types.CallToolResult:
    remember_legacy(ctx)
    await bus.publish(ToolsListChanged())
    await notify_legacy(lambda e: e.session.send_tool_list_changed(), lambda e: True)
    return text_result("Tools list change announced")


@tool("test_trigger_prompt_change", "Announces a prompts list change (listen streams and legacy sessions)")
async def t_trigger_prompts(ctx: Ctx, params: types.CallToolRequestParams, args: dict[str, Any]) -> types.CallToolResult:
    remember_legacy(ctx)
    await bus.publish(PromptsListChanged())
    await notify_legacy(lambda e: e.session.send_prompt_list_changed(), lambda e: True)
    return text_result("Prompts list change announced")


@tool("test_trigger_resource_change", "Announces a resources list change (listen streams and legacy sessions)")
async def t_trigger_resources(
    ctx: Ctx, params: types.CallToolRequestParams, args: dict[str, Any]
) -> types.CallToolResult:
    remember_legacy(ctx)
    await bus.publish(ResourcesListChanged())
    await notify_legacy(lambda e: e.session.send_resource_list_changed(), lambda e: True)
    return text_result("Resources list change announced")


@tool("test_update_watched_resource", "Changes test://watched-resource and notifies its subscribers")
async def t_update_watched(ctx: Ctx, params: types.CallToolRequestParams, args: dict[str, Any]) -> types.CallToolResult:
    remember_legacy(ctx)
    uri = "test://watched-resource"
    watched["version"] += 1
    watched["content"] = f"Watched resource content (update {watched['version']})"
    await bus.publish(ResourceUpdated(uri=uri))
    await notify_legacy(lambda e: e.session.send_resource_updated(uri), lambda e: uri in e.subscriptions)
    return text_result(f"Updated {uri} to version {watched['version']}")


# ---- 2026-07-28 multi-round-trip (MRTR) fixtures; on legacy sessions they use real requests ----


def _who_ask() -> Ask:
    return elicit("user_name", "What is your name?", {"name": {"type": "string"}}, ["name"])


@tool("test_input_required_result_elicitation", "MRTR: asks the user's name, then greets them")
async def t_ir_elicitation(ctx: Ctx, params: types.CallToolRequestParams, args: dict[str, Any]) -> types.CallToolResult:
    answer = (await gather(ctx, params, [_who_ask()]))["user_name"]
    return text_result(f"Hello, {accepted_content(answer).get('name', 'stranger')}!")


@tool("test_input_required_result_sampling", "MRTR: asks the client's LLM for the capital of France")
async def t_ir_sampling(ctx: Ctx, params: types.CallToolRequestParams, args: dict[str, Any]) -> types.CallToolResult:
    answer = (await gather(ctx, params, [sample("capital_question", "What is the capital of France?")]))
    return text_result(f"Sampling response: {sampled_text(answer['capital_question'])}")


@tool("test_input_required_result_list_roots", "MRTR: asks the client for its roots")
async def t_ir_roots(ctx: Ctx, params: types.CallToolRequestParams, args: dict[str, Any]) -> types.CallToolResult:
    answer = (await gather(ctx, params, [roots("client_roots")]))["client_roots"]
    uris = [r.get("uri") for r in answer.get("roots", []) if isinstance(r, dict)]
    return text_result(f"Client roots: {', '.join(str(u) for u in uris) or '(none)'}")


@tool("test_input_required_result_request_state", "MRTR: round-trips an opaque requestState")
async def t_ir_state(ctx: Ctx, params: types.CallToolRequestParams, args: dict[str, Any]) -> types.CallToolResult:
    state = json.dumps({"fixture": "request_state", "round": 1})
    ask = elicit("confirm", "Please confirm", {"ok": {"type": "boolean"}}, ["ok"])
    answer = (await gather(ctx, params, [ask], state=state))["confirm"]
    if is_modern(ctx) and params.request_state != state:
        raise MCPError(code=INVALID_PARAMS, message="requestState missing or not the one this server issued")
    return text_result(f"state-ok: confirmation action={answer.get('action')}")


@tool("test_input_required_result_multiple_inputs", "MRTR: elicitation, sampling and roots/list in one round")
async def t_ir_multi(ctx: Ctx, params: types.CallToolRequestParams, args: dict[str, Any]) -> types.CallToolResult:
    asks = [_who_ask(), sample("greeting", "Generate a greeting", 50), roots("client_roots")]
    answers = await gather(ctx, params, asks, state=json.dumps({"fixture": "multiple_inputs"}))
    name = accepted_content(answers["user_name"]).get("name", "stranger")
    count = len(answers["client_roots"].get("roots", []))
    return text_result(f"{sampled_text(answers['greeting'])} {name} ({count} roots)")


@tool("test_input_required_result_multi_round", "MRTR: two elicitation rounds with an evolving requestState")
async def t_ir_rounds(ctx: Ctx, params: types.CallToolRequestParams, args: dict[str, Any]) -> types.CallToolResult:
    step1 = elicit("step1", "Step 1: What is your name?", {"name": {"type": "string"}}, ["name"])
    step2 = elicit("step2", "Step 2: What is your favorite color?", {"color": {"type": "string"}}, ["color"])
    if not is_modern(ctx):
        name = accepted_content((await gather(ctx, params, [step1]))["step1"]).get("name")
        color = accepted_content((await gather(ctx, params, [step2]))["step2"]).get("color")
        return text_result(f"{name} likes {color}")
    state = state_of(params)
    if state.get("round") == 2:
        answer = (await gather(ctx, params, [step2], state=params.request_state))["step2"]
        return text_result(f"{state.get('name')} likes {accepted_content(answer).get('color')}")
    answer = (await gather(ctx, params, [step1], state=json.dumps({"fixture": "multi_round", "round": 1})))["step1"]
    name = accepted_content(answer).get("name")
    raise NeedInput(
        types.InputRequiredResult.model_validate(
            {
                "resultType": "input_required",
                "inputRequests": {step2.key: {"method": step2.method, "params": step2.params}},
                "requestState": json.dumps({"fixture": "multi_round", "round": 2, "name": name}),
            }
        )
    )


@tool("test_input_required_result_tampered_state", "MRTR: integrity-protected requestState; tampering is -32602")
async def t_ir_tampered(ctx: Ctx, params: types.CallToolRequestParams, args: dict[str, Any]) -> types.CallToolResult:
    state = json.dumps({"fixture": "tampered_state"})
    ask = elicit("confirm", "Please confirm", {"ok": {"type": "boolean"}}, ["ok"])
    answer = (await gather(ctx, params, [ask], state=state))["confirm"]
    return text_result(f"state verified: action={answer.get('action')}")


@tool("test_input_required_result_capabilities", "MRTR: only asks for what the client's capabilities allow")
async def t_ir_caps(ctx: Ctx, params: types.CallToolRequestParams, args: dict[str, Any]) -> types.CallToolResult:
    asks = []
    if client_has(ctx, "elicitation"):
        asks.append(_who_ask())
    if client_has(ctx, "sampling"):
        asks.append(sample("greeting", "Generate a greeting", 50))
    if client_has(ctx, "roots"):
        asks.append(roots("client_roots"))
    if not asks:
        return text_result("The client declared no elicitation, sampling or roots capability; nothing to ask")
    answers = await gather(ctx, params, asks)
    return text_result(f"Received answers for: {', '.join(sorted(answers))}")


async def list_tools(ctx: Ctx, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
    remember_legacy(ctx)
    return types.ListToolsResult(
        tools=[types.Tool(name=s.name, description=s.description, input_schema=s.input_schema) for s in TOOLS.values()]
    )


async def call_tool(ctx: Ctx, params: types.CallToolRequestParams) -> types.CallToolResult | types.InputRequiredResult:
    remember_legacy(ctx)
    spec = TOOLS.get(params.name)
    if spec is None:
        raise MCPError(code=INVALID_PARAMS, message=f"Unknown tool: {params.name}", data={"name": params.name})
    args = params.arguments or {}
    for name in spec.input_schema.get("required", []):
        if name not in args and spec.name != "json_schema_2020_12_tool":
            return text_result(f"Missing required argument {name!r}", is_error=True)
    try:
        return await spec.fn(ctx, params, args)
    except NeedInput as need:
        return need.result
    except ToolFailure as failure:
        return text_result(str(failure), is_error=True)


# --------------------------------------------------------------------------
# Resources
# --------------------------------------------------------------------------

TEMPLATE = re.compile(r"^test://template/(?P<id>[^/]+)/data$")


async def list_resources(ctx: Ctx, params: types.PaginatedRequestParams | None) -> types.ListResourcesResult:
    remember_legacy(ctx)
    return types.ListResourcesResult(
        resources=[
            types.Resource(
                uri="test://static-text",
                name="static-text",
                description="A static text resource",
                mime_type="text/plain",
            ),
            types.Resource(
                uri="test://static-binary",
                name="static-binary",
                description="A static binary resource (a PNG image)",
                mime_type="image/png",
            ),
            types.Resource(
                uri="test://watched-resource",
                name="watched-resource",
                description="A resource clients can subscribe to; test_update_watched_resource changes it",
                mime_type="text/plain",
            ),
        ]
    )


async def list_templates(ctx: Ctx, params: types.PaginatedRequestParams | None) -> types.ListResourceTemplatesResult:
    remember_legacy(ctx)
    return types.ListResourceTemplatesResult(
        resource_templates=[
            types.ResourceTemplate(
                uri_template="test://template/{id}/data",
                name="template-data",
                description="A resource template with parameter substitution",
                mime_type="application/json",
            )
        ]
    )


async def read_resource(ctx: Ctx, params: types.ReadResourceRequestParams) -> types.ReadResourceResult:
    remember_legacy(ctx)
    uri = str(params.uri)
    contents: list[types.TextResourceContents | types.BlobResourceContents]
    if uri == "test://static-text":
        contents = [
            types.TextResourceContents(
                uri=uri, mime_type="text/plain", text="This is the content of the static text resource."
            )
        ]
    elif uri == "test://static-binary":
        contents = [types.BlobResourceContents(uri=uri, mime_type="image/png", blob=PNG_1X1)]
    elif uri == "test://watched-resource":
        contents = [types.TextResourceContents(uri=uri, mime_type="text/plain", text=str(watched["content"]))]
    elif match := TEMPLATE.match(uri):
        ident = match.group("id")
        body = json.dumps({"id": ident, "templateTest": True, "data": f"Data for ID: {ident}"}, separators=(",", ":"))
        contents = [types.TextResourceContents(uri=uri, mime_type="application/json", text=body)]
    else:
        raise MCPError(code=INVALID_PARAMS, message="Resource not found", data={"uri": uri})
    return types.ReadResourceResult(contents=contents)


async def subscribe(ctx: Ctx, params: types.SubscribeRequestParams) -> types.EmptyResult:
    entry = remember_legacy(ctx)
    if entry is not None:
        entry.subscriptions.add(str(params.uri))
    return types.EmptyResult()


async def unsubscribe(ctx: Ctx, params: types.UnsubscribeRequestParams) -> types.EmptyResult:
    entry = remember_legacy(ctx)
    if entry is not None:
        entry.subscriptions.discard(str(params.uri))
    return types.EmptyResult()


# --------------------------------------------------------------------------
# Prompts
# --------------------------------------------------------------------------


def user_text(text: str) -> types.PromptMessage:
    return types.PromptMessage(role="user", content=types.TextContent(type="text", text=text))


PROMPTS = [
    types.Prompt(name="test_simple_prompt", description="A simple prompt without arguments"),
    types.Prompt(
        name="test_prompt_with_arguments",
        description="A prompt with two required arguments",
        arguments=[
            types.PromptArgument(name="arg1", description="First test argument", required=True),
            types.PromptArgument(name="arg2", description="Second test argument", required=True),
        ],
    ),
    types.Prompt(
        name="test_prompt_with_embedded_resource",
        description="A prompt that embeds a resource",
        arguments=[types.PromptArgument(name="resourceUri", description="URI of the resource to embed", required=True)],
    ),
    types.Prompt(name="test_prompt_with_image", description="A prompt that includes an image"),
    types.Prompt(
        name="test_input_required_result_prompt",
        description="MRTR: asks the user for context before rendering",
    ),
]


async def list_prompts(ctx: Ctx, params: types.PaginatedRequestParams | None) -> types.ListPromptsResult:
    remember_legacy(ctx)
    return types.ListPromptsResult(prompts=PROMPTS)


async def get_prompt(ctx: Ctx, params: types.GetPromptRequestParams) -> types.GetPromptResult | types.InputRequiredResult:
    remember_legacy(ctx)
    args = params.arguments or {}
    prompt = next((p for p in PROMPTS if p.name == params.name), None)
    if prompt is None:
        raise MCPError(code=INVALID_PARAMS, message=f"Unknown prompt: {params.name}", data={"name": params.name})
    for argument in prompt.arguments or []:
        if argument.required and argument.name not in args:
            raise MCPError(code=INVALID_PARAMS, message=f"Missing required argument {argument.name!r}")
    if params.name == "test_simple_prompt":
        messages = [user_text("This is a simple prompt for testing.")]
    elif params.name == "test_prompt_with_arguments":
        messages = [user_text(f"Prompt with arguments: arg1='{args['arg1']}', arg2='{args['arg2']}'")]
    elif params.name == "test_prompt_with_embedded_resource":
        resource = types.TextResourceContents(
            uri=args["resourceUri"], mime_type="text/plain", text="Embedded resource content for testing."
        )
        messages = [
            types.PromptMessage(role="user", content=types.EmbeddedResource(type="resource", resource=resource)),
            user_text("Please process the embedded resource above."),
        ]
    elif params.name == "test_prompt_with_image":
        messages = [
            types.PromptMessage(role="user", content=types.ImageContent(type="image", data=PNG_1X1, mime_type="image/png")),
            user_text("Please analyze the image above."),
        ]
    else:  # test_input_required_result_prompt
        ask = elicit(
            "user_context", "What context should the prompt use?", {"context": {"type": "string"}}, ["context"]
        )
        try:
            answer = (await gather(ctx, params, [ask]))["user_context"]
        except NeedInput as need:
            return need.result
        except ToolFailure as failure:
            raise MCPError(code=INVALID_PARAMS, message=str(failure)) from None
        messages = [user_text(f"Use this context: {accepted_content(answer).get('context', '')}")]
    return types.GetPromptResult(description=prompt.description, messages=messages)


# --------------------------------------------------------------------------
# Completion, logging
# --------------------------------------------------------------------------

COMPLETIONS = {
    ("ref/prompt", "test_prompt_with_arguments", "arg1"): ["test", "testing", "test-value-1", "paris", "park"],
    ("ref/prompt", "test_prompt_with_arguments", "arg2"): ["alpha", "beta", "gamma"],
    ("ref/resource", "test://template/{id}/data", "id"): ["1", "2", "3", "123"],
}


async def complete(ctx: Ctx, params: types.CompleteRequestParams) -> types.CompleteResult:
    remember_legacy(ctx)
    ref = params.ref
    key = (ref.type, getattr(ref, "name", None) or getattr(ref, "uri", None), params.argument.name)
    candidates = COMPLETIONS.get(key, [])
    values = [v for v in candidates if v.startswith(params.argument.value)]
    return types.CompleteResult(completion=types.Completion(values=values[:100], total=len(values), has_more=False))


async def set_level(ctx: Ctx, params: types.SetLevelRequestParams) -> types.EmptyResult:
    entry = remember_legacy(ctx)
    if entry is not None:
        entry.log_level = params.level
    return types.EmptyResult()


# --------------------------------------------------------------------------
# Server wiring
# --------------------------------------------------------------------------


class FixtureServer(Server[Any]):
    def create_initialization_options(
        self,
        notification_options: NotificationOptions | None = None,
        experimental_capabilities: dict[str, dict[str, Any]] | None = None,
        extensions: dict[str, dict[str, Any]] | None = None,
    ) -> InitializationOptions:
        # Legacy sessions get list_changed notifications on their GET stream.
        options = notification_options or NotificationOptions(
            prompts_changed=True, resources_changed=True, tools_changed=True
        )
        return super().create_initialization_options(options, experimental_capabilities, extensions)


def build_server() -> FixtureServer:
    public = CacheHint(ttl_ms=60_000, scope="public")
    server = FixtureServer(
        SERVER_NAME,
        version=SERVER_VERSION,
        instructions="Fixture server for the MCP conformance suite (dual-era).",
        cache_hints={
            "server/discover": public,
            "tools/list": public,
            "prompts/list": public,
            "resources/list": public,
            "resources/templates/list": public,
            "resources/read": CacheHint(ttl_ms=0, scope="private"),
        },
        get_tool_input_schema=lambda name: TOOLS[name].input_schema if name in TOOLS else None,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_resources=list_resources,
        on_list_resource_templates=list_templates,
        on_read_resource=read_resource,
        on_subscribe_resource=subscribe,
        on_unsubscribe_resource=unsubscribe,
        on_subscriptions_listen=ListenHandler(bus),
        on_list_prompts=list_prompts,
        on_get_prompt=get_prompt,
        on_completion=complete,
    )
    server.add_request_handler("logging/setLevel", types.SetLevelRequestParams, set_level)
    server.middleware.append(RequestStateBoundary(RequestStateSecurity.ephemeral(), default_audience=SERVER_NAME))
    return server


async def main() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    # Listening before the port is announced: a client may connect at once.
    sock.listen(128)
    port = sock.getsockname()[1]
    app = build_server().streamable_http_app(
        streamable_http_path="/mcp",
        event_store=MemoryEventStore(),
        retry_interval=100,
        host="127.0.0.1",
    )
    config = uvicorn.Config(app, log_level="warning")
    print(f"PORT {port}", flush=True)
    await uvicorn.Server(config).serve(sockets=[sock])


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
