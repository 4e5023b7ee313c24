use std::fmt;
use std::time::{Duration, UNIX_EPOCH};

use agent_gateway_core::{Caller, SharedClock, SystemClock};
use async_trait::async_trait;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Validation, decode, decode_header};
use serde_json::{Map, Value};

use super::authenticator::{AuthError, Authenticator, Credentials};

mod algorithm;
mod claims;
mod jwks;

pub use self::algorithm::SigningAlgorithm;
pub use self::claims::ClaimNames;
pub use self::jwks::{JwksError, JwksSource};

use self::jwks::JwksCache;

/// The longest bearer token parsed as a JWT; bounds the work an attacker can cause.
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Authenticates `Authorization: Bearer <JWT>` against a JSON Web Key Set (feature `jwt`).
///
/// A token is accepted only if all of these hold:
/// - its `alg` is in the allow-list (by default `RS256` and `ES256`; symmetric algorithms
///   and `none` cannot be configured, see [`SigningAlgorithm`]);
/// - its `kid` names a key of the set whose type (and `alg`, when the key pins one) fits
///   that algorithm; a token without `kid` needs a set with exactly one fitting key;
/// - the signature verifies;
/// - `exp` is present and not past, `nbf` (if present) is reached, both with a leeway
///   (60 s by default) for clock skew;
/// - `iss` is one of the configured issuers and `aud` names one of the configured audiences;
/// - `sub` is a non-empty string.
///
/// The caller gets `sub` as its subject, tenant, team, roles and scopes from the claims
/// named by [`ClaimNames`], every claim in [`Caller::claims`], and
/// [`AuthMethod::Jwt`](agent_gateway_core::caller::AuthMethod::Jwt).
///
/// # Key set caching
///
/// A fetched set (URL or file) is loaded on first use and kept for the cache TTL (10 min by
/// default). A token whose `kid` is unknown triggers a refresh, because issuers rotate keys,
/// but at most one fetch per refresh interval (30 s by default): key ids are chosen by
/// whoever sends the token, so without the limit a stream of made-up ids would turn the
/// gateway into a load generator against the issuer. The clock is injectable, so tests move
/// time instead of sleeping.
pub struct Jwt {
    cache: JwksCache,
    issuers: Vec<String>,
    audiences: Vec<String>,
    algorithms: Vec<SigningAlgorithm>,
    leeway: Duration,
    claims: ClaimNames,
    clock: SharedClock,
}

impl Jwt {
    /// Verifies tokens from `issuer` for `audience` (the canonical URL of this resource, for
    /// OAuth resource servers) with the keys of `jwks`.
    pub fn new(jwks: JwksSource, issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        // jsonwebtoken ≥ 10 panics on first use unless exactly one crypto backend is selected.
        // Feature unification in a user's build may enable a second one, so select ours
        // explicitly. An `Err` means a provider is already installed, which is just as good.
        let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
        Jwt {
            cache: JwksCache::new(jwks),
            issuers: vec![issuer.into()],
            audiences: vec![audience.into()],
            algorithms: vec![SigningAlgorithm::Rs256, SigningAlgorithm::Es256],
            leeway: Duration::from_secs(60),
            claims: ClaimNames::default(),
            clock: SystemClock::shared(),
        }
    }

    /// Also accepts tokens from `issuer`.
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuers.push(issuer.into());
        self
    }

    /// Also accepts tokens for `audience`.
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Replaces the algorithm allow-list.
    pub fn with_algorithms(
        mut self,
        algorithms: impl IntoIterator<Item = SigningAlgorithm>,
    ) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// Sets the clock-skew allowance for `exp` and `nbf` (whole seconds count).
    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Sets which claims carry tenant, team, roles and scopes.
    pub fn with_claim_names(mut self, claims: ClaimNames) -> Self {
        self.claims = claims;
        self
    }

    /// Reads time from `clock`: token validity and the key cache.
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Sets how long a fetched key set is used before it is fetched again.
    pub fn with_cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache.ttl = ttl;
        self
    }

    /// Sets the least time between two fetches of the key set, whatever triggers them.
    pub fn with_refresh_interval(mut self, interval: Duration) -> Self {
        self.cache.refresh_interval = interval;
        self
    }

    /// Sets how long one fetch of the key set may take.
    pub fn with_fetch_timeout(mut self, timeout: Duration) -> Self {
        self.cache.fetch_timeout = timeout;
        self
    }

    /// Verifies one token.
    pub async fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(AuthError::invalid("token too long"));
        }
        // An `alg` of `none`, or any name jsonwebtoken does not know, fails to parse here.
        let header = decode_header(token).map_err(|_| AuthError::invalid("malformed token"))?;
        let alg = SigningAlgorithm::from_header(header.alg)
            .filter(|alg| self.algorithms.contains(alg))
            .ok_or_else(|| AuthError::invalid("algorithm not allowed"))?;
        if header.crit.is_some() {
            // RFC 7515 §4.1.11: extensions we do not understand must not be ignored.
            return Err(AuthError::invalid("critical header extension"));
        }
        let key = self
            .cache
            .find(header.kid.as_deref(), alg, &*self.clock)
            .await?;

        // jsonwebtoken checks the signature only: its time checks read the system clock,
        // while ours read the injected one, and ours fail closed on a missing `exp`, `iss` or
        // `aud`.
        let mut validation = Validation::new(alg.to_jsonwebtoken());
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.leeway = 0;
        let data = decode::<Map<String, Value>>(token, &key, &validation).map_err(|e| {
            AuthError::invalid(match e.kind() {
                ErrorKind::InvalidSignature => "bad signature",
                ErrorKind::InvalidAlgorithm => "algorithm does not fit the key",
                _ => "malformed token",
            })
        })?;

        let now = self
            .clock
            .wall()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        claims::check_time(&data.claims, now, self.leeway.as_secs())?;
        claims::check_issuer(&data.claims, &self.issuers)?;
        claims::check_audience(&data.claims, &self.audiences)?;
        self.claims.to_caller(data.claims)
    }
}

#[async_trait]
impl Authenticator for Jwt {
    async fn authenticate(
        &self,
        credentials: Credentials<'_>,
    ) -> Result<Option<Caller>, AuthError> {
        match credentials.bearer()? {
            Some(token) => self.verify(token).await.map(Some),
            None => Ok(None),
        }
    }
}

impl fmt::Debug for Jwt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwt")
            .field("jwks", &self.cache)
            .field("issuers", &self.issuers)
            .field("audiences", &self.audiences)
            .field("algorithms", &self.algorithms)
            .field("leeway", &self.leeway)
            .field("claims", &self.claims)
            .finish_non_exhaustive()
    }
}
