use http::HeaderMap;
use http::header::{ACCEPT, AUTHORIZATION, HeaderValue};
use serde_json::{Value, json};

use agent_gateway_core::transport::HttpTransport;
use agent_gateway_core::{AgentRequest, BoxError};

use super::Provider;
use super::generic::{Call, Upstream, unsupported};
use super::patch::Patched;
use super::relay::{Exchange, Path, upstream_request};
use crate::error::UpstreamUnavailable;
use crate::stream::{ChatToMessages, ChatToResponses, SseTransform};
use crate::translate::{
    chat_response_to_messages, chat_response_to_responses, messages_request_to_chat,
    responses_request_to_chat,
};
use crate::usage::Wire;
use crate::{Api, LlmBody, LlmResponse};
use agent_gateway_core::upstream::hop::copy_hop_headers;

/// A provider speaking the OpenAI API at any base URL (`https://api.openai.com/v1`, a vLLM or
/// Ollama server's `/v1`, …): Chat Completions and Responses, and Anthropic Messages
/// translated to Chat Completions, streams event by event ([`ChatToMessages`]). For a server
/// without the Responses API, [`with_responses_api(false)`](Provider::with_responses_api)
/// translates Responses to Chat Completions ([`ChatToResponses`] for streams).
///
/// It sends `Authorization: Bearer` with its own key. The client's credential is never sent.
///
/// For streamed chat it asks upstream for `stream_options.include_usage`, so that usage is
/// always metered; if the client had not asked, the extra usage chunk is removed from what it
/// sees ([`StripUsageChunk`](crate::stream::StripUsageChunk)). Servers that reject the option
/// can opt out with [`with_stream_usage`](Provider::with_stream_usage).
pub type OpenAiProvider<T> = Provider<T, OpenAiUpstream>;

/// What an OpenAI-compatible upstream supports: the settings of an [`OpenAiProvider`].
#[derive(Debug, Clone)]
pub struct OpenAiUpstream {
    stream_usage: bool,
    responses_api: bool,
}

impl Default for OpenAiUpstream {
    /// Stream usage requested, Responses API present.
    fn default() -> Self {
        OpenAiUpstream {
            stream_usage: true,
            responses_api: true,
        }
    }
}

impl<T> Provider<T, OpenAiUpstream> {
    /// Whether to request `stream_options.include_usage` upstream. On by default.
    pub fn with_stream_usage(self, inject: bool) -> Self {
        self.edit(|c| c.upstream.stream_usage = inject)
    }

    /// Whether the server has the Responses API. On by default; when off, Responses requests
    /// are translated to Chat Completions and the answers, streamed or not, back to Responses
    /// (as vLLM, Ollama or Groq may need).
    pub fn with_responses_api(self, supported: bool) -> Self {
        self.edit(|c| c.upstream.responses_api = supported)
    }
}

impl Upstream for OpenAiUpstream {
    async fn call<T: HttpTransport>(call: Call<T, Self>) -> Result<LlmResponse, BoxError> {
        let client = call.req.request();
        let from = match client.api() {
            Api::ChatCompletions => From::Chat,
            Api::Messages => From::Messages,
            Api::Responses if call.config.upstream.responses_api => From::Responses,
            Api::Responses => From::ResponsesViaChat,
            api => return Err(unsupported(client, api)),
        };
        let (path, wire) = match from {
            From::Responses => (Path::Responses, Wire::Responses),
            _ => (Path::ChatCompletions, Wire::ChatCompletions),
        };
        let translate = matches!(from, From::Messages | From::ResponsesViaChat);
        // A translation is a new body; the client's own is sent as it is, with the model
        // (and stream options) substituted as it is serialized, never copied.
        let translated = match from {
            From::Messages => Some(messages_request_to_chat(client.body())?),
            From::ResponsesViaChat => Some(responses_request_to_chat(client.body())?),
            From::Chat | From::Responses => None,
        };
        let mut body = Patched::new(translated.as_ref().unwrap_or(client.body()));
        body.set_model(call.req.upstream_model());
        if translate && client.is_stream() {
            body.set_stream();
        }
        let options = (wire == Wire::ChatCompletions
            && client.is_stream()
            && call.config.upstream.stream_usage)
            .then(|| include_usage(translated.as_ref().unwrap_or(client.body())))
            .flatten();
        // A translated stream consumes the usage chunk itself: nothing to strip.
        let strip = options.is_some() && !translate;
        if let Some(options) = options {
            body.set_stream_options(options);
        }

        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(bearer) = call.config.common.bearer()? {
            headers.insert(AUTHORIZATION, bearer);
        }
        copy_hop_headers(client.headers(), &mut headers);
        let uri = call.config.common.uri(path);
        let upstream = upstream_request(uri, headers, body.to_bytes()?)?;
        let exchange = Exchange {
            wire,
            price: call.req.price(),
            strip_usage_chunk: strip,
            max_response_bytes: call.config.common.max_response_bytes,
            input_estimate: call.req.request().estimated_input_tokens().unwrap_or(0),
            timeouts: call.req.timeouts(),
        };
        let res = exchange.run(call.transport, upstream).await?;
        match from {
            From::Messages => res
                .map_stream(|b| LlmBody::stream(SseTransform::new(b, ChatToMessages::new())))
                .map_json(chat_response_to_messages)
                .map_err(|e| UpstreamUnavailable::new(e).into()),
            From::ResponsesViaChat => res
                .map_stream(|b| LlmBody::stream(SseTransform::new(b, ChatToResponses::new())))
                .map_json(chat_response_to_responses)
                .map_err(|e| UpstreamUnavailable::new(e).into()),
            From::Chat | From::Responses => Ok(res),
        }
    }
}

/// The client's API, and how it reaches upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum From {
    Chat,
    Messages,
    Responses,
    /// Responses, translated to Chat Completions for a server without the Responses API.
    ResponsesViaChat,
}

/// The `stream_options` to send so that upstream reports usage, if the client had not asked
/// for it (and so must not see the usage chunk): its own options plus `include_usage: true`.
fn include_usage(body: &Value) -> Option<Value> {
    let asked = body
        .pointer("/stream_options/include_usage")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if asked {
        return None;
    }
    Some(match body.get("stream_options") {
        Some(Value::Object(options)) => {
            let mut options = options.clone();
            options.insert("include_usage".to_owned(), Value::Bool(true));
            Value::Object(options)
        }
        _ => json!({"include_usage": true}),
    })
}
