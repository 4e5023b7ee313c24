//! A Redis store's health in the metrics, against a real `redis-server`: up with no errors
//! while the server answers; once it is killed, the next operation fails closed and the
//! scrape shows the store down with the failure counted; back up after a restart.
#![cfg(feature = "redis")]

mod redis_support;

use agent_gateway_core::store::CounterStore;
use agent_gateway_policy::metrics::Metrics;
use agent_gateway_policy::redis::RedisStore;
use redis_support::RedisServer;

/// The value of the sample `series` in the scrape.
fn sample(metrics: &Metrics, series: &str) -> Option<f64> {
    let text = metrics.render();
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.parse().ok())
}

const UP: &str = r#"agw_store_up{store="redis"}"#;
const ERRORS: &str = r#"agw_store_errors_total{store="redis"}"#;

#[tokio::test]
async fn a_stopped_server_shows_as_down_with_its_failures_counted() {
    let Some(_) = redis_support::installed() else {
        return;
    };
    let mut server = RedisServer::start();
    let store = RedisStore::connect(&server.url())
        .await
        .expect("connect to redis-server")
        .with_prefix("agw:health:")
        .with_timeout(std::time::Duration::from_millis(500));
    let metrics = Metrics::new();
    let (up, errors) = (store.health(), store.health());
    metrics.watch_store("redis", move || up.is_up(), move || errors.errors());

    assert_eq!(
        store.add("k", 1, None).await.expect("the server answers"),
        1
    );
    assert_eq!(sample(&metrics, UP), Some(1.0));
    assert_eq!(sample(&metrics, ERRORS), Some(0.0));

    server.kill();
    assert!(store.add("k", 1, None).await.is_err(), "fails closed");
    assert_eq!(sample(&metrics, UP), Some(0.0), "{}", metrics.render());
    assert_eq!(sample(&metrics, ERRORS), Some(1.0));

    // The connection manager reconnects by itself; the first operation that gets through
    // marks the store up again (the failures stay counted). A bounded retry: the reconnect
    // happens in the background, with no signal to wait on.
    server.restart();
    let mut failed = 1;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while store.get("k").await.is_err() {
        failed += 1;
        assert!(
            std::time::Instant::now() < deadline,
            "no reconnect within 10 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(sample(&metrics, UP), Some(1.0));
    assert_eq!(sample(&metrics, ERRORS), Some(f64::from(failed)));
}
