//! The metrics keys of `[telemetry]`: whether the gateway serves Prometheus metrics, where,
//! how many distinct callers and models they name, and the bearer token a scrape must send.
//!
//! ```
//! use agent_gateway_examples::config::Config;
//!
//! // On by default, at /metrics.
//! let metrics = Config::from_toml_str("").unwrap().metrics;
//! assert!(metrics.enabled);
//! assert_eq!(metrics.path, "/metrics");
//!
//! let config = Config::from_toml_str(
//!     "[telemetry]\nmetrics = true\nmetrics_path = \"/ops/metrics\"\nmetrics_label_limit = 20\n",
//! ).unwrap();
//! assert_eq!(config.metrics.path, "/ops/metrics");
//! assert_eq!(config.metrics.label_limit.get(), 20);
//! assert!(!Config::from_toml_str("[telemetry]\nmetrics = false\n").unwrap().metrics.enabled);
//! let token = Config::from_toml_str("[telemetry]\nmetrics_token_env = \"AGW_METRICS_TOKEN\"\n");
//! assert_eq!(token.unwrap().metrics.token_env.as_deref(), Some("AGW_METRICS_TOKEN"));
//! assert!(Config::from_toml_str("[telemetry]\nmetrics_token_env = \"\"\n").is_err());
//!
//! let err = Config::from_toml_str("[mcp]\n[telemetry]\nmetrics_path = \"/mcp\"\n").unwrap_err();
//! assert!(err.to_string().contains("telemetry.metrics_path"), "{err}");
//! assert!(Config::from_toml_str("[telemetry]\nmetric = true\n").is_err());
//! ```

use std::num::NonZeroUsize;

use agent_gateway_policy::metrics::DEFAULT_LABEL_LIMIT;

use super::ConfigError;
use super::telemetry::FileTelemetry;

/// Where the metrics are served unless `metrics_path` says otherwise: where Prometheus looks.
pub const DEFAULT_METRICS_PATH: &str = "/metrics";

/// Prometheus metrics (`[telemetry] metrics`, `metrics_path`, `metrics_label_limit`,
/// `metrics_token_env`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MetricsConfig {
    /// Whether `GET <path>` serves the metrics (and calls are counted). On by default.
    pub enabled: bool,
    /// The scrape path ([`DEFAULT_METRICS_PATH`]), on the gateway's listener.
    pub path: String,
    /// How many distinct callers, models and rules the labels name before counting the rest
    /// as `other` ([`DEFAULT_LABEL_LIMIT`]).
    pub label_limit: NonZeroUsize,
    /// The environment variable holding the bearer token a scrape must present
    /// (`metrics_token_env`); `None`: the route is open, so restrict it by network. The token
    /// itself is read when the gateway starts, never stored in the configuration.
    pub token_env: Option<String>,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            enabled: true,
            path: DEFAULT_METRICS_PATH.to_owned(),
            label_limit: NonZeroUsize::new(DEFAULT_LABEL_LIMIT).unwrap_or(NonZeroUsize::MIN),
            token_env: None,
        }
    }
}

/// Paths the gateway serves whatever the configuration: the metrics cannot take them.
const RESERVED: [&str; 3] = ["/", "/healthz", "/v1/whoami"];

fn invalid(key: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Value {
        key,
        reason: reason.into(),
    }
}

impl MetricsConfig {
    /// Takes the metrics keys out of the file's `[telemetry]` table (`metrics`,
    /// `metrics_path`, `metrics_label_limit`, `metrics_token_env`, each optional), leaving
    /// the span export's keys.
    pub(super) fn take_keys(file: &mut FileTelemetry) -> Result<Self, ConfigError> {
        let (enabled, path, label_limit) = (
            file.metrics.take(),
            file.metrics_path.take(),
            file.metrics_label_limit.take(),
        );
        let token_env = file.metrics_token_env.take();
        if token_env.as_deref().is_some_and(str::is_empty) {
            return Err(invalid(
                "telemetry.metrics_token_env",
                "must name an environment variable",
            ));
        }
        let defaults = MetricsConfig::default();
        let path = path.unwrap_or(defaults.path);
        let key = "telemetry.metrics_path";
        if !path.starts_with('/') || path.len() < 2 || path.contains(['{', '}', '*']) {
            return Err(invalid(key, "must start with `/` and name a plain route"));
        }
        if RESERVED.contains(&path.as_str()) || crate::app::LLM_PATHS.contains(&path.as_str()) {
            return Err(invalid(key, format!("`{path}` is already a gateway route")));
        }
        let label_limit = match label_limit {
            Some(n) => NonZeroUsize::new(n)
                .ok_or_else(|| invalid("telemetry.metrics_label_limit", "must be at least 1"))?,
            None => defaults.label_limit,
        };
        Ok(MetricsConfig {
            enabled: enabled.unwrap_or(defaults.enabled),
            path,
            label_limit,
            token_env,
        })
    }

    /// Refuses a scrape path that a configured front already serves (`front` is its key,
    /// `mounted` its path; a front nested at a path serves everything under it).
    pub(super) fn check_front(&self, front: &str, mounted: &str) -> Result<(), ConfigError> {
        let path = self.path.as_str();
        let under = path
            .strip_prefix(mounted)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
        if self.enabled && under {
            return Err(invalid(
                "telemetry.metrics_path",
                format!("`{path}` is served by `{front}`"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn mistakes_name_their_key() {
        for (text, key) in [
            (
                "[telemetry]\nmetrics_path = \"metrics\"\n",
                "telemetry.metrics_path",
            ),
            (
                "[telemetry]\nmetrics_path = \"/\"\n",
                "telemetry.metrics_path",
            ),
            (
                "[telemetry]\nmetrics_path = \"/healthz\"\n",
                "telemetry.metrics_path",
            ),
            (
                "[telemetry]\nmetrics_path = \"/v1/messages\"\n",
                "telemetry.metrics_path",
            ),
            (
                "[telemetry]\nmetrics_path = \"/m/{x}\"\n",
                "telemetry.metrics_path",
            ),
            (
                "[telemetry]\nmetrics_label_limit = 0\n",
                "telemetry.metrics_label_limit",
            ),
            (
                "[a2a]\n[telemetry]\nmetrics_path = \"/a2a/metrics\"\n",
                "telemetry.metrics_path",
            ),
        ] {
            let err = Config::from_toml_str(text).unwrap_err();
            assert!(err.to_string().contains(key), "{text}: {err}");
        }
    }

    #[test]
    fn a_path_beside_a_front_is_fine() {
        let config = Config::from_toml_str("[mcp]\n[telemetry]\nmetrics_path = \"/mcpx\"\n");
        assert_eq!(config.unwrap().metrics.path, "/mcpx");
    }
}
