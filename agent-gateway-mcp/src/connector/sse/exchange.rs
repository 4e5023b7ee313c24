//! One request over the legacy SSE stream: POSTed to the endpoint, answered on the stream.

use std::sync::atomic::Ordering;

use agent_gateway_core::BoxError;
use agent_gateway_core::transport::HttpTransport;
use futures_util::future::BoxFuture;
use http::StatusCode;
use serde_json::{Map, Value};

use super::link::{Inflight, Link, post};
use super::{SseUpstream, SseUpstreamError};
use crate::connector::mux::{self, Exchange};
use crate::method::McpMethod;
use crate::notify::Notifier;

/// Forgets a request that is no longer awaited; if it was still in flight (its caller gave
/// up, a timeout say), tells the server with `cancel`, a `notifications/cancelled` POST.
struct Forget<'a> {
    inflight: &'a Inflight,
    id: i64,
    cancel: Option<BoxFuture<'static, ()>>,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        if self.inflight.remove(self.id)
            && let Some(cancel) = self.cancel.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(cancel);
        }
    }
}

impl<C> SseUpstream<C>
where
    C: HttpTransport,
{
    /// One request over `link`, and its answer from the stream.
    pub(super) async fn exchange(
        &self,
        link: &Link,
        method: &str,
        params: Map<String, Value>,
        notifier: Option<Notifier>,
        declared: Option<Value>,
    ) -> Result<Map<String, Value>, BoxError> {
        let id = self.shared.next_id.fetch_add(1, Ordering::Relaxed);
        let call = Exchange::new(id, method, params, notifier, declared)?;
        link.inflight.insert(id, call.pending)?;
        let auth = self.shared.authorization();
        // `initialize` is never cancelled.
        let cancel = (method != McpMethod::Initialize.as_str()).then(|| {
            let (client, uri, auth) = (self.client.clone(), link.endpoint.clone(), auth.clone());
            Box::pin(async move {
                if let Some(note) = mux::cancelled(id) {
                    let _ = post(client, &uri, auth.as_ref(), note).await;
                }
            }) as BoxFuture<'static, ()>
        });
        let _forget = Forget {
            inflight: &link.inflight,
            id,
            cancel,
        };
        let status = post(
            self.client.clone(),
            &link.endpoint,
            auth.as_ref(),
            call.bytes,
        )
        .await?;
        if !status.is_success() {
            if status == StatusCode::NOT_FOUND {
                // The server forgot our session: this stream is of no more use.
                link.close();
            }
            return Err(Box::new(SseUpstreamError::Status(status)));
        }
        match call.answer.await {
            Ok(outcome) => outcome,
            Err(_) => Err(Box::new(SseUpstreamError::Lost)),
        }
    }
}
