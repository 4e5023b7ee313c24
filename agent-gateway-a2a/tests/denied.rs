//! A policy denial anywhere in the inner stack's error chain is rendered in A2A's format, and
//! a guardrail block in a stream is rendered as the same block out of one.

mod support;

use std::time::Duration;

use agent_gateway_a2a::router::A2aRouter;
use agent_gateway_a2a::testkit::FakeAgent;
use agent_gateway_a2a::version::Version;
use agent_gateway_a2a::{A2aFront, A2aFrontConfig, A2aRequest};
use agent_gateway_core::content::{Blocked, TextFilter};
use agent_gateway_core::testkit::TestClient;
use agent_gateway_core::{Action, AgentRequest, AgentResponse, BoxError, Denied};
use serde_json::{Value, json};
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

/// Blocks any text holding `word` (each text part is pushed whole here).
struct BlockOn(&'static str);

impl TextFilter for BlockOn {
    fn push(&mut self, text: &str, out: &mut String) -> Result<(), Blocked> {
        if text.contains(self.0) {
            return Err(Blocked::new("no-forbidden"));
        }
        out.push_str(text);
        Ok(())
    }
    fn finish(&mut self, _: &mut String) -> Result<(), Blocked> {
        Ok(())
    }
}

/// The data events of an SSE body.
fn events(text: &str) -> Vec<Value> {
    text.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).expect("a JSON event"))
        .collect()
}

#[tokio::test]
async fn a_guardrail_block_is_rendered_alike_in_a_stream_and_out_of_one() {
    let fake = FakeAgent::new("echo");
    let router = A2aRouter::new(
        support::registry(&[("echo", &[("i1", &fake, Version::V1_0)])]),
        support::sealer(),
    );
    // A guardrail over the agent's answers: blocks "echo: forbidden" (the agent's artifact,
    // the third event of a stream), or with "early", "forbidden" (also in the first event).
    let guard = tower::service_fn(move |req: A2aRequest| {
        let router = router.clone();
        async move {
            let early = req.parts().headers().contains_key("x-early");
            let mut res = router.oneshot(req).await?;
            let word = if early {
                "forbidden"
            } else {
                "echo: forbidden"
            };
            res.filter_text(Box::new(BlockOn(word)))
                .map_err(|_| BoxError::from("no text"))?;
            Ok::<_, BoxError>(res)
        }
    });
    let client = TestClient::new(A2aFront::new(
        guard,
        A2aFrontConfig::new(support::PUBLIC).expect("a URL"),
    ));
    let message = json!({"messageId": "m", "role": "ROLE_USER", "parts": [{"text": "forbidden"}]});
    let rpc = |method: &str| json!({"jsonrpc": "2.0", "id": 3, "method": method, "params": {"message": message}});
    let post = |path: &str, body: Value, early: bool| {
        let mut req = client.post(path).header("a2a-version", "1.0").json(&body);
        if early {
            req = req.header("x-early", "1");
        }
        req.send()
    };
    // Out of a stream: 403 on HTTP+JSON, the denial's JSON-RPC error on JSON-RPC.
    let unary = post("/echo/message:send", json!({"message": message}), false).await;
    assert_eq!(unary.status(), 403);
    let unary = unary.json();
    assert_eq!(unary["error"]["status"], "PERMISSION_DENIED");
    assert_eq!(unary["error"]["details"][0]["reason"], "GUARDRAIL_BLOCKED");
    let unary_rpc = post("/echo", rpc("SendMessage"), false).await.json();
    assert_eq!(unary_rpc["error"]["code"], -32000);
    // After the first event: the stream ends with the same error, on both bindings.
    let streamed = post("/echo/message:stream", json!({"message": message}), false).await;
    assert_eq!(streamed.status(), 200);
    let evs = events(streamed.text());
    assert!(evs[0]["task"].is_object(), "{evs:?}");
    assert_eq!(evs.last(), Some(&unary), "{evs:?}");
    let streamed = post("/echo", rpc("SendStreamingMessage"), false).await;
    let evs = events(streamed.text());
    assert!(evs[0]["result"]["task"].is_object(), "{evs:?}");
    assert_eq!(evs.last().map(|e| &e["error"]), Some(&unary_rpc["error"]));
    assert_eq!(evs.last().map(|e| &e["id"]), Some(&json!(3)));
    // At the first event, before anything was sent: the same answer as out of a stream.
    let early = post("/echo/message:stream", json!({"message": message}), true).await;
    assert_eq!(early.status(), 403);
    assert_eq!(early.json(), unary);
    let early = post("/echo", rpc("SendStreamingMessage"), true).await;
    assert_eq!(early.status(), 403);
    assert_eq!(early.json(), unary_rpc);
    assert_eq!(fake.calls(), 6);
}
