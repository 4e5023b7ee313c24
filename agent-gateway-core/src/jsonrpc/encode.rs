//! Writing a message in one pass: the envelope is serialized around borrowed parameters or a
//! borrowed result, so nothing is serialized twice (no intermediate `RawValue` to copy).
//!
//! ```
//! use agent_gateway_core::jsonrpc::{Id, Message, encode};
//! use serde_json::json;
//!
//! let params = json!({"name": "search"});
//! let bytes = encode::request(&Id::from(7), "tools/call", Some(&params)).unwrap();
//! assert_eq!(bytes, br#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"search"}}"#);
//! // What the encoder writes, the decoder reads.
//! let Message::Request(req) = Message::from_slice(&bytes).unwrap() else { panic!("a request") };
//! assert_eq!(req.method, "tools/call");
//!
//! let ok = encode::success(&Id::from("a"), &json!({"tools": []})).unwrap();
//! assert_eq!(ok, br#"{"jsonrpc":"2.0","id":"a","result":{"tools":[]}}"#);
//! let note = encode::notification::<()>("notifications/initialized", None).unwrap();
//! assert_eq!(note, br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
//! ```

use serde::Serialize;

use super::Id;

#[derive(Serialize)]
struct RequestRef<'a, P: ?Sized> {
    jsonrpc: &'static str,
    id: &'a Id,
    method: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<&'a P>,
}

#[derive(Serialize)]
struct NotificationRef<'a, P: ?Sized> {
    jsonrpc: &'static str,
    method: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<&'a P>,
}

#[derive(Serialize)]
struct SuccessRef<'a, R: ?Sized> {
    jsonrpc: &'static str,
    id: &'a Id,
    result: &'a R,
}

/// A request with `id`, `method` and, if any, `params`, as bytes.
pub fn request<P: Serialize + ?Sized>(
    id: &Id,
    method: &str,
    params: Option<&P>,
) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(&RequestRef {
        jsonrpc: "2.0",
        id,
        method,
        params,
    })
}

/// A notification of `method` with, if any, `params`, as bytes.
pub fn notification<P: Serialize + ?Sized>(
    method: &str,
    params: Option<&P>,
) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(&NotificationRef {
        jsonrpc: "2.0",
        method,
        params,
    })
}

/// A successful response to `id` carrying `result`, as bytes.
pub fn success<R: Serialize + ?Sized>(id: &Id, result: &R) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(&SuccessRef {
        jsonrpc: "2.0",
        id,
        result,
    })
}
