//! A legacy session belongs to the caller who opened it (#11, finding 8): with the real auth
//! layer in the stack, another caller (another API key; or the same subject through another
//! authenticator and issuer) cannot call, stream, resume, cancel, answer for or DELETE on it.
//! Each attempt gets the answer a forged session id gets (404, -32600 "Session not found") and
//! reaches no upstream; without a credential each gets 401.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use agent_gateway_core::caller::AuthMethod;
use agent_gateway_core::{BoxError, Caller, Secret};
use agent_gateway_mcp::router::Direct;
use agent_gateway_mcp::upstream::UpstreamRequest;
use agent_gateway_mcp::{McpFront, McpFrontConfig};
use agent_gateway_policy::auth::{
    ApiKeys, AuthError, AuthLayer, Authenticator, Credentials, Principal,
};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{Map, Value, json};
use tokio::sync::Semaphore;
use tower::{ServiceBuilder, ServiceExt};

const ALICE_KEY: &str = "sk-alice-0123456789";
const BOB_KEY: &str = "sk-bob-0123456789ab";
/// A bearer token the JWT-style authenticator below accepts as subject `alice`.
const ALICE_JWT: &str = "jwt.alice.signed";

/// Stands in for a JWT authenticator: one token, subject `alice` (the same subject as the API
/// key's), from an issuer.
struct JwtLike;

#[async_trait::async_trait]
impl Authenticator for JwtLike {
    async fn authenticate(
        &self,
        credentials: Credentials<'_>,
    ) -> Result<Option<Caller>, AuthError> {
        Ok((credentials.bearer()? == Some(ALICE_JWT)).then(|| {
            Caller::new("alice")
                .with_method(AuthMethod::Jwt)
                .with_issuer("https://idp.example")
        }))
    }
}

type Request = http::Request<Full<Bytes>>;

fn with_auth(b: http::request::Builder, bearer: Option<&str>) -> http::request::Builder {
    match bearer {
        Some(t) => b.header("authorization", format!("Bearer {t}")),
        None => b,
    }
}

fn post(body: &Value, session: Option<&str>, bearer: Option<&str>) -> Request {
    let mut b = http::Request::post("/mcp")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    if let Some(s) = session {
        b = b
            .header("mcp-session-id", s)
            .header("mcp-protocol-version", "2025-11-25");
    }
    with_auth(b, bearer)
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

fn get(session: &str, last_event: Option<&str>, bearer: Option<&str>) -> Request {
    let mut b = http::Request::get("/mcp")
        .header("accept", "text/event-stream")
        .header("mcp-session-id", session)
        .header("mcp-protocol-version", "2025-11-25");
    if let Some(l) = last_event {
        b = b.header("last-event-id", l);
    }
    with_auth(b, bearer).body(Full::new(Bytes::new())).unwrap()
}

fn delete(session: &str, bearer: Option<&str>) -> Request {
    let b = http::Request::delete("/mcp").header("mcp-session-id", session);
    with_auth(b, bearer).body(Full::new(Bytes::new())).unwrap()
}

/// The id of an SSE frame.
fn frame_id(frame: &[u8]) -> String {
    let text = std::str::from_utf8(frame).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("id: "))
        .unwrap_or("")
        .to_owned()
}

struct Gateway<F> {
    front: F,
    /// Every request that reached the upstream.
    calls: Arc<AtomicUsize>,
    /// Releases the upstream's `slow` calls, one permit each.
    release: Arc<Semaphore>,
}

fn gateway<A: Authenticator>(
    auth: A,
) -> Gateway<
    impl tower::Service<
        Request,
        Response = http::Response<agent_gateway_mcp::front::ResponseBody>,
        Error = std::convert::Infallible,
        Future: Send,
    > + Clone,
> {
    let calls = Arc::new(AtomicUsize::new(0));
    let release = Arc::new(Semaphore::new(0));
    let (count, gate) = (calls.clone(), release.clone());
    // `slow` logs once, then waits for the test to release it; the answer is "after". Any
    // other tool answers at once.
    let upstream = tower::service_fn(move |req: UpstreamRequest| {
        count.fetch_add(1, Ordering::SeqCst);
        let gate = gate.clone();
        async move {
            if req.params().get("name").and_then(Value::as_str) != Some("slow") {
                return Ok(json!({"content": []}).as_object().cloned().unwrap());
            }
            if let Some(n) = req.notifier() {
                let log = json!({"level": "info", "data": "before"});
                n.notify("notifications/message", log.as_object().cloned().unwrap())
                    .await;
            }
            gate.acquire().await.unwrap().forget();
            let done = json!({"content": [{"type": "text", "text": "after"}]});
            Ok::<_, BoxError>(done.as_object().cloned().unwrap_or_else(Map::new))
        }
    });
    let stack = ServiceBuilder::new()
        .layer(AuthLayer::new(auth))
        .service(Direct::new(upstream));
    let front = McpFront::new(stack, McpFrontConfig::new("gw", "1").unwrap());
    Gateway {
        front,
        calls,
        release,
    }
}

/// Status and JSON body of a plain answer (a stream is not read: `Null`).
async fn answer(res: http::Response<agent_gateway_mcp::front::ResponseBody>) -> (u16, Value) {
    let status = res.status().as_u16();
    if res
        .headers()
        .get("content-type")
        .is_some_and(|c| c == "text/event-stream")
    {
        return (status, Value::Null);
    }
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn not_found(what: &str, (status, body): &(u16, Value)) {
    assert_eq!(*status, 404, "{what}: {body}");
    assert_eq!(body["error"]["code"], -32600, "{what}: {body}");
    assert_eq!(body["error"]["message"], "Session not found", "{what}");
}

fn unauthenticated(what: &str, (status, body): &(u16, Value)) {
    assert_eq!(*status, 401, "{what}: {body}");
    assert_eq!(body["error"]["code"], -32001, "{what}: {body}");
}

/// Everything `intruder` tries on `owner`'s session fails as a forged id does, and reaches no
/// upstream; the owner's own session keeps working.
async fn another_caller_cannot_use_the_session<A: Authenticator>(
    auth: A,
    owner: &str,
    intruder: &str,
) {
    let gw = gateway(auth);
    let send = |req: Request| gw.front.clone().oneshot(req);
    let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {"elicitation": {}},
        "clientInfo": {"name": "t", "version": "1"}}});
    let res = send(post(&init, None, Some(owner))).await.unwrap();
    assert_eq!(res.status(), 200);
    let session = res.headers()["mcp-session-id"].to_str().unwrap().to_owned();
    let s = Some(session.as_str());
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let (status, _) = answer(send(post(&initialized, s, Some(owner))).await.unwrap()).await;
    assert_eq!(status, 202);

    // The owner's call is in flight, streaming: its log event arrived.
    let call =
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "slow"}});
    let res = send(post(&call, s, Some(owner))).await.unwrap();
    let mut stream = res.into_body();
    let _priming = stream.frame().await.unwrap().unwrap().into_data().unwrap();
    let log = stream.frame().await.unwrap().unwrap().into_data().unwrap();
    let log_id = frame_id(&log);
    assert!(!log_id.is_empty());
    let upstream_calls = gw.calls.load(Ordering::SeqCst);

    // The intruder, with a valid credential of its own, on the owner's session.
    let forged = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let other_call =
        json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "quick"}});
    let forged_answer = answer(
        send(post(&other_call, Some(forged), Some(intruder)))
            .await
            .unwrap(),
    )
    .await;
    not_found("a forged id", &forged_answer);
    let stolen = answer(send(post(&other_call, s, Some(intruder))).await.unwrap()).await;
    not_found("call", &stolen);
    assert_eq!(stolen, forged_answer, "indistinguishable from a forged id");
    let ping = json!({"jsonrpc": "2.0", "id": 8, "method": "ping"});
    not_found(
        "ping",
        &answer(send(post(&ping, s, Some(intruder))).await.unwrap()).await,
    );
    let cancel = json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": {"requestId": 1, "reason": "not yours"}});
    not_found(
        "cancel",
        &answer(send(post(&cancel, s, Some(intruder))).await.unwrap()).await,
    );
    let subscribe = json!({"jsonrpc": "2.0", "id": 9, "method": "resources/subscribe",
        "params": {"uri": "file:///a"}});
    not_found(
        "subscribe",
        &answer(send(post(&subscribe, s, Some(intruder))).await.unwrap()).await,
    );
    let reply = json!({"jsonrpc": "2.0", "id": "gw-1", "result": {"action": "accept"}});
    not_found(
        "client answer",
        &answer(send(post(&reply, s, Some(intruder))).await.unwrap()).await,
    );
    not_found(
        "GET stream",
        &answer(send(get(&session, None, Some(intruder))).await.unwrap()).await,
    );
    let resume = answer(
        send(get(&session, Some(&log_id), Some(intruder)))
            .await
            .unwrap(),
    )
    .await;
    not_found("resume", &resume);
    not_found(
        "DELETE",
        &answer(send(delete(&session, Some(intruder))).await.unwrap()).await,
    );

    // Without a credential: 401, like any request.
    for (what, req) in [
        ("call", post(&other_call, s, None)),
        ("cancel", post(&cancel, s, None)),
        ("client answer", post(&reply, s, None)),
        ("resume", get(&session, Some(&log_id), None)),
        ("DELETE", delete(&session, None)),
    ] {
        unauthenticated(what, &answer(send(req).await.unwrap()).await);
    }
    assert_eq!(
        gw.calls.load(Ordering::SeqCst),
        upstream_calls,
        "no attempt reached the upstream"
    );

    // The owner's call was not cancelled: released, it answers.
    gw.release.add_permits(1);
    let rest = stream.collect().await.unwrap().to_bytes();
    let rest = std::str::from_utf8(&rest).unwrap();
    assert!(rest.contains("after") && !rest.contains("-32800"), "{rest}");
    // The owner resumes its own stream; its session was not ended.
    let res = send(get(&session, Some(&log_id), Some(owner)))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let replay = res.into_body().collect().await.unwrap().to_bytes();
    assert!(std::str::from_utf8(&replay).unwrap().contains("after"));
    let (status, body) = answer(send(post(&ping, s, Some(owner))).await.unwrap()).await;
    assert_eq!((status, &body["result"]), (200, &json!({})), "{body}");
    let (status, _) = answer(send(post(&cancel, s, Some(owner))).await.unwrap()).await;
    assert_eq!(status, 202, "the owner may cancel (nothing left to cancel)");
    // The owner ends it; then it is gone for the owner too.
    let (status, _) = answer(send(delete(&session, Some(owner))).await.unwrap()).await;
    assert_eq!(status, 200);
    not_found(
        "after DELETE",
        &answer(send(post(&ping, s, Some(owner))).await.unwrap()).await,
    );
}

fn keys() -> ApiKeys {
    ApiKeys::new()
        .with_key(Secret::new(ALICE_KEY.to_owned()), Principal::new("alice"))
        .with_key(Secret::new(BOB_KEY.to_owned()), Principal::new("bob"))
}

#[tokio::test]
async fn two_api_keys() {
    another_caller_cannot_use_the_session(keys(), ALICE_KEY, BOB_KEY).await;
    another_caller_cannot_use_the_session(keys(), BOB_KEY, ALICE_KEY).await;
}

#[tokio::test]
async fn the_same_subject_through_another_authenticator() {
    // The JWT's `sub` is the API key's subject (`alice`): still another caller, both ways.
    another_caller_cannot_use_the_session((keys(), JwtLike), ALICE_JWT, ALICE_KEY).await;
    another_caller_cannot_use_the_session((keys(), JwtLike), ALICE_KEY, ALICE_JWT).await;
}
