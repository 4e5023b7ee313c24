//! One agent instance as an upstream service: it speaks JSON-RPC to the instance's endpoint in
//! the instance's own version, translating the call from the client's.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use agent_gateway_core::error::any_cause;
use agent_gateway_core::transport::HttpTransport;
use agent_gateway_core::upstream::InstanceId;
use agent_gateway_core::{BoxError, Secret};
use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Method, Request, Response, Uri};
use http_body_util::Full;
use serde_json::{Value, json};
use tower::util::BoxCloneSyncService;
use tower::{Service, ServiceExt};

use super::timeout::{IdleTimeout, Timeouts};
use crate::body::A2aBody;
use crate::error::A2aError;
use crate::op::Operation;
use crate::translate;
use crate::version::{VERSION_HEADER, Version};
use crate::webhook::{self, WebhookAllowList};

/// The HTTP transport to an instance: hyper's client, or an in-process agent in tests.
pub type Connector = BoxCloneSyncService<Request<Full<Bytes>>, Response<A2aBody>, BoxError>;

/// Boxes any HTTP client into a [`Connector`]: core's hyper client, an in-process agent, a
/// client wrapped in the user's own layers.
pub fn connector<C: HttpTransport>(client: C) -> Connector {
    BoxCloneSyncService::new(
        client
            .map_response(|res| res.map(A2aBody::new))
            .map_err(Into::into),
    )
}

/// A connector error meaning the request never reached the instance (connection refused,
/// no route), so sending it to another instance cannot duplicate it.
#[derive(Debug, Clone, Copy, Default, thiserror::Error)]
#[error("could not connect to the agent instance")]
pub struct ConnectFailed;

/// An instance call that failed before any response; `connect` says it surely never arrived.
#[derive(Debug, thiserror::Error)]
#[error("agent instance `{instance}` failed")]
pub struct InstanceFailed {
    pub(crate) instance: InstanceId,
    pub(crate) connect: bool,
    #[source]
    source: BoxError,
}

/// One call to an instance, in the client's version.
#[derive(Debug, Clone)]
pub(crate) struct UpstreamCall {
    pub(crate) op: Operation,
    pub(crate) version: Version,
    pub(crate) params: Value,
    pub(crate) headers: HeaderMap,
    /// The caller's tenant, sent as `tenant` to 1.0 instances (0.3 has no such field).
    pub(crate) tenant: Option<String>,
    /// The push webhooks allowed, checked on the params as translated for the instance.
    pub(crate) webhooks: Arc<WebhookAllowList>,
}

/// What an instance answered, and which instance it was.
#[derive(Debug)]
pub(crate) struct InstanceReply {
    pub(crate) instance: InstanceId,
    pub(crate) version: Version,
    pub(crate) response: Response<A2aBody>,
}

/// The service registered for each instance in the core upstream registry.
#[derive(Clone)]
pub(crate) struct InstanceService {
    pub(crate) id: InstanceId,
    pub(crate) endpoint: Uri,
    pub(crate) version: Version,
    pub(crate) authorization: Option<Secret<HeaderValue>>,
    pub(crate) connector: Connector,
    pub(crate) timeouts: Timeouts,
}

impl fmt::Debug for InstanceService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InstanceService")
            .field("id", &self.id)
            .field("endpoint", &self.endpoint)
            .field("version", &self.version)
            .field("authorization", &self.authorization)
            .field("timeouts", &self.timeouts)
            .finish_non_exhaustive()
    }
}

fn is_connect_failure(err: &(dyn std::error::Error + 'static)) -> bool {
    any_cause(err, |e| {
        e.is::<ConnectFailed>()
            || e.downcast_ref::<std::io::Error>().is_some_and(|io| {
                matches!(
                    io.kind(),
                    // A connect timeout (see `http_connector_with`): never reached either.
                    std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::TimedOut
                )
            })
    })
}

impl Service<UpstreamCall> for InstanceService {
    type Response = InstanceReply;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<InstanceReply, BoxError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, call: UpstreamCall) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            let Some(method) = call.op.method(this.version) else {
                return Err(A2aError::UnsupportedOperation(
                    "not available in the agent's A2A version",
                )
                .into());
            };
            let mut params = translate::params(call.op, call.version, this.version, call.params);
            if let (Some(tenant), Version::V1_0, Some(obj)) =
                (call.tenant, this.version, params.as_object_mut())
            {
                obj.insert("tenant".into(), Value::String(tenant));
            }
            // Last, on exactly what the agent will read: no alias survives unchecked.
            webhook::check(&call.webhooks, call.op, &params)?;
            let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
            let mut req = Request::builder()
                .method(Method::POST)
                .uri(this.endpoint.clone())
                .header(CONTENT_TYPE, "application/json")
                .header(
                    ACCEPT,
                    if call.op.is_streaming() {
                        "text/event-stream"
                    } else {
                        "application/json"
                    },
                )
                .body(Full::new(Bytes::from(body.to_string())))?;
            if this.version == Version::V1_0 {
                req.headers_mut()
                    .insert(VERSION_HEADER, HeaderValue::from_static("1.0"));
            }
            if let Some(auth) = &this.authorization {
                req.headers_mut()
                    .insert(AUTHORIZATION, auth.expose().clone());
            }
            for (name, value) in &call.headers {
                req.headers_mut().append(name, value.clone());
            }
            let Timeouts {
                response: wait,
                stream_idle,
            } = this.timeouts;
            let Ok(sent) = tokio::time::timeout(wait, this.connector.oneshot(req)).await else {
                tracing::warn!(instance = %this.id, ?wait, "agent instance did not answer in time");
                return Err(A2aError::Timeout.into());
            };
            match sent {
                Ok(response) => Ok(InstanceReply {
                    instance: this.id,
                    version: this.version,
                    response: response.map(|b| A2aBody::new(IdleTimeout::new(b, stream_idle))),
                }),
                Err(source) => Err(Box::new(InstanceFailed {
                    connect: is_connect_failure(source.as_ref()),
                    instance: this.id,
                    source,
                }) as BoxError),
            }
        })
    }
}
