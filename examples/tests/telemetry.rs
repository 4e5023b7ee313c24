//! The gateway's telemetry end to end, in-process against upstreams on loopback ports: each
//! call's span carries the GenAI attributes (an LLM call, whole and streamed, and an MCP tool
//! call), and each upstream receives a `traceparent` of the client's trace under the gateway's
//! own span (for MCP in the HTTP header and in `params._meta`).

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use agent_gateway_core::testkit::{SpanCapture, TestClient};
use agent_gateway_examples::config::Config;
use agent_gateway_examples::{app, policy::Policies};
use serde_json::json;

mod traced;
use traced::{INCOMING, Seen, TRACE, mcp_server, of_our_trace, provider};

#[tokio::test]
async fn llm_and_mcp_calls_have_genai_spans_and_upstreams_get_the_trace() {
    let capture = SpanCapture::default();
    let _guard = capture.install();
    let (llm_seen, mcp_headers, mcp_metas) = (Seen::default(), Seen::default(), Seen::default());
    let llm = provider(llm_seen.clone()).await;
    let mcp = mcp_server(mcp_headers.clone(), mcp_metas.clone()).await;
    let toml = format!(
        "[auth]\nrequired = false\n\
         [llm]\n[[llm.providers]]\nname = \"openai\"\nkind = \"openai\"\nbase_url = \"{llm}/v1\"\n\
         [[llm.deployments]]\nalias = \"gpt\"\nprovider = \"openai\"\nmodel = \"gpt-4o-mini\"\n\
         [mcp]\nallowed_hosts = [\"*\"]\n\
         [[mcp.upstreams]]\nname = \"search\"\nurl = \"{mcp}\"\n"
    );
    let config = Config::from_toml_str(&toml).unwrap();
    let policies = Policies::from_config(&config).await.unwrap();
    let client = TestClient::new(app::router(&config, &policies).unwrap());

    // A whole model call.
    let body = json!({"model": "gpt", "messages": [{"role": "user", "content": "hi"}]});
    let res = client
        .post("/v1/chat/completions")
        .header("traceparent", INCOMING)
        .json(&body)
        .send()
        .await;
    assert_eq!(res.status(), 200, "{}", res.text());
    // A streamed one, read to its end.
    let mut streamed = body.clone();
    streamed["stream"] = json!(true);
    let res = client
        .post("/v1/chat/completions")
        .header("traceparent", INCOMING)
        .json(&streamed)
        .send()
        .await;
    assert_eq!(res.status(), 200, "{}", res.text());
    assert!(res.text().contains("[DONE]"), "{}", res.text());

    let spans = capture.closed_with("agw.protocol");
    assert_eq!(spans.len(), 2, "{spans:#?}");
    for (span, (input, output)) in spans.iter().zip([("3", "4"), ("11", "22")]) {
        assert_eq!(span["gen_ai.operation.name"], "chat", "{span:?}");
        assert_eq!(span["gen_ai.request.model"], "gpt");
        assert_eq!(span["gen_ai.usage.input_tokens"], input, "{span:?}");
        assert_eq!(span["gen_ai.usage.output_tokens"], output, "{span:?}");
        assert_eq!(span["agw.decision"], "allow");
        assert_eq!(span["agw.outcome"], "ok");
        assert_eq!(span["trace_id"], TRACE);
    }
    let sent = llm_seen.take();
    assert_eq!(sent.len(), 2, "{sent:?}");
    sent.iter().for_each(|t| of_our_trace(t));

    // An MCP tool call.
    let params = json!({"name": "search__echo", "arguments": {"q": 1}, "_meta": {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {}
    }});
    let rpc = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params});
    let res = client
        .post("/mcp")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "search__echo")
        .header("traceparent", INCOMING)
        .json(&rpc)
        .send()
        .await;
    assert_eq!(res.status(), 200, "{}", res.text());
    assert_eq!(
        res.json()["result"]["content"][0]["type"],
        "text",
        "{}",
        res.text()
    );
    let spans = capture.closed_with("agw.protocol");
    let tool = spans
        .iter()
        .find(|s| s["agw.protocol"] == "mcp")
        .unwrap_or_else(|| panic!("{spans:#?}"));
    assert_eq!(tool["gen_ai.operation.name"], "execute_tool");
    assert_eq!(tool["gen_ai.tool.name"], "search__echo");
    assert_eq!(tool["mcp.method.name"], "tools/call");
    assert_eq!(tool["trace_id"], TRACE);
    // The upstream's tools/call carried the trace in its header and in `_meta`.
    let (headers, metas) = (mcp_headers.take(), mcp_metas.take());
    assert!(!metas.is_empty(), "the upstream was called");
    of_our_trace(metas.last().unwrap());
    of_our_trace(headers.last().unwrap());
}
