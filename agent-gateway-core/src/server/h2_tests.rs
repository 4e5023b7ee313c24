//! `serve` over HTTP/2 with prior knowledge: many streams on one connection, the stream cap in
//! the server's SETTINGS, idle and silent connections closed, and HTTP/2 turned off.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use super::PREFACE;
use crate::server::{PeerAddr, ServerLimits, TimedBody, serve};

/// How long a test waits for what must happen; far above what it takes.
const BOUND: Duration = Duration::from_secs(30);

/// An answer of the echo service.
type Echoed = Response<Full<Bytes>>;

/// A service that answers every request with its path and the client's address.
fn echo() -> impl tower::Service<
    Request<TimedBody<Incoming>>,
    Response = Echoed,
    Error = Infallible,
    Future = std::future::Ready<Result<Echoed, Infallible>>,
> + Clone {
    tower::service_fn(|req: Request<TimedBody<Incoming>>| {
        let peer = req
            .extensions()
            .get::<PeerAddr>()
            .map(|p| p.ip().to_string());
        let text = format!("{} from {}", req.uri().path(), peer.unwrap_or_default());
        std::future::ready(Ok(Response::new(Full::new(Bytes::from(text)))))
    })
}

/// Starts `serve` with `limits` on a loopback port; returns its address and its stop switch.
async fn start(limits: ServerLimits) -> (std::net::SocketAddr, oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(serve(listener, echo(), limits, async move {
        let _ = stopped.await;
    }));
    (addr, stop)
}

#[tokio::test]
async fn an_http2_client_runs_many_requests_at_once_on_one_connection() {
    let (addr, _stop) = start(ServerLimits::new()).await;
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let (send, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .expect("handshake");
    tokio::spawn(conn);
    let calls = (0..20).map(|i| {
        let mut send = send.clone();
        async move {
            let req = Request::get(format!("http://gateway.test/call/{i}"))
                .body(Empty::<Bytes>::new())
                .expect("request");
            let res = send.send_request(req).await.expect("response");
            assert_eq!(res.version(), http::Version::HTTP_2);
            let body = res.into_body().collect().await.expect("body").to_bytes();
            String::from_utf8(body.to_vec()).expect("utf-8")
        }
    });
    let answers = tokio::time::timeout(BOUND, futures_util::future::join_all(calls))
        .await
        .expect("answered");
    let expected: Vec<String> = (0..20)
        .map(|i| format!("/call/{i} from 127.0.0.1"))
        .collect();
    assert_eq!(
        answers, expected,
        "each request answered on its own stream, with its peer"
    );
}

#[tokio::test]
async fn the_stream_cap_is_announced_in_the_servers_settings() {
    let limits = ServerLimits::new().with_max_concurrent_streams(3.try_into().expect("nonzero"));
    let (addr, _stop) = start(limits).await;
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let (client, conn) = h2::client::handshake(tcp).await.expect("handshake");
    tokio::spawn(conn);
    let mut client = client.ready().await.expect("ready");
    // One exchange, so the server's SETTINGS have arrived.
    let (answer, _) = client
        .send_request(
            Request::get("http://gateway.test/one")
                .body(())
                .expect("request"),
            true,
        )
        .expect("sent");
    let answer = tokio::time::timeout(BOUND, answer)
        .await
        .expect("in time")
        .expect("answer");
    assert_eq!(answer.status(), http::StatusCode::OK);
    assert_eq!(client.current_max_send_streams(), 3);
}

#[tokio::test]
async fn an_idle_http2_connection_is_closed_and_a_silent_preface_too() {
    let limits = ServerLimits::new().with_header_read_timeout(Duration::from_millis(300));
    let (addr, _stop) = start(limits).await;

    // Idle: one request, then nothing; the server says GOAWAY and the connection ends.
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let (mut send, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .expect("handshake");
    let conn = tokio::spawn(conn);
    let req = Request::get("http://gateway.test/once")
        .body(Empty::<Bytes>::new())
        .expect("req");
    let res = send.send_request(req).await.expect("response");
    assert_eq!(res.status(), http::StatusCode::OK);
    drop(res);
    let ended = tokio::time::timeout(BOUND, conn)
        .await
        .expect("the server closed it");
    assert!(ended.expect("task").is_ok(), "a graceful close");

    // Silent: half a preface, then nothing; the server closes without answering.
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    tcp.write_all(&PREFACE[..9]).await.expect("write");
    let mut rest = Vec::new();
    let read = tokio::time::timeout(BOUND, tcp.read_to_end(&mut rest))
        .await
        .expect("closed");
    assert!(
        read.is_ok_and(|n| n == 0),
        "closed with nothing sent back: {rest:?}"
    );
}

#[tokio::test]
async fn with_http2_off_a_prior_knowledge_client_is_refused_and_http1_still_served() {
    let (addr, _stop) = start(ServerLimits::new().with_http2(false)).await;
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let refused = async {
        let (mut send, conn) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp)).await?;
        tokio::spawn(conn);
        let req = Request::get("http://gateway.test/")
            .body(Empty::<Bytes>::new())
            .expect("req");
        send.send_request(req).await
    };
    let refused = tokio::time::timeout(BOUND, refused).await.expect("in time");
    assert!(refused.is_err(), "no HTTP/2 answer: {refused:?}");

    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    tcp.write_all(b"GET /plain HTTP/1.1\r\nhost: gateway.test\r\nconnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut answer = String::new();
    tokio::time::timeout(BOUND, tcp.read_to_string(&mut answer))
        .await
        .expect("in time")
        .expect("read");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("/plain from 127.0.0.1"), "{answer}");
}

#[tokio::test]
async fn a_stream_held_open_longer_than_the_idle_timeout_stays_open() {
    let idle = Duration::from_millis(200);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (frames_tx, frames_rx) = tokio::sync::mpsc::channel::<Bytes>(1);
    let frames_rx = std::sync::Arc::new(tokio::sync::Mutex::new(Some(frames_rx)));
    let service = tower::service_fn(move |_req: Request<TimedBody<Incoming>>| {
        let frames_rx = std::sync::Arc::clone(&frames_rx);
        async move {
            let rx = frames_rx.lock().await.take().expect("one request");
            let frames = futures_util::stream::unfold(rx, |mut rx| async move {
                let data = rx.recv().await?;
                Some((Ok::<_, Infallible>(http_body::Frame::data(data)), rx))
            });
            Ok::<_, Infallible>(Response::new(http_body_util::StreamBody::new(frames)))
        }
    });
    let limits = ServerLimits::new().with_header_read_timeout(idle);
    tokio::spawn(serve(listener, service, limits, std::future::pending()));

    let tcp = TcpStream::connect(addr).await.expect("connect");
    let (mut send, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .expect("handshake");
    tokio::spawn(conn);
    let req = Request::get("http://gateway.test/events")
        .body(Empty::<Bytes>::new())
        .expect("req");
    let mut body = send.send_request(req).await.expect("response").into_body();
    // What this test is about: time passing with a stream open and quiet. Three idle timeouts
    // go by; the connection must not be closed under the open stream.
    tokio::time::sleep(idle * 3).await;
    frames_tx
        .send(Bytes::from_static(b"data: late\n\n"))
        .await
        .expect("still open");
    let frame = tokio::time::timeout(BOUND, body.frame())
        .await
        .expect("in time");
    let data = frame
        .expect("a frame")
        .expect("no error")
        .into_data()
        .expect("data");
    assert_eq!(data, Bytes::from_static(b"data: late\n\n"));
}
