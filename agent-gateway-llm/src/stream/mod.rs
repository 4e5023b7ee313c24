//! Stream plumbing: a meter that reads usage from SSE events as they are relayed, the body
//! filter removing the usage chunk the gateway asked for, the bodies that end a failed stream
//! with its dialect's error event ([`RenderStreamError`]) and report it aborted
//! ([`AbortOnErrorEvent`]), and the streaming translators between wire formats
//! ([`SseTransform`] with [`MessagesToChat`], [`ChatToMessages`] or [`ChatToResponses`]).
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
//!
//! A translated stream goes out event by event, as the upstream events arrive; one cut short
//! ends with the client dialect's error instead of its normal end:
//!
//! ```
//! use bytes::Bytes;
//! use http_body_util::{BodyExt, Full};
//! use agent_gateway_llm::stream::{MessagesToChat, SseTransform};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let anthropic = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude\",\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n\
//!     event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"hi\"}}\n\n\
//!     event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":2}}\n\n\
//!     event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
//! let chat = |upstream: &str| {
//!     let body = SseTransform::new(Full::new(Bytes::from(upstream.to_owned())), MessagesToChat::new(true));
//!     async move { String::from_utf8(body.collect().await.unwrap().to_bytes().to_vec()).unwrap() }
//! };
//! let whole = chat(anthropic).await;
//! assert!(whole.contains("\"delta\":{\"content\":\"hi\"}"));
//! assert!(whole.contains("\"finish_reason\":\"stop\""));
//! assert!(whole.contains("\"usage\":{\"completion_tokens\":2,\"prompt_tokens\":5"));
//! assert!(whole.ends_with("data: [DONE]\n\n"));
//!
//! // Cut before `message_stop`: an OpenAI error line, and no `[DONE]`.
//! let cut = chat(&anthropic[..anthropic.find("event: message_stop").unwrap()]).await;
//! assert!(cut.ends_with("\"type\":\"server_error\"}}\n\n"), "{cut}");
//! assert!(!cut.contains("[DONE]"));
//! # });
//! ```

mod calls;
mod chat_events;
mod cut;
mod errors;
mod filter;
mod idle;
mod meter;
mod strip;
mod to_chat;
mod to_messages;
mod to_responses;
mod transform;

pub use calls::{CheckToolCalls, MAX_CALL_ARGUMENT_BYTES, MAX_OPEN_CALLS};
pub use cut::EventTooLarge;
pub use errors::{AbortOnErrorEvent, RenderStreamError, UpstreamErrorEvent};
pub use filter::FilterText;
pub use idle::IdleTimeout;
pub use meter::SseMeter;
pub use strip::StripUsageChunk;
pub use to_chat::MessagesToChat;
pub(crate) use to_chat::finish_reason;
pub use to_messages::ChatToMessages;
pub(crate) use to_messages::stop_reason;
pub use to_responses::ChatToResponses;
pub use transform::{SseTransform, Transform};

#[cfg(test)]
mod tests;

#[cfg(test)]
mod errors_tests;
#[cfg(test)]
mod filter_tests;
#[cfg(test)]
mod responses_tests;
#[cfg(test)]
mod translate_tests;
