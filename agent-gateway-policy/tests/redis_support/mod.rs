//! A real `redis-server` on a loopback port picked by the OS, killed when dropped.
//!
//! A test starts with `let Some(_) = redis_support::installed() else { return };`: without a
//! `redis-server` it skips with one `skipped:` line on stderr, or with `AGW_REQUIRE_PEERS=1`
//! (which `.ci/test` sets) fails saying how to install it. `AGW_REDIS_SERVER` names the binary
//! to use instead of looking on PATH (a missing path there is a missing server).

#![allow(dead_code)] // each test binary uses a part

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the server may take to come up or go down.
const STARTUP: Duration = Duration::from_secs(10);

/// A running `redis-server`. Dropping it kills the process.
pub(crate) struct RedisServer {
    binary: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts a server on a free port and waits until it answers PING.
    ///
    /// Panics, failing the test, if `redis-server` is not installed.
    pub(crate) fn start() -> Self {
        let binary = find_binary();
        let port = {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
            listener.local_addr().expect("local addr").port()
        };
        let mut server = RedisServer {
            binary,
            port,
            child: None,
        };
        server.restart();
        server
    }

    /// The URL to connect to.
    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server and waits until its port refuses connections.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let deadline = Instant::now() + STARTUP;
        while TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
            assert!(Instant::now() < deadline, "redis-server did not go down");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts the server (again) on the same port and waits until it answers PING.
    pub(crate) fn restart(&mut self) {
        assert!(self.child.is_none(), "the server is already running");
        let child = Command::new(&self.binary)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.binary.display()));
        self.child = Some(child);
        let deadline = Instant::now() + STARTUP;
        while !self.pings() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not answer PING on port {} within {STARTUP:?}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn pings(&self) -> bool {
        let Ok(mut conn) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = conn.set_read_timeout(Some(Duration::from_secs(1)));
        let mut buf = [0u8; 7];
        conn.write_all(b"PING\r\n").is_ok()
            && conn.read_exact(&mut buf).is_ok()
            && &buf == b"+PONG\r\n"
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `AGW_REDIS_SERVER` when set; else `redis-server` on PATH, or the Debian package's path.
fn lookup() -> Option<PathBuf> {
    if let Some(binary) = std::env::var_os("AGW_REDIS_SERVER") {
        return Some(PathBuf::from(binary)).filter(|p| p.is_file());
    }
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("redis-server"))
            .find(|p| p.is_file())
    });
    on_path.or_else(|| Some(PathBuf::from("/usr/bin/redis-server")).filter(|p| p.is_file()))
}

const MISSING: &str = "redis-server is not installed (not AGW_REDIS_SERVER, not on PATH, nor \
                       /usr/bin/redis-server): run .ci/peers to install it";

/// The `redis-server` binary, or `None` with a `skipped:` notice (a failure under
/// `AGW_REQUIRE_PEERS=1`).
pub(crate) fn installed() -> Option<PathBuf> {
    let found = lookup();
    if found.is_none() {
        agent_gateway_core::testkit::peers::missing(
            "redis-server (AGW_REDIS_SERVER, PATH, /usr/bin)",
            MISSING,
        );
    }
    found
}

fn find_binary() -> PathBuf {
    lookup().unwrap_or_else(|| panic!("{MISSING}"))
}
