//! The README's "a policy decision is written once" example ("Using it as a library"), verbatim
//! but for `main` becoming a test: keep the two in step.

#![allow(clippy::unwrap_used, reason = "test code")]

use agent_gateway_core::response::Reply;
use agent_gateway_core::testkit::FakeUpstream;
use agent_gateway_core::{Action, AgentRequest, BoxError, Call, Caller, Denied};
use agent_gateway_policy::ServiceBuilderExt;
use serde_json::json;
use tower::{ServiceBuilder, ServiceExt};

fn check(req: &dyn AgentRequest) -> Result<(), Denied> {
    match (req.action(), req.caller()) {
        (_, None) => Err(Denied::unauthenticated("no credential")),
        (Action::ToolCall, Some(c))
            if req.target() == Some("fs.delete") && !c.has_role("admin") =>
        {
            Err(Denied::forbidden("admins only").with_rule("fs-delete-admin"))
        }
        _ => Ok(()),
    }
}

#[tokio::test]
async fn the_readme_check_plugs_into_a_stack() {
    let upstream = FakeUpstream::new(|_: Call| Ok::<_, BoxError>(Reply::new(json!("done"))));
    // In an app: `.auth(..).authorize(..).check(check).quota(..).budget(..)`.
    let stack = ServiceBuilder::new().check(check).service(upstream.clone());
    let delete = |caller: Caller| {
        Call::new(Action::ToolCall, json!({}))
            .with_target("fs.delete")
            .with_caller(caller)
    };
    let denied = stack
        .clone()
        .oneshot(delete(Caller::new("bob")))
        .await
        .unwrap_err();
    assert_eq!(
        Denied::find(denied.as_ref()).unwrap().rule(),
        Some("fs-delete-admin")
    );
    let admin = Caller::new("root").with_role("admin");
    assert!(stack.oneshot(delete(admin)).await.is_ok());
    assert_eq!(upstream.calls(), 1); // the denied call never reached it
}
