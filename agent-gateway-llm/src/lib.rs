//! The OpenAI and Anthropic fronts, providers, and model routing, for agent-gateway.
//!
//! Traffic flows front → the user's policy stack → router → a provider:
//!
//! - the front decodes `POST /v1/chat/completions`, `POST /v1/messages`,
//!   `POST /v1/responses` and `GET /v1/models` once into an [`LlmRequest`], and renders every
//!   error in the client's own dialect in one place;
//! - the policy layers see an [`LlmRequest`] through core's `AgentRequest` seam, and an
//!   [`LlmResponse`] through `AgentResponse`;
//! - the router maps a model alias to a deployment (provider + upstream model + price);
//! - a provider calls upstream with its own credential and relays streams byte-faithfully
//!   while metering their usage.

pub mod api;
pub mod body;
pub mod error;
pub mod front;
pub mod price;
pub mod provider;
pub mod request;
pub mod response;
pub mod router;
pub mod stream;
#[cfg(feature = "test-util")]
pub mod testkit;
pub mod translate;
pub mod types;
pub mod usage;

pub use api::{Api, Dialect};
pub use body::LlmBody;
pub use front::{LlmFront, LlmFrontLayer};
pub use price::Price;
pub use request::LlmRequest;
pub use response::LlmResponse;
