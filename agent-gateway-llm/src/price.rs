//! Prices per deployment, turning token usage into a [`Cost`].
//!
//! ```
//! use agent_gateway_core::{Cost, Usage};
//! use agent_gateway_llm::Price;
//!
//! // $3 per million input tokens, $15 per million output, $0.30 per million cached.
//! let price = Price::per_million(3.0, 15.0).with_cached_per_million(0.30);
//! let usage = Usage::tokens(1_000, 100).with_cached_input(400);
//! // 600 × 3000 + 400 × 300 + 100 × 15000 nano-dollars
//! assert_eq!(price.cost(&usage), Cost::from_nano_usd(1_800_000 + 120_000 + 1_500_000));
//! assert_eq!(Price::FREE.cost(&usage), Cost::ZERO);
//!
//! // Anthropic bills input written to its prompt cache apart (1.25x input for 5 minutes):
//! // 200 of the 600 uncached tokens were written, at $3.75.
//! let price = price.with_cache_write_per_million(3.75);
//! assert_eq!(
//!     price.cost_with_cache_writes(&usage, 200),
//!     Cost::from_nano_usd(400 * 3000 + 200 * 3750 + 120_000 + 1_500_000)
//! );
//! ```

use agent_gateway_core::{Cost, Usage};

/// What a deployment charges per token: input, output, cached input, and input written to
/// the prompt cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Price {
    input: Cost,
    output: Cost,
    cached_input: Cost,
    cache_write: Cost,
}

impl Price {
    /// Free.
    pub const FREE: Price = Price {
        input: Cost::ZERO,
        output: Cost::ZERO,
        cached_input: Cost::ZERO,
        cache_write: Cost::ZERO,
    };

    /// A price in dollars per million input and output tokens. Cached input, and input
    /// written to the cache, are priced as input until
    /// [`with_cached_per_million`](Price::with_cached_per_million) and
    /// [`with_cache_write_per_million`](Price::with_cache_write_per_million) say otherwise.
    pub fn per_million(input_usd: f64, output_usd: f64) -> Self {
        let input = Cost::from_usd_per_million_tokens(input_usd);
        Price {
            input,
            output: Cost::from_usd_per_million_tokens(output_usd),
            cached_input: input,
            cache_write: input,
        }
    }

    /// Sets the price of input tokens written to the prompt cache, in dollars per million
    /// (Anthropic's `cache_creation_input_tokens`, billed above plain input).
    pub fn with_cache_write_per_million(mut self, usd: f64) -> Self {
        self.cache_write = Cost::from_usd_per_million_tokens(usd);
        self
    }

    /// Sets the price of cached input tokens, in dollars per million.
    pub fn with_cached_per_million(mut self, usd: f64) -> Self {
        self.cached_input = Cost::from_usd_per_million_tokens(usd);
        self
    }

    /// The cost of `usage`: uncached input, cached input and output, each at its price.
    pub fn cost(&self, usage: &Usage) -> Cost {
        self.cost_with_cache_writes(usage, 0)
    }

    /// The cost of `usage` of which `cache_writes` uncached input tokens were written to the
    /// prompt cache, priced at the cache-write price.
    pub fn cost_with_cache_writes(&self, usage: &Usage, cache_writes: u64) -> Cost {
        let cached = usage.cached_input_tokens.min(usage.input_tokens);
        let written = cache_writes.min(usage.input_tokens - cached);
        self.input.times(usage.input_tokens - cached - written)
            + self.cached_input.times(cached)
            + self.cache_write.times(written)
            + self.output.times(usage.output_tokens)
    }

    /// The dearer of two prices, part by part: what a call may cost on whichever of two
    /// deployments serves it.
    pub fn max(self, other: Price) -> Price {
        Price {
            input: self.input.max(other.input),
            output: self.output.max(other.output),
            cached_input: self.cached_input.max(other.cached_input),
            cache_write: self.cache_write.max(other.cache_write),
        }
    }

    /// `usage` with its cost set.
    pub fn apply(&self, usage: Usage) -> Usage {
        self.apply_with_cache_writes(usage, 0)
    }

    /// `usage` with its cost set, `cache_writes` of its input tokens written to the cache.
    pub fn apply_with_cache_writes(&self, usage: Usage, cache_writes: u64) -> Usage {
        let cost = self.cost_with_cache_writes(&usage, cache_writes);
        usage.with_cost(cost)
    }
}
