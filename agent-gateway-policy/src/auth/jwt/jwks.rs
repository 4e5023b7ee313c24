use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use agent_gateway_core::Clock;
use agent_gateway_core::client::{HttpClient, http_client};
use bytes::Bytes;
use http::header::ACCEPT;
use http::{Request, Uri};
use http_body_util::{BodyExt, Empty, Limited};
use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{Jwk, KeyOperations, PublicKeyUse};
use serde::Deserialize;

use super::algorithm::{KeyKind, Pinned, SigningAlgorithm};
use crate::auth::AuthError;

/// The largest JWKS document accepted; real ones are a few kilobytes.
const MAX_JWKS_BYTES: usize = 1 << 20;

/// Where the [`Jwt`](super::Jwt) authenticator gets its JSON Web Key Set.
///
/// A key id (`kid`) from a token is only ever looked up in the loaded set. It is never part of
/// a path or a URL, so a `kid` like `../../etc/passwd` or `http://evil` is just an unknown key.
#[derive(Clone)]
pub struct JwksSource(Source);

#[derive(Clone)]
enum Source {
    Static(Arc<KeyIndex>),
    File(PathBuf),
    Url(Uri),
}

/// A JWKS that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JwksError {
    /// The document is not a JWKS.
    #[error("not a JSON Web Key Set")]
    Json(#[source] serde_json::Error),
    /// The set holds no key that can verify tokens (symmetric and encryption keys are
    /// skipped).
    #[error("the JWKS holds no usable signing key")]
    NoUsableKey,
    /// The URL is not an absolute `http` or `https` URL.
    #[error("a JWKS URL must be an absolute http(s) URL")]
    Url,
}

impl JwksSource {
    /// A fixed key set given as JSON, parsed now.
    pub fn from_json(json: &str) -> Result<Self, JwksError> {
        Ok(JwksSource(Source::Static(Arc::new(KeyIndex::parse(
            json.as_bytes(),
        )?))))
    }

    /// A key set in a file, read on first use and re-read like a fetched one, so that a key
    /// rotated on disk is picked up without a restart.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        JwksSource(Source::File(path.into()))
    }

    /// A key set fetched over HTTP(S), usually the issuer's `jwks_uri`.
    pub fn url(url: Uri) -> Result<Self, JwksError> {
        match (url.scheme_str(), url.authority()) {
            (Some("https" | "http"), Some(_)) => Ok(JwksSource(Source::Url(url))),
            _ => Err(JwksError::Url),
        }
    }
}

impl fmt::Debug for JwksSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Source::Static(index) => write!(f, "JwksSource::Static({} keys)", index.keys.len()),
            Source::File(path) => write!(f, "JwksSource::File({path:?})"),
            Source::Url(url) => write!(f, "JwksSource::Url({url})"),
        }
    }
}

/// One usable verification key.
struct VerifyKey {
    kid: Option<String>,
    kind: KeyKind,
    pinned: Pinned,
    key: DecodingKey,
}

impl VerifyKey {
    fn verifies(&self, alg: SigningAlgorithm) -> bool {
        self.kind == alg.key_kind()
            && (self.pinned == Pinned::Any || self.pinned == Pinned::Only(alg))
    }
}

/// The usable keys of a set.
#[derive(Default)]
pub(super) struct KeyIndex {
    keys: Vec<VerifyKey>,
}

/// What a lookup found.
pub(super) enum Selection<'a> {
    Found(&'a DecodingKey),
    /// The key id exists, but not for the token's algorithm: a confusion attempt or a
    /// misconfigured issuer, either way not worth a refresh.
    Mismatch,
    Unknown,
}

#[derive(Deserialize)]
struct RawSet {
    keys: Vec<serde_json::Value>,
}

impl KeyIndex {
    fn parse(bytes: &[u8]) -> Result<KeyIndex, JwksError> {
        let raw: RawSet = serde_json::from_slice(bytes).map_err(JwksError::Json)?;
        // Keys this crate cannot parse or use are skipped one by one, so that an issuer adding
        // a new key type does not break verification with the keys it already had.
        let keys: Vec<VerifyKey> = raw
            .keys
            .into_iter()
            .filter_map(|value| serde_json::from_value::<Jwk>(value).ok())
            .filter_map(|jwk| usable(&jwk))
            .collect();
        if keys.is_empty() {
            return Err(JwksError::NoUsableKey);
        }
        Ok(KeyIndex { keys })
    }

    /// The key for a token: by `kid`, or without one the single key that fits.
    pub(super) fn select(&self, kid: Option<&str>, alg: SigningAlgorithm) -> Selection<'_> {
        match kid {
            Some(kid) => {
                let mut named = self.keys.iter().filter(|k| k.kid.as_deref() == Some(kid));
                let mut any = false;
                for key in named.by_ref() {
                    if key.verifies(alg) {
                        return Selection::Found(&key.key);
                    }
                    any = true;
                }
                if any {
                    Selection::Mismatch
                } else {
                    Selection::Unknown
                }
            }
            None => {
                let mut fitting = self.keys.iter().filter(|k| k.verifies(alg));
                match (fitting.next(), fitting.next()) {
                    (Some(key), None) => Selection::Found(&key.key),
                    _ => Selection::Unknown,
                }
            }
        }
    }
}

fn usable(jwk: &Jwk) -> Option<VerifyKey> {
    let common = &jwk.common;
    if common
        .public_key_use
        .as_ref()
        .is_some_and(|u| *u != PublicKeyUse::Signature)
    {
        return None;
    }
    if common
        .key_operations
        .as_ref()
        .is_some_and(|ops| !ops.contains(&KeyOperations::Verify))
    {
        return None;
    }
    let kind = KeyKind::of(jwk)?;
    let pinned = Pinned::of(jwk);
    match pinned {
        Pinned::Unusable => return None,
        Pinned::Only(alg) if alg.key_kind() != kind => return None,
        _ => {}
    }
    Some(VerifyKey {
        kid: common.key_id.clone(),
        kind,
        pinned,
        key: DecodingKey::from_jwk(jwk).ok()?,
    })
}

/// Keeps the key set of a refreshable source, fetched at most once per refresh interval.
pub(super) struct JwksCache {
    source: Source,
    client: Option<HttpClient<Empty<Bytes>>>,
    pub(super) ttl: Duration,
    pub(super) refresh_interval: Duration,
    pub(super) fetch_timeout: Duration,
    state: Mutex<State>,
    /// One fetch at a time: concurrent requests with the same new `kid` wait for it.
    fetching: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct State {
    keys: Option<Arc<KeyIndex>>,
    loaded_at: Option<Instant>,
    last_attempt: Option<Instant>,
}

impl JwksCache {
    pub(super) fn new(source: JwksSource) -> Self {
        let client = matches!(source.0, Source::Url(_)).then(http_client);
        JwksCache {
            source: source.0,
            client,
            ttl: Duration::from_secs(600),
            refresh_interval: Duration::from_secs(30),
            fetch_timeout: Duration::from_secs(5),
            state: Mutex::new(State::default()),
            fetching: tokio::sync::Mutex::new(()),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Plain values written whole: a panic elsewhere cannot leave them half-written.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The key that verifies a token with `kid` and `alg`.
    pub(super) async fn find(
        &self,
        kid: Option<&str>,
        alg: SigningAlgorithm,
        clock: &dyn Clock,
    ) -> Result<DecodingKey, AuthError> {
        if let Source::Static(index) = &self.source {
            return resolve(index.select(kid, alg));
        }
        let (current, stale) = {
            let state = self.state();
            let stale = state
                .loaded_at
                .is_none_or(|at| clock.now().saturating_duration_since(at) >= self.ttl);
            (state.keys.clone(), stale)
        };
        let index = match current {
            Some(index) if !stale => index,
            // Past the TTL an unreachable JWKS keeps the old keys working: locking everyone
            // out because the issuer blinked would be worse than honouring keys a little
            // longer.
            Some(old) => self.refresh(clock).await.unwrap_or(old),
            None => self.refresh(clock).await?,
        };
        match index.select(kid, alg) {
            Selection::Unknown => {
                // The issuer may have rotated keys since the last fetch. The refresh is rate
                // limited, because anyone can send tokens with made-up key ids: without a
                // limit each one would make the gateway hammer the issuer's JWKS endpoint.
                let fresh = self.refresh(clock).await?;
                resolve(fresh.select(kid, alg))
            }
            found => resolve(found),
        }
    }

    /// Fetches the set, unless a fetch was attempted less than the refresh interval ago; then
    /// answers the keys already loaded.
    async fn refresh(&self, clock: &dyn Clock) -> Result<Arc<KeyIndex>, AuthError> {
        let _one_at_a_time = self.fetching.lock().await;
        let now = clock.now();
        {
            let mut state = self.state();
            let recent = state
                .last_attempt
                .is_some_and(|at| now.saturating_duration_since(at) < self.refresh_interval);
            if recent {
                return state
                    .keys
                    .clone()
                    .ok_or_else(|| AuthError::unavailable("no JWKS loaded yet"));
            }
            state.last_attempt = Some(now);
        }
        match tokio::time::timeout(self.fetch_timeout, self.fetch()).await {
            Ok(Ok(index)) => {
                let index = Arc::new(index);
                let mut state = self.state();
                state.keys = Some(Arc::clone(&index));
                state.loaded_at = Some(now);
                Ok(index)
            }
            Ok(Err(reason)) => {
                tracing::warn!(source = ?JwksSource(self.source.clone()), %reason, "JWKS fetch failed");
                Err(AuthError::unavailable("JWKS fetch failed"))
            }
            Err(_) => {
                tracing::warn!(source = ?JwksSource(self.source.clone()), "JWKS fetch timed out");
                Err(AuthError::unavailable("JWKS fetch timed out"))
            }
        }
    }

    async fn fetch(&self) -> Result<KeyIndex, String> {
        let bytes: Bytes = match (&self.source, &self.client) {
            (Source::File(path), _) => {
                let path = path.clone();
                tokio::task::spawn_blocking(move || std::fs::read(path))
                    .await
                    .map_err(|e| e.to_string())?
                    .map_err(|e| e.to_string())?
                    .into()
            }
            (Source::Url(url), Some(client)) => {
                let req = Request::get(url.clone())
                    .header(ACCEPT, "application/json")
                    .body(Empty::new())
                    .map_err(|e| e.to_string())?;
                let res = client.request(req).await.map_err(|e| e.to_string())?;
                if !res.status().is_success() {
                    return Err(format!("status {}", res.status()));
                }
                Limited::new(res.into_body(), MAX_JWKS_BYTES)
                    .collect()
                    .await
                    .map_err(|e| e.to_string())?
                    .to_bytes()
            }
            _ => return Err("source cannot be fetched".to_owned()),
        };
        KeyIndex::parse(&bytes).map_err(|e| e.to_string())
    }
}

fn resolve(selection: Selection<'_>) -> Result<DecodingKey, AuthError> {
    match selection {
        Selection::Found(key) => Ok(key.clone()),
        Selection::Mismatch => Err(AuthError::invalid("token algorithm does not fit its key")),
        Selection::Unknown => Err(AuthError::invalid("unknown key id")),
    }
}

impl fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwksCache")
            .field("source", &JwksSource(self.source.clone()))
            .field("ttl", &self.ttl)
            .field("refresh_interval", &self.refresh_interval)
            .finish_non_exhaustive()
    }
}
