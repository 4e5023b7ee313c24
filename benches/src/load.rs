//! Plumbing shared by the load harness's binaries (`load-mock`, `load-proxy`, `load-count`):
//! bind, serve HTTP/1.1 with `TCP_NODELAY`, canned answers, the bare proxy's forwarding.
//!
//! ```
//! use agent_gateway_benches::load::answer;
//! let a = answer(http::StatusCode::OK, "application/json", bytes::Bytes::from_static(b"{}"));
//! assert_eq!(a.status(), 200);
//! assert_eq!(a.headers()["content-type"], "application/json");
//! ```

use std::future::Future;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{Request, Response, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full, combinators::BoxBody};
use hyper::body::{Body, Incoming};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

/// A canned answer.
pub type Answer = Response<Full<Bytes>>;

/// A response with `status`, a content type and a whole body.
pub fn answer(status: StatusCode, content_type: &'static str, body: Bytes) -> Answer {
    let mut res = Response::new(Full::new(body));
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    res
}

/// Binds the address given as the first argument (default `127.0.0.1:0`).
pub async fn bind() -> std::io::Result<TcpListener> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let addr: SocketAddr = addr
        .parse()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    TcpListener::bind(addr).await
}

/// Serves `handler` over HTTP/1.1 keep-alive on every connection `listener` accepts, with
/// `TCP_NODELAY` on each accepted socket, until the process is killed.
pub async fn serve_http1<F, Fut, B, E>(listener: TcpListener, handler: F) -> std::io::Result<()>
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<Response<B>, E>> + Send + 'static,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    loop {
        let (tcp, _) = listener.accept().await?;
        tcp.set_nodelay(true)?;
        let handler = handler.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(handler);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), service)
                .await;
        });
    }
}

/// The bare proxy's answer: the upstream's, streamed through, or a 502.
pub type Proxied = Response<BoxBody<Bytes, hyper::Error>>;

/// The bare proxy's upstream client: pooled keep-alive HTTP/1.1 with `TCP_NODELAY`.
pub fn proxy_client() -> Client<HttpConnector, Incoming> {
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    Client::builder(TokioExecutor::new()).build(http)
}

/// The bare proxy: sends `req` (method, path, headers, streamed body) to `http://UPSTREAM` and
/// relays the answer; 502 when the upstream cannot be reached.
pub async fn forward(
    client: &Client<HttpConnector, Incoming>,
    upstream: &str,
    req: Request<Incoming>,
) -> Proxied {
    let (mut parts, body) = req.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let Ok(uri) = format!("http://{upstream}{path}").parse::<Uri>() else {
        return bad_gateway();
    };
    parts.uri = uri;
    match client.request(Request::from_parts(parts, body)).await {
        Ok(res) => res.map(|b| b.boxed()),
        Err(_) => bad_gateway(),
    }
}

fn bad_gateway() -> Proxied {
    answer(StatusCode::BAD_GATEWAY, "text/plain", Bytes::new())
        .map(|b| b.map_err(|never| match never {}).boxed())
}
