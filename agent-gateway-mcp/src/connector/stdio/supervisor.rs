//! The child's life: spawn, handshake, serve, and on a crash a restart after an exponential,
//! capped backoff; on shutdown, stdin closed, a bounded wait, then a kill.

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use agent_gateway_core::BoxError;
use agent_gateway_core::jsonrpc::{Message, Notification};
use serde_json::{Map, Value, json};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot, watch};

use super::Shared;
use super::lines::{Line, MAX_LINE, next_line};
use super::link::{self, Link, Writer};
use crate::era::LEGACY_VERSIONS;

/// The delay before restart number `failures` (1-based): `base` doubled each time, at most
/// `max`.
pub(super) fn backoff(failures: u32, base: Duration, max: Duration) -> Duration {
    let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(16));
    base.saturating_mul(factor).min(max)
}

/// Resolves once shutdown is asked for, or every handle is gone.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    while !*stop.borrow_and_update() {
        if stop.changed().await.is_err() {
            return;
        }
    }
}

/// Runs the child until shutdown; marks `done` at the end.
pub(super) async fn run(
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    done: watch::Sender<bool>,
) {
    let mut failures = 0u32;
    loop {
        match spawn(&shared) {
            Ok((mut child, mut stuck)) => {
                shared.starts.fetch_add(1, Ordering::SeqCst);
                let outcome =
                    serve(&shared, &mut child, &mut stop, &mut stuck, &mut failures).await;
                take_down(&shared);
                if outcome == Ended::Stopped {
                    graceful(&shared, child).await;
                    break;
                }
                let _ = child.kill().await;
            }
            Err(e) => {
                tracing::warn!(upstream = %shared.label, error = %e, "mcp stdio: could not start");
            }
        }
        failures = failures.saturating_add(1);
        let delay = backoff(failures, shared.config.backoff, shared.config.max_backoff);
        tracing::warn!(upstream = %shared.label, ?delay, "mcp stdio: restarting after a delay");
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = stopped(&mut stop) => break,
        }
    }
    take_down(&shared);
    let _ = done.send(true);
}

/// Fails what is in flight and closes the child's stdin (the writer's channel ends).
fn take_down(shared: &Shared) {
    let link = shared.slot.lock().ok().and_then(|mut s| s.take());
    shared.ready.send_replace(false);
    if let Some(mut link) = link {
        link.fail_all();
        // Listeners listen again once a new child is up: its subscriptions start afresh.
        let _ = shared.changes.send(super::listen::Change::Down);
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Ended {
    Crashed,
    Stopped,
}

/// Starts the child: it, and what fires when its stdin stalls.
fn spawn(shared: &Arc<Shared>) -> Result<(Child, oneshot::Receiver<()>), BoxError> {
    let c = &shared.config;
    let mut cmd = Command::new(&c.program);
    if !c.inherit_env {
        cmd.env_clear();
    }
    if let Some(dir) = &c.current_dir {
        cmd.current_dir(dir);
    }
    cmd.args(&c.args)
        .envs(c.env.iter().map(|(k, v)| (k, v.expose())))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn()?;
    let (Some(mut stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err("child pipes missing".into());
    };
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let queued = Arc::new(AtomicUsize::new(0));
    if let Ok(mut slot) = shared.slot.lock() {
        *slot = Some(Link::new(Writer::new(tx, queued.clone(), c.max_queued)));
    }
    // Writer: ends, closing stdin, when the link is taken down; a line the child does not take
    // within the stall timeout marks it stuck.
    let (stuck_tx, stuck) = oneshot::channel();
    let stall = c.stall_timeout;
    let label = shared.label.clone();
    tokio::spawn(async move {
        while let Some(line) = rx.recv().await {
            let write = async {
                stdin.write_all(&line).await?;
                stdin.flush().await
            };
            let wrote = tokio::time::timeout(stall, write).await;
            queued.fetch_sub(line.len(), Ordering::SeqCst);
            match wrote {
                Ok(Ok(())) => {}
                Ok(Err(_)) => break,
                Err(_) => {
                    tracing::warn!(upstream = %label, "mcp stdio: the child stopped reading its input");
                    let _ = stuck_tx.send(());
                    break;
                }
            }
        }
    });
    let reader = shared.clone();
    tokio::spawn(async move {
        let (mut out, mut buf) = (BufReader::new(stdout), Vec::new());
        loop {
            match next_line(&mut out, &mut buf, MAX_LINE).await {
                Ok(Line::Whole) => link::incoming(&reader, &buf),
                Ok(Line::TooLong) => {
                    tracing::warn!(upstream = %reader.label, "mcp stdio: skipped an over-long line");
                }
                Ok(Line::End) | Err(_) => break,
            }
        }
    });
    let label = shared.label.clone();
    tokio::spawn(async move {
        let (mut err, mut buf) = (BufReader::new(stderr), Vec::new());
        // Stderr is for people: lines are cut short well before a message's limit.
        while let Ok(line @ (Line::Whole | Line::TooLong)) =
            next_line(&mut err, &mut buf, 4096).await
        {
            let text = String::from_utf8_lossy(&buf);
            let cut = line == Line::TooLong;
            tracing::info!(upstream = %label, stderr = %text, cut, "mcp stdio: upstream stderr");
        }
    });
    Ok((child, stuck))
}

/// Handshakes, then serves until the child exits or shutdown is asked for.
async fn serve(
    shared: &Arc<Shared>,
    child: &mut Child,
    stop: &mut watch::Receiver<bool>,
    stuck: &mut oneshot::Receiver<()>,
    failures: &mut u32,
) -> Ended {
    let timeout = shared.config.request_timeout;
    tokio::select! {
        r = tokio::time::timeout(timeout, handshake(shared)) => match r {
            Ok(Ok(())) => *failures = 0,
            Ok(Err(e)) => {
                tracing::warn!(upstream = %shared.label, error = %e, "mcp stdio: initialize failed");
                return Ended::Crashed;
            }
            Err(_) => {
                tracing::warn!(upstream = %shared.label, "mcp stdio: initialize timed out");
                return Ended::Crashed;
            }
        },
        status = child.wait() => {
            tracing::warn!(upstream = %shared.label, ?status, "mcp stdio: exited during initialize");
            return Ended::Crashed;
        }
        Ok(()) = &mut *stuck => return Ended::Crashed,
        () = stopped(stop) => return Ended::Stopped,
    }
    tokio::select! {
        status = child.wait() => {
            tracing::warn!(upstream = %shared.label, ?status, "mcp stdio: exited");
            Ended::Crashed
        }
        // Restarted: its queue and calls fail now, not at their timeouts.
        Ok(()) = &mut *stuck => Ended::Crashed,
        () = stopped(stop) => Ended::Stopped,
    }
}

async fn handshake(shared: &Arc<Shared>) -> Result<(), BoxError> {
    let params = json!({
        "protocolVersion": LEGACY_VERSIONS[0],
        "capabilities": shared.capabilities,
        "clientInfo": {"name": "agent-gateway", "version": env!("CARGO_PKG_VERSION")},
    });
    let params = match params {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let result = super::exchange(shared, "initialize", params, None, None, false).await?;
    let version = result.get("protocolVersion").and_then(Value::as_str);
    if !version.is_some_and(|v| LEGACY_VERSIONS.contains(&v)) {
        return Err(format!("upstream speaks no version we do: {version:?}").into());
    }
    let mut slot = shared.slot.lock().map_err(|_| "link lock poisoned")?;
    let link = slot.as_mut().ok_or("child gone during initialize")?;
    link.send(Message::from(Notification::new("notifications/initialized")).to_vec())?;
    link.ready = true;
    shared.ready.send_replace(true);
    Ok(())
}

/// Closes stdin, waits a bounded time for the child to leave, then kills it.
async fn graceful(shared: &Shared, mut child: Child) {
    match tokio::time::timeout(shared.config.shutdown_timeout, child.wait()).await {
        Ok(_) => {}
        Err(_) => {
            tracing::warn!(upstream = %shared.label, "mcp stdio: did not exit on stdin close; killing");
            let _ = child.kill().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let (base, max) = (Duration::from_millis(100), Duration::from_secs(1));
        let delays: Vec<_> = (1..=6).map(|n| backoff(n, base, max).as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(backoff(u32::MAX, base, max), max);
    }
}
