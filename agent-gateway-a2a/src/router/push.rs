//! The push capability: an agent whose card does not say `pushNotifications: true` answers
//! every push-config request, and a send carrying a push config, with
//! PushNotificationNotSupported (-32003) before it looks at the webhook. The gateway answers
//! the same, from the agent's cached card, before its own webhook checks.

use serde_json::Value;

use crate::error::A2aError;
use crate::op::Operation;
use crate::registry::AgentRegistry;
use crate::webhook::key;

/// Whether `op` with `params` uses push notifications: a push-config operation, or a send
/// whose `configuration` carries a push config (under any of its names, not null).
pub(crate) fn uses_push(op: Operation, params: &Value) -> bool {
    match op {
        Operation::CreatePushConfig
        | Operation::GetPushConfig
        | Operation::ListPushConfigs
        | Operation::DeletePushConfig => true,
        Operation::SendMessage | Operation::SendStreamingMessage => params
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| key(k) == "configuration")
            .filter_map(|(_, c)| c.as_object())
            .flatten()
            .any(|(k, v)| key(k).contains("push") && !v.is_null()),
        _ => false,
    }
}

/// PushNotificationNotSupported if `op` uses push and `agent`'s card does not declare
/// `capabilities.pushNotifications: true`. An unknown agent, or a card that cannot be had, is
/// let through: the router answers the one, the agent the other.
pub(crate) async fn check(
    agents: &AgentRegistry,
    agent: &str,
    op: Operation,
    params: &Value,
) -> Result<(), A2aError> {
    if !uses_push(op, params) {
        return Ok(());
    }
    match agents.card(agent).await {
        Ok(c) if c.card.pointer("/capabilities/pushNotifications") != Some(&Value::Bool(true)) => {
            Err(A2aError::PushNotificationNotSupported)
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn push_configs_and_sends_carrying_one_use_push() {
        for op in [
            Operation::CreatePushConfig,
            Operation::GetPushConfig,
            Operation::ListPushConfigs,
            Operation::DeletePushConfig,
        ] {
            assert!(uses_push(op, &json!({})), "{op:?}");
        }
        let send = |conf: Value| json!({"message": {"messageId": "m"}, "configuration": conf});
        for conf in [
            json!({"taskPushNotificationConfig": {"url": "http://h/"}}),
            json!({"pushNotificationConfig": {"url": "http://h/"}}),
            json!({"push_notification_config": {}}),
        ] {
            assert!(
                uses_push(Operation::SendMessage, &send(conf.clone())),
                "{conf}"
            );
            assert!(uses_push(Operation::SendStreamingMessage, &send(conf)));
        }
        // Not: a send without one (or with a null one), a message's file URL, other operations.
        assert!(!uses_push(
            Operation::SendMessage,
            &send(json!({"historyLength": 1}))
        ));
        assert!(!uses_push(
            Operation::SendMessage,
            &send(json!({"pushNotificationConfig": null}))
        ));
        assert!(!uses_push(
            Operation::SendMessage,
            &json!({"message": {"parts": [{"url": "http://h/push"}]}})
        ));
        assert!(!uses_push(
            Operation::GetTask,
            &json!({"pushNotificationConfig": {}})
        ));
    }
}
