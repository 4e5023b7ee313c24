//! The gateway's edge: what runs on every governed route before a protocol front reads the
//! body: the Host/Origin check, authentication from the headers (with the unauthenticated rate
//! limit), and the per-caller stream limit. Refusals take the route's own error shape.
//!
//! ```
//! use agent_gateway_examples::{app, config::Config, policy::Policies};
//! use agent_gateway_core::testkit::TestClient;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let config = Config::embedded_default().unwrap();
//! let policies = Policies::from_config(&config).await.unwrap();
//! let client = TestClient::new(app::router(&config, &policies).unwrap());
//! // A malformed body without a credential: 401, in the OpenAI shape, before any parsing.
//! let res = client.post("/v1/chat/completions").header("host", "localhost").json(&serde_json::json!({})).send().await;
//! assert_eq!(res.status(), 401);
//! assert_eq!(res.json()["error"]["type"], "invalid_request_error");
//! // A rebound host name: 403.
//! let res = client.post("/v1/chat/completions").header("host", "evil.example").json(&serde_json::json!({})).send().await;
//! assert_eq!(res.status(), 403);
//! # });
//! ```

use std::convert::Infallible;
use std::net::SocketAddr;

use agent_gateway_core::host::{HostCheckLayer, HostPolicy};
use agent_gateway_core::jsonrpc::ErrorObject;
use agent_gateway_core::render::denied_response;
use agent_gateway_core::store::{MemoryStore, Rate};
use agent_gateway_core::{Action, Denied, DeniedKind};
use agent_gateway_llm::{Api, Dialect};
use agent_gateway_mcp::error::Rendered;
use agent_gateway_policy::audit::{EdgeAuditLayer, EdgeMark, EdgeProtocol};
use agent_gateway_policy::auth::{Authenticated, Authenticator, PreAuthLayer};
use agent_gateway_policy::streams::{LimitedBody, StreamLimitLayer};
use axum::body::Body;
use axum::extract::OriginalUri;
use http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use serde_json::{Value, json};
use tower::util::BoxCloneSyncService;
use tower::{Layer, Service, ServiceBuilder, ServiceExt};

use crate::config::Config;
use crate::policy::Policies;

/// Renders a refusal in the shape of the route it happened on.
#[derive(Debug, Clone)]
pub struct RouteRender {
    mcp_path: Option<String>,
    a2a_path: Option<String>,
    challenge: HeaderValue,
}

impl RouteRender {
    fn under(&self, prefix: &Option<String>, path: &str) -> bool {
        prefix
            .as_deref()
            .is_some_and(|p| path == p || path.starts_with(&format!("{p}/")))
    }

    /// The protocol a request's path belongs to, for the audit record of an edge refusal.
    fn protocol(&self, head: &http::request::Parts) -> &'static str {
        let path = full_path(head);
        if self.under(&self.mcp_path, path) {
            "mcp"
        } else if self.under(&self.a2a_path, path) {
            "a2a"
        } else if Api::from_path(path).is_some() {
            "llm"
        } else {
            "http"
        }
    }

    /// The action a request's head tells, for the audit record of an edge refusal: an LLM
    /// path's, an A2A HTTP+JSON route's, `protocol` for an MCP `GET` (listen) or `DELETE`
    /// (session end); `None` (recorded `unknown`) where only the body would tell.
    fn action(&self, head: &http::request::Parts) -> Option<Action> {
        let path = full_path(head);
        if self.under(&self.mcp_path, path) {
            (head.method != Method::POST).then_some(Action::Protocol)
        } else if let Some(a2a) = self
            .a2a_path
            .as_deref()
            .filter(|_| self.under(&self.a2a_path, path))
        {
            agent_gateway_a2a::front::action_of(&head.method, &path[a2a.len()..])
        } else {
            Api::from_path(path).map(|api| match api {
                Api::ListModels => Action::ListModels,
                _ => Action::ModelCall,
            })
        }
    }

    fn render(&self, head: &http::request::Parts, denied: &Denied) -> Response<Body> {
        let path = full_path(head);
        let under = |prefix: &Option<String>| self.under(prefix, path);
        let mut res = if under(&self.mcp_path) {
            let rendered = Rendered::from_denied(denied);
            let body = json!({"jsonrpc": "2.0", "id": null, "error": rendered.error});
            json_response(rendered.status, &body)
        } else if let Some(a2a) = self.a2a_path.as_deref().filter(|_| under(&self.a2a_path)) {
            a2a_error(path.strip_prefix(a2a).unwrap_or(""), denied)
        } else if let Some(api) = Api::from_path(path) {
            let dialect = match api {
                Api::ListModels if head.headers.contains_key("anthropic-version") => {
                    Dialect::Anthropic
                }
                api => api.dialect(),
            };
            agent_gateway_llm::front::error_response(denied, dialect).map(Body::new)
        } else {
            denied_response(denied, &self.challenge).map(Body::new)
        };
        if denied.kind() == &DeniedKind::Unauthenticated {
            res.headers_mut()
                .insert(WWW_AUTHENTICATE, self.challenge.clone());
        }
        if let Some(after) = denied.retry_after_header() {
            res.headers_mut().insert(RETRY_AFTER, after);
        }
        // For the audit record of this refusal (its kind and rule).
        res.extensions_mut().insert(denied.clone());
        res
    }
}

/// The protocol and action of an edge refusal, from the route it hit.
struct EdgeRoutes(RouteRender);

impl EdgeProtocol for EdgeRoutes {
    fn protocol(&self, head: &http::request::Parts) -> &'static str {
        self.0.protocol(head)
    }

    fn action(&self, head: &http::request::Parts) -> Option<Action> {
        self.0.action(head)
    }
}

/// The request's path as the client sent it: a front nested under a prefix (the A2A front)
/// sees its path without the prefix, and axum keeps the original.
fn full_path(head: &http::request::Parts) -> &str {
    head.extensions
        .get::<OriginalUri>()
        .map_or(head.uri.path(), |original| original.0.path())
}

fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    let mut res = Response::new(Body::from(body.to_string()));
    *res.status_mut() = status;
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

/// A2A: a JSON-RPC error on an agent's JSON-RPC endpoint (`/{agent}`), else the HTTP+JSON
/// binding's google.rpc.Status.
fn a2a_error(rest: &str, denied: &Denied) -> Response<Body> {
    let status = denied.http_status();
    let reason = match denied.kind() {
        DeniedKind::Unauthenticated => "UNAUTHENTICATED",
        DeniedKind::Forbidden => "PERMISSION_DENIED",
        DeniedKind::QuotaExceeded { .. } => "RESOURCE_EXHAUSTED",
        _ => "UNAVAILABLE",
    };
    let info = json!([{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": reason, "domain": "agent-gateway"}]);
    let segments = rest
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .count();
    if segments <= 1 {
        let obj = ErrorObject::new(-32000, denied.message().to_owned()).with_data(info);
        json_response(status, &json!({"jsonrpc": "2.0", "id": null, "error": obj}))
    } else {
        json_response(
            status,
            &json!({"error": {"code": status.as_u16(), "status": reason,
                "message": denied.message(), "details": info}}),
        )
    }
}

/// The edge layers, built once from the configuration and shared by every governed route.
#[derive(Clone)]
pub struct Edge {
    host: HostCheckLayer<RenderFn>,
    pre_auth: Option<PreAuthLayer<dyn Authenticator, RenderFn>>,
    streams: StreamLimitLayer<RenderFn>,
    /// The unauthenticated-request counts by client address, when that limit is on.
    unauthenticated: Option<MemoryStore>,
    audit: Option<EdgeAuditLayer>,
}

pub(crate) type RenderFn =
    Box<dyn Fn(&http::request::Parts, &Denied) -> Response<Body> + Send + Sync>;

impl std::fmt::Debug for Edge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Edge")
            .field("host", &self.host)
            .field("pre_auth", &self.pre_auth)
            .field("streams", &self.streams)
            .field(
                "unauthenticated",
                &self.unauthenticated.as_ref().map(MemoryStore::len),
            )
            .field("audit", &self.audit)
            .finish()
    }
}

/// A governed route as axum mounts it.
pub type Route = BoxCloneSyncService<Request<Body>, Response<Body>, Infallible>;

impl Edge {
    /// The edge for `config`, authenticating as `policies` does.
    pub fn new(config: &Config, policies: &Policies, challenge: HeaderValue) -> Edge {
        let render = RouteRender {
            mcp_path: config.mcp.as_ref().map(|m| m.path.clone()),
            a2a_path: config.a2a.as_ref().map(|a| a.path.clone()),
            challenge,
        };
        let boxed = || -> RenderFn {
            let render = render.clone();
            Box::new(move |head: &_, denied: &_| render.render(head, denied))
        };
        let server = &config.server;
        let host = HostCheckLayer::new(host_policy(config, server.listen), boxed());
        let mut unauthenticated = None;
        let pre_auth = policies.layer().auth().map(|auth| {
            let layer = PreAuthLayer::new(auth, boxed());
            match server.unauthenticated_per_minute {
                Some(n) => {
                    let store = MemoryStore::new();
                    unauthenticated = Some(store.clone());
                    layer.with_unauthenticated_limit(store, Rate::per_minute(n))
                }
                None => layer.without_unauthenticated_limit(),
            }
        });
        let streams = StreamLimitLayer::new(server.streams_per_caller.get(), boxed())
            .with_max_lifetime(server.max_stream_lifetime);
        // Refusals before the policy stack's audit layer go to the same log.
        let audit = policies
            .audit()
            .map(|audit| EdgeAuditLayer::new(audit.log().clone(), EdgeRoutes(render)));
        Edge {
            host,
            pre_auth,
            streams,
            unauthenticated,
            audit,
        }
    }

    /// Counts open streams in `old`'s table instead of a new one, so a reload does not reset
    /// what each caller holds open.
    pub fn with_stream_counts_of(mut self, old: &Edge) -> Edge {
        self.streams = old.streams.clone();
        self
    }

    /// The per-caller stream limit and its counts (for the metrics).
    pub fn stream_limit(&self) -> &StreamLimitLayer<RenderFn> {
        &self.streams
    }

    /// The counts of the unauthenticated-request limit, by client address, when it is on.
    pub fn unauthenticated_counts(&self) -> Option<&MemoryStore> {
        self.unauthenticated.as_ref()
    }

    /// `front` behind the edge: Host/Origin, then authentication before the body, then the
    /// per-caller stream limit.
    pub fn route<S, B>(&self, front: S) -> Route
    where
        S: Service<Request<Body>, Response = Response<B>, Error = Infallible>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
        B: axum::body::HttpBody<Data = bytes::Bytes> + Send + 'static,
        B::Error: Into<agent_gateway_core::BoxError>,
    {
        let limited = ServiceBuilder::new()
            .map_response(|res: Response<LimitedBody<Body>>| res.map(Body::new))
            .map_request(note_caller)
            .layer(self.streams.clone())
            .map_response(|res: Response<B>| res.map(Body::new))
            .service(front);
        let authed = match &self.pre_auth {
            Some(pre) => BoxCloneSyncService::new(pre.layer(limited)),
            None => BoxCloneSyncService::new(limited),
        };
        let checked = self.host.layer(authed).map_err(|e: Infallible| e);
        match &self.audit {
            Some(audit) => BoxCloneSyncService::new(audit.layer(checked)),
            None => BoxCloneSyncService::new(checked),
        }
    }
}

/// Hands the caller the edge authenticated to the edge's audit record, for a refusal after
/// authentication (the stream limit, a front's 413 or 415).
fn note_caller(req: Request<Body>) -> Request<Body> {
    if let (Some(mark), Some(auth)) = (
        req.extensions().get::<EdgeMark>(),
        req.extensions().get::<Authenticated>(),
    ) {
        mark.set_caller(auth.caller());
    }
    req
}

/// Every governed route's Host/Origin policy: `[server] allowed_hosts`, else the MCP front's
/// list, else the listener's default (loopback names only on a loopback address).
fn host_policy(config: &Config, listen: SocketAddr) -> HostPolicy {
    let origins = config
        .server
        .allowed_origins
        .iter()
        .chain(config.mcp.iter().flat_map(|m| m.allowed_origins.iter()))
        .filter_map(|o| HeaderValue::try_from(o.as_str()).ok());
    let hosts = match &config.server.allowed_hosts {
        Some(hosts) if hosts.iter().any(|h| h == "*") => None,
        Some(hosts) => Some(hosts.clone()),
        // The MCP front's setting (`auto` is the listener's default, as here).
        None => match &config.mcp {
            Some(m) => crate::mcp::allowed_hosts(&m.allowed_hosts, listen),
            None => HostPolicy::for_listener(listen)
                .allowed_hosts()
                .map(<[_]>::to_vec),
        },
    };
    let policy = match hosts {
        Some(hosts) => HostPolicy::any_host().with_allowed_hosts(hosts),
        None => HostPolicy::any_host(),
    };
    policy
        .with_loopback_origins(listen.ip().is_loopback())
        .with_allowed_origins(origins)
}
