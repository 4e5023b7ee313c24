//! A2A data parts against the schemas their agent declares (#15 item 2), through the runnable
//! gateway with a real a2a-sdk agent whose card carries the data-schemas extension
//! (`tests/peers/a2a/agent.py --data-schemas`): a valid data part passes, an invalid one is
//! refused before the agent as invalid params (1.0 on both bindings, 0.3 JSON-RPC), an invalid
//! artifact is refused on a plain and a streamed answer, a config declaration wins over the
//! card, and warn mode passes with the header and the audit warning. Needs the venv of
//! `.ci/peers` (see `peers`).

#![allow(clippy::unwrap_used, reason = "test code")]

mod peers;

use std::path::Path;

use agent_gateway_core::testkit::TestClient;
use agent_gateway_examples::config::{Config, EMBEDDED_DEFAULT};
use agent_gateway_examples::policy::Policies;
use agent_gateway_examples::{app, audit};
use serde_json::{Value, json};
use tokio::process::Child;

/// Starts `agent.py MODE orders --data-schemas`; the process and its port.
async fn agent(python: &Path, mode: &str) -> (Child, u16) {
    peers::a2a_agent(python, "agent.py", &[mode, "orders", "--data-schemas"]).await
}

/// A gateway over agent `orders` at `port`, with a `data_schema` guardrail in `mode`, the
/// agent's `[[a2a.agents]]` entry ending with `extra`, and its audit log in `dir`.
async fn gateway(
    port: u16,
    mode: &str,
    extra: &str,
    dir: &Path,
) -> (TestClient<axum::Router>, Policies) {
    let _ = std::fs::remove_dir_all(dir);
    let mut text = EMBEDDED_DEFAULT.replacen(
        "path = \"audit\"",
        &format!("path = {:?}", dir.display().to_string()),
        1,
    );
    assert_ne!(text, EMBEDDED_DEFAULT, "the default audit path moved");
    text.push_str(&format!(
        "\n[[a2a.agents]]\nname = \"orders\"\n{extra}\n[[a2a.agents.instances]]\nid = \"o-1\"\n\
         url = \"http://127.0.0.1:{port}/\"\nversion = \"1.0\"\n\n\
         [[guardrails]]\nid = \"agent-data\"\nkind = \"data_schema\"\nprotocols = [\"a2a\"]\n\
         mode = \"{mode}\"\n"
    ));
    let config = Config::from_toml_str(&text).unwrap();
    let layer = audit::open(config.audit.as_ref().unwrap()).unwrap();
    let policies = Policies::from_config(&config)
        .await
        .unwrap()
        .with_audit(layer);
    let router = app::router(&config, &policies).unwrap();
    (TestClient::new(router), policies)
}

const KEY: &str = "Bearer agw-demo-key";

/// A 1.0 message with one data part.
fn message(data: Value) -> Value {
    json!({"message": {"messageId": "m1", "role": "ROLE_USER",
        "parts": [{"text": "order"}, {"data": data, "mediaType": "application/json"}]}})
}

/// Sends `data` over the 1.0 JSON-RPC binding with `method`; the response.
async fn rpc(
    client: &TestClient<axum::Router>,
    method: &str,
    data: Value,
) -> agent_gateway_core::testkit::TestResponse {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": message(data)});
    client
        .post("/a2a/orders")
        .header("authorization", KEY)
        .header("a2a-version", "1.0")
        .json(&body)
        .send()
        .await
}

/// The `total` of the answer's first artifact: there only when the agent ran and answered.
fn total(answer: &Value) -> &Value {
    &answer["result"]["task"]["artifacts"][0]["parts"][0]["data"]["total"]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn card_declared_schemas_refuse_bad_data_both_ways() {
    let Some(python) = peers::python() else {
        return;
    };
    let (_agent, port) = agent(&python, "data").await;
    let dir = std::env::temp_dir().join(format!("agw-data-{}", std::process::id()));
    let (client, _policies) = gateway(port, "enforce", "", &dir).await;

    // A valid data part passes and the agent answers with a valid one.
    let res = rpc(&client, "SendMessage", json!({"sku": "a-1", "qty": 2})).await;
    assert_eq!(res.status(), 200, "{}", res.text());
    assert_eq!(total(&res.json()), 42.0, "{}", res.text());

    // Invalid data parts, refused as invalid params naming the part and the schema path: the
    // 1.0 JSON-RPC binding, the 1.0 HTTP+JSON binding, and a 0.3 JSON-RPC request.
    for (data, path) in [
        (json!({"sku": "a-1"}), "/required"),
        (json!({"sku": 7, "qty": 1}), "/properties/sku/type"),
        (
            json!({"sku": "a", "qty": 1, "extra": true}),
            "/additionalProperties",
        ),
    ] {
        let res = rpc(&client, "SendMessage", data.clone()).await;
        assert_eq!(res.status(), 400, "{data}: {}", res.text());
        let error = &res.json()["error"];
        assert_eq!(error["code"], -32602, "{error}");
        assert_eq!(
            error["data"][0]["metadata"]["rule"], "a2a.data-in",
            "{error}"
        );
        let text = error["message"].as_str().unwrap();
        assert!(text.contains("/message/parts/1"), "{text}");
        assert!(text.contains(&format!("schema path {path}")), "{text}");

        let res = client
            .post("/a2a/orders/message:send")
            .header("authorization", KEY)
            .header("a2a-version", "1.0")
            .json(&message(data.clone()))
            .send()
            .await;
        assert_eq!(res.status(), 400, "REST {data}: {}", res.text());
        assert!(res.text().contains("a2a.data-in"), "{}", res.text());
        assert!(
            res.text().contains(&format!("schema path {path}")),
            "{}",
            res.text()
        );

        let v03 = json!({"jsonrpc": "2.0", "id": 3, "method": "message/send", "params": {
            "message": {"kind": "message", "messageId": "m3", "role": "user", "parts": [
                {"kind": "text", "text": "order"},
                {"kind": "data", "data": data, "metadata": {"mimeType": "application/json"}}]}}});
        let res = client
            .post("/a2a/orders")
            .header("authorization", KEY)
            .header("a2a-version", "0.3")
            .json(&v03)
            .send()
            .await;
        assert_eq!(res.status(), 400, "0.3 {data}: {}", res.text());
        assert_eq!(res.json()["error"]["code"], -32602, "{}", res.text());
        assert!(res.text().contains("/message/parts/1"), "{}", res.text());
    }

    // A data part of a media type the agent declares nothing for passes.
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"message": {
        "messageId": "m2", "role": "ROLE_USER",
        "parts": [{"data": [1, 2], "mediaType": "text/csv"}]}}});
    let res = client
        .post("/a2a/orders")
        .header("authorization", KEY)
        .header("a2a-version", "1.0")
        .json(&body)
        .send()
        .await;
    assert_eq!(res.status(), 200, "{}", res.text());
    assert_eq!(total(&res.json()), 42.0);

    // The agent answers with data its card says it never returns: refused, plain.
    let bad_answer = json!({"sku": "a-1", "qty": 1, "bad_answer": true});
    let res = rpc(&client, "SendMessage", bad_answer.clone()).await;
    let answer = res.json();
    assert_eq!(
        answer["error"]["data"][0]["metadata"]["rule"], "a2a.data-out",
        "{answer}"
    );
    let text = answer["error"]["message"].as_str().unwrap();
    assert!(text.contains("/task/artifacts/0/parts/0"), "{text}");
    assert!(
        text.contains("schema path /properties/total/type"),
        "{text}"
    );
    assert!(!res.text().contains("not a number"), "{}", res.text());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_streamed_artifact_ends_the_stream_with_an_error_event() {
    let Some(python) = peers::python() else {
        return;
    };
    let (_agent, port) = agent(&python, "data-stream").await;
    let dir = std::env::temp_dir().join(format!("agw-data-stream-{}", std::process::id()));
    let (client, _policies) = gateway(port, "enforce", "", &dir).await;

    let good = rpc(
        &client,
        "SendStreamingMessage",
        json!({"sku": "a", "qty": 1}),
    )
    .await;
    assert_eq!(good.status(), 200, "{}", good.text());
    let text = good.text();
    assert!(text.contains("\"total\":42"), "{text}");
    assert!(text.contains("TASK_STATE_COMPLETED"), "{text}");
    assert!(!text.contains("\"error\""), "{text}");

    let bad = json!({"sku": "a", "qty": 1, "bad_answer": true});
    let res = rpc(&client, "SendStreamingMessage", bad).await;
    assert_eq!(
        res.status(),
        200,
        "the stream started before the artifact: {}",
        res.text()
    );
    let events: Vec<Value> = res
        .text()
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(|d| serde_json::from_str(d.trim()).unwrap())
        .collect();
    // Events before the artifact went out as they came; the artifact's event is replaced by
    // the error, which ends the stream (no completion follows).
    let last = events.last().unwrap();
    assert_eq!(
        last["error"]["data"][0]["metadata"]["rule"], "a2a.data-out",
        "{events:?}"
    );
    assert!(events.len() >= 2, "{events:?}");
    assert!(
        events[..events.len() - 1]
            .iter()
            .all(|e| e.get("result").is_some()),
        "{events:?}"
    );
    assert!(!res.text().contains("not a number"), "{}", res.text());
    assert!(
        !res.text().contains("TASK_STATE_COMPLETED"),
        "{}",
        res.text()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_wins_over_the_card_and_warn_mode_passes_flagged() {
    let Some(python) = peers::python() else {
        return;
    };
    let (_agent, port) = agent(&python, "data").await;

    // Config declares `qty` a string, where the card says a number; the card's `sku` string
    // is not required by the config's schema. Config wins.
    let dir = std::env::temp_dir().join(format!("agw-data-cfg-{}", std::process::id()));
    let extra = "data_schemas = { accepts = { \"application/json\" = { type = \"object\", \
                 properties = { qty = { type = \"string\" } } } } }";
    let (client, _policies) = gateway(port, "enforce", extra, &dir).await;
    let res = rpc(&client, "SendMessage", json!({"qty": "two"})).await;
    assert_eq!(
        res.status(),
        200,
        "the card would refuse it: {}",
        res.text()
    );
    let res = rpc(&client, "SendMessage", json!({"sku": "a", "qty": 2})).await;
    assert_eq!(res.status(), 400, "the card would pass it: {}", res.text());
    assert!(
        res.text().contains("/properties/qty/type"),
        "{}",
        res.text()
    );
    // The config declares no `returns`: the agent's bad answer passes.
    let res = rpc(
        &client,
        "SendMessage",
        json!({"qty": "1", "bad_answer": true}),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text());
    assert_eq!(total(&res.json()), "not a number");
    std::fs::remove_dir_all(&dir).unwrap();

    // Warn mode, the card's schemas: a bad request and a bad answer pass, flagged.
    let dir = std::env::temp_dir().join(format!("agw-data-warn-{}", std::process::id()));
    let (client, policies) = gateway(port, "warn", "", &dir).await;
    let res = rpc(
        &client,
        "SendMessage",
        json!({"sku": 1, "qty": 1, "bad_answer": true}),
    )
    .await;
    assert_eq!(res.status(), 200, "{}", res.text());
    assert_eq!(total(&res.json()), "not a number");
    let header = res.headers().get("agw-guardrail-warning").unwrap();
    assert_eq!(header, "a2a.data-in, a2a.data-out");
    let res = rpc(&client, "SendMessage", json!({"sku": "a", "qty": 1})).await;
    assert_eq!(res.status(), 200, "{}", res.text());
    assert!(res.headers().get("agw-guardrail-warning").is_none());

    let log = policies.audit().unwrap().log();
    log.flush().await.unwrap();
    let records = agent_gateway_policy::audit::read(&dir).unwrap();
    let mut warnings: Vec<Vec<String>> = records
        .into_iter()
        .filter(|r| r.target.as_deref() == Some("orders"))
        .map(|r| r.warnings)
        .collect();
    warnings.sort();
    assert_eq!(
        warnings,
        [
            vec![],
            vec!["a2a.data-in".to_owned(), "a2a.data-out".to_owned()]
        ]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
