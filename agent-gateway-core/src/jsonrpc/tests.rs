use super::*;
use serde_json::{Value, json};

fn decode(s: &str) -> Result<Message, DecodeError> {
    Message::from_slice(s.as_bytes())
}

fn round_trip(s: &str) -> Value {
    let msg = decode(s).unwrap();
    serde_json::from_slice(&msg.to_vec()).unwrap()
}

#[test]
fn id_types_are_preserved() {
    for (wire, id) in [
        (r#"{"jsonrpc":"2.0","id":1,"method":"m"}"#, Id::from(1)),
        (r#"{"jsonrpc":"2.0","id":"1","method":"m"}"#, Id::from("1")),
        (r#"{"jsonrpc":"2.0","id":-5,"method":"m"}"#, Id::from(-5)),
        (r#"{"jsonrpc":"2.0","id":"","method":"m"}"#, Id::from("")),
    ] {
        let msg = decode(wire).unwrap();
        assert_eq!(msg.id(), Some(&id), "{wire}");
        assert_eq!(
            round_trip(wire),
            serde_json::from_str::<Value>(wire).unwrap()
        );
    }
    // a big unsigned id is kept exactly, not squeezed through an i64 or f64
    let wire = r#"{"jsonrpc":"2.0","id":18446744073709551615,"method":"m"}"#;
    assert_eq!(
        String::from_utf8(decode(wire).unwrap().to_vec()).unwrap(),
        wire
    );
    // the string "1" and the number 1 are different ids
    assert_ne!(Id::from("1"), Id::from(1));
}

#[test]
fn null_and_bad_ids_are_rejected_in_requests() {
    for wire in [
        r#"{"jsonrpc":"2.0","id":null,"method":"m"}"#,
        r#"{"jsonrpc":"2.0","id":{},"method":"m"}"#,
        r#"{"jsonrpc":"2.0","id":[1],"method":"m"}"#,
        r#"{"jsonrpc":"2.0","id":true,"method":"m"}"#,
        r#"{"jsonrpc":"2.0","id":null,"result":{}}"#,
    ] {
        let err = decode(wire).unwrap_err();
        assert!(
            matches!(err, DecodeError::Invalid { id: None, .. }),
            "{wire}: {err:?}"
        );
        assert_eq!(err.code(), -32600);
    }
}

#[test]
fn null_id_is_allowed_on_error_responses() {
    let msg =
        decode(r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}"#)
            .unwrap();
    let Message::Response(r) = msg else { panic!() };
    assert_eq!(r.id, None);
    assert_eq!(r.error_object().map(|e| e.code), Some(-32700));
}

#[test]
fn unknown_members_are_kept_on_every_kind() {
    for wire in [
        r#"{"jsonrpc":"2.0","id":1,"method":"m","params":{"a":[1,2]},"x":{"y":null}}"#,
        r#"{"jsonrpc":"2.0","method":"n","x":1}"#,
        r#"{"jsonrpc":"2.0","id":"a","result":{"r":true},"x":"keep"}"#,
        r#"{"jsonrpc":"2.0","id":"a","error":{"code":1,"message":"m","data":[1]},"x":"keep"}"#,
    ] {
        assert_eq!(
            round_trip(wire),
            serde_json::from_str::<Value>(wire).unwrap(),
            "{wire}"
        );
    }
}

#[test]
fn params_pass_through_byte_for_byte() {
    let wire = r#"{"jsonrpc":"2.0","id":1,"method":"m","params":{"b":1.50,"a":"\u00e9"}}"#;
    let Message::Request(req) = decode(wire).unwrap() else {
        panic!()
    };
    assert_eq!(
        req.params.as_ref().unwrap().get(),
        r#"{"b":1.50,"a":"\u00e9"}"#
    );
    let v: Value = req.params_as().unwrap();
    assert_eq!(v["a"], "é");
}

#[test]
fn classification() {
    assert!(matches!(
        decode(r#"{"jsonrpc":"2.0","method":"n"}"#),
        Ok(Message::Notification(_))
    ));
    assert!(matches!(
        decode(r#"{"jsonrpc":"2.0","id":1,"method":"r"}"#),
        Ok(Message::Request(_))
    ));
    assert!(matches!(
        decode(r#"{"jsonrpc":"2.0","id":1,"result":null}"#),
        Ok(Message::Response(_))
    ));
}

#[test]
fn malformed_input_gets_the_right_code_and_keeps_the_id_when_it_can() {
    let cases: &[(&str, i64, Option<Id>)] = &[
        ("", -32700, None),
        ("{", -32700, None),
        ("{\"jsonrpc\":\"2.0\",\"id\":1,", -32700, None),
        ("nul", -32700, None),
        ("[1,", -32700, None),
        ("[]", -32600, None),
        (r#"[{"jsonrpc":"2.0","id":1,"method":"m"}]"#, -32600, None),
        ("42", -32600, None),
        (r#""str""#, -32600, None),
        (r#"{"id":1,"method":"m"}"#, -32600, Some(Id::from(1))),
        (
            r#"{"jsonrpc":"1.0","id":1,"method":"m"}"#,
            -32600,
            Some(Id::from(1)),
        ),
        (
            r#"{"jsonrpc":"2.0","id":"k","method":5}"#,
            -32600,
            Some(Id::from("k")),
        ),
        (
            r#"{"jsonrpc":"2.0","id":2,"method":"m","params":3}"#,
            -32600,
            Some(Id::from(2)),
        ),
        (
            r#"{"jsonrpc":"2.0","id":2,"method":"m","result":{}}"#,
            -32600,
            Some(Id::from(2)),
        ),
        (
            r#"{"jsonrpc":"2.0","id":2,"result":{},"error":{"code":1,"message":"x"}}"#,
            -32600,
            Some(Id::from(2)),
        ),
        (
            r#"{"jsonrpc":"2.0","id":2,"error":{"code":"x"}}"#,
            -32600,
            Some(Id::from(2)),
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"id":2,"method":"m"}"#,
            -32600,
            None,
        ),
        (r#"{"jsonrpc":"2.0","id":3}"#, -32600, Some(Id::from(3))),
    ];
    for (wire, code, id) in cases {
        let err = decode(wire).unwrap_err();
        assert_eq!(err.code(), *code, "{wire}: {err:?}");
        let reply = err.to_response();
        assert_eq!(&reply.id, id, "{wire}");
        assert_eq!(reply.error_object().map(|e| e.code), Some(*code));
    }
}

#[test]
fn error_responses_serialize_null_id() {
    let wire = Message::from(DecodeError::Parse.to_response()).to_vec();
    let v: Value = serde_json::from_slice(&wire).unwrap();
    assert_eq!(
        v,
        json!({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}})
    );
}

#[test]
fn builders_produce_valid_messages() {
    let req = Request::new(9, "tools/call")
        .with_params(&json!({"name": "x"}))
        .unwrap();
    let back = Message::from_slice(&Message::from(req).to_vec()).unwrap();
    let Message::Request(req) = back else {
        panic!()
    };
    assert_eq!(req.params_as::<Value>().unwrap()["name"], "x");
    let note = Notification::new("notifications/progress");
    assert_eq!(note.params_as::<Option<Value>>().unwrap(), None);
    let ok = Response::success(Id::from("z"), &json!({"ok": 1})).unwrap();
    assert_eq!(ok.result().map(|r| r.get()), Some(r#"{"ok":1}"#));
}
