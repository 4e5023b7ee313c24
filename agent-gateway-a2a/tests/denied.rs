//! A policy denial anywhere in the inner stack's error chain is rendered in A2A's format.

mod support;

use std::time::Duration;

use agent_gateway_a2a::router::A2aRouter;
use agent_gateway_a2a::testkit::FakeAgent;
use agent_gateway_a2a::version::Version;
use agent_gateway_a2a::{A2aFront, A2aFrontConfig, A2aRequest};
use agent_gateway_core::testkit::TestClient;
use agent_gateway_core::{Action, AgentRequest, BoxError, Denied};
use serde_json::json;
use tower::ServiceExt;

#[derive(Debug, thiserror::Error)]
#[error("policy layer failed")]
struct Wrapped(#[source] Denied);

#[tokio::test]
async fn denials_are_rendered_per_kind_and_binding() {
    let fake = FakeAgent::new("echo");
    let router = A2aRouter::new(
        support::registry(&[("echo", &[("i1", &fake, Version::V1_0)])]),
        support::sealer(),
    );
    let policy = tower::service_fn(move |req: A2aRequest| {
        let router = router.clone();
        async move {
            let text = req
                .arguments()
                .and_then(|a| a.pointer("/message/parts/0/text"))
                .and_then(|t| t.as_str())
                .unwrap_or("");
            match (req.action(), text) {
                (Action::AgentMessage, "forbidden") => Err(Box::new(Wrapped(
                    Denied::forbidden("not for you").with_rule("r1"),
                )) as BoxError),
                (Action::AgentMessage, "quota") => {
                    Err(Box::new(Denied::quota_exceeded(Duration::from_millis(1500))) as BoxError)
                }
                (Action::AgentMessage, "boom") => Err(BoxError::from("secret internal detail")),
                _ => router.oneshot(req).await,
            }
        }
    });
    let client = TestClient::new(A2aFront::new(
        policy,
        A2aFrontConfig::new(support::PUBLIC).expect("a URL"),
    ));
    let send = |text: &str| json!({"jsonrpc": "2.0", "id": 3, "method": "SendMessage", "params": {"message": {"messageId": "m", "role": "ROLE_USER", "parts": [{"text": text}]}}});

    let res = client
        .post("/echo")
        .header("a2a-version", "1.0")
        .json(&send("forbidden"))
        .send()
        .await;
    assert_eq!(res.status(), 403);
    let body = res.json();
    assert_eq!(body["id"], 3);
    assert_eq!(body["error"]["code"], -32000);
    assert_eq!(body["error"]["message"], "not for you");
    assert_eq!(body["error"]["data"][0]["reason"], "PERMISSION_DENIED");
    assert_eq!(body["error"]["data"][0]["metadata"]["rule"], "r1");

    let res = client
        .post("/echo")
        .header("a2a-version", "1.0")
        .json(&send("quota"))
        .send()
        .await;
    assert_eq!(res.status(), 429);
    assert_eq!(res.header("retry-after"), Some("2"));
    assert_eq!(res.json()["error"]["data"][0]["reason"], "QUOTA_EXCEEDED");

    let res = client
        .post("/echo")
        .header("a2a-version", "1.0")
        .json(&send("boom"))
        .send()
        .await;
    assert_eq!(res.json()["error"]["code"], -32603);
    assert!(
        !res.text().contains("secret"),
        "no internal detail leaks: {}",
        res.text()
    );

    let rest = client
        .post("/echo/message:send")
        .header("a2a-version", "1.0")
        .json(&json!({"message": {"messageId": "m", "role": "ROLE_USER", "parts": [{"text": "forbidden"}]}}))
        .send()
        .await;
    assert_eq!(rest.status(), 403);
    assert_eq!(rest.json()["error"]["status"], "PERMISSION_DENIED");
    assert_eq!(rest.json()["error"]["code"], 403);
    assert_eq!(fake.calls(), 0);

    // Allowed: the same stack passes an ordinary message through.
    let ok = client
        .post("/echo")
        .header("a2a-version", "1.0")
        .json(&send("hello"))
        .send()
        .await;
    assert_eq!(
        ok.json()["result"]["task"]["status"]["state"],
        "TASK_STATE_COMPLETED"
    );
    assert_eq!(fake.calls(), 1);
}
