//! The A2A test kit (feature `test-util`): an in-process fake agent and an in-process client.
//!
//! ```
//! use agent_gateway_a2a::testkit::{A2aClient, FakeAgent};
//! use agent_gateway_a2a::version::Version;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! // The client talks straight to the fake agent's connector here; in tests it talks to a front.
//! let agent = FakeAgent::new("echo");
//! let client = A2aClient::new(agent.connector()).with_version(Version::V1_0);
//! // Allowed: a message completes a task at once.
//! let task = client.send_text("", "hello").await.unwrap();
//! assert_eq!(task["task"]["status"]["state"], "TASK_STATE_COMPLETED");
//! // Refused: an unknown task.
//! let err = client.call("", "GetTask", serde_json::json!({"id": "nope"})).await.unwrap_err();
//! assert_eq!(err.code, -32001);
//! assert_eq!(agent.calls(), 2);
//! # }
//! ```

mod agent;
mod client;

pub use self::agent::{DEFAULT_MAX_BYTES, DEFAULT_MAX_TASKS, FakeAgent, MAX_CONFIGS_PER_TASK};
pub use self::client::A2aClient;
