//! A `urls = [...]` upstream: several instances of one server, balanced, each behind a
//! circuit breaker, with a retry budget.

use std::num::NonZeroU32;
use std::time::Duration;

use agent_gateway_core::upstream::breaker::BreakerConfig;
use serde::Deserialize;

use super::upstreams::{parse_url, positive_ms};
use super::{ConfigError, bad};

/// Several instances of one MCP server.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct PoolTarget {
    /// The instances' URLs, each one distinct.
    pub urls: Vec<http::Uri>,
    /// Whether they speak the legacy HTTP+SSE transport (`transport = "sse"`).
    pub sse: bool,
    /// When an instance is taken out, and how it is probed back (`breaker = {...}`).
    pub breaker: BreakerConfig,
    /// How many failed idempotent calls are retried on another instance (`retry = {...}`).
    pub retry: RetryConfig,
    /// How long an idempotent call may take on one instance before it is retried elsewhere
    /// (`attempt_timeout_ms`).
    pub attempt_timeout: Duration,
}

/// A retry budget: retries may add `percent`% of recent calls, plus `min_per_sec` a second.
/// Both zero: no retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryConfig {
    /// Retries as a share of recent calls, in percent (0 to 1000).
    pub percent: u32,
    /// Retries allowed each second however few calls there were.
    pub min_per_sec: u32,
}

impl Default for RetryConfig {
    /// 20% of calls, plus 10 a second.
    fn default() -> Self {
        RetryConfig {
            percent: 20,
            min_per_sec: 10,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileBreaker {
    failures: Option<u32>,
    cooldown_ms: Option<u64>,
    max_cooldown_ms: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileRetry {
    percent: Option<u32>,
    min_per_sec: Option<u32>,
}

/// The instances' URLs: at least one, each a URL, none twice.
pub(super) fn parse_urls(name: &str, urls: &[String]) -> Result<Vec<http::Uri>, ConfigError> {
    let key = "mcp.upstreams.urls";
    if urls.is_empty() {
        return Err(bad(key, format!("`{name}`: list at least one URL")));
    }
    if let Some((i, url)) = urls
        .iter()
        .enumerate()
        .find(|(i, url)| urls[..*i].contains(url))
    {
        return Err(bad(
            key,
            format!("`{name}`: `{url}` is listed twice (entry {})", i + 1),
        ));
    }
    urls.iter().map(|url| parse_url(name, key, url)).collect()
}

/// `breaker = { failures, cooldown_ms, max_cooldown_ms }`, each optional (defaults: 5
/// failures, 5 s growing to 60 s).
pub(super) fn breaker(name: &str, file: Option<FileBreaker>) -> Result<BreakerConfig, ConfigError> {
    let Some(file) = file else {
        return Ok(BreakerConfig::default());
    };
    let failures = NonZeroU32::new(file.failures.unwrap_or(5)).ok_or_else(|| {
        bad(
            "mcp.upstreams.breaker.failures",
            format!("`{name}`: must be at least 1"),
        )
    })?;
    let cooldown = positive_ms(
        name,
        "mcp.upstreams.breaker.cooldown_ms",
        file.cooldown_ms.unwrap_or(5_000),
    )?;
    let max_cooldown = match file.max_cooldown_ms {
        None => cooldown.max(Duration::from_secs(60)),
        Some(ms) if Duration::from_millis(ms) < cooldown => {
            return Err(bad(
                "mcp.upstreams.breaker.max_cooldown_ms",
                format!("`{name}`: must be at least cooldown_ms"),
            ));
        }
        Some(ms) => Duration::from_millis(ms),
    };
    Ok(BreakerConfig::new(failures, cooldown).with_max_cooldown(max_cooldown))
}

/// `retry = { percent, min_per_sec }`, each optional (defaults: 20%, 10 a second).
pub(super) fn retry(name: &str, file: Option<FileRetry>) -> Result<RetryConfig, ConfigError> {
    let default = RetryConfig::default();
    let Some(file) = file else { return Ok(default) };
    let percent = file.percent.unwrap_or(default.percent);
    if percent > 1000 {
        return Err(bad(
            "mcp.upstreams.retry.percent",
            format!("`{name}`: must be at most 1000"),
        ));
    }
    Ok(RetryConfig {
        percent,
        min_per_sec: file.min_per_sec.unwrap_or(default.min_per_sec),
    })
}
