//! An in-process fake MCP server: tools with handlers, prompts and resources, call counting,
//! paging, and switches to make it fail or hang.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};

use agent_gateway_core::BoxError;
use agent_gateway_core::jsonrpc::ErrorObject;
use futures_util::future::BoxFuture;
use serde_json::{Map, Value, json};
use tower::Service;

use crate::McpError;
use crate::front::{FrontConfig, McpFront};
use crate::upstream::{Direct, UpstreamRequest};

type Handler = Arc<dyn Fn(&Map<String, Value>) -> Result<Value, ErrorObject> + Send + Sync>;

struct Tool {
    name: String,
    handler: Handler,
}

#[derive(Default)]
struct Config {
    tools: Vec<Tool>,
    prompts: Vec<String>,
    resources: Vec<(String, String)>,
    page_size: Option<usize>,
}

#[derive(Default)]
struct State {
    config: Mutex<Config>,
    calls: AtomicUsize,
    by_method: Mutex<HashMap<String, usize>>,
    down: AtomicBool,
    hang: AtomicBool,
}

/// An in-process MCP server, as an upstream service (`Service<UpstreamRequest>`), or over HTTP
/// in both eras with [`FakeMcpServer::http`].
#[derive(Clone, Default)]
pub struct FakeMcpServer {
    state: Arc<State>,
}

impl fmt::Debug for FakeMcpServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeMcpServer")
            .field("calls", &self.calls())
            .finish_non_exhaustive()
    }
}

impl FakeMcpServer {
    fn configure(self, f: impl FnOnce(&mut Config)) -> Self {
        if let Ok(mut c) = self.state.config.lock() {
            f(&mut c);
        }
        self
    }
}

impl FakeMcpServer {
    /// A server with nothing on it.
    pub fn new() -> Self {
        FakeMcpServer::default()
    }

    /// Adds a tool answering with `handler(arguments)`: the `CallToolResult`, or a JSON-RPC
    /// error.
    pub fn with_tool(
        self,
        name: impl Into<String>,
        handler: impl Fn(&Map<String, Value>) -> Result<Value, ErrorObject> + Send + Sync + 'static,
    ) -> Self {
        let tool = Tool {
            name: name.into(),
            handler: Arc::new(handler),
        };
        self.configure(|c| c.tools.push(tool))
    }

    /// Adds a tool answering with one text block, `"<name>:<arguments as JSON>"`.
    pub fn with_echo_tool(self, name: impl Into<String>) -> Self {
        let name = name.into();
        let label = name.clone();
        self.with_tool(name, move |args| {
            let text = format!("{label}:{}", Value::Object(args.clone()));
            Ok(json!({"content": [{"type": "text", "text": text}]}))
        })
    }

    /// Adds a prompt with one user message.
    pub fn with_prompt(self, name: impl Into<String>) -> Self {
        let name = name.into();
        self.configure(|c| c.prompts.push(name))
    }

    /// Adds a text resource.
    pub fn with_resource(self, uri: impl Into<String>, text: impl Into<String>) -> Self {
        let r = (uri.into(), text.into());
        self.configure(|c| c.resources.push(r))
    }

    /// Answers listings `n` items per page, with a cursor.
    pub fn with_page_size(self, n: usize) -> Self {
        self.configure(|c| c.page_size = Some(n.max(1)))
    }

    /// Makes every request fail as an unreachable server would (or recover).
    pub fn set_down(&self, down: bool) {
        self.state.down.store(down, Ordering::SeqCst);
    }

    /// Makes every request hang forever (or answer again).
    pub fn set_hang(&self, hang: bool) {
        self.state.hang.store(hang, Ordering::SeqCst);
    }

    /// How many requests reached the server.
    pub fn calls(&self) -> usize {
        self.state.calls.load(Ordering::SeqCst)
    }

    /// How many requests for `method` reached the server.
    pub fn calls_of(&self, method: &str) -> usize {
        self.state
            .by_method
            .lock()
            .map_or(0, |m| m.get(method).copied().unwrap_or(0))
    }

    /// The server over HTTP, both eras on one endpoint, with `config`.
    pub fn http(&self, config: FrontConfig) -> McpFront<Direct<FakeMcpServer>> {
        McpFront::new(Direct::new(self.clone()), config)
    }

    fn answer(&self, method: &str, params: &Map<String, Value>) -> Result<Value, ErrorObject> {
        let Ok(s) = self.state.config.lock() else {
            return Err(ErrorObject::internal_error());
        };
        let size = s.page_size.unwrap_or(usize::MAX);
        let page = |items: Vec<Value>, key: &str| -> Result<Value, ErrorObject> {
            let start = match params.get("cursor").and_then(Value::as_str) {
                None => 0,
                Some(c) => c
                    .parse::<usize>()
                    .map_err(|_| ErrorObject::invalid_params("Invalid cursor"))?,
            };
            let end = start.saturating_add(size).min(items.len());
            let mut result = json!({key: items.get(start..end).unwrap_or(&[])});
            if end < items.len() {
                result["nextCursor"] = json!(end.to_string());
            }
            Ok(result)
        };
        let name = params.get("name").and_then(Value::as_str).unwrap_or("");
        match method {
            "tools/list" => page(
                s.tools
                    .iter()
                    .map(|t| {
                        json!({
                            "name": t.name,
                            "description": format!("The fake server's tool {}.", t.name),
                            "inputSchema": {"type": "object"},
                        })
                    })
                    .collect(),
                "tools",
            ),
            "tools/call" => {
                let tool = s.tools.iter().find(|t| t.name == name);
                let tool = tool
                    .ok_or_else(|| ErrorObject::invalid_params(format!("Unknown tool: {name}")))?;
                let handler = tool.handler.clone();
                drop(s);
                let args = params
                    .get("arguments")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                handler(&args)
            }
            "prompts/list" => page(
                s.prompts.iter().map(|p| json!({"name": p})).collect(),
                "prompts",
            ),
            "prompts/get" if s.prompts.iter().any(|p| p == name) => Ok(json!({
                "messages": [{"role": "user", "content": {"type": "text", "text": name}}]
            })),
            "prompts/get" => Err(ErrorObject::invalid_params(format!(
                "Unknown prompt: {name}"
            ))),
            "resources/list" => page(
                s.resources
                    .iter()
                    .map(|(u, _)| json!({"uri": u, "name": u}))
                    .collect(),
                "resources",
            ),
            "resources/read" => {
                let uri = params.get("uri").and_then(Value::as_str).unwrap_or("");
                let found = s.resources.iter().find(|(u, _)| u == uri);
                let (u, text) = found.ok_or_else(|| {
                    ErrorObject::invalid_params(format!("Resource not found: {uri}"))
                })?;
                Ok(json!({"contents": [{"uri": u, "mimeType": "text/plain", "text": text}]}))
            }
            "resources/templates/list" => Ok(json!({"resourceTemplates": []})),
            other => Err(ErrorObject::method_not_found(other)),
        }
    }
}

impl Service<UpstreamRequest> for FakeMcpServer {
    type Response = Map<String, Value>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Map<String, Value>, BoxError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: UpstreamRequest) -> Self::Future {
        let server = self.clone();
        Box::pin(async move {
            if server.state.hang.load(Ordering::SeqCst) {
                futures_util::future::pending::<()>().await;
            }
            if server.state.down.load(Ordering::SeqCst) {
                return Err(BoxError::from("connection refused"));
            }
            server.state.calls.fetch_add(1, Ordering::SeqCst);
            if let Ok(mut m) = server.state.by_method.lock() {
                *m.entry(req.method().to_owned()).or_default() += 1;
            }
            match server.answer(req.method(), req.params()) {
                Ok(Value::Object(result)) => Ok(result),
                Ok(_) => Ok(Map::new()),
                Err(e) => Err(Box::new(McpError::Upstream(e)) as BoxError),
            }
        })
    }
}
