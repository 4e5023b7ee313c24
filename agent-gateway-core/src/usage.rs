//! What a call consumed: tokens, steps and money.
//!
//! ```
//! use agent_gateway_core::{Cost, Usage};
//!
//! let price_in = Cost::from_usd_per_million_tokens(0.15); // $0.15 / 1M input tokens
//! let usage = Usage::tokens(1_000_000, 0).with_cost(price_in.times(1_000_000));
//! assert_eq!(usage.cost, Some(Cost::from_nano_usd(150_000_000)));
//! let total = usage.clone() + Usage::tokens(10, 5);
//! assert_eq!(total.input_tokens, 1_000_010);
//! assert_eq!(total.total_tokens(), 1_000_015);
//! assert_eq!(Cost::from_nano_usd(1_500_000_000).to_string(), "$1.500000");
//! ```

use std::fmt;
use std::ops::{Add, AddAssign};

/// An amount of money in US dollars, held as whole nano-dollars.
///
/// Integers, not floats, because spend is summed across many calls and replicas in a counter
/// store, where every unit must add up exactly. A nano-dollar resolves per-token prices down to
/// $0.001 per million tokens; a `u64` holds more than eighteen billion dollars.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cost(u64);

impl Cost {
    /// Zero dollars.
    pub const ZERO: Cost = Cost(0);

    /// A cost of `nanos` nano-dollars.
    pub const fn from_nano_usd(nanos: u64) -> Self {
        Cost(nanos)
    }

    /// A cost of `usd` dollars, rounded to the nearest nano-dollar. Negative and non-finite
    /// amounts count as zero; amounts past `u64::MAX` nano-dollars saturate.
    ///
    /// ```
    /// use agent_gateway_core::Cost;
    /// assert_eq!(Cost::from_usd(1.5), Cost::from_nano_usd(1_500_000_000));
    /// assert_eq!(Cost::from_usd(-1.0), Cost::ZERO);
    /// ```
    pub fn from_usd(usd: f64) -> Self {
        if usd.is_finite() && usd > 0.0 {
            // `as` saturates at u64::MAX.
            Cost((usd * 1e9).round() as u64)
        } else {
            Cost(0)
        }
    }

    /// The price of one token given a price per million tokens, rounded to the nearest
    /// nano-dollar. Negative and non-finite prices count as zero.
    pub fn from_usd_per_million_tokens(usd: f64) -> Self {
        if usd.is_finite() && usd > 0.0 {
            // usd per 1e6 tokens = usd * 1e9 / 1e6 nano-dollars per token
            Cost((usd * 1_000.0).round() as u64)
        } else {
            Cost(0)
        }
    }

    /// This cost multiplied by a count, saturating.
    pub const fn times(self, n: u64) -> Self {
        Cost(self.0.saturating_mul(n))
    }

    /// The cost in nano-dollars.
    pub const fn nano_usd(self) -> u64 {
        self.0
    }

    /// The cost in dollars, for display only.
    pub fn usd(self) -> f64 {
        self.0 as f64 / 1e9
    }
}

impl Add for Cost {
    type Output = Cost;
    fn add(self, rhs: Cost) -> Cost {
        Cost(self.0.saturating_add(rhs.0))
    }
}

impl AddAssign for Cost {
    fn add_assign(&mut self, rhs: Cost) {
        *self = *self + rhs;
    }
}

impl fmt::Display for Cost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "${}.{:06}",
            self.0 / 1_000_000_000,
            (self.0 % 1_000_000_000) / 1_000
        )
    }
}

/// What one call, or one stream, consumed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Usage {
    /// Input (prompt) tokens, including cached ones.
    pub input_tokens: u64,
    /// Output (completion) tokens.
    pub output_tokens: u64,
    /// The part of `input_tokens` served from a provider's prompt cache.
    pub cached_input_tokens: u64,
    /// Steps: tool calls, agent hops or model calls, as the protocol counts them.
    pub steps: u64,
    /// The price of the call, when a price table knows it.
    pub cost: Option<Cost>,
}

impl Usage {
    /// Usage of `input` and `output` tokens, one step, no known cost.
    pub fn tokens(input: u64, output: u64) -> Self {
        Usage {
            input_tokens: input,
            output_tokens: output,
            steps: 1,
            ..Usage::default()
        }
    }

    /// One step that used no tokens (a tool call, an agent message).
    pub fn step() -> Self {
        Usage {
            steps: 1,
            ..Usage::default()
        }
    }

    /// Sets the cached part of the input tokens.
    pub fn with_cached_input(mut self, cached: u64) -> Self {
        self.cached_input_tokens = cached;
        self
    }

    /// Sets the cost.
    pub fn with_cost(mut self, cost: Cost) -> Self {
        self.cost = Some(cost);
        self
    }

    /// Input plus output tokens.
    pub fn total_tokens(&self) -> u64 {
        self.input_tokens.saturating_add(self.output_tokens)
    }
}

impl Add for Usage {
    type Output = Usage;
    fn add(mut self, rhs: Usage) -> Usage {
        self += rhs;
        self
    }
}

impl AddAssign for Usage {
    fn add_assign(&mut self, rhs: Usage) {
        self.input_tokens = self.input_tokens.saturating_add(rhs.input_tokens);
        self.output_tokens = self.output_tokens.saturating_add(rhs.output_tokens);
        self.cached_input_tokens = self
            .cached_input_tokens
            .saturating_add(rhs.cached_input_tokens);
        self.steps = self.steps.saturating_add(rhs.steps);
        self.cost = match (self.cost, rhs.cost) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or_default() + b.unwrap_or_default()),
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_round_and_reject_nonsense() {
        assert_eq!(Cost::from_usd_per_million_tokens(3.0).nano_usd(), 3_000);
        assert_eq!(Cost::from_usd_per_million_tokens(0.0004).nano_usd(), 0);
        assert_eq!(Cost::from_usd_per_million_tokens(0.0005).nano_usd(), 1);
        assert_eq!(Cost::from_usd_per_million_tokens(-1.0), Cost::ZERO);
        assert_eq!(Cost::from_usd_per_million_tokens(f64::NAN), Cost::ZERO);
        assert_eq!(Cost::from_nano_usd(u64::MAX).times(2).nano_usd(), u64::MAX);
    }

    #[test]
    fn adding_usage_keeps_unknown_cost_unknown() {
        let a = Usage::tokens(1, 2);
        assert_eq!((a.clone() + a.clone()).cost, None);
        let b = a.clone().with_cost(Cost::from_nano_usd(7));
        let sum = a + b;
        assert_eq!(sum.cost, Some(Cost::from_nano_usd(7)));
        assert_eq!(sum.steps, 2);
        assert_eq!(
            Cost::from_nano_usd(12_345_678_900).to_string(),
            "$12.345678"
        );
    }
}
