//! Property tests of A2A's decoders: the version header, method names, sealed ids, the 0.3↔1.0
//! translation, and the front's JSON-RPC and HTTP+JSON request decoding.
//!
//! Properties: no panic; round-trips where one exists (sealed ids, method names, well-formed
//! messages, tasks, stream events and push configs through the other version and back); a
//! sealed id with any bit flipped never opens; translation output bounded by its input; bad
//! input to the front gets the binding's error, no 5xx, and a refusal of the gateway's own
//! reaches no agent.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

#[path = "../../agent-gateway-core/tests/fuzz_support/mod.rs"]
mod fuzz_support;
mod support;

use std::time::Duration;

use agent_gateway_a2a::op::Operation;
use agent_gateway_a2a::seal::Sealer;
use agent_gateway_a2a::testkit::FakeAgent;
use agent_gateway_a2a::translate::{params, result, stream_event};
use agent_gateway_a2a::version::Version;
use agent_gateway_core::testkit::TestClient;
use fuzz_support::{edits, json, mutate, run_async, text};
use http::Method;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// Where failing cases are kept.
const REGRESSIONS: &str = "proptest-regressions/fuzz_a2a.txt";

/// How long a response may take before it is taken for a stream left open.
const BODY_WAIT: Duration = Duration::from_secs(2);

const OPERATIONS: [Operation; 13] = [
    Operation::SendMessage,
    Operation::SendStreamingMessage,
    Operation::GetTask,
    Operation::ListTasks,
    Operation::CancelTask,
    Operation::SubscribeToTask,
    Operation::CreatePushConfig,
    Operation::GetPushConfig,
    Operation::ListPushConfigs,
    Operation::DeletePushConfig,
    Operation::GetExtendedCard,
    Operation::GetCard,
    Operation::ListAgents,
];

const V: [Version; 2] = [Version::V0_3, Version::V1_0];

fn obj(pairs: Vec<(&str, Option<Value>)>) -> Value {
    Value::Object(
        pairs
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
            .collect::<Map<_, _>>(),
    )
}

fn opt_text() -> impl Strategy<Value = Option<Value>> {
    prop::option::of(text().prop_map(Value::from))
}

/// A well-formed 1.0 part: text, data, or a file by bytes or URL.
fn part_v1() -> impl Strategy<Value = Value> {
    prop_oneof![
        text().prop_map(|t| json!({"text": t})),
        json().prop_map(|d| json!({"data": d})),
        (opt_text(), opt_text(), opt_text(), opt_text()).prop_map(|(raw, url, name, media)| {
            obj(vec![
                ("raw", raw),
                ("url", url),
                ("filename", name),
                ("mediaType", media),
            ])
        }),
    ]
}

/// A well-formed 1.0 message.
fn message_v1() -> impl Strategy<Value = Value> {
    (
        text(),
        prop::sample::select(vec!["ROLE_USER", "ROLE_AGENT"]),
        prop::collection::vec(part_v1(), 0..3),
        opt_text(),
    )
        .prop_map(|(id, role, parts, context)| {
            obj(vec![
                ("messageId", Some(id.into())),
                ("role", Some(role.into())),
                ("parts", Some(parts.into())),
                ("contextId", context),
            ])
        })
}

fn status_v1() -> impl Strategy<Value = Value> {
    let state = prop::sample::select(vec![
        "TASK_STATE_SUBMITTED",
        "TASK_STATE_WORKING",
        "TASK_STATE_COMPLETED",
        "TASK_STATE_FAILED",
        "TASK_STATE_CANCELED",
        "TASK_STATE_REJECTED",
        "TASK_STATE_INPUT_REQUIRED",
        "TASK_STATE_AUTH_REQUIRED",
        "TASK_STATE_UNSPECIFIED",
    ]);
    (state, prop::option::of(message_v1()))
        .prop_map(|(state, message)| obj(vec![("state", Some(state.into())), ("message", message)]))
}

fn artifact_v1() -> impl Strategy<Value = Value> {
    (text(), prop::collection::vec(part_v1(), 0..3))
        .prop_map(|(id, parts)| json!({"artifactId": id, "parts": parts}))
}

/// A well-formed 1.0 task.
fn task_v1() -> impl Strategy<Value = Value> {
    (
        text(),
        text(),
        status_v1(),
        prop::option::of(prop::collection::vec(message_v1(), 0..3)),
        prop::option::of(prop::collection::vec(artifact_v1(), 0..3)),
    )
        .prop_map(|(id, context, status, history, artifacts)| {
            obj(vec![
                ("id", Some(id.into())),
                ("contextId", Some(context.into())),
                ("status", Some(status)),
                ("history", history.map(Value::from)),
                ("artifacts", artifacts.map(Value::from)),
            ])
        })
}

/// A well-formed flat 1.0 push config.
fn push_config_v1() -> impl Strategy<Value = Value> {
    (text(), text(), opt_text(), prop::option::of(opt_text())).prop_map(
        |(task, url, token, auth)| {
            obj(vec![
                ("taskId", Some(task.into())),
                ("url", Some(url.into())),
                ("token", token),
                (
                    "authentication",
                    auth.map(|scheme| obj(vec![("scheme", scheme)])),
                ),
            ])
        },
    )
}

/// A 1.0 stream event: a status or artifact update, a message or a task.
fn stream_event_v1() -> impl Strategy<Value = Value> {
    prop_oneof![
        (text(), text(), status_v1()).prop_map(|(t, c, s)| json!({"statusUpdate":
            {"taskId": t, "contextId": c, "status": s}})),
        (text(), artifact_v1()).prop_map(|(t, a)| json!({"artifactUpdate":
            {"taskId": t, "artifact": a}})),
        message_v1().prop_map(|m| json!({"message": m})),
        task_v1().prop_map(|t| json!({"task": t})),
    ]
}

/// Down to 0.3 and back up.
fn round_trip(
    value: &Value,
    there: impl Fn(Value) -> Value,
    back: impl Fn(Value) -> Value,
) -> Value {
    back(there(value.clone()))
}

proptest! {
    #![proptest_config(fuzz_support::config(REGRESSIONS))]

    #[test]
    fn fuzz_a2a_version_header(value in prop_oneof![text(), any::<String>(), "[0-9]\\.[0-9](\\.[0-9a-z]{0,3})?"]) {
        match Version::parse(Some(&value)) {
            Ok(v) => prop_assert!(
                value.trim().is_empty() || value.trim().starts_with(v.as_str()),
                "{value:?} read as {v}"
            ),
            Err(e) => prop_assert!(e.0.chars().count() <= 16, "the error echoes at most 16 chars"),
        }
    }

    #[test]
    fn fuzz_a2a_method_names(name in prop_oneof![
        text(),
        prop::sample::select(OPERATIONS.to_vec())
            .prop_flat_map(|op| prop::sample::select(V.to_vec()).prop_map(move |v| op.method(v).unwrap_or("").to_owned())),
    ]) {
        for v in V {
            if let Some(op) = Operation::from_method(v, &name) {
                prop_assert_eq!(op.method(v), Some(name.as_str()));
            }
        }
    }

    #[test]
    fn fuzz_a2a_sealed_ids(
        agent in text(), instance in text(), id in any::<String>(),
        owner in any::<[u8; 16]>(), other in any::<[u8; 16]>(),
        flips in prop::collection::vec((any::<usize>(), 0u8..8), 1..4),
    ) {
        let sealer = support::sealer();
        let sealed = sealer.seal(&agent, &owner, &instance, &id).unwrap();
        prop_assert!(Sealer::looks_sealed(&sealed));
        prop_assert_eq!(sealer.open(&agent, &owner, &sealed), Some((instance.clone(), id.clone())));
        prop_assert_eq!(sealer.open(&format!("{agent}x"), &owner, &sealed), None);
        if other != owner {
            prop_assert_eq!(sealer.open(&agent, &other, &sealed), None);
        }
        let mut bytes = sealed.clone().into_bytes();
        for (i, bit) in flips {
            let i = i % bytes.len();
            bytes[i] ^= 1 << bit;
        }
        if let Ok(forged) = String::from_utf8(bytes) && forged != sealed {
            prop_assert_eq!(sealer.open(&agent, &owner, &forged), None, "{} opened", forged);
        }
    }

    #[test]
    fn fuzz_a2a_forged_ids_never_open(
        agent in text(), owner in any::<[u8; 16]>(),
        id in prop_oneof![any::<String>(), "g3\\.[A-Za-z0-9_-]{0,120}"],
    ) {
        prop_assert_eq!(support::sealer().open(&agent, &owner, &id), None);
    }

    #[test]
    fn fuzz_a2a_translation_total_and_bounded(value in json(), op in prop::sample::select(OPERATIONS.to_vec())) {
        let size = |v: &Value| v.to_string().len();
        let bound = 32 * size(&value) + 256;
        for (from, to) in [(Version::V0_3, Version::V1_0), (Version::V1_0, Version::V0_3)] {
            for out in [
                params(op, from, to, value.clone()),
                result(op, from, to, value.clone()),
                stream_event(from, to, value.clone()),
            ] {
                prop_assert!(size(&out) <= bound, "{} bytes from {}", size(&out), size(&value));
            }
            prop_assert_eq!(&params(op, to, to, value.clone()), &value, "same version: untouched");
        }
    }

    #[test]
    fn fuzz_a2a_translation_round_trips(
        message in message_v1(),
        task in task_v1(),
        event in stream_event_v1(),
        config in push_config_v1(),
        return_immediately in any::<bool>(),
    ) {
        let (up, down) = (Version::V1_0, Version::V0_3);
        // Send params: the message and the configuration.
        let send = json!({"message": message,
                          "configuration": {"returnImmediately": return_immediately}});
        for op in [Operation::SendMessage, Operation::SendStreamingMessage] {
            let back = round_trip(&send, |v| params(op, up, down, v), |v| params(op, down, up, v));
            prop_assert_eq!(back, send.clone());
        }
        // Results: a task, the send result (either kind), the push configs.
        for op in [Operation::GetTask, Operation::CancelTask] {
            let back = round_trip(&task, |v| result(op, up, down, v), |v| result(op, down, up, v));
            prop_assert_eq!(back, task.clone());
        }
        for sent in [json!({"task": task}), json!({"message": message})] {
            let op = Operation::SendMessage;
            let back = round_trip(&sent, |v| result(op, up, down, v), |v| result(op, down, up, v));
            prop_assert_eq!(back, sent);
        }
        for op in [Operation::CreatePushConfig, Operation::GetPushConfig] {
            let back = round_trip(&config, |v| result(op, up, down, v), |v| result(op, down, up, v));
            prop_assert_eq!(back, config.clone());
        }
        // ProtoJSON: an empty page token is left out.
        let list = json!({"configs": [config]});
        let op = Operation::ListPushConfigs;
        let back = round_trip(&list, |v| result(op, up, down, v), |v| result(op, down, up, v));
        prop_assert_eq!(back, list);
        // Stream events.
        let back = round_trip(&event, |v| stream_event(up, down, v), |v| stream_event(down, up, v));
        prop_assert_eq!(back, event);
        // Push config params name the task and the config.
        let ids = json!({"taskId": task["id"], "id": message["messageId"]});
        for op in [Operation::GetPushConfig, Operation::DeletePushConfig] {
            let back = round_trip(&ids, |v| params(op, up, down, v), |v| params(op, down, up, v));
            prop_assert_eq!(back, ids.clone());
        }
    }
}

/// Good requests of both bindings and both versions: the seeds of the mutations.
fn seeds() -> Vec<(Method, String, Option<&'static str>, String)> {
    let message = json!({"messageId": "m1", "role": "ROLE_USER", "parts": [{"text": "hi"}]});
    let v03 = json!({"kind": "message", "messageId": "m1", "role": "user",
                     "parts": [{"kind": "text", "text": "hi"}]});
    let rpc = |method: &str, params: Value| {
        json!({"jsonrpc": "2.0", "id": 9, "method": method, "params": params}).to_string()
    };
    vec![
        (
            Method::POST,
            "/echo".into(),
            Some("1.0"),
            rpc("SendMessage", json!({"message": message})),
        ),
        (
            Method::POST,
            "/echo".into(),
            Some("1.0"),
            rpc("GetTask", json!({"id": "g2.AAAA", "historyLength": 2})),
        ),
        (
            Method::POST,
            "/echo".into(),
            None,
            rpc("message/send", json!({"message": v03})),
        ),
        (
            Method::POST,
            "/echo".into(),
            Some("0.3"),
            rpc(
                "tasks/pushNotificationConfig/set",
                json!({"taskId": "t", "pushNotificationConfig": {"url": "https://hooks.example.com/x"}}),
            ),
        ),
        (
            Method::POST,
            "/echo/message:send".into(),
            Some("1.0"),
            json!({"message": message}).to_string(),
        ),
        (
            Method::GET,
            "/echo/tasks/g2.AAAA".into(),
            Some("1.0"),
            String::new(),
        ),
        (
            Method::GET,
            "/echo/v1/tasks".into(),
            Some("1.0"),
            String::new(),
        ),
        (
            Method::POST,
            "/echo/tasks/t1:cancel".into(),
            Some("1.0"),
            String::new(),
        ),
        (
            Method::GET,
            "/echo/.well-known/agent-card.json".into(),
            None,
            String::new(),
        ),
    ]
}

/// One request to the front.
#[derive(Debug, Clone)]
struct Case {
    method: Method,
    path: String,
    version: Option<String>,
    content_type: Option<&'static str>,
    body: String,
}

fn case() -> impl Strategy<Value = Case> {
    let seed = prop::sample::select(seeds());
    let path_edit = prop_oneof![
        3 => Just(None),
        1 => "(/[a-z0-9:._%-]{0,12}){1,5}".prop_map(Some),
    ];
    let version = prop_oneof![
        4 => Just(None),
        1 => text().prop_map(Some),
    ];
    let content_type = prop::sample::select(vec![
        Some("application/json"),
        Some("application/a2a+json"),
        Some("text/plain"),
        None,
    ]);
    (
        seed,
        prop_oneof![Just(vec![]), edits()],
        path_edit,
        version,
        content_type,
    )
        .prop_map(
            |((method, path, v, body), edits, path_edit, version, content_type)| Case {
                method,
                path: path_edit.unwrap_or(path),
                version: version.or(v.map(str::to_owned)),
                content_type,
                body: String::from_utf8_lossy(&mutate(body.as_bytes(), &edits)).into_owned(),
            },
        )
}

/// Codes only the gateway answers with (parse, envelope, method, content type, version).
const GATEWAY_CODES: &[i64] = &[-32700, -32600, -32601, -32005, -32009];

#[test]
fn fuzz_a2a_front_decoding() {
    let fake = FakeAgent::new("echo");
    let client: TestClient<_> = support::single(&fake);
    run_async(REGRESSIONS, case(), |case| {
        let (client, fake) = (&client, fake.clone());
        async move {
            let before = fake.calls();
            let mut req = client
                .request(case.method.clone(), &case.path)
                .body(case.body.clone());
            if let Some(v) = &case.version
                && http::HeaderValue::from_str(v).is_ok()
            {
                req = req.header("a2a-version", v);
            }
            if let Some(ct) = case.content_type {
                req = req.header("content-type", ct);
            }
            let Ok(res) = tokio::time::timeout(BODY_WAIT, req.send()).await else {
                return Ok(()); // a stream left open
            };
            let status = res.status().as_u16();
            prop_assert!(status < 500, "status {status}: {:?}", res.bytes());
            if status == 200 && res.header("content-type") == Some("text/event-stream") {
                return Ok(());
            }
            let body: Value = serde_json::from_slice(res.bytes())
                .map_err(|e| TestCaseError::fail(format!("not JSON ({e}): {:?}", res.bytes())))?;
            let rpc_code = body["error"]["code"]
                .as_i64()
                .filter(|_| body["jsonrpc"] == "2.0");
            if let Some(code) = rpc_code {
                prop_assert!((-32768..=-32000).contains(&code), "code {code}");
            } else if status >= 400 {
                // HTTP+JSON: a google.rpc Status whose code is the HTTP status.
                prop_assert_eq!(
                    body["error"]["code"].as_u64(),
                    Some(u64::from(status)),
                    "{}",
                    body
                );
            }
            let ours = rpc_code.is_some_and(|c| GATEWAY_CODES.contains(&c))
                || [405, 413, 415].contains(&status) && rpc_code.is_none();
            if ours {
                prop_assert_eq!(
                    fake.calls(),
                    before,
                    "a refused request reached the agent: {}",
                    body
                );
            }
            Ok(())
        }
    });
}
