use super::*;
use crate::store::Take;

#[test]
fn emission_interval_is_period_over_limit_rounded_up() {
    assert_eq!(ten_per_second().emission_interval(), 100 * MS);
    assert_eq!(
        rate(3, Duration::from_secs(1)).emission_interval(),
        Duration::from_nanos(333_333_334)
    );
    assert_eq!(
        rate(5, Duration::ZERO).emission_interval(),
        Duration::from_nanos(1)
    );
}

#[tokio::test]
async fn a_burst_of_limit_is_allowed_then_denied_with_the_exact_retry_after() -> Result {
    let (_clock, store) = store();
    let rate = ten_per_second();
    for i in 1..=10u32 {
        let take = store.take("k", 1, rate).await?;
        let expected = Take {
            allowed: true,
            remaining: u64::from(10 - i),
            retry_after: Duration::ZERO,
            reset_after: i * 100 * MS,
        };
        assert_eq!(take, expected, "take {i}");
    }
    let denied = store.take("k", 1, rate).await?;
    assert_eq!(
        denied,
        Take {
            allowed: false,
            remaining: 0,
            retry_after: 100 * MS,
            reset_after: Duration::from_secs(1),
        }
    );
    assert!(!denied.never_allowed());
    Ok(())
}

#[tokio::test]
async fn one_more_is_allowed_after_exactly_one_emission_interval() -> Result {
    let (clock, store) = store();
    let rate = ten_per_second();
    assert!(store.take("k", 10, rate).await?.allowed);

    clock.advance(99 * MS);
    let early = store.take("k", 1, rate).await?;
    assert!(!early.allowed);
    assert_eq!(early.retry_after, MS);

    clock.advance(MS);
    let on_time = store.take("k", 1, rate).await?;
    assert!(on_time.allowed);
    assert_eq!(on_time.remaining, 0);
    assert_eq!(on_time.reset_after, Duration::from_secs(1));

    let again = store.take("k", 1, rate).await?;
    assert!(!again.allowed);
    assert_eq!(again.retry_after, 100 * MS);
    Ok(())
}

#[tokio::test]
async fn a_take_of_n_is_all_or_nothing() -> Result {
    let (_clock, store) = store();
    let rate = ten_per_second();
    let first = store.take("k", 8, rate).await?;
    assert!(first.allowed);
    assert_eq!(first.remaining, 2);

    let too_many = store.take("k", 5, rate).await?;
    assert!(!too_many.allowed);
    assert_eq!(too_many.remaining, 2);
    assert_eq!(too_many.retry_after, 300 * MS);
    assert_eq!(too_many.reset_after, 800 * MS);

    // The denied take consumed nothing: the two that are left are still there.
    let rest = store.take("k", 2, rate).await?;
    assert!(rest.allowed);
    assert_eq!(rest.remaining, 0);
    Ok(())
}

#[tokio::test]
async fn more_than_the_limit_is_never_allowed_and_consumes_nothing() -> Result {
    let (clock, store) = store();
    let rate = ten_per_second();
    let take = store.take("k", 11, rate).await?;
    assert_eq!(
        take,
        Take {
            allowed: false,
            remaining: 10,
            retry_after: Duration::MAX,
            reset_after: Duration::ZERO,
        }
    );
    assert!(take.never_allowed());
    clock.advance(Duration::from_secs(3600));
    assert!(store.take("k", 11, rate).await?.never_allowed());
    assert!(store.take("k", 10, rate).await?.allowed);
    Ok(())
}

#[tokio::test]
async fn a_take_of_zero_peeks_without_consuming() -> Result {
    let (_clock, store) = store();
    let rate = ten_per_second();
    store.take("k", 3, rate).await?;
    for _ in 0..3 {
        let peek = store.take("k", 0, rate).await?;
        assert!(peek.allowed);
        assert_eq!(peek.remaining, 7);
        assert_eq!(peek.reset_after, 300 * MS);
    }
    Ok(())
}

#[tokio::test]
async fn capacity_comes_back_one_unit_per_interval_and_the_key_expires_when_full() -> Result {
    let (clock, store) = store();
    let rate = ten_per_second();
    store.take("k", 10, rate).await?;
    clock.advance(350 * MS);
    assert_eq!(store.take("k", 0, rate).await?.remaining, 3);
    assert!(!store.take("k", 4, rate).await?.allowed);
    clock.advance(650 * MS);
    let full = store.take("k", 0, rate).await?;
    assert_eq!(full.remaining, 10);
    assert_eq!(full.reset_after, Duration::ZERO);
    assert_eq!(store.len(), 0, "a TAT that has passed is dropped");
    Ok(())
}

#[tokio::test]
async fn settle_positive_charges_into_debt_and_delays_the_next_take() -> Result {
    let (clock, store) = store();
    let rate = ten_per_second();
    // Admitted on an estimate of 1 token; the response used 21.
    assert!(store.take("k", 1, rate).await?.allowed);
    store.settle("k", 20, rate).await?;

    let denied = store.take("k", 1, rate).await?;
    assert!(!denied.allowed);
    assert_eq!(denied.remaining, 0);
    assert_eq!(denied.reset_after, 2_100 * MS);
    assert_eq!(denied.retry_after, 1_200 * MS);

    clock.advance(1_199 * MS);
    assert!(!store.take("k", 1, rate).await?.allowed);
    clock.advance(MS);
    assert!(store.take("k", 1, rate).await?.allowed);
    Ok(())
}

#[tokio::test]
async fn settle_positive_on_a_fresh_key_charges_from_now() -> Result {
    let (_clock, store) = store();
    let rate = ten_per_second();
    store.settle("k", 4, rate).await?;
    let peek = store.take("k", 0, rate).await?;
    assert_eq!(peek.remaining, 6);
    assert_eq!(peek.reset_after, 400 * MS);
    Ok(())
}

#[tokio::test]
async fn settle_negative_refunds_but_never_below_now() -> Result {
    let (_clock, store) = store();
    let rate = ten_per_second();
    assert!(store.take("k", 10, rate).await?.allowed);
    store.settle("k", -4, rate).await?;
    assert_eq!(store.take("k", 0, rate).await?.remaining, 4);

    // A refund bigger than what was used cannot bank credit beyond a full bucket.
    store.settle("k", -100, rate).await?;
    assert_eq!(store.len(), 0);
    assert!(store.take("k", 10, rate).await?.allowed);
    assert!(!store.take("k", 1, rate).await?.allowed);

    // Refunding a key that holds nothing does nothing.
    store.settle("fresh", -5, rate).await?;
    assert_eq!(store.take("fresh", 0, rate).await?.remaining, 10);
    store.settle("fresh", 0, rate).await?;
    assert_eq!(store.len(), 1);
    Ok(())
}
