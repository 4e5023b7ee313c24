use agent_gateway_core::response::Reply;
use agent_gateway_core::testkit::FakeUpstream;
use agent_gateway_core::{Action, AgentRequest, BoxError, Call, Caller, Denied, DeniedKind};
use serde_json::json;
use tower::{ServiceBuilder, ServiceExt};

use super::{AsyncCheckLayer, CheckLayer};

fn listing() -> Reply {
    Reply::new(json!({}))
        .with_item(Action::ToolCall, "fs.read", json!({}))
        .with_item(Action::ToolCall, "fs.delete", json!({}))
        .with_item(Action::ToolCall, "db.delete", json!({}))
}

fn call(action: Action, target: Option<&str>, caller: &str) -> Call {
    let call = Call::new(action, json!({})).with_caller(Caller::new(caller));
    match target {
        Some(t) => call.with_target(t),
        None => call,
    }
}

fn no_deletes(req: &dyn AgentRequest) -> Result<(), Denied> {
    match req.target() {
        Some(t) if t.ends_with("delete") => Err(Denied::forbidden("no").with_rule("no-deletes")),
        _ => Ok(()),
    }
}

/// The names `who` is shown in a tool listing through `svc`.
async fn listed<S>(svc: S, who: &str) -> Vec<String>
where
    S: tower::Service<Call, Response = Reply, Error = BoxError>,
{
    let reply = svc
        .oneshot(call(Action::ListTools, None, who))
        .await
        .unwrap();
    reply.items().map(|i| i.name.to_owned()).collect()
}

fn kind(err: &BoxError) -> Option<DeniedKind> {
    Denied::find(err.as_ref()).map(|d| d.kind().clone())
}

#[tokio::test]
async fn an_allowed_request_reaches_the_inner_service() {
    let upstream = FakeUpstream::new(|_: Call| Ok::<_, BoxError>(Reply::new(json!("done"))));
    let svc = ServiceBuilder::new()
        .layer(CheckLayer::new(no_deletes))
        .service(upstream.clone());
    let reply = svc
        .oneshot(call(Action::ToolCall, Some("fs.read"), "ann"))
        .await
        .unwrap();
    assert_eq!(reply.into_output(), json!("done"));
    assert_eq!(upstream.calls(), 1);
}

#[tokio::test]
async fn a_denied_request_never_reaches_the_inner_service() {
    let upstream = FakeUpstream::new(|_: Call| Ok::<_, BoxError>(Reply::new(json!("done"))));
    let svc = ServiceBuilder::new()
        .layer(CheckLayer::new(no_deletes))
        .service(upstream.clone());
    let err = svc
        .oneshot(call(Action::ToolCall, Some("fs.delete"), "ann"))
        .await
        .unwrap_err();
    let denied = Denied::find(err.as_ref()).unwrap();
    assert_eq!(denied.kind(), &DeniedKind::Forbidden);
    assert_eq!(denied.rule(), Some("no-deletes"));
    assert_eq!(upstream.calls(), 0);
}

#[tokio::test]
async fn checks_in_a_vec_must_all_pass() {
    let upstream = FakeUpstream::new(|_: Call| Ok::<_, BoxError>(Reply::new(json!("done"))));
    let only_ann = |req: &dyn AgentRequest| match req.caller().map(Caller::subject) {
        Some("ann") => Ok(()),
        _ => Err(Denied::unauthenticated("ann only")),
    };
    let checks: Vec<std::sync::Arc<dyn super::Check>> = vec![
        std::sync::Arc::new(no_deletes),
        std::sync::Arc::new(only_ann),
    ];
    let svc = ServiceBuilder::new()
        .layer(CheckLayer::new(checks))
        .service(upstream.clone());
    let ok = svc
        .clone()
        .oneshot(call(Action::ToolCall, Some("a"), "ann"));
    assert!(ok.await.is_ok());
    let bob = svc
        .clone()
        .oneshot(call(Action::ToolCall, Some("a"), "bob"));
    assert_eq!(
        kind(&bob.await.unwrap_err()),
        Some(DeniedKind::Unauthenticated)
    );
    let delete = svc.oneshot(call(Action::ToolCall, Some("fs.delete"), "ann"));
    assert_eq!(
        kind(&delete.await.unwrap_err()),
        Some(DeniedKind::Forbidden)
    );
    assert_eq!(upstream.calls(), 1);
}

#[tokio::test]
async fn a_listing_is_filtered_for_the_caller() {
    let upstream = FakeUpstream::new(|_: Call| Ok::<_, BoxError>(listing()));
    let layer = CheckLayer::new(no_deletes).with_items(|caller, item| {
        caller.is_some_and(|c| c.subject() == "admin") || !item.name.ends_with("delete")
    });
    let svc = ServiceBuilder::new().layer(layer).service(upstream.clone());

    assert_eq!(listed(svc.clone(), "ann").await, ["fs.read"]);
    assert_eq!(
        listed(svc, "admin").await,
        ["fs.read", "fs.delete", "db.delete"]
    );
    assert_eq!(upstream.calls(), 2);
}

#[tokio::test]
async fn a_response_that_is_not_a_listing_is_left_alone() {
    let upstream = FakeUpstream::new(|_: Call| Ok::<_, BoxError>(listing()));
    let layer = CheckLayer::new(()).with_items(|_, _| false);
    let svc = ServiceBuilder::new().layer(layer).service(upstream);
    let reply = svc
        .oneshot(call(Action::ToolCall, Some("fs.read"), "ann"))
        .await
        .unwrap();
    assert_eq!(reply.items().count(), 3);
}

#[tokio::test]
async fn an_async_check_allows_and_denies() {
    let upstream = FakeUpstream::new(|_: Call| Ok::<_, BoxError>(Reply::new(json!("done"))));
    let layer = AsyncCheckLayer::new(|req: &dyn AgentRequest| {
        let verdict = no_deletes(req);
        async move {
            tokio::task::yield_now().await;
            verdict
        }
    });
    let svc = ServiceBuilder::new().layer(layer).service(upstream.clone());
    let ok = svc
        .clone()
        .oneshot(call(Action::ToolCall, Some("fs.read"), "ann"));
    assert_eq!(ok.await.unwrap().into_output(), json!("done"));
    let err = svc
        .oneshot(call(Action::ToolCall, Some("fs.delete"), "ann"))
        .await
        .unwrap_err();
    assert_eq!(kind(&err), Some(DeniedKind::Forbidden));
    assert_eq!(upstream.calls(), 1);
}

#[tokio::test]
async fn an_async_check_filters_a_listing_for_the_caller() {
    let upstream = FakeUpstream::new(|_: Call| Ok::<_, BoxError>(listing()));
    let layer = AsyncCheckLayer::new(|req: &dyn AgentRequest| std::future::ready(no_deletes(req)))
        .with_items(|caller, item| {
            caller.is_some_and(|c| c.subject() == "admin") || !item.name.ends_with("delete")
        });
    let svc = ServiceBuilder::new().layer(layer).service(upstream.clone());

    assert_eq!(listed(svc.clone(), "ann").await, ["fs.read"]);
    assert_eq!(
        listed(svc.clone(), "admin").await,
        ["fs.read", "fs.delete", "db.delete"]
    );

    // Not a listing: the filter leaves the response alone.
    let reply = svc
        .oneshot(call(Action::ToolCall, Some("fs.read"), "ann"))
        .await
        .unwrap();
    assert_eq!(reply.items().count(), 3);
    assert_eq!(upstream.calls(), 3);
}
