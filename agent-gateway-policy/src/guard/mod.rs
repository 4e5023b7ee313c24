//! Guardrails over the content of requests and responses.

pub mod pii;
