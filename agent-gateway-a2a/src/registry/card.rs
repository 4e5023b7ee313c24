//! The card cache: one entry per agent, fresh for the upstream's `max-age`, revalidated with
//! `If-None-Match`, on the injected clock.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use agent_gateway_core::SharedClock;
use agent_gateway_core::body::read_limited;
use bytes::Bytes;
use http::header::{CACHE_CONTROL, ETAG, IF_NONE_MATCH};
use http::{HeaderValue, Method, Request, StatusCode, Uri};
use http_body_util::Full;
use serde_json::Value;
use tower::ServiceExt;

use super::instance::Connector;

/// The largest card the gateway accepts from an agent.
const MAX_CARD_BYTES: usize = 256 * 1024;
/// The longest an upstream may ask a card to be cached.
const MAX_TTL: Duration = Duration::from_secs(24 * 3600);

/// Why a card could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CardError {
    /// No such agent.
    #[error("unknown agent")]
    UnknownAgent,
    /// The card URL could not be fetched, or did not return a JSON object.
    #[error("the agent card could not be fetched")]
    Unavailable,
}

/// A card as fetched from the agent, with when it was fetched.
#[derive(Debug, Clone)]
pub struct CachedCard {
    /// The card, as the agent serves it (not yet rewritten).
    pub card: Arc<Value>,
    /// When the gateway fetched (or last revalidated) it, in calendar time.
    pub fetched: SystemTime,
}

#[derive(Debug, Clone)]
struct Entry {
    card: CachedCard,
    etag: Option<HeaderValue>,
    expires: Instant,
}

/// Cards by agent name.
pub struct CardCache {
    entries: Mutex<HashMap<String, Entry>>,
    clock: SharedClock,
    default_ttl: Duration,
}

impl fmt::Debug for CardCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardCache")
            .field("default_ttl", &self.default_ttl)
            .finish_non_exhaustive()
    }
}

fn max_age(value: Option<&HeaderValue>) -> Option<Duration> {
    let v = value?.to_str().ok()?;
    for directive in v.split(',').map(str::trim) {
        if directive.eq_ignore_ascii_case("no-store") || directive.eq_ignore_ascii_case("no-cache")
        {
            return Some(Duration::ZERO);
        }
        if let Some(secs) = directive.strip_prefix("max-age=") {
            return secs.trim_matches('"').parse().ok().map(Duration::from_secs);
        }
    }
    None
}

impl CardCache {
    /// An empty cache on `clock`; cards without `max-age` stay fresh for `default_ttl`.
    pub fn new(clock: SharedClock, default_ttl: Duration) -> Self {
        CardCache {
            entries: Mutex::new(HashMap::new()),
            clock,
            default_ttl,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // Entries are replaced whole: a panic cannot leave one half-written.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The card of `agent`: cached while fresh, else fetched from `url` (revalidated with the
    /// ETag when there is one). A stale card is served when a refetch fails.
    pub(crate) async fn get(
        &self,
        agent: &str,
        url: Uri,
        connector: Connector,
    ) -> Result<CachedCard, CardError> {
        let now = self.clock.now();
        let cached = self.lock().get(agent).cloned();
        if let Some(e) = &cached
            && e.expires > now
        {
            return Ok(e.card.clone());
        }
        let mut req = Request::builder()
            .method(Method::GET)
            .uri(url)
            .header(http::header::ACCEPT, "application/json")
            .body(Full::new(Bytes::new()))
            .map_err(|_| CardError::Unavailable)?;
        if let Some(tag) = cached.as_ref().and_then(|e| e.etag.clone()) {
            req.headers_mut().insert(IF_NONE_MATCH, tag);
        }
        let fetched = match connector.oneshot(req).await {
            Ok(res) => {
                let ttl = max_age(res.headers().get(CACHE_CONTROL))
                    .unwrap_or(self.default_ttl)
                    .min(MAX_TTL);
                let etag = res.headers().get(ETAG).cloned();
                match res.status() {
                    StatusCode::NOT_MODIFIED => cached.clone().map(|mut e| {
                        e.expires = self.clock.now() + ttl;
                        e
                    }),
                    StatusCode::OK => {
                        let (parts, body) = res.into_parts();
                        let body = read_limited(body, MAX_CARD_BYTES, &parts.headers)
                            .await
                            .ok();
                        body.and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                            .filter(Value::is_object)
                            .map(|card| Entry {
                                card: CachedCard {
                                    card: Arc::new(card),
                                    fetched: self.clock.wall(),
                                },
                                etag,
                                expires: self.clock.now() + ttl,
                            })
                    }
                    _ => None,
                }
            }
            Err(err) => {
                tracing::warn!(agent, error = %err, "agent card fetch failed");
                None
            }
        };
        match fetched {
            Some(entry) => {
                let card = entry.card.clone();
                self.lock().insert(agent.to_owned(), entry);
                Ok(card)
            }
            None => cached.map(|e| e.card).ok_or(CardError::Unavailable),
        }
    }
}
