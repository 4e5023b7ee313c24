//! The test kit (feature `test-util`): a fake LLM provider, scriptable per test, speaking the
//! OpenAI and Anthropic wire formats.
//!
//! [`FakeProvider`] is an HTTP service: put it under a real provider
//! ([`OpenAiProvider::new(fake, …)`](crate::provider::OpenAiProvider::new)) so the whole path
//! is tested down to the bytes, or serve it on a socket for real clients. It answers in the
//! format of the request path (`…/chat/completions`, `…/responses`, `…/messages`), streams when
//! the request says `stream: true`, and records every request it gets.
//!
//! ```
//! use agent_gateway_llm::testkit::{FakeProvider, Script};
//! use agent_gateway_core::testkit::TestClient;
//! use serde_json::json;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! let fake = FakeProvider::new()
//!     .push(Script::text("Hi!").with_usage(12, 6))
//!     .push(Script::error(429, "slow down").with_retry_after(3));
//! let client = TestClient::new(fake.clone());
//! let body = json!({"model": "claude", "max_tokens": 9, "messages": []});
//!
//! let ok = client.post("/v1/messages").json(&body).send().await;
//! assert_eq!(ok.json()["content"][0]["text"], "Hi!");
//! assert_eq!(ok.json()["usage"]["output_tokens"], 6);
//!
//! let limited = client.post("/v1/messages").json(&body).send().await;
//! assert_eq!(limited.status(), 429);
//! assert_eq!(limited.header("retry-after"), Some("3"));
//! assert_eq!(limited.json()["error"]["type"], "rate_limit_error");
//! assert_eq!(fake.calls(), 2);
//! # });
//! ```

mod fake;
mod script;
mod wire;

pub use fake::{
    FakeBody, FakeProvider, FakeReset, MAX_RECORDED, MAX_RECORDED_BYTES, RecordedRequest,
};
pub use script::Script;

#[cfg(test)]
mod tests {
    use agent_gateway_core::testkit::TestClient;
    use serde_json::json;

    use super::*;

    /// Finding 4: the fake keeps request bodies within a byte bound, however many and however
    /// large the requests, forgetting the oldest first.
    #[tokio::test]
    async fn the_fake_records_bounded_bytes() {
        let fake = FakeProvider::new().with_max_recorded_bytes(1000);
        let client = TestClient::new(fake.clone());
        let body = |n: usize| json!({"model": "m", "messages": [], "pad": "x".repeat(n)});
        for _ in 0..5 {
            client
                .post("/v1/chat/completions")
                .json(&body(300))
                .send()
                .await;
            assert!(fake.recorded_bytes() <= 1000, "{}", fake.recorded_bytes());
        }
        let seen = fake.requests();
        assert_eq!(
            seen.len(),
            2,
            "three bodies of 300+ bytes do not fit in 1000"
        );
        assert_eq!(
            fake.recorded_bytes(),
            seen.iter().map(|r| r.size).sum::<usize>()
        );
        // A body over the bound alone is counted, not kept.
        client
            .post("/v1/chat/completions")
            .json(&body(5000))
            .send()
            .await;
        let last = fake.requests().pop().unwrap();
        assert!(last.body.is_null() && last.size > 5000);
        assert!(fake.recorded_bytes() <= 1000);
        assert_eq!(fake.calls(), 6);
    }
}
