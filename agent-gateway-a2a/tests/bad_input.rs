//! Every malformed or refused request gets the spec's error, and no agent is called.

mod support;

use agent_gateway_a2a::testkit::FakeAgent;
use serde_json::{Value, json};

struct Case {
    name: &'static str,
    method: &'static str,
    path: &'static str,
    version: Option<&'static str>,
    content_type: Option<&'static str>,
    body: String,
    status: u16,
    /// The JSON-RPC `error.code`, or for HTTP+JSON the google.rpc `error.code`.
    code: i64,
}

fn rpc(method: &str, params: Value) -> String {
    json!({"jsonrpc": "2.0", "id": 9, "method": method, "params": params}).to_string()
}

fn send_params(message: Value) -> Value {
    json!({"message": message})
}

#[tokio::test]
async fn each_bad_input_gets_the_spec_error_without_calling_the_agent() {
    let ok_message = json!({"messageId": "m1", "role": "ROLE_USER", "parts": [{"text": "hi"}]});
    let foreign = support::sealer()
        .seal(
            "other-agent",
            &agent_gateway_core::Caller::anonymous().owner_digest(),
            "i1",
            "echo-task-1",
        )
        .expect("sealed");
    let cases = vec![
        Case {
            name: "malformed JSON",
            method: "POST",
            path: "/echo",
            version: Some("1.0"),
            content_type: Some("application/json"),
            body: "{not json".into(),
            status: 200,
            code: -32700,
        },
        Case {
            name: "batch",
            method: "POST",
            path: "/echo",
            version: Some("1.0"),
            content_type: Some("application/json"),
            body: "[]".into(),
            status: 200,
            code: -32600,
        },
        Case {
            name: "unknown method",
            method: "POST",
            path: "/echo",
            version: Some("1.0"),
            content_type: Some("application/json"),
            body: rpc("Frobnicate", json!({})),
            status: 200,
            code: -32601,
        },
        Case {
            name: "1.0 name under 0.3",
            method: "POST",
            path: "/echo",
            version: None,
            content_type: Some("application/json"),
            body: rpc("SendMessage", send_params(ok_message.clone())),
            status: 200,
            code: -32009,
        },
        Case {
            name: "0.3 name under 1.0",
            method: "POST",
            path: "/echo",
            version: Some("1.0"),
            content_type: Some("application/json"),
            body: rpc("message/send", send_params(ok_message.clone())),
            status: 200,
            code: -32009,
        },
        Case {
            name: "unsupported version",
            method: "POST",
            path: "/echo",
            version: Some("0.5"),
            content_type: Some("application/json"),
            body: rpc("SendMessage", send_params(ok_message.clone())),
            status: 200,
            code: -32009,
        },
        Case {
            name: "params not an object",
            method: "POST",
            path: "/echo",
            version: Some("1.0"),
            content_type: Some("application/json"),
            body: rpc("GetTask", json!([1])),
            status: 200,
            code: -32602,
        },
        Case {
            name: "missing message id",
            method: "POST",
            path: "/echo",
            version: Some("1.0"),
            content_type: Some("application/json"),
            body: rpc(
                "SendMessage",
                send_params(json!({"role": "ROLE_USER", "parts": [{"text": "hi"}]})),
            ),
            status: 200,
            code: -32602,
        },
        Case {
            name: "missing message",
            method: "POST",
            path: "/echo/",
            version: Some("1.0"),
            content_type: Some("application/json"),
            body: rpc("SendStreamingMessage", json!({})),
            status: 200,
            code: -32602,
        },
        Case {
            name: "unknown agent",
            method: "POST",
            path: "/nobody",
            version: Some("1.0"),
            content_type: Some("application/json"),
            body: rpc("SendMessage", send_params(ok_message.clone())),
            status: 404,
            code: -32601,
        },
        Case {
            name: "unknown task (not sealed)",
            method: "POST",
            path: "/echo",
            version: Some("1.0"),
            content_type: Some("application/json"),
            body: rpc("GetTask", json!({"id": "echo-task-1"})),
            status: 200,
            code: -32001,
        },
        Case {
            name: "tampered task id",
            method: "POST",
            path: "/echo",
            version: Some("1.0"),
            content_type: Some("application/json"),
            body: rpc(
                "CancelTask",
                json!({"id": "g1.aTE.ZWNoby10YXNrLTE.AAAAAAAAAAAAAAAAAAAAAA"}),
            ),
            status: 200,
            code: -32001,
        },
        Case {
            name: "another agent's task id",
            method: "POST",
            path: "/echo",
            version: Some("1.0"),
            content_type: Some("application/json"),
            body: rpc("GetTask", json!({"id": foreign})),
            status: 200,
            code: -32001,
        },
        Case {
            name: "follow-up to an unknown task",
            method: "POST",
            path: "/echo",
            version: Some("1.0"),
            content_type: Some("application/json"),
            body: rpc(
                "SendMessage",
                send_params(
                    json!({"messageId": "m2", "role": "ROLE_USER", "taskId": "t-9", "parts": [{"text": "hi"}]}),
                ),
            ),
            status: 200,
            code: -32001,
        },
        Case {
            name: "wrong Content-Type",
            method: "POST",
            path: "/echo",
            version: Some("1.0"),
            content_type: Some("text/plain"),
            body: rpc("SendMessage", send_params(ok_message.clone())),
            status: 415,
            code: -32005,
        },
        Case {
            name: "no Content-Type",
            method: "POST",
            path: "/echo",
            version: Some("1.0"),
            content_type: None,
            body: rpc("SendMessage", send_params(ok_message.clone())),
            status: 415,
            code: -32005,
        },
        Case {
            name: "oversized body",
            method: "POST",
            path: "/echo",
            version: Some("1.0"),
            content_type: Some("application/json"),
            body: rpc(
                "SendMessage",
                send_params(
                    json!({"messageId": "m1", "role": "ROLE_USER", "parts": [{"text": "x".repeat(5000)}]}),
                ),
            ),
            status: 413,
            code: -32600,
        },
        Case {
            name: "push webhook outside the allow-list",
            method: "POST",
            path: "/echo",
            version: Some("1.0"),
            content_type: Some("application/json"),
            body: rpc(
                "CreateTaskPushNotificationConfig",
                json!({"taskId": "t", "url": "http://169.254.169.254/latest"}),
            ),
            status: 200,
            code: -32602,
        },
        Case {
            name: "inline push webhook outside the allow-list",
            method: "POST",
            path: "/echo",
            version: Some("1.0"),
            content_type: Some("application/json"),
            body: rpc(
                "SendMessage",
                json!({"message": ok_message, "configuration": {"taskPushNotificationConfig": {"url": "https://evil.example.com/"}}}),
            ),
            status: 200,
            code: -32602,
        },
        Case {
            name: "0.3 push webhook outside the allow-list",
            method: "POST",
            path: "/echo",
            version: None,
            content_type: Some("application/json"),
            body: rpc(
                "tasks/pushNotificationConfig/set",
                json!({"taskId": "t", "pushNotificationConfig": {"url": "http://localhost:22/"}}),
            ),
            status: 200,
            code: -32602,
        },
        // HTTP+JSON: google.rpc Status bodies with the HTTP status as their code.
        Case {
            name: "REST unknown task",
            method: "GET",
            path: "/echo/tasks/nope",
            version: Some("1.0"),
            content_type: None,
            body: String::new(),
            status: 404,
            code: 404,
        },
        Case {
            name: "REST tenant unknown task",
            method: "POST",
            path: "/echo/acme/tasks/nope:cancel",
            version: Some("1.0"),
            content_type: None,
            body: String::new(),
            status: 404,
            code: 404,
        },
        Case {
            name: "REST wrong Content-Type",
            method: "POST",
            path: "/echo/message:send",
            version: Some("1.0"),
            content_type: Some("text/plain"),
            body: "{}".into(),
            status: 415,
            code: 415,
        },
        Case {
            name: "REST body without Content-Type",
            method: "POST",
            path: "/echo/message:send",
            version: Some("1.0"),
            content_type: None,
            body: "{}".into(),
            status: 415,
            code: 415,
        },
        Case {
            name: "GET on the JSON-RPC endpoint",
            method: "GET",
            path: "/echo/",
            version: Some("1.0"),
            content_type: None,
            body: String::new(),
            status: 404,
            code: 404,
        },
        Case {
            name: "REST malformed JSON",
            method: "POST",
            path: "/echo/message:send",
            version: Some("1.0"),
            content_type: Some("application/a2a+json"),
            body: "{".into(),
            status: 400,
            code: 400,
        },
        Case {
            name: "REST missing message id",
            method: "POST",
            path: "/echo/v1/message:send",
            version: None,
            content_type: Some("application/json"),
            body: json!({"message": {"role": "user", "parts": []}}).to_string(),
            status: 400,
            code: 400,
        },
        Case {
            name: "REST unknown route",
            method: "GET",
            path: "/echo/frobnicate/x/y",
            version: Some("1.0"),
            content_type: None,
            body: String::new(),
            status: 404,
            code: 404,
        },
        Case {
            name: "REST push webhook outside the allow-list",
            method: "POST",
            path: "/echo/tasks/t/pushNotificationConfigs",
            version: Some("1.0"),
            content_type: Some("application/json"),
            body: json!({"url": "http://10.0.0.1/"}).to_string(),
            status: 400,
            code: 400,
        },
    ];
    for case in cases {
        let fake = FakeAgent::new("echo");
        let client = support::single(&fake);
        let mut req = client
            .request(case.method.parse().expect("a method"), case.path)
            .body(case.body.clone());
        if let Some(v) = case.version {
            req = req.header("a2a-version", v);
        }
        if let Some(ct) = case.content_type {
            req = req.header("content-type", ct);
        }
        let res = req.send().await;
        let body = res.json();
        assert_eq!(
            res.status(),
            case.status,
            "{}: status, body {body}",
            case.name
        );
        assert_eq!(
            body["error"]["code"], case.code,
            "{}: code, body {body}",
            case.name
        );
        if case.path.starts_with("/echo") && case.code < 0 {
            assert_eq!(body["jsonrpc"], "2.0", "{}", case.name);
        }
        assert_eq!(fake.calls(), 0, "{}: the agent was called", case.name);
    }
}

#[tokio::test]
async fn a2a_errors_carry_error_info_and_the_request_id() {
    let fake = FakeAgent::new("echo");
    let res = support::single(&fake)
        .post("/echo")
        .header("a2a-version", "1.0")
        .json(&json!({"jsonrpc": "2.0", "id": "req-7", "method": "GetTask", "params": {"id": "x"}}))
        .send()
        .await;
    let body = res.json();
    assert_eq!(body["id"], "req-7");
    assert_eq!(body["error"]["data"][0]["reason"], "TASK_NOT_FOUND");
    assert_eq!(body["error"]["data"][0]["domain"], "a2a-protocol.org");

    let rest = support::single(&fake)
        .get("/echo/tasks/x")
        .header("a2a-version", "1.0")
        .send()
        .await;
    assert_eq!(rest.json()["error"]["status"], "NOT_FOUND");
    assert_eq!(
        rest.json()["error"]["details"][0]["reason"],
        "TASK_NOT_FOUND"
    );
    assert_eq!(fake.calls(), 0);
}

/// A request body that sends a chunk, then fails, as when the client's connection resets.
struct Reset(bool);

impl http_body::Body for Reset {
    type Data = bytes::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, std::io::Error>>> {
        if self.0 {
            return std::task::Poll::Ready(Some(Err(std::io::Error::other("reset"))));
        }
        self.0 = true;
        std::task::Poll::Ready(Some(Ok(http_body::Frame::data("{\"jsonrpc\"".into()))))
    }
}

#[tokio::test]
async fn a_body_that_fails_is_a_bad_request_not_too_large() {
    use tower::ServiceExt;
    let fake = FakeAgent::new("echo");
    let front = support::front(support::registry(&[(
        "echo",
        &[("i1", &fake, agent_gateway_a2a::version::Version::V1_0)],
    )]));
    let send = |path: &str| {
        http::Request::post(path)
            .header("a2a-version", "1.0")
            .header("content-type", "application/json")
            .body(Reset(false))
            .expect("a request")
    };
    let json = |res: http::Response<agent_gateway_a2a::body::A2aBody>| async move {
        let bytes = http_body_util::BodyExt::collect(res.into_body())
            .await
            .expect("a body")
            .to_bytes();
        serde_json::from_slice::<Value>(&bytes).expect("JSON")
    };
    // JSON-RPC: an invalid request (HTTP 200, as for every request-level JSON-RPC error).
    let res = front
        .clone()
        .oneshot(send("/echo"))
        .await
        .expect("infallible");
    assert_eq!(res.status(), 200);
    let body = json(res).await;
    assert_eq!(body["error"]["code"], -32600, "{body}");
    // HTTP+JSON: 400, where a body too large is 413.
    let res = front
        .oneshot(send("/echo/message:send"))
        .await
        .expect("infallible");
    assert_eq!(res.status(), 400);
    let body = json(res).await;
    assert_eq!(body["error"]["status"], "INVALID_ARGUMENT", "{body}");
    assert_eq!(fake.calls(), 0);
}
