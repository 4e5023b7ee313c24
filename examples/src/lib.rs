//! The runnable agent gateway, built only from the public API of the agent-gateway crates.
//!
//! [`config`] reads one TOML file (or the embedded defaults) into a typed [`config::Config`];
//! [`policy::Policies`] builds the policy stack from it; [`app::router`] turns both into an axum
//! router; the `gateway` binary serves it. With the `otel` feature (on by default),
//! `telemetry::Otel` exports each call's span over OTLP/HTTP when an endpoint is configured.
//!
//! ```
//! use agent_gateway_examples::{app, config::Config, policy::Policies};
//! use agent_gateway_core::testkit::TestClient;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let config = Config::embedded_default().unwrap();
//! let policies = Policies::from_config(&config).await.unwrap();
//! let client = TestClient::new(app::router(&config, &policies).unwrap());
//! let res = client.get("/healthz").send().await;
//! assert_eq!(res.status(), 200);
//! assert_eq!(res.json()["status"], "ok");
//! assert_eq!(client.get("/nope").send().await.status(), 404);
//! # });
//! ```

pub mod a2a;
pub mod app;
pub mod audit;
pub mod cli;
pub mod config;
pub mod demo;
pub mod edge;
pub mod llm;
pub mod mcp;
pub mod observe;
pub mod policy;
pub mod reload;
#[cfg(feature = "otel")]
pub mod telemetry;
