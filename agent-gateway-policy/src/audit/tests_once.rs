//! A call's arguments are read (serialised and hashed) once, however many taps refresh its
//! record, and read again only after a guardrail (or any layer keeping the `Rewritten`
//! contract) rewrote them; and how a failed call's error is told apart: the upstream's or the
//! gateway's own.

use agent_gateway_core::{Action, AgentRequest, Call, Caller, RunId};
use serde_json::json;
use tower::{ServiceBuilder, ServiceExt};

use super::record::counted;
use super::tests::{dir, ok_upstream};
use super::*;
use crate::guard::{GuardLayer, Verdict};

fn log(dir: &std::path::Path) -> AuditLog {
    let sink = JsonlSink::open(dir, Rotation::default()).unwrap();
    AuditLog::start(sink, AuditOptions::new()).unwrap()
}

/// What auth and run resolution do on the way in: the caller and run appear after the audit
/// layer has taken its first look.
fn authenticate(mut call: Call) -> Call {
    call.set_caller(Caller::new("ann"));
    call.set_run_id(RunId::new("run-7").unwrap());
    call
}

fn big_call() -> Call {
    let turns: Vec<_> = (0..64)
        .map(|i| json!({"role": "user", "content": format!("turn {i}")}))
        .collect();
    Call::new(Action::ModelCall, json!({"model": "m", "messages": turns})).with_target("m")
}

// Current-thread runtime: the whole call runs on this thread, whose counter is read.
#[tokio::test]
async fn arguments_are_read_once_through_the_layer_and_two_taps() {
    for mode in [Arguments::Digest, Arguments::Full] {
        let dir = dir(&format!("once-{mode:?}"));
        let log = log(&dir);
        let stack = ServiceBuilder::new()
            .layer(AuditLayer::new(log.clone()).with_arguments(mode))
            .map_request(authenticate)
            .layer(AuditTapLayer)
            .layer(AuditTapLayer)
            .service(ok_upstream());
        let before = counted::reads();
        stack.oneshot(big_call()).await.unwrap();
        assert_eq!(counted::reads() - before, 1, "{mode:?}");
        log.flush().await.unwrap();
        let r = read(&dir).unwrap().remove(0);
        // The identity is the one the taps saw, the arguments those the layer read.
        assert_eq!(r.caller.map(|c| c.subject), Some("ann".to_owned()));
        assert_eq!(r.run_id.as_deref(), Some("run-7"));
        let sent = big_call().arguments().cloned().unwrap();
        use sha2::Digest as _;
        let text = serde_json::to_string(&sent).unwrap();
        let digest = super::record::hex(&sha2::Sha256::digest(text.as_bytes()));
        assert_eq!(r.arguments_sha256, Some(digest));
        match mode {
            Arguments::Full => assert_eq!(r.arguments.unwrap().to_value().unwrap(), sent),
            _ => assert!(r.arguments.is_none()),
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[tokio::test]
async fn arguments_a_guardrail_rewrote_are_read_again_and_recorded_redacted() {
    let dir = dir("once-redacted");
    let log = log(&dir);
    let redact = |req: &mut dyn AgentRequest| match req.arguments_mut() {
        Some(args) => {
            args["pw"] = json!("***");
            Verdict::mutated("pw")
        }
        None => Verdict::Pass,
    };
    let stack = ServiceBuilder::new()
        .layer(AuditLayer::new(log.clone()).with_arguments(Arguments::Full))
        .map_request(authenticate)
        .layer(AuditTapLayer)
        .layer(GuardLayer::new().with(redact))
        .layer(AuditTapLayer)
        .service(ok_upstream());
    let before = counted::reads();
    let call = Call::new(Action::ToolCall, json!({"pw": "hunter2"})).with_target("login");
    stack.oneshot(call).await.unwrap();
    assert_eq!(
        counted::reads() - before,
        2,
        "once at the layer, once after the rewrite"
    );
    log.flush().await.unwrap();
    let r = read(&dir).unwrap().remove(0);
    assert_eq!(
        r.arguments.unwrap().to_value().unwrap(),
        json!({"pw": "***"})
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The [`Rewritten`](crate::guard::Rewritten) contract, for a layer that is not a guardrail:
/// a rewrite it notes is in the record; one it does not note is not (the documented limit).
#[tokio::test]
async fn a_custom_layer_that_notes_its_rewrite_is_recorded_and_one_that_does_not_is_not() {
    use crate::guard::Rewritten;
    for notes in [true, false] {
        let dir = dir(&format!("once-custom-{notes}"));
        let log = log(&dir);
        let strip_home = move |mut call: Call| {
            if let Some(path) = call.arguments_mut().get_mut("path") {
                *path = json!("~/notes.txt");
                if notes {
                    Rewritten::note(call.extensions_mut(), "strip-home");
                }
            }
            call
        };
        let stack = ServiceBuilder::new()
            .layer(AuditLayer::new(log.clone()).with_arguments(Arguments::Full))
            .map_request(strip_home)
            .layer(AuditTapLayer)
            .service(ok_upstream());
        let call = Call::new(Action::ToolCall, json!({"path": "/home/ann/notes.txt"}));
        stack.oneshot(call.with_target("fs.read")).await.unwrap();
        log.flush().await.unwrap();
        let r = read(&dir).unwrap().remove(0);
        let want = if notes {
            "~/notes.txt"
        } else {
            "/home/ann/notes.txt"
        };
        assert_eq!(
            r.arguments.unwrap().to_value().unwrap(),
            json!({"path": want})
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// An error tagged as the upstream's is recorded as such (kind, status, code, who served);
/// an untagged one is the gateway's own, `internal`.
#[tokio::test]
async fn upstream_errors_are_recorded_apart_from_the_gateways_own() {
    use agent_gateway_core::BoxError;
    use agent_gateway_core::response::{Failure, ServedBy, UpstreamCode, UpstreamError};
    use agent_gateway_core::testkit::FakeUpstream;
    let dir = dir("once-upstream-errors");
    let log = log(&dir);
    let upstream = FakeUpstream::new(|call: Call| {
        let err: BoxError = match call.target() {
            Some("answered") => UpstreamError::new(Failure::Upstream, "tool error")
                .with_code(UpstreamCode::jsonrpc(-32042).with_http(http::StatusCode::BAD_GATEWAY))
                .with_served_by(ServedBy::new("web").with_instance("web-2"))
                .into(),
            Some("silent") => UpstreamError::new(Failure::Timeout, "no answer").into(),
            _ => "a bug of ours".into(),
        };
        Err::<agent_gateway_core::response::Reply, _>(err)
    });
    let stack = tower::Layer::layer(&AuditLayer::new(log.clone()), upstream);
    for target in ["answered", "silent", "ours"] {
        let call = Call::new(Action::ToolCall, json!({})).with_target(target);
        assert!(stack.clone().oneshot(call).await.is_err());
    }
    log.flush().await.unwrap();
    let got: Vec<_> = read(&dir)
        .unwrap()
        .into_iter()
        .map(|r| {
            (
                r.error_kind,
                r.upstream_status,
                r.upstream_code,
                r.upstream,
                r.instance,
            )
        })
        .collect();
    let s = |v: &str| Some(v.to_owned());
    assert_eq!(
        got,
        [
            (s("upstream"), Some(502), Some(-32042), s("web"), s("web-2")),
            (s("timeout"), None, None, None, None),
            (s("internal"), None, None, None, None),
        ]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
