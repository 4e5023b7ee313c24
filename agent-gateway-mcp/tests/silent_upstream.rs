//! A silent MCP upstream never holds a client: a call gets the JSON-RPC timeout error within
//! the member's configured timeout, whatever the upstream's era and the client's, and an
//! upstream that opens an answer and then goes quiet is given up after the stream-idle
//! timeout.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::convert::Infallible;
use std::time::Duration;

use agent_gateway_mcp::connector::HttpUpstream;
use agent_gateway_mcp::naming::ServerName;
use agent_gateway_mcp::router::federation::{Federation, Member};
use agent_gateway_mcp::testkit::McpClient;
use agent_gateway_mcp::{Era, McpFront, McpFrontConfig};
use bytes::Bytes;
use http::{HeaderValue, Request, Response};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use serde_json::json;
use tokio::time::Instant;

type HttpSvc = tower::util::BoxCloneSyncService<
    Request<Full<Bytes>>,
    Response<BoxBody<Bytes, Infallible>>,
    Infallible,
>;

/// Accepts every request and never answers.
fn silent() -> HttpSvc {
    HttpSvc::new(tower::service_fn(|_req: Request<Full<Bytes>>| {
        std::future::pending::<Result<Response<BoxBody<Bytes, Infallible>>, Infallible>>()
    }))
}

/// Answers every request with SSE headers, then sends nothing, ever.
fn mute_stream() -> HttpSvc {
    HttpSvc::new(tower::service_fn(|_req: Request<Full<Bytes>>| async {
        let never = futures_util::stream::pending::<Result<http_body::Frame<Bytes>, Infallible>>();
        let mut res = Response::new(StreamBody::new(never).boxed());
        res.headers_mut().insert(
            "content-type",
            HeaderValue::from_static("text/event-stream"),
        );
        Ok::<_, Infallible>(res)
    }))
}

fn gateway(up: HttpUpstream<HttpSvc>, timeout: Duration) -> McpFront<Federation> {
    let member = Member::new(ServerName::new("s").unwrap(), up).with_timeout(timeout);
    let fed = Federation::builder().member(member).build().unwrap();
    McpFront::new(fed, McpFrontConfig::new("gw", "1").unwrap())
}

fn client(front: McpFront<Federation>, era: Era) -> McpClient<McpFront<Federation>> {
    match era {
        Era::Modern => McpClient::modern(front),
        _ => McpClient::legacy(front),
    }
}

#[tokio::test(start_paused = true)]
async fn a_silent_upstream_gives_the_timeout_error_within_the_configured_time() {
    let timeout = Duration::from_secs(2);
    for upstream_era in [Era::Modern, Era::Legacy] {
        for client_era in [Era::Modern, Era::Legacy] {
            let up = HttpUpstream::new(silent(), "http://s.test/mcp".parse().unwrap())
                .with_era(upstream_era);
            let client = client(gateway(up, timeout), client_era);
            let start = Instant::now();
            let err = client.call_tool("s__t", json!({})).await.unwrap_err();
            let took = start.elapsed();
            let case = format!("{upstream_era:?} upstream, {client_era:?} client");
            assert_eq!(err.code(), Some(-32011), "{case}: {err}");
            assert!(
                took >= timeout && took <= timeout + Duration::from_millis(100),
                "{case}: {took:?}"
            );
        }
    }
}

#[tokio::test(start_paused = true)]
async fn an_answer_that_goes_quiet_is_given_up_after_the_stream_idle_timeout() {
    let idle = Duration::from_secs(3);
    for era in [Era::Modern, Era::Legacy] {
        let up = HttpUpstream::new(mute_stream(), "http://s.test/mcp".parse().unwrap())
            .with_era(era)
            .with_stream_idle_timeout(idle);
        // The member's own timeout is far longer: the idle timeout is what ends the call.
        let client = client(gateway(up, Duration::from_secs(600)), Era::Modern);
        let start = Instant::now();
        let err = client.call_tool("s__t", json!({})).await.unwrap_err();
        let took = start.elapsed();
        assert_eq!(err.code(), Some(-32010), "{era:?}: {err}");
        assert!(
            took >= idle && took <= idle * 2 + Duration::from_millis(100),
            "{era:?}: {took:?}"
        );
    }
}
