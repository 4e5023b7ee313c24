//! What the gateway exports at scrape time besides the per-call counters: each bounded
//! table's fill level and bound, each upstream instance's health, and the counter store's
//! health; and the scrape route itself, behind its optional bearer token.
//!
//! Every gauge reads its table through a weak reference where the table belongs to a part a
//! reload may replace, so the metrics never keep a dropped part (and its child processes or
//! connections) alive: a gauge whose part is gone reads 0 until the new part registers the
//! same name.
//!
//! ```
//! use agent_gateway_core::testkit::TestClient;
//! use agent_gateway_examples::{app, config::Config, policy::Policies};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let config = Config::embedded_default().unwrap();
//! let policies = Policies::from_config(&config).await.unwrap();
//! let client = TestClient::new(app::router(&config, &policies).unwrap());
//! let res = client.get("/metrics").send().await;
//! assert_eq!(res.status(), 200);
//! // The per-caller stream counts of the edge, with the per-caller bound.
//! let busiest = r#"agw_table_capacity{table="edge.streams_busiest_caller"} 64"#;
//! assert!(res.text().lines().any(|l| l == busiest), "{}", res.text());
//!
//! // A token to protect the route with, whose variable is not set: the gateway does not start.
//! let config = Config::from_toml_str(
//!     "[telemetry]\nmetrics_token_env = \"AGW_DOC_NOT_SET\"\n",
//! ).unwrap();
//! let policies = Policies::from_config(&config).await.unwrap();
//! let err = app::router(&config, &policies).unwrap_err();
//! assert!(err.to_string().starts_with("telemetry.metrics_token_env"), "{err}");
//! # });
//! ```

use std::sync::{Arc, Weak};

use agent_gateway_core::Secret;
use agent_gateway_policy::metrics::{Metrics, MetricsService, UpstreamHealth};

use crate::app::SetupError;
use crate::config::MetricsConfig;

/// The scrape route for `config`, with its bearer token read from the environment variable
/// `metrics_token_env` names. Fails, naming the key, when that variable is unset or empty:
/// a gateway told to protect its metrics never serves them open.
pub(crate) fn route(
    config: &MetricsConfig,
    metrics: &Metrics,
) -> Result<MetricsService, SetupError> {
    let service = metrics.service();
    let Some(var) = &config.token_env else {
        return Ok(service);
    };
    match std::env::var(var) {
        Ok(token) if !token.trim().is_empty() => {
            Ok(service.with_bearer_token(Secret::new(token.trim().to_owned())))
        }
        _ => Err(SetupError::Metrics(format!(
            "telemetry.metrics_token_env: environment variable `{var}` is not set or empty"
        ))),
    }
}

/// Exports the fill level of each of the MCP front's session tables as `mcp.<table>`
/// (`mcp.pending`, `mcp.log_levels`, `mcp.revoked`, `mcp.cancels`, `mcp.resumable`,
/// `mcp.subscriptions`), with its configured bound.
pub(crate) fn mcp_sessions(
    metrics: &Metrics,
    sessions: &Arc<agent_gateway_mcp::session::SessionStore>,
) {
    for table in sessions.fill() {
        let name = table.name;
        weak_table(
            metrics,
            &format!("mcp.{name}"),
            table.capacity,
            sessions,
            move |store| {
                store
                    .fill()
                    .into_iter()
                    .find(|t| t.name == name)
                    .map_or(0, |t| t.entries)
            },
        );
    }
}

/// Exports `entries(part)` as the table `name`, reading `part` through a weak reference.
pub(crate) fn weak_table<T: Send + Sync + 'static>(
    metrics: &Metrics,
    name: &str,
    capacity: Option<usize>,
    part: &Arc<T>,
    entries: impl Fn(&T) -> usize + Send + Sync + 'static,
) {
    let part: Weak<T> = Arc::downgrade(part);
    metrics.watch_table(name, capacity, move || {
        part.upgrade().map_or(0, |part| entries(&part))
    });
}

/// Exports the edge's tables: `edge.streams` (responses open, over every caller),
/// `edge.stream_callers` (callers holding one), `edge.streams_busiest_caller` (the most one
/// caller holds, bounded by `[server] streams_per_caller`) and, when the unauthenticated limit
/// is on, `edge.unauthenticated` (client addresses counted this minute).
pub(crate) fn edge(metrics: &Metrics, edge: &crate::edge::Edge) {
    let streams = edge.stream_limit();
    let open = streams.clone();
    metrics.watch_table("edge.streams", None, move || open.open());
    let callers = streams.clone();
    metrics.watch_table("edge.stream_callers", None, move || callers.callers());
    let busiest = streams.clone();
    let bound = Some(streams.per_caller());
    metrics.watch_table("edge.streams_busiest_caller", bound, move || {
        busiest.busiest()
    });
    if let Some(counts) = edge.unauthenticated_counts() {
        let counts = counts.clone();
        metrics.watch_table("edge.unauthenticated", None, move || counts.len());
    }
}

/// Exports each stdio or legacy SSE upstream's table of per-client sessions (children,
/// streams) under its name, with its `max_client_sessions` bound. The readings hold the
/// tables weakly.
pub(crate) fn mcp_client_tables(
    metrics: &Metrics,
    tables: Vec<(String, agent_gateway_mcp::connector::ClientSessionsFill)>,
) {
    for (name, fill) in tables {
        let capacity = Some(fill.capacity());
        metrics.watch_table(&name, capacity, move || fill.entries());
    }
}

/// Exports the A2A agents' instances (breaker, calls in flight) and the card cache
/// (`a2a.cards`, at most one card per agent). The router keeps no other table: task and
/// context affinity and push configurations are sealed into the ids the client holds.
pub(crate) fn a2a(metrics: &Metrics, agents: &agent_gateway_a2a::registry::AgentRegistry) {
    let health = agents.instances().fold(
        UpstreamHealth::new(),
        |health, (agent, id, breaker, load)| {
            health.with_instance(agent, id, breaker.clone(), Some(load.clone()))
        },
    );
    metrics.watch_upstreams("a2a", health);
    let capacity = agents.agents().count();
    metrics.watch_table("a2a.cards", Some(capacity), agents.cached_cards());
}

/// Exports each LLM deployment's breaker and calls in flight, as upstream `<provider>` and
/// instance `<model>`: a deployment named by several aliases is one instance.
pub(crate) fn llm(metrics: &Metrics, router: &agent_gateway_llm::router::LlmRouter) {
    let health = router.deployments().fold(
        UpstreamHealth::new(),
        |health, (provider, model, breaker, load)| {
            health.with_instance(provider, model, breaker.clone(), Some(load.clone()))
        },
    );
    metrics.watch_upstreams("llm", health);
}
