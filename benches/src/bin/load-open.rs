//! The load harness's holder: opens many idle things on a gateway, so that `benches/load/run`
//! can read what each one costs the gateway's memory.
//!
//! - `load-open sessions N ADDR`: N legacy MCP sessions on `ADDR/mcp` (`initialize`, then
//!   `notifications/initialized`), left idle, their connections closed;
//! - `load-open streams N ADDR`: N streamed chat completions on `ADDR/v1/chat/completions`,
//!   each asking the mock to hold its stream open (`"hold":true`), each on its own connection,
//!   held until the process is killed;
//! - `load-open streams-h2 N ADDR`: the same over HTTP/2 with prior knowledge, 100 streams on
//!   each connection (the gateway's default cap is 128), so the gateway holds one descriptor
//!   per stream (its upstream connection) instead of two.
//!
//! Each prints `opened N` once all N are open (every session answered with a session id,
//! every stream's first event read), or fails naming what did not open. Loopback only: the
//! requests carry the load key of `benches/load/gateway.toml`.

#![allow(
    clippy::print_stdout,
    reason = "a command-line helper: its result goes to stdout"
)]

use std::io::{Error, ErrorKind, Result};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

/// How many connections are being opened at any moment: enough to open ten thousand in
/// seconds, few enough not to overflow the listener's accept backlog.
const OPENING_AT_ONCE: usize = 256;

/// Streams opened on one HTTP/2 connection, below the gateway's default cap of 128.
const STREAMS_PER_CONNECTION: usize = 100;

/// The held chat stream's request body.
const HOLD: &str = r#"{"model":"mock","stream":true,"hold":true,"messages":[{"role":"user","content":"Hold on."}]}"#;

/// What is kept to hold a stream open: its HTTP/1.1 connection or its HTTP/2 body.
#[derive(Debug)]
#[allow(dead_code, reason = "held only to be dropped when the process ends")]
enum Held {
    Http1(BufReader<TcpStream>),
    Http2(Incoming),
}

/// The most bytes read from one answer's head.
const MAX_HEAD: usize = 16 * 1024;

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let usage = || {
        Error::new(
            ErrorKind::InvalidInput,
            "usage: load-open sessions|streams|streams-h2 N ADDR",
        )
    };
    let (mode, n, addr) = match args.as_slice() {
        [_, mode, n, addr] if matches!(mode.as_str(), "sessions" | "streams" | "streams-h2") => (
            mode.as_str(),
            n.parse::<usize>().map_err(|_| usage())?,
            addr,
        ),
        _ => return Err(usage()),
    };
    let addr: Arc<str> = addr.as_str().into();
    let held = match mode {
        "streams-h2" => open_h2_streams(&addr, n).await?,
        _ => open_each(mode == "sessions", &addr, n).await?,
    };
    println!("opened {n}");
    if mode != "sessions" {
        // Hold every stream until the harness kills the process.
        std::future::pending::<()>().await;
    }
    drop(held);
    Ok(())
}

/// Opens `n` sessions or held streams, each on a connection of its own.
async fn open_each(sessions: bool, addr: &Arc<str>, n: usize) -> Result<Vec<Option<Held>>> {
    let gate = Arc::new(Semaphore::new(OPENING_AT_ONCE));
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let addr = addr.clone();
        let gate = gate.clone();
        tasks.push(tokio::spawn(async move {
            let _opening = gate.acquire().await.map_err(Error::other)?;
            if sessions {
                open_session(&addr, i).await.map(|()| None)
            } else {
                open_stream(&addr).await.map(|tcp| Some(Held::Http1(tcp)))
            }
        }));
    }
    let mut held = Vec::with_capacity(n);
    for task in tasks {
        held.push(task.await.map_err(Error::other)??);
    }
    Ok(held)
}

/// Opens `n` held streams over HTTP/2, [`STREAMS_PER_CONNECTION`] on each connection.
async fn open_h2_streams(addr: &str, n: usize) -> Result<Vec<Option<Held>>> {
    let gate = Arc::new(Semaphore::new(OPENING_AT_ONCE));
    let mut tasks = Vec::with_capacity(n);
    let mut left = n;
    while left > 0 {
        let tcp = TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        let (send, conn) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
                .await
                .map_err(Error::other)?;
        tokio::spawn(conn);
        for _ in 0..left.min(STREAMS_PER_CONNECTION) {
            let mut send = send.clone();
            let addr = addr.to_owned();
            let gate = gate.clone();
            tasks.push(tokio::spawn(async move {
                let _opening = gate.acquire().await.map_err(Error::other)?;
                let req = http::Request::post(format!("http://{addr}/v1/chat/completions"))
                    .header("content-type", "application/json")
                    .header("authorization", "Bearer agw-load-key")
                    .header("accept", "text/event-stream")
                    .body(Full::new(Bytes::from_static(HOLD.as_bytes())))
                    .map_err(Error::other)?;
                let res = send.send_request(req).await.map_err(Error::other)?;
                if res.status() != http::StatusCode::OK {
                    return Err(Error::other(format!(
                        "the stream answered {}",
                        res.status()
                    )));
                }
                let mut body = res.into_body();
                loop {
                    let frame = body
                        .frame()
                        .await
                        .ok_or_else(|| Error::other("the stream ended before its first event"))?;
                    let frame = frame.map_err(Error::other)?;
                    if frame
                        .data_ref()
                        .is_some_and(|d| d.windows(6).any(|w| w == b"data: "))
                    {
                        return Ok(Some(Held::Http2(body)));
                    }
                }
            }));
        }
        left -= left.min(STREAMS_PER_CONNECTION);
    }
    let mut held = Vec::with_capacity(n);
    for task in tasks {
        held.push(task.await.map_err(Error::other)??);
    }
    Ok(held)
}

/// Connects to `addr`, sends one POST and reads the answer's head: its status and headers
/// (names in lower case). Returns the connection, positioned at the body.
async fn post(
    addr: &str,
    path: &str,
    extra: &str,
    body: &str,
) -> Result<(BufReader<TcpStream>, u16, Vec<(String, String)>)> {
    let mut tcp = BufReader::new(TcpStream::connect(addr).await?);
    let request = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         authorization: Bearer agw-load-key\r\naccept: application/json, text/event-stream\r\n\
         {extra}content-length: {}\r\n\r\n{body}",
        body.len()
    );
    tcp.get_mut().write_all(request.as_bytes()).await?;
    let mut status = String::new();
    tcp.read_line(&mut status).await?;
    let code = status
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| Error::other(format!("no HTTP status: {status:?}")))?;
    let mut headers = Vec::new();
    let mut read = status.len();
    loop {
        let mut line = String::new();
        read += tcp.read_line(&mut line).await?;
        let Some((name, value)) = line.split_once(':') else {
            break;
        };
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        if read > MAX_HEAD {
            break;
        }
    }
    Ok((tcp, code, headers))
}

/// Opens one legacy MCP session and leaves it idle: `initialize`, then the
/// `notifications/initialized` a client sends, each on a connection of its own.
async fn open_session(addr: &str, i: usize) -> Result<()> {
    let init = format!(
        r#"{{"jsonrpc":"2.0","id":{i},"method":"initialize","params":{{"protocolVersion":"2025-06-18","capabilities":{{}},"clientInfo":{{"name":"load-open","version":"1.0.0"}}}}}}"#
    );
    let version = "mcp-protocol-version: 2025-06-18\r\nconnection: close\r\n";
    let (_, code, headers) = post(addr, "/mcp", version, &init).await?;
    let session = headers
        .iter()
        .find(|(name, _)| name == "mcp-session-id")
        .map(|(_, value)| value.clone())
        .filter(|_| code == 200)
        .ok_or_else(|| Error::other(format!("initialize answered {code} without a session")))?;
    let extra = format!("{version}mcp-session-id: {session}\r\n");
    let initialized = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
    let (_, code, _) = post(addr, "/mcp", &extra, initialized).await?;
    if code != 202 {
        return Err(Error::other(format!("initialized answered {code}")));
    }
    Ok(())
}

/// Opens one held chat stream and returns its connection once the first event is read.
async fn open_stream(addr: &str) -> Result<BufReader<TcpStream>> {
    let (mut tcp, code, _) = post(addr, "/v1/chat/completions", "", HOLD).await?;
    if code != 200 {
        return Err(Error::other(format!("the stream answered {code}")));
    }
    let mut line = String::new();
    while !line.starts_with("data: ") {
        line.clear();
        if tcp.read_line(&mut line).await? == 0 {
            return Err(Error::other("the stream ended before its first event"));
        }
    }
    Ok(tcp)
}
