//! Which top-level request fields a translation can express: every field a client sets is
//! either translated, known to change nothing in the answer, or refused with a 400 naming it,
//! so no request is answered as if a field it set had been honoured.

use serde_json::Value;

use crate::error::InvalidRequest;

/// When a field set to a non-null value is accepted by a translation.
#[derive(Debug, Clone, Copy)]
pub(super) enum Accept {
    /// Always: the translation carries it, or it changes nothing in the answer.
    Any,
    /// Only when the predicate holds (a default value, or a value the target can express).
    If(fn(&Value) -> bool),
}

/// A field accepted whatever its value.
pub(super) const fn any(name: &'static str) -> (&'static str, Accept) {
    (name, Accept::Any)
}

/// A field accepted when `ok` holds for its value.
pub(super) const fn only(name: &'static str, ok: fn(&Value) -> bool) -> (&'static str, Accept) {
    (name, Accept::If(ok))
}

/// `false`, the default of most boolean switches.
pub(super) fn is_false(v: &Value) -> bool {
    v == &Value::Bool(false)
}

/// Zero, the default of the penalties.
pub(super) fn is_zero(v: &Value) -> bool {
    v.as_f64() == Some(0.0)
}

/// An empty list or object.
pub(super) fn is_empty(v: &Value) -> bool {
    match v {
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// Refuses the first top-level field of `body` that `fields` does not accept; a field set to
/// `null` counts as absent. `target` names the provider's dialect in the message.
pub(super) fn check(
    body: &Value,
    fields: &[(&'static str, Accept)],
    target: &str,
) -> Result<(), InvalidRequest> {
    let Value::Object(map) = body else {
        return Ok(()); // the typed decode that follows refuses it
    };
    for (key, value) in map {
        if value.is_null() {
            continue;
        }
        let accepted = match fields.iter().find(|(name, _)| name == key) {
            Some((_, Accept::Any)) => true,
            Some((_, Accept::If(ok))) => ok(value),
            None => false,
        };
        if !accepted {
            return Err(refused(key.clone(), value, target));
        }
    }
    Ok(())
}

/// The 400 for a field `target` cannot express, naming it and the value sent.
pub(super) fn refused(key: String, value: &Value, target: &str) -> InvalidRequest {
    let mut shown = value.to_string();
    if shown.len() > MAX_SHOWN_VALUE {
        shown = "this value".to_owned();
    }
    InvalidRequest::new(format!(
        "`{key}` ({shown}) is not supported for this model: its provider speaks {target}, which cannot express it"
    ))
    .with_param(key)
}

/// A part of a message that `target` cannot express, refused naming `param`.
pub(super) fn refused_part(param: &'static str, what: &str, target: &str) -> InvalidRequest {
    InvalidRequest::new(format!(
        "{what} in `{param}` is not supported for this model: its provider speaks {target}, which cannot express it"
    ))
    .with_param(param)
}

/// The longest value quoted in a refusal: short scalars help the client see what was sent;
/// a whole object would only bloat the error.
const MAX_SHOWN_VALUE: usize = 40;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_and_unexpressible_fields_are_named_and_null_is_absent() {
        let fields = [any("model"), only("n", |v| v == &json!(1))];
        assert!(check(&json!({"model": "m", "n": 1, "x": null}), &fields, "T").is_ok());
        let e = check(&json!({"model": "m", "n": 2}), &fields, "T").unwrap_err();
        assert_eq!(e.param(), Some("n"));
        assert!(e.to_string().starts_with("`n` (2) is not supported"), "{e}");
        let e = check(
            &json!({"model": "m", "seed": {"big": "x".repeat(50)}}),
            &fields,
            "T",
        )
        .unwrap_err();
        assert_eq!(e.param(), Some("seed"));
        assert!(e.to_string().contains("(this value)"), "{e}");
    }
}
