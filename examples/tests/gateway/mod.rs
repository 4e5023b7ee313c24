//! The `gateway` binary as a test starts it: a real process on a port the OS picks, in its
//! own scratch directory, and plain-socket HTTP exchanges with it. Each test binary uses a
//! part of these helpers.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub(crate) struct Gateway {
    pub(crate) child: Child,
    pub(crate) addr: SocketAddr,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Gateway {
    /// Sends SIGTERM and waits for the gateway to exit, at most `within` (then it is killed
    /// and the test fails): its exit status. The wait is a thread's, signalled on a channel.
    pub(crate) fn terminate(&mut self, within: Duration) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(sent.expect("run kill").success());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::scope(|s| {
            let child = &mut self.child;
            s.spawn(move || {
                let _ = tx.send(child.wait());
            });
            match rx.recv_timeout(within) {
                Ok(status) => status.expect("wait for the gateway"),
                Err(_) => {
                    let _ = Command::new("kill").args(["-KILL", &pid]).status();
                    panic!("the gateway did not exit within {within:?} of SIGTERM");
                }
            }
        })
    }
}

pub(crate) fn start(extra: &[&str]) -> Gateway {
    start_in(&scratch("run"), extra)
}

/// A fresh directory for one gateway: the embedded defaults' relative `audit/` goes there.
pub(crate) fn scratch(name: &str) -> std::path::PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("agw-{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

pub(crate) fn start_in(cwd: &std::path::Path, extra: &[&str]) -> Gateway {
    start_in_env(cwd, extra, &[])
}

/// As [`start_in`], with `env` added to the gateway's environment.
pub(crate) fn start_in_env(cwd: &std::path::Path, extra: &[&str], env: &[(&str, &str)]) -> Gateway {
    let child = Command::new(env!("CARGO_BIN_EXE_gateway"))
        .args(["--listen", "127.0.0.1:0"])
        .args(extra)
        .envs(env.iter().copied())
        .current_dir(cwd)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn gateway");
    started(child)
}

/// As [`start_in`], with the gateway's log lines (at `info`) sent on the returned channel,
/// for tests that wait on what the gateway logs.
pub(crate) fn start_logged(
    cwd: &std::path::Path,
    extra: &[&str],
) -> (Gateway, std::sync::mpsc::Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gateway"))
        .args(["--listen", "127.0.0.1:0"])
        .args(extra)
        .current_dir(cwd)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn gateway");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (started(child), rx)
}

/// The next log line containing every one of `needles`, within 60 s; panics naming the lines
/// seen otherwise.
pub(crate) fn wait_for_log(lines: &std::sync::mpsc::Receiver<String>, needles: &[&str]) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if needles.iter().all(|n| line.contains(n)) => return line,
            Ok(line) => seen.push(line),
            Err(_) => panic!(
                "no log line with {needles:?} within 60 s; saw:\n{}",
                seen.join("\n")
            ),
        }
    }
}

fn started(mut child: Child) -> Gateway {
    let stdout = child.stdout.take().expect("stdout");
    // The first line is read on its own thread, so that a gateway that never prints one
    // fails the test after a bound instead of hanging it.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let read = BufReader::new(stdout).read_line(&mut line).map(|_| line);
        let _ = tx.send(read);
    });
    let line = match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(read) => read.expect("first line"),
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the gateway printed no address within 60 s");
        }
    };
    let addr = line
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("first line is an address: {line:?}"));
    Gateway { child, addr }
}

/// One HTTP/1.1 exchange over a plain socket: `headers` are extra header lines, each ending
/// in CRLF; a body is sent as JSON. Returns (status, head, body).
pub(crate) fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &str,
    body: Option<&str>,
) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("set timeout");
    let body_headers = match body {
        Some(b) => format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            b.len()
        ),
        None => String::new(),
    };
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}{body_headers}Connection: close\r\n\r\n{}",
        body.unwrap_or("")
    )
    .expect("write request");
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read response");
    let status = raw[9..12].parse().expect("status code");
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    (status, head.to_owned(), body.to_owned())
}

pub(crate) fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let (status, _, body) = http(addr, "GET", path, "", None);
    (status, body)
}

pub(crate) fn http_get_with(addr: SocketAddr, path: &str, headers: &str) -> (u16, String, String) {
    http(addr, "GET", path, headers, None)
}

pub(crate) fn http_post_json(
    addr: SocketAddr,
    path: &str,
    headers: &str,
    body: &str,
) -> (u16, String) {
    let (status, _, body) = http(addr, "POST", path, headers, Some(body));
    (status, body)
}

/// A modern-era MCP request: its headers (CRLF-ended lines) and JSON body.
pub(crate) fn mcp_modern(
    method: &str,
    name: Option<&str>,
    params: serde_json::Value,
) -> (String, String) {
    let mut params = params;
    params["_meta"] = serde_json::json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {}
    });
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let mut headers = format!(
        "Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2026-07-28\r\nMcp-Method: {method}\r\n"
    );
    if let Some(name) = name {
        headers.push_str(&format!("Mcp-Name: {name}\r\n"));
    }
    (headers, body.to_string())
}

/// The JSON-RPC answer in an MCP response body: plain JSON, or the last SSE event with an id.
pub(crate) fn rpc_answer(head: &str, body: &str) -> serde_json::Value {
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let (mut rest, mut out) = (body, String::new());
        while let Some((size, tail)) = rest.split_once("\r\n") {
            let size = usize::from_str_radix(size.trim(), 16).expect("a chunk size");
            if size == 0 {
                break;
            }
            out.push_str(&tail[..size]);
            rest = &tail[size + 2..];
        }
        out
    } else {
        body.to_owned()
    };
    serde_json::from_str(&body).unwrap_or_else(|_| {
        body.lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .filter_map(|d| serde_json::from_str::<serde_json::Value>(d.trim()).ok())
            .rfind(|v| v.get("id").is_some())
            .unwrap_or_else(|| panic!("a JSON-RPC answer: {head}\n\n{body}"))
    })
}
