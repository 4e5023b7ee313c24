use std::error::Error;
use std::fmt;
use std::sync::{Arc, Mutex};

use crate::Usage;
use crate::error::cause_ref;
use crate::upstream::timeout::Elapsed;

/// How a response ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The response, or its stream, ran to the end.
    Complete,
    /// The stream stopped early on the client's side: the client went away (the body was
    /// dropped before its end). The usage is what was seen up to that point.
    Aborted,
    /// The stream stopped early on the upstream's side: it failed mid-stream, for the reason
    /// given. The usage is what was seen up to that point.
    Failed(Failure),
}

/// Why an upstream's stream failed before its end, as audit and telemetry name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    /// The upstream went silent past its timeout.
    Timeout,
    /// The connection to the upstream broke.
    Unavailable,
    /// The upstream ended the stream with an error of its own, or sent what the gateway could
    /// not read.
    Upstream,
}

impl Failure {
    /// The stable snake_case name: `timeout`, `unavailable` or `upstream`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Failure::Timeout => "timeout",
            Failure::Unavailable => "unavailable",
            Failure::Upstream => "upstream",
        }
    }

    /// The failure an error ending a stream stands for: the one its
    /// [`UpstreamError`](super::UpstreamError) tag names, if a protocol tagged it;
    /// [`Timeout`](Failure::Timeout) when a core timeout ([`Elapsed`]) is in its chain;
    /// [`Upstream`](Failure::Upstream) otherwise.
    ///
    /// ```
    /// use agent_gateway_core::response::{Failure, UpstreamError};
    ///
    /// let reset: agent_gateway_core::BoxError = "connection reset".into();
    /// assert_eq!(Failure::of(reset.as_ref()), Failure::Upstream);
    /// let idle: agent_gateway_core::BoxError = UpstreamError::new(Failure::Timeout, "silent").into();
    /// assert_eq!(Failure::of(idle.as_ref()), Failure::Timeout);
    /// ```
    pub fn of(error: &(dyn Error + 'static)) -> Failure {
        if let Some(tagged) = super::UpstreamError::find(error) {
            tagged.failure()
        } else if cause_ref::<Elapsed>(error).is_some() {
            Failure::Timeout
        } else {
            Failure::Upstream
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

type Callback = Box<dyn FnOnce(&Usage, Outcome) + Send + 'static>;

/// A one-shot report of a response's final usage.
///
/// Clones share the same report. Callbacks registered with [`on_complete`] run exactly once:
/// when [`complete`] is called, or at once if it already was. Only the first `complete` counts,
/// so a stream that ends and is then dropped is not reported twice.
///
/// Callbacks run on the task that completes the report (the one polling the body), so they
/// must be quick: hand slow work, such as audit I/O, to a queue.
///
/// [`on_complete`]: UsageReport::on_complete
/// [`complete`]: UsageReport::complete
#[derive(Clone, Default)]
pub struct UsageReport {
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
enum State {
    #[default]
    Empty,
    Pending(Vec<Callback>),
    Done(Usage, Outcome),
}

impl UsageReport {
    /// A pending report.
    pub fn new() -> Self {
        UsageReport::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Callbacks never run under the lock, so a poisoned lock can only come from a panic in
        // this module's own bookkeeping, which leaves the state consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` with the final usage once it is known.
    pub fn on_complete(&self, f: impl FnOnce(&Usage, Outcome) + Send + 'static) {
        let mut state = self.lock();
        match &mut *state {
            State::Done(usage, outcome) => {
                let (usage, outcome) = (usage.clone(), *outcome);
                drop(state);
                f(&usage, outcome);
            }
            State::Pending(callbacks) => callbacks.push(Box::new(f)),
            State::Empty => *state = State::Pending(vec![Box::new(f)]),
        }
    }

    /// Sets the final usage and runs the registered callbacks. Returns false, and does
    /// nothing, if the report was already complete.
    pub fn complete(&self, usage: Usage, outcome: Outcome) -> bool {
        let mut state = self.lock();
        let callbacks = match std::mem::replace(&mut *state, State::Done(usage.clone(), outcome)) {
            State::Done(u, o) => {
                *state = State::Done(u, o);
                return false;
            }
            State::Pending(callbacks) => callbacks,
            State::Empty => Vec::new(),
        };
        drop(state);
        for f in callbacks {
            f(&usage, outcome);
        }
        true
    }

    /// The final usage, if the report is complete.
    pub fn usage(&self) -> Option<(Usage, Outcome)> {
        match &*self.lock() {
            State::Done(usage, outcome) => Some((usage.clone(), *outcome)),
            _ => None,
        }
    }
}

impl fmt::Debug for UsageReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("UsageReport");
        match &*self.lock() {
            State::Empty => d.field("state", &"pending"),
            State::Pending(cbs) => d.field("state", &"pending").field("callbacks", &cbs.len()),
            State::Done(usage, outcome) => d.field("usage", usage).field("outcome", outcome),
        };
        d.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn callbacks_run_once_before_or_after_completion() {
        let report = UsageReport::new();
        let runs = Arc::new(AtomicUsize::new(0));
        let r = runs.clone();
        report.on_complete(move |u, _| {
            assert_eq!(u.input_tokens, 4);
            r.fetch_add(1, Ordering::SeqCst);
        });
        assert!(report.complete(Usage::tokens(4, 0), Outcome::Complete));
        assert!(!report.complete(Usage::tokens(99, 0), Outcome::Aborted));
        let r = runs.clone();
        report.on_complete(move |u, o| {
            assert_eq!((u.input_tokens, o), (4, Outcome::Complete));
            r.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        assert_eq!(report.usage().map(|(u, _)| u.input_tokens), Some(4));
    }

    #[test]
    fn callback_may_touch_the_report_without_deadlock() {
        let report = UsageReport::new();
        let inner = report.clone();
        let ran = Arc::new(AtomicUsize::new(0));
        let seen = ran.clone();
        report.on_complete(move |_, _| {
            assert!(inner.usage().is_some());
            seen.fetch_add(1, Ordering::SeqCst);
        });
        assert!(report.complete(Usage::step(), Outcome::Complete));
        assert_eq!(ran.load(Ordering::SeqCst), 1, "the callback ran once");
    }
}
