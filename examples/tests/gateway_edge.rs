//! The gateway binary's edge against slow and hostile clients, over real sockets: header and
//! body read timeouts, the connection cap, 401 before the body is parsed, two credentials,
//! the unauthenticated rate limit and the Host/Origin check on every front (findings 6 and 15,
//! the Host/Origin and two-credential notes).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use agent_gateway_examples::config::EMBEDDED_DEFAULT;
use gateway::{Gateway, scratch, start_in};

mod gateway;

/// Slack on top of a configured timeout for the process to notice and the socket to report
/// it, on a loaded two-core machine.
const SLACK: Duration = Duration::from_secs(3);

/// Starts the binary on the embedded defaults with `server` lines added to `[server]`.
fn start(name: &str, server: &str) -> Gateway {
    let dir = scratch(&format!("edge-{name}"));
    let path = dir.join("gw.toml");
    let text = EMBEDDED_DEFAULT.replacen("[server]\n", &format!("[server]\n{server}"), 1);
    assert!(
        server.is_empty() || text != EMBEDDED_DEFAULT,
        "the default [server] table moved"
    );
    std::fs::write(&path, text).expect("write config");
    start_in(
        &dir,
        &["--config", path.to_str().expect("a UTF-8 temp path")],
    )
}

/// Sends `raw` and reads until the server closes; (status or 0, whole answer, time taken).
fn exchange(addr: SocketAddr, raw: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    s.write_all(raw.as_bytes()).expect("write");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    let status = out.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, out)
}

fn post(addr: SocketAddr, path: &str, headers: &str, body: &str) -> (u16, String) {
    exchange(
        addr,
        &format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}Content-Type: application/json\r\n\
             Accept: application/json, text/event-stream\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

/// Reads from `s` until the server closes it or 20 s pass; how long that took.
fn until_closed(s: &mut TcpStream) -> Duration {
    let started = Instant::now();
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut buf = [0u8; 512];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => return started.elapsed(),
            Ok(_) => {}
        }
    }
}

#[test]
fn headers_sent_one_byte_at_a_time_are_closed_at_the_header_timeout() {
    let gw = start("slowloris", "header_read_timeout_secs = 1\n");
    let mut s = TcpStream::connect(gw.addr).expect("connect");
    let mut writer = s.try_clone().expect("clone");
    // One byte every 200 ms, for longer than the timeout, until the server closes.
    let trickle = std::thread::spawn(move || {
        for byte in b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaa" {
            if writer.write_all(&[*byte]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    });
    let lasted = until_closed(&mut s);
    assert!(
        lasted < Duration::from_secs(1) + SLACK,
        "closed after {lasted:?}"
    );
    let _ = trickle.join();
    // The gateway still serves others.
    let (status, _) = exchange(
        gw.addr,
        "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 200);
}

#[test]
fn a_body_that_never_finishes_is_cut_at_the_body_timeout() {
    let gw = start("slowbody", "body_read_timeout_secs = 1\n");
    let mut s = TcpStream::connect(gw.addr).expect("connect");
    write!(
        s,
        "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n\
         Authorization: Bearer agw-demo-key\r\nContent-Type: application/json\r\n\
         Content-Length: 100\r\n\r\n{{"
    )
    .expect("write");
    let started = Instant::now();
    let mut answer = String::new();
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let _ = s.read_to_string(&mut answer);
    let lasted = started.elapsed();
    assert!(
        lasted < Duration::from_secs(1) + SLACK,
        "cut after {lasted:?}"
    );
    // Answered with an error (or closed), never served.
    assert!(!answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[test]
fn the_connection_cap_holds() {
    let gw = start(
        "cap",
        "max_connections = 2\nheader_read_timeout_secs = 30\n",
    );
    // Two idle connections take both slots.
    let held: Vec<TcpStream> = (0..2)
        .map(|_| TcpStream::connect(gw.addr).expect("connect"))
        .collect();
    // Give the server the moment it needs to accept them (their slots are taken on accept).
    let (status, answer) = loop_until_refused(gw.addr);
    assert_eq!(status, 503, "{answer}");
    drop(held);
}

/// A third connection: refused with 503 once the two held ones have been accepted.
fn loop_until_refused(addr: SocketAddr) -> (u16, String) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let answer = exchange(
            addr,
            "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        );
        if answer.0 == 503 || Instant::now() > deadline {
            return answer;
        }
    }
}

#[test]
fn no_credential_gets_401_before_the_body_is_parsed_on_every_front() {
    let gw = start("preauth", "");
    for path in ["/v1/chat/completions", "/v1/messages", "/mcp", "/a2a/demo"] {
        // `{}` is not a valid request for any front: without auth it would be a 400.
        let (status, answer) = post(gw.addr, path, "", "{}");
        assert_eq!(status, 401, "{path}: {answer}");
        // Not even well-formed JSON: still the 401.
        let (status, answer) = post(gw.addr, path, "", "{");
        assert_eq!(status, 401, "{path}: {answer}");
    }
    // With the demo key, the same `{}` reaches the front, which refuses it as malformed.
    let (status, answer) = post(
        gw.addr,
        "/v1/chat/completions",
        "Authorization: Bearer agw-demo-key\r\n",
        "{}",
    );
    assert_eq!(status, 400, "{answer}");
}

#[test]
fn two_different_credentials_are_refused() {
    let gw = start("twocreds", "");
    let body = r#"{"model":"demo","messages":[{"role":"user","content":"hi"}]}"#;
    let (status, answer) = post(
        gw.addr,
        "/v1/chat/completions",
        "Authorization: Bearer agw-demo-key\r\nx-api-key: another-key\r\n",
        body,
    );
    assert_eq!(status, 401, "{answer}");
    // The same key twice is one credential.
    let (status, answer) = post(
        gw.addr,
        "/v1/chat/completions",
        "Authorization: Bearer agw-demo-key\r\nx-api-key: agw-demo-key\r\n",
        body,
    );
    assert_eq!(status, 200, "{answer}");
}

#[test]
fn unauthenticated_traffic_is_rate_limited_per_address() {
    let gw = start("unauth", "unauthenticated_per_minute = 3\n");
    for _ in 0..3 {
        assert_eq!(post(gw.addr, "/v1/chat/completions", "", "{}").0, 401);
    }
    let (status, answer) = post(gw.addr, "/v1/chat/completions", "", "{}");
    assert_eq!(status, 429, "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("retry-after:"),
        "{answer}"
    );
    // A caller from the same address is not limited.
    let body = r#"{"model":"demo","messages":[{"role":"user","content":"hi"}]}"#;
    let (status, answer) = post(
        gw.addr,
        "/v1/chat/completions",
        "Authorization: Bearer agw-demo-key\r\n",
        body,
    );
    assert_eq!(status, 200, "{answer}");
}

#[test]
fn a_rebound_host_or_foreign_origin_is_refused_on_every_governed_route() {
    let gw = start("host", "");
    let auth = "Authorization: Bearer agw-demo-key\r\n";
    for path in ["/v1/chat/completions", "/mcp", "/a2a/demo", "/v1/whoami"] {
        let raw = format!(
            "POST {path} HTTP/1.1\r\nHost: evil.example\r\n{auth}Content-Type: application/json\r\n\
             Content-Length: 2\r\nConnection: close\r\n\r\n{{}}"
        );
        let (status, answer) = exchange(gw.addr, &raw);
        assert_eq!(status, 403, "{path}: {answer}");
        let (status, answer) = post(
            gw.addr,
            path,
            &format!("{auth}Origin: http://evil.example\r\n"),
            "{}",
        );
        assert_eq!(status, 403, "{path}: {answer}");
        // A page on this machine, on another port, is no rebinding: past the check (#13).
        let (status, answer) = post(
            gw.addr,
            path,
            &format!("{auth}Origin: http://localhost:5173\r\n"),
            "{}",
        );
        assert_ne!(status, 403, "{path}: {answer}");
    }
    // The gateway's own name passes (whoami answers the caller).
    let (status, answer) = exchange(
        gw.addr,
        &format!("GET /v1/whoami HTTP/1.1\r\nHost: localhost\r\n{auth}Connection: close\r\n\r\n"),
    );
    assert_eq!(status, 200, "{answer}");
}
