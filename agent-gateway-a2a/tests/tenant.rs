//! The tenant sent to an agent is the caller's (#11 finding 1), never one the client names in
//! the REST path or in the params.

mod support;

use agent_gateway_a2a::testkit::FakeAgent;
use agent_gateway_core::Caller;
use agent_gateway_core::caller::AuthMethod;
use serde_json::json;

fn alice() -> Caller {
    Caller::new("alice")
        .with_method(AuthMethod::ApiKey)
        .with_tenant("acme")
}

#[tokio::test]
async fn the_upstream_tenant_is_the_callers_not_the_paths() {
    let fake = FakeAgent::new("echo");
    let client = support::single(&fake);
    let send_path = "/echo/globex/message:send";
    let body =
        json!({"message": {"messageId": "m1", "role": "ROLE_USER", "parts": [{"text": "hi"}]}});
    let res = client
        .post(send_path)
        .header("a2a-version", "1.0")
        .caller(alice())
        .json(&body)
        .send()
        .await;
    assert_eq!(res.status(), 200, "{}", res.text());
    assert_eq!(fake.last_params()["tenant"], "acme");
    let res = client
        .post("/echo")
        .header("a2a-version", "1.0")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "SendMessage",
            "params": {"tenant": "globex", "message": body["message"]}}))
        .send()
        .await;
    assert_eq!(res.status(), 200, "{}", res.text());
    assert!(
        fake.last_params().get("tenant").is_none(),
        "no caller, no tenant"
    );
}
