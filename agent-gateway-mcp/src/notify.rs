//! The side channel that carries an upstream's progress and log notifications for one request
//! back to the client, as SSE events before the final response.
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
//! [`ListenFilter`] admits, and nothing else.
//!
//! ```
//! use agent_gateway_mcp::notify::Notifier;
//! use serde_json::{Map, json};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let (notifier, mut events) = Notifier::channel(Some(json!("client-token")));
//! // The upstream used its own token: the client sees its own.
//! let progress = json!({"progressToken": 7, "progress": 1}).as_object().cloned().unwrap();
//! assert!(notifier.notify("notifications/progress", progress).await);
//! let (method, params) = events.recv().await.unwrap();
//! assert_eq!((method.as_str(), &params["progressToken"]), ("notifications/progress", &json!("client-token")));
//! // Anything but progress and log messages is not relayed.
//! assert!(!notifier.notify("notifications/tools/list_changed", Map::new()).await);
//! # });
//! ```

use std::fmt;

use std::sync::Arc;

use serde_json::{Map, Value};
use tokio::sync::mpsc;

use crate::listen::{ACKNOWLEDGED, ListenFilter};

/// How many notifications wait for the client before the upstream is slowed down.
const CAPACITY: usize = 16;

/// The method of a progress notification.
pub const PROGRESS: &str = "notifications/progress";
/// The method of a log message notification.
pub const MESSAGE: &str = "notifications/message";

/// One relayed notification: its method and parameters.
pub type Relayed = (String, Map<String, Value>);

/// Relays one request's notifications to its client. Cloning shares the channel.
#[derive(Clone)]
pub struct Notifier {
    tx: mpsc::Sender<Relayed>,
    progress_token: Option<Value>,
    filter: Option<Arc<ListenFilter>>,
}

impl fmt::Debug for Notifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notifier")
            .field("progress_token", &self.progress_token)
            .field("filter", &self.filter)
            .field("closed", &self.tx.is_closed())
            .finish()
    }
}

impl Notifier {
    /// A notifier for a client that asked for progress under `progress_token` (if any), and
    /// the receiving end the front turns into SSE events.
    pub fn channel(progress_token: Option<Value>) -> (Notifier, mpsc::Receiver<Relayed>) {
        let (tx, rx) = mpsc::channel(CAPACITY);
        let notifier = Notifier {
            tx,
            progress_token,
            filter: None,
        };
        (notifier, rx)
    }

    /// A notifier for a listen stream: it relays `notifications/subscriptions/acknowledged`
    /// and the change notifications `filter` admits, and nothing else.
    pub fn listen(filter: ListenFilter) -> (Notifier, mpsc::Receiver<Relayed>) {
        let (tx, rx) = mpsc::channel(CAPACITY);
        let notifier = Notifier {
            tx,
            progress_token: None,
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

    /// The client's progress token, if it asked for progress.
    pub fn progress_token(&self) -> Option<&Value> {
        self.progress_token.as_ref()
    }

    /// Relays one notification; waits while the client is behind. Returns whether it was
    /// relayed: false for a method that is not relayed, for progress the client did not ask
    /// for, or when the client has gone.
    pub async fn notify(&self, method: &str, params: Map<String, Value>) -> bool {
        match self.relayed(method, params) {
            Some(note) => self.tx.send(note).await.is_ok(),
            None => false,
        }
    }

    /// Relays one notification unless the client is behind, in which case it is dropped:
    /// for a reader that serves many requests and must not wait for any one client.
    pub fn try_notify(&self, method: &str, params: Map<String, Value>) -> bool {
        match self.relayed(method, params) {
            Some(note) => self.tx.try_send(note).is_ok(),
            None => false,
        }
    }

    fn relayed(&self, method: &str, mut params: Map<String, Value>) -> Option<Relayed> {
        if let Some(filter) = &self.filter {
            let relay = method == ACKNOWLEDGED || filter.admits(method, &params);
            return relay.then(|| (method.to_owned(), params));
        }
        match method {
            PROGRESS => {
                let token = self.progress_token.as_ref()?;
                params.insert("progressToken".into(), token.clone());
            }
            MESSAGE => {}
            _ => return None,
        }
        Some((method.to_owned(), params))
    }
}
