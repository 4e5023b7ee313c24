//! The body sent upstream: the client's (or its translation), with the few top-level fields a
//! provider sets (the model, the stream flag, the stream options) written as it is serialized,
//! so the body itself is never copied to be edited, and the model name not even copied.

use bytes::Bytes;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

/// The `stream` a streamed translation sends.
static TRUE: Value = Value::Bool(true);

/// `body` with `model`, `stream` and `stream_options` replaced or added when serialized.
pub(crate) struct Patched<'a> {
    body: &'a Value,
    model: Option<&'a str>,
    stream: bool,
    stream_options: Option<Value>,
}

impl<'a> Patched<'a> {
    /// `body`, unchanged so far.
    pub(crate) fn new(body: &'a Value) -> Self {
        Patched {
            body,
            model: None,
            stream: false,
            stream_options: None,
        }
    }

    /// Sets `model` (in place if present, else at the end).
    pub(crate) fn set_model(&mut self, model: &'a str) {
        self.model = Some(model);
    }

    /// Sets `stream` to `true` (in place if present, else at the end).
    pub(crate) fn set_stream(&mut self) {
        self.stream = true;
    }

    /// Sets `stream_options` (in place if present, else at the end).
    pub(crate) fn set_stream_options(&mut self, options: Value) {
        self.stream_options = Some(options);
    }

    /// The serialized body.
    pub(crate) fn to_bytes(&self) -> Result<Bytes, serde_json::Error> {
        serde_json::to_vec(self).map(Bytes::from)
    }

    /// The fields set, in the order they are added when the body lacks them.
    fn fields(&self) -> [(&'static str, Option<Field<'_>>); 3] {
        [
            ("model", self.model.map(Field::Str)),
            ("stream", self.stream.then_some(Field::Value(&TRUE))),
            (
                "stream_options",
                self.stream_options.as_ref().map(Field::Value),
            ),
        ]
    }
}

/// A value a [`Patched`] body writes.
#[derive(Clone, Copy)]
enum Field<'a> {
    Str(&'a str),
    Value(&'a Value),
}

impl Serialize for Field<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Field::Str(s) => serializer.serialize_str(s),
            Field::Value(v) => v.serialize(serializer),
        }
    }
}

impl Serialize for Patched<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Value::Object(map) = self.body else {
            return self.body.serialize(serializer);
        };
        let fields = self.fields();
        let replacement = |key: &str| {
            fields
                .iter()
                .find(|(k, _)| *k == key)
                .and_then(|(_, field)| *field)
        };
        let mut out = serializer.serialize_map(None)?;
        for (key, value) in map {
            match replacement(key) {
                Some(field) => out.serialize_entry(key, &field)?,
                None => out.serialize_entry(key, value)?,
            }
        }
        for (key, field) in &fields {
            if let Some(field) = field
                && !map.contains_key(*key)
            {
                out.serialize_entry(key, field)?;
            }
        }
        out.end()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn sets_and_adds_without_touching_the_body() {
        let body = json!({"model": "alias", "messages": [], "temperature": 1});
        let mut patched = Patched::new(&body);
        patched.set_model("upstream");
        patched.set_stream();
        let sent: Value = serde_json::from_slice(&patched.to_bytes().unwrap()).unwrap();
        assert_eq!(
            sent,
            json!({"model": "upstream", "messages": [], "temperature": 1, "stream": true})
        );
        assert_eq!(body["model"], "alias");
    }

    #[test]
    fn replaces_in_place_and_appends_in_order() {
        // Present fields are replaced where they stand (keys in the body's order: sorted).
        let body = json!({"stream": false, "model": "alias", "stream_options": {"x": 1}});
        let mut patched = Patched::new(&body);
        patched.set_stream_options(json!({"include_usage": true}));
        patched.set_stream();
        patched.set_model("up");
        let sent = String::from_utf8(patched.to_bytes().unwrap().to_vec()).unwrap();
        assert_eq!(
            sent,
            r#"{"model":"up","stream":true,"stream_options":{"include_usage":true}}"#
        );
        // Missing ones come after the body's own, model first.
        let body = json!({"messages": []});
        let mut patched = Patched::new(&body);
        patched.set_stream_options(json!({"include_usage": true}));
        patched.set_model("up");
        let sent = String::from_utf8(patched.to_bytes().unwrap().to_vec()).unwrap();
        assert_eq!(
            sent,
            r#"{"messages":[],"model":"up","stream_options":{"include_usage":true}}"#
        );
        // A body that is not an object is sent as it is.
        let mut patched = Patched::new(&Value::Null);
        patched.set_model("up");
        assert_eq!(&patched.to_bytes().unwrap()[..], b"null");
    }
}
