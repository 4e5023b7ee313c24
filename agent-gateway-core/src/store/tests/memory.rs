use std::sync::Arc;

use super::*;
use crate::BoxError;
use crate::store::SharedStore;

/// A one-shard store, so that a test can tell which entries a call's sweep reaches.
fn one_shard() -> (ManualClock, MemoryStore) {
    let clock = ManualClock::new();
    let store = MemoryStore::with_shards(clock.shared(), 1);
    (clock, store)
}

#[tokio::test]
async fn an_expired_key_is_dropped_when_touched() -> Result {
    let (clock, store) = store();
    store.add("a", 1, Some(Duration::from_secs(1))).await?;
    store.add("b", 1, None).await?;
    assert_eq!(store.len(), 2);
    clock.advance(Duration::from_secs(1));
    assert_eq!(store.get("a").await?, 0);
    assert_eq!(store.len(), 1);
    Ok(())
}

#[tokio::test]
async fn calls_on_other_keys_sweep_expired_ones_a_few_at_a_time() -> Result {
    let (clock, store) = one_shard();
    store.add("live", 1, None).await?;
    for i in 0..40 {
        store
            .incr(&format!("gone{i}"), 1, Duration::from_secs(1))
            .await?;
        store.take(&format!("tat{i}"), 1, ten_per_second()).await?;
    }
    assert_eq!(store.len(), 81);
    clock.advance(Duration::from_secs(1));
    assert_eq!(store.len(), 81, "nothing is dropped until a call runs");

    store.get("live").await?;
    // Eight steps, at most one of them spent passing "live".
    let after_one = store.len();
    assert!((73..=74).contains(&after_one), "len {after_one}");

    for _ in 0..10 {
        store.get("live").await?;
    }
    assert_eq!(store.len(), 1);
    assert_eq!(store.get("live").await?, 1);
    Ok(())
}

#[tokio::test]
async fn purge_expired_drops_everything_expired_at_once() -> Result {
    let (clock, store) = store();
    for i in 0..50 {
        store
            .add(&format!("k{i}"), 1, Some(Duration::from_secs(1)))
            .await?;
    }
    store.add("kept", 1, Some(Duration::from_secs(2))).await?;
    clock.advance(Duration::from_secs(1));
    assert_eq!(store.purge_expired(), 50);
    assert_eq!(store.len(), 1);
    assert_eq!(store.purge_expired(), 0);
    Ok(())
}

#[tokio::test]
async fn clones_share_state() -> Result {
    let (_clock, store) = store();
    let other = store.clone();
    store.add("k", 2, None).await?;
    assert_eq!(other.add("k", 3, None).await?, 5);
    Ok(())
}

async fn twice<S: CounterStore>(store: &S) -> std::result::Result<u64, StoreError> {
    store.add("generic", 1, None).await?;
    store.incr("generic", 1, Duration::from_secs(1)).await
}

#[tokio::test]
async fn works_as_a_trait_object_and_through_arc() -> Result {
    let (_clock, store) = store();
    let shared: SharedStore = Arc::new(store.clone());
    assert_eq!(twice(&shared).await?, 2);
    assert_eq!(twice(&Arc::new(store.clone())).await?, 4);
    assert_eq!(store.get("generic").await?, 4);
    assert!(format!("{shared:?}").starts_with("MemoryStore"));
    Ok(())
}

#[test]
fn store_errors_keep_their_source() {
    use std::error::Error as _;

    let err = StoreError::unavailable(std::io::Error::other("connection refused"));
    assert_eq!(err.to_string(), "counter store unavailable");
    let source = err.source().map(ToString::to_string);
    assert_eq!(source.as_deref(), Some("connection refused"));

    let boxed: BoxError = Box::new(StoreError::unavailable("redis is down"));
    assert!(matches!(
        boxed.downcast_ref::<StoreError>(),
        Some(StoreError::Unavailable { .. })
    ));
    assert_eq!(StoreError::Timeout.to_string(), "counter store timed out");
}
