use std::time::Duration;

use serde_json::Value;

/// What the fake provider answers to one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Script {
    pub(super) kind: Kind,
    pub(super) input_tokens: u64,
    pub(super) output_tokens: u64,
    pub(super) cached_tokens: u64,
    pub(super) delay: Duration,
    pub(super) fail_after: Option<usize>,
    pub(super) stall_after: Option<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Kind {
    Text(String),
    ToolCall {
        id: String,
        name: String,
        arguments: Value,
    },
    Error {
        status: u16,
        message: String,
        retry_after: Option<u64>,
    },
    /// A 200 answer given as it is: one whole JSON body, or SSE events.
    Raw {
        stream: bool,
        frames: Vec<String>,
    },
}

impl Script {
    fn of(kind: Kind) -> Self {
        Script {
            kind,
            input_tokens: 10,
            output_tokens: 5,
            cached_tokens: 0,
            delay: Duration::ZERO,
            fail_after: None,
            stall_after: None,
        }
    }

    /// An assistant text answer (10 input, 5 output tokens unless set).
    pub fn text(text: impl Into<String>) -> Self {
        Script::of(Kind::Text(text.into()))
    }

    /// A call of tool `name` with `arguments` (an object).
    pub fn tool_call(id: impl Into<String>, name: impl Into<String>, arguments: Value) -> Self {
        Script::of(Kind::ToolCall {
            id: id.into(),
            name: name.into(),
            arguments,
        })
    }

    /// An error status with a message, in the request's dialect.
    pub fn error(status: u16, message: impl Into<String>) -> Self {
        Script::of(Kind::Error {
            status,
            message: message.into(),
            retry_after: None,
        })
    }

    /// A whole JSON answer, sent as it is whatever the request's wire format: for a test that
    /// needs an answer the other constructors do not make (a refusal, thinking blocks, …).
    pub fn raw_json(body: Value) -> Self {
        Script::of(Kind::Raw {
            stream: false,
            frames: vec![body.to_string()],
        })
    }

    /// A streamed answer of these SSE events, each a whole event as it goes on the wire
    /// (`"event: …\ndata: …\n\n"`), sent one per frame as they are.
    pub fn raw_sse<I, S>(events: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Script::of(Kind::Raw {
            stream: true,
            frames: events.into_iter().map(Into::into).collect(),
        })
    }

    /// Sets the `Retry-After` of an error, in seconds.
    pub fn with_retry_after(mut self, secs: u64) -> Self {
        if let Kind::Error { retry_after, .. } = &mut self.kind {
            *retry_after = Some(secs);
        }
        self
    }

    /// Sets the usage reported.
    pub fn with_usage(mut self, input: u64, output: u64) -> Self {
        self.input_tokens = input;
        self.output_tokens = output;
        self
    }

    /// Sets the cached part of the input (OpenAI `cached_tokens`, Anthropic
    /// `cache_read_input_tokens`, which Anthropic counts outside `input_tokens`).
    pub fn with_cached(mut self, cached: u64) -> Self {
        self.cached_tokens = cached;
        self
    }

    /// Waits this long (on tokio's clock, so paused time skips it) before answering.
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Makes the body go silent after its first `frames` frames, for good: a provider that
    /// stalls mid-stream, with the connection still open.
    pub fn with_stall_after(mut self, frames: usize) -> Self {
        self.stall_after = Some(frames);
        self
    }

    /// Makes the body fail (a connection reset) after its first `frames` frames: for a
    /// stream, after that many SSE events.
    pub fn with_body_error_after(mut self, frames: usize) -> Self {
        self.fail_after = Some(frames);
        self
    }
}
