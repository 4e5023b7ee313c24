use std::convert::Infallible;
use std::num::NonZeroU64;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use agent_gateway_core::store::{MemoryStore, Rate};
use agent_gateway_core::{Denied, PeerAddr, Secret};
use http::{Request, Response, StatusCode};
use tower::{Service, ServiceExt, service_fn};

use super::Authenticated;
use crate::auth::{ApiKeys, AuthLayer, AuthMode, PreAuthLayer, Principal};

const KEY: &str = "sk-alice-5f1c0d9a7e3b4c2a";

fn render(_: &http::request::Parts, denied: &Denied) -> Response<String> {
    let mut res = Response::new(denied.message().to_owned());
    *res.status_mut() = denied.http_status();
    if let Some(after) = denied.retry_after_header() {
        res.headers_mut().insert(http::header::RETRY_AFTER, after);
    }
    res
}

/// A pre-auth stack whose inner service counts its calls and answers with the caller.
fn stack(
    layer: PreAuthLayer<ApiKeys, Render>,
) -> (
    impl Service<Request<String>, Response = Response<String>, Error = Infallible> + Clone,
    Arc<AtomicUsize>,
) {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&calls);
    let svc = tower::ServiceBuilder::new()
        .layer(layer)
        .service(service_fn(move |req: Request<String>| {
            seen.fetch_add(1, Ordering::SeqCst);
            let who = req
                .extensions()
                .get::<Authenticated>()
                .map(|a| a.caller().principal_id().to_owned())
                .unwrap_or_default();
            async move { Ok::<_, Infallible>(Response::new(who)) }
        }));
    (svc, calls)
}

fn auth() -> AuthLayer<ApiKeys> {
    AuthLayer::new(ApiKeys::new().with_key(Secret::new(KEY.to_owned()), Principal::new("alice")))
}

fn request(key: Option<&str>, ip: &str) -> Request<String> {
    let mut req = Request::post("/mcp").body("{".to_owned()).expect("request");
    if let Some(key) = key {
        req.headers_mut()
            .insert("x-api-key", key.parse().expect("header"));
    }
    let ip: std::net::IpAddr = ip.parse().expect("address");
    req.extensions_mut()
        .insert(PeerAddr(std::net::SocketAddr::new(ip, 40000)));
    req
}

type Render = fn(&http::request::Parts, &Denied) -> Response<String>;

const RENDER: Render = render;

#[tokio::test]
async fn refuses_before_the_inner_service_and_hands_the_caller_on() {
    let (svc, calls) = stack(PreAuthLayer::new(&auth(), RENDER));
    let res = svc
        .clone()
        .oneshot(request(None, "192.0.2.1"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = svc
        .clone()
        .oneshot(request(Some("sk-wrong"), "192.0.2.1"))
        .await
        .unwrap();
    assert_eq!(
        (res.status(), res.body().as_str()),
        (StatusCode::UNAUTHORIZED, "invalid credential")
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    let res = svc.oneshot(request(Some(KEY), "192.0.2.1")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.body(), "api_key:::alice");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_auth_layer_uses_the_established_caller() {
    use agent_gateway_core::{Action, AgentRequest, Call};
    // An Auth layer with no keys at all admits a request that pre-auth admitted.
    let layer = AuthLayer::new(ApiKeys::new());
    let mut call = Call::new(Action::ToolCall, serde_json::json!({}));
    call.extensions_mut()
        .insert(Authenticated(agent_gateway_core::Caller::new("alice")));
    let inner = service_fn(|call: Call| async move {
        Ok::<_, agent_gateway_core::BoxError>(call.caller().map(|c| c.subject().to_owned()))
    });
    let who = tower::ServiceBuilder::new()
        .layer(layer.clone())
        .service(inner)
        .oneshot(call)
        .await
        .expect("admitted");
    assert_eq!(who.as_deref(), Some("alice"));
    // Without it, the same layer refuses.
    let bare = Call::new(Action::ToolCall, serde_json::json!({}));
    assert!(
        tower::ServiceBuilder::new()
            .layer(layer)
            .service(inner)
            .oneshot(bare)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn unauthenticated_requests_are_limited_per_address_and_callers_are_not() {
    let rate = Rate::per_minute(NonZeroU64::new(3).expect("non-zero"));
    let layer =
        PreAuthLayer::new(&auth(), RENDER).with_unauthenticated_limit(MemoryStore::new(), rate);
    let (svc, calls) = stack(layer);
    for _ in 0..3 {
        let res = svc
            .clone()
            .oneshot(request(Some("garbage"), "192.0.2.1"))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = svc
        .clone()
        .oneshot(request(None, "192.0.2.1"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key(http::header::RETRY_AFTER));
    // Another address still gets its 401, and a caller from the limited address is served.
    let res = svc
        .clone()
        .oneshot(request(None, "192.0.2.2"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = svc
        .clone()
        .oneshot(request(Some(KEY), "192.0.2.1"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // Optional mode: anonymous traffic counts against the same limit.
    let optional = PreAuthLayer::new(&auth().with_mode(AuthMode::Optional), RENDER)
        .with_unauthenticated_limit(MemoryStore::new(), rate);
    let (anon, _) = stack(optional);
    for _ in 0..3 {
        let res = anon
            .clone()
            .oneshot(request(None, "2001:db8::1"))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
    // Same /64, another host: the same bucket.
    let res = anon.oneshot(request(None, "2001:db8::2")).await.unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn two_different_credentials_are_refused_before_the_body() {
    let (svc, calls) = stack(PreAuthLayer::new(&auth(), RENDER).without_unauthenticated_limit());
    let mut req = request(Some(KEY), "192.0.2.1");
    req.headers_mut()
        .insert("authorization", "Bearer sk-other".parse().expect("header"));
    let res = svc.oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}
