use std::fmt;
use std::sync::Arc;

use serde::{Serialize, Serializer};
use serde_json::{Number, Value};

/// A JSON-RPC request id: a string or a number, never null.
///
/// The id is kept exactly as the sender wrote it (`7` stays a number, `"7"` stays a string),
/// because the peer matches responses to requests by id and type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Id {
    /// A numeric id, as written.
    Number(Number),
    /// A string id.
    String(Arc<str>),
}

impl Id {
    /// Reads an id from a JSON value; `None` for null and for anything that is not a string
    /// or a number.
    pub fn from_value(value: &Value) -> Option<Id> {
        match value {
            Value::Number(n) => Some(Id::Number(n.clone())),
            Value::String(s) => Some(Id::String(s.as_str().into())),
            _ => None,
        }
    }

    /// The id as a JSON value.
    pub fn to_value(&self) -> Value {
        match self {
            Id::Number(n) => Value::Number(n.clone()),
            Id::String(s) => Value::String(s.to_string()),
        }
    }
}

impl From<i64> for Id {
    fn from(n: i64) -> Self {
        Id::Number(n.into())
    }
}

impl From<&str> for Id {
    fn from(s: &str) -> Self {
        Id::String(s.into())
    }
}

impl From<String> for Id {
    fn from(s: String) -> Self {
        Id::String(s.into())
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Id::Number(n) => write!(f, "{n}"),
            Id::String(s) => write!(f, "{s:?}"),
        }
    }
}

impl Serialize for Id {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Id::Number(n) => n.serialize(serializer),
            Id::String(s) => serializer.serialize_str(s),
        }
    }
}
