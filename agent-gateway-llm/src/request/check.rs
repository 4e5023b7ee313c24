//! Checking a request body's shape on borrowed views, and measuring its prompt, without
//! copying the body.
//!
//! The views mirror the fields of [`crate::types`] that a provider would refuse in the wrong
//! shape, but borrow strings from the JSON and skip what they do not check (`content`,
//! schemas, unknown fields), so checking allocates little more than a `Vec` of small views.

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::Api;
use crate::error::InvalidRequest;

/// What the check reads from a body it accepts.
pub(super) struct Checked {
    pub(super) stream: bool,
}

/// Checks `body` against the shape of `api`.
pub(super) fn check(api: Api, body: &Value) -> Result<Checked, InvalidRequest> {
    let stream = match api {
        Api::ChatCompletions => view::<ChatView<'_>>(body)?.stream,
        Api::Messages => view::<MessagesView<'_>>(body)?.stream,
        Api::Responses | Api::ListModels => view::<ResponsesView<'_>>(body)?.stream,
    };
    Ok(Checked {
        stream: stream.unwrap_or(false),
    })
}

fn view<'a, T: Deserialize<'a>>(body: &'a Value) -> Result<T, InvalidRequest> {
    T::deserialize(body).map_err(|e| InvalidRequest::new(format!("invalid request body: {e}")))
}

/// The bytes of the prompt in `body`, as sent: the raw length of the conversation, system
/// prompt and tools, read without building them. `None` if `body` is not JSON.
pub(super) fn raw_prompt_len(body: &[u8]) -> Option<usize> {
    let spans: PromptSpans<'_> = serde_json::from_slice(body).ok()?;
    let len = |raw: Option<&RawValue>| raw.map_or(0, |r| r.get().len());
    Some(
        len(spans.messages)
            + len(spans.system)
            + len(spans.tools)
            + len(spans.input)
            + len(spans.instructions),
    )
}

/// The bytes of the prompt in an already parsed `body`, counted as it would serialize.
pub(super) fn value_prompt_len(body: &Value) -> usize {
    ["messages", "system", "tools", "input", "instructions"]
        .iter()
        .filter_map(|key| body.get(key))
        .map(json_len)
        .sum()
}

fn json_len(value: &Value) -> usize {
    let mut counter = Counter(0);
    // Writing to a counter cannot fail, and a `Value` always serialises.
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0
}

struct Counter(usize);

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[derive(Deserialize)]
struct PromptSpans<'a> {
    #[serde(borrow, default)]
    messages: Option<&'a RawValue>,
    #[serde(borrow, default)]
    system: Option<&'a RawValue>,
    #[serde(borrow, default)]
    tools: Option<&'a RawValue>,
    #[serde(borrow, default)]
    input: Option<&'a RawValue>,
    #[serde(borrow, default)]
    instructions: Option<&'a RawValue>,
}

// The views below exist to be checked by deserializing; most fields are never read.

#[derive(Deserialize)]
#[allow(dead_code, reason = "checked by deserializing, not read")]
struct ChatView<'a> {
    model: &'a str,
    #[serde(borrow)]
    messages: Vec<ChatMessageView<'a>>,
    stream: Option<bool>,
    stream_options: Option<StreamOptionsView>,
    max_completion_tokens: Option<u64>,
    max_tokens: Option<u64>,
    #[serde(borrow)]
    tools: Option<Vec<ChatToolView<'a>>>,
}

#[derive(Deserialize)]
#[allow(dead_code, reason = "checked by deserializing, not read")]
struct ChatMessageView<'a> {
    role: &'a str,
    #[serde(borrow)]
    tool_calls: Option<Vec<ToolCallView<'a>>>,
    #[serde(borrow)]
    tool_call_id: Option<&'a str>,
}

#[derive(Deserialize)]
#[allow(dead_code, reason = "checked by deserializing, not read")]
struct ToolCallView<'a> {
    #[serde(borrow)]
    id: Option<&'a str>,
    #[serde(borrow, rename = "type")]
    kind: Option<&'a str>,
    index: Option<u32>,
    #[serde(borrow)]
    function: Option<FunctionCallView<'a>>,
}

#[derive(Deserialize)]
#[allow(dead_code, reason = "checked by deserializing, not read")]
struct FunctionCallView<'a> {
    #[serde(borrow)]
    name: Option<&'a str>,
    #[serde(borrow)]
    arguments: Option<&'a str>,
}

#[derive(Deserialize)]
#[allow(dead_code, reason = "checked by deserializing, not read")]
struct StreamOptionsView {
    include_usage: Option<bool>,
}

#[derive(Deserialize)]
#[allow(dead_code, reason = "checked by deserializing, not read")]
struct ChatToolView<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(borrow)]
    function: Option<FunctionDefView<'a>>,
}

#[derive(Deserialize)]
#[allow(dead_code, reason = "checked by deserializing, not read")]
struct FunctionDefView<'a> {
    name: &'a str,
    #[serde(borrow)]
    description: Option<&'a str>,
}

#[derive(Deserialize)]
#[allow(dead_code, reason = "checked by deserializing, not read")]
struct MessagesView<'a> {
    model: &'a str,
    max_tokens: u64,
    #[serde(borrow)]
    messages: Vec<AnthropicMessageView<'a>>,
    stream: Option<bool>,
    #[serde(borrow)]
    tools: Option<Vec<AnthropicToolView<'a>>>,
    #[serde(borrow)]
    stop_sequences: Option<Vec<&'a str>>,
}

#[derive(Deserialize)]
#[allow(dead_code, reason = "checked by deserializing, not read")]
struct AnthropicMessageView<'a> {
    role: &'a str,
    content: IgnoredAny,
}

#[derive(Deserialize)]
#[allow(dead_code, reason = "checked by deserializing, not read")]
struct AnthropicToolView<'a> {
    name: &'a str,
    #[serde(borrow)]
    description: Option<&'a str>,
}

#[derive(Deserialize)]
#[allow(dead_code, reason = "checked by deserializing, not read")]
struct ResponsesView<'a> {
    model: &'a str,
    #[serde(borrow)]
    instructions: Option<&'a str>,
    stream: Option<bool>,
    max_output_tokens: Option<u64>,
}
