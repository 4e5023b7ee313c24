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

use agent_gateway_benches::load::{bind, forward, proxy_client, serve_http1};

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
    let client = proxy_client();
    serve_http1(listener, move |req| {
        let client = client.clone();
        let upstream = upstream.clone();
        async move { Ok::<_, Infallible>(forward(&client, &upstream, req).await) }
    })
    .await
}
