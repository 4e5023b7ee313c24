//! Era translation of input requests: a modern upstream asks for client input with an
//! `input_required` result (MRTR); a legacy client is asked with real server→client requests
//! instead, and the original request is retried with the answers.
//!
//! For a client that can be sent requests (a legacy client on its request's stream, see
//! [`Notifier::with_requests`](crate::notify::Notifier::with_requests)), every `inputRequests` entry becomes one request to the
//! client, in key order; the answers go back to the upstream as `inputResponses`, with
//! `requestState` exactly as the upstream sent it, on the same method and parameters. Rounds
//! repeat while the upstream asks again, up to [`MAX_ROUNDS`]. A modern client gets the
//! `input_required` result untouched, to fulfil itself.
//!
//! ```
//! use agent_gateway_core::BoxError;
//! use agent_gateway_mcp::router::translate::send_fulfilling;
//! use agent_gateway_mcp::notify::{Notifier, Outgoing};
//! use agent_gateway_mcp::upstream::UpstreamRequest;
//! use serde_json::{Map, json};
//! use tower::ServiceExt;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! // An upstream that needs the client's roots before it answers.
//! let upstream = tower::service_fn(|req: UpstreamRequest| async move {
//!     let result = match req.params().get("inputResponses") {
//!         Some(r) => json!({"content": [{"type": "text", "text": r["roots"]["roots"][0]["uri"]}]}),
//!         None => json!({"resultType": "input_required", "requestState": "s1",
//!                        "inputRequests": {"roots": {"method": "roots/list", "params": {}}}}),
//!     };
//!     Ok::<_, BoxError>(result.as_object().cloned().unwrap())
//! });
//! let (notifier, mut out) = Notifier::channel(None);
//! let req = UpstreamRequest::new("tools/call", json!({"name": "t"}).as_object().cloned().unwrap())
//!     .with_notifier(Some(notifier.with_requests()));
//! // The client side: answer the roots request.
//! tokio::spawn(async move {
//!     while let Some(Outgoing::Request(r)) = out.recv().await {
//!         assert_eq!(r.method(), "roots/list");
//!         r.reply(Ok(json!({"roots": [{"uri": "file:///src"}]}).as_object().cloned().unwrap()));
//!     }
//! });
//! let parked = agent_gateway_mcp::router::translate::Parked::default();
//! let result = send_fulfilling(req, &parked, |r| upstream.clone().oneshot(r)).await.unwrap();
//! assert_eq!(result["content"][0]["text"], "file:///src");
//! # });
//! ```

use std::future::Future;

use agent_gateway_core::BoxError;
use agent_gateway_core::jsonrpc::ErrorObject;
use serde_json::{Map, Value};

use crate::McpError;
use crate::upstream::UpstreamRequest;

mod park;
#[cfg(test)]
mod park_tests;

pub use park::{MAX_PARKED, MAX_PARKED_PER_OWNER, PARK_TIMEOUT, Parked};

/// The most input rounds one request may take before the gateway gives up.
pub const MAX_ROUNDS: usize = 8;

/// The most input requests in one round.
pub const MAX_INPUTS: usize = 16;

/// The methods an `inputRequests` entry may name.
const INPUT_METHODS: [&str; 3] = ["elicitation/create", "sampling/createMessage", "roots/list"];

fn input_required(result: &Map<String, Value>) -> bool {
    result.get("resultType").and_then(Value::as_str) == Some("input_required")
}

fn refuse(message: impl Into<String>) -> BoxError {
    let message: String = message.into();
    Box::new(McpError::Upstream(ErrorObject::new(
        ErrorObject::INTERNAL_ERROR,
        message,
    )))
}

/// Sends `req` with `send`, translating input requests between the eras:
///
/// - for a client that can be asked (legacy): while the upstream answers `input_required`,
///   asks the client and retries with its answers;
/// - for a client that cannot (modern): when the upstream sends requests of its own during the
///   call (a legacy upstream), the call is parked in `parked` and the client gets an
///   `input_required` result naming them; its retry carrying the gateway's `requestState`
///   answers them and resumes the parked call.
///
/// Otherwise the result comes as the upstream gave it. For a router with several upstreams,
/// see [`send_fulfilling_on`].
pub async fn send_fulfilling<F, Fut>(
    req: UpstreamRequest,
    parked: &Parked,
    send: F,
) -> Result<Map<String, Value>, BoxError>
where
    F: FnMut(UpstreamRequest) -> Fut,
    Fut: Future<Output = Result<Map<String, Value>, BoxError>> + Send + 'static,
{
    send_fulfilling_on("", req, parked, send).await
}

/// [`send_fulfilling`] to the upstream named `upstream`: a call parked there is bound to it,
/// so a retry addressed to another upstream (the same tool name under another prefix) cannot
/// resume it.
pub async fn send_fulfilling_on<F, Fut>(
    upstream: &str,
    req: UpstreamRequest,
    parked: &Parked,
    mut send: F,
) -> Result<Map<String, Value>, BoxError>
where
    F: FnMut(UpstreamRequest) -> Fut,
    Fut: Future<Output = Result<Map<String, Value>, BoxError>> + Send + 'static,
{
    let notifier = req.notifier().filter(|n| n.can_request()).cloned();
    let Some(notifier) = notifier else {
        return park::send_parking(upstream, req, parked, send).await;
    };
    let mut next = req;
    for _ in 0..MAX_ROUNDS {
        // The one copy a round takes: the request to retry with the client's answers.
        let mut retry = next.clone();
        let result = send(next).await?;
        if !input_required(&result) {
            return Ok(result);
        }
        let inputs = match result.get("inputRequests") {
            Some(Value::Object(m)) => m.clone(),
            None => Map::new(),
            Some(_) => return Err(refuse("the upstream's inputRequests is not an object")),
        };
        if inputs.len() > MAX_INPUTS {
            return Err(refuse("the upstream asked for too many inputs"));
        }
        let mut responses = Map::new();
        for (key, input) in inputs {
            let method = input.get("method").and_then(Value::as_str).unwrap_or("");
            if !INPUT_METHODS.contains(&method) {
                return Err(refuse(format!(
                    "the upstream asked for unknown input `{method}`"
                )));
            }
            let params = match input.get("params") {
                Some(Value::Object(p)) => p.clone(),
                _ => Map::new(),
            };
            let answer = notifier
                .request(method, params)
                .await
                .map_err(|e| Box::new(McpError::Upstream(e)) as BoxError)?;
            responses.insert(key, Value::Object(answer));
        }
        // The original parameters, with this round's answers and state in place of the last's.
        let params = retry.params_mut();
        params.insert("inputResponses".into(), Value::Object(responses));
        match result.get("requestState") {
            Some(state) => params.insert("requestState".into(), state.clone()),
            None => params.remove("requestState"),
        };
        next = retry;
    }
    Err(refuse("the upstream kept asking for input"))
}
