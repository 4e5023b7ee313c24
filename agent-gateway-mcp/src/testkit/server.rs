//! An in-process fake MCP server: tools with handlers, prompts and resources, call counting,
//! paging, switches to make it fail or hang, and change notifications on demand for its
//! `subscriptions/listen` streams.

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
use tokio::sync::broadcast;
use tower::Service;

use crate::McpError;
use crate::front::{McpFront, McpFrontConfig};
use crate::listen::{
    ACKNOWLEDGED, LISTEN, ListenFilter, PROMPTS_LIST_CHANGED, RESOURCE_UPDATED,
    RESOURCES_LIST_CHANGED, TOOLS_LIST_CHANGED,
};
use crate::notify::Relayed;
use crate::router::Direct;
use crate::upstream::UpstreamRequest;

type Handler = Arc<dyn Fn(&Map<String, Value>) -> Result<Value, ErrorObject> + Send + Sync>;

struct Tool {
    name: String,
    handler: Handler,
    description: Option<String>,
    input_schema: Option<Value>,
}

#[derive(Default)]
struct Config {
    tools: Vec<Tool>,
    prompts: Vec<String>,
    resources: Vec<(String, String)>,
    page_size: Option<usize>,
}

/// The change notifications the server publishes to its open listen streams.
struct Events(broadcast::Sender<Relayed>);

impl Default for Events {
    fn default() -> Self {
        Events(broadcast::channel(64).0)
    }
}

#[derive(Default)]
struct State {
    config: Mutex<Config>,
    calls: AtomicUsize,
    by_method: Mutex<HashMap<String, usize>>,
    down: AtomicBool,
    hang: AtomicBool,
    events: Events,
    listens: Mutex<HashMap<usize, ListenFilter>>,
    next_listen: AtomicUsize,
}

/// Records one open listen stream while it lives.
struct Listening(Arc<State>, usize);

impl Drop for Listening {
    fn drop(&mut self) {
        if let Ok(mut l) = self.0.listens.lock() {
            l.remove(&self.1);
        }
    }
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
            description: None,
            input_schema: None,
        };
        self.configure(|c| c.tools.push(tool))
    }

    /// Sets the `inputSchema` the tool `name` (added before) is listed with; the default is
    /// `{"type": "object"}`. The server itself does not check arguments against it.
    pub fn with_input_schema(self, name: &str, schema: Value) -> Self {
        self.configure(|c| {
            c.tools
                .iter_mut()
                .filter(|t| t.name == name)
                .for_each(|t| t.input_schema = Some(schema.clone()));
        })
    }

    /// Changes the description the tool `name` is listed with from now on (a "rug pull", for
    /// tool-pinning tests).
    pub fn set_description(&self, name: &str, description: &str) {
        if let Ok(mut c) = self.state.config.lock() {
            c.tools
                .iter_mut()
                .filter(|t| t.name == name)
                .for_each(|t| t.description = Some(description.to_owned()));
        }
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

    /// Sends `notifications/tools/list_changed` to every open listen stream that asked for it.
    pub fn notify_tools_changed(&self) {
        self.publish(TOOLS_LIST_CHANGED, Map::new());
    }

    /// Sends `notifications/prompts/list_changed` to every open listen stream that asked for it.
    pub fn notify_prompts_changed(&self) {
        self.publish(PROMPTS_LIST_CHANGED, Map::new());
    }

    /// Sends `notifications/resources/list_changed` to every open listen stream that asked for
    /// it.
    pub fn notify_resources_changed(&self) {
        self.publish(RESOURCES_LIST_CHANGED, Map::new());
    }

    /// Sends `notifications/resources/updated {uri}` to every open listen stream subscribed to
    /// `uri`.
    pub fn notify_resource_updated(&self, uri: &str) {
        self.publish(
            RESOURCE_UPDATED,
            Map::from_iter([("uri".to_owned(), json!(uri))]),
        );
    }

    /// Sends a `notifications/message` of `level` with `data`, outside any call, to every open
    /// listen stream whose client asked for that level.
    pub fn log(&self, level: &str, data: &str) {
        self.publish(
            crate::notify::MESSAGE,
            Map::from_iter([
                ("level".to_owned(), json!(level)),
                ("data".to_owned(), json!(data)),
            ]),
        );
    }

    fn publish(&self, method: &str, params: Map<String, Value>) {
        // No listener is not an error: nobody asked.
        let _ = self.state.events.0.send((method.to_owned(), params));
    }

    /// How many `subscriptions/listen` streams are open on the server now.
    pub fn listeners(&self) -> usize {
        self.state.listens.lock().map_or(0, |l| l.len())
    }

    /// The filters of the `subscriptions/listen` streams open on the server now.
    pub fn listen_filters(&self) -> Vec<ListenFilter> {
        self.state
            .listens
            .lock()
            .map_or_else(|_| Vec::new(), |l| l.values().cloned().collect())
    }

    /// Serves one listen stream: the acknowledgment, then every published notification the
    /// filter admits, until the listener goes.
    async fn listen(&self, req: &UpstreamRequest) -> Result<Map<String, Value>, BoxError> {
        let Some(notifier) = req.notifier() else {
            let e = ErrorObject::invalid_request("subscriptions/listen needs a stream");
            return Err(Box::new(McpError::Upstream(e)));
        };
        let filter = ListenFilter::from_params(req.params())?;
        let mut events = self.state.events.0.subscribe();
        let n = self.state.next_listen.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut l) = self.state.listens.lock() {
            l.insert(n, filter.clone());
        }
        let _listening = Listening(self.state.clone(), n);
        let ack = Map::from_iter([("notifications".to_owned(), filter.to_value())]);
        notifier.notify(ACKNOWLEDGED, ack).await;
        loop {
            tokio::select! {
                () = notifier.closed() => break,
                event = events.recv() => match event {
                    Ok((method, params)) => {
                        // A log message goes if the listen's client asked for its level (its
                        // notifier knows); a change only if the filter asked for it.
                        if method == crate::notify::MESSAGE || filter.admits(&method, &params) {
                            notifier.notify(&method, params).await;
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => break,
                },
            }
        }
        Ok(Map::new())
    }

    /// The server over HTTP, both eras on one endpoint, with `config`.
    pub fn http(&self, config: McpFrontConfig) -> McpFront<Direct<FakeMcpServer>> {
        McpFront::new(Direct::new(self.clone()), config)
    }

    fn answer(&self, method: &str, params: &Map<String, Value>) -> Result<Value, ErrorObject> {
        let Ok(s) = self.state.config.lock() else {
            return Err(ErrorObject::internal_error());
        };
        let page = |items: Vec<Value>, key: &str| page(items, key, s.page_size, params);
        let name = params.get("name").and_then(Value::as_str).unwrap_or("");
        let uri = params.get("uri").and_then(Value::as_str).unwrap_or("");
        match method {
            "tools/list" => page(s.tools.iter().map(Tool::listed).collect(), "tools"),
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
            "prompts/get" => s.prompt(name),
            "resources/list" => page(
                s.resources
                    .iter()
                    .map(|(u, _)| json!({"uri": u, "name": u}))
                    .collect(),
                "resources",
            ),
            "resources/read" => s.read(uri),
            "resources/templates/list" => Ok(json!({"resourceTemplates": []})),
            "resources/subscribe" | "resources/unsubscribe" => s.read(uri).map(|_| json!({})),
            other => Err(ErrorObject::method_not_found(other)),
        }
    }
}

/// One page of `items` under `key`, from the request's cursor, at most `size` long.
fn page(
    items: Vec<Value>,
    key: &str,
    size: Option<usize>,
    params: &Map<String, Value>,
) -> Result<Value, ErrorObject> {
    let size = size.unwrap_or(usize::MAX);
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
}

impl Tool {
    /// The tool as `tools/list` describes it.
    fn listed(&self) -> Value {
        let description = self
            .description
            .clone()
            .unwrap_or_else(|| format!("The fake server's tool {}.", self.name));
        json!({
            "name": self.name,
            "description": description,
            "inputSchema": self.input_schema.clone().unwrap_or_else(|| json!({"type": "object"})),
        })
    }
}

impl Config {
    /// The answer to `prompts/get` for `name`.
    fn prompt(&self, name: &str) -> Result<Value, ErrorObject> {
        if !self.prompts.iter().any(|p| p == name) {
            return Err(ErrorObject::invalid_params(format!(
                "Unknown prompt: {name}"
            )));
        }
        Ok(json!({
            "messages": [{"role": "user", "content": {"type": "text", "text": name}}]
        }))
    }

    /// The answer to `resources/read` for `uri`; subscribing checks the same way that the
    /// resource exists.
    fn read(&self, uri: &str) -> Result<Value, ErrorObject> {
        let found = self.resources.iter().find(|(u, _)| u == uri);
        let (u, text) = found
            .ok_or_else(|| ErrorObject::invalid_params(format!("Resource not found: {uri}")))?;
        Ok(json!({"contents": [{"uri": u, "mimeType": "text/plain", "text": text}]}))
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
                *m.entry(req.method_name().to_owned()).or_default() += 1;
            }
            if req.method() == LISTEN {
                return server.listen(&req).await;
            }
            match server.answer(req.method_name(), req.params()) {
                Ok(Value::Object(result)) => Ok(result),
                Ok(_) => Ok(Map::new()),
                Err(e) => Err(Box::new(McpError::Upstream(e)) as BoxError),
            }
        })
    }
}
