//! Hot reload with the real binary: SIGHUP and file changes swap the configuration for the
//! next request; a stream opened before finishes on the old one; an invalid file is refused
//! and the old configuration keeps serving. Each test waits on the gateway's own log lines
//! (`configuration reload armed`, `configuration reloaded`, `… rejected`), never on a sleep.

#![allow(clippy::unwrap_used)] // a failed step fails the test

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

mod gateway;
use gateway::{http_get_with, start_logged, wait_for_log};

/// `[[auth.api_keys]]` for each key (its SHA-256, as the file keeps it).
fn keys(keys: &[(&str, &str)]) -> String {
    keys.iter()
        .map(|(sha, subject)| {
            format!("[[auth.api_keys]]\nkey_sha256 = \"{sha}\"\nsubject = \"{subject}\"\n")
        })
        .collect()
}

/// `printf %s key-one | sha256sum`, and for `key-two`.
const ONE: (&str, &str) = (
    "9b346041bc9a49574eb2665b2ad2a0a3f9f9cce4e42f5d1f26deb8a256b5966a",
    "one",
);
const TWO: (&str, &str) = (
    "c8df51469c308a59bfbd48a3e0bdd228ca922d6032035f5ef6e4ad45f473a9f3",
    "two",
);

fn whoami(addr: SocketAddr, key: &str) -> u16 {
    http_get_with(
        addr,
        "/v1/whoami",
        &format!("Authorization: Bearer {key}\r\n"),
    )
    .0
}

#[test]
fn key_hashes_are_those_of_the_keys() {
    // The constants above are what the file holds: checked, so the tests below mean what
    // they say.
    for (key, (sha, _)) in [("key-one", ONE), ("key-two", TWO)] {
        let out = std::process::Command::new("sh")
            .args(["-c", &format!("printf %s {key} | sha256sum")])
            .output()
            .expect("sha256sum");
        assert!(
            String::from_utf8_lossy(&out.stdout).starts_with(sha),
            "{key}"
        );
    }
}

#[test]
fn sighup_applies_a_new_key_to_the_next_request() {
    let dir = gateway::scratch("reload-hup");
    let file = dir.join("gw.toml");
    std::fs::write(&file, keys(&[ONE])).unwrap();
    let config = file.to_str().unwrap();
    let (gw, logs) = start_logged(&dir, &["--config", config, "--no-watch"]);
    wait_for_log(&logs, &["configuration reload armed"]);
    assert_eq!(whoami(gw.addr, "key-one"), 200);
    assert_eq!(whoami(gw.addr, "key-two"), 401);

    std::fs::write(&file, keys(&[TWO])).unwrap();
    // Not watching the file: nothing changes until the signal.
    assert_eq!(whoami(gw.addr, "key-two"), 401);
    let hup = std::process::Command::new("kill")
        .args(["-HUP", &gw.child.id().to_string()])
        .status()
        .expect("kill -HUP");
    assert!(hup.success());
    wait_for_log(&logs, &["configuration reloaded", "generation=1"]);
    assert_eq!(whoami(gw.addr, "key-two"), 200);
    assert_eq!(whoami(gw.addr, "key-one"), 401);
}

#[test]
fn a_file_change_applies_a_new_rule_and_an_invalid_file_keeps_the_old_config() {
    let dir = gateway::scratch("reload-watch");
    let file = dir.join("gw.toml");
    let rule = |cond: &str| {
        format!(
            "{}[authorize]\n[[authorize.rules]]\nid = \"r\"\neffect = \"allow\"\ncondition = \"{cond}\"\n",
            keys(&[ONE, TWO])
        )
    };
    std::fs::write(&file, rule("caller.subject == 'one'")).unwrap();
    let (gw, logs) = start_logged(&dir, &["--config", file.to_str().unwrap()]);
    wait_for_log(&logs, &["configuration reload armed"]);
    assert_eq!(whoami(gw.addr, "key-one"), 200);
    assert_eq!(whoami(gw.addr, "key-two"), 403);

    std::fs::write(&file, rule("caller.subject == 'two'")).unwrap();
    wait_for_log(&logs, &["configuration reloaded", "generation=1"]);
    assert_eq!(whoami(gw.addr, "key-two"), 200);
    assert_eq!(whoami(gw.addr, "key-one"), 403);

    // Two problems: one log line names both, and the running configuration stays.
    std::fs::write(
        &file,
        format!("{}[server]\nlisten_typo = 1\n", rule("caller.(")),
    )
    .unwrap();
    let line = wait_for_log(&logs, &["configuration reload rejected"]);
    assert!(line.contains("authorize.rules[0].condition"), "{line}");
    assert!(line.contains("server.listen_typo"), "{line}");
    assert_eq!(whoami(gw.addr, "key-two"), 200);
    assert_eq!(whoami(gw.addr, "key-one"), 403);

    // Fixed, it applies again.
    std::fs::write(&file, rule("true")).unwrap();
    wait_for_log(&logs, &["configuration reloaded", "generation=2"]);
    assert_eq!(whoami(gw.addr, "key-one"), 200);
}

/// An OpenAI-compatible upstream on a loopback port that streams two chunks per call, the
/// second only once `release` fires for the first call (later calls are not held).
struct Upstream {
    addr: SocketAddr,
    calls: Arc<AtomicUsize>,
}

fn upstream(label: &'static str, release: Option<mpsc::Receiver<()>>) -> Upstream {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let release = Arc::new(std::sync::Mutex::new(release));
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let n = counted.fetch_add(1, Ordering::SeqCst);
            let hold = if n == 0 {
                release.lock().unwrap().take()
            } else {
                None
            };
            std::thread::spawn(move || serve_stream(stream, label, hold));
        }
    });
    Upstream { addr, calls }
}

fn serve_stream(stream: TcpStream, label: &str, hold: Option<mpsc::Receiver<()>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    let chunk = |text: &str, finish: &str| {
        format!(
            "data: {{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":0,\"model\":\"m\",\
             \"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{text}\"}},\"finish_reason\":{finish}}}]}}\n\n"
        )
    };
    let mut out = stream;
    let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n";
    let _ = out.write_all(head.as_bytes());
    let _ = out.write_all(chunk(&format!("{label}-first"), "null").as_bytes());
    let _ = out.flush();
    if let Some(hold) = hold {
        let _ = hold.recv();
    }
    let _ = out.write_all(chunk(&format!("{label}-second"), "\"stop\"").as_bytes());
    let _ = out.write_all(b"data: [DONE]\n\n");
    let _ = out.flush();
}

fn llm_config(upstream: &Upstream, keys_toml: &str) -> String {
    format!(
        "{keys_toml}[llm]\n[[llm.providers]]\nname = \"up\"\nkind = \"openai\"\n\
         base_url = \"http://{}/v1\"\n[[llm.deployments]]\nalias = \"m\"\nprovider = \"up\"\nmodel = \"m\"\n",
        upstream.addr
    )
}

/// Opens a streamed chat completion; returns the socket once `until` has been read.
fn open_stream(addr: SocketAddr, key: &str, until: &str) -> (TcpStream, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let body = r#"{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}"#;
    write!(
        s,
        "POST /v1/chat/completions HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut seen = String::new();
    let mut buf = [0; 4096];
    while !seen.contains(until) {
        let n = s.read(&mut buf).expect("read the stream");
        assert!(n > 0, "the stream ended before {until}: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    (s, seen)
}

#[test]
fn a_stream_opened_before_a_reload_finishes_on_the_old_config_and_the_new_upstream_serves_after() {
    let (release, held) = mpsc::channel();
    let old = upstream("old", Some(held));
    let new = upstream("new", None);
    let dir = gateway::scratch("reload-stream");
    let file = dir.join("gw.toml");
    std::fs::write(&file, llm_config(&old, &keys(&[ONE]))).unwrap();
    let (gw, logs) = start_logged(&dir, &["--config", file.to_str().unwrap()]);
    wait_for_log(&logs, &["configuration reload armed"]);

    // Requests keep coming during the swap; none may fail.
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let (stop, addr) = (stop.clone(), gw.addr);
        std::thread::spawn(move || {
            let mut statuses = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                statuses.push(whoami(addr, "key-one"));
            }
            statuses
        })
    };

    let (mut stream, first) = open_stream(gw.addr, "key-one", "old-first");
    // The new configuration: another key, another upstream for the same model.
    std::fs::write(&file, llm_config(&new, &keys(&[ONE, TWO]))).unwrap();
    wait_for_log(&logs, &["configuration reloaded", "generation=1"]);

    // New requests: the new key is known, and the new upstream serves the model.
    assert_eq!(whoami(gw.addr, "key-two"), 200);
    let (mut next, mut rest) = open_stream(gw.addr, "key-two", "new-first");
    next.read_to_string(&mut rest).unwrap();
    assert!(
        rest.contains("new-second") && rest.contains("[DONE]"),
        "{rest}"
    );
    assert_eq!(new.calls.load(Ordering::SeqCst), 1);
    assert_eq!(
        old.calls.load(Ordering::SeqCst),
        1,
        "the old upstream got no new call"
    );

    // The stream opened before the reload completes, from the old upstream.
    release.send(()).unwrap();
    let mut tail = String::new();
    stream.read_to_string(&mut tail).unwrap();
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    assert!(
        tail.contains("old-second") && tail.contains("[DONE]"),
        "{tail}"
    );

    stop.store(true, Ordering::SeqCst);
    let statuses = load.join().unwrap();
    assert!(!statuses.is_empty());
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
}
