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

use std::time::Duration;

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// The upstream HTTP client: `Service<http::Request<B>>` answering
/// `http::Response<hyper::body::Incoming>`.
pub type HttpClient<B> = Client<HttpsConnector<HttpConnector>, B>;

/// How long establishing a TCP connection to an upstream may take: 10 s. Without it an
/// upstream host that drops SYNs holds a call for the operating system's retry time (minutes).
/// Response and stream timeouts are per protocol (their connectors' settings).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A new client accepting `http` and `https` URLs, negotiating HTTP/2 by ALPN over TLS, with
/// [`DEFAULT_CONNECT_TIMEOUT`].
pub fn http_client<B>() -> HttpClient<B>
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
{
    http_client_with_connect_timeout(DEFAULT_CONNECT_TIMEOUT)
}

/// [`http_client`] with another connect timeout.
///
/// ```
/// use std::time::Duration;
/// use agent_gateway_core::client::{HttpClient, http_client_with_connect_timeout};
/// use bytes::Bytes;
/// use http_body_util::Full;
/// use tower::ServiceExt;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let client: HttpClient<Full<Bytes>> = http_client_with_connect_timeout(Duration::from_millis(200));
/// // A non-routable address (TEST-NET-1): the connect attempt is abandoned, not waited out.
/// let req = http::Request::get("http://192.0.2.1:9/").body(Full::new(Bytes::new())).unwrap();
/// let outcome = tokio::time::timeout(Duration::from_secs(5), client.oneshot(req)).await;
/// assert!(matches!(outcome, Ok(Err(_))), "failed within the timeout");
/// # });
/// ```
pub fn http_client_with_connect_timeout<B>(connect_timeout: Duration) -> HttpClient<B>
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
{
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(connect_timeout));
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_webpki_roots()
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(http);
    Client::builder(TokioExecutor::new()).build(https)
}
