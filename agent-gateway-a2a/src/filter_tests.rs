#![allow(clippy::unwrap_used, reason = "tests")]

use std::task::{Context, Poll, Waker};

use agent_gateway_core::AgentResponse;
use agent_gateway_core::content::TextFilter;
use serde_json::{Value, json};

use crate::body::full;
use crate::error::A2aError;
use crate::response::{A2aResponse, Reply};
use crate::stream::EventStream;

fn mask() -> Box<dyn TextFilter> {
    agent_gateway_core::testkit::Mask::boxed()
}

fn sse(results: &[Value]) -> String {
    results
        .iter()
        .map(|r| {
            format!(
                "data: {}\n\n",
                json!({"jsonrpc": "2.0", "id": 1, "result": r})
            )
        })
        .collect()
}

/// Relays `results` through a filtered stream response; the results, then the error if any.
fn relay(results: &[Value]) -> (Vec<Value>, Option<A2aError>) {
    let mut res = A2aResponse::stream(EventStream::new(full(sse(results)), Box::new(Ok)));
    res.filter_text(mask()).unwrap();
    let Reply::Stream(mut events) = res.into_reply() else {
        panic!("a stream")
    };
    let mut cx = Context::from_waker(Waker::noop());
    let mut out = Vec::new();
    loop {
        match events.poll_next(&mut cx) {
            Poll::Ready(Some(Ok(v))) => out.push(v),
            Poll::Ready(Some(Err(e))) => return (out, Some(e)),
            Poll::Ready(None) => return (out, None),
            Poll::Pending => panic!("in-memory body"),
        }
    }
}

fn chunk(text: &str, append: bool, last: bool) -> Value {
    json!({"artifactUpdate": {"taskId": "t", "contextId": "c",
        "artifact": {"artifactId": "a", "parts": [{"text": text}]}, "append": append, "lastChunk": last}})
}

fn artifact_text(events: &[Value]) -> String {
    events
        .iter()
        .filter_map(|e| e.pointer("/artifactUpdate/artifact/parts/0/text"))
        .map(|t| t.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn an_artifact_streamed_in_chunks_is_filtered_as_one_text() {
    let text = "my secret is a secret";
    for i in 0..=text.len() {
        let (events, err) = relay(&[
            chunk(&text[..i], false, false),
            chunk(&text[i..], true, true),
        ]);
        assert!(err.is_none());
        assert_eq!(events.len(), 2, "split at {i}");
        assert_eq!(
            artifact_text(&events),
            "my ****** is a ******",
            "split at {i}"
        );
    }
}

#[test]
fn held_text_goes_out_in_an_extra_chunk_before_the_next_event() {
    let status = json!({"statusUpdate": {"taskId": "t", "contextId": "c",
        "status": {"state": "TASK_STATE_COMPLETED", "message": {"role": "ROLE_AGENT", "parts": [{"text": "the secret"}]}}}});
    let (events, _) = relay(&[chunk("ends with sec", false, false), status]);
    assert_eq!(events.len(), 3);
    assert_eq!(artifact_text(&events), "ends with sec");
    assert_eq!(events[1]["artifactUpdate"]["append"], true);
    assert_eq!(events[1]["artifactUpdate"]["artifact"]["artifactId"], "a");
    assert_eq!(
        events[2]
            .pointer("/statusUpdate/status/message/parts/0/text")
            .unwrap(),
        "the ******"
    );

    // 0.3 events keep their shape.
    let v03 = |text: &str| {
        json!({"kind": "artifact-update", "taskId": "t", "contextId": "c",
            "artifact": {"artifactId": "a", "parts": [{"kind": "text", "text": text}]}, "append": true})
    };
    let (events, _) = relay(&[v03("a se"), v03("cret, sec")]);
    assert_eq!(events.len(), 3);
    assert_eq!(events[2]["kind"], "artifact-update");
    assert_eq!(
        events[2]["artifact"]["parts"][0],
        json!({"kind": "text", "text": "sec"})
    );
    let text: String = events
        .iter()
        .map(|e| {
            e["artifact"]["parts"][0]["text"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(text, "a ******, sec");
}

#[test]
fn a_block_ends_the_stream_with_the_guardrail_error() {
    let (events, err) = relay(&[
        chunk("this is ", false, false),
        chunk("a forbidden word", true, false),
        chunk("more", true, true),
    ]);
    assert_eq!(artifact_text(&events), "this is ");
    let obj = err.unwrap().to_error_object();
    assert_eq!(obj.code, -32000);
    let data = obj.data.unwrap();
    assert_eq!(data[0]["reason"], "GUARDRAIL_BLOCKED");
    assert_eq!(data[0]["metadata"]["rule"], "no-forbidden");
}

#[test]
fn a_whole_result_has_its_text_parts_filtered() {
    let task = json!({"task": {"id": "t", "artifacts": [{"artifactId": "a", "parts": [
        {"text": "a secret"}, {"data": {"text": "secret"}}]}],
        "history": [{"role": "ROLE_AGENT", "parts": [{"kind": "text", "text": "secret"}]}]}});
    let mut res = A2aResponse::result(task);
    res.filter_text(mask()).unwrap();
    let out = res.output().unwrap();
    assert_eq!(
        out.pointer("/task/artifacts/0/parts/0/text").unwrap(),
        "a ******"
    );
    // A data part is data, not text.
    assert_eq!(
        out.pointer("/task/artifacts/0/parts/1/data/text").unwrap(),
        "secret"
    );
    assert_eq!(
        out.pointer("/task/history/0/parts/0/text").unwrap(),
        "******"
    );

    let mut res = A2aResponse::result(json!({"message": {"parts": [{"text": "forbidden"}]}}));
    res.filter_text(mask()).unwrap();
    let Reply::Denied(denied) = res.into_reply() else {
        panic!("denied")
    };
    assert_eq!(denied.rule(), Some("no-forbidden"));
    assert!(A2aResponse::agents(vec![]).filter_text(mask()).is_err());
}
