use bytes::Bytes;

use agent_gateway_core::Usage;
use agent_gateway_core::response::Meter;
use agent_gateway_core::sse::{Decoder, Event};

use crate::Price;
use crate::usage::{StreamUsage, Wire};

/// A [`Meter`] that decodes the SSE events of an LLM stream as they are relayed and reads the
/// usage from the last ones: OpenAI's usage chunk, Anthropic's `message_start` and
/// `message_delta`, the Responses `response.completed`. The cost comes from the price.
///
/// A stream that ends without its usage (the client went away, upstream cut it, or the
/// provider never reports usage) is not free: it is charged the request's input estimate
/// ([`with_input_estimate`](SseMeter::with_input_estimate)) plus the output counted from the
/// deltas relayed so far, a floor on what the provider bills.
#[derive(Debug)]
pub struct SseMeter {
    decoder: Decoder,
    events: Vec<Event>,
    usage: StreamUsage,
    price: Price,
    failed: bool,
}

impl SseMeter {
    /// A meter for a stream in `wire` format, priced at `price`.
    pub fn new(wire: Wire, price: Price) -> Self {
        SseMeter {
            decoder: Decoder::new(),
            events: Vec::new(),
            usage: StreamUsage::new(wire),
            price,
            failed: false,
        }
    }

    /// Charges `tokens` of input (the request's estimate) if the stream ends without reporting
    /// its usage.
    pub fn with_input_estimate(mut self, tokens: u64) -> Self {
        self.usage = self.usage.with_input_estimate(tokens);
        self
    }
}

impl Meter for SseMeter {
    fn observe(&mut self, chunk: &Bytes) {
        if self.failed {
            return;
        }
        if let Err(e) = self.decoder.feed(chunk, &mut self.events) {
            // The relay goes on; only metering stops.
            tracing::warn!(error = %e, "llm stream: cannot decode SSE, usage not metered");
            self.failed = true;
        }
        for event in self.events.drain(..) {
            self.usage.event(&event.data);
        }
    }

    fn finish(&mut self) -> Usage {
        let writes = self.usage.cache_writes();
        self.price
            .apply_with_cache_writes(self.usage.finish(), writes)
    }
}
