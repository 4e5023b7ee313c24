//! Property tests of core's decoders: JSON-RPC envelopes, the SSE decoder and bounded body
//! reading. Properties: no panic, a spec-correct error for bad input, round-trips, output
//! bounded by the input, and the same result however the input is cut into chunks.

mod fuzz_support;

use std::convert::Infallible;

use agent_gateway_core::GatewayBody;
use agent_gateway_core::body::{BodyError, read_limited};
use agent_gateway_core::jsonrpc::{ErrorObject, Message};
use agent_gateway_core::sse::{Decoder, Event, SseError};
use bytes::Bytes;
use futures_util::FutureExt;
use fuzz_support::{cuts, edits, json, mutate, split, text};
use http::header::CONTENT_LENGTH;
use http::{HeaderMap, HeaderValue};
use proptest::prelude::*;
use serde_json::{Map, Value};

/// Where failing cases are kept.
const REGRESSIONS: &str = "proptest-regressions/fuzz_core.txt";

/// Valid envelopes of every kind, the seeds that mutations start from.
const SEEDS: &[&str] = &[
    r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":{"x":[1,2]}}}"#,
    r#"{"jsonrpc":"2.0","id":"s-1","method":"message/send","params":{}}"#,
    r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
    r#"{"jsonrpc":"2.0","id":3,"result":{"tools":[]},"x-extra":true}"#,
    r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request"}}"#,
    r#"{"jsonrpc":"2.0","id":1.5e3,"error":{"code":-1,"message":"m","data":[null]}}"#,
    r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#,
];

/// Decodes `bytes`, checks the error is one JSON-RPC allows, and that a decoded message
/// re-encodes to bytes that decode to the same message (a fixed point after one trip).
fn check_envelope(bytes: &[u8]) -> Result<(), TestCaseError> {
    match Message::from_slice(bytes) {
        Ok(msg) => {
            let wire = msg.to_vec();
            let again = Message::from_slice(&wire)
                .map_err(|e| TestCaseError::fail(format!("re-encoded message refused: {e}")))?;
            prop_assert_eq!(again.to_vec(), wire);
            prop_assert_eq!(again.method(), msg.method());
            prop_assert_eq!(again.id(), msg.id());
        }
        Err(err) => {
            let code = err.code();
            prop_assert!(
                code == ErrorObject::PARSE_ERROR || code == ErrorObject::INVALID_REQUEST,
                "code {code}"
            );
            let reply = Message::from(err.to_response()).to_vec();
            prop_assert!(
                Message::from_slice(&reply).is_ok(),
                "the error reply decodes"
            );
        }
    }
    Ok(())
}

/// An object with the envelope's members present or absent, each of any JSON type.
fn envelope() -> impl Strategy<Value = Value> {
    let member = |name: &'static str, valid: BoxedStrategy<Value>| {
        prop_oneof![
            2 => Just(None),
            3 => valid.prop_map(move |v| Some((name.to_owned(), v))),
            1 => json().prop_map(move |v| Some((name.to_owned(), v))),
        ]
    };
    let id = prop_oneof![
        any::<i64>().prop_map(Value::from),
        text().prop_map(Value::from)
    ];
    let error =
        (any::<i64>(), text()).prop_map(|(c, m)| serde_json::json!({"code": c, "message": m}));
    (
        member("jsonrpc", Just(Value::from("2.0")).boxed()),
        member("id", id.boxed()),
        member("method", text().prop_map(Value::from).boxed()),
        member("params", json().boxed()),
        member("result", json().boxed()),
        member("error", error.boxed()),
        prop::collection::vec((text(), json()), 0..3),
    )
        .prop_map(|(a, b, c, d, e, f, extra)| {
            let mut obj: Map<String, Value> = extra.into_iter().collect();
            for (k, v) in [a, b, c, d, e, f].into_iter().flatten() {
                obj.insert(k, v);
            }
            Value::Object(obj)
        })
}

proptest! {
    #![proptest_config(fuzz_support::config(REGRESSIONS))]

    #[test]
    fn fuzz_jsonrpc_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        check_envelope(&bytes)?;
    }

    #[test]
    fn fuzz_jsonrpc_mutated_envelopes(seed in prop::sample::select(SEEDS), edits in edits()) {
        check_envelope(&mutate(seed.as_bytes(), &edits))?;
    }

    #[test]
    fn fuzz_jsonrpc_generated_envelopes(value in envelope()) {
        let bytes = serde_json::to_vec(&value).expect("a Value serializes");
        check_envelope(&bytes)?;
        // A request is decoded only from an object with a string method and a non-null id.
        if let Ok(Message::Request(req)) = Message::from_slice(&bytes) {
            prop_assert_eq!(value.get("method").and_then(Value::as_str), Some(req.method.as_str()));
            prop_assert_eq!(value.get("jsonrpc"), Some(&Value::from("2.0")));
            prop_assert_eq!(value.get("id"), Some(&req.id.to_value()));
        }
    }
}

/// Stream material: field names, separators, every line break, BOM pieces and UTF-8 splits.
fn sse_stream() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        Just(b"data".to_vec()),
        Just(b"event".to_vec()),
        Just(b"id".to_vec()),
        Just(b"retry".to_vec()),
        Just(b": ".to_vec()),
        Just(b":".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\n\n".to_vec()),
        Just(b"\xEF\xBB\xBF".to_vec()),
        Just(b"\xEF\xBB".to_vec()),
        Just("h\u{e9}\u{1F600}".as_bytes().to_vec()),
        Just(b"123".to_vec()),
        Just(b"\0".to_vec()),
        prop::collection::vec(any::<u8>(), 0..6),
    ];
    prop::collection::vec(token, 0..40).prop_map(|t| t.concat())
}

/// Everything a decoder reports for a stream fed as `chunks`.
#[derive(Debug, PartialEq)]
struct Decoded {
    events: Vec<Event>,
    error: Option<SseError>,
    last_event_id: Option<String>,
    retry: Option<std::time::Duration>,
    truncated: bool,
}

fn decode(chunks: &[&[u8]], max: usize) -> Decoded {
    let mut decoder = Decoder::new().with_max_event_size(max);
    let mut events = Vec::new();
    let mut error = None;
    for chunk in chunks {
        if let Err(e) = decoder.feed(chunk, &mut events) {
            error = Some(e);
            break;
        }
    }
    Decoded {
        truncated: decoder.finish(),
        last_event_id: decoder.last_event_id().map(str::to_owned),
        retry: decoder.retry(),
        events,
        error,
    }
}

/// Any event the encoder accepts.
fn event() -> impl Strategy<Value = Event> {
    let one_line = "[^\r\n\0]{0,10}";
    (
        prop::option::of("[^\r\n\0]{1,10}"),
        any::<String>(),
        prop::option::of(one_line),
        prop::option::of(any::<u64>()),
    )
        .prop_map(|(event, data, id, retry)| Event {
            event,
            data,
            id,
            retry: retry.map(std::time::Duration::from_millis),
        })
}

proptest! {
    #![proptest_config(fuzz_support::config(REGRESSIONS))]

    #[test]
    fn fuzz_sse_split_invariance(bytes in sse_stream(), cuts in cuts(), max in 1usize..64) {
        let whole = decode(&[&bytes], max);
        let cut = decode(&split(&bytes, &cuts), max);
        prop_assert_eq!(&cut, &whole);
        // Bounded: nothing decoded is larger than the input or the limit.
        let total: usize = whole.events.iter().map(|e| e.data.len()).sum();
        prop_assert!(total <= bytes.len() * 3, "{total} bytes decoded from {}", bytes.len());
        for e in &whole.events {
            prop_assert!(e.data.len() <= max, "event of {} bytes, limit {max}", e.data.len());
        }
    }

    #[test]
    fn fuzz_sse_byte_by_byte(bytes in prop::collection::vec(any::<u8>(), 0..128)) {
        let whole = decode(&[&bytes], 1 << 20);
        let bytewise: Vec<&[u8]> = bytes.chunks(1).collect();
        prop_assert_eq!(decode(&bytewise, 1 << 20), whole);
    }

    #[test]
    fn fuzz_sse_encoder_round_trip(events in prop::collection::vec(event(), 1..4), cuts in cuts()) {
        let mut wire = Vec::new();
        for e in &events {
            wire.extend_from_slice(&e.to_bytes().expect("valid event"));
        }
        let decoded = decode(&split(&wire, &cuts), usize::MAX);
        prop_assert_eq!(decoded.error, None);
        prop_assert!(!decoded.truncated);
        let expected: Vec<Event> = events
            .into_iter()
            .map(|e| Event { data: e.data.replace("\r\n", "\n").replace('\r', "\n"), ..e })
            .collect();
        prop_assert_eq!(decoded.events, expected);
    }
}

/// Reads a body made of `chunks` with `limit` and an optional declared length.
fn read(chunks: Vec<Vec<u8>>, limit: usize, declared: Option<&str>) -> Result<Bytes, BodyError> {
    let mut headers = HeaderMap::new();
    if let Some(declared) = declared {
        headers.insert(
            CONTENT_LENGTH,
            HeaderValue::from_str(declared).expect("header value"),
        );
    }
    let stream = futures_util::stream::iter(
        chunks
            .into_iter()
            .map(|c| Ok::<_, Infallible>(Bytes::from(c))),
    );
    read_limited(GatewayBody::stream(stream), limit, &headers)
        .now_or_never()
        .expect("a ready body is read without waiting")
}

proptest! {
    #![proptest_config(fuzz_support::config(REGRESSIONS))]

    #[test]
    fn fuzz_read_limited_chunking(
        chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 0..12),
        limit in 0usize..300,
        declared in prop::option::of(prop_oneof!["[0-9]{1,22}", "[ -~]{0,6}"]),
    ) {
        let whole: Vec<u8> = chunks.concat();
        let declared_over = declared
            .as_deref()
            .and_then(|d| d.parse::<u64>().ok())
            .is_some_and(|n| n > limit as u64);
        match read(chunks, limit, declared.as_deref()) {
            Ok(bytes) => {
                prop_assert!(!declared_over);
                prop_assert!(bytes.len() <= limit);
                prop_assert_eq!(&bytes[..], &whole[..]);
            }
            Err(BodyError::TooLarge { limit: l }) => {
                prop_assert_eq!(l, limit);
                prop_assert!(declared_over || whole.len() > limit);
            }
            Err(other) => prop_assert!(false, "unexpected {other:?}"),
        }
    }
}

/// Regression (found by `fuzz_jsonrpc_generated_envelopes`): a number was parsed to a nearby
/// f64, so a float id or a kept member drifted by an ulp at each hop and a client could not
/// match its response. serde_json's `float_roundtrip` parses it exactly.
#[test]
fn fuzz_regression_float_ids_and_members_come_back_as_sent() {
    let wire = br#"{"jsonrpc":"2.0","id":-1.0145688009284552e-245,"method":"ping","x":[-6.0772294830163445e-233]}"#;
    let msg = Message::from_slice(wire).expect("a request");
    assert_eq!(msg.to_vec(), wire.to_vec());
    let reply = agent_gateway_core::jsonrpc::Response::error(
        msg.id().cloned(),
        ErrorObject::internal_error(),
    );
    let reply = String::from_utf8(Message::from(reply).to_vec()).expect("utf-8");
    assert!(
        reply.contains(r#""id":-1.0145688009284552e-245"#),
        "{reply}"
    );
}
