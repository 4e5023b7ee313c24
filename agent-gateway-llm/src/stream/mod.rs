//! Stream plumbing: a meter that reads usage from SSE events as they are relayed, the body
//! filter removing the usage chunk the gateway asked for, the bodies that end a failed stream
//! with its dialect's error event ([`RenderStreamError`]) and report it aborted
//! ([`AbortOnErrorEvent`]), and the streaming translators between wire formats ([`SseTransform`] with [`MessagesToChat`], [`ChatToMessages`] or [`ChatToResponses`]).
//!
//! ```
//! use bytes::Bytes;
//! use http_body_util::{BodyExt, Full};
//! use agent_gateway_core::UsageReport;
//! use agent_gateway_core::response::MeteredBody;
//! use agent_gateway_llm::Price;
//! use agent_gateway_llm::stream::{SseMeter, StripUsageChunk};
//! use agent_gateway_llm::usage::Wire;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let upstream = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}],\"usage\":null}\n\n\
//!                 data: {\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":2}}\n\n\
//!                 data: [DONE]\n\n";
//! let report = UsageReport::new();
//! let meter = SseMeter::new(Wire::ChatCompletions, Price::per_million(1.0, 2.0));
//! let metered = MeteredBody::new(Full::new(Bytes::from(upstream)), meter, report.clone());
//! let seen = StripUsageChunk::new(metered).collect().await.unwrap().to_bytes();
//! // The client did not ask for usage: the usage chunk is gone, the rest is untouched.
//! assert_eq!(seen, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}],\"usage\":null}\n\ndata: [DONE]\n\n");
//! let (usage, _) = report.usage().unwrap();
//! assert_eq!((usage.input_tokens, usage.output_tokens), (7, 2));
//! assert_eq!(usage.cost.unwrap().nano_usd(), 7 * 1_000 + 2 * 2_000);
//! # });
//! ```

mod errors;
mod meter;
mod strip;
mod to_chat;
mod to_messages;
mod to_responses;
mod transform;

pub use errors::{AbortOnErrorEvent, RenderStreamError, UpstreamErrorEvent};
pub use meter::SseMeter;
pub use strip::StripUsageChunk;
pub use to_chat::MessagesToChat;
pub use to_messages::ChatToMessages;
pub use to_responses::ChatToResponses;
pub use transform::{SseTransform, Transform};

#[cfg(test)]
mod tests;

#[cfg(test)]
mod errors_tests;
#[cfg(test)]
mod responses_tests;
#[cfg(test)]
mod translate_tests;
