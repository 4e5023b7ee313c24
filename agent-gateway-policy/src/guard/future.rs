//! [`Future`] types: the [`ResponseFuture`] of [`Guard`](super::Guard),
//! ready at once with the denial when a request-side guardrail blocks, else the inner call's
//! future, whose response the response-side guardrails check (and whose text they filter) when
//! it arrives. It is the future every layer that decides in `call` shares.

use agent_gateway_core::content::TextFilter;
use agent_gateway_core::{AgentResponse, BoxError};

pub use crate::decided::ResponseFuture;

use super::layer::Rails;
use super::verdict::{Chain, Exchange, Verdict};

/// Runs the response-side guardrails on `response`, then hands it their text filters.
pub(crate) fn check_response(
    rails: &Rails,
    exchange: &Exchange,
    response: &mut dyn AgentResponse,
) -> Result<(), BoxError> {
    let mut filters: Vec<Box<dyn TextFilter>> = Vec::new();
    for rail in rails.iter() {
        match rail.on_response(exchange, response) {
            Verdict::Pass => {}
            Verdict::Mutated { rule_id } => {
                tracing::debug!(rule = %rule_id, action = %exchange.action(), "guardrail: response rewritten");
            }
            Verdict::Block(block) => {
                tracing::debug!(rule = block.rule_id(), action = %exchange.action(), "guardrail: response blocked");
                return Err(Box::new(block.into_denied()));
            }
        }
        filters.extend(rail.text_filter(exchange));
    }
    let filter: Box<dyn TextFilter> = match filters.len() {
        0 => return Ok(()),
        1 => filters.remove(0),
        _ => Box::new(Chain(filters)),
    };
    // A response with no text to filter (a listing, an error) gives the filter back: nothing
    // it could have changed goes to the client.
    let _unused = response.filter_text(filter);
    Ok(())
}
