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
//!
//! A whole stack in-process: the front, a check standing for the policy stack, the router
//! and a fake provider.
//!
//! ```
//! use agent_gateway_core::{BoxError, Denied};
//! use agent_gateway_core::testkit::TestClient;
//! use agent_gateway_llm::provider::OpenAiProvider;
//! use agent_gateway_llm::router::{Deployment, LlmRouter};
//! use agent_gateway_llm::testkit::{FakeProvider, Script};
//! use agent_gateway_llm::{LlmFront, LlmRequest};
//! use serde_json::json;
//! use tower::{ServiceExt, service_fn};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! let upstream = FakeProvider::new().push(Script::text("bonjour").with_usage(9, 2));
//! let router = LlmRouter::builder()
//!     .provider("oai", OpenAiProvider::new(upstream.clone(), "http://oai.test/v1").unwrap())
//!     .alias("fast", Deployment::new("oai", "gpt-4o-mini"))
//!     .build()
//!     .unwrap();
//! // Stands for the policy stack: no streams for this application.
//! let policy = service_fn(move |req: LlmRequest| {
//!     let router = router.clone();
//!     async move {
//!         if req.is_stream() {
//!             return Err(BoxError::from(Denied::forbidden("streams are not allowed here")));
//!         }
//!         router.oneshot(req).await
//!     }
//! });
//! let client = TestClient::new(LlmFront::new(policy));
//! let chat = |stream: bool| json!({
//!     "model": "fast", "stream": stream,
//!     "messages": [{"role": "user", "content": "Say hello in French."}]
//! });
//!
//! // Allowed: the alias reaches the provider as its upstream model.
//! let ok = client.post("/v1/chat/completions").json(&chat(false)).send().await;
//! assert_eq!(ok.status(), 200);
//! assert_eq!(ok.json()["choices"][0]["message"]["content"], "bonjour");
//! assert_eq!(upstream.requests()[0].body["model"], "gpt-4o-mini");
//!
//! // Denied: refused in the OpenAI dialect, and the provider is not called.
//! let denied = client.post("/v1/chat/completions").json(&chat(true)).send().await;
//! assert_eq!(denied.status(), 403);
//! assert_eq!(denied.json()["error"]["message"], "streams are not allowed here");
//! assert_eq!(upstream.calls(), 1);
//! # });
//! ```

pub mod api;
pub mod body;
mod calls;
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
pub use front::{LlmFront, LlmFrontConfig, LlmFrontLayer};
pub use price::Price;
pub use request::LlmRequest;
pub use response::LlmResponse;
