//! Atomic counters that quotas, spend budgets and run budgets all stand on, behind one trait.
//!
//! ```
//! use std::num::NonZeroU64;
//! use std::time::Duration;
//! use agent_gateway_core::clock::ManualClock;
//! use agent_gateway_core::store::{CounterStore, MemoryStore, Rate};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), agent_gateway_core::store::StoreError> {
//! let clock = ManualClock::new();
//! let store = MemoryStore::with_clock(clock.shared());
//! // Two calls per second, and both may come at once.
//! let rate = Rate::per_second(NonZeroU64::new(2).expect("non-zero"));
//!
//! assert!(store.take("alice", 1, rate).await?.allowed);
//! assert!(store.take("alice", 1, rate).await?.allowed);
//!
//! let denied = store.take("alice", 1, rate).await?;
//! assert!(!denied.allowed);
//! assert_eq!(denied.retry_after, Duration::from_millis(500));
//!
//! clock.advance(Duration::from_millis(500));
//! assert!(store.take("alice", 1, rate).await?.allowed);
//! # Ok(())
//! # }
//! ```
//!
//! # One atomic operation per decision
//!
//! A limit checked with "read the counter, compare, then write it back" is not a limit. Two
//! requests that arrive together both read 99 under a limit of 100, both decide they fit, and
//! both write; with several gateway replicas sharing one store the window for this is a network
//! round trip wide. So every method of [`CounterStore`] is a whole decision: the comparison and
//! the write happen in one step where the state lives (under a lock in [`MemoryStore`], inside
//! one script on a Redis server), and the caller only learns the verdict. The outcome is the same
//! as if all requests had been handled one after the other.
//!
//! The methods are also chosen so that each one is a short, integer-only computation on one key,
//! which a Lua script can reproduce step for step. Their docs state the arithmetic exactly.
//!
//! # Fixed windows and GCRA
//!
//! Two families of limits are offered, because they answer different questions.
//!
//! - **Fixed windows** ([`incr`](CounterStore::incr), [`incr_within`](CounterStore::incr_within))
//!   count what happened since the window opened and forget it when it closes. They are exact
//!   accounting: "a million tokens per day" is a number someone can check against a bill. The
//!   cost is that a client may spend a whole window's allowance at the end of one window and
//!   again at the start of the next, and that everyone who was refused retries at the same
//!   instant, when the window resets.
//! - **GCRA** ([`take`](CounterStore::take), [`settle`](CounterStore::settle)), the generic cell
//!   rate algorithm, is a token bucket kept as a single timestamp per key: the theoretical arrival
//!   time (TAT) at which the bucket would be full again. Capacity comes back smoothly, one unit
//!   every emission interval, so a burst is bounded by the configured limit at any moment, the
//!   retry-after is exact for every caller, and a key whose TAT has passed carries no information
//!   and simply expires. This is the right tool for request rates.
//!
//! Spend and run budgets use the plain accumulators ([`add`](CounterStore::add),
//! [`get`](CounterStore::get)), because they are charged after the fact, once the cost is known.
//!
//! # Time
//!
//! Every duration a store takes or returns is measured on the store's own clock. [`MemoryStore`]
//! reads the monotonic [`Clock::now`](crate::clock::Clock::now) of the clock it was given, so a
//! test drives it with a [`ManualClock`](crate::clock::ManualClock) and never sleeps. A shared
//! store uses its server's clock, so that replicas whose clocks disagree still agree on limits.
//! [`MemoryStore`] counts in nanoseconds; a store with a coarser unit rounds emission intervals
//! up to it.
//!
//! # Keys
//!
//! All operations share one key space. A key is meant to be used by one family of operations
//! only: counters ([`add`](CounterStore::add), [`incr`](CounterStore::incr),
//! [`incr_within`](CounterStore::incr_within), [`get`](CounterStore::get)) or GCRA
//! ([`take`](CounterStore::take), [`settle`](CounterStore::settle)). Using one key with both is
//! a caller bug and its result is unspecified. Prefix keys by policy and subject
//! (`quota:rpm:alice`) to keep them apart.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

mod error;
mod gcra;
mod memory;
mod outcome;
mod rate;
mod shard;

#[cfg(test)]
mod tests;

pub use error::StoreError;
pub use memory::MemoryStore;
pub use outcome::{Take, WindowOutcome};
pub use rate::Rate;

/// A shared, type-erased counter store, as layers hold it.
pub type SharedStore = Arc<dyn CounterStore>;

/// Atomic counters: fixed windows, GCRA rate limits and accumulators.
///
/// Each method is one atomic decision on one key; see the [module docs](self) for why, and for
/// the time and key conventions. Every method may fail with a [`StoreError`], on which a policy
/// layer fails closed unless it was configured to fail open.
///
/// The trait is object safe: layers hold it as a [`SharedStore`]. `Arc<S>` implements it too, so
/// code generic over `S: CounterStore` accepts a [`SharedStore`].
#[async_trait]
pub trait CounterStore: std::fmt::Debug + Send + Sync + 'static {
    /// Adds `delta` to an accumulator and returns the new total.
    ///
    /// If the key is new (or has expired), it starts at `delta`, and `ttl` sets when it expires:
    /// `Some(ttl)` ends it `ttl` after this call, `None` keeps it until [`reset`](Self::reset).
    /// On an existing key `ttl` is ignored, so a budget period is not extended by spending in it.
    /// The total saturates at `u64::MAX`. A zero `ttl` makes a key that is already expired: the
    /// call returns `delta` and the next one starts afresh.
    ///
    /// Spend budgets count nano-dollars this way.
    async fn add(&self, key: &str, delta: u64, ttl: Option<Duration>) -> Result<u64, StoreError>;

    /// Fixed-window counter: adds `delta` and returns the new total in the current window.
    ///
    /// The window opens at the first increment of a fresh key and lasts `window`; when it ends the
    /// key expires and the next increment opens a new one. This is exactly
    /// [`add`](Self::add)`(key, delta, Some(window))`, which is what the provided method does.
    async fn incr(&self, key: &str, delta: u64, window: Duration) -> Result<u64, StoreError> {
        self.add(key, delta, Some(window)).await
    }

    /// Fixed-window counter with a limit: adds `delta` only if the total stays within `limit`.
    ///
    /// All or nothing: with `total` the current count (0 for a fresh or expired key), the call is
    /// admitted when `total + delta <= limit` and then behaves exactly like
    /// [`incr`](Self::incr) (opening the window on a fresh key); otherwise nothing changes, and
    /// no window is opened. Exact request and token limits use this, so that concurrent requests
    /// can never push the count past the limit.
    ///
    /// The outcome's `retry_after` is zero when admitted, the time until the window ends when
    /// denied, and `Duration::MAX` when waiting cannot help: `delta > limit`, or the key never
    /// expires (it was created by [`add`](Self::add) with no ttl).
    async fn incr_within(
        &self,
        key: &str,
        delta: u64,
        limit: u64,
        window: Duration,
    ) -> Result<WindowOutcome, StoreError>;

    /// The current total of a counter: 0 if the key is missing or has expired.
    async fn get(&self, key: &str) -> Result<u64, StoreError>;

    /// GCRA: takes `n` units from the key's bucket if they are all available now.
    ///
    /// With `T` the [emission interval](Rate::emission_interval), `L` the rate's limit and
    /// `now` the store's clock, the arithmetic is, in integers:
    ///
    /// - `tat = max(stored TAT, now)` (a missing key counts as `now`);
    /// - if `n > L`: denied with `retry_after = Duration::MAX`, as no wait could allow it;
    /// - `new_tat = tat + n * T`; if `new_tat - now > L * T`: denied, with
    ///   `retry_after = new_tat - now - L * T`, and the state is unchanged;
    /// - otherwise allowed and the key's TAT becomes `new_tat`, expiring at that instant.
    ///
    /// With `used = TAT - now` after the call (zero for a missing key), `remaining` is
    /// `(L * T - used) / T`, rounded down and never below zero: the most units a take right
    /// after this one could get. `reset_after` is `used`, the time until the bucket is full
    /// again.
    ///
    /// `n = 0` never changes the state, so it serves as a peek. It is allowed unless the key is
    /// in debt after a [`settle`](Self::settle), in which case its `retry_after` is the time
    /// until the debt is paid off.
    async fn take(&self, key: &str, n: u64, rate: Rate) -> Result<Take, StoreError>;

    /// GCRA: reconciles a key after the fact by `delta` units, with no admission check.
    ///
    /// Token limits admit a call on an estimate and learn the real usage only when the response
    /// ends; this settles the difference. A positive `delta` charges unconditionally,
    /// `TAT = max(TAT, now) + delta * T`, and may push the key into debt so that the next takes
    /// wait for it. A negative `delta` refunds, `TAT = max(TAT - |delta| * T, now)`, and a TAT
    /// that reaches `now` deletes the key; a refund on a missing key does nothing.
    async fn settle(&self, key: &str, delta: i64, rate: Rate) -> Result<(), StoreError>;

    /// Deletes the key, whatever it holds.
    async fn reset(&self, key: &str) -> Result<(), StoreError>;
}

#[async_trait]
impl<S: CounterStore + ?Sized> CounterStore for Arc<S> {
    async fn add(&self, key: &str, delta: u64, ttl: Option<Duration>) -> Result<u64, StoreError> {
        (**self).add(key, delta, ttl).await
    }

    async fn incr(&self, key: &str, delta: u64, window: Duration) -> Result<u64, StoreError> {
        (**self).incr(key, delta, window).await
    }

    async fn incr_within(
        &self,
        key: &str,
        delta: u64,
        limit: u64,
        window: Duration,
    ) -> Result<WindowOutcome, StoreError> {
        (**self).incr_within(key, delta, limit, window).await
    }

    async fn get(&self, key: &str) -> Result<u64, StoreError> {
        (**self).get(key).await
    }

    async fn take(&self, key: &str, n: u64, rate: Rate) -> Result<Take, StoreError> {
        (**self).take(key, n, rate).await
    }

    async fn settle(&self, key: &str, delta: i64, rate: Rate) -> Result<(), StoreError> {
        (**self).settle(key, delta, rate).await
    }

    async fn reset(&self, key: &str) -> Result<(), StoreError> {
        (**self).reset(key).await
    }
}
