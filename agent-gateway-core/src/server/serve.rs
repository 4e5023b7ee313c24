use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tower::{Service, ServiceExt};

use super::{PeerAddr, ServerLimits, TimedBody};
use crate::BoxError;

/// How long a stopping server waits for open connections to finish their requests.
const DRAIN: Duration = Duration::from_secs(10);

/// The answer to a connection over the cap, written before it is closed.
const OVER_CAPACITY: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 0\r\n\r\n";

/// Serves `service` on `listener` over HTTP/1.1 and HTTP/2 with prior knowledge, with `limits`, until `shutdown` resolves; then
/// stops accepting, lets open connections finish their requests (for at most 10 s) and
/// returns.
///
/// Every request carries its client's [`PeerAddr`] and a [`TimedBody`]; every accepted socket
/// sets `TCP_NODELAY`. See the [module docs](super) for what each limit stops.
pub async fn serve<S, B>(
    listener: TcpListener,
    service: S,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()>
where
    S: Service<Request<TimedBody<Incoming>>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (stop, stopping) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let (tcp, addr) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors, say: wait a little rather than spin.
                    tracing::debug!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            tokio::spawn(refuse(tcp));
            continue;
        };
        let service = service.clone();
        let limits = limits.clone();
        let stopping = stopping.clone();
        tokio::spawn(async move {
            connection(tcp, addr, service, &limits, stopping).await;
            drop(slot);
        });
    }
    drop(listener);
    let _ = stop.send(true);
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = tokio::time::timeout(DRAIN, slots.acquire_many(all)).await;
    Ok(())
}

/// Answers a connection over the cap with a 503 and closes it.
async fn refuse(mut tcp: TcpStream) {
    tracing::debug!("connection cap reached: refusing a connection");
    let _ = tokio::time::timeout(Duration::from_secs(1), tcp.write_all(OVER_CAPACITY)).await;
    let _ = tcp.shutdown().await;
}

/// Sets up an accepted socket: `TCP_NODELAY`, so each small frame of a streamed response
/// leaves at once instead of waiting for the client's delayed ACK of the previous one (about
/// 40 ms per frame on a kept-alive connection).
fn accepted(tcp: &TcpStream) {
    if let Err(e) = tcp.set_nodelay(true) {
        tracing::debug!(error = %e, "could not set TCP_NODELAY");
    }
    #[cfg(test)]
    tests::observe(tcp);
}

/// Serves one connection until it closes or the server stops.
async fn connection<S, B>(
    tcp: TcpStream,
    addr: SocketAddr,
    service: S,
    limits: &ServerLimits,
    mut stopping: watch::Receiver<bool>,
) where
    S: Service<Request<TimedBody<Incoming>>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    accepted(&tcp);
    let Some((io, http2)) = super::h2::sniff(tcp, limits).await else {
        return;
    };
    if http2 {
        return super::h2::connection(io, addr, service, limits, stopping).await;
    }
    let body_timeout = limits.body_read_timeout;
    let hyper_service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let mut req = req.map(|body| TimedBody::new(body, body_timeout));
        req.extensions_mut().insert(PeerAddr(addr));
        service.clone().oneshot(req)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let conn = builder.serve_connection(TokioIo::new(io), hyper_service);
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection closed");
            }
            return;
        }
        _ = stopping.wait_for(|stop| *stop) => {}
    }
    conn.as_mut().graceful_shutdown();
    if let Err(e) = conn.await {
        tracing::debug!(error = %e, "connection closed while stopping");
    }
}

#[cfg(test)]
#[path = "serve_tests.rs"]
mod tests;
