//! What both providers share: the exchange with upstream, error statuses, and relaying the
//! answer whole or as a metered stream.

use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderName};
use http::{HeaderMap, Request, Uri};
use http_body_util::{BodyExt, Full, Limited};
use serde_json::Value;
use tower::ServiceExt;

use agent_gateway_core::response::{MeteredBody, Outcome};
use agent_gateway_core::transport::HttpTransport;
use agent_gateway_core::{BoxError, UsageReport};

use crate::error::{UpstreamStatus, UpstreamTimeout, UpstreamUnavailable};
use crate::provider::Timeouts;
use crate::stream::{AbortOnErrorEvent, IdleTimeout, RenderStreamError, SseMeter, StripUsageChunk};
use crate::usage::{Wire, priced_from_body};
use crate::{LlmBody, LlmResponse, Price};

/// How much of an upstream error body is read for its message.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// Response headers relayed to the client.
const RELAYED: [&str; 3] = ["content-type", "request-id", "x-request-id"];

/// One exchange with upstream, turned into an [`LlmResponse`] or a typed error.
pub(crate) struct Exchange {
    pub(crate) wire: Wire,
    pub(crate) price: Price,
    /// Remove the usage chunk the gateway asked for on the client's behalf.
    pub(crate) strip_usage_chunk: bool,
    pub(crate) max_response_bytes: usize,
    /// The request's input estimate, charged for a stream that ends without its usage.
    pub(crate) input_estimate: u64,
    pub(crate) timeouts: Timeouts,
}

impl Exchange {
    pub(crate) async fn run<T: HttpTransport>(
        self,
        transport: T,
        req: Request<Full<Bytes>>,
    ) -> Result<LlmResponse, BoxError> {
        let wait = self.timeouts.response();
        let res = tokio::time::timeout(wait, transport.oneshot(req))
            .await
            .map_err(|_| UpstreamTimeout {
                phase: "response",
                after: wait,
            })?
            .map_err(|e| UpstreamUnavailable::new(e.into()))?;
        let (parts, body) = res.into_parts();
        // Every body read below, whole or streamed, fails if upstream goes silent.
        let body = IdleTimeout::new(body, self.timeouts.stream_idle());
        if !parts.status.is_success() {
            let bytes = match Limited::new(body, ERROR_BODY_LIMIT).collect().await {
                Ok(c) => c.to_bytes(),
                Err(_) => Bytes::new(),
            };
            let message = error_message(&bytes);
            // The provider's own words stay here, in the log: the client gets a generic one.
            tracing::warn!(status = %parts.status, upstream_message = %message, "llm provider answered an error");
            let err = UpstreamStatus::new(parts.status, message)
                .with_retry_after(retry_after(&parts.headers));
            return Err(err.into());
        }
        let headers = relayed_headers(&parts.headers);
        let report = UsageReport::new();
        if is_event_stream(&parts.headers) {
            // Under the meter: an error event from upstream ends the stream as aborted.
            let body = AbortOnErrorEvent::new(body);
            let meter =
                SseMeter::new(self.wire, self.price).with_input_estimate(self.input_estimate);
            let metered = MeteredBody::new(body, meter, report.clone());
            // Over it: a failure mid-stream reaches the client as its dialect's error event.
            let body = if self.strip_usage_chunk {
                LlmBody::stream(RenderStreamError::new(
                    StripUsageChunk::new(metered),
                    self.wire,
                ))
            } else {
                LlmBody::stream(RenderStreamError::new(metered, self.wire))
            };
            return Ok(LlmResponse::stream(parts.status, headers, body, report));
        }
        let bytes = Limited::new(body, self.max_response_bytes)
            .collect()
            .await
            .map_err(UpstreamUnavailable::new)?
            .to_bytes();
        let value: Value = serde_json::from_slice(&bytes).map_err(UpstreamUnavailable::new)?;
        report.complete(
            priced_from_body(self.wire, &value, &self.price),
            Outcome::Complete,
        );
        Ok(LlmResponse::json(
            parts.status,
            headers,
            bytes,
            value,
            report,
        ))
    }
}

fn is_event_stream(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("text/event-stream")
        })
}

fn relayed_headers(upstream: &HeaderMap) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for name in RELAYED {
        if let Some(v) = upstream.get(name) {
            headers.insert(HeaderName::from_static(name), v.clone());
        }
    }
    headers
}

/// `error.message` of either dialect's error body.
fn error_message(bytes: &[u8]) -> String {
    serde_json::from_slice::<Value>(bytes)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "upstream error".to_owned())
}

/// `retry-after-ms` (OpenAI), else `retry-after` (seconds or an HTTP date), parsed safely and
/// clamped by core's [`retry_after`](agent_gateway_core::upstream::retry_after).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    agent_gateway_core::upstream::retry_after::from_headers(headers, std::time::SystemTime::now())
}

/// The POST of `body` to `uri` with `headers` and the JSON content type.
pub(crate) fn upstream_request(
    uri: &Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Request<Full<Bytes>>, BoxError> {
    let mut req = Request::post(uri.clone()).body(Full::new(body))?;
    *req.headers_mut() = headers;
    req.headers_mut().insert(
        CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    Ok(req)
}

/// Checks a base URL: absolute, `http` or `https`. Returns it without a trailing slash.
pub(crate) fn base_url(url: &str) -> Result<String, InvalidBaseUrl> {
    let uri: Uri = url.parse().map_err(|_| InvalidBaseUrl(url.to_owned()))?;
    match (uri.scheme_str(), uri.authority()) {
        (Some("http" | "https"), Some(_)) => Ok(url.trim_end_matches('/').to_owned()),
        _ => Err(InvalidBaseUrl(url.to_owned())),
    }
}

/// An upstream API path, under a provider's base URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Path {
    /// OpenAI `/chat/completions`.
    ChatCompletions,
    /// OpenAI `/responses`.
    Responses,
    /// Anthropic `/v1/messages`.
    Messages,
}

/// The URL of each [`Path`] under one base URL, parsed once when the provider is built.
#[derive(Debug, Clone)]
pub(crate) struct Endpoints {
    chat_completions: Uri,
    responses: Uri,
    messages: Uri,
}

impl Endpoints {
    /// The endpoints under `base_url` (checked by [`base_url`]).
    pub(crate) fn new(base_url: &str) -> Result<Self, InvalidBaseUrl> {
        let base = self::base_url(base_url)?;
        let uri = |path: &str| -> Result<Uri, InvalidBaseUrl> {
            format!("{base}{path}")
                .parse()
                .map_err(|_| InvalidBaseUrl(base_url.to_owned()))
        };
        Ok(Endpoints {
            chat_completions: uri("/chat/completions")?,
            responses: uri("/responses")?,
            messages: uri("/v1/messages")?,
        })
    }

    /// The URL of `path`.
    pub(crate) fn get(&self, path: Path) -> &Uri {
        match path {
            Path::ChatCompletions => &self.chat_completions,
            Path::Responses => &self.responses,
            Path::Messages => &self.messages,
        }
    }
}

/// A provider base URL that is not an absolute `http` or `https` URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid provider base URL `{0}`: it must be an absolute http or https URL")]
pub struct InvalidBaseUrl(String);
