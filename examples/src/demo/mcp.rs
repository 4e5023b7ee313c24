//! The demo MCP server: one `echo` tool and one `greeting` prompt, stateless.
//!
//! ```
//! use agent_gateway_examples::demo::mcp::DemoMcpServer;
//! use agent_gateway_mcp::upstream::UpstreamRequest;
//! use serde_json::{Map, json};
//! use tower::ServiceExt;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let server = DemoMcpServer::new();
//! let tools = server.clone().oneshot(UpstreamRequest::new("tools/list", Map::new())).await.unwrap();
//! assert_eq!(tools["tools"][0]["name"], "echo");
//! let get = |name: &str| UpstreamRequest::new("prompts/get", json!({"name": name}).as_object().cloned().unwrap());
//! // Allowed: the greeting prompt.
//! let prompt = server.clone().oneshot(get("greeting")).await.unwrap();
//! assert_eq!(prompt["messages"][0]["role"], "user");
//! // Refused: an unknown prompt is a JSON-RPC error (-32602).
//! assert!(server.clone().oneshot(get("nope")).await.is_err());
//! // Refused: an unknown method (-32601).
//! assert!(server.oneshot(UpstreamRequest::new("sampling/x", Map::new())).await.is_err());
//! # });
//! ```

use std::future::{Ready, ready};
use std::task::{Context, Poll};

use agent_gateway_core::BoxError;
use agent_gateway_core::jsonrpc::ErrorObject;
use agent_gateway_mcp::McpError;
use agent_gateway_mcp::upstream::UpstreamRequest;
use serde_json::{Map, Value, json};
use tower::Service;

/// The demo MCP server, as an in-process upstream (`Service<UpstreamRequest>`).
///
/// - `tools/list`: one tool, `echo`; `tools/call` of `echo` answers one text block,
///   `echo:<arguments as JSON>`.
/// - `prompts/list`: one prompt, `greeting`; `prompts/get` returns one user message.
/// - `resources/list` and `resources/templates/list`: empty; `ping`: `{}`.
/// - Anything else: a JSON-RPC error, as a server would answer.
#[derive(Debug, Clone, Copy, Default)]
pub struct DemoMcpServer;

impl DemoMcpServer {
    /// The demo server.
    pub fn new() -> Self {
        DemoMcpServer
    }

    fn answer(method: &str, params: &Map<String, Value>) -> Result<Value, ErrorObject> {
        let name = params.get("name").and_then(Value::as_str).unwrap_or("");
        match method {
            "ping" => Ok(json!({})),
            "tools/list" => Ok(json!({"tools": [{
                "name": "echo",
                "description": "Answers with its arguments.",
                "inputSchema": {"type": "object"},
            }]})),
            "tools/call" if name == "echo" => {
                let args = params.get("arguments").cloned().unwrap_or(json!({}));
                Ok(json!({"content": [{"type": "text", "text": format!("echo:{args}")}]}))
            }
            "tools/call" => Err(ErrorObject::invalid_params(format!("Unknown tool: {name}"))),
            "prompts/list" => Ok(json!({"prompts": [{
                "name": "greeting",
                "description": "A friendly opener.",
            }]})),
            "prompts/get" if name == "greeting" => Ok(json!({"messages": [{
                "role": "user",
                "content": {"type": "text", "text": "Hello from the agent-gateway demo server."},
            }]})),
            "prompts/get" => Err(ErrorObject::invalid_params(format!(
                "Unknown prompt: {name}"
            ))),
            "resources/list" => Ok(json!({"resources": []})),
            "resources/templates/list" => Ok(json!({"resourceTemplates": []})),
            other => Err(ErrorObject::method_not_found(other)),
        }
    }
}

impl Service<UpstreamRequest> for DemoMcpServer {
    type Response = Map<String, Value>;
    type Error = BoxError;
    type Future = Ready<Result<Map<String, Value>, BoxError>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: UpstreamRequest) -> Self::Future {
        ready(
            match DemoMcpServer::answer(req.method_name(), req.params()) {
                Ok(Value::Object(result)) => Ok(result),
                Ok(_) => Ok(Map::new()),
                Err(error) => Err(Box::new(McpError::Upstream(error))),
            },
        )
    }
}
