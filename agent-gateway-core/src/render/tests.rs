use std::time::Duration;

use http::Request;
use http_body_util::{BodyExt, Full};
use serde_json::Value;
use tower::{ServiceBuilder, ServiceExt};

use super::*;

async fn render(err: BoxError) -> (Response<GatewayBody>, Value) {
    let err = std::sync::Mutex::new(Some(err));
    let svc = ServiceBuilder::new()
        .layer(
            RenderDeniedLayer::new().with_www_authenticate(HeaderValue::from_static(
                "Bearer resource_metadata=\"https://x/m\"",
            )),
        )
        .service_fn(move |_: Request<()>| {
            let err = err.lock().ok().and_then(|mut e| e.take());
            async move {
                match err {
                    Some(err) => Err(err),
                    None => Ok(Response::new(Full::new(Bytes::from("{}")))),
                }
            }
        });
    let res = svc.oneshot(Request::new(())).await.expect("infallible");
    let (parts, body) = res.into_parts();
    let bytes = body.collect().await.expect("body").to_bytes();
    let json = serde_json::from_slice(&bytes).expect("json");
    (Response::from_parts(parts, GatewayBody::empty()), json)
}

#[tokio::test]
async fn each_denial_renders_its_status_and_headers() {
    let (res, json) = render(Box::new(Denied::quota_exceeded(Duration::from_millis(
        1500,
    ))))
    .await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(res.headers()[RETRY_AFTER], "2");
    assert!(res.headers().get(WWW_AUTHENTICATE).is_none());
    assert_eq!(json["error"]["type"], "quota_exceeded");

    let (res, json) = render(Box::new(Denied::unauthenticated("who?"))).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        res.headers()[WWW_AUTHENTICATE],
        "Bearer resource_metadata=\"https://x/m\""
    );
    assert!(res.headers().get(RETRY_AFTER).is_none());
    assert_eq!(json["error"]["message"], "who?");

    let (res, json) = render(Box::new(Denied::forbidden("no").with_rule("r1"))).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(res.headers()[CONTENT_TYPE], "application/json");
    assert_eq!(json["error"]["rule"], "r1");
}

#[tokio::test]
async fn other_errors_are_a_500_that_leaks_nothing() {
    let (res, json) = render(BoxError::from("db password is hunter2")).await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(json["error"]["type"], "internal");
    assert!(!json.to_string().contains("hunter2"));
}

/// What the layer is for: a policy check returning `Denied` mounted on plain axum routes with
/// `Router::layer`, which needs `Error = Infallible`.
#[tokio::test]
async fn a_denying_layer_mounts_on_an_axum_router() {
    use axum::body::Body;
    use axum::routing::get;
    use tower::layer::layer_fn;

    let check = layer_fn(|inner: axum::routing::Route| {
        tower::service_fn(move |req: Request<Body>| {
            let inner = inner.clone();
            async move {
                if !req.headers().contains_key("authorization") {
                    return Err(BoxError::from(Denied::unauthenticated("no credential")));
                }
                inner.oneshot(req).await.map_err(BoxError::from)
            }
        })
    });
    let app = axum::Router::new()
        .route("/hello", get(|| async { "hello" }))
        .layer(
            ServiceBuilder::new()
                .layer(RenderDeniedLayer::new())
                .layer(check),
        );
    let allowed = Request::get("/hello")
        .header("authorization", "Bearer t")
        .body(Body::empty())
        .expect("request");
    let res = app.clone().oneshot(allowed).await.expect("infallible");
    assert_eq!(res.status(), StatusCode::OK);
    let body = res.into_body().collect().await.expect("body").to_bytes();
    assert_eq!(body, "hello");
    let denied = Request::get("/hello").body(Body::empty()).expect("request");
    let res = app.oneshot(denied).await.expect("infallible");
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.headers()[WWW_AUTHENTICATE], "Bearer");
}

/// A service that is never ready: its readiness error is rendered, and it is never called.
#[derive(Clone)]
struct Broken;

impl Service<Request<()>> for Broken {
    type Response = Response<Full<Bytes>>;
    type Error = BoxError;
    type Future = std::future::Ready<Result<Response<Full<Bytes>>, BoxError>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Err(Box::new(Denied::unavailable("store down"))))
    }

    fn call(&mut self, _: Request<()>) -> Self::Future {
        unreachable!("called without being ready")
    }
}

#[tokio::test]
async fn a_readiness_error_is_rendered_without_calling_the_inner_service() {
    let res = RenderDenied::new(Broken)
        .oneshot(Request::new(()))
        .await
        .expect("infallible");
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
}
