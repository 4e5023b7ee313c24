//! The demo A2A agent: an in-process A2A 1.0 agent over JSON-RPC that completes every
//! message at once, answering with an `echo: <text>` artifact, and remembers only its last
//! [`MAX_TASKS`] tasks, within [`MAX_STORED_BYTES`].
//!
//! ```
//! use agent_gateway_examples::demo::a2a::DemoAgent;
//! use bytes::Bytes;
//! use http_body_util::{BodyExt, Full};
//! use serde_json::{Value, json};
//! use tower::ServiceExt;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let agent = DemoAgent::new("demo");
//! let rpc = |method: &str, params: Value| {
//!     let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
//!     http::Request::post("http://demo.invalid/")
//!         .body(Full::new(Bytes::from(body.to_string())))
//!         .unwrap()
//! };
//! let answer = |res: http::Response<_>| async move {
//!     let bytes = BodyExt::collect(res.into_body()).await.unwrap().to_bytes();
//!     serde_json::from_slice::<Value>(&bytes).unwrap()
//! };
//! let send = rpc("SendMessage", json!({"message": {"messageId": "m1", "role": "ROLE_USER", "parts": [{"text": "hi"}]}}));
//! let v = answer(agent.connector().oneshot(send).await.unwrap()).await;
//! // Allowed: the task is completed, with the echo as its artifact.
//! assert_eq!(v["result"]["task"]["artifacts"][0]["parts"][0]["text"], "echo: hi");
//! let id = v["result"]["task"]["id"].as_str().unwrap().to_owned();
//! let v = answer(agent.connector().oneshot(rpc("GetTask", json!({"id": id}))).await.unwrap()).await;
//! assert_eq!(v["result"]["status"]["state"], "TASK_STATE_COMPLETED");
//! // Refused: a task it does not hold.
//! let v = answer(agent.connector().oneshot(rpc("GetTask", json!({"id": "x"}))).await.unwrap()).await;
//! assert_eq!(v["error"]["code"], -32001);
//! # });
//! ```

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use agent_gateway_a2a::body::{A2aBody, full};
use agent_gateway_a2a::registry::Connector;
use agent_gateway_core::BoxError;
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use serde_json::{Value, json};
use tower::util::BoxCloneSyncService;

/// How many tasks the demo agent remembers; the oldest is forgotten first.
pub const MAX_TASKS: usize = 64;

/// The largest request body the demo agent reads; a larger one is answered 413.
pub const MAX_REQUEST_BYTES: usize = 1 << 20;

/// How many bytes of tasks (their JSON) the demo agent remembers: 4 MiB, so that the embedded
/// default configuration cannot be grown without bound by large messages either; the oldest
/// task is forgotten first.
pub const MAX_STORED_BYTES: usize = 4 << 20;

#[derive(Debug, Default)]
struct Tasks {
    /// Tasks with the size of their JSON, oldest first.
    recent: VecDeque<(Value, usize)>,
    bytes: usize,
    next: u64,
}

/// The demo agent. Clones share its tasks.
#[derive(Debug, Clone)]
pub struct DemoAgent {
    name: Arc<str>,
    tasks: Arc<Mutex<Tasks>>,
}

impl DemoAgent {
    /// An agent called `name` (its card's name, and the prefix of its task ids).
    pub fn new(name: &str) -> Self {
        DemoAgent {
            name: name.into(),
            tasks: Arc::default(),
        }
    }

    /// The connector to register it with (an in-process A2A 1.0 instance).
    pub fn connector(&self) -> Connector {
        let this = self.clone();
        BoxCloneSyncService::new(tower::service_fn(move |req: Request<Full<Bytes>>| {
            let this = this.clone();
            async move { this.handle(req).await }
        }))
    }

    fn lock(&self) -> MutexGuard<'_, Tasks> {
        // Every update is one push or one assignment: a panic cannot leave it half-written.
        self.tasks.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn handle(&self, req: Request<Full<Bytes>>) -> Result<Response<A2aBody>, BoxError> {
        if req.method() == Method::GET {
            return Ok(json_response(&self.card()));
        }
        let Ok(body) = Limited::new(req.into_body(), MAX_REQUEST_BYTES)
            .collect()
            .await
        else {
            let mut res = Response::new(full(""));
            *res.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
            return Ok(res);
        };
        let msg: Value = serde_json::from_slice(&body.to_bytes()).unwrap_or(Value::Null);
        let id = msg.get("id").cloned().unwrap_or(Value::Null);
        let method = msg.get("method").and_then(Value::as_str).unwrap_or("");
        let params = msg.get("params").cloned().unwrap_or(json!({}));
        let result = match method {
            "SendMessage" => Ok(json!({"task": self.complete(&params)})),
            "SendStreamingMessage" => {
                let task = self.complete(&params);
                return stream(&id, &task);
            }
            "GetTask" => self.task(&params).ok_or(NOT_FOUND),
            "ListTasks" => Ok(self.list(&params)),
            "CancelTask" => Err((-32002, "Task cannot be canceled: it is already completed")),
            _ => Err((-32601, "Method not found")),
        };
        let body = match result {
            Ok(result) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
            Err((code, message)) => json!({"jsonrpc": "2.0", "id": id,
                "error": {"code": code, "message": message}}),
        };
        Ok(json_response(&body))
    }

    fn card(&self) -> Value {
        let url = format!("http://{}.invalid/", self.name);
        json!({
            "name": &*self.name,
            "description": "The agent-gateway demo agent: echoes what it is sent.",
            "version": "1.0.0",
            "supportedInterfaces": [{"url": url, "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}],
            "capabilities": {"streaming": true, "pushNotifications": false},
            "defaultInputModes": ["text/plain"],
            "defaultOutputModes": ["text/plain"],
            "skills": [{"id": "echo", "name": "Echo", "description": "Echoes the text it is sent.", "tags": ["demo"]}],
        })
    }

    /// Completes a new task for the message in `params`, and remembers it.
    fn complete(&self, params: &Value) -> Value {
        let message = params.get("message").cloned().unwrap_or(Value::Null);
        let text = message
            .pointer("/parts/0/text")
            .and_then(Value::as_str)
            .unwrap_or("");
        let mut tasks = self.lock();
        tasks.next += 1;
        let id = format!("{}-task-{}", self.name, tasks.next);
        let context = message
            .get("contextId")
            .and_then(Value::as_str)
            .map_or_else(|| format!("{id}-ctx"), str::to_owned);
        let task = json!({
            "id": id, "contextId": context,
            "status": {"state": "TASK_STATE_COMPLETED"},
            "artifacts": [{"artifactId": "echo", "parts": [{"text": format!("echo: {text}")}]}],
            "history": [message],
        });
        let size = task.to_string().len();
        tasks.recent.push_back((task.clone(), size));
        tasks.bytes += size;
        while tasks.recent.len() > MAX_TASKS || tasks.bytes > MAX_STORED_BYTES {
            let Some((_, n)) = tasks.recent.pop_front() else {
                break;
            };
            tasks.bytes -= n;
        }
        task
    }

    fn task(&self, params: &Value) -> Option<Value> {
        let id = params.get("id").and_then(Value::as_str)?;
        self.lock()
            .recent
            .iter()
            .find(|(t, _)| t["id"] == id)
            .map(|(t, _)| t.clone())
    }

    /// The tasks it remembers, oldest first, of one context when `params` names one. The
    /// gateway in front keeps to each caller their own (it tags the contexts it starts).
    fn list(&self, params: &Value) -> Value {
        let context = params.get("contextId").and_then(Value::as_str);
        let tasks: Vec<Value> = self
            .lock()
            .recent
            .iter()
            .filter(|(t, _)| context.is_none_or(|c| t["contextId"] == c))
            .map(|(t, _)| t.clone())
            .collect();
        let n = tasks.len();
        json!({"tasks": tasks, "nextPageToken": "", "pageSize": n, "totalSize": n})
    }

    /// How many tasks, and how many bytes of them, it remembers.
    pub fn stored(&self) -> (usize, usize) {
        let tasks = self.lock();
        (tasks.recent.len(), tasks.bytes)
    }
}

const NOT_FOUND: (i64, &str) = (-32001, "Task not found");

fn json_response(v: &Value) -> Response<A2aBody> {
    let mut res = Response::new(full(v.to_string()));
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

/// The streamed answer: the task as submitted, then its artifact and completion.
fn stream(id: &Value, task: &Value) -> Result<Response<A2aBody>, BoxError> {
    let (task_id, context) = (&task["id"], &task["contextId"]);
    let mut first = task.clone();
    first["status"] = json!({"state": "TASK_STATE_WORKING"});
    first["artifacts"] = json!([]);
    let events = [
        json!({"task": first}),
        json!({"artifactUpdate": {"taskId": task_id, "contextId": context,
            "artifact": task["artifacts"][0], "lastChunk": true}}),
        json!({"statusUpdate": {"taskId": task_id, "contextId": context,
            "status": task["status"]}}),
    ];
    let body: String = events
        .iter()
        .map(|e| {
            format!(
                "data: {}\n\n",
                json!({"jsonrpc": "2.0", "id": id, "result": e})
            )
        })
        .collect();
    let mut res = Response::new(full(body));
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    async fn send(agent: &DemoAgent, text: &str) -> Value {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params":
            {"message": {"messageId": "m", "role": "ROLE_USER", "parts": [{"text": text}]}}});
        let req = Request::post("http://demo.invalid/")
            .body(Full::new(Bytes::from(body.to_string())))
            .expect("a request");
        let res = agent.connector().oneshot(req).await.expect("an answer");
        let bytes = res.into_body().collect().await.expect("a body").to_bytes();
        serde_json::from_slice(&bytes).expect("JSON")
    }

    #[tokio::test]
    async fn state_is_bounded_by_count_and_by_bytes() {
        let agent = DemoAgent::new("demo");
        for i in 0..MAX_TASKS + 5 {
            send(&agent, &format!("m{i}")).await;
        }
        assert_eq!(agent.stored().0, MAX_TASKS);
        let big = "x".repeat(MAX_REQUEST_BYTES / 2);
        for _ in 0..20 {
            let v = send(&agent, &big).await;
            assert_eq!(
                v["result"]["task"]["status"]["state"],
                "TASK_STATE_COMPLETED"
            );
            let (_, bytes) = agent.stored();
            assert!(bytes <= MAX_STORED_BYTES, "{bytes}");
        }
        assert!(agent.stored().0 < 8, "{:?}", agent.stored());
    }
}
