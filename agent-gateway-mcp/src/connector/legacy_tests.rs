//! The legacy sessions' table: slow handshakes, owners' shares, and keys.

use super::*;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};

use http::{Response, Uri};
use http_body_util::BodyExt;
use http_body_util::combinators::BoxBody;
use tower::ServiceExt;

type HttpSvc = tower::util::BoxCloneSyncService<
    Request<Full<Bytes>>,
    Response<BoxBody<Bytes, Infallible>>,
    Infallible,
>;

/// A legacy server whose `initialize` for a client declaring `slow` waits for `release`.
fn slow_initialize(release: Arc<tokio::sync::Notify>) -> HttpSvc {
    let opened = Arc::new(AtomicUsize::new(0));
    HttpSvc::new(tower::service_fn(move |req: Request<Full<Bytes>>| {
        let (release, opened) = (release.clone(), opened.clone());
        async move {
            let body = req.into_body().collect().await.unwrap().to_bytes();
            let body: Value = serde_json::from_slice(&body).unwrap();
            let mut res = match body["method"].as_str() {
                Some("initialize") => {
                    if body["params"]["capabilities"].get("slow").is_some() {
                        release.notified().await;
                    }
                    let n = opened.fetch_add(1, Ordering::SeqCst);
                    let result = json!({"jsonrpc": "2.0", "id": body["id"], "result": {
                        "protocolVersion": "2025-06-18", "capabilities": {},
                        "serverInfo": {"name": "s", "version": "1"}}});
                    let mut res = Response::new(Full::new(Bytes::from(result.to_string())).boxed());
                    res.headers_mut().insert(
                        "mcp-session-id",
                        HeaderValue::from_str(&format!("s{n}")).unwrap(),
                    );
                    res
                }
                Some("tools/list") => Response::new(
                    Full::new(Bytes::from(
                        json!({"jsonrpc": "2.0", "id": body["id"], "result": {"tools": []}})
                            .to_string(),
                    ))
                    .boxed(),
                ),
                _ => {
                    let mut res = Response::new(Full::new(Bytes::new()).boxed());
                    *res.status_mut() = StatusCode::ACCEPTED;
                    return Ok::<_, Infallible>(res);
                }
            };
            res.headers_mut()
                .insert("content-type", HeaderValue::from_static("application/json"));
            Ok::<_, Infallible>(res)
        }
    }))
}

#[tokio::test(start_paused = true)]
async fn a_slow_initialize_stalls_no_other_session() {
    let release = Arc::new(tokio::sync::Notify::new());
    let up = HttpUpstream::new(
        slow_initialize(release.clone()),
        Uri::from_static("http://old.test/mcp"),
    )
    .with_era(crate::era::Era::Legacy);
    let list =
        |hop: ClientHop| UpstreamRequest::new("tools/list", Map::new()).with_client(Some(hop));
    let alice = ClientHop::new(json!({}), None).with_session("alice");
    up.clone().oneshot(list(alice.clone())).await.unwrap();
    // Bob's handshake hangs...
    let bob = ClientHop::new(json!({"slow": {}}), None).with_session("bob");
    let stuck = tokio::spawn(up.clone().oneshot(list(bob)));
    tokio::task::yield_now().await;
    // ...and Alice, on her open session, is answered at once, with no time passing.
    let before = Instant::now();
    let answered = tokio::time::timeout(Duration::from_secs(1), up.clone().oneshot(list(alice)));
    answered
        .await
        .expect("not stalled by bob's handshake")
        .unwrap();
    assert_eq!(before.elapsed(), Duration::ZERO);
    assert!(!stuck.is_finished());
    release.notify_one();
    stuck.await.unwrap().unwrap();
    assert_eq!(up.open_sessions().await, 2);
}

#[tokio::test(start_paused = true)]
async fn a_caller_over_its_share_of_upstream_sessions_pushes_out_only_its_own() {
    let release = Arc::new(tokio::sync::Notify::new());
    let up = HttpUpstream::new(
        slow_initialize(release),
        Uri::from_static("http://old.test/mcp"),
    )
    .with_era(crate::era::Era::Legacy)
    .with_sessions(Duration::from_secs(600), 16);
    let hop = |owner: &str, session: String| {
        ClientHop::new(json!({}), None)
            .with_session(session)
            .with_owner(Some(Owner::of(&agent_gateway_core::Caller::new(owner))))
    };
    let list =
        |hop: ClientHop| UpstreamRequest::new("tools/list", Map::new()).with_client(Some(hop));
    up.clone()
        .oneshot(list(hop("bob", "b0".into())))
        .await
        .unwrap();
    tokio::time::advance(Duration::from_secs(1)).await;
    // Alice opens many sessions: she holds at most her share (16 / 8 = 2).
    for i in 0..10 {
        up.clone()
            .oneshot(list(hop("alice", format!("a{i}"))))
            .await
            .unwrap();
        tokio::time::advance(Duration::from_secs(1)).await;
    }
    assert_eq!(up.open_sessions().await, 3, "alice's 2 and bob's");
    let state = up.shared.state.lock().await;
    assert!(
        state.sessions.contains_key(&Some(Arc::from("b0"))),
        "bob's session stays"
    );
    assert!(state.sessions.contains_key(&Some(Arc::from("a9"))));
    assert!(state.sessions.contains_key(&Some(Arc::from("a8"))));
}

#[test]
fn capability_keys_are_bounded_digests() {
    let big = json!({"sampling": {"x": "y".repeat(1 << 20)}, "roots": {}});
    let hop = ClientHop::new(big.clone(), None);
    let key = session_key(&hop).unwrap();
    assert!(key.len() < 64, "{key}");
    assert!(!key.contains("yyy"));
    // Every large set with the same names shares one key: a few shapes, not one per client.
    let other = json!({"sampling": {"x": "z".repeat(1 << 20)}, "roots": {}});
    assert_eq!(session_key(&ClientHop::new(other, None)), Some(key));
    assert_eq!(
        bounded_capabilities(&big),
        json!({"sampling": {}, "roots": {}})
    );
    let small = json!({"sampling": {}});
    assert_eq!(bounded_capabilities(&small), small);
    assert_ne!(session_key(&ClientHop::new(small, None)), session_key(&hop));
    assert_eq!(session_key(&ClientHop::new(json!({}), None)), None);
}

#[test]
fn no_shared_session_key_spans_two_owners() {
    let owner = |name: &str| Some(Owner::of(&agent_gateway_core::Caller::new(name)));
    let caps = json!({"roots": {}});
    let alice = ClientHop::new(caps.clone(), None).with_owner(owner("alice"));
    let bob = ClientHop::new(caps.clone(), None).with_owner(owner("bob"));
    // The same capabilities, two callers: two sessions. The same caller: one.
    assert_ne!(session_key(&alice), session_key(&bob));
    assert_eq!(session_key(&alice), session_key(&alice.clone()));
    assert_ne!(
        session_key(&alice),
        session_key(&ClientHop::new(caps, None))
    );
    // Even a caller that declared nothing has a session of its own, not the anonymous one.
    let quiet = ClientHop::default().with_owner(owner("alice"));
    assert!(session_key(&quiet).is_some());
    assert_ne!(
        session_key(&quiet),
        session_key(&ClientHop::default().with_owner(owner("bob")))
    );
    // The key names neither the caller nor its capabilities.
    assert!(!session_key(&alice).unwrap().contains("alice"));
}
