//! The `[llm]` options of this wave: provider timeouts and gated features are read into the
//! router's types, and the removed `forward_client_credential` is refused with an explanation.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use agent_gateway_core::{AgentRequest, Cost};
use agent_gateway_examples::config::Config;
use agent_gateway_examples::llm::{cost_estimator, router};
use agent_gateway_llm::provider::{DEFAULT_CONNECT_TIMEOUT, Timeouts};
use agent_gateway_llm::request::Feature;
use agent_gateway_llm::{Api, LlmRequest};
use serde_json::json;

const PROVIDER: &str = "[llm]\n[[llm.providers]]\nname = \"p\"\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:1/v1\"\n";

#[test]
fn timeouts_and_features_are_read_with_defaults() {
    let toml = format!(
        "{PROVIDER}connect_timeout_ms = 1500\n\
         [[llm.deployments]]\nalias = \"a\"\nprovider = \"p\"\nmodel = \"m\"\n\
         timeout_ms = 20000\nstream_idle_timeout_ms = 5000\nfeatures = [\"service_tier\", \"anthropic_beta\"]\n\
         output_usd_per_million = 2.0\n\
         [[llm.deployments]]\nalias = \"b\"\nprovider = \"p\"\nmodel = \"m\"\n"
    );
    let config = Config::from_toml_str(&toml).unwrap();
    let llm = config.llm.as_ref().unwrap();
    assert_eq!(
        llm.providers[0].connect_timeout,
        Duration::from_millis(1500)
    );
    let (a, b) = (&llm.deployments[0], &llm.deployments[1]);
    assert_eq!(
        a.timeouts,
        Timeouts::new(Duration::from_secs(20), Duration::from_secs(5))
    );
    assert_eq!(a.features, [Feature::ServiceTier, Feature::AnthropicBeta]);
    assert_eq!(b.timeouts, Timeouts::default());
    assert!(b.features.is_empty());
    assert!(router(llm).is_ok());
    // The budget's estimate: `max_tokens` of output at the alias's price.
    let req = LlmRequest::decode(
        Api::ChatCompletions,
        json!({"model": "a", "messages": [], "max_tokens": 1000}),
    )
    .unwrap();
    assert_eq!(
        cost_estimator(llm).estimate(&req as &dyn AgentRequest),
        Some(Cost::from_nano_usd(1000 * 2_000))
    );
    // Without max_tokens: the configured default output.
    let toml = toml.replace("[llm]\n", "[llm]\ndefault_output_tokens = 50\n");
    let config = Config::from_toml_str(&toml).unwrap();
    let req =
        LlmRequest::decode(Api::ChatCompletions, json!({"model": "a", "messages": []})).unwrap();
    assert_eq!(
        cost_estimator(config.llm.as_ref().unwrap()).estimate(&req as &dyn AgentRequest),
        Some(Cost::from_nano_usd(50 * 2_000))
    );
    // And the defaults.
    let config = Config::from_toml_str(PROVIDER).unwrap();
    let llm = config.llm.unwrap();
    assert_eq!(llm.providers[0].connect_timeout, DEFAULT_CONNECT_TIMEOUT);
    assert_eq!(
        llm.default_output_tokens,
        agent_gateway_llm::router::DEFAULT_OUTPUT_TOKENS
    );
}

#[test]
fn bad_values_and_the_removed_option_are_refused_with_a_reason() {
    let cases = [
        (
            format!("{PROVIDER}forward_client_credential = true\n"),
            "api_key_env",
        ),
        (
            format!("{PROVIDER}connect_timeout_ms = 0\n"),
            "connect_timeout_ms",
        ),
        (
            format!(
                "{PROVIDER}[[llm.deployments]]\nalias = \"a\"\nprovider = \"p\"\nmodel = \"m\"\nfeatures = [\"free_money\"]\n"
            ),
            "free_money",
        ),
        (
            format!(
                "{PROVIDER}[[llm.deployments]]\nalias = \"a\"\nprovider = \"p\"\nmodel = \"m\"\ntimeout_ms = 0\n"
            ),
            "timeout_ms",
        ),
    ];
    for (toml, needle) in cases {
        let err = Config::from_toml_str(&toml).unwrap_err().to_string();
        assert!(err.contains(needle), "{needle}: {err}");
    }
    // `false` is what it always did: accepted.
    assert!(
        Config::from_toml_str(&format!("{PROVIDER}forward_client_credential = false\n")).is_ok()
    );
}
