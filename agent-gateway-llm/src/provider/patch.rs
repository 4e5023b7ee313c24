//! The body sent upstream: the client's (or its translation), with a few top-level fields
//! set as it is serialized, so the body itself is never copied to be edited.

use bytes::Bytes;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

/// `body` with top-level fields replaced or added when serialized.
pub(crate) struct Patched<'a> {
    body: &'a Value,
    set: Vec<(&'static str, Value)>,
}

impl<'a> Patched<'a> {
    /// `body`, unchanged so far.
    pub(crate) fn new(body: &'a Value) -> Self {
        Patched {
            body,
            set: Vec::new(),
        }
    }

    /// Sets `key` to `value` (in place if present, else at the end).
    pub(crate) fn set(&mut self, key: &'static str, value: Value) {
        self.set.retain(|(k, _)| *k != key);
        self.set.push((key, value));
    }

    /// The serialized body.
    pub(crate) fn to_bytes(&self) -> Result<Bytes, serde_json::Error> {
        serde_json::to_vec(self).map(Bytes::from)
    }

    fn replacement(&self, key: &str) -> Option<&Value> {
        self.set.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }
}

impl Serialize for Patched<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let Value::Object(map) = self.body else {
            return self.body.serialize(serializer);
        };
        let mut out = serializer.serialize_map(None)?;
        for (key, value) in map {
            out.serialize_entry(key, self.replacement(key).unwrap_or(value))?;
        }
        for (key, value) in &self.set {
            if !map.contains_key(*key) {
                out.serialize_entry(key, value)?;
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
        patched.set("model", json!("upstream"));
        patched.set("stream", json!(true));
        let sent: Value = serde_json::from_slice(&patched.to_bytes().unwrap()).unwrap();
        assert_eq!(
            sent,
            json!({"model": "upstream", "messages": [], "temperature": 1, "stream": true})
        );
        assert_eq!(body["model"], "alias");
    }
}
