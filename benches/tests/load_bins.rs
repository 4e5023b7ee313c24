//! The load harness's two binaries answer what `benches/load/run` sends them: the mock serves
//! each workload, and the bare proxy relays it unchanged.
//!
//! Being an integration test of this package, it also makes the test build (`.ci/test`) link
//! `load-mock` and `load-proxy`, with the test build's features, so that the harness's short
//! mode in `.ci/run` reuses them instead of rebuilding.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

/// A child process killed when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `bin` with `args` and returns it with the address it prints once bound.
fn start(bin: &str, args: &[&str]) -> (Running, String) {
    let mut child = Command::new(bin)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let running = Running(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("read");
    let addr = line
        .trim()
        .rsplit(' ')
        .next()
        .expect("an address")
        .to_owned();
    (running, addr)
}

/// POSTs `body` to `addr` `path` over one HTTP/1.1 connection and returns the whole answer,
/// status line and headers included.
fn post(addr: &str, path: &str, body: &str) -> String {
    let mut tcp = TcpStream::connect(addr).expect("connect");
    write!(
        tcp,
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         accept: application/json, text/event-stream\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut out = String::new();
    tcp.read_to_string(&mut out).expect("read");
    out
}

#[test]
fn the_mock_answers_each_workload_and_the_proxy_relays_it() {
    let (_mock, mock) = start(env!("CARGO_BIN_EXE_load-mock"), &["127.0.0.1:0"]);
    let (_proxy, proxy) = start(env!("CARGO_BIN_EXE_load-proxy"), &["127.0.0.1:0", &mock]);
    let chat = r#"{"model":"mock","messages":[{"role":"user","content":"hi"}]}"#;
    let stream = r#"{"model":"mock","stream":true,"messages":[{"role":"user","content":"hi"}]}"#;
    let messages = r#"{"model":"m","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}"#;
    let call = r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo"}}"#;
    let cases = [
        ("/v1/chat/completions", chat, "Hello from the mock"),
        ("/v1/chat/completions", stream, "\"total_tokens\":32"),
        ("/v1/messages", messages, "\"end_turn\""),
        ("/mcp", call, r#""id":7"#),
    ];
    for addr in [&mock, &proxy] {
        for (path, body, expected) in cases {
            let answer = post(addr, path, body);
            assert!(answer.starts_with("HTTP/1.1 200"), "{addr}{path}: {answer}");
            assert!(answer.contains(expected), "{addr}{path}: {answer}");
        }
        let stream = post(addr, "/v1/chat/completions", stream);
        assert!(stream.contains("text/event-stream"), "{stream}");
        assert_eq!(stream.matches("data: ").count(), 23, "{stream}");
        assert!(stream.trim_end().ends_with("data: [DONE]"), "{stream}");
        let unknown = post(addr, "/nowhere", "{}");
        assert!(unknown.starts_with("HTTP/1.1 404"), "{addr}: {unknown}");
    }
}
