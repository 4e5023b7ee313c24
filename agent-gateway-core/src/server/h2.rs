//! The HTTP/2 side of [`serve`](super::serve): telling an HTTP/2 connection from an HTTP/1.1
//! one by its first bytes, and serving it with a stream cap and an idle timeout.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use http::{Request, Response};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use pin_project_lite::pin_project;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tower::{Service, ServiceExt};

use super::{DEFAULT_MAX_HEADER_LIST_SIZE, PeerAddr, ServerLimits, TimedBody};
use crate::BoxError;

/// The first bytes of every HTTP/2 connection with prior knowledge (RFC 9113 §3.4).
const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Reads a new connection's first bytes, within the header timeout, until they either are the
/// HTTP/2 preface or cannot be: returns the socket with those bytes put back, and whether it
/// speaks HTTP/2. `None` when the client closed or stayed silent.
pub(super) async fn sniff(
    mut tcp: TcpStream,
    limits: &ServerLimits,
) -> Option<(Prefaced<TcpStream>, bool)> {
    if !limits.http2 {
        return Some((Prefaced::new(Bytes::new(), tcp), false));
    }
    let mut head = [0u8; PREFACE.len()];
    let mut read = 0;
    let reading = async {
        while read < PREFACE.len() && head[..read] == PREFACE[..read] {
            match tcp.read(&mut head[read..]).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => read += n,
            }
        }
        true
    };
    match tokio::time::timeout(limits.header_read_timeout, reading).await {
        Ok(true) => {}
        Ok(false) | Err(_) => return None,
    }
    let http2 = head[..read] == PREFACE[..];
    Some((
        Prefaced::new(Bytes::copy_from_slice(&head[..read]), tcp),
        http2,
    ))
}

pin_project! {
    /// A connection whose first bytes were read to tell its protocol: reads give those bytes
    /// back first, then the rest.
    #[derive(Debug)]
    pub(super) struct Prefaced<T> {
        prefix: Bytes,
        #[pin]
        inner: T,
    }
}

impl<T> Prefaced<T> {
    fn new(prefix: Bytes, inner: T) -> Self {
        Prefaced { prefix, inner }
    }
}

impl<T: AsyncRead> AsyncRead for Prefaced<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.project();
        if this.prefix.is_empty() {
            return this.inner.poll_read(cx, buf);
        }
        let n = this.prefix.len().min(buf.remaining());
        buf.put_slice(&this.prefix[..n]);
        this.prefix.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite> AsyncWrite for Prefaced<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.project().inner.poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_shutdown(cx)
    }
}

/// What one HTTP/2 connection is doing: requests in flight (from the head until the response
/// body is done or dropped) and requests seen in all.
#[derive(Debug, Default)]
struct Activity {
    in_flight: AtomicUsize,
    seen: AtomicU64,
}

/// One request in flight on an HTTP/2 connection; counted out when dropped.
#[derive(Debug)]
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(activity: &Arc<Activity>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::Relaxed);
        activity.seen.fetch_add(1, Ordering::Relaxed);
        InFlight(Arc::clone(activity))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

pin_project! {
    /// A response body that keeps its request counted in flight until it is done.
    #[derive(Debug)]
    pub(super) struct Counted<B> {
        #[pin]
        body: B,
        in_flight: InFlight,
    }
}

impl<B: Body> Body for Counted<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        self.project().body.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// Serves one HTTP/2 connection until it closes, the server stops, or no request has been in
/// flight for a whole header timeout (then it is closed with `GOAWAY`, letting nothing in
/// flight break).
pub(super) async fn connection<S, B>(
    io: Prefaced<TcpStream>,
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
    let activity = Arc::new(Activity::default());
    let body_timeout = limits.body_read_timeout;
    let counting = Arc::clone(&activity);
    let hyper_service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let in_flight = InFlight::start(&counting);
        let mut req = req.map(|body| TimedBody::new(body, body_timeout));
        req.extensions_mut().insert(PeerAddr(addr));
        let call = service.clone().oneshot(req);
        async move {
            let response = call.await?;
            Ok::<_, Infallible>(response.map(|body| Counted { body, in_flight }))
        }
    });
    let idle = limits.header_read_timeout;
    let mut builder = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
    builder
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.max_concurrent_streams)
        .max_header_list_size(DEFAULT_MAX_HEADER_LIST_SIZE)
        // Pings find a peer that went away while its streams are open.
        .keep_alive_interval(Some(idle))
        .keep_alive_timeout(idle);
    let conn = builder.serve_connection(TokioIo::new(io), hyper_service);
    tokio::pin!(conn);
    let mut seen = 0;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "HTTP/2 connection closed");
                }
                return;
            }
            _ = stopping.wait_for(|stop| *stop) => break,
            () = tokio::time::sleep(idle) => {
                let now = activity.seen.load(Ordering::Relaxed);
                if activity.in_flight.load(Ordering::Relaxed) == 0 && now == seen {
                    tracing::debug!("idle HTTP/2 connection: closing");
                    break;
                }
                seen = now;
            }
        }
    }
    conn.as_mut().graceful_shutdown();
    if let Err(e) = conn.await {
        tracing::debug!(error = %e, "HTTP/2 connection closed while stopping");
    }
}

#[cfg(test)]
#[path = "h2_tests.rs"]
mod tests;
