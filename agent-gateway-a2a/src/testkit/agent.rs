//! An in-process fake A2A agent speaking JSON-RPC (1.0, or 0.3 with [`FakeAgent::v03`]).

use std::collections::{BTreeMap, VecDeque};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use agent_gateway_core::BoxError;
use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use http::{Method, Request, Response, StatusCode};
use http_body::{Body, Frame};
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use tower::util::BoxCloneSyncService;

use crate::body::{A2aBody, full};
use crate::op::Operation;
use crate::registry::{ConnectFailed, Connector};
use crate::translate;
use crate::version::{VERSION_HEADER, Version};

/// How many tasks a fake keeps by default: enough for any test, small enough that the demo
/// agent of the embedded default configuration cannot be grown without bound.
pub const DEFAULT_MAX_TASKS: usize = 256;
/// How many bytes of tasks (their JSON, history included) a fake keeps by default: 4 MiB.
pub const DEFAULT_MAX_BYTES: usize = 4 * 1024 * 1024;
/// How many push configs a fake keeps per task: a client registers one or two.
pub const MAX_CONFIGS_PER_TASK: usize = 8;

#[derive(Debug, Default)]
struct State {
    /// Tasks by id, with the size of their JSON.
    tasks: BTreeMap<String, (Value, usize)>,
    /// Task ids, oldest first: the eviction order.
    order: VecDeque<String>,
    bytes: usize,
    configs: BTreeMap<String, Vec<Value>>,
    next: u64,
    last_params: Value,
}

impl State {
    fn task(&self, id: &str) -> Option<&Value> {
        self.tasks.get(id).map(|(t, _)| t)
    }

    /// Stores `task`, then forgets the oldest tasks (and their push configs) until both bounds hold.
    fn store(&mut self, id: &str, task: Value, max_tasks: usize, max_bytes: usize) {
        let size = task.to_string().len();
        match self.tasks.insert(id.to_owned(), (task, size)) {
            Some((_, old)) => self.bytes -= old,
            None => self.order.push_back(id.to_owned()),
        }
        self.bytes += size;
        self.evict(max_tasks, max_bytes);
    }

    /// Counts `size` more bytes (a push config) against task `id`, then evicts.
    fn charge(&mut self, id: &str, size: usize, max_tasks: usize, max_bytes: usize) {
        if let Some((_, n)) = self.tasks.get_mut(id) {
            *n += size;
            self.bytes += size;
        }
        self.evict(max_tasks, max_bytes);
    }

    fn evict(&mut self, max_tasks: usize, max_bytes: usize) {
        while self.tasks.len() > max_tasks || self.bytes > max_bytes {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some((_, n)) = self.tasks.remove(&oldest) {
                self.bytes -= n;
            }
            self.configs.remove(&oldest);
        }
    }
}

/// A fake agent: completes every message at once (echoing its text as an artifact), streams
/// `Task`, `working`, the artifact and `completed`, and keeps tasks and push configs in memory,
/// bounded: the most recent [`DEFAULT_MAX_TASKS`] tasks within [`DEFAULT_MAX_BYTES`] (both
/// settable), and [`MAX_CONFIGS_PER_TASK`] push configs per task; older tasks are forgotten.
/// Counts the requests that reach it, and can be taken down.
///
/// ```
/// use agent_gateway_a2a::testkit::{A2aClient, FakeAgent};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let agent = FakeAgent::new("echo").with_max_tasks(2);
/// let client = A2aClient::new(agent.connector());
/// for text in ["one", "two", "three"] {
///     client.send_text("", text).await.unwrap();
/// }
/// // Only the two most recent tasks are kept.
/// assert_eq!(agent.task_ids(), ["echo-task-2", "echo-task-3"]);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct FakeAgent {
    name: Arc<str>,
    version: Version,
    max_tasks: usize,
    max_bytes: usize,
    state: Arc<Mutex<State>>,
    calls: Arc<AtomicUsize>,
    down: Arc<AtomicBool>,
    push: bool,
    card: Option<Arc<Value>>,
}

impl FakeAgent {
    /// A 1.0 agent called `name` (its task ids start with the name).
    pub fn new(name: &str) -> Self {
        FakeAgent {
            name: name.into(),
            version: Version::V1_0,
            max_tasks: DEFAULT_MAX_TASKS,
            max_bytes: DEFAULT_MAX_BYTES,
            state: Arc::default(),
            calls: Arc::default(),
            down: Arc::default(),
            push: true,
            card: None,
        }
    }

    /// The same agent serving `card` as its card (an agent's own card, as it wrote it).
    pub fn with_card(mut self, card: Value) -> Self {
        self.card = Some(Arc::new(card));
        self
    }

    /// The same agent with a card saying `pushNotifications: false` (it still stores push
    /// configs if asked: the gateway must not ask it).
    pub fn without_push(mut self) -> Self {
        self.push = false;
        self
    }

    /// The same agent speaking 0.3.
    pub fn v03(mut self) -> Self {
        self.version = Version::V0_3;
        self
    }

    /// Keeps at most `n` tasks (at least one).
    pub fn with_max_tasks(mut self, n: usize) -> Self {
        self.max_tasks = n.max(1);
        self
    }

    /// Keeps at most `bytes` of tasks (their JSON); a task larger than that is not kept.
    pub fn with_max_bytes(mut self, bytes: usize) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// The params of the last JSON-RPC call that reached it, in its own version.
    pub fn last_params(&self) -> Value {
        self.lock().last_params.clone()
    }

    /// How many bytes of tasks it holds.
    pub fn stored_bytes(&self) -> usize {
        self.lock().bytes
    }

    /// How many requests reached it (card fetches included).
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Takes it down (every call fails with [`ConnectFailed`]) or brings it back.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// The upstream ids of the tasks it holds, oldest first.
    pub fn task_ids(&self) -> Vec<String> {
        self.lock().order.iter().cloned().collect()
    }

    /// The connector to register it with.
    pub fn connector(&self) -> Connector {
        let this = self.clone();
        BoxCloneSyncService::new(tower::service_fn(move |req: Request<Full<Bytes>>| {
            let this = this.clone();
            async move { this.handle(req).await }
        }))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn handle(&self, req: Request<Full<Bytes>>) -> Result<Response<A2aBody>, BoxError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(ConnectFailed.into());
        }
        self.calls.fetch_add(1, Ordering::SeqCst);
        if req.method() == Method::GET {
            return Ok(self.card(&req));
        }
        let header = req
            .headers()
            .get(VERSION_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = req.into_body().collect().await?.to_bytes();
        let msg: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let id = msg.get("id").cloned().unwrap_or(Value::Null);
        let method = msg.get("method").and_then(Value::as_str).unwrap_or("");
        let err = |code: i64, message: &str| {
            Ok(json_body(
                &json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}),
            ))
        };
        if Version::parse(header.as_deref()).ok() != Some(self.version) {
            return err(-32009, "A2A version not supported by this handler");
        }
        let Some(op) = Operation::from_method(self.version, method) else {
            return err(-32601, "Method not found");
        };
        if msg.get("params").is_some_and(|p| !p.is_object()) {
            return err(-32602, "params must be an object");
        }
        let raw = msg.get("params").cloned().unwrap_or(json!({}));
        self.lock().last_params = raw.clone();
        let params = translate::params(op, self.version, Version::V1_0, raw);
        match self.run(op, &params) {
            Ok(Reply::One(result)) => {
                let result = translate::result(op, Version::V1_0, self.version, result);
                Ok(json_body(
                    &json!({"jsonrpc": "2.0", "id": id, "result": result}),
                ))
            }
            Ok(Reply::Events(events)) => {
                let frames = events
                    .into_iter()
                    .map(|e| {
                        let e = translate::stream_event(Version::V1_0, self.version, e);
                        Bytes::from(format!(
                            "data: {}\n\n",
                            json!({"jsonrpc": "2.0", "id": id, "result": e})
                        ))
                    })
                    .collect();
                let mut res = Response::new(A2aBody::new(Frames(frames)));
                res.headers_mut()
                    .insert(CONTENT_TYPE, "text/event-stream".parse()?);
                Ok(res)
            }
            Err((code, message)) => err(code, message),
        }
    }

    fn card(&self, req: &Request<Full<Bytes>>) -> Response<A2aBody> {
        if req
            .headers()
            .get(IF_NONE_MATCH)
            .is_some_and(|v| v == "\"v1\"")
        {
            let mut res = Response::new(full(""));
            *res.status_mut() = StatusCode::NOT_MODIFIED;
            return res;
        }
        let internal = format!("http://{}.internal:9000/", self.name);
        let mut res = json_body(&self.card.as_deref().cloned().unwrap_or_else(|| json!({
            "name": &*self.name,
            "description": format!("the {} agent", self.name),
            "version": "1.0.0",
            "supportedInterfaces": [{"url": internal, "protocolBinding": "JSONRPC", "protocolVersion": self.version.as_str()}],
            "url": internal,
            "capabilities": {"streaming": true, "pushNotifications": self.push},
            "defaultInputModes": ["text/plain"],
            "defaultOutputModes": ["text/plain"],
            "skills": [{"id": "echo", "name": "Echo", "description": "echoes", "tags": ["text"]}],
            "signatures": [{"protected": "x", "signature": "y"}],
            "securitySchemes": {"agent-key": {"apiKeySecurityScheme": {"location": "header", "name": "x-agent-key"}}},
            "securityRequirements": [{"schemes": {"agent-key": {"list": []}}}],
        })));
        res.headers_mut()
            .insert(ETAG, http::HeaderValue::from_static("\"v1\""));
        res.headers_mut()
            .insert(CACHE_CONTROL, http::HeaderValue::from_static("max-age=60"));
        res
    }

    fn run(&self, op: Operation, p: &Value) -> Result<Reply, (i64, &'static str)> {
        let mut st = self.lock();
        let not_found = (-32001, "Task not found");
        let task_id = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        match op {
            Operation::SendMessage | Operation::SendStreamingMessage => {
                let message = p.get("message").cloned().unwrap_or(Value::Null);
                let text = message
                    .pointer("/parts/0/text")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                let existing = message
                    .get("taskId")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                let id = match existing {
                    Some(id) if st.task(&id).is_some() => id,
                    Some(_) => return Err(not_found),
                    None => {
                        st.next += 1;
                        format!("{}-task-{}", self.name, st.next)
                    }
                };
                let ctx = message
                    .get("contextId")
                    .and_then(Value::as_str)
                    .map_or_else(|| format!("{id}-ctx"), str::to_owned);
                let artifact =
                    json!({"artifactId": "a1", "parts": [{"text": format!("echo: {text}")}]});
                let status = json!({"state": "TASK_STATE_COMPLETED"});
                let task = json!({"id": id, "contextId": ctx, "status": status, "artifacts": [artifact], "history": [message]});
                st.store(&id, task.clone(), self.max_tasks, self.max_bytes);
                if op == Operation::SendMessage {
                    return Ok(Reply::One(json!({"task": task})));
                }
                let mut first = task.clone();
                first["status"] = json!({"state": "TASK_STATE_WORKING"});
                first["artifacts"] = json!([]);
                Ok(Reply::Events(vec![
                    json!({"task": first}),
                    json!({"statusUpdate": {"taskId": id, "contextId": ctx, "status": {"state": "TASK_STATE_WORKING"}}}),
                    json!({"artifactUpdate": {"taskId": id, "contextId": ctx, "artifact": artifact, "lastChunk": true}}),
                    json!({"statusUpdate": {"taskId": id, "contextId": ctx, "status": status}}),
                ]))
            }
            Operation::GetTask => st
                .task(&task_id("id"))
                .cloned()
                .map(Reply::One)
                .ok_or(not_found),
            Operation::SubscribeToTask => st
                .task(&task_id("id"))
                .cloned()
                .map(|t| Reply::Events(vec![json!({"task": t})]))
                .ok_or(not_found),
            Operation::CancelTask => {
                let (t, _) = st.tasks.get_mut(&task_id("id")).ok_or(not_found)?;
                t["status"] = json!({"state": "TASK_STATE_CANCELED"});
                Ok(Reply::One(t.clone()))
            }
            Operation::ListTasks => {
                let tasks: Vec<Value> = st
                    .order
                    .iter()
                    .filter_map(|id| st.task(id).cloned())
                    .collect();
                let n = tasks.len();
                Ok(Reply::One(
                    json!({"tasks": tasks, "nextPageToken": "", "pageSize": n, "totalSize": n}),
                ))
            }
            Operation::CreatePushConfig => {
                let tid = task_id("taskId");
                if st.task(&tid).is_none() {
                    return Err(not_found);
                }
                if st.configs.get(&tid).map_or(0, Vec::len) >= MAX_CONFIGS_PER_TASK {
                    return Err((-32602, "too many push configs for this task"));
                }
                let mut config = p.clone();
                config["id"] = json!(format!(
                    "cfg-{}",
                    st.configs.get(&tid).map_or(0, Vec::len) + 1
                ));
                st.configs
                    .entry(tid.clone())
                    .or_default()
                    .push(config.clone());
                let size = config.to_string().len();
                st.charge(&tid, size, self.max_tasks, self.max_bytes);
                Ok(Reply::One(config))
            }
            Operation::GetPushConfig | Operation::DeletePushConfig => {
                let (tid, cid) = (task_id("taskId"), task_id("id"));
                let list = st.configs.get_mut(&tid).ok_or(not_found)?;
                let pos = list
                    .iter()
                    .position(|c| c["id"] == cid.as_str())
                    .ok_or(not_found)?;
                if op == Operation::DeletePushConfig {
                    list.remove(pos);
                    return Ok(Reply::One(json!({})));
                }
                Ok(Reply::One(list[pos].clone()))
            }
            Operation::ListPushConfigs => {
                let configs = st
                    .configs
                    .get(&task_id("taskId"))
                    .cloned()
                    .unwrap_or_default();
                Ok(Reply::One(json!({"configs": configs, "nextPageToken": ""})))
            }
            _ => Err((-32007, "Extended agent card not configured")),
        }
    }
}

enum Reply {
    One(Value),
    Events(Vec<Value>),
}

fn json_body(v: &Value) -> Response<A2aBody> {
    let mut res = Response::new(full(v.to_string()));
    res.headers_mut().insert(
        CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    res
}

/// A body yielding one frame per event, as a streaming agent would.
struct Frames(VecDeque<Bytes>);

impl Body for Frames {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        Poll::Ready(self.0.pop_front().map(|b| Ok(Frame::data(b))))
    }
}
