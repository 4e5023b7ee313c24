use agent_gateway_core::response::{AgentResponse, Failure, Outcome};
use serde_json::json;
use tower::ServiceExt;

use super::tests::body_text;
use super::*;
use crate::Api;
use crate::testkit::{FakeProvider, Script};

/// Each client dialect, each provider, translated or not: a reset after three upstream
/// events ends the client's stream with its own dialect's error event, reported aborted.
#[tokio::test]
async fn a_mid_stream_reset_reaches_every_client_as_its_dialect_error_event() {
    let chat =
        json!({"model": "a", "stream": true, "messages": [{"role": "user", "content": "hi"}]});
    let messages = json!({"model": "a", "stream": true, "max_tokens": 9, "messages": [{"role": "user", "content": "hi"}]});
    let responses = json!({"model": "a", "stream": true, "input": "hi"});
    let chat_error = "data: {\"error\":{\"code\":null,\"message\":\"upstream stream failed\",\"param\":null,\"type\":\"server_error\"}}\n\n";
    let messages_error = "event: error\ndata: {\"error\":{\"message\":\"upstream stream failed\",\"type\":\"api_error\"},\"type\":\"error\"}\n\n";
    let cases = [
        ("openai", Api::ChatCompletions, &chat, chat_error),
        ("openai", Api::Messages, &messages, messages_error),
        ("anthropic", Api::Messages, &messages, messages_error),
        ("anthropic", Api::ChatCompletions, &chat, chat_error),
    ];
    for (provider, api, body, error) in cases {
        let fake = FakeProvider::new().push(Script::text("a long answer").with_body_error_after(3));
        let req = ProviderRequest::new(LlmRequest::decode(api, body.clone()).unwrap(), "up");
        let res = match provider {
            "openai" => {
                OpenAiProvider::new(fake, "http://up/v1")
                    .unwrap()
                    .oneshot(req)
                    .await
            }
            _ => {
                AnthropicProvider::new(fake, "http://up")
                    .unwrap()
                    .oneshot(req)
                    .await
            }
        }
        .unwrap();
        let report = res.usage_report().unwrap().clone();
        let text = body_text(res).await;
        assert!(text.ends_with(error), "{provider} {api:?}: {text}");
        assert_eq!(text.matches("upstream stream failed").count(), 1, "{text}");
        assert_eq!(
            report.usage().unwrap().1,
            Outcome::Failed(Failure::Upstream),
            "{provider} {api:?}"
        );
    }
    // Responses through a chat-only server.
    let fake = FakeProvider::new().push(Script::text("a long answer").with_body_error_after(3));
    let req = ProviderRequest::new(LlmRequest::decode(Api::Responses, responses).unwrap(), "up");
    let res = OpenAiProvider::new(fake, "http://up/v1")
        .unwrap()
        .with_responses_api(false)
        .oneshot(req)
        .await
        .unwrap();
    let text = body_text(res).await;
    assert!(text.contains("event: error\n"), "{text}");
    assert!(!text.contains("response.completed"), "{text}");
}
