//! Reading a JSON request body, within a limit.

use bytes::Bytes;
use http::HeaderMap;
use http::header::CONTENT_TYPE;

use agent_gateway_core::BoxError;
use agent_gateway_core::body::{BodyError, read_limited};

use crate::error::{InvalidRequest, PayloadTooLarge, UnsupportedMediaType};

/// Checks the content type, and reads at most `limit` bytes with core's
/// [`read_limited`] (a declared `Content-Length` over the limit is refused before reading);
/// the caller parses them ([`LlmRequest::from_slice`](crate::LlmRequest::from_slice)).
pub(super) async fn json_body<B>(
    headers: &HeaderMap,
    body: B,
    limit: usize,
) -> Result<Bytes, BoxError>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    if !is_json(headers) {
        return Err(UnsupportedMediaType.into());
    }
    read_limited(body, limit, headers)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge { limit } => PayloadTooLarge { limit }.into(),
            // The client's body failed (it went away, a malformed chunk): a 400 in its dialect.
            _ => InvalidRequest::new("the request body could not be read").into(),
        })
}

/// `application/json`, or any `…/…+json`, with or without parameters.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}
