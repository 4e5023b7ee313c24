use std::convert::Infallible;
use std::time::Duration;

use agent_gateway_core::{Denied, Secret};
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, StreamBody};
use tower::{ServiceBuilder, ServiceExt, service_fn};

use super::StreamLimitLayer;
use crate::auth::{ApiKeys, AuthLayer, PreAuthLayer, Principal};

type Frames =
    StreamBody<futures_util::stream::Pending<Result<http_body::Frame<Bytes>, Infallible>>>;

fn render(_: &http::request::Parts, d: &Denied) -> Response<Frames> {
    let mut res = Response::new(StreamBody::new(futures_util::stream::pending()));
    *res.status_mut() = d.http_status();
    res
}

fn auth() -> AuthLayer<ApiKeys> {
    AuthLayer::new(
        ApiKeys::new()
            .with_key(
                Secret::new("sk-alice-0123456789".into()),
                Principal::new("alice"),
            )
            .with_key(
                Secret::new("sk-bob-0123456789ab".into()),
                Principal::new("bob"),
            ),
    )
}

/// A route whose every answer is an event stream that never ends by itself.
fn route(
    limit: StreamLimitLayer<fn(&http::request::Parts, &Denied) -> Response<Frames>>,
) -> impl tower::Service<
    Request<()>,
    Response = Response<super::LimitedBody<Frames>>,
    Error = Infallible,
> + Clone {
    ServiceBuilder::new()
        .layer(PreAuthLayer::new(&auth(), |head: &_, denied: &_| {
            render(head, denied).map(super::LimitedBody::uncounted)
        }))
        .layer(limit)
        .service(service_fn(|_: Request<()>| async {
            let mut res = Response::new(StreamBody::new(futures_util::stream::pending()));
            res.headers_mut()
                .insert("content-type", "text/event-stream".parse().expect("value"));
            Ok::<_, Infallible>(res)
        }))
}

fn req(key: &str) -> Request<()> {
    Request::get("/stream")
        .header("x-api-key", key)
        .body(())
        .expect("request")
}

#[tokio::test]
async fn the_n_plus_first_stream_is_refused_while_another_caller_still_streams() {
    let layer = StreamLimitLayer::new(2, render as fn(&_, &_) -> _);
    let svc = route(layer.clone());
    let a1 = svc
        .clone()
        .oneshot(req("sk-alice-0123456789"))
        .await
        .unwrap();
    let a2 = svc
        .clone()
        .oneshot(req("sk-alice-0123456789"))
        .await
        .unwrap();
    assert_eq!((a1.status(), a2.status()), (StatusCode::OK, StatusCode::OK));
    let a3 = svc
        .clone()
        .oneshot(req("sk-alice-0123456789"))
        .await
        .unwrap();
    assert_eq!(a3.status(), StatusCode::TOO_MANY_REQUESTS);
    let b1 = svc
        .clone()
        .oneshot(req("sk-bob-0123456789ab"))
        .await
        .unwrap();
    assert_eq!(b1.status(), StatusCode::OK);
    assert_eq!(layer.open(), 3);
    drop(a1);
    assert_eq!(layer.open(), 2);
    let a4 = svc.oneshot(req("sk-alice-0123456789")).await.unwrap();
    assert_eq!(a4.status(), StatusCode::OK);
    drop((a2, a4, b1));
    assert_eq!(layer.open(), 0);
}

#[tokio::test(start_paused = true)]
async fn an_event_stream_ends_cleanly_at_its_maximum_lifetime() {
    let layer = StreamLimitLayer::new(2, render as fn(&_, &_) -> _)
        .with_max_lifetime(Duration::from_secs(30));
    let svc = route(layer.clone());
    let res = svc.oneshot(req("sk-alice-0123456789")).await.unwrap();
    let started = tokio::time::Instant::now();
    // The upstream never ends the stream; the gateway does, cleanly (no error), at 30 s.
    let body = res.into_body().collect().await.expect("a clean end");
    assert!(body.to_bytes().is_empty());
    let lasted = started.elapsed();
    assert!(
        lasted >= Duration::from_secs(30) && lasted < Duration::from_secs(31),
        "{lasted:?}"
    );
    assert_eq!(layer.open(), 0);
}
