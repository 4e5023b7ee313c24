//! Real peers: agents and the client of the PyPI a2a-sdk 1.3.0, with the gateway front (axum on
//! 127.0.0.1) between them. Needs the venv that `.ci/peers` installs; without it the tests skip with a notice, or with
//! `AGW_REQUIRE_PEERS=1` fail, naming it.

mod peers;

use agent_gateway_a2a::seal::Sealer;
use agent_gateway_a2a::version::Version;
use agent_gateway_a2a::webhook::WebhookAllowList;
use serde_json::Value;
use tokio::process::Child;

/// Starts an a2a-sdk agent and returns it with the port it listens on.
async fn agent(mode: &str, name: &str) -> (Child, u16) {
    peers::sdk_agent(&[mode, name]).await
}

/// Runs the a2a-sdk client against `url` and returns its JSON lines.
async fn client(url: &str, mode: &str, binding: &str, version: &str) -> Vec<Value> {
    peers::run_python("client.py", &[url, mode, binding, version], None).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a2a_sdk_client_sends_and_streams_through_the_gateway() {
    let Some(_) = peers::python() else { return };
    let (_complete, complete_port) = agent("complete", "c1").await;
    let (_stream, stream_port) = agent("stream", "s1").await;
    let registry = peers::registry(&[
        ("complete", &[("c1", complete_port, Version::V1_0)]),
        ("streamer", &[("s1", stream_port, Version::V1_0)]),
    ]);
    let (gateway, sealer) = peers::gateway(registry, 5, |c| c).await;
    let base = &gateway.base;

    // 1.0, and 0.3 compatibility mode (translated to the agents' 1.0), on both bindings.
    for (wire, version) in [
        ("JSONRPC", "1.0"),
        ("HTTP+JSON", "1.0"),
        ("JSONRPC", "0.3"),
        ("HTTP+JSON", "0.3"),
    ] {
        let label = format!("{wire} {version}");
        let binding = label.as_str();
        // Send (1.0, blocking): completed, with a sealed id, fetched again by that id.
        let lines = client(&format!("{base}/complete"), "send", wire, version).await;
        let task = &lines.last().expect("the fetched task")["task"];
        let id = task["id"].as_str().expect("a task id");
        let (instance, _) = sealer
            .open(
                "complete",
                &agent_gateway_core::Caller::anonymous().owner_digest(),
                id,
            )
            .expect("the id the client saw is sealed");
        assert_eq!(instance, "c1", "{binding}");
        assert_eq!(task["status"]["state"], "TASK_STATE_COMPLETED", "{binding}");
        assert_eq!(
            task["artifacts"][0]["parts"][0]["text"], "c1 echo: hello gateway",
            "{binding}"
        );
        let lines = client(&format!("{base}/streamer"), "stream", wire, version).await;
        streams_in_order(&sealer, &lines, binding);
    }
}

/// Every streamed event relayed, in order, ending completed, with sealed ids.
fn streams_in_order(sealer: &Sealer, lines: &[Value], binding: &str) {
    let events: Vec<&Value> = lines
        .iter()
        .filter(|l| l["kind"] == "event")
        .map(|l| &l["event"])
        .collect();
    let chunks: Vec<&str> = events
        .iter()
        .filter_map(|e| {
            e.pointer("/artifactUpdate/artifact/parts/0/text")
                .and_then(Value::as_str)
        })
        .collect();
    assert_eq!(
        chunks,
        [
            "s1 chunk 0: hello gateway",
            "s1 chunk 1: hello gateway",
            "s1 chunk 2: hello gateway"
        ],
        "{binding}"
    );
    let last_state = events
        .iter()
        .rev()
        .find_map(|e| e.pointer("/statusUpdate/status/state"));
    assert_eq!(
        last_state,
        Some(&Value::from("TASK_STATE_COMPLETED")),
        "{binding}"
    );
    let task = &lines.last().expect("the fetched task")["task"];
    assert!(
        task["id"].as_str().is_some_and(|id| sealer
            .open(
                "streamer",
                &agent_gateway_core::Caller::anonymous().owner_digest(),
                id
            )
            .is_some()),
        "{binding}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a2a_sdk_tasks_stay_on_their_instance_and_new_ones_fail_over() {
    let Some(_) = peers::python() else { return };
    let (mut first, first_port) = agent("complete", "c1").await;
    let (_second, second_port) = agent("complete", "c2").await;
    let registry = peers::registry(&[(
        "pair",
        &[
            ("c1", first_port, Version::V1_0),
            ("c2", second_port, Version::V1_0),
        ],
    )]);
    let (gateway, sealer) = peers::gateway(registry, 6, |c| c).await;
    let base = &gateway.base;
    let url = format!("{base}/pair");

    // Each run sends, then gets the task by the id it was given: the get must reach the
    // instance that holds the task (the other would answer TaskNotFound and the client fail),
    // and the artifact names the instance that made it.
    let owner_of = |lines: &[Value]| {
        let task = &lines.last().expect("the fetched task")["task"];
        let (instance, _) = sealer
            .open(
                "pair",
                &agent_gateway_core::Caller::anonymous().owner_digest(),
                task["id"].as_str().expect("an id"),
            )
            .expect("sealed");
        assert_eq!(
            task["artifacts"][0]["parts"][0]["text"],
            format!("{instance} echo: hello gateway")
        );
        instance
    };
    // The balancer picks at random, so send until both instances have served (at least four
    // sends; twenty all on one instance would be a one-in-half-a-million fluke, or a bug).
    let mut served = std::collections::BTreeSet::new();
    let mut sends = 0;
    while sends < 4 || (served.len() < 2 && sends < 20) {
        served.insert(owner_of(&client(&url, "send", "JSONRPC", "1.0").await));
        sends += 1;
    }
    assert_eq!(
        served.into_iter().collect::<Vec<_>>(),
        ["c1", "c2"],
        "both instances served, each get reaching the owner"
    );
    // With c1 gone, every new message is served by c2.
    first.kill().await.expect("the agent stops");
    for _ in 0..3 {
        assert_eq!(
            owner_of(&client(&url, "send", "JSONRPC", "1.0").await),
            "c2"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a2a_sdk_input_required_resubscribe_and_cancel() {
    let Some(_) = peers::python() else { return };
    let (_agent, port) = agent("input", "q1").await;
    let registry = peers::registry(&[("asker", &[("q1", port, Version::V1_0)])]);
    let (gateway, sealer) = peers::gateway(registry, 7, |c| {
        c.with_webhooks(
            WebhookAllowList::new()
                .allow("http://127.0.0.1:9/")
                .expect("a prefix"),
        )
    })
    .await;
    let base = &gateway.base;
    for (wire, version) in [
        ("JSONRPC", "1.0"),
        ("HTTP+JSON", "1.0"),
        ("JSONRPC", "0.3"),
        ("HTTP+JSON", "0.3"),
    ] {
        let label = format!("{wire} {version}");
        let lines = client(&format!("{base}/asker"), "input", wire, version).await;
        let asked = lines.iter().filter(|l| l["kind"] == "event").any(|l| {
            let e = &l["event"];
            e.pointer("/task/status/state")
                .or_else(|| e.pointer("/statusUpdate/status/state"))
                == Some(&Value::from("TASK_STATE_INPUT_REQUIRED"))
        });
        assert!(asked, "{label}: the agent asked for input: {lines:?}");
        let canceled = lines
            .iter()
            .find(|l| l["kind"] == "canceled")
            .expect("a cancel");
        assert_eq!(
            canceled["task"]["status"]["state"], "TASK_STATE_CANCELED",
            "{label}"
        );
        let id = canceled["task"]["id"].as_str().expect("an id");
        assert!(
            sealer
                .open(
                    "asker",
                    &agent_gateway_core::Caller::anonymous().owner_digest(),
                    id
                )
                .is_some(),
            "{label}"
        );
        let push = lines
            .iter()
            .find(|l| l["kind"] == "push")
            .expect("a push config");
        assert_eq!(
            push["got"]["url"], "http://127.0.0.1:9/hook",
            "{label}: {push}"
        );
        assert_eq!(push["got"]["token"], "tok", "{label}: {push}");
        assert_eq!(push["got"]["taskId"], id, "{label}: {push}");
        let outside = lines
            .iter()
            .find(|l| l["kind"] == "push-outside")
            .expect("a refused push config");
        assert_eq!(outside["refused"], true, "{label}: {outside}");
        // The webhook is refused as invalid params: typed in JSON-RPC, a 400 in HTTP+JSON.
        if wire == "JSONRPC" {
            assert_eq!(outside["code"], -32602, "{label}: {outside}");
        } else {
            assert_eq!(outside["status"], 400, "{label}: {outside}");
        }
        let subscribed = lines
            .iter()
            .find(|l| l["kind"] == "subscribed")
            .expect("a resubscription event");
        assert_eq!(subscribed["event"]["task"]["id"], id, "{label}");
        let task = &lines.last().expect("the fetched task")["task"];
        assert_eq!(task["status"]["state"], "TASK_STATE_CANCELED", "{label}");
    }
}
