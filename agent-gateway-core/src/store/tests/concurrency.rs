//! Many tasks on several threads racing for one key get exactly the limit, never more or less.

use std::sync::Arc;

use tokio::sync::Barrier;

use super::*;
use crate::store::SharedStore;

const TASKS: usize = 64;
const ATTEMPTS: usize = 1000;
const LIMIT: u64 = 100;

/// Runs `ATTEMPTS` calls of `attempt` spread over `TASKS` tasks that start together, and counts
/// the successes.
async fn race<F, Fut>(store: SharedStore, attempt: F) -> std::result::Result<u64, StoreError>
where
    F: Fn(SharedStore) -> Fut + Copy + Send + 'static,
    Fut: std::future::Future<Output = std::result::Result<bool, StoreError>> + Send,
{
    let barrier = Arc::new(Barrier::new(TASKS));
    let mut tasks = Vec::with_capacity(TASKS);
    for t in 0..TASKS {
        let attempts = ATTEMPTS / TASKS + usize::from(t < ATTEMPTS % TASKS);
        let (store, barrier) = (store.clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let mut granted = 0u64;
            for _ in 0..attempts {
                if attempt(store.clone()).await? {
                    granted += 1;
                }
                tokio::task::yield_now().await;
            }
            Ok::<_, StoreError>(granted)
        }));
    }
    let mut granted = 0;
    for task in tasks {
        granted += task.await.map_err(StoreError::unavailable)??;
    }
    Ok(granted)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_takes_grant_exactly_the_limit() -> Result {
    let (_clock, store) = store();
    let shared: SharedStore = Arc::new(store);
    let rate = rate(LIMIT, Duration::from_secs(3600));
    let granted = race(shared.clone(), move |s| async move {
        Ok(s.take("hot", 1, rate).await?.allowed)
    })
    .await?;
    assert_eq!(granted, LIMIT);
    let after = shared.take("hot", 0, rate).await?;
    assert_eq!(after.remaining, 0);
    assert_eq!(after.reset_after, Duration::from_secs(3600));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_incr_within_grants_exactly_the_limit() -> Result {
    let (_clock, store) = store();
    let shared: SharedStore = Arc::new(store);
    let window = Duration::from_secs(60);
    let granted = race(shared.clone(), move |s| async move {
        Ok(s.incr_within("hot", 1, LIMIT, window).await?.admitted)
    })
    .await?;
    assert_eq!(granted, LIMIT);
    assert_eq!(shared.get("hot").await?, LIMIT);
    Ok(())
}
