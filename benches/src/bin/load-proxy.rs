//! The load harness's floor: a bare hyper pass-through proxy, no parsing, no policy.
//!
//! `load-proxy LISTEN UPSTREAM` (e.g. `load-proxy 127.0.0.1:0 127.0.0.1:9000`) forwards every
//! request, method, path, headers and streamed body, to `http://UPSTREAM` over a pooled
//! keep-alive client with `TCP_NODELAY`, and streams the answer back. Prints
//! `listening on ADDR` once bound.

#![allow(
    clippy::print_stdout,
    reason = "a command-line helper: its bound address goes to stdout"
)]

use std::convert::Infallible;

use agent_gateway_benches::load::{answer, bind, serve_http1};
use bytes::Bytes;
use http::{Request, StatusCode, Uri};
use http_body_util::{BodyExt, combinators::BoxBody};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

type Proxied = http::Response<BoxBody<Bytes, hyper::Error>>;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let upstream = std::env::args().nth(2).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "usage: load-proxy LISTEN UPSTREAM",
        )
    })?;
    let listener = bind().await?;
    println!("listening on {}", listener.local_addr()?);
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    let client: Client<HttpConnector, Incoming> = Client::builder(TokioExecutor::new()).build(http);
    serve_http1(listener, move |req| {
        let client = client.clone();
        let upstream = upstream.clone();
        async move { Ok::<_, Infallible>(forward(&client, &upstream, req).await) }
    })
    .await
}

/// Sends `req` to `upstream` and relays the answer; 502 when the upstream cannot be reached.
async fn forward(
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
