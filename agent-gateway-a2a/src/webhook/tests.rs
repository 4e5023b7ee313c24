use serde_json::{Value, json};

use super::{WebhookAllowList, check};
use crate::error::A2aError;
use crate::op::Operation;

fn list() -> WebhookAllowList {
    WebhookAllowList::new()
        .allow("https://hooks.example.com/a2a")
        .expect("a prefix")
        .allow("http://127.0.0.1:8080/")
        .expect("a prefix")
}

#[test]
fn urls_are_normalised_and_matched_on_segment_boundaries() {
    let l = list();
    for ok in [
        "https://hooks.example.com/a2a",
        "https://hooks.example.com/a2a/",
        "https://hooks.example.com/a2a/t/1?x=y",
        "https://HOOKS.EXAMPLE.COM/a2a/t",
        "HTTPS://hooks.example.com:443/a2a/t",
        "https://hooks.example.com/%61%32%61/t",
        "https://hooks.example.com/a2a/./t",
        "https://hooks.example.com/a2a/t/.",
        "https://hooks.example.com/a2a/%7Euser",
        "http://127.0.0.1:8080/anything",
    ] {
        assert!(l.permits(ok), "{ok} should be allowed");
    }
    for bad in [
        "",
        "not a url",
        "/a2a/relative",
        "ftp://hooks.example.com/a2a/x",
        "http://hooks.example.com/a2a/x",
        "https://hooks.example.com:8443/a2a/x",
        "https://hooks.example.com/a2a-evil",
        "https://hooks.example.com/a2a-evil/x",
        "https://hooks.example.com/a2ax",
        "https://hooks.example.com/",
        "https://hooks.example.com/a2a/../admin",
        "https://hooks.example.com/a2a/..",
        "https://hooks.example.com/a2a/x/..",
        "https://hooks.example.com/a2a/%2e%2e/admin",
        "https://hooks.example.com/a2a/%2E%2E/admin",
        "https://hooks.example.com/a2a/.%2e/admin",
        "https://hooks.example.com/a2a/%2e./admin",
        "https://hooks.example.com/a2a/x/%2e%2e",
        "https://hooks.example.com/a2a/..%2fadmin",
        "https://hooks.example.com/a2a/%2F..%2Fadmin",
        "https://hooks.example.com/a2a/..%5cadmin",
        "https://hooks.example.com/a2a/%zz",
        "https://hooks.example.com@evil.com/a2a/x",
        "https://user:pw@hooks.example.com/a2a/x",
        "http://127.0.0.1:8081/x",
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost:8080/x",
    ] {
        assert!(!l.permits(bad), "{bad} should be refused");
    }
    assert!(WebhookAllowList::new().allow("/relative").is_err());
    assert!(WebhookAllowList::new().allow("https://h/a/../b").is_err());
}

const OK: &str = "https://hooks.example.com/a2a/ok";
const INTERNAL: &str = "http://169.254.169.254/latest/meta-data/";

/// A field name, the operation it belongs to, and a function placing a URL there.
type Placement = (&'static str, Operation, fn(&str) -> Value);

/// Where a push URL can sit, per operation.
fn placements() -> Vec<Placement> {
    fn send(conf: Value) -> Value {
        json!({"message": {"messageId": "m", "parts": [{"url": "https://files.example.com/f"}]},
            "configuration": conf})
    }
    vec![
        (
            "url",
            Operation::CreatePushConfig,
            |u| json!({"taskId": "t", "url": u}),
        ),
        (
            "pushNotificationConfig.url",
            Operation::CreatePushConfig,
            |u| json!({"taskId": "t", "pushNotificationConfig": {"url": u}}),
        ),
        (
            "taskPushNotificationConfig.url",
            Operation::CreatePushConfig,
            |u| json!({"taskId": "t", "taskPushNotificationConfig": {"url": u}}),
        ),
        (
            "config.pushNotificationConfig.url",
            Operation::CreatePushConfig,
            |u| json!({"config": {"pushNotificationConfig": {"url": u}}}),
        ),
        (
            "push_notification_config.url",
            Operation::CreatePushConfig,
            |u| json!({"push_notification_config": {"url": u}}),
        ),
        (
            "configuration.taskPushNotificationConfig.url",
            Operation::SendMessage,
            |u| send(json!({"taskPushNotificationConfig": {"url": u}})),
        ),
        (
            "configuration.pushNotificationConfig.url",
            Operation::SendMessage,
            |u| send(json!({"pushNotificationConfig": {"url": u}})),
        ),
        (
            "configuration.pushNotification.url",
            Operation::SendStreamingMessage,
            |u| send(json!({"pushNotification": {"url": u}})),
        ),
        (
            "configuration.push_notification.url",
            Operation::SendMessage,
            |u| send(json!({"push_notification": {"URL": u}})),
        ),
    ]
}

fn merge(a: Value, b: Value) -> Value {
    match (a, b) {
        (Value::Object(mut x), Value::Object(y)) => {
            for (k, v) in y {
                let merged = match x.remove(&k) {
                    Some(old) => merge(old, v),
                    None => v,
                };
                x.insert(k, merged);
            }
            Value::Object(x)
        }
        (_, b) => b,
    }
}

#[test]
fn every_alias_alone_and_every_pair_of_aliases() {
    let l = list();
    let places = placements();
    for (name, op, place) in &places {
        assert_eq!(check(&l, *op, &place(OK)), Ok(()), "{name} allowed");
        assert_eq!(
            check(&l, *op, &place(INTERNAL)),
            Err(A2aError::WebhookNotAllowed),
            "{name} internal"
        );
        assert_eq!(
            check(&l, *op, &place("https://hooks.example.com/a2a/%2e%2e/x")),
            Err(A2aError::WebhookNotAllowed),
            "{name} dot-dot"
        );
        assert_eq!(
            check(&l, *op, &place("https://hooks.example.com/a2a-evil")),
            Err(A2aError::WebhookNotAllowed),
            "{name} prefix boundary"
        );
    }
    for (n1, op1, p1) in &places {
        for (n2, op2, p2) in &places {
            if n1 == n2 || op1 != op2 {
                continue;
            }
            for (u1, u2) in [(OK, INTERNAL), (INTERNAL, OK), (OK, OK)] {
                let both = merge(p1(u1), p2(u2));
                assert!(
                    matches!(check(&l, *op1, &both), Err(A2aError::InvalidParams(_))),
                    "{n1}={u1} with {n2}={u2}: {both}"
                );
            }
        }
    }
}

#[test]
fn sends_without_push_config_and_other_operations_pass() {
    let l = WebhookAllowList::new();
    let send = json!({"message": {"messageId": "m", "parts": [{"url": INTERNAL}]}});
    assert_eq!(check(&l, Operation::SendMessage, &send), Ok(()));
    let send = json!({"message": {"messageId": "m"}, "configuration": {"returnImmediately": true}});
    assert_eq!(check(&l, Operation::SendMessage, &send), Ok(()));
    assert_eq!(
        check(&l, Operation::GetTask, &json!({"url": INTERNAL})),
        Ok(())
    );
    // A push config without a URL, or with a non-string one, is refused.
    let send = json!({"message": {}, "configuration": {"pushNotificationConfig": {"token": "x"}}});
    assert_eq!(
        check(&l, Operation::SendMessage, &send),
        Err(A2aError::WebhookNotAllowed)
    );
    let create = json!({"taskId": "t", "url": 5});
    assert_eq!(
        check(&list(), Operation::CreatePushConfig, &create),
        Err(A2aError::WebhookNotAllowed)
    );
    assert_eq!(
        check(
            &list(),
            Operation::CreatePushConfig,
            &json!({"taskId": "t"})
        ),
        Err(A2aError::WebhookNotAllowed)
    );
}
