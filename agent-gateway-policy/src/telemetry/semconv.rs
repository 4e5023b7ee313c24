//! The attribute names the gateway's spans carry: the OpenTelemetry GenAI and MCP semantic
//! conventions, owned here as plain strings.
//!
//! The GenAI and MCP names left the core semantic-conventions registry (1.42.0) for a GenAI
//! registry with no tagged release yet, and the `opentelemetry-semantic-conventions` crate marks
//! them deprecated; owning the strings lets us follow the registry when it releases, in one
//! place. The `agw.*` names are the gateway's own (caller, run, decision).
//!
//! ```
//! use agent_gateway_policy::telemetry::semconv;
//!
//! assert_eq!(semconv::GEN_AI_REQUEST_MODEL, "gen_ai.request.model");
//! assert_eq!(semconv::operation_name(agent_gateway_core::Action::ToolCall), "execute_tool");
//! ```

use agent_gateway_core::Action;

/// `gen_ai.operation.name`: `chat`, `execute_tool`, `invoke_agent`, or the action's own name.
pub const GEN_AI_OPERATION_NAME: &str = "gen_ai.operation.name";
/// `gen_ai.provider.name`: the LLM provider (or other upstream) that served the call.
pub const GEN_AI_PROVIDER_NAME: &str = "gen_ai.provider.name";
/// `gen_ai.request.model`: the model the client asked for.
pub const GEN_AI_REQUEST_MODEL: &str = "gen_ai.request.model";
/// `gen_ai.response.model`: the model that answered, when the response names it.
pub const GEN_AI_RESPONSE_MODEL: &str = "gen_ai.response.model";
/// `gen_ai.usage.input_tokens`.
pub const GEN_AI_USAGE_INPUT_TOKENS: &str = "gen_ai.usage.input_tokens";
/// `gen_ai.usage.output_tokens`.
pub const GEN_AI_USAGE_OUTPUT_TOKENS: &str = "gen_ai.usage.output_tokens";
/// `gen_ai.tool.name`: the MCP tool called.
pub const GEN_AI_TOOL_NAME: &str = "gen_ai.tool.name";
/// `gen_ai.agent.name`: the A2A agent called.
pub const GEN_AI_AGENT_NAME: &str = "gen_ai.agent.name";
/// `gen_ai.conversation.id`: the A2A context.
pub const GEN_AI_CONVERSATION_ID: &str = "gen_ai.conversation.id";
/// `mcp.method.name`: the MCP method (`tools/call`, ...).
pub const MCP_METHOD_NAME: &str = "mcp.method.name";
/// `mcp.session.id`: the MCP session the client holds.
pub const MCP_SESSION_ID: &str = "mcp.session.id";
/// `a2a.method`: the A2A method, in the version the client spoke.
pub const A2A_METHOD: &str = "a2a.method";
/// `a2a.task.id`: the A2A task the call names.
pub const A2A_TASK_ID: &str = "a2a.task.id";
/// `a2a.context.id`: the A2A context the call names.
pub const A2A_CONTEXT_ID: &str = "a2a.context.id";
/// `agw.protocol`: `mcp`, `a2a` or `llm`.
pub const AGW_PROTOCOL: &str = "agw.protocol";
/// `agw.caller`: the caller's principal id.
pub const AGW_CALLER: &str = "agw.caller";
/// `agw.run.id`: the run the call belongs to.
pub const AGW_RUN_ID: &str = "agw.run.id";
/// `agw.decision`: `allow` or `deny`.
pub const AGW_DECISION: &str = "agw.decision";
/// `agw.rule.id`: the rule that denied.
pub const AGW_RULE_ID: &str = "agw.rule.id";
/// `agw.denied.kind`: the kind of denial (`forbidden`, `quota_exceeded`, ...).
pub const AGW_DENIED_KIND: &str = "agw.denied.kind";
/// `agw.outcome`: `ok`, `aborted` (a stream the client left), `failed` (a stream the upstream
/// broke off), `denied` or `error`.
pub const AGW_OUTCOME: &str = "agw.outcome";
/// `trace_id`: the W3C trace id, for correlating logs with traces.
pub const TRACE_ID: &str = "trace_id";

/// The `gen_ai.operation.name` of an action: the GenAI convention's well-known value where
/// there is one, else the action's own name.
pub fn operation_name(action: Action) -> &'static str {
    match action {
        Action::ModelCall => "chat",
        Action::ToolCall => "execute_tool",
        Action::AgentMessage => "invoke_agent",
        other => other.as_str(),
    }
}
