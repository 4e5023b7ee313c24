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
