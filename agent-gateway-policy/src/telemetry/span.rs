//! Building a call's span from the request, and filling it in from the response.

use std::fmt;

use agent_gateway_core::response::{AgentResponse, Outcome};
use agent_gateway_core::trace::TraceParent;
use agent_gateway_core::{Action, AgentRequest, BoxError, Denied, Usage};
use serde_json::Value;
use tracing::Span;
use tracing::field::Empty;

use super::semconv::{self, operation_name};

/// The header carrying the MCP session id.
const MCP_SESSION_HEADER: &str = "mcp-session-id";

/// The call's span, in the request's extensions, so that layers further in (through
/// [`AuditTap`](crate::audit::AuditTap)) add what they learn: the caller once auth has run,
/// the run id once the run layer has.
#[derive(Clone)]
pub struct CallSpan(Span);

impl CallSpan {
    /// The span.
    pub fn span(&self) -> &Span {
        &self.0
    }

    /// Records the caller and run id `req` now carries.
    pub fn refresh<R: AgentRequest + ?Sized>(&self, req: &R) {
        if let Some(caller) = req.caller() {
            self.0.record(semconv::AGW_CALLER, caller.principal_id());
        }
        if let Some(run) = req.run_id() {
            self.0.record(semconv::AGW_RUN_ID, run.as_str());
        }
    }
}

impl fmt::Debug for CallSpan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CallSpan").field(&self.0.id()).finish()
    }
}

/// A new span for `req`, with everything the request says. The field names are
/// [`semconv`]'s (a test checks they agree).
pub(super) fn open<R: AgentRequest + ?Sized>(req: &R) -> CallSpan {
    let action = req.action();
    let operation = operation_name(action);
    let target = req.target();
    let name = match target {
        Some(target) => format!("{operation} {target}"),
        None => operation.to_owned(),
    };
    let span = tracing::info_span!(
        "agent_gateway.call",
        otel.name = %name,
        otel.kind = "server",
        otel.status_code = Empty,
        "gen_ai.operation.name" = operation,
        "gen_ai.provider.name" = Empty,
        "gen_ai.request.model" = Empty,
        "gen_ai.response.model" = Empty,
        "gen_ai.usage.input_tokens" = Empty,
        "gen_ai.usage.output_tokens" = Empty,
        "gen_ai.tool.name" = Empty,
        "gen_ai.agent.name" = Empty,
        "gen_ai.conversation.id" = Empty,
        "mcp.method.name" = Empty,
        "mcp.session.id" = Empty,
        "a2a.method" = Empty,
        "a2a.task.id" = Empty,
        "a2a.context.id" = Empty,
        "agw.protocol" = req.protocol(),
        "agw.caller" = Empty,
        "agw.run.id" = Empty,
        "agw.decision" = Empty,
        "agw.rule.id" = Empty,
        "agw.denied.kind" = Empty,
        "agw.outcome" = Empty,
        trace_id = Empty,
    );
    match (action, target) {
        (Action::ModelCall, Some(model)) => {
            span.record(semconv::GEN_AI_REQUEST_MODEL, model);
        }
        (Action::ToolCall, Some(tool)) => {
            span.record(semconv::GEN_AI_TOOL_NAME, tool);
        }
        _ => {}
    }
    match req.protocol() {
        "mcp" => {
            if let Some(method) = req.method() {
                span.record(semconv::MCP_METHOD_NAME, method);
            }
            let session = req.headers().get(MCP_SESSION_HEADER);
            if let Some(session) = session.and_then(|v| v.to_str().ok()) {
                span.record(semconv::MCP_SESSION_ID, session);
            }
        }
        "a2a" => a2a_fields(&span, req),
        _ => {}
    }
    let call = CallSpan(span);
    call.refresh(req);
    call
}

fn a2a_fields<R: AgentRequest + ?Sized>(span: &Span, req: &R) {
    if let Some(method) = req.method() {
        span.record(semconv::A2A_METHOD, method);
    }
    if let Some(agent) = req.target() {
        span.record(semconv::GEN_AI_AGENT_NAME, agent);
    }
    let Some(params) = req.arguments() else {
        return;
    };
    let message = params.get("message");
    let field = |key: &str| {
        message
            .and_then(|m| m.get(key))
            .or_else(|| params.get(key))
            .and_then(Value::as_str)
    };
    let task = field("taskId").or_else(|| params.get("id").and_then(Value::as_str));
    if let Some(task) = task {
        span.record(semconv::A2A_TASK_ID, task);
    }
    if let Some(context) = field("contextId") {
        span.record(semconv::A2A_CONTEXT_ID, context);
        span.record(semconv::GEN_AI_CONVERSATION_ID, context);
    }
}

/// Records the gateway's trace context on the span.
pub(super) fn traced(span: &Span, context: &TraceParent) {
    span.record(semconv::TRACE_ID, context.trace_id());
}

/// Records an answered call: who served it and, now or when its stream ends, its usage. The
/// span (a clone kept until then) ends with the stream.
pub(super) fn answered<T: AgentResponse>(span: Span, protocol: &'static str, response: &T) {
    span.record(semconv::AGW_DECISION, "allow");
    if let Some(served) = response.served_by()
        && protocol == "llm"
    {
        span.record(semconv::GEN_AI_PROVIDER_NAME, served.upstream());
    }
    // A whole answer names its model; a stream is not held to read it, so its model is the
    // one the serving LLM deployment asked the provider for.
    let model = response
        .output()
        .and_then(|out| out.get("model"))
        .and_then(Value::as_str)
        .or_else(|| {
            let served = response.served_by().filter(|_| protocol == "llm")?;
            served.instance()
        });
    if let Some(model) = model {
        span.record(semconv::GEN_AI_RESPONSE_MODEL, model);
    }
    match response.usage_report() {
        Some(report) => report.on_complete(move |usage, outcome| ended(&span, usage, outcome)),
        None => {
            span.record(semconv::AGW_OUTCOME, "ok");
        }
    }
}

fn ended(span: &Span, usage: &Usage, outcome: Outcome) {
    if usage.input_tokens > 0 || usage.output_tokens > 0 {
        span.record(semconv::GEN_AI_USAGE_INPUT_TOKENS, usage.input_tokens);
        span.record(semconv::GEN_AI_USAGE_OUTPUT_TOKENS, usage.output_tokens);
    }
    let outcome = match outcome {
        Outcome::Complete => "ok",
        Outcome::Failed(_) => "failed",
        _ => "aborted",
    };
    span.record(semconv::AGW_OUTCOME, outcome);
}

/// Records a refused call: the denial's kind and rule, or an error.
pub(super) fn refused(span: &Span, error: &BoxError) {
    match Denied::find(error.as_ref()) {
        Some(denied) => {
            span.record(semconv::AGW_DECISION, "deny");
            span.record(semconv::AGW_DENIED_KIND, denied.kind().as_str());
            if let Some(rule) = denied.rule() {
                span.record(semconv::AGW_RULE_ID, rule);
            }
            span.record(semconv::AGW_OUTCOME, "denied");
        }
        None => {
            span.record(semconv::AGW_DECISION, "allow");
            span.record(semconv::AGW_OUTCOME, "error");
            span.record("otel.status_code", "ERROR");
        }
    }
}
