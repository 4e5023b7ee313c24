"""Drives the agent-gateway LLM front with the real openai and anthropic Python clients.

Run by agent-gateway-llm/tests/real_clients.rs, which starts the gateway (in front of a fake
provider served on a real socket) and scripts the provider's answers in the same order as the
calls below. Exits non-zero, with a message, on the first mismatch. No pytest needed.

Usage: python real_clients.py http://127.0.0.1:PORT
"""

import json
import sys

import anthropic
import openai

TOOLS_OPENAI = [{
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}]
TOOLS_ANTHROPIC = [{
    "name": "get_weather",
    "description": "Weather in a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}]
USER = [{"role": "user", "content": "Say hello"}]


def check(label, got, want):
    if got != want:
        raise SystemExit(f"{label}: got {got!r}, want {want!r}")
    print(f"ok  {label}")


def main(base):
    oai = openai.OpenAI(base_url=f"{base}/v1", api_key="sk-client-openai", max_retries=0)
    ant = anthropic.Anthropic(base_url=base, api_key="sk-client-anthropic", max_retries=0)

    # 1. Chat, not streamed.
    r = oai.chat.completions.create(model="gpt-alias", messages=USER)
    check("chat content", r.choices[0].message.content, "Hello there!")
    check("chat usage", (r.usage.prompt_tokens, r.usage.completion_tokens), (12, 6))

    # 2. Chat streamed, usage asked for.
    chunks = list(oai.chat.completions.create(
        model="gpt-alias", messages=USER, stream=True, stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    check("stream content", text, "Streaming hello")
    usage = [c.usage for c in chunks if c.usage is not None]
    check("stream usage", [(u.prompt_tokens, u.completion_tokens) for u in usage], [(20, 7)])
    check("stream usage chunk has no choices", chunks[-1].choices, [])

    # 3. Chat streamed, usage not asked for: the gateway meters it but the client sees none.
    chunks = list(oai.chat.completions.create(model="gpt-alias", messages=USER, stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    check("unasked stream content", text, "No usage asked")
    check("unasked stream has no usage chunk", [c for c in chunks if not c.choices or c.usage], [])

    # 4. Tool call, not streamed.
    r = oai.chat.completions.create(model="gpt-alias", messages=USER, tools=TOOLS_OPENAI)
    call = r.choices[0].message.tool_calls[0]
    check("tool call", (call.id, call.function.name, json.loads(call.function.arguments)),
          ("call_1", "get_weather", {"city": "Paris"}))
    check("tool call finish", r.choices[0].finish_reason, "tool_calls")

    # 5. Tool call streamed, reassembled by the client's stream helper.
    with oai.chat.completions.stream(model="gpt-alias", messages=USER, tools=TOOLS_OPENAI,
                                     stream_options={"include_usage": True}) as s:
        final = s.get_final_completion()
    call = final.choices[0].message.tool_calls[0]
    check("streamed tool call", (call.id, call.function.name, json.loads(call.function.arguments)),
          ("call_2", "get_weather", {"city": "Oslo"}))
    check("streamed tool call usage", (final.usage.prompt_tokens, final.usage.completion_tokens), (31, 11))

    # 6. Messages, not streamed.
    m = ant.messages.create(model="claude-alias", max_tokens=64, messages=USER)
    check("messages content", m.content[0].text, "Bonjour")
    check("messages usage", (m.usage.input_tokens, m.usage.output_tokens), (12, 6))

    # 7. Messages streamed: text and usage merged from message_start and message_delta.
    with ant.messages.stream(model="claude-alias", max_tokens=64, messages=USER) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    check("messages stream text", text, "Streamed bonjour")
    check("messages stream usage", (final.usage.input_tokens, final.usage.output_tokens,
                                    final.usage.cache_read_input_tokens), (15, 8, 3))

    # 8. Messages streamed with a tool_use block built from input_json_delta.
    with ant.messages.stream(model="claude-alias", max_tokens=64, messages=USER, tools=TOOLS_ANTHROPIC) as s:
        final = s.get_final_message()
    block = final.content[0]
    check("messages streamed tool_use", (block.type, block.id, block.name, block.input),
          ("tool_use", "toolu_1", "get_weather", {"city": "Rome"}))
    check("messages streamed stop", final.stop_reason, "tool_use")

    # 9. Errors in each dialect: an unknown alias.
    try:
        oai.chat.completions.create(model="no-such-model", messages=USER)
        raise SystemExit("unknown alias: no error")
    except openai.NotFoundError as e:
        check("openai unknown alias", (e.status_code, e.body["code"]), (404, "model_not_found"))
    try:
        ant.messages.create(model="no-such-model", max_tokens=8, messages=USER)
        raise SystemExit("unknown alias: no error")
    except anthropic.NotFoundError as e:
        check("anthropic unknown alias", (e.status_code, e.body["error"]["type"]), (404, "not_found_error"))

    # 10. Translation: an OpenAI client to an Anthropic provider (not streamed).
    r = oai.chat.completions.create(model="claude-for-openai", messages=USER, temperature=0.3)
    check("openai -> anthropic content", r.choices[0].message.content, "Translated for OpenAI")
    check("openai -> anthropic usage", (r.usage.prompt_tokens, r.usage.completion_tokens), (21, 9))

    # 11. Translation: an Anthropic client to an OpenAI provider, with a tool call.
    m = ant.messages.create(model="gpt-for-anthropic", max_tokens=64, messages=USER, tools=TOOLS_ANTHROPIC)
    block = m.content[0]
    check("anthropic -> openai tool_use", (block.type, block.id, block.name, block.input),
          ("tool_use", "call_x", "get_weather", {"city": "Lima"}))
    check("anthropic -> openai usage", (m.usage.input_tokens, m.usage.output_tokens, m.stop_reason), (22, 10, "tool_use"))

    # 12. Streamed translation: an OpenAI client streaming from an Anthropic provider.
    chunks = list(oai.chat.completions.create(
        model="claude-for-openai", messages=USER, stream=True, stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    check("openai <- anthropic stream content", text, "Streamed from Anthropic")
    check("openai <- anthropic stream finish",
          [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason], ["stop"])
    usage = [c.usage for c in chunks if c.usage is not None]
    check("openai <- anthropic stream usage",
          [(u.prompt_tokens, u.completion_tokens, u.prompt_tokens_details.cached_tokens) for u in usage], [(25, 8, 2)])
    check("openai <- anthropic usage chunk last, no choices", chunks[-1].choices, [])
    with oai.chat.completions.stream(model="claude-for-openai", messages=USER, tools=TOOLS_OPENAI,
                                     stream_options={"include_usage": True}) as s:
        final = s.get_final_completion()
    call = final.choices[0].message.tool_calls[0]
    check("openai <- anthropic streamed tool call",
          (call.id, call.function.name, json.loads(call.function.arguments), final.choices[0].finish_reason),
          ("toolu_s", "get_weather", {"city": "Kyiv"}, "tool_calls"))
    check("openai <- anthropic streamed tool usage", (final.usage.prompt_tokens, final.usage.completion_tokens), (24, 9))

    # 13. Streamed translation: an Anthropic client streaming from an OpenAI provider.
    with ant.messages.stream(model="gpt-for-anthropic", max_tokens=64, messages=USER) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    check("anthropic <- openai stream text", text, "Streamed from OpenAI")
    check("anthropic <- openai stream final", (final.stop_reason, final.content[0].text), ("end_turn", text))
    check("anthropic <- openai stream usage", (final.usage.input_tokens, final.usage.output_tokens), (26, 11))
    with ant.messages.stream(model="gpt-for-anthropic", max_tokens=64, messages=USER, tools=TOOLS_ANTHROPIC) as s:
        final = s.get_final_message()
    block = final.content[0]
    check("anthropic <- openai streamed tool_use", (block.type, block.id, block.name, block.input),
          ("tool_use", "call_s", "get_weather", {"city": "Kigali"}))
    check("anthropic <- openai streamed stop", (final.stop_reason, final.usage.output_tokens), ("tool_use", 12))

    # 14. Responses, against a provider with the Responses API and one with Chat Completions only.
    for alias, label, plain, streamed, usages in [
        ("gpt-alias", "native", "Native response", "Native streamed", ((13, 5), (14, 6))),
        ("gpt-chat-only", "via chat", "Via chat", "Via chat streamed", ((16, 7), (17, 8))),
    ]:
        r = oai.responses.create(model=alias, input="Say hello", instructions="Be brief.")
        check(f"responses {label} text", (r.status, r.output_text), ("completed", plain))
        check(f"responses {label} usage", (r.usage.input_tokens, r.usage.output_tokens), usages[0])
        events = list(oai.responses.create(model=alias, input="Say hello", stream=True))
        check(f"responses {label} stream first", events[0].type, "response.created")
        text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
        check(f"responses {label} stream text", text, streamed)
        done = events[-1]
        check(f"responses {label} stream completed", (done.type, done.response.output_text), ("response.completed", streamed))
        check(f"responses {label} stream usage",
              (done.response.usage.input_tokens, done.response.usage.output_tokens), usages[1])
        check(f"responses {label} sequence numbers", [e.sequence_number for e in events], list(range(len(events))))
    tools = [{"type": "function", "name": "get_weather", "description": "Weather in a city",
              "parameters": TOOLS_OPENAI[0]["function"]["parameters"]}]
    events = list(oai.responses.create(model="gpt-chat-only", input="Weather?", tools=tools, stream=True))
    call = events[-1].response.output[0]
    check("responses via chat streamed function_call",
          (call.type, call.call_id, call.name, json.loads(call.arguments)),
          ("function_call", "call_r", "get_weather", {"city": "Quito"}))
    check("responses via chat streamed arguments deltas",
          "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta"), call.arguments)

    # 15. A reset mid-stream reaches each client as its own dialect's error, passthrough and translated.
    for alias in ["gpt-alias", "claude-for-openai"]:
        got = []
        try:
            for c in oai.chat.completions.create(model=alias, messages=USER, stream=True):
                got.extend(ch.delta.content for ch in c.choices if ch.delta.content)
            raise SystemExit(f"openai mid-stream reset ({alias}): no error")
        except openai.APIError as e:
            check(f"openai mid-stream error ({alias})", (type(e).__name__, e.message, got[:1]),
                  ("APIError", "upstream stream failed", ["Cut "]))
    for alias in ["claude-alias", "gpt-for-anthropic"]:
        try:
            with ant.messages.stream(model=alias, max_tokens=64, messages=USER) as s:
                for _ in s.text_stream:
                    pass
            raise SystemExit(f"anthropic mid-stream reset ({alias}): no error")
        except anthropic.APIStatusError as e:
            check(f"anthropic mid-stream error ({alias})", e.body,
                  {"type": "error", "error": {"type": "api_error", "message": "upstream stream failed"}})

    # 16. The model list.
    check("models", sorted(m.id for m in oai.models.list()),
          ["claude-alias", "claude-for-openai", "gpt-alias", "gpt-chat-only", "gpt-for-anthropic"])
    # 17. A provider's error text (its organisation, the real model) never reaches a client:
    # each SDK raises its typed error with the gateway's generic message.
    try:
        oai.chat.completions.create(model="gpt-alias", messages=USER)
        raise SystemExit("openai provider 429: no error")
    except openai.RateLimitError as e:
        check("openai provider 429 is generic", ("org-SECRETORG123" in str(e.body), e.status_code),
              (False, 429))
    try:
        ant.messages.create(model="claude-alias", max_tokens=64, messages=USER)
        raise SystemExit("anthropic provider 404: no error")
    except anthropic.NotFoundError as e:
        check("anthropic provider 404 is generic",
              ("claude-secret-internal" in str(e.body), e.body["error"]["type"]),
              (False, "not_found_error"))
    # 18. A field the provider's dialect cannot express is refused, never dropped: each SDK
    # raises its own BadRequestError naming the field, and nothing is sent upstream. (anthropic
    # 2.12 no longer offers top_k: it goes as an extra body field, as older clients sent it.)
    try:
        oai.chat.completions.create(model="claude-for-openai", messages=USER, n=2)
        raise SystemExit("openai n=2 to anthropic: no error")
    except openai.BadRequestError as e:
        check("openai n=2 to anthropic refused", (e.status_code, e.body["param"], "`n`" in e.message),
              (400, "n", True))
    try:
        oai.responses.create(model="claude-for-openai", input="Say hello", reasoning={"effort": "high"})
        raise SystemExit("openai responses reasoning to anthropic: no error")
    except openai.BadRequestError as e:
        check("openai responses reasoning to anthropic refused", (e.status_code, e.body["param"]), (400, "reasoning"))
    try:
        ant.messages.create(model="gpt-for-anthropic", max_tokens=64, messages=USER, extra_body={"top_k": 5})
        raise SystemExit("anthropic top_k to openai: no error")
    except anthropic.BadRequestError as e:
        check("anthropic top_k to openai refused",
              (e.status_code, e.body["error"]["type"], "`top_k`" in e.body["error"]["message"]),
              (400, "invalid_request_error", True))
    try:
        ant.messages.create(model="gpt-for-anthropic", max_tokens=2048, messages=USER,
                            thinking={"type": "enabled", "budget_tokens": 1024})
        raise SystemExit("anthropic thinking to openai: no error")
    except anthropic.BadRequestError as e:
        check("anthropic thinking to openai refused", "`thinking`" in e.message, True)
    print("all real-client checks passed")


if __name__ == "__main__":
    main(sys.argv[1])
