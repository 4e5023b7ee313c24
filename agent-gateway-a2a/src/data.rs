//! Data parts and the schemas an agent declares for them.
//!
//! A2A has no card field for the shape of the structured data an agent accepts or returns, so
//! the gateway reads a card extension of its own: an `AgentExtension` in
//! `capabilities.extensions` whose `uri` is [`DATA_SCHEMAS_EXTENSION`] and whose `params` map
//! media types to JSON Schemas (2020-12 unless the schema says otherwise). The schemas at the
//! top level apply both ways; `accepts` (the data parts of the messages the agent is sent) and
//! `returns` (the data parts of its artifacts and messages) give schemas for one direction,
//! winning over the shared ones of the same media type:
//!
//! ```json
//! {"uri": "urn:agent-gateway:a2a:data-schemas:v1",
//!  "params": {"accepts": {"application/json": {"type": "object", "required": ["sku"]}},
//!             "returns": {"application/vnd.quote+json": {"type": "object"}}}}
//! ```
//!
//! A data part is 1.0's `{"data": …}` or 0.3's `{"kind": "data", "data": …}`; its media type
//! is 1.0's `mediaType`, else 0.3's `metadata.mimeType`, else `application/json`. The
//! [`A2aFront`](crate::A2aFront), told to
//! ([`with_card_schemas`](crate::A2aFrontConfig::with_card_schemas)), hands the declaration of
//! a message's agent to the policy layers as
//! [`DeclaredDataSchemas`](agent_gateway_core::content::DeclaredDataSchemas); requests and
//! responses hand their data parts to a [`DataCheck`] (see
//! [`AgentRequest::check_data`](agent_gateway_core::AgentRequest::check_data)).
//!
//! ```
//! use agent_gateway_a2a::data::{DATA_SCHEMAS_EXTENSION, declared_schemas};
//! use serde_json::json;
//!
//! let card = json!({"name": "orders", "capabilities": {"extensions": [
//!     {"uri": "urn:example:other"},
//!     {"uri": DATA_SCHEMAS_EXTENSION, "params": {"application/json": {"type": "object"}}},
//! ]}});
//! assert_eq!(declared_schemas(&card), Some(&json!({"application/json": {"type": "object"}})));
//! // A card without the extension declares nothing.
//! assert_eq!(declared_schemas(&json!({"name": "plain", "capabilities": {}})), None);
//! ```

use std::borrow::Cow;

use agent_gateway_core::content::{Blocked, DataCheck, DataItem};
use serde_json::Value;

/// The URI of the card extension in which an agent declares the schemas of its data parts.
pub const DATA_SCHEMAS_EXTENSION: &str = "urn:agent-gateway:a2a:data-schemas:v1";

/// The media type of a data part that names none.
pub const DEFAULT_MEDIA_TYPE: &str = "application/json";

/// The `params` of `card`'s [`DATA_SCHEMAS_EXTENSION`] extension, when it has one whose
/// params are an object.
pub fn declared_schemas(card: &Value) -> Option<&Value> {
    card.pointer("/capabilities/extensions")?
        .as_array()?
        .iter()
        .find(|e| e.get("uri").and_then(Value::as_str) == Some(DATA_SCHEMAS_EXTENSION))?
        .get("params")
        .filter(|p| p.is_object())
}

/// Whether `part` is a data part, in either version.
fn is_data(part: &Value) -> bool {
    part.get("data").is_some() && part.get("kind").is_none_or(|k| k == "data")
}

/// The media type of a data part: lower-cased, parameters dropped.
fn media_type(part: &Value) -> Cow<'_, str> {
    let named = part
        .get("mediaType")
        .or_else(|| part.pointer("/metadata/mimeType"))
        .and_then(Value::as_str)
        .map(|m| m.split(';').next().unwrap_or_default().trim())
        .filter(|m| !m.is_empty());
    match named {
        None => Cow::Borrowed(DEFAULT_MEDIA_TYPE),
        Some(m) if m.bytes().any(|b| b.is_ascii_uppercase()) => Cow::Owned(m.to_ascii_lowercase()),
        Some(m) => Cow::Borrowed(m),
    }
}

/// Appends `key` to the JSON Pointer `at`, escaped.
fn push_key(at: &mut String, key: &str) {
    at.push('/');
    for c in key.chars() {
        match c {
            '~' => at.push_str("~0"),
            '/' => at.push_str("~1"),
            c => at.push(c),
        }
    }
}

/// Hands `check` every data part in `value` (wherever it holds `parts`), `at` the pointer to
/// `value`; members named in `skip` are not entered (a task's `history` holds the client's own
/// messages, not the agent's answer).
pub(crate) fn check_parts(
    value: &Value,
    at: &mut String,
    skip: &[&str],
    check: &mut dyn DataCheck,
) -> Result<(), Blocked> {
    let len = at.len();
    let outcome = match value {
        Value::Object(obj) => obj
            .iter()
            .filter(|(k, _)| !skip.contains(&k.as_str()))
            .try_for_each(|(key, v)| {
                push_key(at, key);
                let outcome = match v {
                    Value::Array(parts) if key == "parts" => check_data_parts(parts, at, check),
                    _ => check_parts(v, at, skip, check),
                };
                at.truncate(len);
                outcome
            }),
        Value::Array(items) => items.iter().enumerate().try_for_each(|(i, v)| {
            at.push('/');
            at.push_str(&i.to_string());
            let outcome = check_parts(v, at, skip, check);
            at.truncate(len);
            outcome
        }),
        _ => Ok(()),
    };
    at.truncate(len);
    outcome
}

fn check_data_parts(
    parts: &[Value],
    at: &mut String,
    check: &mut dyn DataCheck,
) -> Result<(), Blocked> {
    let len = at.len();
    for (i, part) in parts.iter().enumerate().filter(|(_, p)| is_data(p)) {
        at.push('/');
        at.push_str(&i.to_string());
        let item = DataItem {
            at,
            media_type: &media_type(part),
            data: &part["data"],
        };
        let outcome = check.check(&item);
        at.truncate(len);
        outcome?;
    }
    Ok(())
}

/// Checks the data parts of a result or event: everything but a task's `history`.
pub(crate) fn check_result(value: &Value, check: &mut dyn DataCheck) -> Result<(), Blocked> {
    check_parts(value, &mut String::new(), &["history"], check)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Records what it is handed; blocks data equal to `"bad"`.
    #[derive(Default)]
    struct Seen(Vec<(String, String)>);

    impl DataCheck for Seen {
        fn check(&mut self, item: &DataItem<'_>) -> Result<(), Blocked> {
            self.0
                .push((item.at.to_owned(), item.media_type.to_owned()));
            match item.data == &json!("bad") {
                true => Err(Blocked::new("bad").with_message(item.at.to_owned())),
                false => Ok(()),
            }
        }
    }

    #[test]
    fn data_parts_of_both_versions_with_their_media_types_and_places() {
        let result = json!({"task": {
            "artifacts": [{"artifactId": "a", "parts": [
                {"text": "hi"},
                {"data": {"x": 1}, "mediaType": "Application/Vnd.Quote+JSON; v=1"},
                {"kind": "data", "data": {"y": 2}, "metadata": {"mimeType": "text/csv"}},
                {"kind": "text", "text": "no"},
                {"kind": "file", "data": "ignored: not a data part"},
            ]}],
            "status": {"message": {"parts": [{"data": [1, 2]}]}},
            "history": [{"parts": [{"data": {"from": "client"}}]}],
            "a/b~c": {"parts": [{"data": null}]},
        }});
        let mut seen = Seen::default();
        check_result(&result, &mut seen).unwrap();
        let mut got = seen.0;
        got.sort();
        assert_eq!(
            got,
            [
                (
                    "/task/artifacts/0/parts/1".into(),
                    "application/vnd.quote+json".into()
                ),
                ("/task/artifacts/0/parts/2".into(), "text/csv".into()),
                ("/task/a~1b~0c/parts/0".into(), DEFAULT_MEDIA_TYPE.into()),
                (
                    "/task/status/message/parts/0".into(),
                    DEFAULT_MEDIA_TYPE.into()
                ),
            ]
        );
    }

    #[test]
    fn the_first_block_stops_the_walk_and_names_the_part() {
        let message = json!({"parts": [{"data": "ok"}, {"data": "bad"}, {"data": "bad"}]});
        let mut seen = Seen::default();
        let blocked = check_parts(&message, &mut "/message".into(), &[], &mut seen).unwrap_err();
        assert_eq!(blocked.message(), Some("/message/parts/1"));
        assert_eq!(seen.0.len(), 2);
    }

    #[test]
    fn a_stream_is_checked_event_by_event_and_a_block_ends_it() {
        use std::task::{Context, Poll, Waker};

        use crate::stream::EventStream;

        let event = |data: &str| {
            format!(
                "data: {{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{{\"artifactUpdate\":{{\"artifact\":{{\"artifactId\":\"a\",\"parts\":[{{\"data\":{data}}}]}}}}}}}}\n\n"
            )
        };
        let body = [event("\"ok\""), event("\"bad\""), event("\"ok\"")].concat();
        let mut events = EventStream::new(crate::body::full(body), Box::new(Ok));
        events.check_data(Box::new(Seen::default()));
        let mut cx = Context::from_waker(Waker::noop());
        let Poll::Ready(Some(Ok(first))) = events.poll_next(&mut cx) else {
            panic!("the first event passes")
        };
        assert_eq!(
            first["artifactUpdate"]["artifact"]["parts"][0]["data"],
            "ok"
        );
        let Poll::Ready(Some(Err(err))) = events.poll_next(&mut cx) else {
            panic!("the second ends the stream")
        };
        let crate::error::A2aError::Denied(denied) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(denied.rule(), Some("bad"));
        assert!(
            denied
                .message()
                .contains("/artifactUpdate/artifact/parts/0")
        );
        assert!(matches!(events.poll_next(&mut cx), Poll::Ready(None)));
    }

    #[test]
    fn a_send_hands_over_its_message_parts_and_a_plain_result_is_refused_whole() {
        use agent_gateway_core::{AgentRequest, AgentResponse};

        use crate::op::Operation;
        use crate::request::{A2aRequest, Binding};
        use crate::response::{A2aResponse, Reply};
        use crate::version::Version;

        let params = json!({"message": {"parts": [{"text": "t"}, {"data": "bad"}]}});
        let request = |op| {
            A2aRequest::new(
                "a",
                op,
                Version::V1_0,
                Binding::Rest { tenant: None },
                params.clone(),
            )
        };
        let blocked = request(Operation::SendMessage)
            .check_data(&mut Seen::default())
            .unwrap_err();
        assert_eq!(blocked.message(), Some("/message/parts/1"));
        // Not a send: its params are not a message being sent.
        assert!(
            request(Operation::GetTask)
                .check_data(&mut Seen::default())
                .is_ok()
        );

        let mut result = A2aResponse::result(json!({"message": {"parts": [{"data": "bad"}]}}));
        assert!(result.check_data(Box::new(Seen::default())).is_ok());
        let Reply::Denied(denied) = result.into_reply() else {
            panic!("refused")
        };
        assert_eq!(denied.rule(), Some("bad"));
        // A card has no data parts: the check comes back.
        let mut card = A2aResponse::card(json!({}), std::time::SystemTime::UNIX_EPOCH);
        assert!(card.check_data(Box::new(Seen::default())).is_err());
    }

    #[test]
    fn only_an_object_params_of_the_right_uri_is_a_declaration() {
        let card = |ext: Value| json!({"capabilities": {"extensions": [ext]}});
        let uri = DATA_SCHEMAS_EXTENSION;
        assert!(declared_schemas(&card(json!({"uri": uri, "params": {}}))).is_some());
        assert!(declared_schemas(&card(json!({"uri": uri, "params": [1]}))).is_none());
        assert!(declared_schemas(&card(json!({"uri": uri}))).is_none());
        assert!(declared_schemas(&card(json!({"uri": "urn:other", "params": {}}))).is_none());
    }
}
