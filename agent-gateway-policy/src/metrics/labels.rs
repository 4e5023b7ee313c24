//! The metrics' label sets, and the cap that keeps the caller, model and rule labels bounded.

use std::collections::HashSet;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use prometheus_client::encoding::{EncodeLabelSet, LabelSetEncoder};

/// How many distinct values a capped label (caller, model, rule) takes by default before the
/// rest are counted as [`OTHER`]: enough for the callers and models of a team's gateway, while
/// keeping each capped family under a few thousand series (a Prometheus server's usual comfort
/// per metric). Change it with [`Metrics::with_label_limit`](super::Metrics::with_label_limit).
pub const DEFAULT_LABEL_LIMIT: usize = 100;

/// The longest label value kept, in bytes: a longer one (a made-up model name, say) is counted
/// as [`OTHER`], so a client cannot grow the scrape with long values either.
pub const MAX_LABEL_VALUE_LEN: usize = 128;

/// The value counted in place of any value beyond a label's cap.
pub const OTHER: &str = "other";

/// The caller label of a call with no authenticated caller.
pub const ANONYMOUS: &str = "anonymous";

/// The label value where there is none (the rule of a denial no rule decided, the model of a
/// call that is not a model call).
pub const NONE: &str = "none";

/// A label's values, at most `limit` of them; every value beyond is [`OTHER`].
///
/// A value already seen is found under a read lock and returned as a clone of its `Arc`, so
/// the request path allocates only for a value it has not seen yet.
#[derive(Debug)]
pub(super) struct LabelCap {
    limit: AtomicUsize,
    seen: RwLock<HashSet<Arc<str>>>,
    other: Arc<str>,
}

impl LabelCap {
    pub(super) fn new(limit: NonZeroUsize) -> Self {
        LabelCap {
            limit: AtomicUsize::new(limit.get()),
            seen: RwLock::new(HashSet::new()),
            other: Arc::from(OTHER),
        }
    }

    pub(super) fn set_limit(&self, limit: NonZeroUsize) {
        self.limit.store(limit.get(), Ordering::Relaxed);
    }

    /// The label for `value`: itself while the cap allows, else [`OTHER`].
    pub(super) fn label(&self, value: &str) -> Arc<str> {
        if value.len() > MAX_LABEL_VALUE_LEN {
            return self.other.clone();
        }
        let limit = self.limit.load(Ordering::Relaxed);
        {
            let seen = self.seen.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(known) = seen.get(value) {
                return known.clone();
            }
            if seen.len() >= limit {
                return self.other.clone();
            }
        }
        let mut seen = self.seen.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(known) = seen.get(value) {
            return known.clone();
        }
        if seen.len() >= limit {
            return self.other.clone();
        }
        let label: Arc<str> = Arc::from(value);
        seen.insert(label.clone());
        label
    }
}

/// A call's labels: `agw_requests_total`, `agw_request_duration_seconds`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct CallLabels {
    pub(super) protocol: &'static str,
    pub(super) action: &'static str,
    pub(super) outcome: &'static str,
}

/// Tokens by caller, model and type (`input`, `output`): `agw_tokens_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub(super) struct TokenLabels {
    pub(super) caller: Arc<str>,
    pub(super) model: Arc<str>,
    pub(super) kind: &'static str,
}

impl EncodeLabelSet for TokenLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder<'_>) -> Result<(), std::fmt::Error> {
        // `type` is a keyword, so the derive cannot name the label: it is spelled out here.
        [
            ("caller", &*self.caller),
            ("model", &*self.model),
            ("type", self.kind),
        ]
        .encode(encoder)
    }
}

/// Spend by caller and model: `agw_cost_usd_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct SpendLabels {
    pub(super) caller: Arc<str>,
    pub(super) model: Arc<str>,
}

/// A denial's labels: `agw_denials_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct DenialLabels {
    pub(super) protocol: &'static str,
    pub(super) kind: &'static str,
    pub(super) rule: Arc<str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_beyond_the_limit_or_too_long_are_other() {
        let cap = LabelCap::new(NonZeroUsize::new(2).unwrap());
        assert_eq!(&*cap.label("ann"), "ann");
        assert_eq!(&*cap.label("bob"), "bob");
        assert_eq!(&*cap.label("cy"), OTHER);
        // Values seen before the cap was reached keep their own label.
        assert_eq!(&*cap.label("ann"), "ann");
        let long = "m".repeat(MAX_LABEL_VALUE_LEN + 1);
        cap.set_limit(NonZeroUsize::new(10).unwrap());
        assert_eq!(&*cap.label(&long), OTHER);
        assert_eq!(&*cap.label("cy"), "cy");
    }
}
