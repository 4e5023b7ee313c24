//! Helpers shared by the criterion benches in `benches/benches/`.
//!
//! Every bench measures a piece against a bare baseline in the same run, so the numbers are
//! read as ratios, not as absolute times on a noisy machine.
//!
//! ```
//! let v = agent_gateway_benches::poll_ready(async { 40 + 2 });
//! assert_eq!(v, 42);
//! ```

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// Polls a future that completes without waiting, such as an in-memory store operation, and
/// returns its output. Panics if the future would wait: that is a bench set up wrong.
pub fn poll_ready<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    match fut.as_mut().poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("poll_ready: the future is not immediately ready"),
    }
}

pub mod load;
