//! Behaviour of [`MemoryStore`] through the [`CounterStore`] trait, on a [`ManualClock`].

use std::num::NonZeroU64;
use std::time::Duration;

use super::{CounterStore, MemoryStore, Rate, StoreError};
use crate::clock::ManualClock;

mod concurrency;
mod counters;
mod gcra;
mod memory;

type Result = std::result::Result<(), StoreError>;

const MS: Duration = Duration::from_millis(1);

/// A store on a clock that moves only when the test says so.
fn store() -> (ManualClock, MemoryStore) {
    let clock = ManualClock::new();
    let store = MemoryStore::with_clock(clock.shared());
    (clock, store)
}

fn rate(limit: u64, period: Duration) -> Rate {
    Rate::new(NonZeroU64::new(limit).expect("non-zero limit"), period)
}

/// Ten per second: one unit every 100 ms.
fn ten_per_second() -> Rate {
    rate(10, Duration::from_secs(1))
}
