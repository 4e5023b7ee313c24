//! The gateway binary over HTTP/2 with prior knowledge (`h2c`): the fronts answer as they do
//! over HTTP/1.1, a streamed answer arrives event by event, the host check reads
//! `:authority`, and many requests share one connection.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};

mod gateway;

/// How long any one exchange may take on a loaded machine.
const BOUND: Duration = Duration::from_secs(30);

/// The demo caller's credential, from the embedded defaults.
const DEMO_KEY: &str = "Bearer agw-demo-key";

/// One HTTP/2 connection to the gateway.
async fn connect(addr: SocketAddr) -> SendRequest<Full<Bytes>> {
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (send, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .expect("HTTP/2 handshake");
    tokio::spawn(conn);
    send
}

/// POSTs `body` to `authority` + `path`; the status and the whole body.
async fn post(
    send: &mut SendRequest<Full<Bytes>>,
    authority: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: serde_json::Value,
) -> (StatusCode, String) {
    let mut req = Request::post(format!("http://{authority}{path}"))
        .header("authorization", DEMO_KEY)
        .header("content-type", "application/json");
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let req = req
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("request");
    let exchange = async {
        let res = send.send_request(req).await.expect("response");
        assert_eq!(res.version(), http::Version::HTTP_2);
        let status = res.status();
        let body = res.into_body().collect().await.expect("body").to_bytes();
        (status, String::from_utf8(body.to_vec()).expect("utf-8"))
    };
    tokio::time::timeout(BOUND, exchange)
        .await
        .expect("answered in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_front_answers_over_http2_and_the_host_check_reads_the_authority() {
    let gw = gateway::start(&[]);
    let authority = gw.addr.to_string();
    let mut send = connect(gw.addr).await;

    // LLM, plain and streamed.
    let chat =
        serde_json::json!({"model": "demo", "messages": [{"role": "user", "content": "hi"}]});
    let (status, body) = post(
        &mut send,
        &authority,
        "/v1/chat/completions",
        &[],
        chat.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(answer["object"], "chat.completion", "{body}");
    let mut streamed = chat.clone();
    streamed["stream"] = true.into();
    let (status, body) = post(&mut send, &authority, "/v1/chat/completions", &[], streamed).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body.starts_with("data: ") && body.trim_end().ends_with("data: [DONE]"),
        "{body}"
    );

    // MCP, modern era: a tool listing.
    let (headers, list) = gateway::mcp_modern("tools/list", None, serde_json::json!({}));
    let headers: Vec<(&str, &str)> = headers.lines().filter_map(|l| l.split_once(": ")).collect();
    let list: serde_json::Value = serde_json::from_str(&list).expect("JSON");
    let (status, body) = post(&mut send, &authority, "/mcp", &headers, list.clone()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("\"tools\""), "{body}");

    // A rebound name in `:authority` is refused as a rebound `Host` is, on every front.
    for path in ["/v1/chat/completions", "/mcp"] {
        let (status, body) = post(&mut send, "evil.example", path, &headers, list.clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
    }

    // Many requests at once on the one connection.
    let calls = (0..16).map(|_| {
        let mut send = send.clone();
        let authority = authority.clone();
        let chat = chat.clone();
        async move {
            post(&mut send, &authority, "/v1/chat/completions", &[], chat)
                .await
                .0
        }
    });
    let statuses = futures_util::future::join_all(calls).await;
    assert_eq!(statuses, vec![StatusCode::OK; 16]);
}
