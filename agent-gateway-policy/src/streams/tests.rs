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

/// Reads a response's status line from a raw socket.
async fn status_of(addr: std::net::SocketAddr, key: &str) -> (u16, tokio::net::TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let req = format!("GET /stream HTTP/1.1\r\nHost: localhost\r\nx-api-key: {key}\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("write");
    let mut head = [0u8; 12];
    s.read_exact(&mut head).await.expect("status line");
    let status = std::str::from_utf8(&head[9..12])
        .expect("ascii")
        .parse()
        .expect("a status");
    (status, s)
}

#[tokio::test]
async fn over_a_real_listener_the_n_plus_first_stream_gets_429_while_another_caller_streams() {
    use agent_gateway_core::server::{ServerLimits, serve};
    let layer = StreamLimitLayer::new(2, render as fn(&_, &_) -> _);
    let app = ServiceBuilder::new()
        .map_request(|req: Request<_>| req.map(|_| ()))
        .layer(PreAuthLayer::new(&auth(), |head: &_, denied: &_| {
            render(head, denied).map(super::LimitedBody::uncounted)
        }))
        .layer(layer.clone())
        .service(service_fn(|_: Request<()>| async {
            let mut res = Response::new(StreamBody::new(futures_util::stream::pending()));
            res.headers_mut()
                .insert("content-type", "text/event-stream".parse().expect("value"));
            Ok::<_, Infallible>(res)
        }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(serve(
        listener,
        app,
        ServerLimits::new(),
        std::future::pending(),
    ));
    let alice = "sk-alice-0123456789";
    let (first, _s1) = status_of(addr, alice).await;
    let (second, _s2) = status_of(addr, alice).await;
    assert_eq!((first, second), (200, 200));
    let (third, _s3) = status_of(addr, alice).await;
    assert_eq!(third, 429);
    // Bob still opens his stream while alice's two stay open.
    let (bob, _s4) = status_of(addr, "sk-bob-0123456789ab").await;
    assert_eq!(bob, 200);
    assert_eq!(layer.open(), 3);
}
