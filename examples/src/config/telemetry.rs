//! The `[telemetry]` table: where each call's span is exported over OTLP/HTTP, and as which
//! service.
//!
//! Nothing is exported, and no exporter is built, unless `otlp_endpoint` is set here or the
//! standard `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set in
//! the environment; the file wins over the environment. Exporting needs the `otel` feature (on
//! by default): without it an `otlp_endpoint` is a config error.
//!
//! ```
//! use std::time::Duration;
//! use agent_gateway_examples::config::Config;
//!
//! let config = Config::from_toml_str(
//!     "[telemetry]\notlp_endpoint = \"http://127.0.0.1:4318\"\nservice_name = \"edge-gw\"\n\
//!      resource = { \"deployment.environment\" = \"prod\" }\n",
//! );
//! # #[cfg(feature = "otel")] {
//! let telemetry = config.unwrap().telemetry;
//! assert_eq!(telemetry.otlp_endpoint.as_deref(), Some("http://127.0.0.1:4318"));
//! assert_eq!(telemetry.service_name.as_deref(), Some("edge-gw"));
//! assert_eq!(telemetry.resource["deployment.environment"], "prod");
//! assert_eq!(telemetry.export_interval, Duration::from_secs(5));
//! # }
//! // No table: nothing configured, and the defaults.
//! let none = Config::from_toml_str("").unwrap().telemetry;
//! assert!(none.otlp_endpoint.is_none());
//! // Mistakes name their key.
//! let err = Config::from_toml_str("[telemetry]\notlp_endpoint = \"collector:4318\"\n").unwrap_err();
//! assert!(err.to_string().contains("telemetry.otlp_endpoint"), "{err}");
//! assert!(Config::from_toml_str("[telemetry]\nendpoint = \"http://a\"\n").is_err());
//! ```

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::time::Duration;

use serde::Deserialize;

use super::ConfigError;

/// The service name exported spans carry when neither the file nor `OTEL_SERVICE_NAME` names
/// one.
pub const DEFAULT_SERVICE_NAME: &str = "agent-gateway";

/// How many finished spans may wait for export: the OpenTelemetry SDK's own default. A
/// collector that cannot keep up loses spans past this (counted by the SDK) rather than
/// growing the gateway's memory or slowing its calls.
pub const DEFAULT_MAX_QUEUE: usize = 2048;

/// How often queued spans are sent: the SDK's default (`OTEL_BSP_SCHEDULE_DELAY`), a batch
/// every few seconds keeps requests to the collector few.
pub const DEFAULT_EXPORT_INTERVAL: Duration = Duration::from_secs(5);

/// How long one export may take before it is abandoned: the OTLP exporters' default.
pub const DEFAULT_EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// OpenTelemetry export.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TelemetryConfig {
    /// The OTLP/HTTP endpoint's base URL (`http://host:4318`), as `OTEL_EXPORTER_OTLP_ENDPOINT`
    /// spells it: spans go to `<endpoint>/v1/traces`. `None`: the environment decides.
    pub otlp_endpoint: Option<String>,
    /// The `service.name` resource attribute; `None`: `OTEL_SERVICE_NAME`, else
    /// [`DEFAULT_SERVICE_NAME`].
    pub service_name: Option<String>,
    /// More resource attributes (`deployment.environment`, `service.version`, ...).
    pub resource: BTreeMap<String, String>,
    /// How many finished spans may wait for export ([`DEFAULT_MAX_QUEUE`]).
    pub max_queue: NonZeroUsize,
    /// How often queued spans are sent ([`DEFAULT_EXPORT_INTERVAL`]).
    pub export_interval: Duration,
    /// How long one export may take ([`DEFAULT_EXPORT_TIMEOUT`]).
    pub export_timeout: Duration,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        TelemetryConfig {
            otlp_endpoint: None,
            service_name: None,
            resource: BTreeMap::new(),
            max_queue: NonZeroUsize::new(DEFAULT_MAX_QUEUE).unwrap_or(NonZeroUsize::MIN),
            export_interval: DEFAULT_EXPORT_INTERVAL,
            export_timeout: DEFAULT_EXPORT_TIMEOUT,
        }
    }
}

/// The table as the file spells it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileTelemetry {
    otlp_endpoint: Option<String>,
    service_name: Option<String>,
    #[serde(default)]
    resource: BTreeMap<String, String>,
    max_queue: Option<usize>,
    export_interval_ms: Option<u64>,
    export_timeout_ms: Option<u64>,
    // The metrics keys, read by `MetricsConfig::from_keys` (one table, two concerns).
    pub(super) metrics: Option<bool>,
    pub(super) metrics_path: Option<String>,
    pub(super) metrics_label_limit: Option<usize>,
    pub(super) metrics_token_env: Option<String>,
}

fn invalid(key: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Value {
        key,
        reason: reason.into(),
    }
}

/// A positive number of milliseconds at `key`, or `default`.
fn millis(
    key: &'static str,
    value: Option<u64>,
    default: Duration,
) -> Result<Duration, ConfigError> {
    match value {
        Some(0) => Err(invalid(key, "must be at least 1")),
        Some(ms) => Ok(Duration::from_millis(ms)),
        None => Ok(default),
    }
}

/// Checks an OTLP/HTTP endpoint: an absolute `http` URL with a host.
pub(crate) fn check_endpoint(key: &'static str, endpoint: &str) -> Result<(), ConfigError> {
    let uri: http::Uri = endpoint
        .parse()
        .map_err(|e| invalid(key, format!("`{endpoint}` is not a URL: {e}")))?;
    match (uri.scheme_str(), uri.host()) {
        (Some("http"), Some(_)) => Ok(()),
        (Some("https"), Some(_)) => Err(invalid(
            key,
            format!("`{endpoint}`: this build exports over plain http (to a local collector)"),
        )),
        _ => Err(invalid(
            key,
            format!("`{endpoint}`: expected an http URL such as http://127.0.0.1:4318"),
        )),
    }
}

impl TryFrom<FileTelemetry> for TelemetryConfig {
    type Error = ConfigError;

    fn try_from(file: FileTelemetry) -> Result<Self, ConfigError> {
        if let Some(endpoint) = &file.otlp_endpoint {
            check_endpoint("telemetry.otlp_endpoint", endpoint)?;
            if cfg!(not(feature = "otel")) {
                return Err(invalid(
                    "telemetry.otlp_endpoint",
                    "exporting spans needs the gateway built with the `otel` feature",
                ));
            }
        }
        if file.service_name.as_deref().is_some_and(str::is_empty) {
            return Err(invalid("telemetry.service_name", "must not be empty"));
        }
        if file.resource.keys().any(String::is_empty) {
            return Err(invalid(
                "telemetry.resource",
                "attribute names must not be empty",
            ));
        }
        let max_queue = match file.max_queue {
            Some(n) => NonZeroUsize::new(n)
                .ok_or_else(|| invalid("telemetry.max_queue", "must be at least 1"))?,
            None => TelemetryConfig::default().max_queue,
        };
        Ok(TelemetryConfig {
            otlp_endpoint: file.otlp_endpoint,
            service_name: file.service_name,
            resource: file.resource,
            max_queue,
            export_interval: millis(
                "telemetry.export_interval_ms",
                file.export_interval_ms,
                DEFAULT_EXPORT_INTERVAL,
            )?,
            export_timeout: millis(
                "telemetry.export_timeout_ms",
                file.export_timeout_ms,
                DEFAULT_EXPORT_TIMEOUT,
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn mistakes_name_their_key() {
        for (text, key) in [
            (
                "otlp_endpoint = \"https://collector:4318\"",
                "telemetry.otlp_endpoint",
            ),
            ("otlp_endpoint = \"/v1/traces\"", "telemetry.otlp_endpoint"),
            ("otlp_endpoint = \"not a url\"", "telemetry.otlp_endpoint"),
            ("service_name = \"\"", "telemetry.service_name"),
            ("resource = { \"\" = \"x\" }", "telemetry.resource"),
            ("max_queue = 0", "telemetry.max_queue"),
            ("export_interval_ms = 0", "telemetry.export_interval_ms"),
            ("export_timeout_ms = 0", "telemetry.export_timeout_ms"),
        ] {
            let err = Config::from_toml_str(&format!("[telemetry]\n{text}\n")).unwrap_err();
            assert!(err.to_string().contains(key), "{key}: {err}");
        }
    }

    #[test]
    fn sizes_and_intervals_are_read() {
        let c = Config::from_toml_str(
            "[telemetry]\nmax_queue = 16\nexport_interval_ms = 50\nexport_timeout_ms = 700\n",
        )
        .unwrap()
        .telemetry;
        assert_eq!(c.max_queue.get(), 16);
        assert_eq!(c.export_interval, Duration::from_millis(50));
        assert_eq!(c.export_timeout, Duration::from_millis(700));
        assert!(c.otlp_endpoint.is_none());
    }
}
