//! What the `table_shares*` tests share: two API-key callers through the policy crate's auth in
//! front of an upstream, an MCP front whose session store has the given [`SessionLimits`], and
//! legacy-session requests made as one caller or the other.

#![allow(dead_code, unreachable_pub)] // each test file uses its part

use std::convert::Infallible;
use std::sync::Arc;

use agent_gateway_core::{BoxError, Secret};
use agent_gateway_mcp::front::ResponseBody;
use agent_gateway_mcp::router::Direct;
use agent_gateway_mcp::session::{SessionLimits, SessionStore};
use agent_gateway_mcp::upstream::UpstreamRequest;
use agent_gateway_mcp::{McpFront, McpFrontConfig};
use agent_gateway_policy::auth::{ApiKeys, AuthLayer, Principal};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{Map, Value, json};
use tower::util::BoxCloneSyncService;
use tower::{Service, ServiceBuilder, ServiceExt};

/// Alice's API key.
pub const ALICE: &str = "sk-alice-0123456789";
/// Bob's API key.
pub const BOB: &str = "sk-bob-0123456789ab";

/// A request to the front.
pub type Request = http::Request<Full<Bytes>>;

/// The upstream behind the front.
pub type Upstream = BoxCloneSyncService<UpstreamRequest, Map<String, Value>, BoxError>;

/// The MCP front, as the tests drive it.
pub trait Front:
    Service<Request, Response = http::Response<ResponseBody>, Error = Infallible> + Clone
{
}

impl<S> Front for S where
    S: Service<Request, Response = http::Response<ResponseBody>, Error = Infallible> + Clone
{
}

/// The front over auth (alice's and bob's keys) over `upstream`, its session tables within
/// `limits`.
pub fn front(upstream: Upstream, limits: SessionLimits) -> impl Front {
    let keys = ApiKeys::new()
        .with_key(Secret::new(ALICE.to_owned()), Principal::new("alice"))
        .with_key(Secret::new(BOB.to_owned()), Principal::new("bob"));
    let stack = ServiceBuilder::new()
        .layer(AuthLayer::new(keys))
        .service(Direct::new(upstream));
    McpFront::new(stack, McpFrontConfig::new("gw", "1").unwrap())
        .with_session_store(Arc::new(SessionStore::with_limits(limits)))
}

/// A POST of `body` as `key`'s caller, on legacy `session` when given.
pub fn post(body: &Value, session: Option<&str>, key: &str) -> Request {
    let mut b = http::Request::post("/mcp")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("authorization", format!("Bearer {key}"));
    if let Some(s) = session {
        b = b
            .header("mcp-session-id", s)
            .header("mcp-protocol-version", "2025-11-25");
    }
    b.body(Full::new(Bytes::from(body.to_string()))).unwrap()
}

/// Sends `body` as `key`'s caller: the status and the JSON answer.
pub async fn send(
    front: &impl Front,
    body: &Value,
    session: Option<&str>,
    key: &str,
) -> (u16, Value) {
    let res = front
        .clone()
        .oneshot(post(body, session, key))
        .await
        .unwrap();
    let status = res.status().as_u16();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// A new legacy session of `key`'s caller declaring `capabilities`, initialized.
pub async fn open_with(front: &impl Front, key: &str, capabilities: Value) -> String {
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": capabilities,
        "clientInfo": {"name": "t", "version": "1"}}});
    let res = front.clone().oneshot(post(&init, None, key)).await.unwrap();
    assert_eq!(res.status(), 200);
    let session = res.headers()["mcp-session-id"].to_str().unwrap().to_owned();
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let (status, _) = send(front, &initialized, Some(&session), key).await;
    assert_eq!(status, 202);
    session
}

/// A new legacy session of `key`'s caller, initialized, declaring no capabilities.
pub async fn open(front: &impl Front, key: &str) -> String {
    open_with(front, key, json!({})).await
}
