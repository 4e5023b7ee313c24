//! A call's arguments are read (serialised and hashed) once, however many taps refresh its
//! record, and read again only after a guardrail rewrote them.

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
