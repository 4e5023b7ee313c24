//! [`AuditRecord`]: what one call leaves in the audit log, and how it is read off a request.

use std::time::{SystemTime, UNIX_EPOCH};

use agent_gateway_core::{AgentRequest, Caller, Usage};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

/// One call, as the audit log keeps it: who, what, the decision, the outcome, what it used.
///
/// Fields are written in this order, and the chain hash covers the exact bytes written (see
/// [`chain`](super::chain)). Optional fields are left out when empty.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuditRecord {
    /// Position in the chain, from 0, without gaps.
    pub seq: u64,
    /// The hash of the previous record (hex SHA-256); [`GENESIS`](super::chain::GENESIS) for
    /// the first.
    pub prev: String,
    /// When the call arrived, in milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// Who called, if known when the record was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<CallerRecord>,
    /// `mcp`, `a2a`, `llm`, `http`.
    pub protocol: String,
    /// The action's snake_case name (`tool_call`, `model_call`, ...). A request refused at the
    /// edge, before its body was read, has the action its request line tells
    /// ([`EdgeAuditLayer`](super::EdgeAuditLayer)), or [`UNKNOWN_ACTION`](super::edge::UNKNOWN_ACTION)
    /// (`unknown`) when only the body would (an MCP or A2A JSON-RPC `POST`).
    pub action: String,
    /// The tool, agent or model addressed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The SHA-256 (hex) of the arguments' compact JSON, as the request carried them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments_sha256: Option<String>,
    /// The arguments themselves, when the layer is configured to keep them: the exact compact
    /// JSON that `arguments_sha256` digests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<RawJson>,
    /// `allow` or `deny`.
    pub decision: String,
    /// The rule that denied the call, when the denial names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The rules that warned about the call and let it through (a run's loop in warn mode, a
    /// flagged tool change), as its answer's `agw-*-warning` headers name them. Left out when
    /// empty, so records written before the field existed verify as they are.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// `ok`, `aborted` (a stream the client left early), `failed` (a stream the upstream
    /// broke off), `denied` or `error`.
    pub outcome: String,
    /// For `denied`, the denial's kind (`forbidden`, `quota_exceeded`, ...); for `error`,
    /// `upstream` (the upstream answered with an error: see `upstream_status` and
    /// `upstream_code`), `timeout`, `unavailable` or `internal` (the gateway's own fault); for
    /// `failed`, the stream's [`Failure`](agent_gateway_core::response::Failure): `timeout`,
    /// `unavailable` or `upstream`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<String>,
    /// The HTTP error status the upstream answered with, when it did (an MCP server's 500, a
    /// provider's 429), from the call's
    /// [`UpstreamError`](agent_gateway_core::response::UpstreamError). Left out when empty, so
    /// records written before the field existed verify as they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_status: Option<u16>,
    /// The JSON-RPC error code the upstream answered with, when it did (an MCP server's or an
    /// A2A agent's error). Left out when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_code: Option<i64>,
    /// What the call used, when the response reported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<UsageRecord>,
    /// Milliseconds from the call reaching the layer to its response (or its denial).
    pub latency_ms: u64,
    /// For a stream, milliseconds from the call to the stream's end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// The run the call belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// The W3C trace id from the request's `traceparent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    /// The upstream that served the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    /// The instance of the upstream that served it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// This record's hash (hex SHA-256 of the record's bytes without this field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
}

/// The caller of an audited call.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CallerRecord {
    /// The stable principal id (authenticator, issuer, tenant, subject): what caller queries
    /// match on.
    pub principal: String,
    /// The subject.
    pub subject: String,
    /// How the caller authenticated (`api_key`, `jwt`, `mtls`, ...).
    pub authenticator: String,
    /// The token issuer, for JWT callers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// The tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
}

impl From<&Caller> for CallerRecord {
    fn from(c: &Caller) -> Self {
        CallerRecord {
            principal: c.principal_id().to_owned(),
            subject: c.subject().to_owned(),
            authenticator: c.method().as_str().to_owned(),
            issuer: c.issuer().map(str::to_owned),
            tenant: c.tenant().map(str::to_owned),
        }
    }
}

/// What an audited call used.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UsageRecord {
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Steps.
    pub steps: u64,
    /// The cost in nano-dollars, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_nano_usd: Option<u64>,
}

impl From<&Usage> for UsageRecord {
    fn from(u: &Usage) -> Self {
        UsageRecord {
            input_tokens: u.input_tokens,
            output_tokens: u.output_tokens,
            steps: u.steps,
            cost_nano_usd: u.cost.map(|c| c.nano_usd()),
        }
    }
}

/// Whether records keep a call's arguments, or only their digest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Arguments {
    /// The SHA-256 of the arguments only: proves what was sent without keeping it.
    #[default]
    Digest,
    /// The arguments themselves (as the request carries them when the audit layer sees it:
    /// redacted, if a guardrail redacting them runs before), and their digest.
    Full,
}

/// A JSON value kept as the compact text it was digested from, written into the record as is:
/// the arguments are serialised once per call, for their digest and their copy alike.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RawJson(Box<RawValue>);

impl RawJson {
    /// The JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
    }

    /// The JSON, parsed.
    pub fn to_value(&self) -> Result<Value, serde_json::Error> {
        serde_json::from_str(self.get())
    }
}

impl PartialEq for RawJson {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl std::fmt::Debug for RawJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.0, f)
    }
}

/// Reads the request's identity into `record`: caller, protocol, action, target, run id and
/// trace id. Cheap, and allocates only for what changed since the record last read it, so each
/// [`AuditTap`](super::AuditTap) may call it.
pub(super) fn read_identity(record: &mut AuditRecord, req: &dyn AgentRequest) {
    let caller = req.caller();
    if record.caller.as_ref().map(|c| c.principal.as_str()) != caller.map(Caller::principal_id) {
        record.caller = caller.map(CallerRecord::from);
    }
    set_str(&mut record.protocol, req.protocol());
    set_str(&mut record.action, req.action().as_str());
    set_opt(&mut record.target, req.target());
    set_opt(&mut record.run_id, req.run_id().map(|r| r.as_str()));
    let trace = req
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .and_then(trace_id);
    set_opt(&mut record.trace_id, trace);
}

fn set_str(field: &mut String, value: &str) {
    if field != value {
        value.clone_into(field);
    }
}

fn set_opt(field: &mut Option<String>, value: Option<&str>) {
    if field.as_deref() != value {
        *field = value.map(str::to_owned);
    }
}

/// Reads the request's arguments into `record`: their digest, and with [`Arguments::Full`]
/// their compact JSON. This is the one costly read (it serialises the whole arguments, a whole
/// model body for an LLM call), so a call's record takes it once, and again only when a
/// guardrail has rewritten the arguments since (see [`Ticket`](super::ticket)).
pub(super) fn read_arguments(record: &mut AuditRecord, req: &dyn AgentRequest, mode: Arguments) {
    #[cfg(test)]
    counted::READS.with(|n| n.set(n.get() + 1));
    let Some(value) = req.arguments() else {
        (record.arguments_sha256, record.arguments) = (None, None);
        return;
    };
    match mode {
        Arguments::Digest => {
            record.arguments_sha256 = Some(digest(value));
            record.arguments = None;
        }
        Arguments::Full => match serde_json::value::to_raw_value(value) {
            Ok(raw) => {
                record.arguments_sha256 = Some(hex(&Sha256::digest(raw.get().as_bytes())));
                record.arguments = Some(RawJson(raw));
            }
            // A `Value` always serializes; should that change, keep at least the digest.
            Err(_) => {
                record.arguments_sha256 = Some(digest(value));
                record.arguments = None;
            }
        },
    }
}

/// How many times this thread read a request's arguments: what the tests count to show a call
/// is serialised once however many taps it passes.
#[cfg(test)]
pub(super) mod counted {
    thread_local! {
        pub(crate) static READS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    /// The count so far.
    pub(crate) fn reads() -> usize {
        READS.with(std::cell::Cell::get)
    }
}

/// The trace id of a W3C `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`), if well formed and
/// not all zeros.
pub(super) fn trace_id(traceparent: &str) -> Option<&str> {
    let mut parts = traceparent.trim().split('-');
    let (_version, id) = (parts.next()?, parts.next()?);
    let hex = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    (id.len() == 32 && hex(id) && id.bytes().any(|b| b != b'0')).then_some(id)
}

fn digest(value: &Value) -> String {
    let mut hasher = HashWriter(Sha256::new());
    // Writing into a hasher cannot fail, and a `Value` always serializes.
    let _ = serde_json::to_writer(&mut hasher, value);
    hex(&hasher.0.finalize())
}

struct HashWriter(Sha256);

impl std::io::Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Lowercase hex of `bytes`.
pub(super) use crate::hex::hex;

pub(super) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_ids_come_only_from_well_formed_traceparents() {
        let id = "4bf92f3577b34da6a3ce929d0e0e4736";
        assert_eq!(trace_id(&format!("00-{id}-00f067aa0ba902b7-01")), Some(id));
        assert_eq!(trace_id("00-0000000000000000000000000000000-x-01"), None);
        assert_eq!(
            trace_id(&format!("00-{}-00f067aa0ba902b7-01", "0".repeat(32))),
            None
        );
        assert_eq!(
            trace_id("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"),
            None
        );
        assert_eq!(trace_id("garbage"), None);
    }
}
