//! The load harness's counting driver: a fixed number of requests through one system, in one
//! process, for `valgrind` to count instructions (`callgrind`) and allocations (`dhat`).
//!
//! `load-count SYSTEM WORKLOAD N AUDIT_DIR`:
//! - SYSTEM: `direct` (the client against the mock alone), `proxy` (the bare hyper pass-through
//!   proxy, as `load-proxy` runs it) or `gateway` (the runnable gateway built from
//!   `benches/load/gateway.toml`: auth, CEL authorize, quota and audit, served as the `gateway`
//!   binary serves it);
//! - WORKLOAD: `chat` (an OpenAI chat completion) or `mcp` (an MCP `tools/call`), the bodies and
//!   headers `benches/load/run` sends;
//! - N: requests, one after another on one keep-alive connection;
//! - AUDIT_DIR: where the gateway writes its audit log.
//!
//! The mock upstream runs as a child process (`load-mock` next to this binary), so a counter
//! that does not follow children sees only the client and the system. The system runs on a
//! current-thread runtime in this process, with the client. The counts per request come from
//! two runs that differ only in N (`benches/load/count` does that): start-up cancels out, and
//! subtracting `direct` leaves what the hop itself costs. Exits non-zero if an answer is not a
//! 200 with the workload's content.

#![allow(
    clippy::print_stderr,
    reason = "a command-line helper: its usage and failures go to stderr"
)]

use std::convert::Infallible;
use std::io::BufRead;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitCode, Stdio};

use agent_gateway_benches::load::{forward, proxy_client, serve_http1};
use agent_gateway_examples::config::Config;
use agent_gateway_examples::policy::Policies;
use agent_gateway_examples::reload::Reloader;
use agent_gateway_examples::{app, audit};
use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

/// The gateway's configuration as the load harness runs it.
const GATEWAY_TOML: &str = include_str!("../../load/gateway.toml");

const USAGE: &str = "usage: load-count direct|proxy|gateway chat|mcp N AUDIT_DIR";

type Failure = Box<dyn std::error::Error>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [system, workload, n, audit_dir] = args.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let (Ok(n), Some(workload)) = (n.parse::<usize>(), Workload::parse(workload)) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let mut mock = match start_mock() {
        Ok(mock) => mock,
        Err(e) => {
            eprintln!("load-count: cannot start load-mock: {e}");
            return ExitCode::FAILURE;
        }
    };
    let ran = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(Failure::from)
        .and_then(|rt| rt.block_on(run(system, workload, n, &mock.1, Path::new(audit_dir))));
    let _ = mock.0.kill();
    let _ = mock.0.wait();
    match ran {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("load-count: {e}");
            ExitCode::FAILURE
        }
    }
}

#[derive(Clone, Copy)]
enum Workload {
    Chat,
    Mcp,
}

impl Workload {
    fn parse(name: &str) -> Option<Workload> {
        match name {
            "chat" => Some(Workload::Chat),
            "mcp" => Some(Workload::Mcp),
            _ => None,
        }
    }

    /// The request `benches/load/run` sends (the gateway names the MCP tool after its upstream).
    fn request(self, host: &str, gateway: bool) -> Request<Full<Bytes>> {
        let tool = if gateway { "mock__echo" } else { "echo" };
        let builder = Request::post("/")
            .header("host", host)
            .header("content-type", "application/json")
            .header("authorization", "Bearer agw-load-key");
        let (builder, body) = match self {
            Workload::Chat => (
                builder.uri("/v1/chat/completions"),
                r#"{"model":"mock","messages":[{"role":"user","content":"Say hello."}]}"#
                    .to_owned(),
            ),
            Workload::Mcp => (
                builder
                    .uri("/mcp")
                    .header("accept", "application/json, text/event-stream")
                    .header("mcp-protocol-version", "2026-07-28")
                    .header("mcp-method", "tools/call")
                    .header("mcp-name", tool),
                format!(
                    r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{tool}","arguments":{{}},"_meta":{{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{{}}}}}}}}"#
                ),
            ),
        };
        builder
            .body(Full::new(Bytes::from(body)))
            .unwrap_or_else(|_| unreachable!("a static request is valid"))
    }

    /// What the answer relays from the mock.
    fn expect(self) -> &'static [u8] {
        match self {
            Workload::Chat => b"Hello from the mock",
            Workload::Mcp => b"\"echo\"",
        }
    }
}

/// Starts `load-mock` on port 0 and reads the address it prints.
fn start_mock() -> Result<(Child, String), Failure> {
    let exe = std::env::current_exe()?;
    let mut child = Command::new(exe.with_file_name("load-mock"))
        .arg("127.0.0.1:0")
        .stdout(Stdio::piped())
        .spawn()?;
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        std::io::BufReader::new(out).read_line(&mut line)?;
    }
    let addr = line
        .trim()
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .to_owned();
    addr.parse::<SocketAddr>()?;
    Ok((child, addr))
}

async fn run(
    system: &str,
    workload: Workload,
    n: usize,
    mock: &str,
    audit_dir: &Path,
) -> Result<(), Failure> {
    // The gateway's reloader owns its application: kept until the requests are done.
    let (target, _gateway) = match system {
        "direct" => (mock.to_owned(), None),
        "proxy" => (start_proxy(mock.to_owned()).await?, None),
        "gateway" => start_gateway(mock, audit_dir).await?,
        _ => return Err(USAGE.into()),
    };
    let tcp = TcpStream::connect(&target).await?;
    tcp.set_nodelay(true)?;
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
    tokio::spawn(conn);
    for i in 0..n {
        let res = send
            .send_request(workload.request(&target, system == "gateway"))
            .await?;
        let status = res.status();
        let body = res.into_body().collect().await?.to_bytes();
        if status != 200 || (i == 0 && !contains(&body, workload.expect())) {
            return Err(format!(
                "{system}: HTTP {status}: {}",
                String::from_utf8_lossy(&body)
            )
            .into());
        }
    }
    Ok(())
}

/// The bare proxy in front of `mock`, as `load-proxy` serves it; returns its address.
async fn start_proxy(mock: String) -> Result<String, Failure> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?.to_string();
    let client = proxy_client();
    tokio::spawn(serve_http1(listener, move |req| {
        let client = client.clone();
        let mock = mock.clone();
        async move { Ok::<_, Infallible>(forward(&client, &mock, req).await) }
    }));
    Ok(addr)
}

/// The gateway as the `gateway` binary builds and serves it from `benches/load/gateway.toml`
/// (logs at `warn`, as the harness runs it); returns its address and its reloader.
async fn start_gateway(
    mock: &str,
    audit_dir: &Path,
) -> Result<(String, Option<Reloader>), Failure> {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter("warn")
        .try_init();
    let toml = GATEWAY_TOML
        .replace("MOCK_ADDR", mock)
        .replace("AUDIT_DIR", &audit_dir.display().to_string());
    let mut config = Config::from_toml_str(&toml)?;
    let mut policies = Policies::from_config(&config).await?;
    if let Some(audit) = &config.audit {
        policies = policies.with_audit(audit::open(audit)?);
    }
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let bound = listener.local_addr()?;
    config.server.listen = bound;
    let gateway = app::App::new(&config, &policies)?;
    let limits = config.server.limits.clone();
    let reloader = Reloader::new(None, config, policies, gateway);
    tokio::spawn(agent_gateway_core::server::serve(
        listener,
        reloader.service(),
        limits,
        std::future::pending(),
    ));
    Ok((bound.to_string(), Some(reloader)))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
