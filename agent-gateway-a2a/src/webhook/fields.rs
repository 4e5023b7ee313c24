//! Finding every push-notification URL in request params, whatever the field is called.
//!
//! The versions and dialects spell a push config differently: 1.0 `url` on a flattened
//! `TaskPushNotificationConfig`, 0.3 `pushNotificationConfig.url`, the 0.3 HTTP+JSON
//! `config.pushNotificationConfig.url`, `configuration.taskPushNotificationConfig.url`,
//! `configuration.pushNotificationConfig.url` or `configuration.pushNotification.url` on a
//! send, in camelCase or snake_case. Translation between them keeps one and drops the others,
//! so a check of one alias could be dodged with another. Here every `url` member (in any case
//! or spelling) of the push config is found, and a request with more than one is refused.

use serde_json::Value;

use super::WebhookAllowList;
use crate::error::A2aError;
use crate::op::Operation;

/// How deep a push config can nest (`configuration.pushNotificationConfig.url` is 3).
const MAX_DEPTH: usize = 8;

/// A key as compared: lowercase, without `_`, so `push_notification_config` and
/// `pushNotificationConfig` are one name.
pub(crate) fn key(k: &str) -> String {
    k.chars()
        .filter(|c| *c != '_')
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Collects every `url` member under `value`; a push-config object found without one counts
/// as an empty URL (so it is refused, as before).
fn collect<'a>(value: &'a Value, depth: usize, urls: &mut Vec<&'a Value>) -> Result<(), A2aError> {
    if depth > MAX_DEPTH {
        return Err(A2aError::InvalidParams(
            "the push notification config is nested too deep".into(),
        ));
    }
    match value {
        Value::Object(obj) => {
            for (k, v) in obj {
                if key(k) == "url" {
                    urls.push(v);
                } else {
                    collect(v, depth + 1, urls)?;
                }
            }
        }
        Value::Array(items) => {
            for v in items {
                collect(v, depth + 1, urls)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Whether a send's `configuration` member names a push config at all.
fn names_push(configuration: &Value) -> bool {
    configuration
        .as_object()
        .is_some_and(|c| c.keys().any(|k| key(k).contains("push")))
}

/// Checks the push-notification URL of `op`'s `params` against `list`: at most one URL
/// (InvalidParams otherwise), a string, inside the list (WebhookNotAllowed otherwise). Runs on
/// the client's params and again on the params sent upstream, after translation.
pub(crate) fn check(
    list: &WebhookAllowList,
    op: Operation,
    params: &Value,
) -> Result<(), A2aError> {
    let mut urls = Vec::new();
    let required = match op {
        Operation::SendMessage | Operation::SendStreamingMessage => {
            // Only under `configuration`: a message's file parts have a `url` too.
            let Some(conf) = params
                .as_object()
                .and_then(|p| p.iter().find(|(k, _)| key(k) == "configuration"))
                .map(|(_, v)| v)
            else {
                return Ok(());
            };
            collect(conf, 0, &mut urls)?;
            names_push(conf)
        }
        Operation::CreatePushConfig => {
            collect(params, 0, &mut urls)?;
            true
        }
        _ => return Ok(()),
    };
    match urls.as_slice() {
        [] if !required => Ok(()),
        [] => Err(A2aError::WebhookNotAllowed),
        [Value::String(url)] if list.permits(url) => Ok(()),
        [_] => Err(A2aError::WebhookNotAllowed),
        _ => Err(A2aError::InvalidParams(
            "more than one push notification URL".into(),
        )),
    }
}
