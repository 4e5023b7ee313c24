//! The real `openai` and `anthropic` Python clients against the gateway, over real sockets.
//!
//! The gateway (front → usage recorder → router → HTTP providers) listens on 127.0.0.1:0 in
//! front of the fake provider, itself served by axum on 127.0.0.1:0. The Python script
//! (tests/peers/llm/real_clients.py) checks what the clients parsed; this test checks what the
//! gateway recorded. Install the clients with `.ci/peers`; without them the test skips with a
//! one-line notice, or with `AGW_REQUIRE_PEERS=1` (which `.ci/test` sets) fails.

// Test helpers outside #[test] functions may unwrap too: a failure is a test failure.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::Duration;

use agent_gateway_core::response::{AgentResponse, Outcome};
use agent_gateway_core::{Secret, Usage};
use agent_gateway_llm::provider::{AnthropicProvider, OpenAiProvider};
use agent_gateway_llm::router::{Deployment, LlmRouter};
use agent_gateway_llm::testkit::{FakeProvider, Script};
use agent_gateway_llm::{LlmFront, LlmResponse};
use serde_json::json;
use tokio::sync::mpsc;
use tower::ServiceBuilder;

/// How long the python clients may take, all of their checks together.
const PYTHON_LIMIT: Duration = Duration::from_secs(300);

/// The venv's python, or `None` with a `skipped:` notice (a failure under `AGW_REQUIRE_PEERS=1`).
fn python() -> Option<PathBuf> {
    agent_gateway_core::testkit::peers::find(
        agent_gateway_core::testkit::peers::dir().join("venv/bin/python"),
        "the openai and anthropic python clients",
        "run .ci/peers to install the pinned openai and anthropic clients",
    )
}

async fn serve<S>(service: S) -> String
where
    S: tower::Service<axum::extract::Request, Error = std::convert::Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Response: axum::response::IntoResponse,
    S::Future: Send,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback_service(service);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openai_and_anthropic_python_clients() {
    let Some(python) = python() else { return };
    // The provider's answers, in the order of the script's calls.
    let fake = FakeProvider::new()
        .push(Script::text("Hello there!").with_usage(12, 6))
        .push(Script::text("Streaming hello").with_usage(20, 7))
        .push(Script::text("No usage asked").with_usage(9, 4))
        .push(
            Script::tool_call("call_1", "get_weather", json!({"city": "Paris"})).with_usage(30, 10),
        )
        .push(
            Script::tool_call("call_2", "get_weather", json!({"city": "Oslo"})).with_usage(31, 11),
        )
        .push(Script::text("Bonjour").with_usage(12, 6))
        .push(
            Script::text("Streamed bonjour")
                .with_usage(15, 8)
                .with_cached(3),
        )
        .push(
            Script::tool_call("toolu_1", "get_weather", json!({"city": "Rome"})).with_usage(40, 12),
        )
        // Translated: served in the provider's own wire format.
        .push(Script::text("Translated for OpenAI").with_usage(21, 9))
        .push(
            Script::tool_call("call_x", "get_weather", json!({"city": "Lima"})).with_usage(22, 10),
        )
        // Streamed translation, both ways.
        .push(
            Script::text("Streamed from Anthropic")
                .with_usage(23, 8)
                .with_cached(2),
        )
        .push(
            Script::tool_call("toolu_s", "get_weather", json!({"city": "Kyiv"})).with_usage(24, 9),
        )
        .push(Script::text("Streamed from OpenAI").with_usage(26, 11))
        .push(
            Script::tool_call("call_s", "get_weather", json!({"city": "Kigali"}))
                .with_usage(27, 12),
        )
        // Responses: native, then through a chat-only server.
        .push(Script::text("Native response").with_usage(13, 5))
        .push(Script::text("Native streamed").with_usage(14, 6))
        .push(Script::text("Via chat").with_usage(16, 7))
        .push(Script::text("Via chat streamed").with_usage(17, 8))
        .push(
            Script::tool_call("call_r", "get_weather", json!({"city": "Quito"})).with_usage(18, 9),
        )
        // Resets mid-stream, after the text: OpenAI passthrough and translated, then
        // Anthropic passthrough and translated.
        .push(Script::text("Cut short").with_body_error_after(3))
        .push(
            Script::text("Cut short")
                .with_usage(33, 1)
                .with_body_error_after(5),
        )
        .push(
            Script::text("Cut short")
                .with_usage(34, 1)
                .with_body_error_after(5),
        )
        .push(Script::text("Cut short").with_body_error_after(3))
        // Provider errors whose text must not reach the clients (finding 22).
        .push(Script::error(
            429,
            "Rate limit reached for gpt-4o in organization org-SECRETORG123 on tokens per min",
        ))
        .push(Script::error(
            404,
            "model: claude-secret-internal does not exist",
        ));
    let upstream = serve(fake.clone()).await;

    let router = LlmRouter::builder()
        .provider(
            "openai",
            OpenAiProvider::http(&format!("{upstream}/v1"))
                .unwrap()
                .with_api_key(Secret::new("sk-provider-openai".into())),
        )
        .provider(
            "anthropic",
            AnthropicProvider::http(&upstream)
                .unwrap()
                .with_api_key(Secret::new("sk-provider-anthropic".into())),
        )
        .provider(
            "openai-chat-only",
            OpenAiProvider::http(&format!("{upstream}/v1"))
                .unwrap()
                .with_api_key(Secret::new("sk-provider-openai".into()))
                .with_responses_api(false),
        )
        .alias("gpt-alias", Deployment::new("openai", "gpt-upstream"))
        .alias(
            "gpt-chat-only",
            Deployment::new("openai-chat-only", "gpt-upstream"),
        )
        .alias(
            "claude-for-openai",
            Deployment::new("anthropic", "claude-upstream"),
        )
        .alias(
            "gpt-for-anthropic",
            Deployment::new("openai", "gpt-upstream"),
        )
        .alias(
            "claude-alias",
            Deployment::new("anthropic", "claude-upstream"),
        )
        .build()
        .unwrap();
    // Stands where the user's policy stack goes: records every model call's final usage.
    let (tx, mut rx) = mpsc::unbounded_channel::<(Usage, Outcome)>();
    let recorder = ServiceBuilder::new()
        .map_response(move |res: LlmResponse| {
            let tx = tx.clone();
            if let Some(report) = res.usage_report() {
                report.on_complete(move |usage, outcome| {
                    if usage.steps > 0 {
                        let _ = tx.send((usage.clone(), outcome));
                    }
                });
            }
            res
        })
        .service(router);
    let gateway = serve(LlmFront::new(recorder)).await;

    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/peers/llm/real_clients.py");
    // Bounded: a hung client fails the test instead of the CI job, and is killed with it.
    let run = tokio::process::Command::new(&python)
        .arg(&script)
        .arg(&gateway)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(PYTHON_LIMIT, run)
        .await
        .expect("the python clients finish in time")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "python failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    assert!(stdout.contains("all real-client checks passed"), "{stdout}");

    let mut recorded = Vec::new();
    let mut aborted = Vec::new();
    for _ in 0..23 {
        let (usage, outcome) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .unwrap()
            .unwrap();
        let tokens = (
            usage.input_tokens,
            usage.output_tokens,
            usage.cached_input_tokens,
        );
        match outcome {
            Outcome::Complete => recorded.push(tokens),
            _ => aborted.push(tokens),
        }
    }
    // The streams cut short are charged a floor (finding 5): the input upstream reported
    // before the reset (Anthropic's message_start) or else the request's estimate, and the
    // output relayed so far, counted from the deltas; in the order of the calls.
    assert_eq!(aborted, [(10, 3, 0), (33, 3, 0), (34, 3, 0), (10, 3, 0)]);
    recorded.sort_unstable();
    // What the provider sent; Anthropic's cache reads count inside core's input tokens.
    let mut sent = vec![
        (12, 6, 0),
        (20, 7, 0),
        (9, 4, 0),
        (30, 10, 0),
        (31, 11, 0),
        (12, 6, 0),
        (18, 8, 3),
        (40, 12, 0),
        (21, 9, 0),
        (22, 10, 0),
        (25, 8, 2),
        (24, 9, 0),
        (26, 11, 0),
        (27, 12, 0),
        (13, 5, 0),
        (14, 6, 0),
        (16, 7, 0),
        (17, 8, 0),
        (18, 9, 0),
    ];
    sent.sort_unstable();
    assert_eq!(recorded, sent);

    // Every upstream call carried the provider's key, never the client's.
    let seen = fake.requests();
    // 23 metered calls, then the two provider errors of step 17; the refused requests of
    // step 18 never reach it.
    assert_eq!(seen.len(), 25);
    let paths = |p: &str| seen.iter().filter(|r| r.path == p).count();
    assert_eq!(
        paths("/v1/responses"),
        2,
        "only the native provider is sent Responses"
    );
    let mut translated_from_openai = 0;
    for req in &seen {
        let auth = req
            .headers
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_owned());
        let key = req
            .headers
            .get("x-api-key")
            .map(|v| v.to_str().unwrap().to_owned());
        if req.path == "/v1/messages" {
            assert_eq!(
                (auth, key.as_deref()),
                (None, Some("sk-provider-anthropic"))
            );
            let version = req.headers["anthropic-version"].to_str().unwrap();
            if req.body.get("temperature").is_some() {
                // Translated from the OpenAI client, which sends no version: the default
                // version, which still allows sampling parameters.
                assert_eq!(
                    (version, req.body["temperature"].as_f64()),
                    ("2023-06-01", Some(0.3))
                );
            } else if req.body["stream"] == true && req.body.get("stream_options").is_none() {
                // A streamed translation: no OpenAI-only option leaks upstream.
                assert!(["2023-06-01", "2026-10-21"].contains(&version));
            } else {
                assert_eq!(version, "2026-10-21", "passed through from the SDK");
            }
            if version == "2023-06-01" {
                translated_from_openai += 1;
            }
            assert_eq!(req.body["model"], "claude-upstream");
        } else {
            assert_eq!(
                (auth.as_deref(), key),
                (Some("Bearer sk-provider-openai"), None)
            );
            assert_eq!(req.body["model"], "gpt-upstream");
            if req.body["stream"] == true && req.path == "/v1/chat/completions" {
                assert_eq!(req.body["stream_options"]["include_usage"], true);
            }
        }
    }
    assert_eq!(translated_from_openai, 4, "one plain, three streamed");
}
