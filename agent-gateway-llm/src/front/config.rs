//! [`LlmFrontConfig`]: the front's settings, built once and shared (behind an `Arc`) by every
//! front and clone a layer makes, as the A2A and MCP fronts do.

/// The default request body limit: 16 MiB, room for a few base64 images.
pub const DEFAULT_MAX_BODY: usize = 16 * 1024 * 1024;

/// The settings of an [`LlmFront`](super::LlmFront).
///
/// ```
/// use agent_gateway_llm::front::{DEFAULT_MAX_BODY, LlmFrontConfig};
///
/// assert_eq!(LlmFrontConfig::new().max_body(), DEFAULT_MAX_BODY);
/// let config = LlmFrontConfig::new().with_max_body(64 * 1024);
/// assert_eq!(config.max_body(), 64 * 1024);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LlmFrontConfig {
    pub(super) max_body: usize,
}

impl LlmFrontConfig {
    /// The default settings: bodies up to [`DEFAULT_MAX_BODY`].
    pub fn new() -> Self {
        LlmFrontConfig {
            max_body: DEFAULT_MAX_BODY,
        }
    }

    /// Sets the request body limit, in bytes (larger bodies get 413).
    #[doc(alias = "with_max_body_bytes")]
    pub fn with_max_body(mut self, limit: usize) -> Self {
        self.max_body = limit;
        self
    }

    /// The request body limit, in bytes.
    pub fn max_body(&self) -> usize {
        self.max_body
    }
}

impl Default for LlmFrontConfig {
    fn default() -> Self {
        LlmFrontConfig::new()
    }
}
