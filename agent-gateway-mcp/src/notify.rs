//! The side channel that carries an upstream's progress and log notifications for one request
//! back to the client, as SSE events before the final response, and, for a legacy-era client,
//! the server→client requests (sampling, elicitation, roots) made while serving it.
//!
//! The front makes a [`Notifier`] when the client accepts `text/event-stream` and puts it in
//! the request's extensions; the federation hands it on in the
//! [`UpstreamRequest`](crate::upstream::UpstreamRequest), and a connector relays what the upstream sends with
//! [`Notifier::notify`]. Only `notifications/progress` (rewritten to the client's own progress
//! token, and dropped when the client asked for none) and `notifications/message` are relayed:
//! anything else an upstream says about a request is not the client's business.
//!
//! A notifier made with [`Notifier::listen`] serves a `subscriptions/listen` stream instead
//! (see [`crate::listen`]): it relays the acknowledgment and the change notifications its
//! [`ListenFilter`] admits and, when the client asked for a log level, the log messages an
//! upstream sends on its own (outside any call) at that level and above; nothing else.
//!
//! ```
//! use agent_gateway_mcp::notify::Notifier;
//! use serde_json::{Map, json};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use agent_gateway_mcp::notify::{Notifier, Outgoing};
//!
//! let (notifier, mut events) = Notifier::channel(Some(json!("client-token")));
//! // The upstream used its own token: the client sees its own.
//! let progress = json!({"progressToken": 7, "progress": 1}).as_object().cloned().unwrap();
//! assert!(notifier.notify("notifications/progress", progress).await);
//! let Some(Outgoing::Notification((method, params))) = events.recv().await else { panic!() };
//! assert_eq!((method.as_str(), &params["progressToken"]), ("notifications/progress", &json!("client-token")));
//! // Anything but progress and log messages is not relayed.
//! assert!(!notifier.notify("notifications/tools/list_changed", Map::new()).await);
//!
//! // A client that can be asked: the request reaches the front, and its answer comes back.
//! let notifier = notifier.with_requests();
//! let ask = tokio::spawn({
//!     let notifier = notifier.clone();
//!     async move { notifier.request("roots/list", Map::new()).await }
//! });
//! let Some(Outgoing::Request(req)) = events.recv().await else { panic!() };
//! assert_eq!(req.method(), "roots/list");
//! req.reply(Ok(json!({"roots": []}).as_object().cloned().unwrap()));
//! assert_eq!(ask.await.unwrap().unwrap()["roots"], json!([]));
//! # });
//! ```

use std::fmt;
use std::sync::Arc;

use agent_gateway_core::jsonrpc::ErrorObject;
use serde_json::{Map, Value};
use tokio::sync::{mpsc, oneshot};

use crate::listen::{ACKNOWLEDGED, ListenFilter};

/// How many notifications wait for the client before the upstream is slowed down.
const CAPACITY: usize = 16;

/// The method of a progress notification.
pub const PROGRESS: &str = "notifications/progress";
/// The method of a log message notification.
pub const MESSAGE: &str = "notifications/message";

/// One relayed notification: its method and parameters.
pub type Relayed = (String, Map<String, Value>);

/// What an upstream's answer to a server→client request is: a result, or a JSON-RPC error.
pub type ClientAnswer = Result<Map<String, Value>, ErrorObject>;

/// A server→client request on its way to the client, with the way back for its answer.
pub struct ClientRequest {
    method: String,
    params: Map<String, Value>,
    reply: oneshot::Sender<ClientAnswer>,
}

impl fmt::Debug for ClientRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientRequest")
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

impl ClientRequest {
    /// The method (`sampling/createMessage`, `elicitation/create`, `roots/list`, `ping`).
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The parameters.
    pub fn params(&self) -> &Map<String, Value> {
        &self.params
    }

    /// Splits into the method, the parameters and the [`Reply`] handle.
    pub fn into_parts(self) -> (String, Map<String, Value>, Reply) {
        (self.method, self.params, Reply(self.reply))
    }

    /// Answers the request (nothing happens when its asker has gone).
    pub fn reply(self, answer: ClientAnswer) {
        let _ = self.reply.send(answer);
    }
}

/// Where the client's answer to one [`ClientRequest`] goes.
#[derive(Debug)]
pub struct Reply(oneshot::Sender<ClientAnswer>);

impl Reply {
    /// Answers the request (nothing happens when its asker has gone).
    pub fn send(self, answer: ClientAnswer) {
        let _ = self.0.send(answer);
    }

    /// Whether the asker has gone.
    pub fn is_closed(&self) -> bool {
        self.0.is_closed()
    }
}

/// What goes to the client while one request is served.
#[derive(Debug)]
pub enum Outgoing {
    /// A notification.
    Notification(Relayed),
    /// A server→client request that waits for the client's answer.
    Request(ClientRequest),
}

/// Relays one request's notifications to its client. Cloning shares the channel.
#[derive(Clone)]
pub struct Notifier {
    tx: mpsc::Sender<Outgoing>,
    progress_token: Option<Value>,
    requests: bool,
    /// The least severe log level relayed; `None` relays no log message.
    log_level: Option<u8>,
    /// A listen stream's filter: then only change notifications are relayed.
    filter: Option<Arc<ListenFilter>>,
}

/// The log levels, least severe first (RFC 5424 as MCP uses them).
const LEVELS: [&str; 8] = [
    "debug",
    "info",
    "notice",
    "warning",
    "error",
    "critical",
    "alert",
    "emergency",
];

fn severity(level: &str) -> Option<u8> {
    LEVELS
        .iter()
        .position(|l| *l == level)
        .and_then(|p| u8::try_from(p).ok())
}

/// Whether a log message with these params is at or above `min` (every message is when no
/// level was set, as a legacy server sends them; one of unknown level always is).
pub(crate) fn at_or_above(min: Option<&str>, params: &Map<String, Value>) -> bool {
    let Some(min) = min.and_then(severity) else {
        return true;
    };
    params
        .get("level")
        .and_then(Value::as_str)
        .and_then(severity)
        .is_none_or(|l| l >= min)
}

impl fmt::Debug for Notifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notifier")
            .field("progress_token", &self.progress_token)
            .field("requests", &self.requests)
            .field("log_level", &self.log_level)
            .field("filter", &self.filter)
            .field("closed", &self.tx.is_closed())
            .finish()
    }
}

impl Notifier {
    /// A notifier for a client that asked for progress under `progress_token` (if any), and
    /// the receiving end the front turns into SSE events.
    pub fn channel(progress_token: Option<Value>) -> (Notifier, mpsc::Receiver<Outgoing>) {
        let (tx, rx) = mpsc::channel(CAPACITY);
        let notifier = Notifier {
            tx,
            progress_token,
            requests: false,
            log_level: Some(0),
            filter: None,
        };
        (notifier, rx)
    }

    /// A notifier for a listen stream: it relays `notifications/subscriptions/acknowledged`
    /// and the change notifications `filter` admits, and nothing else (no requests; log
    /// messages only once given a level with [`with_log_level`](Self::with_log_level): the
    /// upstream's own, sent outside any call, for a client that opted in to them).
    pub fn listen(filter: ListenFilter) -> (Notifier, mpsc::Receiver<Outgoing>) {
        let (tx, rx) = mpsc::channel(CAPACITY);
        let notifier = Notifier {
            tx,
            progress_token: None,
            requests: false,
            log_level: None,
            filter: Some(Arc::new(filter)),
        };
        (notifier, rx)
    }

    /// The filter of a listen stream's notifier; `None` for a request's notifier.
    pub fn filter(&self) -> Option<&ListenFilter> {
        self.filter.as_deref()
    }

    /// Whether the client has gone: nothing sent now reaches it.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    /// Waits until the client has gone.
    pub async fn closed(&self) {
        self.tx.closed().await;
    }

    /// Relays log messages at `level` and above only, and none when `None` (a modern client
    /// that did not opt in). A channel relays every level by default.
    pub fn with_log_level(mut self, level: Option<&str>) -> Self {
        self.log_level = level.map(|l| severity(l).unwrap_or(0));
        self
    }

    /// The progress token and log level of this notifier on a new channel: for a hop that
    /// relays into this one.
    pub fn channel_like(&self) -> (Notifier, mpsc::Receiver<Outgoing>) {
        let (mut n, rx) = Notifier::channel(self.progress_token.clone());
        n.log_level = self.log_level;
        n.filter = self.filter.clone();
        (n, rx)
    }

    /// Lets [`request`](Self::request) reach the client: for a client that can be sent
    /// requests on this request's stream (the legacy era).
    pub fn with_requests(mut self) -> Self {
        // A listen stream carries change notifications only.
        self.requests = self.filter.is_none();
        self
    }

    /// Whether the client can be sent requests.
    pub fn can_request(&self) -> bool {
        self.requests
    }

    /// Sends a server→client request to the client and waits for its answer. An error when
    /// the client cannot be asked (modern era, or no stream) or has gone.
    pub async fn request(&self, method: &str, params: Map<String, Value>) -> ClientAnswer {
        if !self.requests {
            return Err(ErrorObject::new(
                ErrorObject::INTERNAL_ERROR,
                "the client cannot be sent requests",
            ));
        }
        let (reply, answer) = oneshot::channel();
        let req = ClientRequest {
            method: method.to_owned(),
            params,
            reply,
        };
        if self.tx.send(Outgoing::Request(req)).await.is_err() {
            return Err(ErrorObject::new(
                ErrorObject::INTERNAL_ERROR,
                "the client has gone",
            ));
        }
        answer.await.unwrap_or_else(|_| {
            Err(ErrorObject::new(
                ErrorObject::INTERNAL_ERROR,
                "the client's answer was lost",
            ))
        })
    }

    /// The client's progress token, if it asked for progress.
    pub fn progress_token(&self) -> Option<&Value> {
        self.progress_token.as_ref()
    }

    /// Relays one notification; waits while the client is behind. Returns whether it was
    /// relayed: false for a method that is not relayed, for progress the client did not ask
    /// for, or when the client has gone.
    pub async fn notify(&self, method: &str, params: Map<String, Value>) -> bool {
        match self.relayed(method, params) {
            Some(note) => self.tx.send(Outgoing::Notification(note)).await.is_ok(),
            None => false,
        }
    }

    /// Relays one notification unless the client is behind, in which case it is dropped:
    /// for a reader that serves many requests and must not wait for any one client.
    pub fn try_notify(&self, method: &str, params: Map<String, Value>) -> bool {
        match self.relayed(method, params) {
            Some(note) => self.tx.try_send(Outgoing::Notification(note)).is_ok(),
            None => false,
        }
    }

    fn relayed(&self, method: &str, mut params: Map<String, Value>) -> Option<Relayed> {
        if let Some(filter) = &self.filter {
            let relay = method == ACKNOWLEDGED
                || filter.admits(method, &params)
                || (method == MESSAGE && self.admits_log(&params));
            return relay.then(|| (method.to_owned(), params));
        }
        match method {
            PROGRESS => {
                let token = self.progress_token.as_ref()?;
                params.insert("progressToken".into(), token.clone());
            }
            MESSAGE if !self.admits_log(&params) => return None,
            MESSAGE => {}
            _ => return None,
        }
        Some((method.to_owned(), params))
    }

    /// Whether a log message with these params is at or above the level the client asked
    /// for (one of unknown level is relayed to a client that asked for any).
    fn admits_log(&self, params: &Map<String, Value>) -> bool {
        let Some(min) = self.log_level else {
            return false;
        };
        let level = params
            .get("level")
            .and_then(Value::as_str)
            .and_then(severity);
        level.is_none_or(|l| l >= min)
    }
}

/// Answers a server's own request: `ping` at once, anything else through the client behind
/// `notifier` when it can be asked, refused with -32601 otherwise. The response to send back.
pub(crate) async fn answer_request(
    notifier: Option<&Notifier>,
    req: agent_gateway_core::jsonrpc::Request,
) -> agent_gateway_core::jsonrpc::Message {
    use agent_gateway_core::jsonrpc::{Message, Response};
    let params = req.params_object();
    let answer = match (req.method.as_str(), notifier) {
        ("ping", _) => Ok(Map::new()),
        (m, Some(n)) if n.can_request() => n.request(m, params).await,
        (m, _) => Err(ErrorObject::new(
            ErrorObject::METHOD_NOT_FOUND,
            format!("no client call can be shown to own this `{m}` request"),
        )),
    };
    let res = match answer {
        Ok(result) => Response::success(req.id.clone(), &Value::Object(result))
            .unwrap_or_else(|_| Response::error(Some(req.id), ErrorObject::internal_error())),
        Err(e) => Response::error(Some(req.id), e),
    };
    Message::from(res)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn log(level: &str) -> Map<String, Value> {
        json!({"level": level, "data": "x"})
            .as_object()
            .cloned()
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn a_listen_relays_log_messages_only_at_the_level_asked_for() {
        let (silent, _rx) = Notifier::listen(ListenFilter::all_lists());
        assert!(
            !silent.notify(MESSAGE, log("emergency")).await,
            "no level, no logs"
        );
        let (warned, mut rx) = Notifier::listen(ListenFilter::all_lists());
        let warned = warned.with_log_level(Some("warning"));
        assert!(!warned.notify(MESSAGE, log("info")).await);
        assert!(warned.notify(MESSAGE, log("error")).await);
        let Some(Outgoing::Notification((method, params))) = rx.recv().await else {
            panic!("the error-level message was relayed")
        };
        assert_eq!(
            (method.as_str(), &params["level"]),
            (MESSAGE, &json!("error"))
        );
        // Still nothing but what a listen carries: no progress.
        assert!(!warned.notify(PROGRESS, Map::new()).await);
    }
}
