use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::{DecodeError, ErrorObject, Id};

/// A request: it has an id and expects a response.
#[derive(Debug, Clone)]
pub struct Request {
    /// The id the response must carry.
    pub id: Id,
    /// The method name.
    pub method: String,
    /// The parameters, unparsed: an object or an array.
    pub params: Option<Box<RawValue>>,
    /// Members the envelope does not define, kept so that they are forwarded unchanged.
    pub extra: Map<String, Value>,
}

/// A notification: no id, never answered.
#[derive(Debug, Clone)]
pub struct Notification {
    /// The method name.
    pub method: String,
    /// The parameters, unparsed: an object or an array.
    pub params: Option<Box<RawValue>>,
    /// Members the envelope does not define.
    pub extra: Map<String, Value>,
}

/// A response: a result or an error for one request.
#[derive(Debug, Clone)]
pub struct Response {
    /// The id of the request answered. `None` (null on the wire) only for an error about a
    /// request whose id could not be read.
    pub id: Option<Id>,
    /// The result or the error.
    pub payload: Payload,
    /// Members the envelope does not define.
    pub extra: Map<String, Value>,
}

/// What a response carries.
#[derive(Debug, Clone)]
pub enum Payload {
    /// The result, unparsed.
    Result(Box<RawValue>),
    /// The error.
    Error(ErrorObject),
}

/// Any JSON-RPC 2.0 message.
#[derive(Debug, Clone)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A notification.
    Notification(Notification),
    /// A response.
    Response(Response),
}

impl Request {
    /// A request with no parameters.
    pub fn new(id: impl Into<Id>, method: impl Into<String>) -> Self {
        Request {
            id: id.into(),
            method: method.into(),
            params: None,
            extra: Map::new(),
        }
    }

    /// Sets the parameters from any serializable value.
    pub fn with_params(mut self, params: &impl Serialize) -> Result<Self, serde_json::Error> {
        self.params = Some(serde_json::value::to_raw_value(params)?);
        Ok(self)
    }

    /// Parses the parameters into `T`; absent parameters parse as JSON null.
    pub fn params_as<'a, T: Deserialize<'a>>(&'a self) -> Result<T, serde_json::Error> {
        parse_params(self.params.as_deref())
    }

    /// The parameters as an object: empty when absent or not an object.
    pub fn params_object(&self) -> Map<String, Value> {
        params_object(self.params.as_deref())
    }
}

impl Notification {
    /// A notification with no parameters.
    pub fn new(method: impl Into<String>) -> Self {
        Notification {
            method: method.into(),
            params: None,
            extra: Map::new(),
        }
    }

    /// Sets the parameters from any serializable value.
    pub fn with_params(mut self, params: &impl Serialize) -> Result<Self, serde_json::Error> {
        self.params = Some(serde_json::value::to_raw_value(params)?);
        Ok(self)
    }

    /// Parses the parameters into `T`.
    pub fn params_as<'a, T: Deserialize<'a>>(&'a self) -> Result<T, serde_json::Error> {
        parse_params(self.params.as_deref())
    }

    /// The parameters as an object: empty when absent or not an object.
    pub fn params_object(&self) -> Map<String, Value> {
        params_object(self.params.as_deref())
    }
}

fn params_object(raw: Option<&RawValue>) -> Map<String, Value> {
    match raw.map(|r| serde_json::from_str(r.get())) {
        Some(Ok(Value::Object(m))) => m,
        _ => Map::new(),
    }
}

fn parse_params<'a, T: Deserialize<'a>>(raw: Option<&'a RawValue>) -> Result<T, serde_json::Error> {
    match raw {
        Some(raw) => serde_json::from_str(raw.get()),
        None => serde_json::from_str("null"),
    }
}

impl Response {
    /// A successful response carrying `result`.
    pub fn success(id: Id, result: &impl Serialize) -> Result<Self, serde_json::Error> {
        Ok(Response {
            id: Some(id),
            payload: Payload::Result(serde_json::value::to_raw_value(result)?),
            extra: Map::new(),
        })
    }

    /// An error response. `id` is `None` when the request's id could not be read.
    pub fn error(id: Option<Id>, error: ErrorObject) -> Self {
        Response {
            id,
            payload: Payload::Error(error),
            extra: Map::new(),
        }
    }

    /// The error, if this is an error response.
    pub fn error_object(&self) -> Option<&ErrorObject> {
        match &self.payload {
            Payload::Error(e) => Some(e),
            Payload::Result(_) => None,
        }
    }

    /// The raw result, if this is a success.
    pub fn result(&self) -> Option<&RawValue> {
        match &self.payload {
            Payload::Result(r) => Some(r),
            Payload::Error(_) => None,
        }
    }
}

impl Message {
    /// Decodes one message from bytes.
    ///
    /// Batches (a JSON array) are refused: neither MCP since 2025-06-18 nor A2A allow them.
    /// The error says which JSON-RPC code to answer with, and carries the request id when it
    /// could be read.
    pub fn from_slice(bytes: &[u8]) -> Result<Message, DecodeError> {
        match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'[') => {
                // Tell a malformed body from a batch: a batch must at least be valid JSON.
                serde_json::from_slice::<de::IgnoredAny>(bytes).map_err(|_| DecodeError::Parse)?;
                return Err(DecodeError::Batch);
            }
            Some(b'{') => {}
            _ => {
                return Err(match serde_json::from_slice::<de::IgnoredAny>(bytes) {
                    Ok(_) => DecodeError::invalid(None, "message is not a JSON object"),
                    Err(_) => DecodeError::Parse,
                });
            }
        }
        let envelope: Envelope = serde_json::from_slice(bytes).map_err(|e| match e.classify() {
            serde_json::error::Category::Data => DecodeError::invalid(None, "malformed envelope"),
            _ => DecodeError::Parse,
        })?;
        envelope.into_message()
    }

    /// Encodes the message as compact JSON.
    pub fn to_vec(&self) -> Vec<u8> {
        // Serializing our own types into a Vec cannot fail: every key is a string and every
        // value is already valid JSON.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The method, for requests and notifications.
    pub fn method(&self) -> Option<&str> {
        match self {
            Message::Request(r) => Some(&r.method),
            Message::Notification(n) => Some(&n.method),
            Message::Response(_) => None,
        }
    }

    /// The id, for requests and responses.
    pub fn id(&self) -> Option<&Id> {
        match self {
            Message::Request(r) => Some(&r.id),
            Message::Response(r) => r.id.as_ref(),
            Message::Notification(_) => None,
        }
    }
}

/// The envelope as read off the wire, before it is classified.
#[derive(Default)]
struct Envelope {
    jsonrpc: Option<Value>,
    id: Option<Value>,
    method: Option<Value>,
    params: Option<Box<RawValue>>,
    result: Option<Box<RawValue>>,
    error: Option<Value>,
    extra: Map<String, Value>,
}

impl Envelope {
    fn into_message(self) -> Result<Message, DecodeError> {
        // An id that is present but unusable still tells us nothing to answer with.
        let id = self.id.as_ref().and_then(Id::from_value);
        if self.jsonrpc.as_ref().and_then(Value::as_str) != Some("2.0") {
            return Err(DecodeError::invalid(id, "jsonrpc must be \"2.0\""));
        }
        match (self.method, self.result, self.error) {
            (Some(method), None, None) => {
                let Value::String(method) = method else {
                    return Err(DecodeError::invalid(id, "method must be a string"));
                };
                if let Some(params) = &self.params
                    && !matches!(params.get().as_bytes().first(), Some(b'{' | b'['))
                {
                    return Err(DecodeError::invalid(
                        id,
                        "params must be an object or array",
                    ));
                }
                match self.id {
                    None => Ok(Message::Notification(Notification {
                        method,
                        params: self.params,
                        extra: self.extra,
                    })),
                    Some(Value::Null) => Err(DecodeError::invalid(None, "id must not be null")),
                    Some(_) => match id {
                        Some(id) => Ok(Message::Request(Request {
                            id,
                            method,
                            params: self.params,
                            extra: self.extra,
                        })),
                        None => Err(DecodeError::invalid(None, "id must be a string or number")),
                    },
                }
            }
            (None, Some(result), None) if self.params.is_none() => match id {
                Some(id) => Ok(Message::Response(Response {
                    id: Some(id),
                    payload: Payload::Result(result),
                    extra: self.extra,
                })),
                None => Err(DecodeError::invalid(
                    None,
                    "a result needs a string or number id",
                )),
            },
            (None, None, Some(error)) if self.params.is_none() => {
                let error: ErrorObject = serde_json::from_value(error)
                    .map_err(|_| DecodeError::invalid(id.clone(), "malformed error object"))?;
                match (&self.id, id) {
                    (Some(Value::Null), _) => Ok(Message::Response(Response::error(None, error))),
                    (_, Some(id)) => Ok(Message::Response(Response {
                        id: Some(id),
                        payload: Payload::Error(error),
                        extra: self.extra,
                    })),
                    _ => Err(DecodeError::invalid(None, "an error needs an id or null")),
                }
            }
            _ => Err(DecodeError::invalid(
                id,
                "not a request, notification or response",
            )),
        }
    }
}

impl<'de> Deserialize<'de> for Envelope {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EnvelopeVisitor;

        impl<'de> Visitor<'de> for EnvelopeVisitor {
            type Value = Envelope;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON-RPC 2.0 message object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Envelope, A::Error> {
                let mut env = Envelope::default();
                while let Some(key) = map.next_key::<String>()? {
                    fn set<T, E: de::Error>(
                        slot: &mut Option<T>,
                        v: T,
                        key: &str,
                    ) -> Result<(), E> {
                        if slot.replace(v).is_some() {
                            return Err(E::custom(format_args!("duplicate member `{key}`")));
                        }
                        Ok(())
                    }
                    match key.as_str() {
                        "jsonrpc" => set(&mut env.jsonrpc, map.next_value()?, &key)?,
                        "id" => set(&mut env.id, map.next_value()?, &key)?,
                        "method" => set(&mut env.method, map.next_value()?, &key)?,
                        "params" => set(&mut env.params, map.next_value()?, &key)?,
                        "result" => set(&mut env.result, map.next_value()?, &key)?,
                        "error" => set(&mut env.error, map.next_value()?, &key)?,
                        _ => {
                            let value: Value = map.next_value()?;
                            if env.extra.insert(key.clone(), value).is_some() {
                                return Err(de::Error::custom(format_args!(
                                    "duplicate member `{key}`"
                                )));
                            }
                        }
                    }
                }
                Ok(env)
            }
        }

        deserializer.deserialize_map(EnvelopeVisitor)
    }
}

impl Serialize for Message {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("jsonrpc", "2.0")?;
        let extra = match self {
            Message::Request(r) => {
                map.serialize_entry("id", &r.id)?;
                map.serialize_entry("method", &r.method)?;
                if let Some(p) = &r.params {
                    map.serialize_entry("params", p)?;
                }
                &r.extra
            }
            Message::Notification(n) => {
                map.serialize_entry("method", &n.method)?;
                if let Some(p) = &n.params {
                    map.serialize_entry("params", p)?;
                }
                &n.extra
            }
            Message::Response(r) => {
                map.serialize_entry("id", &r.id)?;
                match &r.payload {
                    Payload::Result(v) => map.serialize_entry("result", v)?,
                    Payload::Error(e) => map.serialize_entry("error", e)?,
                }
                &r.extra
            }
        };
        for (k, v) in extra {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

macro_rules! into_message {
    ($($t:ident),*) => {$(
        impl From<$t> for Message {
            fn from(m: $t) -> Message {
                Message::$t(m)
            }
        }
    )*};
}
into_message!(Request, Notification, Response);
