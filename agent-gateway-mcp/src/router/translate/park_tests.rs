//! Parked calls: bounded per caller and in all (finding 17), bound to their upstream
//! (finding 21).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use agent_gateway_core::BoxError;
use serde_json::{Map, Value, json};

use super::park::STATE_PREFIX;
use super::*;
use crate::request::{ClientHop, Owner};

type Outcome = Result<Map<String, Value>, BoxError>;

/// A legacy-style upstream call that asks the client for its roots, then answers with them.
async fn asking(req: UpstreamRequest) -> Outcome {
    let Some(n) = req.notifier().cloned() else {
        return Ok(Map::new());
    };
    let roots = n
        .request("roots/list", Map::new())
        .await
        .map_err(|e| Box::new(crate::McpError::Upstream(e)) as BoxError)?;
    Ok(
        json!({"content": [{"type": "text", "text": roots["roots"].to_string()}]})
            .as_object()
            .cloned()
            .unwrap_or_default(),
    )
}

fn call(owner: &str, tool: &str, state: Option<&str>) -> UpstreamRequest {
    let mut params = json!({"name": tool}).as_object().cloned().unwrap();
    if let Some(state) = state {
        params.insert("requestState".into(), json!(state));
        params.insert(
            "inputResponses".into(),
            json!({"upstream-1": {"roots": ["file:///a"]}}),
        );
    }
    let hop = ClientHop::new(json!({}), None)
        .with_owner(Some(Owner::of(&agent_gateway_core::Caller::new(owner))));
    UpstreamRequest::new("tools/call", params).with_client(Some(hop))
}

async fn park_one(parked: &Parked, upstream: &str, owner: &str) -> Outcome {
    send_fulfilling_on(upstream, call(owner, "tool", None), parked, asking).await
}

#[tokio::test]
async fn a_caller_over_its_share_is_refused_while_another_still_parks() {
    let parked = Parked::new(6, 4);
    for _ in 0..4 {
        let r = park_one(&parked, "a", "alice").await.unwrap();
        assert_eq!(r["resultType"], "input_required");
    }
    let err = park_one(&parked, "a", "alice").await.unwrap_err();
    assert!(err.to_string().contains("this caller's calls"), "{err}");
    assert_eq!(parked.len(), 4);
    // Bob still gets service, up to the table's bound.
    for _ in 0..2 {
        let r = park_one(&parked, "a", "bob").await.unwrap();
        assert_eq!(r["resultType"], "input_required");
    }
    let err = park_one(&parked, "a", "bob").await.unwrap_err();
    assert!(err.to_string().contains("too many calls"), "{err}");
    assert_eq!(parked.len(), 6, "the table stays at its bound");
}

#[tokio::test]
async fn a_parked_call_resumes_only_through_its_own_upstream() {
    let parked = Parked::default();
    let sent = Arc::new(AtomicUsize::new(0));
    let r = park_one(&parked, "a", "alice").await.unwrap();
    let state = r["requestState"].as_str().unwrap().to_owned();
    assert!(state.starts_with(STATE_PREFIX));
    // The same tool name, the same caller, but through upstream `b`: not found, and `b` is
    // never called.
    let counted = {
        let sent = sent.clone();
        move |req| {
            sent.fetch_add(1, Ordering::SeqCst);
            asking(req)
        }
    };
    let err = send_fulfilling_on("b", call("alice", "tool", Some(&state)), &parked, counted)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("Invalid or expired requestState"),
        "{err}"
    );
    assert_eq!(sent.load(Ordering::SeqCst), 0);
    // Another caller through the right upstream: not found either.
    let err = send_fulfilling_on("a", call("mallory", "tool", Some(&state)), &parked, asking)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("Invalid or expired requestState"),
        "{err}"
    );
    // The owner through `a` resumes it.
    let done = send_fulfilling_on("a", call("alice", "tool", Some(&state)), &parked, asking)
        .await
        .unwrap();
    assert_eq!(done["content"][0]["text"], r#"["file:///a"]"#);
    assert!(parked.is_empty());
}
