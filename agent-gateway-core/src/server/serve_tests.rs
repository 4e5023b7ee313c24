//! `serve` on a kept-alive connection: streamed responses flush frame by frame, and the
//! accepted socket sets `TCP_NODELAY` (the stall of #18 is Nagle meeting delayed ACKs).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Mutex;

use bytes::Bytes;
use http::{Request, Response};
use http_body::Frame;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty, StreamBody};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};

use super::serve;
use crate::server::{ServerLimits, TimedBody};

/// Every socket `serve` accepted in this test binary: its client address and whether it had
/// `TCP_NODELAY` once set up.
static ACCEPTED: Mutex<Vec<(SocketAddr, bool)>> = Mutex::new(Vec::new());

/// The hook `accepted` calls: records the socket as it is after setup.
pub(super) fn observe(tcp: &TcpStream) {
    if let (Ok(peer), Ok(nodelay)) = (tcp.peer_addr(), tcp.nodelay()) {
        ACCEPTED.lock().expect("not poisoned").push((peer, nodelay));
    }
}

type Streamed = Response<UnsyncBoxBody<Bytes, Infallible>>;

/// A service whose every response is a stream the test writes, frame by frame.
fn streaming(
    handles: mpsc::UnboundedSender<mpsc::Sender<Bytes>>,
) -> impl tower::Service<
    Request<TimedBody<Incoming>>,
    Response = Streamed,
    Error = Infallible,
    Future = std::future::Ready<Result<Streamed, Infallible>>,
> + Clone {
    tower::service_fn(move |_req: Request<TimedBody<Incoming>>| {
        let (tx, rx) = mpsc::channel::<Bytes>(1);
        let _ = handles.send(tx);
        let frames = futures_util::stream::unfold(rx, |mut rx| async move {
            let data = rx.recv().await?;
            Some((Ok::<_, Infallible>(Frame::data(data)), rx))
        });
        let body = StreamBody::new(frames).boxed_unsync();
        let response = Response::builder()
            .header("content-type", "text/event-stream")
            .body(body)
            .expect("static response");
        std::future::ready(Ok(response))
    })
}

#[tokio::test]
async fn a_kept_alive_client_gets_three_streams_each_frame_flushed_on_a_nodelay_socket() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (handles, mut streams) = mpsc::unbounded_channel();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(serve(
        listener,
        streaming(handles),
        ServerLimits::new(),
        async move {
            let _ = stopped.await;
        },
    ));

    let tcp = TcpStream::connect(addr).await.expect("connect");
    let client_addr = tcp.local_addr().expect("client addr");
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .expect("handshake");
    tokio::spawn(conn);

    for round in 0..3 {
        let req = Request::get("/events")
            .header("host", "gateway.test")
            .body(Empty::<Bytes>::new())
            .expect("request");
        let responding = send.send_request(req);
        let frames = streams.recv().await.expect("the service was called");
        let mut body = responding.await.expect("response head").into_body();
        // Each frame reaches the client while the stream is still open: the server flushes
        // it rather than holding it for the next one or for the end of the body.
        for n in 0..3 {
            let sent = Bytes::from(format!("data: {round}.{n}\n\n"));
            frames.send(sent.clone()).await.expect("client reading");
            let got = body.frame().await.expect("a frame").expect("no error");
            assert_eq!(got.into_data().ok(), Some(sent), "round {round} frame {n}");
        }
        drop(frames);
        assert!(
            body.frame().await.is_none(),
            "round {round}: the stream ends"
        );
    }

    let seen: Vec<bool> = ACCEPTED
        .lock()
        .expect("not poisoned")
        .iter()
        .filter(|(peer, _)| *peer == client_addr)
        .map(|(_, nodelay)| *nodelay)
        .collect();
    assert_eq!(
        seen,
        [true],
        "one kept-alive connection, accepted with TCP_NODELAY"
    );

    let _ = stop.send(());
    server
        .await
        .expect("server task")
        .expect("server stopped cleanly");
}
