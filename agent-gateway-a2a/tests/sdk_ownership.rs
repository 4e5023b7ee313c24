//! Task ownership with the real a2a-sdk 1.3.0 client (#11 finding 1): alice starts a task
//! through one listener, bob (another caller on another listener of the same gateway: same
//! router, same sealing key) tries to get, cancel, subscribe to, continue and attach a webhook
//! to it, on both bindings and both versions. Every attempt is refused as an unknown task, and
//! alice's task is untouched. Needs the venv of `.ci/peers` (see `peers`).

mod peers;

use agent_gateway_a2a::router::A2aRouter;
use agent_gateway_a2a::seal::Sealer;
use agent_gateway_a2a::version::Version;
use agent_gateway_a2a::webhook::WebhookAllowList;
use agent_gateway_a2a::{A2aFront, A2aFrontConfig, A2aRequest};
use agent_gateway_core::caller::AuthMethod;
use agent_gateway_core::{AgentRequest, Caller, Secret};
use serde_json::Value;
use tower::ServiceExt;

/// Runs the python peer `name` with `args`, and returns its JSON lines.
async fn run(name: &str, args: &[&str]) -> Vec<Value> {
    peers::run_python(name, args, None).await
}

/// Serves `router` with every request made by `caller` (a stand-in for the auth layer).
async fn serve(router: A2aRouter, caller: Caller, hooks: WebhookAllowList) -> peers::Gateway {
    peers::serve(move |base| {
        let authed = tower::service_fn(move |mut req: A2aRequest| {
            req.set_caller(caller.clone());
            router.clone().oneshot(req)
        });
        let config = A2aFrontConfig::new(base)
            .expect("a URL")
            .with_webhooks(hooks);
        A2aFront::new(authed, config)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a2a_sdk_client_cannot_use_another_callers_task() {
    let Some(_) = peers::python() else { return };
    let (_agent, port) = peers::sdk_agent(&["input", "q1"]).await;
    let registry = peers::registry(&[("asker", &[("q1", port, Version::V1_0)])]);
    let hooks = || {
        WebhookAllowList::new()
            .allow("http://127.0.0.1:9/")
            .expect("a prefix")
    };
    let router = A2aRouter::new(
        registry,
        Sealer::new(Secret::new(vec![4; 32])).expect("a key"),
    )
    .with_webhooks(hooks());
    let alice = Caller::new("alice")
        .with_method(AuthMethod::ApiKey)
        .with_tenant("acme");
    let bob = Caller::new("bob")
        .with_method(AuthMethod::ApiKey)
        .with_tenant("globex");
    let alice = serve(router.clone(), alice, hooks()).await;
    let bob = serve(router, bob, hooks()).await;
    let (alice_url, bob_url) = (&alice.base, &bob.base);

    for (wire, version) in [
        ("JSONRPC", "1.0"),
        ("HTTP+JSON", "1.0"),
        ("JSONRPC", "0.3"),
        ("HTTP+JSON", "0.3"),
    ] {
        let label = format!("{wire} {version}");
        // Alice's task waits for input: cancelable, and continuable, by its owner.
        let lines = run(
            "client.py",
            &[&format!("{alice_url}/asker"), "send", wire, version],
        )
        .await;
        let task = &lines.last().expect("the fetched task")["task"];
        let id = task["id"].as_str().expect("a task id").to_owned();
        let state = task["status"]["state"].clone();
        assert_eq!(state, "TASK_STATE_INPUT_REQUIRED", "{label}: {task}");

        let attempts = run(
            "thief.py",
            &[&format!("{bob_url}/asker"), wire, version, &id],
        )
        .await;
        assert_eq!(attempts.len(), 5, "{label}: {attempts:?}");
        for a in &attempts {
            assert_eq!(a["refused"], true, "{label}: {a}");
            if (wire, version) == ("HTTP+JSON", "0.3") {
                // The SDK's 0.3 HTTP+JSON transport reports every 404 as MethodNotFoundError;
                // the gateway's 404 carries TASK_NOT_FOUND (the same route works for alice).
                assert_eq!(a["status"], 404, "{label}: {a}");
            } else {
                assert_eq!(a["error"], "TaskNotFoundError", "{label}: {a}");
                assert_eq!(a["code"], -32001, "{label}: {a}");
            }
        }
        // Alice's task is untouched: still waiting for input, not canceled.
        let control = run(
            "thief.py",
            &[&format!("{alice_url}/asker"), wire, version, &id, "get"],
        )
        .await;
        assert_eq!(control[0]["refused"], false, "{label}: {control:?}");
        assert_eq!(
            control[0]["state"], "TASK_STATE_INPUT_REQUIRED",
            "{label}: {control:?}"
        );
    }
}
