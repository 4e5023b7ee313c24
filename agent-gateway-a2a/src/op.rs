//! The A2A operations, and their JSON-RPC method names in 1.0 and in 0.3.
//!
//! ```
//! use agent_gateway_a2a::op::Operation;
//! use agent_gateway_a2a::version::Version;
//!
//! // Allowed: each version's own names.
//! assert_eq!(Operation::from_method(Version::V1_0, "SendMessage"), Some(Operation::SendMessage));
//! assert_eq!(Operation::from_method(Version::V0_3, "message/send"), Some(Operation::SendMessage));
//! assert_eq!(Operation::SendMessage.method(Version::V0_3), Some("message/send"));
//! // Refused: a 1.0 name under 0.3, and an unknown name.
//! assert_eq!(Operation::from_method(Version::V0_3, "SendMessage"), None);
//! assert_eq!(Operation::from_method(Version::V1_0, "tasks/explode"), None);
//! ```

use agent_gateway_core::Action;

use crate::version::Version;

/// One A2A operation, independent of version and binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// Send a message (`SendMessage`, `message/send`).
    SendMessage,
    /// Send a message and stream the answer (`SendStreamingMessage`, `message/stream`).
    SendStreamingMessage,
    /// Get a task (`GetTask`, `tasks/get`).
    GetTask,
    /// List tasks (`ListTasks`; no 0.3 JSON-RPC name).
    ListTasks,
    /// Cancel a task (`CancelTask`, `tasks/cancel`).
    CancelTask,
    /// Subscribe to a task's updates (`SubscribeToTask`, `tasks/resubscribe`).
    SubscribeToTask,
    /// Create a push-notification config (`CreateTaskPushNotificationConfig`, `tasks/pushNotificationConfig/set`).
    CreatePushConfig,
    /// Get a push-notification config.
    GetPushConfig,
    /// List a task's push-notification configs.
    ListPushConfigs,
    /// Delete a push-notification config.
    DeletePushConfig,
    /// The authenticated extended agent card (`GetExtendedAgentCard`, `agent/getAuthenticatedExtendedCard`).
    GetExtendedCard,
    /// The public agent card, at the well-known path (gateway-level, not a JSON-RPC method).
    GetCard,
    /// The gateway's list of agents (gateway-level, not a JSON-RPC method).
    ListAgents,
}

const NAMES: [(Operation, &str, Option<&str>); 11] = [
    (Operation::SendMessage, "SendMessage", Some("message/send")),
    (
        Operation::SendStreamingMessage,
        "SendStreamingMessage",
        Some("message/stream"),
    ),
    (Operation::GetTask, "GetTask", Some("tasks/get")),
    (Operation::ListTasks, "ListTasks", None),
    (Operation::CancelTask, "CancelTask", Some("tasks/cancel")),
    (
        Operation::SubscribeToTask,
        "SubscribeToTask",
        Some("tasks/resubscribe"),
    ),
    (
        Operation::CreatePushConfig,
        "CreateTaskPushNotificationConfig",
        Some("tasks/pushNotificationConfig/set"),
    ),
    (
        Operation::GetPushConfig,
        "GetTaskPushNotificationConfig",
        Some("tasks/pushNotificationConfig/get"),
    ),
    (
        Operation::ListPushConfigs,
        "ListTaskPushNotificationConfigs",
        Some("tasks/pushNotificationConfig/list"),
    ),
    (
        Operation::DeletePushConfig,
        "DeleteTaskPushNotificationConfig",
        Some("tasks/pushNotificationConfig/delete"),
    ),
    (
        Operation::GetExtendedCard,
        "GetExtendedAgentCard",
        Some("agent/getAuthenticatedExtendedCard"),
    ),
];

impl Operation {
    /// The operation a JSON-RPC method names under `version`, if any.
    pub fn from_method(version: Version, method: &str) -> Option<Operation> {
        NAMES.iter().find_map(|(op, v1, v03)| {
            let name = match version {
                Version::V1_0 => Some(*v1),
                Version::V0_3 => *v03,
            };
            (name == Some(method)).then_some(*op)
        })
    }

    /// Whether `method` is a known name in some version other than `version`.
    pub fn known_in_other_version(version: Version, method: &str) -> bool {
        let other = match version {
            Version::V1_0 => Version::V0_3,
            Version::V0_3 => Version::V1_0,
        };
        Operation::from_method(other, method).is_some()
    }

    /// The JSON-RPC method name under `version`, if the operation has one.
    pub fn method(self, version: Version) -> Option<&'static str> {
        NAMES
            .iter()
            .find(|(op, ..)| *op == self)
            .and_then(|(_, v1, v03)| match version {
                Version::V1_0 => Some(*v1),
                Version::V0_3 => *v03,
            })
    }

    /// Whether the answer is an SSE stream.
    pub const fn is_streaming(self) -> bool {
        matches!(
            self,
            Operation::SendStreamingMessage | Operation::SubscribeToTask
        )
    }

    /// The policy action this operation performs.
    pub const fn action(self) -> Action {
        match self {
            Operation::SendMessage | Operation::SendStreamingMessage => Action::AgentMessage,
            Operation::GetCard | Operation::ListAgents => Action::Discovery,
            // Fetched with the gateway's credential: gated apart from plain discovery.
            Operation::GetExtendedCard => Action::ExtendedCard,
            _ => Action::TaskOperation,
        }
    }

    /// Whether the `id` member of the params is a task id (rather than a config id).
    pub(crate) const fn id_is_task(self, version: Version) -> bool {
        match self {
            Operation::GetTask | Operation::CancelTask | Operation::SubscribeToTask => true,
            Operation::GetPushConfig | Operation::ListPushConfigs | Operation::DeletePushConfig => {
                matches!(version, Version::V0_3)
            }
            _ => false,
        }
    }
}
