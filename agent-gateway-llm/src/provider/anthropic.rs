use http::HeaderMap;
use http::header::{ACCEPT, HeaderValue};
use serde_json::Value;

use agent_gateway_core::transport::HttpTransport;
use agent_gateway_core::{AgentRequest, BoxError};

use super::Provider;
use super::generic::{Call, Upstream, unsupported};
use super::patch::Patched;
use super::relay::{Exchange, Path, upstream_request};
use crate::error::{InvalidRequest, UpstreamUnavailable};
use crate::stream::{ChatToResponses, MessagesToChat, SseTransform};
use crate::translate::{
    chat_request_to_messages, chat_response_to_responses, messages_response_to_chat,
    responses_request_to_messages,
};
use crate::usage::Wire;
use crate::{Api, LlmBody, LlmResponse};
use agent_gateway_core::upstream::hop::copy_hop_headers;

/// The `anthropic-version` sent when the client sent none.
pub const DEFAULT_ANTHROPIC_VERSION: &str = "2023-06-01";

/// A provider speaking Anthropic Messages at a base URL without `/v1`
/// (`https://api.anthropic.com`), as the Anthropic SDKs take it. Chat Completions requests are
/// translated to Messages and back, streams event by event ([`MessagesToChat`]); Responses
/// requests go the same way through Chat Completions ([`ChatToResponses`]).
///
/// It sends `x-api-key` with its own key; the client's credential is never sent. The client's `anthropic-version` and `anthropic-beta` are passed through,
/// since they change what the request means.
pub type AnthropicProvider<T> = Provider<T, AnthropicUpstream>;

/// What an Anthropic upstream needs beyond the common settings: nothing yet. The kind of an
/// [`AnthropicProvider`].
#[derive(Debug, Clone, Copy, Default)]
pub struct AnthropicUpstream;

impl Upstream for AnthropicUpstream {
    async fn call<T: HttpTransport>(call: Call<T, Self>) -> Result<LlmResponse, BoxError> {
        let client = call.req.request();
        // A translation is a new body; the client's own is sent as it is, with the model
        // substituted as it is serialized, never copied.
        let translated = match client.api() {
            Api::Messages => None,
            Api::ChatCompletions => Some(chat_request_to_messages(client.body())?),
            Api::Responses => Some(responses_request_to_messages(client.body())?),
            api => return Err(unsupported(client, api)),
        };
        let translate = translated.is_some();
        let mut body = Patched::new(translated.as_ref().unwrap_or(client.body()));
        body.set_model(call.req.upstream_model());
        if translate && client.is_stream() {
            body.set_stream();
        }

        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        let version = client
            .headers()
            .get("anthropic-version")
            .cloned()
            .unwrap_or(HeaderValue::from_static(DEFAULT_ANTHROPIC_VERSION));
        if translate && forbids_sampling(&version) {
            // This version refuses sampling parameters, as Anthropic would: never drop them.
            let body = translated.as_ref().unwrap_or(client.body());
            if let Some(key) = ["temperature", "top_p"]
                .into_iter()
                .find(|k| body.get(*k).is_some_and(|v| !v.is_null()))
            {
                return Err(InvalidRequest::new(format!(
                    "`{key}` is not supported with anthropic-version {}: this version of the \
                     Messages API removed the sampling parameters",
                    version.to_str().unwrap_or("?")
                ))
                .with_param(key)
                .into());
            }
        }
        headers.insert("anthropic-version", version);
        if let Some(beta) = client.headers().get("anthropic-beta") {
            headers.insert("anthropic-beta", beta.clone());
        }
        if let Some(key) = call.config.common.api_key()? {
            headers.insert("x-api-key", key);
        }
        copy_hop_headers(client.headers(), &mut headers);
        let uri = call.config.common.uri(Path::Messages);
        let upstream = upstream_request(uri, headers, body.to_bytes()?)?;
        let exchange = Exchange {
            wire: Wire::Messages,
            price: call.req.price(),
            strip_usage_chunk: false,
            max_response_bytes: call.config.common.max_response_bytes,
            input_estimate: call.req.request().estimated_input_tokens().unwrap_or(0),
            timeouts: call.req.timeouts(),
        };
        let res = exchange.run(call.transport, upstream).await?;
        match client.api() {
            Api::ChatCompletions => {
                let include_usage = client
                    .body()
                    .pointer("/stream_options/include_usage")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                res.map_stream(|body| {
                    LlmBody::stream(SseTransform::new(body, MessagesToChat::new(include_usage)))
                })
                .map_json(messages_response_to_chat)
                .map_err(|e| UpstreamUnavailable::new(e).into())
            }
            Api::Responses => res
                .map_stream(|body| {
                    let chat = SseTransform::new(body, MessagesToChat::new(true));
                    LlmBody::stream(SseTransform::new(chat, ChatToResponses::new()))
                })
                .map_json(|v| chat_response_to_responses(&messages_response_to_chat(v)?))
                .map_err(|e| UpstreamUnavailable::new(e).into()),
            _ => Ok(res),
        }
    }
}

/// Whether `anthropic-version` is 2026-10-21 or later, which removed `temperature`, `top_p`
/// and `top_k`. Versions are dates, so they compare as strings.
fn forbids_sampling(version: &HeaderValue) -> bool {
    version.to_str().is_ok_and(|v| v >= "2026-10-21")
}
