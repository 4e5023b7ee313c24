//! [`A2aFrontConfig`]: the front's settings, built once and shared (behind an `Arc`) by every
//! front and clone a layer makes.

use std::time::Duration;

use http::Uri;
use serde_json::Value;

use crate::webhook::WebhookAllowList;

/// The public base URL is not an absolute http(s) URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an absolute http or https URL")]
pub struct InvalidPublicUrl(pub String);

/// The settings of an [`A2aFront`](super::A2aFront).
///
/// ```
/// use std::time::Duration;
/// use agent_gateway_a2a::front::A2aFrontConfig;
///
/// let config = A2aFrontConfig::new("https://gw.example.com/a2a/").unwrap()
///     .with_max_body(64 * 1024)
///     .with_card_max_age(Duration::from_secs(60));
/// assert_eq!(config.public_url(), "https://gw.example.com/a2a");
/// assert_eq!(config.max_body(), 64 * 1024);
/// // Refused: a relative URL cannot be advertised in cards.
/// assert!(A2aFrontConfig::new("/a2a").is_err());
/// ```
#[derive(Debug, Clone)]
pub struct A2aFrontConfig {
    pub(super) public_url: String,
    pub(super) max_body: usize,
    pub(super) card_max_age: Duration,
    pub(super) card_security: Option<(Value, Value)>,
    pub(crate) webhooks: WebhookAllowList,
}

impl A2aFrontConfig {
    /// Settings for a front reachable by clients at `public_url` (where it is mounted; card
    /// interfaces are rewritten under it). Bodies are limited to 1 MiB, cards are served with
    /// `max-age=300`, and no push webhook is allowed until [`with_webhooks`](Self::with_webhooks).
    pub fn new(public_url: &str) -> Result<Self, InvalidPublicUrl> {
        let uri: Uri = public_url
            .parse()
            .map_err(|_| InvalidPublicUrl(public_url.into()))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.authority().is_none() {
            return Err(InvalidPublicUrl(public_url.into()));
        }
        Ok(A2aFrontConfig {
            public_url: public_url.trim_end_matches('/').to_owned(),
            max_body: 1024 * 1024,
            card_max_age: Duration::from_secs(300),
            card_security: None,
            webhooks: WebhookAllowList::new(),
        })
    }

    /// Sets the largest request body accepted, in bytes (larger ones get 413).
    pub fn with_max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// Sets the `max-age` the card is served with.
    pub fn with_card_max_age(mut self, max_age: Duration) -> Self {
        self.card_max_age = max_age;
        self
    }

    /// Sets the security the rewritten cards advertise: the gateway's own auth, as 1.0
    /// `securitySchemes` and `securityRequirements`. Without it, the agent's own security
    /// fields are removed from the card (they describe how the gateway reaches the agent, not
    /// how clients reach the gateway).
    pub fn with_card_security(mut self, schemes: Value, requirements: Value) -> Self {
        self.card_security = Some((schemes, requirements));
        self
    }

    /// Sets the push-notification webhooks clients may register.
    pub fn with_webhooks(mut self, webhooks: WebhookAllowList) -> Self {
        self.webhooks = webhooks;
        self
    }

    /// The public base URL, without a trailing slash.
    pub fn public_url(&self) -> &str {
        &self.public_url
    }

    /// The largest request body accepted, in bytes.
    pub fn max_body(&self) -> usize {
        self.max_body
    }

    /// The push-notification webhooks clients may register.
    pub fn webhooks(&self) -> &WebhookAllowList {
        &self.webhooks
    }

    /// The `max-age` cards are served with.
    pub fn card_max_age(&self) -> Duration {
        self.card_max_age
    }
}
