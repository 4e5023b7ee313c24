//! The Redis store against a real `redis-server`: each operation follows the arithmetic that
//! `CounterStore` documents (and `MemoryStore` implements), with server time.
#![cfg(feature = "redis")]

mod redis_support;

use std::num::NonZeroU64;
use std::time::{Duration, Instant};

use agent_gateway_core::store::{CounterStore, Rate, StoreError};
use agent_gateway_policy::redis::RedisStore;
use redis_support::RedisServer;

type Result = std::result::Result<(), StoreError>;

const HOUR: Duration = Duration::from_secs(3600);

fn per_hour(limit: u64) -> Rate {
    Rate::per_hour(NonZeroU64::new(limit).expect("non-zero"))
}

async fn store(server: &RedisServer) -> RedisStore {
    RedisStore::connect(&server.url())
        .await
        .expect("connect to redis-server")
}

/// Asserts that `got` is `expected` less at most `elapsed`: the server's clock moved on by at
/// most the real time the test took since the state was written.
#[track_caller]
fn near(got: Duration, expected: Duration, since: Instant) {
    let slack = since.elapsed() + Duration::from_millis(1);
    assert!(
        got <= expected && got + slack >= expected,
        "{got:?} is not within {slack:?} below {expected:?}"
    );
}

#[tokio::test]
async fn take_follows_gcra_on_server_time() -> Result {
    let Some(_) = redis_support::installed() else {
        return Ok(());
    };
    let server = RedisServer::start();
    let store = store(&server).await;
    let rate = per_hour(2); // one unit back every 30 minutes

    let peek = store.take("k", 0, rate).await?;
    assert!(peek.allowed);
    assert_eq!((peek.remaining, peek.reset_after), (2, Duration::ZERO));

    let start = Instant::now();
    let first = store.take("k", 1, rate).await?;
    assert!(first.allowed);
    assert_eq!(first.remaining, 1);
    near(first.reset_after, HOUR / 2, start);

    let second = store.take("k", 1, rate).await?;
    assert!(second.allowed);
    assert_eq!(second.remaining, 0);
    near(second.reset_after, HOUR, start);

    let denied = store.take("k", 1, rate).await?;
    assert!(!denied.allowed && !denied.never_allowed());
    assert_eq!(denied.remaining, 0);
    near(denied.retry_after, HOUR / 2, start);
    near(denied.reset_after, HOUR, start);

    let never = store.take("k", 3, rate).await?;
    assert!(never.never_allowed());
    assert_eq!(never.retry_after, Duration::MAX);

    // A denial changed nothing.
    near(store.take("k", 0, rate).await?.reset_after, HOUR, start);
    // Another key is untouched.
    assert_eq!(store.take("other", 2, rate).await?.remaining, 0);
    Ok(())
}

#[tokio::test]
async fn settle_charges_into_debt_and_refunds_down_to_nothing() -> Result {
    let Some(_) = redis_support::installed() else {
        return Ok(());
    };
    let server = RedisServer::start();
    let store = store(&server).await;
    let rate = per_hour(10); // 6 minutes per unit

    store.settle("k", -1, rate).await?; // a refund on a missing key does nothing
    assert_eq!(store.take("k", 0, rate).await?.reset_after, Duration::ZERO);

    let start = Instant::now();
    store.settle("k", 3, rate).await?;
    let peek = store.take("k", 0, rate).await?;
    assert!(peek.allowed);
    assert_eq!(peek.remaining, 7);
    near(peek.reset_after, Duration::from_secs(3 * 360), start);

    store.settle("k", 10, rate).await?; // 13 units used of 10: in debt by 3
    let in_debt = store.take("k", 0, rate).await?;
    assert!(!in_debt.allowed);
    assert_eq!(in_debt.remaining, 0);
    near(in_debt.retry_after, Duration::from_secs(3 * 360), start);

    store.settle("k", -5, rate).await?;
    let peek = store.take("k", 0, rate).await?;
    assert!(peek.allowed);
    assert_eq!(peek.remaining, 2);

    store.settle("k", i64::MIN, rate).await?;
    let empty = store.take("k", 0, rate).await?;
    assert_eq!((empty.remaining, empty.reset_after), (10, Duration::ZERO));
    Ok(())
}

#[tokio::test]
async fn add_accumulates_exactly_and_keeps_its_first_ttl() -> Result {
    let Some(_) = redis_support::installed() else {
        return Ok(());
    };
    let server = RedisServer::start();
    let store = store(&server).await;

    assert_eq!(store.add("spend", 5, Some(HOUR)).await?, 5);
    assert_eq!(
        store
            .add("spend", 7, Some(Duration::from_millis(1)))
            .await?,
        12
    );
    // The second ttl was ignored: a window still about an hour long is open.
    let window = store.incr_within("spend", 0, 100, HOUR).await?;
    assert!(window.admitted);
    assert!(
        window.reset_after > HOUR - Duration::from_secs(60),
        "{window:?}"
    );

    // Integers beyond what a double holds stay exact.
    let big = (1u64 << 53) + 1;
    assert_eq!(store.add("big", big, None).await?, big);
    assert_eq!(store.add("big", big, None).await?, 2 * big);
    assert_eq!(store.get("big").await?, 2 * big);
    // And a total saturates instead of wrapping.
    assert_eq!(store.add("big", u64::MAX, None).await?, i64::MAX as u64);

    // No ttl: the key never expires, so waiting cannot help a full window.
    let full = store.incr_within("big", 1, 10, HOUR).await?;
    assert!(full.never_admitted());
    assert_eq!(full.reset_after, Duration::MAX);

    // A zero ttl makes a key that is gone at once.
    assert_eq!(store.add("flash", 4, Some(Duration::ZERO)).await?, 4);
    assert_eq!(store.get("flash").await?, 0);
    assert_eq!(store.add("flash", 1, Some(Duration::ZERO)).await?, 1);
    Ok(())
}

#[tokio::test]
async fn incr_within_is_all_or_nothing_and_windows_expire() -> Result {
    let Some(_) = redis_support::installed() else {
        return Ok(());
    };
    let server = RedisServer::start();
    let store = store(&server).await;
    let minute = Duration::from_secs(60);

    let start = Instant::now();
    let first = store.incr_within("w", 7, 10, minute).await?;
    assert!(first.admitted);
    assert_eq!(
        (first.total, first.remaining, first.retry_after),
        (7, 3, Duration::ZERO)
    );
    near(first.reset_after, minute, start);

    let denied = store.incr_within("w", 4, 10, minute).await?;
    assert!(!denied.admitted && !denied.never_admitted());
    assert_eq!((denied.total, denied.remaining), (7, 3));
    near(denied.retry_after, minute, start);
    assert_eq!(denied.retry_after, denied.reset_after);

    let too_big = store.incr_within("w", 11, 10, minute).await?;
    assert!(too_big.never_admitted());
    assert_eq!(too_big.total, 7);

    let last = store.incr_within("w", 3, 10, minute).await?;
    assert!(last.admitted);
    assert_eq!((last.total, last.remaining), (10, 0));
    assert_eq!(store.get("w").await?, 10);

    // A denial on a fresh key opens no window.
    let fresh = store.incr_within("fresh", 11, 10, minute).await?;
    assert_eq!((fresh.total, fresh.reset_after), (0, Duration::ZERO));
    assert_eq!(store.get("fresh").await?, 0);

    // Limits beyond 2^53 compare exactly.
    let limit = 1u64 << 60;
    let near_limit = store.incr_within("huge", limit - 1, limit, minute).await?;
    assert_eq!((near_limit.total, near_limit.remaining), (limit - 1, 1));
    assert!(!store.incr_within("huge", 2, limit, minute).await?.admitted);
    assert_eq!(
        store.incr_within("huge", 1, limit, minute).await?.total,
        limit
    );

    // A short window ends on the server's clock (polled, bounded).
    assert!(
        store
            .incr_within("short", 1, 1, Duration::from_millis(30))
            .await?
            .admitted
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while store.get("short").await? != 0 {
        assert!(Instant::now() < deadline, "the 30 ms window never ended");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        store
            .incr_within("short", 1, 1, Duration::from_millis(30))
            .await?
            .admitted
    );
    Ok(())
}

#[tokio::test]
async fn keys_are_prefixed_and_reset_deletes_them() -> Result {
    let Some(_) = redis_support::installed() else {
        return Ok(());
    };
    let server = RedisServer::start();
    let plain = store(&server).await;
    let prefixed = store(&server).await.with_prefix("gw1:");
    assert_eq!(prefixed.prefix(), "gw1:");

    prefixed.add("n", 3, None).await?;
    assert_eq!(plain.get("gw1:n").await?, 3);
    assert_eq!(plain.get("n").await?, 0);

    prefixed.reset("n").await?;
    assert_eq!(plain.get("gw1:n").await?, 0);
    prefixed.reset("missing").await?;
    Ok(())
}

#[tokio::test]
async fn a_dead_server_is_an_error_within_the_timeout() {
    let Some(_) = redis_support::installed() else {
        return;
    };
    let mut server = RedisServer::start();
    let store = store(&server)
        .await
        .with_timeout(Duration::from_millis(200));
    assert_eq!(store.timeout(), Duration::from_millis(200));
    assert!(store.get("k").await.is_ok());
    server.kill();
    for _ in 0..3 {
        let start = Instant::now();
        let err = store
            .take("k", 1, per_hour(5))
            .await
            .expect_err("the server is down");
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "took {:?}",
            start.elapsed()
        );
        assert!(
            matches!(err, StoreError::Timeout | StoreError::Unavailable { .. }),
            "{err:?}"
        );
    }
    let refused = RedisStore::connect(&server.url()).await;
    assert!(refused.is_err(), "connect to a dead server must fail");
}
