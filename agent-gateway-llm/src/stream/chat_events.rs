//! The Chat Completions stream, parsed once into typed events for the translators that turn
//! it into another dialect ([`ChatToMessages`](super::ChatToMessages),
//! [`ChatToResponses`](super::ChatToResponses)).

use serde_json::Value;

use agent_gateway_core::sse::Event;

/// What one Chat Completions stream event says, in the order a translator needs it.
#[derive(Debug, Clone, Copy)]
pub(super) enum ChatEvent<'a> {
    /// A chunk arrived (`Value::Null` for `[DONE]`): the translator starts its own stream
    /// with the chunk's id and model, if it has not yet.
    Start(&'a Value),
    /// The usage chunk's counts.
    Usage(ChatUsage),
    /// A piece of the answer's text (never empty).
    Text(&'a str),
    /// A piece of the model's refusal (`delta.refusal`, never empty).
    Refusal(&'a str),
    /// A fragment of a tool call: `index`, and on its first fragment `id` and
    /// `function.name`; `function.arguments` pieces.
    ToolFragment(&'a Value),
    /// The choice's `finish_reason`.
    Finish(&'a str),
    /// `data: [DONE]`: the stream is complete.
    Done,
    /// `data: {"error": …}`: upstream failed, with this message.
    Error(&'a str),
}

/// The token counts of a Chat Completions usage chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ChatUsage {
    /// `prompt_tokens`, cached ones included.
    pub(super) prompt: u64,
    /// `prompt_tokens_details.cached_tokens`.
    pub(super) cached: u64,
    /// `completion_tokens`.
    pub(super) completion: u64,
}

/// Parses `event` and hands what it says to `on`, in order. An event that is not JSON is
/// skipped, as OpenAI's SDKs do.
pub(super) fn parse(event: &Event, mut on: impl FnMut(ChatEvent<'_>)) {
    if event.data.trim() == "[DONE]" {
        on(ChatEvent::Start(&Value::Null));
        on(ChatEvent::Done);
        return;
    }
    let Ok(chunk) = serde_json::from_str::<Value>(&event.data) else {
        return;
    };
    if let Some(e) = chunk.get("error") {
        let message = e
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("upstream error");
        on(ChatEvent::Error(message));
        return;
    }
    on(ChatEvent::Start(&chunk));
    if let Some(u) = chunk.get("usage").filter(|u| u.is_object()) {
        let n = |p: &str| u.pointer(p).and_then(Value::as_u64).unwrap_or(0);
        on(ChatEvent::Usage(ChatUsage {
            prompt: n("/prompt_tokens"),
            cached: n("/prompt_tokens_details/cached_tokens"),
            completion: n("/completion_tokens"),
        }));
    }
    let Some(choice) = chunk.pointer("/choices/0") else {
        return;
    };
    if let Some(text) = choice
        .pointer("/delta/content")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
    {
        on(ChatEvent::Text(text));
    }
    if let Some(refusal) = choice
        .pointer("/delta/refusal")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
    {
        on(ChatEvent::Refusal(refusal));
    }
    let calls = choice
        .pointer("/delta/tool_calls")
        .and_then(Value::as_array);
    for fragment in calls.into_iter().flatten() {
        on(ChatEvent::ToolFragment(fragment));
    }
    if let Some(finish) = choice.get("finish_reason").and_then(Value::as_str) {
        on(ChatEvent::Finish(finish));
    }
}
