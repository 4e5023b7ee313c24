//! Which MCP methods a pool may send twice.

/// The methods that only read: sending one again after a failure changes nothing on the
/// server, so a pool retries them on another instance.
///
/// Everything else is never retried: `tools/call` (a tool may have run before the instance
/// died), `resources/subscribe` and `logging/setLevel` (session state), `subscriptions/listen`
/// (a stream), `initialize`, and any method this list does not know.
pub const IDEMPOTENT_METHODS: &[&str] = &[
    "ping",
    "tools/list",
    "prompts/list",
    "prompts/get",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "completion/complete",
];

/// Whether a pool may retry `method` on another instance.
pub fn is_idempotent(method: &str) -> bool {
    IDEMPOTENT_METHODS.contains(&method)
}
