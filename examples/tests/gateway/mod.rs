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
    let mut child = Command::new(env!("CARGO_BIN_EXE_gateway"))
        .args(["--listen", "127.0.0.1:0"])
        .args(extra)
        .current_dir(cwd)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn gateway");
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
