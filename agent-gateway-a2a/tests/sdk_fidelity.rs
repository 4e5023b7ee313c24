//! Real peers: the gateway answers as an a2a-sdk 1.3.0 agent would (#13 items 3 and 6). Each
//! table sends the same requests to the agent alone and through the gateway (axum on
//! 127.0.0.1) and fails on any difference in what a client sees: HTTP status, JSON or event
//! stream, error codes, ids. Needs the venv `.ci/peers` installs (see `peers`).

mod peers;
#[path = "support/proto_schema.rs"]
mod proto_schema;

use agent_gateway_a2a::front::CardVersions;
use agent_gateway_a2a::version::Version;
use peers::{rpc, v1};
use serde_json::{Value, json};

/// A webhook no allow-list admits (the gateway's is empty here: every webhook is refused).
const OUTSIDE: &str = "http://169.254.169.254/latest";

/// A gateway over one agent `name` at `port`, speaking `version`, which is also the default
/// agent (its card at the root). The front reads the registry's cards; no webhook is allowed.
async fn gateway(name: &str, port: u16, version: Version) -> peers::Gateway {
    let registry = peers::registry(&[(name, &[("a1", port, version)])]);
    let agents = registry.clone();
    let (gateway, _) = peers::gateway(registry, 8, |c| {
        c.with_default_agent(name).with_agents(agents)
    })
    .await;
    gateway
}

/// Sends `cases` to the agent alone (`prefix` empty: JSON-RPC at `/`, HTTP+JSON under
/// `/rest`) or through the gateway (`prefix` `/{agent}`).
async fn raw(base: &str, prefix: &str, cases: &[Value]) -> Vec<Value> {
    let rest = if prefix.is_empty() { "/rest" } else { prefix };
    peers::raw(base, prefix, rest, cases).await
}

fn seen(answer: &Value) -> Value {
    peers::seen(answer, false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_without_push_gets_32003_through_the_gateway_on_both_bindings() {
    let Some(_) = peers::python() else { return };
    let (_agent, port) = peers::sdk_agent(&["complete", "nopush", "--no-push"]).await;
    let gateway = gateway("nopush", port, Version::V1_0).await;
    let base = &gateway.base;
    let agent = format!("http://127.0.0.1:{port}");
    // Create, in 1.0 and 0.3: the agent's answer, and the same through the gateway, whose
    // (empty) allow-list would refuse the webhook with -32602 if it were checked first.
    let table = [
        v1(rpc(
            Some(1),
            "CreateTaskPushNotificationConfig",
            json!({"taskId": "t1", "url": OUTSIDE}),
        )),
        rpc(
            Some(2),
            "tasks/pushNotificationConfig/set",
            json!({"taskId": "t1", "pushNotificationConfig": {"url": OUTSIDE}}),
        ),
        v1(rpc(
            Some(3),
            "GetTaskPushNotificationConfig",
            json!({"taskId": "t1", "id": "c"}),
        )),
        v1(rpc(
            Some(4),
            "ListTaskPushNotificationConfigs",
            json!({"taskId": "t1"}),
        )),
    ];
    let alone = raw(&agent, "", &table).await;
    let through = raw(base, "/nopush", &table).await;
    for ((case, a), g) in table.iter().zip(&alone).zip(&through) {
        assert_eq!(seen(a)["body"]["code"], -32003, "the agent itself: {a}");
        assert_eq!(seen(a), seen(g), "{case}\nalone: {a}\ngateway: {g}");
    }
    // A send carrying a push config, on both bindings and versions, and the HTTP+JSON create:
    // refused before the agent sees the webhook (a2a-sdk itself would ignore the config).
    let message = json!({"messageId": "m1", "role": "ROLE_USER", "parts": [{"text": "hi"}]});
    let message03 = json!({"kind": "message", "messageId": "m1", "role": "user",
        "parts": [{"kind": "text", "text": "hi"}]});
    let push = json!({"taskPushNotificationConfig": {"url": OUTSIDE}});
    let rest = peers::rest;
    let cases = [
        v1(rpc(
            Some(5),
            "SendMessage",
            json!({"message": message, "configuration": push}),
        )),
        v1(rpc(
            Some(6),
            "SendStreamingMessage",
            json!({"message": message, "configuration": push}),
        )),
        rpc(
            Some(7),
            "message/send",
            json!({"message": message03,
            "configuration": {"pushNotificationConfig": {"url": OUTSIDE}}}),
        ),
        rest(
            "POST",
            "/message:send",
            json!({"message": message, "configuration": push}),
        ),
        rest(
            "POST",
            "/tasks/t1/pushNotificationConfigs",
            json!({"url": OUTSIDE}),
        ),
        json!({"method": "POST", "path": "/v1/tasks/t1/pushNotificationConfigs",
            "body": {"config": {"pushNotificationConfig": {"url": OUTSIDE}}}}),
    ];
    let through = raw(base, "/nopush", &cases).await;
    for (case, g) in cases.iter().zip(&through) {
        let seen = seen(g);
        if case["path"] == "/" {
            assert_eq!(
                (&seen["status"], &seen["type"], &seen["body"]["code"]),
                (&json!(200), &json!("json"), &json!(-32003)),
                "{case}: {g}"
            );
        } else {
            assert_eq!(seen["status"], 400, "{case}: {g}");
            assert_eq!(
                seen["body"]["reason"], "PUSH_NOTIFICATION_NOT_SUPPORTED",
                "{case}: {g}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_0_3_agent_answers_the_same_alone_and_through_the_gateway() {
    let Some(_) = peers::python() else { return };
    let (_agent, port) = peers::sdk_agent(&["complete", "old", "--v03"]).await;
    let gateway = gateway("old", port, Version::V0_3).await;
    let base = &gateway.base;
    let agent = format!("http://127.0.0.1:{port}");
    // Raw JSON-RPC, as a 0.3 client sends it (no A2A-Version), and the card at the root.
    let hello = json!({"messageId": "m1", "role": "ROLE_USER", "parts": [{"text": "hi"}]});
    let table = [
        // Without an id: the method is checked first, then the request.
        rpc(None, "nosuch/method", json!({})),
        json!({"method": "POST", "path": "/", "body":
            {"jsonrpc": "2.0", "id": null, "method": "nosuch/method", "params": {}}}),
        rpc(None, "tasks/get", json!({"id": "t1"})),
        rpc(None, "message/send", json!("x")),
        rpc(None, "GetTask", json!({"id": "t1"})),
        v1(rpc(None, "NoSuch", json!({}))),
        v1(rpc(None, "SendMessage", json!({}))),
        v1(rpc(None, "SendMessage", json!({"message": "x"}))),
        // With an id: params that are not structured, or not what the method takes.
        rpc(Some(13), "tasks/get", json!("x")),
        v1(rpc(Some(14), "GetTask", json!([1]))),
        // A valid 1.0 request without an id (or a null one) is served: a null id answers.
        v1(rpc(None, "SendMessage", json!({"message": hello}))),
        v1(rpc(None, "SendStreamingMessage", json!({"message": hello}))),
        v1(rpc(None, "GetTask", json!({"id": "no-such-task"}))),
        v1(
            json!({"method": "POST", "path": "/", "body": {"jsonrpc": "2.0", "id": null,
            "method": "CancelTask", "params": {"id": "no-such-task"}}}),
        ),
        // An unknown task on the streaming method: in 0.3 an event stream carrying the error;
        // in 1.0 a plain JSON error (a2a-sdk reads the first event before answering), or 404
        // on HTTP+JSON. (The 0.3 HTTP+JSON one is left out: a2a-sdk 1.3 answers an empty 200
        // stream, its handler failing after the headers; the gateway answers 404, which the
        // 0.3 spec allows.)
        rpc(Some(11), "tasks/resubscribe", json!({"id": "no-such-task"})),
        v1(rpc(
            Some(15),
            "SubscribeToTask",
            json!({"id": "no-such-task"}),
        )),
        v1(rpc(None, "SubscribeToTask", json!({"id": "no-such-task"}))),
        peers::rest("POST", "/tasks/no-such-task:subscribe", Value::Null),
        peers::rest("GET", "/tasks/no-such-task:subscribe", Value::Null),
        // And on a unary one, a plain JSON error.
        rpc(Some(12), "tasks/get", json!({"id": "no-such-task"})),
        json!({"method": "GET", "path": "/.well-known/agent-card.json"}),
    ];
    let alone = raw(&agent, "", &table).await;
    let through = raw(base, "/old", &table).await;
    assert_eq!(alone.len(), table.len());
    for ((case, a), g) in table.iter().zip(&alone).zip(&through) {
        assert_eq!(seen(a), seen(g), "{case}\nalone: {a}\ngateway: {g}");
    }
    // The card at the root: the agent's, pointing at the gateway, still offering 0.3.
    let (card, theirs) = (
        &through[table.len() - 1]["body"],
        &alone[table.len() - 1]["body"],
    );
    for key in [
        "name",
        "description",
        "skills",
        "capabilities",
        "defaultInputModes",
    ] {
        assert_eq!(card[key], theirs[key], "{key}");
    }
    assert_eq!(card["url"], format!("{base}/old"));
    assert_eq!(card["protocolVersion"], "0.3.0");
    // The a2a-sdk client in 0.3 mode finds the card at the root and uses its 0.3 interface.
    for url in [&agent, base] {
        let lines = peers::run_python("client.py", &[url, "send", "JSONRPC", "0.3"], None).await;
        let task = &lines.last().expect("the fetched task")["task"];
        assert_eq!(
            task["status"]["state"], "TASK_STATE_COMPLETED",
            "{url}: {lines:?}"
        );
        assert_eq!(
            task["artifacts"][0]["parts"][0]["text"],
            "old echo: hello gateway"
        );
    }
    // It resubscribes to an unknown task and gets the same error, alone and through.
    let mut refusals = Vec::new();
    for url in [&agent, base] {
        let lines = peers::run_python("client.py", &[url, "unknown", "JSONRPC", "0.3"], None).await;
        refusals.push(lines.last().cloned().expect("a line"));
    }
    assert_eq!(refusals[0]["code"], -32001, "{refusals:?}");
    assert_eq!(refusals[0], refusals[1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_1_0_only_card_is_strict_and_serves_1_0_clients_while_the_dual_card_serves_0_3() {
    let Some(_) = peers::python() else { return };
    let (_agent, port) = peers::sdk_agent(&["complete", "c1"]).await;
    // One agent process under two names: `strict` with the front's 1.0-only cards, `dual`
    // with the default dual card.
    let registry = peers::registry(&[
        ("strict", &[("c1", port, Version::V1_0)]),
        ("dual", &[("c1", port, Version::V1_0)]),
    ]);
    let (gateway, _) = peers::gateway(registry, 9, |c| {
        c.with_card_versions(CardVersions::V1Only)
            .with_agent_card_versions("dual", CardVersions::Dual)
    })
    .await;
    let base = &gateway.base;
    let card = |agent: &str| json!({"method": "GET", "path": format!("/{agent}/.well-known/agent-card.json")});
    let cards = peers::raw(base, "", "", &[card("strict"), card("dual")]).await;
    let schema = jsonschema::validator_for(&proto_schema::schema(
        include_str!("data/a2a-1.0.1.proto"),
        "AgentCard",
    ))
    .expect("a valid schema");
    let strict = &cards[0]["body"];
    let errors: Vec<String> = schema.iter_errors(strict).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}\n{strict:#}");
    assert!(
        !schema.is_valid(&cards[1]["body"]),
        "the dual card carries 0.3 fields"
    );
    // The a2a-sdk client uses the strict card in 1.0, and the dual card in 1.0 and 0.3.
    for (agent, version) in [("strict", "1.0"), ("dual", "1.0"), ("dual", "0.3")] {
        let url = format!("{base}/{agent}");
        let lines = peers::run_python("client.py", &[&url, "send", "JSONRPC", version], None).await;
        let task = &lines.last().expect("the fetched task")["task"];
        assert_eq!(
            task["status"]["state"], "TASK_STATE_COMPLETED",
            "{agent} {version}"
        );
        assert_eq!(
            task["artifacts"][0]["parts"][0]["text"],
            "c1 echo: hello gateway"
        );
    }
    // The trade-off: the strict card offers a 0.3 client nothing.
    let interfaces = strict["supportedInterfaces"]
        .as_array()
        .expect("interfaces");
    assert!(
        interfaces.iter().all(|i| i["protocolVersion"] == "1.0"),
        "{strict}"
    );
}
