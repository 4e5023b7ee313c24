//! The gateway's HTTP application: the routes every deployment serves, and the fronts the
//! configuration enables, each behind the configured policy stack.
//!
//! ```
//! use agent_gateway_examples::{app, config::Config, policy::Policies};
//! use agent_gateway_core::testkit::TestClient;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let config = Config::embedded_default().unwrap();
//! let policies = Policies::from_config(&config).await.unwrap();
//! let client = TestClient::new(app::router(&config, &policies).unwrap());
//! assert_eq!(client.get("/healthz").send().await.status(), 200);
//!
//! // Behind the policy stack: refused without a credential, served with the demo key.
//! let res = client.get("/v1/whoami").send().await;
//! assert_eq!(res.status(), 401);
//! assert_eq!(res.json()["error"]["type"], "unauthenticated");
//! let res = client.get("/v1/whoami").header("authorization", "Bearer agw-demo-key").send().await;
//! assert_eq!(res.status(), 200);
//! assert_eq!(res.json()["subject"], "demo");
//! # });
//! ```

use std::convert::Infallible;

use agent_gateway_core::render::RenderDenied;
use agent_gateway_core::{AgentRequest, Caller};
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::{Request, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use tower::service_fn;

use crate::a2a::A2aSetupError;
use crate::config::Config;
use crate::edge::Edge;
use crate::llm::LlmSetupError;
use crate::mcp::{Children, McpSetupError};
use crate::policy::Policies;
use agent_gateway_a2a::{A2aFront, A2aFrontConfig};
use agent_gateway_llm::LlmFront;
use agent_gateway_mcp::McpFront;
use agent_gateway_policy::auth::ProtectedResourceMetadata;

/// The gateway's router for `config`, with `policies` in front of every governed route.
///
/// Fails when a configured front cannot be served (an LLM provider's key is not in the
/// environment, say). Stdio MCP upstreams are started, and stop when the router is dropped;
/// [`App`] also waits for them to leave.
pub fn router(config: &Config, policies: &Policies) -> Result<Router, SetupError> {
    App::new(config, policies).map(|app| app.router)
}

/// The gateway's application: its router, and the child processes (stdio MCP upstreams) it
/// runs behind it.
#[derive(Debug)]
pub struct App {
    router: Router,
    parts: Parts,
}

/// What [`App::reconfigured`] may take over from the running application instead of building
/// anew: each flag says the configuration's section is unchanged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Keep {
    /// `[mcp]` unchanged: keep the federation (its pools, breakers and stdio children), the
    /// session tables and the session sealing key, so sessions carry on.
    pub mcp: bool,
    /// `[a2a]` unchanged: keep the agent router (registry, instance pools, task affinity and
    /// its sealing key, webhooks).
    pub a2a: bool,
    /// `[llm]` unchanged: keep the model router (providers, connection pools, breakers,
    /// latency scores).
    pub llm: bool,
}

impl Keep {
    /// Keep every part the sections allow.
    pub fn all() -> Keep {
        Keep {
            mcp: true,
            a2a: true,
            llm: true,
        }
    }
}

/// The parts of an application that hold live state, built once and shared by the
/// applications a reload makes while their sections stay unchanged.
#[derive(Debug, Clone, Default)]
struct Parts {
    mcp: Option<McpParts>,
    a2a: Option<agent_gateway_a2a::A2aRouter>,
    llm: Option<agent_gateway_llm::router::LlmRouter>,
    /// The per-caller stream counts (the `[server]` section is not reloaded).
    edge: Option<Edge>,
}

#[derive(Debug, Clone)]
struct McpParts {
    federation: agent_gateway_mcp::router::federation::Federation,
    children: Children,
    /// Without the auth-dependent `WWW-Authenticate`, added per build.
    front: agent_gateway_mcp::McpFrontConfig,
    sessions: std::sync::Arc<agent_gateway_mcp::session::SessionStore>,
}

impl App {
    /// Builds the application for `config`, with `policies` in front of every governed
    /// route, and starts its stdio MCP upstreams (so it must run within a Tokio runtime when
    /// the configuration has any). Fails as [`router`] does.
    pub fn new(config: &Config, policies: &Policies) -> Result<App, SetupError> {
        let mut parts = Parts::default();
        let router = build(config, policies, &mut parts)?;
        Ok(App { router, parts })
    }

    /// The application for a reloaded `config` and `policies`, taking over from `self` the
    /// parts `keep` names (their live state carries on: see [`Keep`]) and the per-caller
    /// stream counts; the rest is built anew. `self` stays usable: requests and streams it
    /// is serving finish on it, and its stdio upstreams that are not taken over stop when the
    /// last of them ends (dropping every handle stops them).
    pub fn reconfigured(
        &self,
        config: &Config,
        policies: &Policies,
        keep: Keep,
    ) -> Result<App, SetupError> {
        let mut parts = Parts {
            mcp: self.parts.mcp.clone().filter(|_| keep.mcp),
            a2a: self.parts.a2a.clone().filter(|_| keep.a2a),
            llm: self.parts.llm.clone().filter(|_| keep.llm),
            edge: self.parts.edge.clone(),
        };
        let router = build(config, policies, &mut parts)?;
        Ok(App { router, parts })
    }

    /// The router, to serve.
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// The stdio MCP upstreams it runs.
    pub fn children(&self) -> Children {
        self.parts
            .mcp
            .as_ref()
            .map(|m| m.children.clone())
            .unwrap_or_default()
    }

    /// Stops what the application runs: each stdio upstream gets its stdin closed and a
    /// bounded time to exit, then is killed. Call it once the server has stopped.
    pub async fn shutdown(&self) {
        self.children().shutdown().await;
    }
}

fn build(config: &Config, policies: &Policies, parts: &mut Parts) -> Result<Router, SetupError> {
    let metadata = resource_metadata(config)?;
    let challenge = metadata.as_ref().map_or_else(
        || http::HeaderValue::from_static("Bearer"),
        |m| m.challenge().to_header_value(),
    );
    // Every governed route: Host/Origin, authentication before the body, per-caller streams.
    let mut edge = Edge::new(config, policies, challenge);
    if let Some(old) = &parts.edge {
        edge = edge.with_stream_counts_of(old);
    }
    parts.edge = Some(edge.clone());
    if let Some(metrics) = policies.metrics() {
        crate::observe::edge(metrics, &edge);
    }
    // Core renders the stack's denials as plain HTTP, so the route's error type is `Infallible`.
    let whoami = RenderDenied::new(policies.stack(service_fn(|req: Request<Body>| async move {
        Ok::<_, Infallible>(Json(caller_json(AgentRequest::caller(&req))).into_response())
    })));
    let mut app = Router::new()
        .route("/healthz", get(health))
        .route_service("/v1/whoami", edge.route(whoami));
    let mut fronts = serde_json::Map::new();
    if let Some(llm) = &config.llm {
        let router = match &parts.llm {
            Some(router) => router.clone(),
            None => {
                let router = crate::llm::router(llm)?;
                if let Some(metrics) = policies.metrics() {
                    crate::observe::llm(metrics, &router);
                }
                router
            }
        };
        parts.llm = Some(router.clone());
        // The LLM front enforces its own body limit and answers in the client's dialect.
        let front =
            LlmFront::new(policies.stack(router)).with_max_body(config.server.body_limit.get());
        let front = edge.route(front);
        for path in LLM_PATHS {
            app = app.route_service(path, front.clone());
        }
        fronts.insert("llm".into(), json!(LLM_PATHS));
    }
    if let Some(metadata) = &metadata {
        app = app.route_service(&metadata.well_known_path(), metadata.clone().into_service());
    }
    if let Some(mcp) = &config.mcp {
        let kept = match parts.mcp.take() {
            Some(kept) => kept,
            None => {
                let body_limit = config.server.body_limit.get();
                let front = crate::mcp::front_config(mcp, config.server.listen, body_limit)?;
                let upstreams = crate::mcp::upstreams(mcp)?;
                let sessions = crate::mcp::session_store(mcp);
                if let Some(metrics) = policies.metrics() {
                    metrics.watch_upstreams("mcp", upstreams.health);
                    crate::observe::mcp_sessions(metrics, &sessions);
                    crate::observe::mcp_client_tables(metrics, upstreams.client_tables);
                }
                McpParts {
                    federation: upstreams.federation,
                    children: upstreams.children,
                    front,
                    sessions,
                }
            }
        };
        let mut front_config = kept.front.clone();
        if let Some(metadata) = &metadata {
            // A 401 names the metadata, so OAuth clients find the authorization server.
            front_config =
                front_config.with_www_authenticate(metadata.challenge().to_header_value());
        }
        let front = McpFront::new(policies.stack(kept.federation.clone()), front_config)
            .with_session_store(kept.sessions.clone());
        parts.mcp = Some(kept);
        app = app.route_service(&mcp.path, edge.route(front));
        fronts.insert("mcp".into(), json!(mcp.path));
    }
    if let Some(a2a) = &config.a2a {
        let public_url = match &a2a.public_url {
            Some(url) => url.clone(),
            None => format!("http://{}{}", config.server.listen, a2a.path),
        };
        let front_config = A2aFrontConfig::new(&public_url)
            .map_err(|e| A2aSetupError::Front(format!("public_url `{public_url}`: {e}")))?
            .with_max_body(config.server.body_limit.get())
            .with_webhooks(crate::a2a::webhooks(a2a)?);
        // Cards advertise how clients reach the gateway: a bearer token (API key or JWT).
        let front_config = if config.auth.api_keys.is_empty() && config.auth.jwt.is_empty() {
            front_config
        } else {
            front_config.with_card_security(
                json!({"gateway-bearer": {"httpAuthSecurityScheme": {
                    "scheme": "Bearer",
                    "description": "an agent-gateway API key or a JWT from a configured issuer"
                }}}),
                json!([{"schemes": {"gateway-bearer": {"list": []}}}]),
            )
        };
        let router = match &parts.a2a {
            Some(router) => router.clone(),
            None => {
                let router = crate::a2a::router(a2a)?;
                if let Some(metrics) = policies.metrics() {
                    crate::observe::a2a(metrics, router.agents());
                }
                router
            }
        };
        parts.a2a = Some(router.clone());
        let front_config = crate::a2a::card_options(a2a, front_config, &router)
            .with_card_schemas(policies.card_schemas());
        let front = edge.route(A2aFront::new(policies.stack(router), front_config));
        if a2a.default_agent.is_some() {
            // A2A 0.3 clients look for the card at the host root.
            for path in ["/.well-known/agent-card.json", "/.well-known/agent.json"] {
                app = app.route_service(path, front.clone());
            }
        }
        app = app.nest_service(&a2a.path, front);
        fronts.insert("a2a".into(), json!(format!("{}/", a2a.path)));
    }
    if let Some(metrics) = policies.metrics().filter(|_| config.metrics.enabled) {
        // The Prometheus scrape, outside the edge's auth: its own bearer token, if configured.
        let scrape = crate::observe::route(&config.metrics, metrics)?;
        app = app.route_service(&config.metrics.path, scrape);
    }
    if let Some(admin) = policies.pins_admin() {
        // The guardrails' pin approvals: GET …/pins, POST …/pins/{tool}/approve (admins).
        app = app.nest_service("/admin/guardrails", edge.route(admin));
    }
    let index = json!({
        "name": "agent-gateway",
        "version": env!("CARGO_PKG_VERSION"),
        "health": "/healthz",
        "whoami": "/v1/whoami",
        "fronts": fronts,
    });
    app = app.route("/", get(move || std::future::ready(Json(index))));
    Ok(app
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(config.server.body_limit.get())))
}

/// The RFC 9728 metadata the configuration describes, if any.
fn resource_metadata(config: &Config) -> Result<Option<ProtectedResourceMetadata>, SetupError> {
    let Some(m) = &config.auth.resource_metadata else {
        return Ok(None);
    };
    let invalid = |what: &str| {
        SetupError::ResourceMetadata(format!("`{what}` is not an absolute http(s) URL"))
    };
    let mut servers = m.authorization_servers.iter();
    let first = servers.next().map(String::as_str).unwrap_or_default();
    let mut metadata =
        ProtectedResourceMetadata::new(&m.resource, first).map_err(|_| invalid(&m.resource))?;
    for server in servers {
        metadata = metadata
            .with_authorization_server(server)
            .map_err(|_| invalid(server))?;
    }
    for scope in &m.scopes {
        metadata = metadata.with_scope(scope);
    }
    Ok(Some(metadata))
}

/// A configured front that cannot be served.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SetupError {
    /// The LLM fronts.
    #[error(transparent)]
    Llm(#[from] LlmSetupError),
    /// The MCP front.
    #[error(transparent)]
    Mcp(#[from] McpSetupError),
    /// The A2A front.
    #[error(transparent)]
    A2a(#[from] A2aSetupError),
    /// The protected-resource metadata.
    #[error("auth.resource_metadata: {0}")]
    ResourceMetadata(String),
    /// The metrics route (its token's variable is not set, say).
    #[error("{0}")]
    Metrics(String),
}

/// Where the LLM fronts are mounted: where the OpenAI and Anthropic clients look for them.
pub const LLM_PATHS: [&str; 4] = [
    "/v1/chat/completions",
    "/v1/responses",
    "/v1/models",
    "/v1/messages",
];

fn caller_json(caller: Option<&Caller>) -> Value {
    match caller {
        None => json!({"subject": null}),
        Some(c) => json!({
            "subject": c.subject(),
            "tenant": c.tenant(),
            "team": c.team(),
            "roles": c.roles(),
            "scopes": c.scopes(),
            "method": c.method().as_str(),
        }),
    }
}

async fn health() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}

async fn not_found() -> impl IntoResponse {
    (
        StatusCode::NOT_FOUND,
        Json(json!({"error": {"type": "not_found", "message": "no such route"}})),
    )
}
