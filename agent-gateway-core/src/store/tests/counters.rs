use super::*;
use crate::store::WindowOutcome;

const MINUTE: Duration = Duration::from_secs(60);

#[tokio::test]
async fn incr_counts_until_the_window_opened_by_the_first_increment_ends() -> Result {
    let (clock, store) = store();
    assert_eq!(store.incr("k", 1, MINUTE).await?, 1);
    clock.advance(Duration::from_secs(30));
    // Later increments do not move the window's end.
    assert_eq!(store.incr("k", 2, MINUTE).await?, 3);
    clock.advance(Duration::from_secs(29));
    assert_eq!(store.incr("k", 1, MINUTE).await?, 4);
    assert_eq!(store.get("k").await?, 4);

    clock.advance(Duration::from_secs(1));
    assert_eq!(
        store.get("k").await?,
        0,
        "the window ended 60 s after it opened"
    );
    assert_eq!(store.incr("k", 5, MINUTE).await?, 5);
    clock.advance(Duration::from_secs(59));
    assert_eq!(
        store.get("k").await?,
        5,
        "the new window opened with that increment"
    );
    Ok(())
}

#[tokio::test]
async fn incr_within_is_all_or_nothing_and_reports_the_reset() -> Result {
    let (clock, store) = store();
    let first = store.incr_within("k", 7, 10, MINUTE).await?;
    assert_eq!(
        first,
        WindowOutcome {
            admitted: true,
            total: 7,
            remaining: 3,
            retry_after: Duration::ZERO,
            reset_after: MINUTE,
        }
    );

    clock.advance(Duration::from_secs(15));
    let denied = store.incr_within("k", 4, 10, MINUTE).await?;
    assert_eq!(
        denied,
        WindowOutcome {
            admitted: false,
            total: 7,
            remaining: 3,
            retry_after: Duration::from_secs(45),
            reset_after: Duration::from_secs(45),
        }
    );
    assert!(!denied.never_admitted());

    let exact = store.incr_within("k", 3, 10, MINUTE).await?;
    assert!(exact.admitted);
    assert_eq!((exact.total, exact.remaining), (10, 0));
    assert!(!store.incr_within("k", 1, 10, MINUTE).await?.admitted);
    assert!(store.incr_within("k", 0, 10, MINUTE).await?.admitted);

    clock.advance(Duration::from_secs(45));
    let fresh = store.incr_within("k", 1, 10, MINUTE).await?;
    assert!(fresh.admitted);
    assert_eq!((fresh.total, fresh.reset_after), (1, MINUTE));
    Ok(())
}

#[tokio::test]
async fn incr_within_never_exceeds_the_limit() -> Result {
    let (_clock, store) = store();
    let mut admitted_sum = 0;
    for i in 0..200u64 {
        let delta = i % 7 + 1;
        let out = store.incr_within("k", delta, 100, MINUTE).await?;
        assert!(out.total <= 100);
        if out.admitted {
            admitted_sum += delta;
        }
        assert_eq!(out.total, admitted_sum);
    }
    assert_eq!(store.get("k").await?, admitted_sum);
    assert!(
        admitted_sum > 100 - 7,
        "small deltas keep fitting until the end"
    );
    Ok(())
}

#[tokio::test]
async fn a_delta_above_the_limit_is_never_admitted_and_opens_no_window() -> Result {
    let (_clock, store) = store();
    let out = store.incr_within("k", 11, 10, MINUTE).await?;
    assert_eq!(
        out,
        WindowOutcome {
            admitted: false,
            total: 0,
            remaining: 10,
            retry_after: Duration::MAX,
            reset_after: Duration::ZERO,
        }
    );
    assert!(out.never_admitted());
    assert!(store.is_empty());
    Ok(())
}

#[tokio::test]
async fn a_limited_counter_that_never_expires_reports_that_waiting_cannot_help() -> Result {
    let (_clock, store) = store();
    store.add("run:7:steps", 5, None).await?;
    let out = store.incr_within("run:7:steps", 1, 5, MINUTE).await?;
    assert!(!out.admitted);
    assert_eq!(out.reset_after, Duration::MAX);
    assert!(out.never_admitted());
    assert!(
        store
            .incr_within("run:7:steps", 0, 5, MINUTE)
            .await?
            .admitted
    );
    Ok(())
}

#[tokio::test]
async fn add_without_ttl_never_expires() -> Result {
    let (clock, store) = store();
    assert_eq!(store.add("spend", 5, None).await?, 5);
    assert_eq!(store.add("spend", 7, None).await?, 12);
    clock.advance(Duration::from_secs(1000 * 86_400));
    assert_eq!(store.get("spend").await?, 12);
    assert_eq!(store.add("spend", u64::MAX, None).await?, u64::MAX);
    Ok(())
}

#[tokio::test]
async fn add_ttl_applies_only_to_a_new_key() -> Result {
    let (clock, store) = store();
    let ten_s = Duration::from_secs(10);
    assert_eq!(store.add("spend", 1, Some(ten_s)).await?, 1);
    clock.advance(Duration::from_secs(5));
    assert_eq!(store.add("spend", 1, Some(ten_s)).await?, 2);
    assert_eq!(store.add("spend", 1, None).await?, 3);
    clock.advance(Duration::from_secs(5));
    assert_eq!(store.get("spend").await?, 0);
    assert_eq!(store.add("spend", 4, Some(ten_s)).await?, 4);
    Ok(())
}

#[tokio::test]
async fn a_zero_ttl_counts_nothing_beyond_the_call() -> Result {
    let (_clock, store) = store();
    assert_eq!(store.incr("k", 3, Duration::ZERO).await?, 3);
    assert_eq!(store.incr("k", 3, Duration::ZERO).await?, 3);
    assert_eq!(store.get("k").await?, 0);
    Ok(())
}

#[tokio::test]
async fn get_of_a_missing_key_is_zero_and_reset_deletes_any_key() -> Result {
    let (_clock, store) = store();
    assert_eq!(store.get("missing").await?, 0);
    let rate = ten_per_second();
    store.add("counter", 9, None).await?;
    store.take("bucket", 10, rate).await?;
    store.reset("counter").await?;
    store.reset("bucket").await?;
    store.reset("missing").await?;
    assert_eq!(store.get("counter").await?, 0);
    assert!(store.take("bucket", 10, rate).await?.allowed);
    assert_eq!(store.len(), 1);
    Ok(())
}

#[tokio::test]
async fn keys_are_independent() -> Result {
    let (_clock, store) = store();
    let rate = ten_per_second();
    assert!(store.take("alice", 10, rate).await?.allowed);
    assert!(!store.take("alice", 1, rate).await?.allowed);
    assert_eq!(store.take("bob", 1, rate).await?.remaining, 9);

    assert!(store.incr_within("x", 10, 10, MINUTE).await?.admitted);
    assert!(!store.incr_within("x", 1, 10, MINUTE).await?.admitted);
    assert_eq!(store.incr_within("y", 1, 10, MINUTE).await?.total, 1);

    store.reset("alice").await?;
    assert!(!store.incr_within("x", 1, 10, MINUTE).await?.admitted);
    assert_eq!(store.take("bob", 0, rate).await?.remaining, 9);
    Ok(())
}
