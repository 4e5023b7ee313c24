//! Which run a call belongs to, when it carries no budget header.

use agent_gateway_core::{AgentRequest, RunId};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Where the run id of a call without a budget header comes from; the layer tries its
/// sources in order and takes the first that yields one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RunSource {
    /// An explicit request header, by default [`RUN_ID_HEADER`](agent_gateway_core::run::RUN_ID_HEADER).
    Header(http::HeaderName),
    /// The MCP session (`mcp-session-id`), for MCP requests.
    McpSession,
    /// The A2A context, else the task, named in an A2A request's parameters.
    A2aContext,
    /// The W3C trace id of the `traceparent` header.
    TraceParent,
}

impl RunSource {
    /// The default order: explicit header, MCP session, A2A context or task, trace id.
    pub fn defaults() -> Vec<RunSource> {
        vec![
            RunSource::Header(http::HeaderName::from_static(
                agent_gateway_core::run::RUN_ID_HEADER,
            )),
            RunSource::McpSession,
            RunSource::A2aContext,
            RunSource::TraceParent,
        ]
    }

    /// The run this source names for `req`, if any. A value that is not a valid run id
    /// (too long, not visible ASCII) is hashed into one, so it still names one run.
    pub fn resolve(&self, req: &dyn AgentRequest) -> Option<RunId> {
        let raw = match self {
            RunSource::Header(name) => req.headers().get(name)?.to_str().ok()?.to_owned(),
            RunSource::McpSession if req.protocol() == "mcp" => {
                let id = req.headers().get("mcp-session-id")?.to_str().ok()?;
                format!("mcp:{id}")
            }
            RunSource::A2aContext if req.protocol() == "a2a" => {
                format!("a2a:{}", a2a_context(req.arguments()?)?)
            }
            RunSource::TraceParent => format!("trace:{}", trace_id(req)?),
            _ => return None,
        };
        if raw.is_empty() {
            return None;
        }
        RunId::new(&raw).ok().or_else(|| {
            let digest = Sha256::digest(raw.as_bytes());
            let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            RunId::new(format!("h:{hex}")).ok()
        })
    }
}

/// The context id, else the task id, of A2A parameters (`message.contextId`,
/// `message.taskId`, or a task operation's `id`).
fn a2a_context(params: &Value) -> Option<&str> {
    let message = params.get("message");
    fn field<'a>(v: Option<&'a Value>, k: &str) -> Option<&'a str> {
        v.and_then(|m| m.get(k)).and_then(Value::as_str)
    }
    field(message, "contextId")
        .or_else(|| field(message, "taskId"))
        .or_else(|| params.get("contextId").and_then(Value::as_str))
        .or_else(|| params.get("id").and_then(Value::as_str))
}

/// The trace id of a valid `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`, not all zeros).
fn trace_id(req: &dyn AgentRequest) -> Option<&str> {
    let value = req.headers().get("traceparent")?.to_str().ok()?;
    let mut parts = value.split('-');
    let (_version, trace) = (parts.next()?, parts.next()?);
    let hex = trace.len() == 32 && trace.bytes().all(|b| b.is_ascii_hexdigit());
    (hex && trace.bytes().any(|b| b != b'0')).then_some(trace)
}

#[cfg(test)]
mod tests {
    use agent_gateway_core::{Action, Call};
    use http::HeaderValue;
    use serde_json::json;

    use super::*;

    fn resolve(req: &dyn AgentRequest) -> Option<String> {
        RunSource::defaults()
            .iter()
            .find_map(|s| s.resolve(req))
            .map(|r| r.as_str().to_owned())
    }

    #[test]
    fn sources_in_order() {
        let trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        let mut call = Call::new(
            Action::AgentMessage,
            json!({"message": {"contextId": "c9"}}),
        )
        .with_protocol("a2a");
        call.headers_mut()
            .insert("traceparent", HeaderValue::from_static(trace));
        assert_eq!(resolve(&call).as_deref(), Some("a2a:c9"));
        call.headers_mut()
            .insert("agw-run-id", HeaderValue::from_static("r-1"));
        assert_eq!(resolve(&call).as_deref(), Some("r-1"));

        let mut mcp = Call::new(Action::ToolCall, json!({})).with_protocol("mcp");
        mcp.headers_mut()
            .insert("traceparent", HeaderValue::from_static(trace));
        assert_eq!(
            resolve(&mcp).as_deref(),
            Some("trace:0af7651916cd43dd8448eb211c80319c")
        );
        mcp.headers_mut()
            .insert("mcp-session-id", HeaderValue::from_static("s1"));
        assert_eq!(resolve(&mcp).as_deref(), Some("mcp:s1"));
    }

    #[test]
    fn bad_values_are_skipped_or_hashed() {
        let mut call = Call::new(Action::ToolCall, json!({}));
        call.headers_mut().insert(
            "traceparent",
            HeaderValue::from_static("00-00000000000000000000000000000000-b7ad6b7169203331-01"),
        );
        assert_eq!(resolve(&call), None);
        let long = "x".repeat(300);
        call.headers_mut()
            .insert("agw-run-id", HeaderValue::from_str(&long).unwrap());
        let id = resolve(&call).unwrap();
        assert!(id.starts_with("h:") && id.len() == 66);
    }
}
