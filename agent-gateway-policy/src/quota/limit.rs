//! One limit of a quota: what it counts, under which key, at what rate.

use std::fmt;
use std::sync::Arc;

use agent_gateway_core::Action;
use agent_gateway_core::store::Rate;

use crate::key::{KeyFn, MissingKey, SharedKey, escape_into};

/// What a [`Limit`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unit {
    /// One unit per request.
    Requests,
    /// Input plus output tokens. Admission charges the request's
    /// [estimated input tokens](agent_gateway_core::AgentRequest::estimated_input_tokens) plus
    /// `output_allowance` (a request with no estimate counts as zero input tokens, so it is refused
    /// only while the key is in debt); the difference to the actual usage is settled when the
    /// response ends.
    Tokens {
        /// Output tokens charged up front, on top of the input estimate.
        output_allowance: u64,
    },
}

/// How a [`Limit`] decides.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Algorithm {
    /// GCRA ([`CounterStore::take`](agent_gateway_core::store::CounterStore::take)): capacity
    /// comes back smoothly, bursts are bounded by the rate's limit, and every denial carries an
    /// exact retry-after. The default.
    #[default]
    Gcra,
    /// A fixed window ([`CounterStore::incr_within`](agent_gateway_core::store::CounterStore::incr_within))
    /// of the rate's period, opened by the first request: exact accounting ("at most N per
    /// window, as a bill would count them"), at the price of bursts at window edges. Token
    /// over-estimates are not refunded in this mode (a window can only count up).
    FixedWindow,
}

/// One limit of a [`QuotaLayer`](super::QuotaLayer): `rate` of [`Unit`]s per key.
///
/// Built with [`requests`](Limit::requests) or [`tokens`](Limit::tokens), then `with_*` for the
/// options. The `id` names the limit in denials ([`Denied::rule`](agent_gateway_core::Denied::rule))
/// and in store keys (`quota:<id>:<key>`), so it must be unique within a store and stable
/// across restarts and replicas.
pub struct Limit {
    pub(super) id: String,
    pub(super) prefix: String,
    pub(super) key: SharedKey,
    pub(super) rate: Rate,
    pub(super) unit: Unit,
    pub(super) algorithm: Algorithm,
    pub(super) missing: MissingKey,
    pub(super) actions: Option<Arc<[Action]>>,
}

impl Limit {
    fn new(id: impl Into<String>, key: impl KeyFn + 'static, rate: Rate, unit: Unit) -> Self {
        let id = id.into();
        let mut prefix = String::from("quota:");
        escape_into(&mut prefix, &id);
        prefix.push(':');
        Limit {
            id,
            prefix,
            key: SharedKey::new(key),
            rate,
            unit,
            algorithm: Algorithm::default(),
            missing: MissingKey::default(),
            actions: None,
        }
    }

    /// At most `rate` requests per key.
    pub fn requests(id: impl Into<String>, key: impl KeyFn + 'static, rate: Rate) -> Self {
        Limit::new(id, key, rate, Unit::Requests)
    }

    /// At most `rate` tokens (input plus output) per key.
    pub fn tokens(id: impl Into<String>, key: impl KeyFn + 'static, rate: Rate) -> Self {
        Limit::new(
            id,
            key,
            rate,
            Unit::Tokens {
                output_allowance: 0,
            },
        )
    }

    /// Charges `tokens` output tokens at admission, on top of the input estimate, for a token
    /// limit (ignored for a request limit). A fair allowance keeps a burst of concurrent calls
    /// from all being admitted on their input alone.
    pub fn with_output_allowance(mut self, tokens: u64) -> Self {
        if let Unit::Tokens { output_allowance } = &mut self.unit {
            *output_allowance = tokens;
        }
        self
    }

    /// Decides with `algorithm` instead of GCRA.
    pub fn with_algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// What to do with a request whose key cannot be extracted; [`MissingKey::Deny`] unless set.
    pub fn with_missing_key(mut self, missing: MissingKey) -> Self {
        self.missing = missing;
        self
    }

    /// Counts only requests whose [`Action`] is one of `actions` (tool calls and model calls,
    /// say); every other request passes this limit uncounted, even without a key.
    ///
    /// Unscoped, a limit counts every request that reaches the layer, housekeeping included:
    /// a legacy MCP client's `initialize`, `notifications/initialized` and `ping`
    /// ([`Action::Protocol`]) and listings such as `tools/list`. A limit of a few calls a minute
    /// is then used up before the first tool call.
    pub fn with_actions(mut self, actions: impl IntoIterator<Item = Action>) -> Self {
        self.actions = Some(actions.into_iter().collect());
        self
    }

    /// The actions the limit counts; `None` counts every request.
    pub fn actions(&self) -> Option<&[Action]> {
        self.actions.as_deref()
    }

    /// Whether requests with `action` are counted by this limit.
    pub(super) fn counts(&self, action: Action) -> bool {
        self.actions.as_ref().is_none_or(|a| a.contains(&action))
    }

    /// The limit's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The limit's rate.
    pub fn rate(&self) -> Rate {
        self.rate
    }

    /// What the limit counts.
    pub fn unit(&self) -> Unit {
        self.unit
    }

    /// How the limit decides.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The store key for a request key.
    pub(super) fn store_key(&self, key: &str) -> String {
        let mut out = String::with_capacity(self.prefix.len() + key.len());
        out.push_str(&self.prefix);
        out.push_str(key);
        out
    }
}

impl Clone for Limit {
    fn clone(&self) -> Self {
        Limit {
            id: self.id.clone(),
            prefix: self.prefix.clone(),
            key: self.key.clone(),
            rate: self.rate,
            unit: self.unit,
            algorithm: self.algorithm,
            missing: self.missing,
            actions: self.actions.clone(),
        }
    }
}

impl fmt::Debug for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Limit")
            .field("id", &self.id)
            .field("rate", &self.rate)
            .field("unit", &self.unit)
            .field("algorithm", &self.algorithm)
            .field("missing", &self.missing)
            .field("actions", &self.actions)
            .finish_non_exhaustive()
    }
}
