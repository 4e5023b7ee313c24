//! The card cache: one entry per agent, fresh for the upstream's `max-age`, revalidated with
//! `If-None-Match`, on the injected clock. A fetch is bounded by a timeout, and concurrent
//! misses for one agent share a single fetch (the others wait for it, then read the cache),
//! so a slow agent is asked once, not once per waiting client.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
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

/// A card fetch took longer than the card timeout.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the agent card fetch timed out")]
struct CardTimeout;

/// A card as fetched from the agent, with when it was fetched.
#[derive(Debug, Clone)]
pub struct CachedCard {
    /// The card, as the agent serves it (not yet rewritten).
    pub card: Arc<Value>,
    /// When the gateway fetched (or last revalidated) it, in calendar time.
    pub fetched: SystemTime,
    /// The params of its [`DATA_SCHEMAS_EXTENSION`](crate::data::DATA_SCHEMAS_EXTENSION)
    /// extension, read once when the card was fetched (the same `Arc` while it is cached).
    pub data_schemas: Option<Arc<Value>>,
}

#[derive(Debug, Clone)]
struct Entry {
    card: CachedCard,
    etag: Option<HeaderValue>,
    expires: Instant,
}

/// The fetch of one agent's card: the lock held while fetching, how many fetches have
/// finished, and the outcome of the last one, which callers that waited for it share.
#[derive(Debug, Default)]
struct Flight {
    finished: AtomicU64,
    last: tokio::sync::Mutex<Option<Result<CachedCard, CardError>>>,
}

/// Cards by agent name.
pub struct CardCache {
    entries: Mutex<HashMap<String, Entry>>,
    /// One lock per agent (registered names only), held while its card is fetched.
    flights: Mutex<HashMap<String, Arc<Flight>>>,
    clock: SharedClock,
    default_ttl: Duration,
    timeout: Duration,
}

impl fmt::Debug for CardCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardCache")
            .field("default_ttl", &self.default_ttl)
            .field("timeout", &self.timeout)
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
    /// An empty cache on `clock`; cards without `max-age` stay fresh for `default_ttl`. A
    /// fetch may take [`DEFAULT_CARD_TIMEOUT`](super::DEFAULT_CARD_TIMEOUT).
    pub fn new(clock: SharedClock, default_ttl: Duration) -> Self {
        CardCache {
            entries: Mutex::new(HashMap::new()),
            flights: Mutex::new(HashMap::new()),
            clock,
            default_ttl,
            timeout: super::DEFAULT_CARD_TIMEOUT,
        }
    }

    /// Sets how long a fetch may take; past it a stale card is served, or none.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How many cards are cached now, fresh or stale: at most one per registered agent.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no card is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn fresh(&self, agent: &str) -> Result<CachedCard, Option<Entry>> {
        let cached = self.lock().get(agent).cloned();
        match cached {
            Some(e) if e.expires > self.clock.now() => Ok(e.card),
            other => Err(other),
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
        if let Ok(card) = self.fresh(agent) {
            return Ok(card);
        }
        let flight = self
            .flights
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(agent.to_owned())
            .or_default()
            .clone();
        let seen = flight.finished.load(Ordering::Acquire);
        let mut last = flight.last.lock().await;
        // A fetch finished while this caller waited: its outcome is this caller's too.
        if flight.finished.load(Ordering::Acquire) != seen
            && let Some(outcome) = last.clone()
        {
            return outcome;
        }
        let outcome = self.fetch(agent, url, connector).await;
        *last = Some(outcome.clone());
        flight.finished.fetch_add(1, Ordering::Release);
        outcome
    }

    async fn fetch(
        &self,
        agent: &str,
        url: Uri,
        connector: Connector,
    ) -> Result<CachedCard, CardError> {
        let cached = match self.fresh(agent) {
            Ok(card) => return Ok(card),
            Err(cached) => cached,
        };
        let mut req = Request::builder()
            .method(Method::GET)
            .uri(url)
            .header(http::header::ACCEPT, "application/json")
            .body(Full::new(Bytes::new()))
            .map_err(|_| CardError::Unavailable)?;
        if let Some(tag) = cached.as_ref().and_then(|e| e.etag.clone()) {
            req.headers_mut().insert(IF_NONE_MATCH, tag);
        }
        let fetch = tokio::time::timeout(self.timeout, connector.oneshot(req));
        let fetched = match fetch
            .await
            .unwrap_or_else(|_| Err(Box::new(CardTimeout).into()))
        {
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
                        let read = read_limited(body, MAX_CARD_BYTES, &parts.headers);
                        // The body is bounded by the same timeout: a card that trickles in
                        // must not hold discovery either.
                        let body = tokio::time::timeout(self.timeout, read)
                            .await
                            .ok()
                            .and_then(Result::ok);
                        body.and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                            .filter(Value::is_object)
                            .map(|card| Entry {
                                card: CachedCard {
                                    data_schemas: crate::data::declared_schemas(&card)
                                        .cloned()
                                        .map(Arc::new),
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
