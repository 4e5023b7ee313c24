//! Real peers: the gateway answers as an a2a-sdk 1.3.0 agent would (#13 items 3 and 6). Each
//! table sends the same requests to the agent alone and through the gateway (axum on
//! 127.0.0.1) and fails on any difference in what a client sees: HTTP status, JSON or event
//! stream, error codes, ids. Needs the venv `.ci/peers` installs (see `peers`).

mod peers;
#[path = "support/proto_schema.rs"]
mod proto_schema;

use agent_gateway_a2a::front::CardVersions;
use agent_gateway_a2a::registry::{Agent, AgentRegistry, http_connector};
use agent_gateway_a2a::router::A2aRouter;
use agent_gateway_a2a::seal::Sealer;
use agent_gateway_a2a::version::Version;
use agent_gateway_a2a::{A2aFront, A2aFrontConfig};
use agent_gateway_core::Secret;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// A webhook no allow-list admits (the gateway's is empty here: every webhook is refused).
const OUTSIDE: &str = "http://169.254.169.254/latest";

/// A gateway at the root of a 127.0.0.1 port over one agent `name` at `port`, speaking
/// `version`, which is also the default agent (its card at the root). The front reads the
/// registry's cards; no webhook is allowed.
async fn gateway(name: &str, port: u16, version: Version) -> (String, JoinHandle<()>) {
    let registry = AgentRegistry::builder()
        .agent(
            Agent::new(name)
                .expect("a name")
                .instance(
                    "a1",
                    &format!("http://127.0.0.1:{port}/"),
                    version,
                    http_connector(),
                )
                .expect("an instance"),
        )
        .build()
        .expect("a registry");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let base = format!("http://{}", listener.local_addr().expect("an address"));
    let config = A2aFrontConfig::new(&base)
        .expect("a URL")
        .with_default_agent(name)
        .with_agents(registry.clone());
    let sealer = Sealer::new(Secret::new(vec![8; 32])).expect("a key");
    let front = A2aFront::new(A2aRouter::new(registry, sealer), config);
    let server = tokio::spawn(async move {
        axum::serve(listener, axum::Router::new().fallback_service(front))
            .await
            .expect("the gateway serves");
    });
    (base, server)
}

/// Sends `cases` (raw HTTP, see `raw.py`) to `base`, each case's path prefixed with `prefix`
/// (the agent's own JSON-RPC endpoint is `/`, the gateway's `/{agent}`), except the root card.
async fn raw(base: &str, prefix: &str, cases: &[Value]) -> Vec<Value> {
    let cases: Vec<Value> = cases
        .iter()
        .map(|c| {
            let mut c = c.clone();
            let path = c["path"].as_str().expect("a path");
            if !path.starts_with("/.well-known") {
                c["path"] = format!("{prefix}{path}").into();
            }
            c
        })
        .collect();
    let stdin = Value::from(cases).to_string();
    peers::run_python("raw.py", &[base], Some(&stdin)).await
}

/// What a client sees of an answer: status, kind, and per JSON-RPC message its error code (or
/// "result") and id; for an HTTP+JSON error its ErrorInfo reason.
fn seen(answer: &Value) -> Value {
    let message = |m: &Value| {
        json!({
            "code": m.pointer("/error/code").cloned().unwrap_or_else(|| "result".into()),
            "id": m.get("id").cloned().unwrap_or(Value::Null),
            "reason": m.pointer("/error/details/0/reason").cloned().unwrap_or(Value::Null),
        })
    };
    let body = match &answer["body"] {
        Value::Array(events) => events.iter().map(message).collect(),
        one => message(one),
    };
    json!({"status": answer["status"], "type": answer["type"], "body": body})
}

fn rpc(id: Option<i64>, method: &str, params: Value) -> Value {
    let mut body = json!({"jsonrpc": "2.0", "method": method, "params": params});
    if let Some(id) = id {
        body["id"] = id.into();
    }
    json!({"method": "POST", "path": "/", "body": body})
}

fn v1(mut case: Value) -> Value {
    case["headers"] = json!({"A2A-Version": "1.0"});
    case
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_without_push_gets_32003_through_the_gateway_on_both_bindings() {
    let Some(_) = peers::python() else { return };
    let (_agent, port) = peers::sdk_agent(&["complete", "nopush", "--no-push"]).await;
    let (base, server) = gateway("nopush", port, Version::V1_0).await;
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
    let through = raw(&base, "/nopush", &table).await;
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
    let rest = |method: &str, path: &str, body: Value| json!({"method": method, "path": path, "body": body, "headers": {"A2A-Version": "1.0"}});
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
    let through = raw(&base, "/nopush", &cases).await;
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
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_0_3_agent_answers_the_same_alone_and_through_the_gateway() {
    let Some(_) = peers::python() else { return };
    let (_agent, port) = peers::sdk_agent(&["complete", "old", "--v03"]).await;
    let (base, server) = gateway("old", port, Version::V0_3).await;
    let agent = format!("http://127.0.0.1:{port}");
    // Raw JSON-RPC, as a 0.3 client sends it (no A2A-Version), and the card at the root.
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
        // An unknown task on the streaming method: an event stream carrying the error.
        rpc(Some(11), "tasks/resubscribe", json!({"id": "no-such-task"})),
        // And on a unary one, a plain JSON error.
        rpc(Some(12), "tasks/get", json!({"id": "no-such-task"})),
        json!({"method": "GET", "path": "/.well-known/agent-card.json"}),
    ];
    let alone = raw(&agent, "", &table).await;
    let through = raw(&base, "/old", &table).await;
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
    for url in [&agent, &base] {
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
    for url in [&agent, &base] {
        let lines = peers::run_python("client.py", &[url, "unknown", "JSONRPC", "0.3"], None).await;
        refusals.push(lines.last().cloned().expect("a line"));
    }
    assert_eq!(refusals[0]["code"], -32001, "{refusals:?}");
    assert_eq!(refusals[0], refusals[1]);
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_1_0_only_card_is_strict_and_serves_1_0_clients_while_the_dual_card_serves_0_3() {
    let Some(_) = peers::python() else { return };
    let (_agent, port) = peers::sdk_agent(&["complete", "c1"]).await;
    // One agent process under two names: `strict` with the front's 1.0-only cards, `dual`
    // with the default dual card.
    let url = format!("http://127.0.0.1:{port}/");
    let registry = AgentRegistry::builder()
        .agent(
            Agent::new("strict")
                .expect("a name")
                .instance("c1", &url, Version::V1_0, http_connector())
                .expect("an instance"),
        )
        .agent(
            Agent::new("dual")
                .expect("a name")
                .instance("c1", &url, Version::V1_0, http_connector())
                .expect("an instance"),
        )
        .build()
        .expect("a registry");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let base = format!("http://{}", listener.local_addr().expect("an address"));
    let config = A2aFrontConfig::new(&base)
        .expect("a URL")
        .with_card_versions(CardVersions::V1Only)
        .with_agent_card_versions("dual", CardVersions::Dual);
    let sealer = Sealer::new(Secret::new(vec![9; 32])).expect("a key");
    let front = A2aFront::new(A2aRouter::new(registry, sealer), config);
    let server = tokio::spawn(async move {
        axum::serve(listener, axum::Router::new().fallback_service(front))
            .await
            .expect("the gateway serves");
    });
    let card = |agent: &str| json!({"method": "GET", "path": format!("/{agent}/.well-known/agent-card.json")});
    let cards = raw(&base, "", &[card("strict"), card("dual")]).await;
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
    server.abort();
}
