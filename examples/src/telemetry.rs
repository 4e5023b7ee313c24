//! OpenTelemetry export (feature `otel`): each call's span goes over OTLP/HTTP (protobuf) to a
//! collector, and the trace context sent upstream is that exported span's.
//!
//! [`Otel::from_config`] builds nothing unless an endpoint is configured: `[telemetry]
//! otlp_endpoint` in the file, else `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (the full URL, as
//! given) or `OTEL_EXPORTER_OTLP_ENDPOINT` (a base URL: `/v1/traces` is appended) in the
//! environment. With one, [`Otel::layer`] is the `tracing` layer that turns spans into
//! OpenTelemetry spans, and [`Otel::trace_layer`] the gateway's
//! [`TraceLayer`] that continues the incoming `traceparent` in them. Finished spans wait in a
//! bounded queue ([`TelemetryConfig::max_queue`]) and are sent in batches by the SDK's own
//! thread, never on a request's path; [`Otel::shutdown`] sends what is left.
//!
//! ```
//! use agent_gateway_examples::config::Config;
//! use agent_gateway_examples::telemetry::{Otel, traces_endpoint};
//!
//! let config = Config::from_toml_str("").unwrap().telemetry;
//! let no_env = |_: &str| None;
//! // Nothing configured: no exporter is built.
//! assert!(Otel::from_config(&config, no_env).unwrap().is_none());
//! // The standard variable is a base URL; the file's endpoint wins over it.
//! let env = |key: &str| (key == "OTEL_EXPORTER_OTLP_ENDPOINT").then(|| "http://env:4318/".to_owned());
//! assert_eq!(traces_endpoint(&config, env).unwrap().as_deref(), Some("http://env:4318/v1/traces"));
//! let file = Config::from_toml_str("[telemetry]\notlp_endpoint = \"http://file:4318\"\n").unwrap();
//! assert_eq!(
//!     traces_endpoint(&file.telemetry, env).unwrap().as_deref(),
//!     Some("http://file:4318/v1/traces")
//! );
//! ```

use std::fmt;

use agent_gateway_policy::telemetry::TraceLayer;
use agent_gateway_policy::telemetry::otel::OtelPropagate;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::registry::LookupSpan;

use crate::config::{ConfigError, DEFAULT_SERVICE_NAME, TelemetryConfig};

/// The standard base endpoint variable (OTLP exporter spec): `/v1/traces` is appended.
pub const OTEL_EXPORTER_OTLP_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
/// The standard traces endpoint variable: used as given.
pub const OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
/// The standard service name variable.
pub const OTEL_SERVICE_NAME: &str = "OTEL_SERVICE_NAME";
/// The OTLP/HTTP path of traces under a base endpoint.
const TRACES_PATH: &str = "/v1/traces";
/// The instrumentation scope the gateway's spans are exported under.
const SCOPE: &str = "agent-gateway";

/// The exporter could not be built, or could not send what it held.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TelemetryError {
    /// An endpoint from the environment is not a usable URL.
    #[error(transparent)]
    Endpoint(#[from] ConfigError),
    /// The OTLP exporter could not be built.
    #[error("cannot build the OTLP exporter: {0}")]
    Build(#[from] opentelemetry_otlp::ExporterBuildError),
    /// Flushing or shutting down the exporter failed.
    #[error("cannot export spans: {0}")]
    Export(#[from] opentelemetry_sdk::error::OTelSdkError),
}

/// The full URL spans are posted to, if any is configured: the file's `otlp_endpoint` (a base
/// URL), else `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (as given), else
/// `OTEL_EXPORTER_OTLP_ENDPOINT` (a base URL), read through `env`. Empty variables count as
/// unset.
pub fn traces_endpoint(
    config: &TelemetryConfig,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Option<String>, ConfigError> {
    let var = |key: &str| env(key).filter(|v| !v.trim().is_empty());
    let base = |url: &str| format!("{}{TRACES_PATH}", url.trim_end_matches('/'));
    let (key, url) = if let Some(url) = &config.otlp_endpoint {
        ("telemetry.otlp_endpoint", base(url))
    } else if let Some(url) = var(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) {
        (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, url)
    } else if let Some(url) = var(OTEL_EXPORTER_OTLP_ENDPOINT) {
        (OTEL_EXPORTER_OTLP_ENDPOINT, base(&url))
    } else {
        return Ok(None);
    };
    crate::config::check_endpoint(key, &url)?;
    Ok(Some(url))
}

/// The OpenTelemetry pipeline: a tracer provider with a batching OTLP/HTTP exporter; see the
/// [module docs](self).
pub struct Otel {
    provider: SdkTracerProvider,
    endpoint: String,
}

impl Otel {
    /// The pipeline `config` asks for, reading the standard variables through `env` (pass
    /// `|k| std::env::var(k).ok()`); `None`, and nothing built, when no endpoint is configured.
    pub fn from_config(
        config: &TelemetryConfig,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Otel>, TelemetryError> {
        let Some(endpoint) = traces_endpoint(config, &env)? else {
            return Ok(None);
        };
        let exporter = SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(endpoint.clone())
            .with_timeout(config.export_timeout)
            .build()?;
        let batch = BatchConfigBuilder::default()
            .with_max_queue_size(config.max_queue.get())
            .with_scheduled_delay(config.export_interval)
            .build();
        let processor = BatchSpanProcessor::builder(exporter)
            .with_batch_config(batch)
            .build();
        let name = config
            .service_name
            .clone()
            .or_else(|| env(OTEL_SERVICE_NAME).filter(|n| !n.is_empty()))
            .unwrap_or_else(|| DEFAULT_SERVICE_NAME.to_owned());
        let attributes = config
            .resource
            .iter()
            .map(|(k, v)| opentelemetry::KeyValue::new(k.clone(), v.clone()));
        let resource = Resource::builder()
            .with_service_name(name)
            .with_attributes(attributes)
            .build();
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .with_resource(resource)
            .build();
        Ok(Some(Otel { provider, endpoint }))
    }

    /// The URL spans are posted to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The `tracing` layer that exports spans (at `INFO` and above, whatever filter the logs
    /// use) through this pipeline.
    pub fn layer<S>(&self) -> impl Layer<S> + Send + Sync + 'static
    where
        S: tracing::Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
    {
        tracing_opentelemetry::layer()
            .with_tracer(self.provider.tracer(SCOPE))
            .with_tracked_inactivity(false)
            .with_threads(false)
            .with_location(false)
            .with_filter(LevelFilter::INFO)
    }

    /// The gateway's [`TraceLayer`], whose trace context (sent upstream) is the exported span's.
    pub fn trace_layer(&self) -> TraceLayer {
        TraceLayer::new().with_propagate(OtelPropagate)
    }

    /// Sends every finished span now. It blocks until the collector answers (or the export
    /// timeout): call it off the async runtime's threads (`spawn_blocking`).
    pub fn force_flush(&self) -> Result<(), TelemetryError> {
        Ok(self.provider.force_flush()?)
    }

    /// Sends what is queued and stops the exporter; spans that end later are dropped. Blocks
    /// like [`force_flush`](Self::force_flush).
    pub fn shutdown(&self) -> Result<(), TelemetryError> {
        Ok(self.provider.shutdown()?)
    }
}

impl fmt::Debug for Otel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Otel")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}
