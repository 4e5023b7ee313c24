//! Resource URIs inside results, through a federation: a tool's resource links and embedded
//! resources, and a prompt's, name resources as the client knows them (`server+uri`), so the
//! client can read what it was pointed to (issue #13 item 8). Both client eras, in-process.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use agent_gateway_core::BoxError;
use agent_gateway_mcp::naming::ServerName;
use agent_gateway_mcp::router::federation::{Federation, Member};
use agent_gateway_mcp::testkit::{FakeMcpServer, McpClient};
use agent_gateway_mcp::upstream::UpstreamRequest;
use agent_gateway_mcp::{McpFront, McpFrontConfig};
use serde_json::{Map, Value, json};

fn name(s: &str) -> ServerName {
    ServerName::new(s).unwrap()
}

/// An upstream whose tool and prompt point at its resource `demo://resource/1`, which it
/// serves, and at one it embeds.
fn upstream() -> impl tower::Service<
    UpstreamRequest,
    Response = Map<String, Value>,
    Error = BoxError,
    Future = impl Send,
> + Clone
+ Send
+ Sync
+ 'static {
    tower::service_fn(|req: UpstreamRequest| async move {
        let link = json!({"type": "resource_link", "uri": "demo://resource/1", "name": "one"});
        let embedded = json!({"type": "resource",
            "resource": {"uri": "demo://resource/2", "text": "two", "mimeType": "text/plain"}});
        let result = match req.method_name() {
            "tools/call" => json!({"content": [
                {"type": "text", "text": "links"}, link, embedded,
                // Not a resource: its `uri`-looking text is nobody's to rewrite.
                {"type": "text", "text": "demo://resource/1", "uri": "demo://resource/1"}]}),
            "prompts/get" => json!({"messages": [
                {"role": "user", "content": link},
                {"role": "user", "content": [embedded]}]}),
            "resources/read" => {
                let uri = req.params()["uri"].as_str().unwrap_or_default().to_owned();
                if uri != "demo://resource/1" {
                    return Err(BoxError::from(format!("unknown resource {uri}")));
                }
                json!({"contents": [{"uri": uri, "text": "one"}]})
            }
            _ => json!({}),
        };
        Ok::<_, BoxError>(result.as_object().cloned().unwrap_or_default())
    })
}

#[tokio::test]
async fn linked_and_embedded_resources_are_named_as_the_client_reads_them() {
    let fed = Federation::builder()
        .member(Member::new(name("demo"), upstream()))
        .member(Member::new(name("other"), FakeMcpServer::new()))
        .build()
        .unwrap();
    let front = McpFront::new(fed, McpFrontConfig::new("gw", "1").unwrap());
    for client in [
        McpClient::modern(front.clone()),
        McpClient::legacy(front.clone()),
    ] {
        let result = client.call_tool("demo__links", json!({})).await.unwrap();
        let content = &result["content"];
        assert_eq!(content[1]["uri"], "demo+demo://resource/1");
        assert_eq!(content[2]["resource"]["uri"], "demo+demo://resource/2");
        assert_eq!(content[2]["resource"]["text"], "two");
        assert_eq!(
            content[3]["uri"], "demo://resource/1",
            "a text block is left alone"
        );

        // The link reads through the gateway, from the upstream that made it.
        let uri = content[1]["uri"].as_str().unwrap();
        let read = client
            .request("resources/read", json!({"uri": uri}))
            .await
            .unwrap();
        assert_eq!(read["contents"][0]["uri"], uri);
        assert_eq!(read["contents"][0]["text"], "one");

        let prompt = client
            .request("prompts/get", json!({"name": "demo__p"}))
            .await
            .unwrap();
        let messages = &prompt["messages"];
        assert_eq!(messages[0]["content"]["uri"], "demo+demo://resource/1");
        assert_eq!(
            messages[1]["content"][0]["resource"]["uri"],
            "demo+demo://resource/2"
        );
    }
}

#[tokio::test]
async fn an_unprefixed_members_links_are_already_the_clients() {
    let fed = Federation::builder()
        .member(Member::new(name("demo"), upstream()).without_prefix())
        .member(Member::new(name("other"), FakeMcpServer::new()))
        .build()
        .unwrap();
    let client = McpClient::modern(McpFront::new(fed, McpFrontConfig::new("gw", "1").unwrap()));
    let result = client.call_tool("links", json!({})).await.unwrap();
    assert_eq!(result["content"][1]["uri"], "demo://resource/1");
    let read = client
        .request("resources/read", json!({"uri": "demo://resource/1"}))
        .await
        .unwrap();
    assert_eq!(read["contents"][0]["text"], "one");
}
