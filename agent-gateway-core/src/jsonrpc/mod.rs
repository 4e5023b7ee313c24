//! JSON-RPC 2.0 envelopes, shared by MCP and A2A.
//!
//! Only the envelope is parsed: `params` and `result` stay raw JSON, so a gateway can route on
//! the method and forward the rest byte for byte. Ids are never null in requests, keep their
//! type, and members the envelope does not define are kept.
//!
//! ```
//! use agent_gateway_core::jsonrpc::{DecodeError, ErrorObject, Id, Message, Response};
//!
//! let msg = Message::from_slice(br#"{"jsonrpc":"2.0","id":7,"method":"tools/list","x-trace":"t1"}"#).unwrap();
//! let Message::Request(req) = &msg else { panic!("a request") };
//! assert_eq!(req.id, Id::from(7));
//! assert_eq!(req.method, "tools/list");
//! assert_eq!(req.extra["x-trace"], "t1");
//!
//! let null_id = Message::from_slice(br#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#);
//! assert_eq!(null_id.unwrap_err().code(), ErrorObject::INVALID_REQUEST);
//!
//! let reply = Response::error(Some(req.id.clone()), ErrorObject::method_not_found("x"));
//! let wire = String::from_utf8(Message::from(reply).to_vec()).unwrap();
//! assert_eq!(wire, r#"{"jsonrpc":"2.0","id":7,"error":{"code":-32601,"message":"Method not found: x"}}"#);
//! ```

pub mod encode;
mod error;
mod id;
mod message;

pub use error::ErrorObject;
pub use id::Id;
pub use message::{Message, Notification, Payload, Request, Response};

use std::borrow::Cow;

/// Why bytes could not be decoded as one JSON-RPC message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Not valid JSON: answer -32700 with a null id.
    #[error("parse error: body is not valid JSON")]
    Parse,
    /// A JSON array: batches are not supported. Answer -32600 with a null id.
    #[error("batches are not supported")]
    Batch,
    /// Valid JSON but not a valid message. Answer -32600, with the request id when it could be
    /// read.
    #[error("invalid request: {reason}")]
    Invalid {
        /// The request's id, if it could be read.
        id: Option<Id>,
        /// What is wrong.
        reason: Cow<'static, str>,
    },
}

impl DecodeError {
    fn invalid(id: Option<Id>, reason: &'static str) -> Self {
        DecodeError::Invalid {
            id,
            reason: Cow::Borrowed(reason),
        }
    }

    /// The JSON-RPC error code to answer with.
    pub fn code(&self) -> i64 {
        match self {
            DecodeError::Parse => ErrorObject::PARSE_ERROR,
            DecodeError::Batch | DecodeError::Invalid { .. } => ErrorObject::INVALID_REQUEST,
        }
    }

    /// The error response to send back.
    pub fn to_response(&self) -> Response {
        match self {
            DecodeError::Parse => Response::error(None, ErrorObject::parse_error()),
            DecodeError::Batch => Response::error(
                None,
                ErrorObject::invalid_request("Invalid Request: batches are not supported"),
            ),
            DecodeError::Invalid { id, reason } => Response::error(
                id.clone(),
                ErrorObject::invalid_request(format!("Invalid Request: {reason}")),
            ),
        }
    }
}

#[cfg(test)]
mod tests;
