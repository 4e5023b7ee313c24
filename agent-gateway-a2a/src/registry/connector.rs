//! The HTTP(S) connector for agents reached over the network (feature `client`).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::instance::{Connector, connector};
use super::timeout::DEFAULT_CONNECT_TIMEOUT;

/// A connector over a hyper-util client (HTTP/1.1 and HTTP/2, rustls with the webpki roots),
/// the same as core's [`http_client`](agent_gateway_core::client::http_client) plus a connect
/// timeout of [`DEFAULT_CONNECT_TIMEOUT`]. It follows no redirect, so a card or an endpoint
/// cannot send the gateway to another host. A refused or timed-out connection is recognised
/// as one, so a new message fails over to another instance.
pub fn http_connector() -> Connector {
    http_connector_with(DEFAULT_CONNECT_TIMEOUT)
}

/// [`http_connector`] with a connect timeout of `connect_timeout`.
pub fn http_connector_with(connect_timeout: Duration) -> Connector {
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
    connector(Client::builder(TokioExecutor::new()).build::<_, Full<Bytes>>(https))
}
