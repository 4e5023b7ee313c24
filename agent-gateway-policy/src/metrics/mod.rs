//! Prometheus metrics over the seam: calls and their latency by protocol, action and outcome,
//! tokens and spend by caller and model, denials by kind and rule, and, read at each scrape,
//! upstream health, the audit queue, the counter store's health and the fill levels of
//! bounded tables.
//!
//! ```
//! use agent_gateway_core::response::Reply;
//! use agent_gateway_core::testkit::FakeUpstream;
//! use agent_gateway_core::{Action, AgentRequest, BoxError, Call, Caller, Denied, Usage};
//! use agent_gateway_policy::ServiceBuilderExt;
//! use agent_gateway_policy::metrics::Metrics;
//! use http_body_util::BodyExt;
//! use serde_json::json;
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let metrics = Metrics::new();
//! let upstream = FakeUpstream::new(|_: Call| {
//!     Ok::<_, BoxError>(Reply::with_usage(json!("hi"), Usage::tokens(12, 3)))
//! });
//! let stack = ServiceBuilder::new()
//!     .layer(metrics.layer())
//!     .check(|req: &dyn AgentRequest| match req.target() {
//!         Some("o1") => Err(Denied::forbidden("not this model").with_rule("no-o1")),
//!         _ => Ok(()),
//!     })
//!     .service(upstream.clone());
//! let call = |model: &str| Call::new(Action::ModelCall, json!({}))
//!     .with_target(model).with_caller(Caller::new("ann"));
//!
//! assert!(stack.clone().oneshot(call("gpt")).await.is_ok());
//! assert!(stack.clone().oneshot(call("o1")).await.is_err());
//! assert_eq!(upstream.calls(), 1);
//!
//! // The scrape endpoint, as a router mounts it at `/metrics`.
//! let res = metrics.service().oneshot(http::Request::new(())).await.unwrap();
//! assert_eq!(res.headers()["content-type"], "text/plain; version=0.0.4; charset=utf-8");
//! let text = String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
//! for line in [
//!     r#"agw_requests_total{protocol="call",action="model_call",outcome="ok"} 1"#,
//!     r#"agw_requests_total{protocol="call",action="model_call",outcome="denied"} 1"#,
//!     r#"agw_request_duration_seconds_count{protocol="call",action="model_call",outcome="ok"} 1"#,
//!     r#"agw_tokens_total{caller="custom:::ann",model="gpt",type="input"} 12"#,
//!     r#"agw_denials_total{protocol="call",kind="forbidden",rule="no-o1"} 1"#,
//! ] {
//!     assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
//! }
//! # });
//! ```
//!
//! # The metrics
//!
//! All are prefixed `agw_`:
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `agw_requests_total` | counter | `protocol`, `action`, `outcome` (`ok`, `aborted`, `denied`, `error`) |
//! | `agw_request_duration_seconds` | histogram ([`LATENCY_BUCKETS`]) | `protocol`, `action`, `outcome` |
//! | `agw_tokens_total` | counter | `caller`, `model`, `type` (`input`, `output`) |
//! | `agw_cost_usd_total` | counter | `caller`, `model` |
//! | `agw_denials_total` | counter | `protocol`, `kind` (the [`DeniedKind`](agent_gateway_core::DeniedKind)), `rule` |
//! | `agw_upstream_up` | gauge | `protocol`, `upstream`, `instance` |
//! | `agw_upstream_breaker_state` | gauge (0 closed, 1 half-open, 2 open) | `protocol`, `upstream`, `instance` |
//! | `agw_upstream_in_flight` | gauge | `protocol`, `upstream`, `instance` |
//! | `agw_audit_queue_depth`, `agw_audit_queue_capacity` | gauge | |
//! | `agw_audit_records_{written,dropped,failed}_total` | counter | |
//! | `agw_table_entries`, `agw_table_capacity` | gauge | `table` |
//! | `agw_store_up` | gauge (1 up, 0 down) | `store` |
//! | `agw_store_errors_total` | counter | `store` |
//!
//! A call is counted when it ends: a whole response when it is answered, a streamed one when
//! its stream ends (its latency is the stream's, its outcome `aborted` if it stopped early,
//! and its tokens are the stream's usage). The `model` label is the model a model call asked
//! for ([`NONE`] for other calls); `caller` is the caller's
//! [`principal_id`](agent_gateway_core::Caller::principal_id) ([`ANONYMOUS`] without one).
//!
//! # Bounded labels
//!
//! `caller`, `model` and `rule` come from requests and configuration, so each is capped: at
//! most [`DEFAULT_LABEL_LIMIT`] distinct values (change it with
//! [`Metrics::with_label_limit`]), each at most [`MAX_LABEL_VALUE_LEN`] bytes; every other
//! value is counted as [`OTHER`]. The other labels take values from fixed sets. So a scrape's
//! size is bounded whatever the clients send.
//!
//! # Where it goes
//!
//! Outside every layer that can deny, so that every denial is counted (auth's included).
//! The caller is known only further in: the [`AuditTap`](crate::audit::AuditTap) that
//! [`PolicyStack`](crate::stack::PolicyStack) places after auth records it on the call's
//! [`CallMeter`], which the [`Metered`] service put in the request's extensions.
//!
//! # Cost on the request path
//!
//! Per call: one small shared allocation (the [`CallMeter`]), a read-locked lookup of each
//! capped label, and atomic increments; a label set is allocated only the first time it is
//! seen. No lock is held across an await. Gauges are read only when scraped.

pub mod future;
mod gauges;
mod labels;
mod layer;
mod route;
#[cfg(test)]
mod tests;

use std::fmt;
use std::num::NonZeroUsize;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;

use agent_gateway_core::response::Outcome;
use agent_gateway_core::{Action, AgentRequest, AgentResponse, BoxError, Denied, Usage};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use tower::Service;

pub use self::gauges::UpstreamHealth;
pub use self::labels::{ANONYMOUS, DEFAULT_LABEL_LIMIT, MAX_LABEL_VALUE_LEN, NONE, OTHER};
pub use self::layer::MetricsLayer;
pub use self::route::MetricsService;

use self::future::ResponseFuture;
use self::gauges::Watched;
use self::labels::{CallLabels, DenialLabels, LabelCap, SpendLabels, TokenLabels};
use crate::audit::AuditLog;

/// The latency histogram's bucket bounds, in seconds: from a fast tool call (5 ms) to a long
/// model stream (2 min), roughly ×2.5 apart, so each decade has about three buckets.
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
];

/// Every metric of a gateway; see the [module docs](self).
///
/// Cheap to clone: clones share the families. Build one, then use [`layer`](Metrics::layer)
/// on every route and protocol and [`service`](Metrics::service) for the scrape endpoint.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    requests: Family<CallLabels, Counter>,
    latency: Family<CallLabels, Histogram, fn() -> Histogram>,
    tokens: Family<TokenLabels, Counter>,
    cost: Family<SpendLabels, Counter<f64, AtomicU64>>,
    denials: Family<DenialLabels, Counter>,
    callers: LabelCap,
    models: LabelCap,
    rules: LabelCap,
    watched: Arc<Watched>,
    anonymous: Arc<str>,
    none: Arc<str>,
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

impl Metrics {
    /// Every family, empty, with labels capped at [`DEFAULT_LABEL_LIMIT`] values.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("agw");
        let requests = Family::default();
        let latency = Family::new_with_constructor(latency_histogram as fn() -> Histogram);
        let tokens = Family::default();
        let cost = Family::default();
        let denials = Family::default();
        registry.register(
            "requests",
            "Calls, by protocol, action and outcome",
            requests.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Call latency in seconds (a stream's until it ends), by protocol, action and outcome",
            latency.clone(),
        );
        registry.register(
            "tokens",
            "Tokens used, by caller, model and type",
            tokens.clone(),
        );
        registry.register(
            "cost_usd",
            "Spend in US dollars, by caller and model",
            cost.clone(),
        );
        registry.register(
            "denials",
            "Calls refused by policy, by kind and rule",
            denials.clone(),
        );
        let watched = Arc::new(Watched::default());
        registry.register_collector(Box::new(watched.clone()));
        let limit = NonZeroUsize::new(DEFAULT_LABEL_LIMIT).unwrap_or(NonZeroUsize::MIN);
        Metrics {
            inner: Arc::new(Inner {
                registry,
                requests,
                latency,
                tokens,
                cost,
                denials,
                callers: LabelCap::new(limit),
                models: LabelCap::new(limit),
                rules: LabelCap::new(limit),
                watched,
                anonymous: Arc::from(ANONYMOUS),
                none: Arc::from(NONE),
            }),
        }
    }

    /// Caps the `caller`, `model` and `rule` labels at `limit` distinct values each; the rest
    /// are counted as [`OTHER`]. Values already seen keep their label.
    pub fn with_label_limit(self, limit: NonZeroUsize) -> Self {
        for cap in [&self.inner.callers, &self.inner.models, &self.inner.rules] {
            cap.set_limit(limit);
        }
        self
    }

    /// A layer counting every call of the services it wraps into these metrics.
    pub fn layer(&self) -> MetricsLayer {
        MetricsLayer::new(self.clone())
    }

    /// The scrape endpoint, to mount at `/metrics`.
    pub fn service(&self) -> MetricsService {
        MetricsService::new(self.clone())
    }

    /// Every metric, in the Prometheus text format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail; a collector that fails leaves what was written.
        let _ =
            prometheus_client::encoding::prometheus_text::encode(&mut text, &self.inner.registry);
        text
    }

    /// Exports the fill level of a bounded table as `agw_table_entries{table=name}` (and its
    /// bound as `agw_table_capacity`, when given): `entries` is called at each scrape.
    /// Watching a name again replaces the previous one (after a configuration reload, say).
    pub fn watch_table(
        &self,
        name: &str,
        capacity: Option<usize>,
        entries: impl Fn() -> usize + Send + Sync + 'static,
    ) {
        self.inner.watched.table(name, capacity, Box::new(entries));
    }

    /// Exports the health of `protocol`'s upstream instances, replacing what was watched for
    /// that protocol before.
    pub fn watch_upstreams(&self, protocol: &str, health: UpstreamHealth) {
        self.inner.watched.upstreams(protocol, health);
    }

    /// Exports the health of a counter store (a shared one, as Redis) as
    /// `agw_store_up{store=name}` (1 while `up` says so) and `agw_store_errors_total`: both
    /// read at each scrape. Watching a name again replaces the previous one.
    pub fn watch_store(
        &self,
        name: &str,
        up: impl Fn() -> bool + Send + Sync + 'static,
        errors: impl Fn() -> u64 + Send + Sync + 'static,
    ) {
        self.inner
            .watched
            .store(name, Box::new(up), Box::new(errors));
    }

    /// Exports `log`'s queue depth and its written, dropped and failed records.
    pub fn watch_audit(&self, log: &AuditLog) {
        self.inner.watched.audit(log.clone());
    }

    /// Starts counting `req`.
    fn start<R: AgentRequest + ?Sized>(&self, req: &R) -> Meter {
        let action = req.action();
        let model = match (action, req.target()) {
            (Action::ModelCall, Some(model)) => self.inner.models.label(model),
            _ => self.inner.none.clone(),
        };
        let call = CallMeter(Arc::new(MeterState {
            metrics: self.clone(),
            caller: OnceLock::new(),
        }));
        call.refresh(req);
        Meter {
            call,
            protocol: req.protocol(),
            action: action.as_str(),
            model,
            started: Instant::now(),
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics")
            .field("watched", &self.inner.watched)
            .finish_non_exhaustive()
    }
}

/// One call being counted, in the request's extensions: layers further in (through
/// [`AuditTap`](crate::audit::AuditTap)) record on it the caller once auth has run.
#[derive(Clone)]
pub struct CallMeter(Arc<MeterState>);

struct MeterState {
    metrics: Metrics,
    caller: OnceLock<Arc<str>>,
}

impl CallMeter {
    /// Records the caller `req` now carries (the first one seen stays).
    pub fn refresh<R: AgentRequest + ?Sized>(&self, req: &R) {
        if self.0.caller.get().is_some() {
            return;
        }
        if let Some(caller) = req.caller() {
            let label = self.0.metrics.inner.callers.label(caller.principal_id());
            let _ = self.0.caller.set(label);
        }
    }
}

impl fmt::Debug for CallMeter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallMeter")
            .field("caller", &self.0.caller.get())
            .finish()
    }
}

/// What the response future needs to count its call.
pub(crate) struct Meter {
    call: CallMeter,
    protocol: &'static str,
    action: &'static str,
    model: Arc<str>,
    started: Instant,
}

impl Meter {
    fn count(&self, outcome: &'static str) {
        let inner = &self.call.0.metrics.inner;
        let labels = CallLabels {
            protocol: self.protocol,
            action: self.action,
            outcome,
        };
        inner.requests.get_or_create(&labels).inc();
        let seconds = self.started.elapsed().as_secs_f64();
        inner.latency.get_or_create(&labels).observe(seconds);
    }

    /// An answered call, once its response (or stream) has ended.
    fn ended(self, usage: &Usage, outcome: Outcome) {
        self.count(match outcome {
            Outcome::Complete => "ok",
            _ => "aborted",
        });
        let inner = &self.call.0.metrics.inner;
        let caller = self.call.0.caller.get().unwrap_or(&inner.anonymous).clone();
        for (kind, tokens) in [
            ("input", usage.input_tokens),
            ("output", usage.output_tokens),
        ] {
            if tokens > 0 {
                let labels = TokenLabels {
                    caller: caller.clone(),
                    model: self.model.clone(),
                    kind,
                };
                inner.tokens.get_or_create(&labels).inc_by(tokens);
            }
        }
        let usd = usage.cost.map_or(0.0, |cost| cost.usd());
        if usd > 0.0 {
            let labels = SpendLabels {
                caller,
                model: self.model,
            };
            inner.cost.get_or_create(&labels).inc_by(usd);
        }
    }

    /// A call that failed: denied by policy, or an error.
    fn refused(self, error: &BoxError) {
        let Some(denied) = Denied::find(error.as_ref()) else {
            self.count("error");
            return;
        };
        self.count("denied");
        let inner = &self.call.0.metrics.inner;
        let rule = match denied.rule() {
            Some(rule) => inner.rules.label(rule),
            None => inner.none.clone(),
        };
        let labels = DenialLabels {
            protocol: self.protocol,
            kind: denied.kind().as_str(),
            rule,
        };
        inner.denials.get_or_create(&labels).inc();
    }
}

/// Counts each call into a [`Metrics`]; see the [module docs](self). Without metrics (a
/// [`MetricsLayer::off`]) it passes every call through.
#[derive(Clone, Debug)]
pub struct Metered<S> {
    inner: S,
    metrics: Option<Metrics>,
}

impl<S> Metered<S> {
    /// Passes every call to `inner`, counting nothing.
    pub fn pass(inner: S) -> Self {
        Metered {
            inner,
            metrics: None,
        }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Consumes the service, returning the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, R> Service<R> for Metered<S>
where
    S: Service<R>,
    S::Error: Into<BoxError>,
    S::Response: AgentResponse,
    R: AgentRequest,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut req: R) -> Self::Future {
        let meter = self.metrics.as_ref().map(|metrics| {
            let meter = metrics.start(&req);
            req.extensions_mut().insert(meter.call.clone());
            meter
        });
        ResponseFuture::new(self.inner.call(req), meter)
    }
}
