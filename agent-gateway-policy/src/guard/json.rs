//! JSON walks the guardrails share: every string (to read or rewrite), the encoded size, the
//! nesting depth, and a canonical digest that ignores key order.

use std::io;

use serde_json::Value;
use sha2::{Digest, Sha256};

/// Calls `f` on every string in `value` (object keys excluded), depth first, until it
/// returns `false`.
pub(crate) fn all_strings(value: &Value, f: &mut dyn FnMut(&str) -> bool) -> bool {
    match value {
        Value::String(s) => f(s),
        Value::Array(items) => items.iter().all(|v| all_strings(v, f)),
        Value::Object(map) => map.values().all(|v| all_strings(v, f)),
        _ => true,
    }
}

/// Calls `f` on every string in `value` (object keys excluded), mutably.
pub(crate) fn each_string_mut(value: &mut Value, f: &mut dyn FnMut(&mut String)) {
    match value {
        Value::String(s) => f(s),
        Value::Array(items) => items.iter_mut().for_each(|v| each_string_mut(v, f)),
        Value::Object(map) => map.values_mut().for_each(|v| each_string_mut(v, f)),
        _ => {}
    }
}

/// Counts the bytes written to it.
struct Count(usize);

impl io::Write for Count {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The size of `value` encoded as compact JSON, without allocating the encoding.
pub(crate) fn encoded_len(value: &Value) -> usize {
    let mut count = Count(0);
    // Writing a `Value` to an infallible writer cannot fail.
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

/// Whether `value` nests deeper than `max` arrays and objects.
pub(crate) fn deeper_than(value: &Value, max: usize) -> bool {
    match value {
        _ if max == 0 => matches!(value, Value::Array(_) | Value::Object(_)),
        Value::Array(items) => items.iter().any(|v| deeper_than(v, max - 1)),
        Value::Object(map) => map.values().any(|v| deeper_than(v, max - 1)),
        _ => false,
    }
}

/// SHA-256 of `value` in a canonical form (object keys sorted, compact), so the same
/// definition sent with its keys in another order has the same digest.
pub(crate) fn digest(value: &Value) -> [u8; 32] {
    let mut hasher = Sha256::new();
    feed(&mut hasher, value);
    hasher.finalize().into()
}

fn feed(hasher: &mut Sha256, value: &Value) {
    match value {
        Value::Array(items) => {
            hasher.update(b"[");
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    hasher.update(b",");
                }
                feed(hasher, v);
            }
            hasher.update(b"]");
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            hasher.update(b"{");
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    hasher.update(b",");
                }
                hasher.update(Value::String(k.clone()).to_string().as_bytes());
                hasher.update(b":");
                if let Some(v) = map.get(k) {
                    feed(hasher, v);
                }
            }
            hasher.update(b"}");
        }
        scalar => hasher.update(scalar.to_string().as_bytes()),
    }
}

pub(crate) use crate::hex::hex;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn digest_ignores_key_order_but_not_values() {
        let a: Value =
            serde_json::from_str(r#"{"a": 1, "b": {"x": [1, "s"], "y": null}}"#).unwrap();
        let b: Value =
            serde_json::from_str(r#"{"b": {"y": null, "x": [1, "s"]}, "a": 1}"#).unwrap();
        assert_eq!(digest(&a), digest(&b));
        assert_ne!(
            digest(&a),
            digest(&json!({"a": 2, "b": {"x": [1, "s"], "y": null}}))
        );
        assert_eq!(hex(&[0, 255, 16]), "00ff10");
    }

    #[test]
    fn sizes_depths_and_strings() {
        let v = json!({"a": ["xy", {"b": "z"}], "n": 1});
        assert_eq!(encoded_len(&v), v.to_string().len());
        assert!(deeper_than(&v, 2));
        assert!(!deeper_than(&v, 3));
        let mut seen = Vec::new();
        all_strings(&v, &mut |s| {
            seen.push(s.to_owned());
            true
        });
        assert_eq!(seen, ["xy", "z"]);
        let mut v = v;
        each_string_mut(&mut v, &mut |s| s.make_ascii_uppercase());
        assert_eq!(v, json!({"a": ["XY", {"b": "Z"}], "n": 1}));
    }
}
