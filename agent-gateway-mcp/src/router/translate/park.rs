//! A modern client in front of a legacy upstream: the upstream asks for input with real
//! requests during the call, which a modern client cannot be sent. The call is parked (kept
//! running in its own task, its requests waiting) and the client gets an `input_required`
//! result naming them, with a `requestState` that names the parked call. The client's retry
//! answers the requests and resumes the call, which then finishes or asks again.
//!
//! Parked calls live in memory on the replica that parked them, each for as long as the
//! upstream call may take (its own timeout ends it), at most [`MAX_PARKED`] at once and
//! [`MAX_PARKED_PER_OWNER`] for one caller, so that one caller cannot take every place (a
//! caller over its share is refused with -32602 while others still park). A parked call is
//! bound to the upstream that serves it, the method, the name or URI, and the caller: a
//! retry differing in any of them finds nothing. A `requestState` is the gateway's own only
//! when it carries its prefix; any other goes to the upstream untouched (a modern upstream's
//! own MRTR).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use agent_gateway_core::BoxError;
use agent_gateway_core::jsonrpc::ErrorObject;
use ring::rand::{SecureRandom, SystemRandom};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::McpError;
use crate::method::McpMethod;
use crate::notify::{Notifier, Outgoing, Reply};
use crate::request::Owner;
use crate::upstream::UpstreamRequest;

/// The most calls parked at once on one federation: each holds an upstream call and its task,
/// so this bounds what clients that never retry can hold.
pub const MAX_PARKED: usize = 1024;

/// The most calls one caller may have parked at once: a share of [`MAX_PARKED`] large enough
/// for an agent running many tools in parallel, small enough that 16 callers fit.
pub const MAX_PARKED_PER_OWNER: usize = 64;

/// How long a parked call waits for the client's retry.
pub const PARK_TIMEOUT: Duration = Duration::from_secs(300);

/// The prefix of the gateway's own `requestState`.
pub(super) const STATE_PREFIX: &str = "agw-parked.";

type Outcome = Result<Map<String, Value>, BoxError>;

struct Call {
    /// What the retry must be: the method, the name or URI it addresses, and the caller.
    binding: Binding,
    task: JoinHandle<Outcome>,
    asks: mpsc::Receiver<Outgoing>,
    waiting: Vec<(String, Reply)>,
    expires: Instant,
}

/// Calls parked while a modern client is asked for input (see the module docs).
pub struct Parked {
    calls: Mutex<HashMap<String, Call>>,
    rng: SystemRandom,
    max: usize,
    per_owner: usize,
}

impl Default for Parked {
    fn default() -> Self {
        Parked::new(MAX_PARKED, MAX_PARKED_PER_OWNER)
    }
}

impl std::fmt::Debug for Parked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.calls.lock().map_or(0, |c| c.len());
        f.debug_struct("Parked").field("calls", &n).finish()
    }
}

impl Parked {
    /// A table of at most `max` parked calls, `per_owner` of them for one caller (each at
    /// least 1).
    pub fn new(max: usize, per_owner: usize) -> Self {
        Parked {
            calls: Mutex::default(),
            rng: SystemRandom::new(),
            max: max.max(1),
            per_owner: per_owner.max(1),
        }
    }

    /// How many calls are parked now.
    pub fn len(&self) -> usize {
        self.calls.lock().map_or(0, |c| c.len())
    }

    /// Whether no call is parked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn park(&self, call: Call) -> Result<String, BoxError> {
        let mut bytes = [0u8; 16];
        self.rng
            .fill(&mut bytes)
            .map_err(|_| invalid("no randomness to name a parked call"))?;
        let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let mut calls = self
            .calls
            .lock()
            .map_err(|_| invalid("parked calls unavailable"))?;
        let now = Instant::now();
        calls.retain(|_, c| {
            let live = c.expires > now && !c.task.is_finished();
            if !live {
                c.task.abort();
            }
            live
        });
        let owner = &call.binding.owner;
        let held = calls.values().filter(|c| c.binding.owner == *owner).count();
        if held >= self.per_owner {
            call.task.abort();
            return Err(invalid(
                "too many of this caller's calls wait for input: answer or abandon some first",
            ));
        }
        if calls.len() >= self.max {
            call.task.abort();
            return Err(invalid("too many calls wait for input"));
        }
        calls.insert(id.clone(), call);
        Ok(format!("{STATE_PREFIX}{id}"))
    }

    fn take(&self, state: &str, binding: &Binding) -> Result<Call, BoxError> {
        let id = state.strip_prefix(STATE_PREFIX).unwrap_or(state);
        let mut calls = self
            .calls
            .lock()
            .map_err(|_| invalid("parked calls unavailable"))?;
        match calls.get(id) {
            Some(c) if c.binding == *binding && c.expires > Instant::now() => {}
            _ => return Err(invalid("Invalid or expired requestState")),
        }
        calls
            .remove(id)
            .ok_or_else(|| invalid("Invalid or expired requestState"))
    }
}

fn invalid(message: &str) -> BoxError {
    Box::new(McpError::InvalidParams(message.to_owned()))
}

/// What a retry must match: the upstream, the method, the name or URI it addresses, and the
/// caller.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Binding {
    /// The upstream member serving the call (empty for a single upstream).
    upstream: String,
    method: McpMethod,
    target: Option<String>,
    owner: Option<Owner>,
}

fn binding(upstream: &str, req: &UpstreamRequest) -> Binding {
    let target = ["name", "uri"]
        .iter()
        .find_map(|k| req.params().get(*k).and_then(Value::as_str))
        .map(str::to_owned);
    Binding {
        upstream: upstream.to_owned(),
        method: req.method().clone(),
        target,
        owner: req.client().and_then(|c| c.owner()).cloned(),
    }
}

/// See [`super::send_fulfilling`]: the path of a client that cannot be asked.
pub(super) async fn send_parking<F, Fut>(
    upstream: &str,
    mut req: UpstreamRequest,
    parked: &Parked,
    mut send: F,
) -> Outcome
where
    F: FnMut(UpstreamRequest) -> Fut,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    let outer = req.notifier().cloned();
    let ours = req
        .params()
        .get("requestState")
        .and_then(Value::as_str)
        .filter(|s| s.starts_with(STATE_PREFIX))
        .map(str::to_owned);
    let bind = binding(upstream, &req);
    if let Some(state) = ours {
        // A retry answering a parked call's requests: resume it.
        let mut call = parked.take(&state, &bind)?;
        let mut responses = match req.params().get("inputResponses") {
            Some(Value::Object(r)) => r.clone(),
            _ => Map::new(),
        };
        for (key, reply) in call.waiting.drain(..) {
            match responses.remove(&key) {
                Some(Value::Object(answer)) => reply.send(Ok(answer)),
                _ => reply.send(Err(ErrorObject::new(
                    ErrorObject::INVALID_PARAMS,
                    "the client gave no answer",
                ))),
            }
        }
        let task: Pin<Box<dyn Future<Output = Outcome> + Send>> = Box::pin(joined(call.task));
        return drive(task, call.asks, outer, parked, bind).await;
    }
    // A first call: give the upstream a notifier it can ask through.
    let (inner, asks) = match &outer {
        Some(n) => n.channel_like(),
        None => Notifier::channel(None)
            .0
            .with_log_level(None)
            .channel_like(),
    };
    req = req.with_notifier(Some(inner.with_requests()));
    let call: Pin<Box<dyn Future<Output = Outcome> + Send>> = Box::pin(send(req));
    drive(call, asks, outer, parked, bind).await
}

async fn joined(task: JoinHandle<Outcome>) -> Outcome {
    task.await
        .unwrap_or_else(|_| Err(invalid("the parked call ended")))
}

/// Runs `call`, relaying its notifications to `outer`; when the upstream asks for input, parks
/// the call and answers `input_required`.
async fn drive(
    mut call: Pin<Box<dyn Future<Output = Outcome> + Send>>,
    mut asks: mpsc::Receiver<Outgoing>,
    outer: Option<Notifier>,
    parked: &Parked,
    bind: Binding,
) -> Outcome {
    loop {
        let first = tokio::select! {
            // What the upstream said before it answered goes first, in order.
            biased;
            Some(o) = asks.recv() => o,
            out = &mut call => {
                while let Ok(Outgoing::Notification((method, params))) = asks.try_recv() {
                    if let Some(n) = &outer {
                        n.notify(&method, params).await;
                    }
                }
                return out;
            }
        };
        let request = match first {
            Outgoing::Notification((method, params)) => {
                if let Some(n) = &outer {
                    n.notify(&method, params).await;
                }
                continue;
            }
            Outgoing::Request(r) => r,
        };
        // Every request the upstream has sent by now goes to the client at once.
        let mut waiting = vec![request];
        while let Ok(o) = asks.try_recv() {
            match o {
                Outgoing::Request(r) => waiting.push(r),
                Outgoing::Notification((method, params)) => {
                    if let Some(n) = &outer {
                        n.notify(&method, params).await;
                    }
                }
            }
        }
        let mut inputs = Map::new();
        let mut replies = Vec::new();
        for (i, r) in waiting.into_iter().enumerate() {
            let (method, params, reply) = r.into_parts();
            let key = format!("upstream-{}", i + 1);
            inputs.insert(key.clone(), json!({"method": method, "params": params}));
            replies.push((key, reply));
        }
        let task = tokio::spawn(call);
        let state = parked.park(Call {
            binding: bind,
            task,
            asks,
            waiting: replies,
            expires: Instant::now() + PARK_TIMEOUT,
        })?;
        let mut result = Map::new();
        result.insert("resultType".into(), json!("input_required"));
        result.insert("inputRequests".into(), Value::Object(inputs));
        result.insert("requestState".into(), json!(state));
        return Ok(result);
    }
}
