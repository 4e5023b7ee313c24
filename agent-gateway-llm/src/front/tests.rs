use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use agent_gateway_core::testkit::TestClient;
use agent_gateway_core::{BoxError, Denied};
use serde_json::{Value, json};
use tower::service_fn;

use super::*;
use crate::error::{UpstreamStatus, UpstreamUnavailable};

fn chat() -> Value {
    json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
}

fn messages() -> Value {
    json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]})
}

/// A front whose inner service fails with `make()`.
fn failing(
    make: fn() -> BoxError,
) -> TestClient<
    LlmFront<
        impl Service<LlmRequest, Response = LlmResponse, Error = BoxError, Future = impl Send>
        + Clone
        + Send,
    >,
> {
    TestClient::new(LlmFront::new(service_fn(move |_: LlmRequest| async move {
        Err::<LlmResponse, _>(make())
    })))
}

#[tokio::test]
async fn every_denial_in_both_dialects() {
    type Row = (
        fn() -> BoxError,
        u16,
        &'static str,
        u16,
        &'static str,
        Option<&'static str>,
    );
    let rows: [Row; 11] = [
        (
            || Denied::unauthenticated("no key").into(),
            401,
            "invalid_request_error",
            401,
            "authentication_error",
            None,
        ),
        (
            || Denied::forbidden("not yours").into(),
            403,
            "invalid_request_error",
            403,
            "permission_error",
            None,
        ),
        (
            || Denied::guardrail_blocked("pii").into(),
            403,
            "invalid_request_error",
            403,
            "permission_error",
            None,
        ),
        (
            || Denied::quota_exceeded(Duration::from_millis(2500)).into(),
            429,
            "rate_limit_error",
            429,
            "rate_limit_error",
            Some("3"),
        ),
        (
            || Denied::budget_exhausted("spent").into(),
            429,
            "insufficient_quota",
            402,
            "billing_error",
            None,
        ),
        (
            || Denied::bad_request("nope").into(),
            400,
            "invalid_request_error",
            400,
            "invalid_request_error",
            None,
        ),
        (
            || Denied::unavailable("store down").into(),
            503,
            "server_error",
            503,
            "api_error",
            None,
        ),
        (
            || {
                UpstreamStatus::new(http::StatusCode::TOO_MANY_REQUESTS, "slow")
                    .with_retry_after(Some(Duration::from_secs(7)))
                    .into()
            },
            429,
            "rate_limit_error",
            429,
            "rate_limit_error",
            Some("7"),
        ),
        (
            || UpstreamStatus::new(http::StatusCode::from_u16(529).unwrap(), "busy").into(),
            503,
            "server_error",
            529,
            "overloaded_error",
            None,
        ),
        (
            || UpstreamUnavailable::new("connection refused").into(),
            502,
            "server_error",
            502,
            "api_error",
            None,
        ),
        (
            || "secret internal detail".into(),
            500,
            "server_error",
            500,
            "api_error",
            None,
        ),
    ];
    for (make, oai_status, oai_type, ant_status, ant_type, retry_after) in rows {
        let client = failing(make);
        let res = client
            .post("/v1/chat/completions")
            .json(&chat())
            .send()
            .await;
        let label = make().to_string();
        assert_eq!(res.status().as_u16(), oai_status, "{label}");
        assert_eq!(res.json()["error"]["type"], oai_type, "{label}");
        assert!(
            res.json()["error"].get("param").is_some() && res.json()["error"].get("code").is_some()
        );
        assert_eq!(res.header("retry-after"), retry_after, "{label}");
        assert!(!res.text().contains("secret internal detail"));

        let res = client.post("/v1/messages").json(&messages()).send().await;
        assert_eq!(res.status().as_u16(), ant_status, "{label}");
        assert_eq!(res.json()["type"], "error", "{label}");
        assert_eq!(res.json()["error"]["type"], ant_type, "{label}");
        assert_eq!(res.header("retry-after"), retry_after, "{label}");
    }
    let res = failing(|| Denied::budget_exhausted("spent").into())
        .post("/v1/messages")
        .json(&messages())
        .send()
        .await;
    assert_eq!(res.header("x-should-retry"), Some("false"));
}

#[tokio::test]
async fn decode_errors_never_reach_inner() {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let inner = service_fn(move |_: LlmRequest| {
        seen.fetch_add(1, Ordering::SeqCst);
        async { Ok::<_, BoxError>(LlmResponse::models(["m"], "gw")) }
    });
    let client = TestClient::new(LlmFront::new(inner).with_max_body(64));
    let cases: [(&str, &str, Option<&str>, &str, u16); 7] = [
        (
            "POST",
            "/v1/chat/completions",
            Some("application/json"),
            "{not json",
            400,
        ),
        (
            "POST",
            "/v1/chat/completions",
            Some("text/plain"),
            "{}",
            415,
        ),
        ("POST", "/v1/chat/completions", None, "{}", 415),
        (
            "POST",
            "/v1/chat/completions",
            Some("application/json"),
            &"x".repeat(65),
            413,
        ),
        ("GET", "/v1/chat/completions", None, "", 405),
        (
            "POST",
            "/v1/embeddings",
            Some("application/json"),
            "{}",
            404,
        ),
        ("POST", "/v1/models", Some("application/json"), "{}", 405),
    ];
    for (method, path, ct, body, status) in cases {
        let mut req = client
            .request(method.parse().unwrap(), path)
            .body(body.to_owned());
        if let Some(ct) = ct {
            req = req.header("content-type", ct);
        }
        let res = req.send().await;
        assert_eq!(res.status().as_u16(), status, "{method} {path} {ct:?}");
        assert!(res.json()["error"]["message"].is_string());
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0);

    // The limit holds without a Content-Length too: the test client sends none.
    let res = client
        .get("/v1/models")
        .header("anthropic-version", "2026-10-21")
        .send()
        .await;
    assert_eq!(res.json()["data"][0]["type"], "model");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn headers_and_extensions_reach_the_inner_service() {
    let inner = service_fn(|req: LlmRequest| async move {
        use agent_gateway_core::AgentRequest;
        assert_eq!(req.headers()["authorization"], "Bearer sk-ant");
        assert_eq!(req.headers()["anthropic-version"], "2023-06-01");
        assert_eq!(req.caller().map(|c| c.subject()), Some("alice"));
        Ok::<_, BoxError>(LlmResponse::models(["m"], "gw"))
    });
    let res = TestClient::new(LlmFront::new(inner))
        .post("/anything/v1/messages")
        .header("x-api-key", "sk-ant")
        .header("anthropic-version", "2023-06-01")
        .caller(agent_gateway_core::Caller::new("alice"))
        .json(&messages())
        .send()
        .await;
    assert_eq!(res.status(), 200);
}
