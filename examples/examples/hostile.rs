//! The load harness: the gateway (embedded defaults, served with its limits) on a loopback
//! port, honest callers alone, then the same honest callers next to a hostile mix. Prints the
//! honest callers' p50/p99 latency and error rate for both runs, their ratio, what the hostile
//! clients got, and the process's peak RSS.
//!
//! `cargo run -p agent-gateway-examples --example hostile` (add `--release` for numbers closer to
//! production; `-- --scale 2` doubles every count).
//!
//! The hostile mix, all from 127.0.0.1 like the honest callers:
//! - slowloris: connections that send a header byte every 500 ms;
//! - oversized bodies: `Content-Length: 8 MiB` without a credential, and with one;
//! - garbage credentials: requests with random bearer tokens;
//! - a stream flood: one key opening MCP `subscriptions/listen` streams and never reading them.
//!
//! Every loop is bounded; nothing here is a test (the numbers depend on the machine).

#![allow(
    clippy::print_stdout,
    reason = "a command-line harness: its report goes to stdout"
)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use agent_gateway_examples::app;
use agent_gateway_examples::config::{Config, EMBEDDED_DEFAULT};
use agent_gateway_examples::policy::Policies;
use agent_gateway_policy::auth::KeyHash;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const HONEST_KEY: &str = "agw-demo-key";
const HOSTILE_KEY: &str = "agw-load-hostile-key";
const CHAT: &str = r#"{"model":"demo","messages":[{"role":"user","content":"hello"}]}"#;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let scale: usize = std::env::args()
        .skip_while(|a| a != "--scale")
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let addr = start().await?;
    println!("gateway on {addr}, scale {scale}");

    let honest = |n| honest_run(addr, 8, 100 * n);
    let quiet = honest(scale).await;
    report("quiet", &quiet);

    let hostile = tokio::spawn(hostile_mix(addr, scale));
    // Let the hostile clients get going before the honest run starts.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let loud = honest(scale).await;
    report("hostile", &loud);
    let outcome = hostile.await?;
    println!("hostile clients: {outcome}");
    println!(
        "honest p99 ratio (hostile / quiet): {:.2}; error rate {:.2}% vs {:.2}%",
        loud.p(99.0).as_secs_f64() / quiet.p(99.0).as_secs_f64().max(1e-6),
        loud.error_rate() * 100.0,
        quiet.error_rate() * 100.0,
    );
    println!("peak RSS: {} MiB", peak_rss_kib() / 1024);
    Ok(())
}

/// The embedded defaults with the demo quota raised (the honest callers would hit it) and a
/// second key for the hostile stream flood; served with `core::server::serve`.
async fn start() -> Result<SocketAddr, Box<dyn std::error::Error>> {
    let extra_key = format!(
        "[[auth.api_keys]]\nkey_sha256 = \"{}\"\nsubject = \"hostile\"\n\n[authorize]",
        KeyHash::of(HOSTILE_KEY).to_hex()
    );
    let text = EMBEDDED_DEFAULT
        .replace("limit = 600\n", "limit = 1000000\n")
        .replacen("[authorize]", &extra_key, 1);
    let mut config = Config::from_toml_str(&text)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    config.server.listen = addr;
    let policies = Policies::from_config(&config).await?;
    let router = app::router(&config, &policies)?;
    let limits = config.server.limits.clone();
    tokio::spawn(agent_gateway_core::server::serve(
        listener,
        router,
        limits,
        std::future::pending(),
    ));
    Ok(addr)
}

/// One request on its own connection; the status (0 on a timeout or a closed connection).
async fn request(addr: SocketAddr, raw: String, timeout: Duration) -> u16 {
    let exchange = async {
        let mut s = TcpStream::connect(addr).await.ok()?;
        s.set_nodelay(true).ok()?;
        s.write_all(raw.as_bytes()).await.ok()?;
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.ok()?;
        std::str::from_utf8(out.get(9..12)?).ok()?.parse().ok()
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .ok()
        .flatten()
        .unwrap_or(0)
}

fn post(addr: SocketAddr, path: &str, headers: &str, body: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}Content-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )
}

/// Latencies and statuses of the honest callers.
struct Run {
    latencies: Vec<Duration>,
    errors: usize,
}

impl Run {
    fn p(&self, pct: f64) -> Duration {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        let i = ((sorted.len() as f64 - 1.0) * pct / 100.0).round() as usize;
        sorted.get(i).copied().unwrap_or_default()
    }

    fn error_rate(&self) -> f64 {
        self.errors as f64 / self.latencies.len().max(1) as f64
    }
}

fn report(name: &str, run: &Run) {
    println!(
        "{name:>8}: {} requests, p50 {:.1} ms, p99 {:.1} ms, errors {:.2}%",
        run.latencies.len(),
        run.p(50.0).as_secs_f64() * 1000.0,
        run.p(99.0).as_secs_f64() * 1000.0,
        run.error_rate() * 100.0
    );
}

/// `workers` honest callers, `each` chat completions each, one after the other.
async fn honest_run(addr: SocketAddr, workers: usize, each: usize) -> Run {
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            tokio::spawn(async move {
                let mut out = Vec::with_capacity(each);
                for _ in 0..each {
                    let raw = post(
                        addr,
                        "/v1/chat/completions",
                        &format!("Authorization: Bearer {HONEST_KEY}\r\n"),
                        CHAT,
                    );
                    let started = Instant::now();
                    let status = request(addr, raw, Duration::from_secs(30)).await;
                    out.push((started.elapsed(), status));
                }
                out
            })
        })
        .collect();
    let mut run = Run {
        latencies: Vec::new(),
        errors: 0,
    };
    for task in tasks {
        for (latency, status) in task.await.unwrap_or_default() {
            run.latencies.push(latency);
            run.errors += usize::from(status != 200);
        }
    }
    run
}

/// Runs the hostile clients for a bounded time; a summary of what they got.
async fn hostile_mix(addr: SocketAddr, scale: usize) -> String {
    let slowloris = tokio::spawn(slowloris(addr, 300 * scale));
    let oversized = tokio::spawn(status_flood(addr, 200 * scale, |addr, i| {
        let auth = if i % 2 == 0 {
            format!("Authorization: Bearer {HONEST_KEY}\r\n")
        } else {
            String::new()
        };
        format!(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: {addr}\r\n{auth}\
             Content-Type: application/json\r\nContent-Length: 8388608\r\nConnection: close\r\n\r\n{{"
        )
    }));
    let garbage = tokio::spawn(status_flood(addr, 1000 * scale, |addr, i| {
        post(
            addr,
            "/v1/chat/completions",
            &format!("Authorization: Bearer garbage-{i:08x}\r\n"),
            CHAT,
        )
    }));
    let streams = tokio::spawn(stream_flood(addr, 200 * scale));
    let mut summary = Vec::new();
    if let Ok(closed) = slowloris.await {
        summary.push(format!(
            "slowloris: {closed} of {} closed by the server",
            300 * scale
        ));
    }
    for (name, task) in [("oversized", oversized), ("garbage credentials", garbage)] {
        if let Ok(counts) = task.await {
            summary.push(format!("{name}: {counts}"));
        }
    }
    if let Ok(counts) = streams.await {
        summary.push(format!("stream flood: {counts}"));
    }
    summary.join("; ")
}

/// `n` connections trickling a header byte every 500 ms for up to 20 s; how many the server
/// closed.
async fn slowloris(addr: SocketAddr, n: usize) -> usize {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            tokio::spawn(async move {
                let Ok(mut s) = TcpStream::connect(addr).await else {
                    return false;
                };
                let line = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
                for byte in line {
                    if s.write_all(&[*byte]).await.is_err() {
                        return true;
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                false
            })
        })
        .collect();
    let mut closed = 0;
    for task in tasks {
        closed += usize::from(task.await.unwrap_or(false));
    }
    closed
}

/// `n` requests over 8 connections at a time; the statuses counted.
async fn status_flood(addr: SocketAddr, n: usize, make: fn(SocketAddr, usize) -> String) -> String {
    let mut counts = std::collections::BTreeMap::<u16, usize>::new();
    for chunk in (0..n).collect::<Vec<_>>().chunks(8) {
        let tasks: Vec<_> = chunk
            .iter()
            .map(|&i| tokio::spawn(request(addr, make(addr, i), Duration::from_secs(30))))
            .collect();
        for task in tasks {
            *counts.entry(task.await.unwrap_or(0)).or_default() += 1;
        }
    }
    format!("{counts:?}")
}

/// `n` MCP `subscriptions/listen` streams opened by one key and held unread for 10 s; their
/// statuses counted.
async fn stream_flood(addr: SocketAddr, n: usize) -> String {
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"subscriptions/listen","params":{"notifications":{"toolsListChanged":true},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#;
    let raw = format!(
        "POST /mcp HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {HOSTILE_KEY}\r\n\
         Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n\
         MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: subscriptions/listen\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut held = Vec::new();
    let mut counts = std::collections::BTreeMap::<u16, usize>::new();
    for _ in 0..n {
        let Ok(mut s) = TcpStream::connect(addr).await else {
            *counts.entry(0).or_default() += 1;
            continue;
        };
        let mut head = [0u8; 12];
        let status = async {
            s.write_all(raw.as_bytes()).await.ok()?;
            s.read_exact(&mut head).await.ok()?;
            std::str::from_utf8(&head[9..12]).ok()?.parse::<u16>().ok()
        };
        let status = tokio::time::timeout(Duration::from_secs(10), status)
            .await
            .ok()
            .flatten()
            .unwrap_or(0);
        *counts.entry(status).or_default() += 1;
        held.push(s);
    }
    tokio::time::sleep(Duration::from_secs(10)).await;
    drop(held);
    format!("{counts:?}")
}

/// The process's peak resident set size, in KiB (Linux; 0 elsewhere).
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}
