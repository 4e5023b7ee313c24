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
use agent_gateway_policy::metrics::UpstreamHealth;

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
    children: Children,
}

impl App {
    /// Builds the application for `config`, with `policies` in front of every governed
    /// route, and starts its stdio MCP upstreams (so it must run within a Tokio runtime when
    /// the configuration has any). Fails as [`router`] does.
    pub fn new(config: &Config, policies: &Policies) -> Result<App, SetupError> {
        let mut children = Children::default();
        let router = build(config, policies, &mut children)?;
        Ok(App { router, children })
    }

    /// The router, to serve.
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// The stdio MCP upstreams it runs.
    pub fn children(&self) -> &Children {
        &self.children
    }

    /// Stops what the application runs: each stdio upstream gets its stdin closed and a
    /// bounded time to exit, then is killed. Call it once the server has stopped.
    pub async fn shutdown(&self) {
        self.children.shutdown().await;
    }
}

fn build(
    config: &Config,
    policies: &Policies,
    children: &mut Children,
) -> Result<Router, SetupError> {
    let metadata = resource_metadata(config)?;
    let challenge = metadata.as_ref().map_or_else(
        || http::HeaderValue::from_static("Bearer"),
        |m| m.challenge().to_header_value(),
    );
    // Every governed route: Host/Origin, authentication before the body, per-caller streams.
    let edge = Edge::new(config, policies, challenge);
    // Core renders the stack's denials as plain HTTP, so the route's error type is `Infallible`.
    let whoami = RenderDenied::new(policies.stack(service_fn(|req: Request<Body>| async move {
        Ok::<_, Infallible>(Json(caller_json(AgentRequest::caller(&req))).into_response())
    })));
    let mut app = Router::new()
        .route("/healthz", get(health))
        .route_service("/v1/whoami", edge.route(whoami));
    let mut fronts = serde_json::Map::new();
    if let Some(llm) = &config.llm {
        // The LLM front enforces its own body limit and answers in the client's dialect.
        let front = LlmFront::new(policies.stack(crate::llm::router(llm)?))
            .with_max_body(config.server.body_limit.get());
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
        let body_limit = config.server.body_limit.get();
        let mut front_config = crate::mcp::front_config(mcp, config.server.listen, body_limit)?;
        if let Some(metadata) = &metadata {
            // A 401 names the metadata, so OAuth clients find the authorization server.
            front_config =
                front_config.with_www_authenticate(metadata.challenge().to_header_value());
        }
        let upstreams = crate::mcp::upstreams(mcp)?;
        if let Some(metrics) = policies.metrics() {
            metrics.watch_upstreams("mcp", upstreams.health);
        }
        *children = upstreams.children;
        let front = McpFront::new(policies.stack(upstreams.federation), front_config)
            .with_session_store(crate::mcp::session_store(mcp));
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
        let router = crate::a2a::router(a2a)?;
        if let Some(metrics) = policies.metrics() {
            let health = router.agents().instances().fold(
                UpstreamHealth::new(),
                |health, (agent, id, breaker, load)| {
                    health.with_instance(agent, id, breaker.clone(), Some(load.clone()))
                },
            );
            metrics.watch_upstreams("a2a", health);
        }
        let front_config = crate::a2a::card_options(a2a, front_config, &router);
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
        // The Prometheus scrape, outside the edge's auth: restrict it by network.
        app = app.route_service(&config.metrics.path, metrics.service());
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
