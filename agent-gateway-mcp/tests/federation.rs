//! Federation through the whole stack: the front, a policy layer, the router, fake upstreams
//! in-process and over HTTP in both eras.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::time::Duration;

use agent_gateway_core::{AgentResponse, BoxError};
use agent_gateway_mcp::naming::{NameError, Naming, Separator, ServerName};
use agent_gateway_mcp::router::federation::{Federation, FederationBuilder, Member, ToolView};
use agent_gateway_mcp::testkit::{FakeMcpServer, McpClient};
use agent_gateway_mcp::{McpFront, McpFrontConfig, McpRequest, McpResponse};
use serde_json::{Value, json};
use tower::ServiceExt;
use tower::util::BoxCloneSyncService;

fn name(s: &str) -> ServerName {
    ServerName::new(s).unwrap()
}

fn front<S>(inner: S) -> McpFront<S> {
    McpFront::new(inner, McpFrontConfig::new("gw", "1").unwrap())
}

fn names(tools: &[Value]) -> Vec<String> {
    tools
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

fn text(result: &Value) -> String {
    result["content"][0]["text"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn merged_list_and_calls_routed_to_exactly_the_owner() {
    let a = FakeMcpServer::new()
        .with_echo_tool("echo")
        .with_echo_tool("read")
        .with_page_size(1);
    let b = FakeMcpServer::new().with_echo_tool("echo");
    let fed = Federation::builder()
        .member(Member::new(name("a"), a.clone()))
        .member(Member::new(name("b"), b.clone()))
        .build()
        .unwrap();
    for client in [
        McpClient::modern(front(fed.clone())),
        McpClient::legacy(front(fed.clone())),
    ] {
        let tools = client.list_tools().await.unwrap();
        // Page by page: each page has the next page of every upstream that has one, in
        // upstream order; the test kit client follows the gateway's cursor.
        assert_eq!(names(&tools), ["a__echo", "b__echo", "a__read"]);
    }
    assert_eq!(a.calls_of("tools/list"), 4, "two pages per listing");
    assert_eq!(
        b.calls_of("tools/list"),
        2,
        "one page per listing, not asked again"
    );

    // The gateway's cursor names each upstream's position; it is bound to its method and to
    // this federation's upstreams.
    let client = McpClient::modern(front(fed.clone()));
    let first = client.request("tools/list", json!({})).await.unwrap();
    assert_eq!(
        names(first["tools"].as_array().unwrap()),
        ["a__echo", "b__echo"]
    );
    let cursor = first["nextCursor"].as_str().unwrap().to_owned();
    let second = client
        .request("tools/list", json!({"cursor": cursor}))
        .await
        .unwrap();
    assert_eq!(names(second["tools"].as_array().unwrap()), ["a__read"]);
    assert!(second.get("nextCursor").is_none());
    let before = (a.calls_of("tools/list"), b.calls_of("tools/list"));
    let b64 = |v: Value| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    for bad in [
        json!("not base64 !"),
        json!(7),
        json!(b64(json!({"m": "prompts/list", "p": {"a": "1"}}))),
        json!(b64(json!({"m": "tools/list", "p": {"zz": "1"}}))),
        json!(b64(json!({"m": "tools/list", "p": {"a": 1}}))),
    ] {
        let err = client
            .request("tools/list", json!({"cursor": bad}))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some(-32602), "{bad}");
    }
    assert_eq!(
        (a.calls_of("tools/list"), b.calls_of("tools/list")),
        before,
        "a bad cursor reaches no upstream"
    );

    let client = McpClient::modern(front(fed));
    let out = client.call_tool("b__echo", json!({"q": 1})).await.unwrap();
    assert_eq!(text(&out), r#"echo:{"q":1}"#);
    assert_eq!((a.calls_of("tools/call"), b.calls_of("tools/call")), (0, 1));
    client.call_tool("a__read", json!({})).await.unwrap();
    assert_eq!((a.calls_of("tools/call"), b.calls_of("tools/call")), (1, 1));
    // The owner exists but has no such tool: the owner says so, with its -32602.
    let err = client.call_tool("a__nope", json!({})).await.unwrap_err();
    assert_eq!(err.code(), Some(-32602));
}

#[tokio::test]
async fn hyphenated_and_dotted_names_round_trip() {
    let tools = ["create-issue", "a__b.c", "x-_-y", "v1.2.3", "__lead"];
    let mut gh = FakeMcpServer::new();
    for t in tools {
        gh = gh.with_echo_tool(t);
    }
    let web = FakeMcpServer::new().with_echo_tool("search-web");
    let fed = Federation::builder()
        .member(Member::new(name("git-hub"), gh.clone()))
        .member(Member::new(name("web-search-2"), web.clone()))
        .build()
        .unwrap();
    let client = McpClient::modern(front(fed));
    let listed = names(&client.list_tools().await.unwrap());
    assert_eq!(listed.len(), 6);
    for joined in &listed {
        let out = client.call_tool(joined, json!({})).await.unwrap();
        // The upstream saw its own name: the echo label is the original tool name.
        let (server, original) = joined.split_once("__").unwrap();
        assert_eq!(
            text(&out),
            format!("{original}:{{}}"),
            "{joined} via {server}"
        );
    }
    assert_eq!(gh.calls_of("tools/call"), 5);
    assert_eq!(web.calls_of("tools/call"), 1);
}

#[test]
fn ambiguous_or_duplicate_server_names_are_refused() {
    let s = FakeMcpServer::new();
    let build = |b: FederationBuilder| b.build().map(|_| ()).unwrap_err();
    assert!(matches!(
        build(Federation::builder().member(Member::new(name("my_srv"), s.clone()))),
        NameError::Ambiguous { .. }
    ));
    let dot = Naming::new(Separator::new(".").unwrap());
    assert!(matches!(
        build(
            Federation::builder()
                .naming(dot)
                .member(Member::new(name("v1.2"), s.clone()))
        ),
        NameError::Ambiguous { .. }
    ));
    assert!(matches!(
        build(
            Federation::builder()
                .member(Member::new(name("a"), s.clone()))
                .member(Member::new(name("a"), s))
        ),
        NameError::Duplicate(_)
    ));
}

#[tokio::test]
async fn views_hide_tools_from_lists_and_calls() {
    let a = FakeMcpServer::new()
        .with_echo_tool("read")
        .with_echo_tool("write")
        .with_echo_tool("delete");
    let fed = Federation::builder()
        .member(
            Member::new(name("fs"), a.clone())
                .with_view(ToolView::include(["read", "write"]).exclude(["write"])),
        )
        .build()
        .unwrap();
    let client = McpClient::modern(front(fed));
    assert_eq!(names(&client.list_tools().await.unwrap()), ["fs__read"]);
    for hidden in ["fs__write", "fs__delete"] {
        let err = client.call_tool(hidden, json!({})).await.unwrap_err();
        assert_eq!(err.code(), Some(-32602), "{hidden}");
    }
    assert_eq!(a.calls_of("tools/call"), 0);
}

#[tokio::test]
async fn a_policy_layer_filters_listed_items_through_the_seam() {
    let a = FakeMcpServer::new()
        .with_echo_tool("read")
        .with_echo_tool("delete");
    let fed = Federation::builder()
        .member(Member::new(name("fs"), a))
        .build()
        .unwrap();
    // A policy written once against the core seam, here hiding every `*delete` tool.
    let policy = fed.map_response(|mut res: McpResponse| {
        res.retain_items(&mut |item| !item.name.ends_with("delete"));
        res
    });
    let inner: BoxCloneSyncService<McpRequest, McpResponse, BoxError> =
        BoxCloneSyncService::new(policy);
    let client = McpClient::legacy(front(inner));
    assert_eq!(names(&client.list_tools().await.unwrap()), ["fs__read"]);
}

#[tokio::test(start_paused = true)]
async fn an_upstream_down_or_hanging_is_left_out_and_calls_to_it_fail_in_time() {
    let up = FakeMcpServer::new().with_echo_tool("ok");
    let down = FakeMcpServer::new().with_echo_tool("gone");
    let slow = FakeMcpServer::new().with_echo_tool("late");
    down.set_down(true);
    slow.set_hang(true);
    let members = || {
        Federation::builder()
            .member(Member::new(name("up"), up.clone()))
            .member(Member::new(name("down"), down.clone()))
            .member(Member::new(name("slow"), slow.clone()).with_timeout(Duration::from_secs(2)))
    };
    let client = McpClient::modern(front(members().build().unwrap()));
    let started = tokio::time::Instant::now();
    assert_eq!(names(&client.list_tools().await.unwrap()), ["up__ok"]);
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(2),
        "the listing waits for the slow one's timeout, no longer"
    );

    let err = client.call_tool("down__gone", json!({})).await.unwrap_err();
    assert_eq!(err.code(), Some(-32010));
    assert!(err.message().unwrap().contains("'down'"));
    let started = tokio::time::Instant::now();
    let err = client.call_tool("slow__late", json!({})).await.unwrap_err();
    assert_eq!(err.code(), Some(-32011));
    assert_eq!(started.elapsed(), Duration::from_secs(2));
    client.call_tool("up__ok", json!({})).await.unwrap();

    // Fail closed: the listing fails instead of hiding the broken upstream.
    let closed = McpClient::modern(front(members().fail_closed().build().unwrap()));
    let err = closed.list_tools().await.unwrap_err();
    assert!(matches!(err.code(), Some(-32010 | -32011)), "{err}");
}

#[tokio::test]
async fn prompts_and_resources_are_federated_reversibly() {
    let a = FakeMcpServer::new()
        .with_prompt("greet")
        .with_resource("file:///notes.txt", "a notes");
    let b = FakeMcpServer::new()
        .with_prompt("greet")
        .with_resource("git+ssh://h/r", "b repo");
    let fed = Federation::builder()
        .member(Member::new(name("a"), a.clone()))
        .member(Member::new(name("b-2"), b.clone()))
        .build()
        .unwrap();
    for client in [
        McpClient::modern(front(fed.clone())),
        McpClient::legacy(front(fed.clone())),
    ] {
        let prompts = client.request("prompts/list", json!({})).await.unwrap();
        assert_eq!(
            names(prompts["prompts"].as_array().unwrap()),
            ["a__greet", "b-2__greet"]
        );
        let got = client
            .request("prompts/get", json!({"name": "b-2__greet"}))
            .await
            .unwrap();
        assert_eq!(got["messages"][0]["content"]["text"], "greet");

        let res = client.request("resources/list", json!({})).await.unwrap();
        let uris: Vec<_> = res["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["uri"].clone())
            .collect();
        assert_eq!(
            uris,
            [json!("a+file:///notes.txt"), json!("b-2+git+ssh://h/r")]
        );
        for (uri, text) in [
            ("a+file:///notes.txt", "a notes"),
            ("b-2+git+ssh://h/r", "b repo"),
        ] {
            let read = client
                .request("resources/read", json!({"uri": uri}))
                .await
                .unwrap();
            // The contents name the resource as the client knows it.
            assert_eq!(read["contents"][0]["uri"], uri);
            assert_eq!(read["contents"][0]["text"], text);
        }
        let err = client
            .request("resources/read", json!({"uri": "file:///notes.txt"}))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some(-32602));
        let err = client
            .request("prompts/get", json!({"name": "c__greet"}))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some(-32602));
    }
    assert_eq!(
        (a.calls_of("prompts/get"), b.calls_of("prompts/get")),
        (0, 2)
    );
    assert_eq!(
        (a.calls_of("resources/read"), b.calls_of("resources/read")),
        (2, 2)
    );
}

#[tokio::test]
async fn one_upstream_may_serve_its_names_without_a_prefix() {
    // `main` is unprefixed; one of its tools reads like `extra`'s and is hidden rather than
    // made ambiguous.
    let main = FakeMcpServer::new()
        .with_echo_tool("search")
        .with_echo_tool("extra__shadow")
        .with_resource("test://static", "main text");
    let extra = FakeMcpServer::new()
        .with_echo_tool("search")
        .with_resource("file:///x", "extra text");
    let fed = Federation::builder()
        .member(Member::new(name("main"), main.clone()).without_prefix())
        .member(Member::new(name("extra"), extra.clone()))
        .build()
        .unwrap();
    for client in [
        McpClient::modern(front(fed.clone())),
        McpClient::legacy(front(fed.clone())),
    ] {
        let tools = client.list_tools().await.unwrap();
        assert_eq!(names(&tools), ["search", "extra__search"]);
        let out = client.call_tool("search", json!({})).await.unwrap();
        assert_eq!(text(&out), "search:{}");
        let out = client.call_tool("extra__search", json!({})).await.unwrap();
        assert_eq!(text(&out), "search:{}");
        // The hidden name routes to `extra`, which has no such tool: never to `main`.
        let err = client
            .call_tool("extra__shadow", json!({}))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some(-32602));
        let res = client
            .request("resources/read", json!({"uri": "test://static"}))
            .await
            .unwrap();
        assert_eq!(res["contents"][0]["uri"], "test://static");
        let res = client
            .request("resources/read", json!({"uri": "extra+file:///x"}))
            .await
            .unwrap();
        assert_eq!(res["contents"][0]["uri"], "extra+file:///x");
    }
    assert_eq!(main.calls_of("tools/call"), 2);
    assert_eq!(extra.calls_of("tools/call"), 4);

    // Two unprefixed upstreams could claim the same name: refused.
    let two = Federation::builder()
        .member(Member::new(name("a"), main.clone()).without_prefix())
        .member(Member::new(name("b"), extra).without_prefix())
        .build();
    assert_eq!(two.unwrap_err(), NameError::Unprefixed);
}
