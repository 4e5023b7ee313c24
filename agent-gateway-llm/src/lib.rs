//! The OpenAI and Anthropic fronts, providers, and model routing, for agent-gateway.
//!
//! Traffic flows front → the user's policy stack → [`Router`] → a provider:
//!
//! - a front ([`LlmFront`]) decodes `POST /v1/chat/completions`, `POST /v1/messages`,
//!   `POST /v1/responses` and `GET /v1/models` once into an [`LlmRequest`], and renders every
//!   error in the client's own dialect in one place;
//! - the policy layers see an [`LlmRequest`] through core's `AgentRequest` seam;
//! - the [`Router`] maps a model alias to a deployment (provider + upstream model + price);
//! - a provider ([`OpenAiProvider`], [`AnthropicProvider`]) calls upstream with its own
//!   credential and relays streams byte-faithfully while metering their usage.
pub mod types;
