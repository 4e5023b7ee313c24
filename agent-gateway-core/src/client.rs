//! An HTTP client for upstream calls, as a tower `Service` (feature `client`).
//!
//! It speaks HTTP/1.1 and HTTP/2 over plain TCP or rustls (ring, with the webpki root
//! certificates), so users can wrap upstream calls in tower layers like any other service.
//!
//! ```
//! use agent_gateway_core::client::{HttpClient, http_client};
//! use bytes::Bytes;
//! use http_body_util::Full;
//! use tower::ServiceExt;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let client: HttpClient<Full<Bytes>> = http_client();
//! // Nothing listens on port 1: the call fails cleanly instead of hanging.
//! let req = http::Request::get("http://127.0.0.1:1/").body(Full::new(Bytes::new())).unwrap();
//! assert!(client.oneshot(req).await.is_err());
//! # });
//! ```

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// The upstream HTTP client: `Service<http::Request<B>>` answering
/// `http::Response<hyper::body::Incoming>`.
pub type HttpClient<B> = Client<HttpsConnector<HttpConnector>, B>;

/// A new client accepting `http` and `https` URLs, negotiating HTTP/2 by ALPN over TLS.
pub fn http_client<B>() -> HttpClient<B>
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
{
    build(None)
}

/// [`http_client`], giving up on a TCP connection that is not established within
/// `connect_timeout` (the call fails with a connect error, which routers treat as an
/// unreachable upstream and fail over from).
pub fn http_client_with_connect_timeout<B>(connect_timeout: std::time::Duration) -> HttpClient<B>
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
{
    build(Some(connect_timeout))
}

fn build<B>(connect_timeout: Option<std::time::Duration>) -> HttpClient<B>
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
{
    let mut http = HttpConnector::new();
    http.set_connect_timeout(connect_timeout);
    http.enforce_http(false);
    http.set_nodelay(true);
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_webpki_roots()
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(http);
    Client::builder(TokioExecutor::new()).build(https)
}
