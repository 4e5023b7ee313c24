//! `[[mcp.upstreams]]` with several instances (`urls`): what a valid entry becomes, and the
//! precise error for each mistake.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::time::Duration;

use agent_gateway_core::upstream::breaker::BreakerConfig;
use agent_gateway_examples::config::{Config, ConfigError, McpTarget, RetryConfig};
use agent_gateway_examples::mcp::upstreams;

fn upstream(body: &str) -> Result<Config, ConfigError> {
    Config::from_toml_str(&format!(
        "[mcp]\n[[mcp.upstreams]]\nname = \"search\"\n{body}\n"
    ))
}

fn error(body: &str) -> (String, String) {
    match upstream(body).unwrap_err() {
        ConfigError::Value { key, reason } => (key.to_owned(), reason),
        other => (String::new(), other.to_string()),
    }
}

#[test]
fn urls_become_a_pool_with_its_breaker_and_retry_settings() {
    let config = upstream(
        "urls = [\"http://a.test/mcp\", \"http://b.test/mcp\"]\n\
         breaker = { failures = 3, cooldown_ms = 2000, max_cooldown_ms = 8000 }\n\
         retry = { percent = 50, min_per_sec = 0 }\n\
         attempt_timeout_ms = 1500",
    )
    .unwrap();
    let mcp = config.mcp.as_ref().unwrap();
    assert_eq!(
        mcp.upstreams[0].stream_idle,
        Duration::from_secs(120),
        "the default"
    );
    let McpTarget::Pool(pool) = &mcp.upstreams[0].target else {
        panic!("not a pool: {:?}", mcp.upstreams[0].target);
    };
    let urls: Vec<String> = pool.urls.iter().map(ToString::to_string).collect();
    assert_eq!(urls, ["http://a.test/mcp", "http://b.test/mcp"]);
    assert!(!pool.sse);
    assert_eq!(pool.breaker.failure_threshold().get(), 3);
    assert_eq!(pool.breaker.cooldown(), Duration::from_secs(2));
    assert_eq!(pool.breaker.max_cooldown(), Duration::from_secs(8));
    assert_eq!((pool.retry.percent, pool.retry.min_per_sec), (50, 0));
    assert_eq!(pool.attempt_timeout, Duration::from_millis(1500));
    // The federation is built from it (the instances are reached lazily).
    assert!(upstreams(mcp).is_ok());
}

#[test]
fn defaults_and_the_sse_transport() {
    let config = upstream("urls = [\"http://a.test/sse\"]\ntransport = \"sse\"").unwrap();
    let McpTarget::Pool(pool) = &config.mcp.as_ref().unwrap().upstreams[0].target else {
        panic!("not a pool");
    };
    assert!(pool.sse);
    assert_eq!(pool.breaker, BreakerConfig::default());
    assert_eq!(pool.retry, RetryConfig::default());
    assert_eq!(pool.attempt_timeout, Duration::from_secs(10));
}

#[test]
fn each_mistake_names_its_key() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "url = \"http://a.test/mcp\"\nurls = [\"http://b.test/mcp\"]",
            "mcp.upstreams",
            "`search` needs exactly one of url, urls, command and demo = true",
        ),
        (
            "urls = []",
            "mcp.upstreams.urls",
            "`search`: list at least one URL",
        ),
        (
            "urls = [\"http://a.test/mcp\", \"http://a.test/mcp\"]",
            "mcp.upstreams.urls",
            "`search`: `http://a.test/mcp` is listed twice (entry 2)",
        ),
        (
            "urls = [\"http://a.test/mcp\", \"not a url\"]",
            "mcp.upstreams.urls",
            "`search`: `not a url` is not a URL",
        ),
        (
            "url = \"http://a.test/mcp\"\nbreaker = { failures = 2 }",
            "mcp.upstreams",
            "`search`: `breaker` is for upstreams with several instances; list them in `urls`",
        ),
        (
            "url = \"http://a.test/mcp\"\nretry = { percent = 10 }",
            "mcp.upstreams",
            "`search`: `retry` is for upstreams",
        ),
        (
            "urls = [\"http://a.test/mcp\"]\nbreaker = { failures = 0 }",
            "mcp.upstreams.breaker.failures",
            "`search`: must be at least 1",
        ),
        (
            "urls = [\"http://a.test/mcp\"]\nbreaker = { cooldown_ms = 0 }",
            "mcp.upstreams.breaker.cooldown_ms",
            "`search`: must be at least 1",
        ),
        (
            "urls = [\"http://a.test/mcp\"]\nbreaker = { cooldown_ms = 5000, max_cooldown_ms = 10 }",
            "mcp.upstreams.breaker.max_cooldown_ms",
            "`search`: must be at least cooldown_ms",
        ),
        (
            "urls = [\"http://a.test/mcp\"]\nretry = { percent = 1001 }",
            "mcp.upstreams.retry.percent",
            "`search`: must be at most 1000",
        ),
        (
            "urls = [\"http://a.test/mcp\"]\nattempt_timeout_ms = 0",
            "mcp.upstreams.attempt_timeout_ms",
            "`search`: must be at least 1",
        ),
        (
            "command = \"srv\"\nmax_queued_bytes = 0",
            "mcp.upstreams.max_queued_bytes",
            "`search`: must be at least 1",
        ),
        (
            "url = \"http://a.test/mcp\"\nstall_timeout_ms = 5",
            "mcp.upstreams",
            "`search`: `stall_timeout_ms` is for command upstreams",
        ),
        (
            "url = \"http://a.test/mcp\"\nstream_idle_timeout_ms = 0",
            "mcp.upstreams.stream_idle_timeout_ms",
            "`search`: must be at least 1",
        ),
        (
            "urls = [\"http://a.test/mcp\"]\ntransport = \"ws\"",
            "mcp.upstreams.transport",
            "`search`: transport `ws` is not one of",
        ),
    ];
    for (body, key, reason) in cases {
        let (k, r) = error(body);
        assert_eq!(k, *key, "{body}: {r}");
        assert!(r.starts_with(reason), "{body}: {r}");
    }
    // An unknown key inside `breaker` is a syntax error naming it.
    let (key, reason) = error("urls = [\"http://a.test/mcp\"]\nbreaker = { threshold = 2 }");
    assert_eq!(key, "");
    assert!(reason.contains("threshold"), "{reason}");
}

#[test]
fn the_stream_idle_timeout_is_read() {
    let config = upstream("url = \"http://a.test/mcp\"\nstream_idle_timeout_ms = 2500").unwrap();
    let mcp = config.mcp.as_ref().unwrap();
    assert_eq!(mcp.upstreams[0].stream_idle, Duration::from_millis(2500));
}

#[test]
fn a_command_upstreams_input_queue_and_stall_timeout_are_read() {
    let config =
        upstream("command = \"srv\"\nmax_queued_bytes = 4096\nstall_timeout_ms = 2500").unwrap();
    let mcp = config.mcp.as_ref().unwrap();
    let McpTarget::Command(cmd) = &mcp.upstreams[0].target else {
        panic!("not a command: {:?}", mcp.upstreams[0].target);
    };
    assert_eq!(cmd.max_queued, 4096);
    assert_eq!(cmd.stall_timeout, Duration::from_millis(2500));
}
