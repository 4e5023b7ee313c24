//! The A2A router: sends each request to the right instance of the right agent, and answers
//! cards and discovery from the registry.
//!
//! A new message goes to one instance by the power of two choices on latency; when the chosen
//! instance cannot be reached, the message is sent to the others in turn. Everything about an
//! existing task or context goes to the instance that owns it: the router seals that instance
//! into the task and context ids the client sees, and opens them on the way back, so any
//! gateway replica sharing the key routes a follow-up correctly, with no shared store. A
//! tampered id is an unknown task (-32001), answered without calling any agent.
//!
//! ```
//! use agent_gateway_a2a::op::Operation;
//! use agent_gateway_a2a::registry::{Agent, AgentRegistry};
//! use agent_gateway_a2a::request::{A2aRequest, Binding};
//! use agent_gateway_a2a::response::Reply;
//! use agent_gateway_a2a::router::A2aRouter;
//! use agent_gateway_a2a::seal::Sealer;
//! use agent_gateway_a2a::testkit::FakeAgent;
//! use agent_gateway_a2a::version::Version;
//! use agent_gateway_core::Secret;
//! use serde_json::json;
//! use tower::ServiceExt;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let fake = FakeAgent::new("echo");
//! let agents = AgentRegistry::builder()
//!     .agent(Agent::new("echo").unwrap().instance("i1", "http://echo.internal/", Version::V1_0, fake.connector()).unwrap())
//!     .build().unwrap();
//! let sealer = Sealer::new(Secret::new(vec![7; 32])).unwrap();
//! let router = A2aRouter::new(agents, sealer);
//! let send = A2aRequest::new("echo", Operation::SendMessage, Version::V1_0, Binding::Rest { tenant: None },
//!     json!({"message": {"messageId": "m1", "role": "ROLE_USER", "parts": [{"text": "hi"}]}}));
//! // Allowed: the task comes back with a sealed id.
//! let Reply::Result(res) = router.clone().oneshot(send).await.unwrap().into_reply() else { panic!() };
//! let task_id = res["task"]["id"].as_str().unwrap();
//! assert!(Sealer::looks_sealed(task_id));
//! // Denied: a forged task id is an unknown task, and the agent is not called.
//! let get = A2aRequest::new("echo", Operation::GetTask, Version::V1_0, Binding::Rest { tenant: None },
//!     json!({"id": format!("{task_id}x")}));
//! let err = router.oneshot(get).await.unwrap_err();
//! assert_eq!(agent_gateway_a2a::router::find_a2a_error(&*err).unwrap().code(), -32001);
//! assert_eq!(fake.calls(), 1);
//! # }
//! ```

mod affinity;
#[cfg(test)]
mod affinity_tests;
mod discovery;
mod history;
pub(crate) mod push;
mod tag;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use agent_gateway_core::body::read_limited;
use agent_gateway_core::error::cause_ref;
use agent_gateway_core::response::ServedBy;
use agent_gateway_core::upstream::Failover;
use agent_gateway_core::upstream::hop::copy_hop_headers;
use agent_gateway_core::upstream::{CircuitOpen, NoHealthyInstance};
use agent_gateway_core::{AgentRequest, BoxError, Caller};
use http::HeaderMap;
use http::header::CONTENT_TYPE;
use serde_json::{Value, json};
use tower::{Service, ServiceExt};

pub use self::discovery::DiscoveryQuery;
use crate::error::A2aError;
use crate::op::Operation;
use crate::registry::instance::{InstanceFailed, InstanceReply, UpstreamCall};
use crate::registry::{AgentRegistry, CardError, StreamIdle};
use crate::request::A2aRequest;
use crate::response::A2aResponse;
use crate::seal::{Owner, Sealer};
use crate::stream::EventStream;
use crate::translate;
use crate::version::Version;
use crate::webhook::WebhookAllowList;

/// The largest unary answer accepted from an agent.
const MAX_REPLY_BYTES: usize = 16 * 1024 * 1024;

/// The A2A request header passed on to the agent besides the hop headers
/// ([`copy_hop_headers`]: trace context and the run's signed remainder); everything else,
/// credentials above all, stays here.
const A2A_EXTENSIONS: &str = "a2a-extensions";

/// Finds the [`A2aError`] in an error's source chain.
pub fn find_a2a_error<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a A2aError> {
    cause_ref::<A2aError>(err)
}

/// Routes [`A2aRequest`]s to agent instances. Cheap to clone.
#[derive(Clone, Debug)]
pub struct A2aRouter {
    inner: Arc<Inner>,
}

#[derive(Clone, Debug)]
struct Inner {
    agents: AgentRegistry,
    sealer: Sealer,
    webhooks: Arc<WebhookAllowList>,
}

impl A2aRouter {
    /// A router over `agents`, sealing ids with `sealer`. No push webhook is allowed until
    /// [`with_webhooks`](Self::with_webhooks).
    pub fn new(agents: AgentRegistry, sealer: Sealer) -> Self {
        A2aRouter {
            inner: Arc::new(Inner {
                agents,
                sealer,
                webhooks: Arc::default(),
            }),
        }
    }

    /// Sets the push-notification webhooks clients may register. They are checked here on
    /// the params as sent to the agent, after version translation (the front checks them too,
    /// as the client sent them): give both the same list.
    pub fn with_webhooks(self, webhooks: WebhookAllowList) -> Self {
        let inner = Arc::unwrap_or_clone(self.inner);
        A2aRouter {
            inner: Arc::new(Inner {
                webhooks: Arc::new(webhooks),
                ..inner
            }),
        }
    }

    /// The registry.
    pub fn agents(&self) -> &AgentRegistry {
        &self.inner.agents
    }
}

impl Service<A2aRequest> for A2aRouter {
    type Response = A2aResponse;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<A2aResponse, BoxError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: A2aRequest) -> Self::Future {
        let inner = self.inner.clone();
        Box::pin(async move { inner.route(req).await })
    }
}

type ReplyFuture = Pin<Box<dyn Future<Output = Result<InstanceReply, BoxError>> + Send>>;

/// Boxes a call outside any `async` block, where the compiler can prove it `Send`.
fn dispatch<S>(service: S, call: UpstreamCall) -> ReplyFuture
where
    S: Service<UpstreamCall, Response = InstanceReply, Error = BoxError> + Send + 'static,
    S::Future: Send,
{
    Box::pin(service.oneshot(call))
}

fn is_down(err: &BoxError) -> Option<Option<String>> {
    if let Some(f) = cause_ref::<InstanceFailed>(err.as_ref()) {
        return f.connect.then(|| Some(f.instance.as_str().to_owned()));
    }
    (cause_ref::<CircuitOpen>(err.as_ref()).is_some()
        || cause_ref::<NoHealthyInstance>(err.as_ref()).is_some())
    .then_some(None)
}

impl Inner {
    async fn route(&self, req: A2aRequest) -> Result<A2aResponse, BoxError> {
        let op = req.operation();
        if op == Operation::ListAgents {
            let query = DiscoveryQuery::from_params(req.params());
            return Ok(A2aResponse::agents(
                discovery::list(&self.agents, &query).await,
            ));
        }
        if op == Operation::GetCard {
            return match self.agents.card(req.agent()).await {
                Ok(c) => Ok(A2aResponse::card((*c.card).clone(), c.fetched)),
                Err(CardError::UnknownAgent) => Err(A2aError::UnknownAgent.into()),
                Err(_) => Err(A2aError::Unavailable.into()),
            };
        }
        // No auth layer: every caller is the same anonymous one, as they are to every policy.
        let caller = req.caller().cloned().unwrap_or_else(Caller::anonymous);
        let owner = caller.owner_digest();
        let (agent, op, version, mut params, headers) = req.into_parts();
        let balanced = self.agents.balanced(&agent).ok_or(A2aError::UnknownAgent)?;
        // As the agent would: no push support is said before any task or webhook is looked at.
        push::check(&self.agents, &agent, op, &params).await?;
        affinity::bind_context(&self.sealer, &agent, &owner, op, &mut params)?;
        let pin = affinity::open_ids(&self.sealer, &agent, &owner, op, version, &mut params)?;
        // The tenant is the caller's, never one the client names in the path or params.
        if let Some(obj) = params.as_object_mut() {
            obj.remove("tenant");
        }
        let mut fwd = HeaderMap::new();
        copy_hop_headers(&headers, &mut fwd);
        if let Some(v) = headers.get(A2A_EXTENSIONS) {
            fwd.insert(A2A_EXTENSIONS, v.clone());
        }
        let history = history::limit(op, version, &params);
        let call = UpstreamCall {
            op,
            version,
            params,
            headers: fwd,
            tenant: caller.tenant().map(str::to_owned),
            webhooks: self.webhooks.clone(),
        };
        if op == Operation::ListTasks && pin.is_none() && balanced.upstream().instances().len() > 1
        {
            return self
                .list_everywhere(&agent, &owner, &balanced, call, history)
                .await;
        }
        let reply = match pin {
            Some(instance) => {
                let pinned = balanced
                    .pin(&instance, Failover::Never)
                    .map_err(|_| A2aError::TaskNotFound)?;
                dispatch(pinned, call).await
            }
            None => {
                let first = dispatch(balanced.clone(), call.clone()).await;
                match first {
                    Err(err) if is_down(&err).is_some() => {
                        let failed = is_down(&err).flatten();
                        let mut result = Err(err);
                        for inst in balanced.upstream().instances() {
                            if Some(inst.id().as_str()) == failed.as_deref() {
                                continue;
                            }
                            let Ok(pinned) = balanced.pin(inst.id().as_str(), Failover::Never)
                            else {
                                continue;
                            };
                            result = dispatch(pinned, call.clone()).await;
                            if !matches!(&result, Err(e) if is_down(e).is_some()) {
                                break;
                            }
                        }
                        result
                    }
                    other => other,
                }
            }
        };
        let reply = reply.map_err(|err| {
            let a2a = match cause_ref::<A2aError>(err.as_ref()) {
                Some(a2a) => a2a.clone(),
                None => {
                    tracing::warn!(agent, error = %err, "agent call failed");
                    A2aError::Unavailable
                }
            };
            // The instance is not known here: the balancer chose it, and it did not answer.
            tag::agent_error(a2a, None, ServedBy::new(agent.as_str()))
        })?;
        let served = ServedBy::new(agent.as_str()).with_instance(reply.instance.as_str());
        let res = self
            .answer(&agent, &owner, (op, version, history), reply)
            .await?;
        Ok(res.with_served_by(served))
    }

    /// The client's answer to `reply`: ids sealed, translated to the client's `version`, and
    /// every task's history cut to the client's `history` limit.
    async fn answer(
        &self,
        agent: &str,
        owner: &Owner,
        (op, version, history): (Operation, Version, Option<usize>),
        reply: InstanceReply,
    ) -> Result<A2aResponse, BoxError> {
        let (from, instance) = (reply.version, reply.instance.as_str().to_owned());
        let served = ServedBy::new(agent).with_instance(instance.as_str());
        let is_sse = reply
            .response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        let sealer = self.sealer.clone();
        let agent_name = agent.to_owned();
        let owner = *owner;
        // Sealing cannot fail short of the system failing; if it does, nothing unsealed leaks.
        let seal = move |v: &mut Value| {
            affinity::seal_ids(v, &|id| sealer.seal(&agent_name, &owner, &instance, id))
                .map_err(|_| A2aError::Unavailable)
        };
        let trim = move |mut v: Value| {
            if let Some(n) = history {
                history::trim(&mut v, n);
            }
            v
        };
        if is_sse && op.is_streaming() {
            let map = Box::new(move |mut ev: Value| {
                seal(&mut ev)?;
                Ok(trim(translate::stream_event(from, version, ev)))
            });
            return Ok(A2aResponse::stream(EventStream::new(
                reply.response.into_body(),
                map,
            )));
        }
        let (parts, body) = reply.response.into_parts();
        // What the agent answered, tagged as its own for the audit record.
        let agent_error = |e| tag::agent_error(e, Some(parts.status), served.clone());
        let bytes = read_limited(body, MAX_REPLY_BYTES, &parts.headers)
            .await
            .map_err(|e| match cause_ref::<StreamIdle>(&e) {
                Some(_) => agent_error(A2aError::Timeout),
                None => agent_error(A2aError::InvalidAgentResponse),
            })?;
        let mut msg: Value = serde_json::from_slice(&bytes)
            .map_err(|_| agent_error(A2aError::InvalidAgentResponse))?;
        if let Some(err) = msg.get_mut("error").map(Value::take) {
            let obj = serde_json::from_value(err)
                .map_err(|_| agent_error(A2aError::InvalidAgentResponse))?;
            return Err(agent_error(A2aError::Upstream(obj)));
        }
        let mut result = match msg.get_mut("result").map(Value::take) {
            Some(result) => result,
            // a2a-sdk's 0.3 side answers a delete with neither result nor error.
            None if op == Operation::DeletePushConfig => Value::Null,
            None => return Err(agent_error(A2aError::InvalidAgentResponse)),
        };
        if op == Operation::ListTasks {
            // Before sealing: every id sealed here becomes a handle for this caller.
            affinity::own_tasks(&self.sealer, agent, &owner, &mut result);
        }
        seal(&mut result)?;
        if op.is_streaming() {
            // A non-streaming answer to a streaming call: relay it as a one-event stream.
            let event = trim(translate::stream_event(from, version, result));
            let body = crate::body::full(format!(
                "data: {}\n\n",
                json!({"jsonrpc": "2.0", "id": 1, "result": event})
            ));
            return Ok(A2aResponse::stream(EventStream::new(body, Box::new(Ok))));
        }
        Ok(A2aResponse::result(trim(translate::result(
            op, from, version, result,
        ))))
    }

    /// `ListTasks` with no context: asks every instance and concatenates the pages (one page
    /// each; `nextPageToken` is dropped).
    async fn list_everywhere(
        &self,
        agent: &str,
        owner: &Owner,
        balanced: &agent_gateway_core::upstream::Balanced<
            crate::registry::instance::InstanceService,
        >,
        call: UpstreamCall,
        history: Option<usize>,
    ) -> Result<A2aResponse, BoxError> {
        let mut tasks = Vec::new();
        for inst in balanced.upstream().instances() {
            let Ok(pinned) = balanced.pin(inst.id().as_str(), Failover::Never) else {
                continue;
            };
            let Ok(reply) = dispatch(pinned, call.clone()).await else {
                continue;
            };
            let res = self
                .answer(agent, owner, (call.op, call.version, history), reply)
                .await?;
            if let crate::response::Reply::Result(mut v) = res.into_reply()
                && let Some(Value::Array(t)) = v.get_mut("tasks").map(Value::take)
            {
                tasks.extend(t);
            }
        }
        let n = tasks.len();
        // Every instance answered: the record names the agent, no one instance.
        Ok(A2aResponse::result(
            json!({"tasks": tasks, "nextPageToken": "", "pageSize": n, "totalSize": n}),
        )
        .with_served_by(ServedBy::new(agent)))
    }
}
