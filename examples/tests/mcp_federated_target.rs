//! The runnable gateway names the federated target of an MCP call for its checks: a check
//! added to the policy stack reads the upstream and the name (`FederatedTarget`) a prefixed
//! tool name stands for, and can decide on the upstream alone.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::sync::{Arc, Mutex};

use agent_gateway_core::testkit::TestClient;
use agent_gateway_core::{AgentRequest, Denied};
use agent_gateway_examples::config::Config;
use agent_gateway_examples::{app, policy::Policies};
use agent_gateway_mcp::naming::FederatedTarget;
use serde_json::{Value, json};

type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// The gateway with two demo upstreams, `alpha` and `beta`, and a check that records every
/// federated target it sees and refuses any call to `beta`.
async fn gateway(seen: Seen) -> TestClient<axum::Router> {
    let toml = "[auth]\nrequired = false\n[mcp]\nallowed_hosts = [\"*\"]\n\
                [[mcp.upstreams]]\nname = \"alpha\"\ndemo = true\n\
                [[mcp.upstreams]]\nname = \"beta\"\ndemo = true\n";
    let config = Config::from_toml_str(toml).unwrap();
    let check = move |req: &dyn AgentRequest| {
        let Some(target) = req.parts().extensions().get::<FederatedTarget>() else {
            return Ok(());
        };
        seen.lock()
            .unwrap()
            .push((target.upstream().to_owned(), target.name().to_owned()));
        if target.upstream() == "beta" {
            return Err(Denied::forbidden("beta is closed"));
        }
        Ok(())
    };
    let policies = Policies::from_config(&config)
        .await
        .unwrap()
        .with_check(check);
    TestClient::new(app::router(&config, &policies).unwrap())
}

/// One modern `tools/call` through the gateway; the JSON-RPC answer.
async fn call(client: &TestClient<axum::Router>, name: &str) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
        "name": name,
        "arguments": {"text": "hi"},
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {}
        }
    }});
    let res = client
        .post("/mcp")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", name)
        .json(&body)
        .send()
        .await;
    res.json()
}

#[tokio::test]
async fn a_check_sees_the_upstream_and_name_of_a_federated_call() {
    let seen = Seen::default();
    let client = gateway(seen.clone()).await;

    // Allowed: alpha's echo runs.
    let ok = call(&client, "alpha__echo").await;
    assert!(ok.get("error").is_none(), "{ok}");
    assert_eq!(
        ok["result"]["content"][0]["text"], "echo:{\"text\":\"hi\"}",
        "{ok}"
    );

    // Denied: the same tool on beta is refused by the check, on the upstream alone.
    let denied = call(&client, "beta__echo").await;
    assert!(denied.get("result").is_none(), "{denied}");
    assert!(
        denied["error"]["message"]
            .as_str()
            .unwrap()
            .contains("beta is closed"),
        "{denied}"
    );

    assert_eq!(
        *seen.lock().unwrap(),
        [
            ("alpha".to_owned(), "echo".to_owned()),
            ("beta".to_owned(), "echo".to_owned())
        ]
    );
}
