//! The A2A front: a `Service<http::Request<B>>` with `Error = Infallible`, mountable at any
//! path, that decodes every A2A binding once into an [`A2aRequest`], calls the inner stack
//! (the user's policy layers around an [`A2aRouter`](crate::router::A2aRouter)), and encodes
//! the answer, or any error, in the client's binding.
//!
//! Routes, relative to where the front is mounted:
//! - `GET /`: discovery (`?name=&tag=&skill=`);
//! - `GET /{agent}/.well-known/agent-card.json` (and the legacy `agent.json`): the card,
//!   rewritten to point at the gateway, dual (1.0 and 0.3) or 1.0 only
//!   ([`CardVersions`]);
//! - `GET /.well-known/agent-card.json`: the card of the default agent, if one is set
//!   ([`A2aFrontConfig::with_default_agent`]), where A2A 0.3 clients look for it;
//! - `POST /{agent}` (with or without a trailing slash): JSON-RPC, 1.0 names with
//!   `A2A-Version: 1.0`, 0.3 names without;
//! - `/{agent}[/{tenant}][/v1]/message:send`, `…/tasks/{id}:subscribe`, …: HTTP+JSON.
//!
//! Answers are the agent's own where the gateway can know them: a push-config request to an
//! agent without push support is PushNotificationNotSupported before any webhook check
//! ([`A2aFrontConfig::with_agents`]), a 1.0 request without an id is served and answered with
//! a null id (a 0.3 one is refused in a2a-sdk's order), and an error to a streaming method is
//! an event stream carrying it in 0.3 JSON-RPC, a plain error before any event otherwise.
//!
//! ```
//! use agent_gateway_a2a::front::A2aFront;
//! use agent_gateway_a2a::registry::{Agent, AgentRegistry};
//! use agent_gateway_a2a::router::A2aRouter;
//! use agent_gateway_a2a::seal::Sealer;
//! use agent_gateway_a2a::testkit::FakeAgent;
//! use agent_gateway_a2a::version::Version;
//! use agent_gateway_core::Secret;
//! use agent_gateway_core::testkit::TestClient;
//! use serde_json::json;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use agent_gateway_a2a::front::{A2aFrontConfig, A2aFrontLayer};
//! use tower::Layer;
//! let fake = FakeAgent::new("echo");
//! let agents = AgentRegistry::builder()
//!     .agent(Agent::new("echo").unwrap().instance("i1", "http://echo.internal/", Version::V1_0, fake.connector()).unwrap())
//!     .build().unwrap();
//! let router = A2aRouter::new(agents, Sealer::new(Secret::new(vec![7; 32])).unwrap());
//! // The same as `A2aFront::new(router, config)`, as a layer over the user's policy stack.
//! let config = A2aFrontConfig::new("https://gw.example.com/a2a").unwrap();
//! let front: A2aFront<_> = A2aFrontLayer::new(config).layer(router);
//! let client = TestClient::new(front);
//! let send = json!({"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params":
//!     {"message": {"messageId": "m1", "role": "ROLE_USER", "parts": [{"text": "hi"}]}}});
//! // Allowed: a 1.0 send reaches the agent.
//! let res = client.post("/echo").header("a2a-version", "1.0").json(&send).send().await;
//! assert_eq!(res.json()["result"]["task"]["status"]["state"], "TASK_STATE_COMPLETED");
//! // Refused: the same body as text/plain is 415, and the agent is not called.
//! let res = client.post("/echo").header("a2a-version", "1.0").header("content-type", "text/plain")
//!     .body(send.to_string()).send().await;
//! assert_eq!(res.status(), 415);
//! assert_eq!(res.json()["error"]["code"], -32005);
//! assert_eq!(fake.calls(), 1);
//! # }
//! ```

mod card;
mod config;
mod decode;
mod layer;
pub(crate) mod render;
mod sse;

use std::convert::Infallible;
use std::future::Future;
use std::mem;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use agent_gateway_core::body::{BodyError, read_limited};
use agent_gateway_core::content::DeclaredDataSchemas;
use agent_gateway_core::jsonrpc::Id;
use agent_gateway_core::response::PolicyHeaders;
use agent_gateway_core::{AgentRequest, BoxError};
use bytes::Bytes;
use http::{Method, Request, Response};
use http_body::Body;
use serde_json::{Value, json};
use tower::{Service, ServiceExt};

pub use self::config::{A2aFrontConfig, CardVersions, InvalidPublicUrl};
use self::decode::Route;
pub use self::layer::A2aFrontLayer;
use crate::body::A2aBody;
use crate::error::A2aError;
use crate::op::Operation;
use crate::request::{A2aRequest, Binding};
use crate::response::{A2aResponse, Reply};
use crate::translate::{self, proto03};
use crate::version::Version;
use crate::webhook;

/// The policy action a request to the front asks for, as far as its method and `path` (under
/// the front's mount) tell it without the body: discovery and cards, or an HTTP+JSON route's
/// operation. `None` for a JSON-RPC `POST` (the method is in the body) or a path the front
/// does not serve. For the audit record of a request refused before its body is read.
///
/// ```
/// use agent_gateway_a2a::front::action_of;
/// use agent_gateway_core::Action;
/// use http::Method;
///
/// assert_eq!(action_of(&Method::POST, "/echo/message:send"), Some(Action::AgentMessage));
/// assert_eq!(action_of(&Method::GET, "/echo/.well-known/agent-card.json"), Some(Action::Discovery));
/// assert_eq!(action_of(&Method::POST, "/echo"), None); // JSON-RPC: the body says
/// ```
pub fn action_of(method: &Method, path: &str) -> Option<agent_gateway_core::Action> {
    match decode::route(method, path, None).ok()? {
        Route::Discovery | Route::Card(_) => Some(agent_gateway_core::Action::Discovery),
        Route::Rest { op, .. } => Some(op.action()),
        Route::JsonRpc(_) => None,
    }
}

/// The A2A front service.
#[derive(Debug, Clone)]
pub struct A2aFront<S> {
    inner: S,
    config: Arc<A2aFrontConfig>,
}

impl<S> A2aFront<S> {
    /// A front calling `inner`, with `config`.
    pub fn new(inner: S, config: A2aFrontConfig) -> Self {
        A2aFront {
            inner,
            config: Arc::new(config),
        }
    }

    /// The front's settings.
    pub fn config(&self) -> &A2aFrontConfig {
        &self.config
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

type Decoded = Result<A2aRequest, Response<A2aBody>>;

async fn decode<B>(config: &A2aFrontConfig, req: Request<B>) -> Decoded
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let (parts, body) = req.into_parts();
    let route = decode::route(&parts.method, parts.uri.path(), config.default_agent());
    let binding = decode::binding_of(route.as_ref().ok());
    let fail = |e: A2aError| match &binding {
        Binding::JsonRpc { .. } => render::render_rpc(None, &e),
        b => render::render_a2a(&e, b),
    };
    let route = route.map_err(fail)?;
    let version = Version::from_request(&parts.headers, parts.uri.query())
        .map_err(|v| fail(A2aError::VersionNotSupported(v.0)))?;
    let needs_body = matches!(route, Route::JsonRpc(_)) || parts.method == Method::POST;
    let has_type = parts.headers.contains_key(http::header::CONTENT_TYPE);
    if needs_body
        && (has_type || matches!(route, Route::JsonRpc(_)))
        && !decode::json_content_type(&parts)
    {
        return Err(fail(A2aError::ContentTypeNotSupported));
    }
    let bytes = read_limited(body, config.max_body, &parts.headers)
        .await
        .map_err(|e| {
            fail(match e {
                BodyError::TooLarge { .. } => A2aError::PayloadTooLarge,
                _ => A2aError::InvalidRequest("the request body could not be read".into()),
            })
        })?;
    if needs_body && !has_type && !bytes.is_empty() {
        return Err(fail(A2aError::ContentTypeNotSupported));
    }
    let (agent, op, binding, params) = match route {
        Route::Discovery => {
            let params = decode::rest_params(
                Operation::ListAgents,
                version,
                &[],
                parts.uri.query(),
                &Bytes::new(),
            )
            .map_err(fail)?;
            (String::new(), Operation::ListAgents, Binding::Http, params)
        }
        Route::Card(agent) => (agent, Operation::GetCard, Binding::Http, Value::Null),
        Route::JsonRpc(agent) => {
            let (id, op, params) = decode::jsonrpc(version, &bytes)
                .map_err(|(id, e)| render::render_rpc(id.as_ref(), &e))?;
            let binding = Binding::JsonRpc { id };
            let refuse = |e: A2aError| render::render_a2a(&e, &binding);
            decode::check_message(op, &params).map_err(refuse)?;
            push_capability(config, &agent, op, &params)
                .await
                .map_err(refuse)?;
            decode::validate(config, op, &params).map_err(refuse)?;
            (agent, op, binding, params)
        }
        Route::Rest {
            agent,
            tenant,
            op,
            segments,
        } => {
            let binding = Binding::Rest {
                tenant: tenant.clone(),
            };
            let params = decode::rest_params(op, version, &segments, parts.uri.query(), &bytes)
                .map_err(|e| render::render_a2a(&e, &binding))?;
            push_capability(config, &agent, op, &params)
                .await
                .map_err(|e| render::render_a2a(&e, &binding))?;
            // The body as the client spelled it, before the 0.3 dialect folds aliases together.
            let params = webhook::check(&config.webhooks, op, &params)
                .map(|()| params)
                .map(|p| match (version, op) {
                    // The 0.3 HTTP+JSON dialect, brought to the 0.3 JSON-RPC shape every later step reads.
                    (Version::V0_3, Operation::CreatePushConfig) => proto03::push_create_to_v03(p),
                    (Version::V0_3, Operation::SendMessage | Operation::SendStreamingMessage) => {
                        translate::params(
                            op,
                            Version::V1_0,
                            Version::V0_3,
                            proto03::send_params_to_v1(p),
                        )
                    }
                    _ => p,
                })
                .and_then(|p| decode::validate(config, op, &p).map(|()| p))
                .map_err(|e| render::render_a2a(&e, &binding))?;
            (agent, op, binding, params)
        }
    };
    let mut extensions = parts.extensions;
    if let Some(declared) = card_schemas(config, &agent, op).await {
        extensions.insert(declared);
    }
    Ok(A2aRequest::new(agent, op, version, binding, params)
        .with_headers(parts.headers)
        .with_extensions(extensions))
}

/// The data schemas the card of a message's agent declares, when the front is to read them
/// ([`A2aFrontConfig::with_card_schemas`]).
async fn card_schemas(
    config: &A2aFrontConfig,
    agent: &str,
    op: Operation,
) -> Option<DeclaredDataSchemas> {
    let sends = matches!(op, Operation::SendMessage | Operation::SendStreamingMessage);
    let agents = config
        .agents
        .as_ref()
        .filter(|_| config.card_schemas && sends)?;
    let card = agents.card(agent).await.ok()?;
    card.data_schemas.map(DeclaredDataSchemas)
}

/// PushNotificationNotSupported, from the agent's cached card, when the front knows the
/// registry ([`A2aFrontConfig::with_agents`]): checked before any webhook, as the agent does.
async fn push_capability(
    config: &A2aFrontConfig,
    agent: &str,
    op: Operation,
    params: &Value,
) -> Result<(), A2aError> {
    match &config.agents {
        Some(agents) => crate::router::push::check(agents, agent, op, params).await,
        None => Ok(()),
    }
}

/// What the front needs of the request to encode its answer.
struct Answer {
    agent: String,
    op: Operation,
    version: Version,
    binding: Binding,
    headers: http::HeaderMap,
}

impl Answer {
    /// Whether the client speaks the 0.3 HTTP+JSON dialect (0.3 ProtoJSON).
    fn proto03(&self) -> bool {
        self.version == Version::V0_3 && matches!(self.binding, Binding::Rest { .. })
    }

    /// Whether an error to this call is an event of its stream (a2a-sdk's 0.3 JSON-RPC
    /// streaming methods), rather than an answer of its own before any event (a2a-sdk 1.x
    /// reads a stream's first event before it answers, on both bindings).
    fn errors_as_events(&self) -> bool {
        self.op.is_streaming()
            && self.version == Version::V0_3
            && matches!(self.binding, Binding::JsonRpc { .. })
    }
}

async fn encode(config: &A2aFrontConfig, answer: &Answer, res: A2aResponse) -> Response<A2aBody> {
    let (agent, binding, headers) = (&answer.agent, &answer.binding, &answer.headers);
    // The JSON-RPC id to answer with: null for a 1.0 request sent without one.
    let rpc_id = match binding {
        Binding::JsonRpc { id } => Some(id.as_ref().map_or(Value::Null, Id::to_value)),
        _ => None,
    };
    let url = format!("{}/{agent}", config.public_url);
    match res.into_reply() {
        Reply::Denied(denied) => render::render_error(&denied, binding, answer.errors_as_events()),
        Reply::Stream(mut events) => {
            // The first event is read before answering, but where errors are events: an
            // error (or a denial) before it is an answer of its own, as the agent gives it.
            let first = match answer.errors_as_events() {
                true => None,
                false => match std::future::poll_fn(|cx| events.poll_next(cx)).await {
                    Some(Err(err)) => return render::render_error(&err, binding, false),
                    first => first.and_then(Result::ok),
                },
            };
            let map: Option<fn(Value) -> Value> = answer.proto03().then_some(|ev| {
                proto03::from_v1(translate::stream_event(Version::V0_3, Version::V1_0, ev))
            });
            sse::response(events, first, rpc_id, map)
        }
        Reply::Card { mut card, fetched } => {
            let versions = config.card_versions(agent);
            card::rewrite(&mut card, &url, config.card_security.as_ref(), versions);
            card::serve(&card, fetched, config.card_max_age, headers)
        }
        Reply::Agents(items) => {
            let agents: Vec<Value> = items
                .into_iter()
                .map(|(name, mut v)| {
                    if let Some(obj) = v.as_object_mut() {
                        let card =
                            format!("{}/{name}/.well-known/agent-card.json", config.public_url);
                        obj.insert("card".into(), card.into());
                    }
                    v
                })
                .collect();
            render::json_response(http::StatusCode::OK, &json!({"agents": agents}))
        }
        Reply::Result(mut result) => {
            if answer.proto03() {
                result = proto03::result_from_v1(
                    answer.op,
                    translate::result(answer.op, Version::V0_3, Version::V1_0, result),
                );
            }
            if result.get("supportedInterfaces").is_some() || result.get("skills").is_some() {
                let versions = config.card_versions(agent);
                card::rewrite(&mut result, &url, config.card_security.as_ref(), versions);
            }
            let body = match rpc_id {
                Some(id) => json!({"jsonrpc": "2.0", "id": id, "result": result}),
                // google.protobuf.Empty (a deleted push config) is `{}` in ProtoJSON.
                None if result.is_null() => json!({}),
                None => result,
            };
            render::json_response(http::StatusCode::OK, &body)
        }
    }
}

impl<S, B> Service<Request<B>> for A2aFront<S>
where
    S: Service<A2aRequest, Response = A2aResponse> + Clone + Send + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<A2aBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<A2aBody>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // Readiness of the inner stack is awaited in the future, on the clone that is called.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let clone = self.inner.clone();
        let inner = mem::replace(&mut self.inner, clone);
        let config = self.config.clone();
        Box::pin(async move {
            let mut request = match decode(&config, req).await {
                Ok(r) => r,
                Err(res) => return Ok(res),
            };
            // What the policy layers add goes on the answer, a stream's included (its head
            // is written after its first event).
            let added = PolicyHeaders::attach(request.extensions_mut());
            let answer = Answer {
                agent: request.agent().to_owned(),
                op: request.operation(),
                version: request.version(),
                binding: request.binding().clone(),
                headers: request.headers().clone(),
            };
            let res = match inner.oneshot(request).await {
                Ok(res) => res,
                Err(err) => {
                    let err: BoxError = err.into();
                    let as_event = answer.errors_as_events();
                    let mut res = render::render_error(err.as_ref(), &answer.binding, as_event);
                    added.copy_to(res.headers_mut());
                    return Ok(res);
                }
            };
            let mut res = encode(&config, &answer, res).await;
            added.copy_to(res.headers_mut());
            Ok(res)
        })
    }
}
