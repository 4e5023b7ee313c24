use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use agent_gateway_core::{Caller, Denied};
use async_trait::async_trait;
use http::header::AUTHORIZATION;
use http::{Extensions, HeaderMap, HeaderName};

/// Turns the credentials of a request into a [`Caller`].
///
/// It answers one of three things:
/// - `Ok(Some(caller))`: a credential of this kind was presented and it verified;
/// - `Ok(None)`: no credential of this kind was presented;
/// - `Err(_)`: a credential of this kind was presented but it did not verify (or it could not
///   be checked, see [`AuthErrorKind::Unavailable`]).
///
/// Several authenticators chain as a tuple, `(ApiKeys, Jwt)`, or as a
/// `Vec<Box<dyn Authenticator>>`. A chain tries each in order and the first `Some` wins. If none
/// accepts, any error wins over "no credential": a bad credential is rejected even when the
/// layer is in [`AuthMode::Optional`](super::AuthMode::Optional). An error does not stop the
/// chain, because one bearer token may be an API key for one authenticator and a JWT for the
/// next.
///
/// `()` presents nothing and accepts nothing: with [`AuthMode::Optional`](super::AuthMode)
/// every caller is anonymous.
#[async_trait]
pub trait Authenticator: Send + Sync + 'static {
    /// Checks the credentials of one request.
    async fn authenticate(&self, credentials: Credentials<'_>)
    -> Result<Option<Caller>, AuthError>;

    /// Headers this authenticator reads credentials from, beyond `Authorization` and
    /// `x-api-key`. The auth layer strips them before the request goes upstream.
    fn credential_headers(&self) -> Vec<HeaderName> {
        Vec::new()
    }
}

/// The header carrying an API key when it is not sent as a bearer token.
pub const X_API_KEY: HeaderName = HeaderName::from_static("x-api-key");

/// What an [`Authenticator`] may read from a request: its headers and extensions.
#[derive(Debug, Clone, Copy)]
pub struct Credentials<'a> {
    headers: &'a HeaderMap,
    extensions: &'a Extensions,
}

impl<'a> Credentials<'a> {
    /// A view of a request's headers and extensions.
    pub fn new(headers: &'a HeaderMap, extensions: &'a Extensions) -> Self {
        Credentials {
            headers,
            extensions,
        }
    }

    /// The request headers.
    pub fn headers(&self) -> &'a HeaderMap {
        self.headers
    }

    /// The request extensions, where a server puts facts such as the verified mTLS peer.
    pub fn extensions(&self) -> &'a Extensions {
        self.extensions
    }

    /// The token of an `Authorization: Bearer <token>` header, if there is one.
    ///
    /// An `Authorization` header is a credential whatever its scheme, so a header that is
    /// present but is not a single, non-empty bearer token is an error, never "no credential".
    pub fn bearer(&self) -> Result<Option<&'a str>, AuthError> {
        let Some(value) = self.header(&AUTHORIZATION)? else {
            return Ok(None);
        };
        let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(AuthError::invalid("unsupported authorization scheme"));
        }
        let token = token.trim_matches(' ');
        if token.is_empty() {
            return Err(AuthError::invalid("empty bearer token"));
        }
        Ok(Some(token))
    }

    /// The value of header `name`, if present.
    ///
    /// Several values, or one that is not visible ASCII, are an error: a request that says two
    /// different things about who it is must not be resolved by picking one.
    pub fn header(&self, name: &HeaderName) -> Result<Option<&'a str>, AuthError> {
        let mut values = self.headers.get_all(name).iter();
        let Some(value) = values.next() else {
            return Ok(None);
        };
        if values.next().is_some() {
            return Err(AuthError::invalid("credential header repeated"));
        }
        value
            .to_str()
            .map(Some)
            .map_err(|_| AuthError::invalid("credential header is not visible ASCII"))
    }
}

/// Refuses a request that presents two different credentials in `names` (the `Authorization`
/// bearer token, `x-api-key`, an authenticator's own headers).
///
/// Picking one by precedence would let a request that is, say, key A in `x-api-key` and key B
/// as a bearer token act as whichever the chain tries first, which neither the client nor a log
/// reader can tell. The same value sent twice (a client that sets both headers to its one key)
/// is one credential and passes.
pub(crate) fn one_credential(headers: &HeaderMap, names: &[HeaderName]) -> Result<(), AuthError> {
    let mut seen: Option<&[u8]> = None;
    for name in names {
        for value in headers.get_all(name) {
            let mut bytes = value.as_bytes();
            if *name == AUTHORIZATION
                && let Some((scheme, token)) = value.to_str().ok().and_then(|v| v.split_once(' '))
                && scheme.eq_ignore_ascii_case("bearer")
            {
                bytes = token.trim_matches(' ').as_bytes();
            }
            match seen {
                None => seen = Some(bytes),
                Some(first) if first == bytes => {}
                Some(_) => return Err(AuthError::invalid("two different credentials")),
            }
        }
    }
    Ok(())
}

/// Why an [`AuthError`] happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthErrorKind {
    /// A credential was presented and it did not verify. Becomes
    /// [`DeniedKind::Unauthenticated`](agent_gateway_core::DeniedKind::Unauthenticated).
    InvalidCredential,
    /// The credential could not be checked, e.g. no JWKS could be fetched. Becomes
    /// [`DeniedKind::Unavailable`](agent_gateway_core::DeniedKind::Unavailable): the
    /// request is refused (fail closed), but retrying may succeed.
    Unavailable,
}

/// A credential was presented but could not be accepted.
///
/// `Display` shows only a generic message, safe for clients: telling an attacker *which*
/// check failed (signature, audience, unknown key id) helps them forge the next attempt. The
/// precise [`reason`](AuthError::reason) is for logs; the auth layer logs it at debug level.
/// A reason never contains credential material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthError {
    kind: AuthErrorKind,
    reason: Cow<'static, str>,
}

impl AuthError {
    /// A credential that did not verify, with the reason for logs.
    pub fn invalid(reason: impl Into<Cow<'static, str>>) -> Self {
        AuthError {
            kind: AuthErrorKind::InvalidCredential,
            reason: reason.into(),
        }
    }

    /// A credential that could not be checked, with the reason for logs.
    pub fn unavailable(reason: impl Into<Cow<'static, str>>) -> Self {
        AuthError {
            kind: AuthErrorKind::Unavailable,
            reason: reason.into(),
        }
    }

    /// Why it happened.
    pub fn kind(&self) -> AuthErrorKind {
        self.kind
    }

    /// The precise reason, for logs only.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    fn public_message(&self) -> &'static str {
        match self.kind {
            AuthErrorKind::InvalidCredential => "invalid credential",
            AuthErrorKind::Unavailable => "authentication unavailable",
        }
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.public_message())
    }
}

impl std::error::Error for AuthError {}

impl From<AuthError> for Denied {
    fn from(err: AuthError) -> Denied {
        match err.kind {
            AuthErrorKind::InvalidCredential => Denied::unauthenticated(err.public_message()),
            AuthErrorKind::Unavailable => Denied::unavailable(err.public_message()),
        }
    }
}

/// The outcome of a chain so far: the most telling error seen.
#[derive(Default)]
struct Failures(Option<AuthError>);

impl Failures {
    fn record(&mut self, err: AuthError) {
        // "Could not check" beats "did not verify": the credential may be good, and the client
        // should learn that retrying can help.
        if self.0.as_ref().map(AuthError::kind) != Some(AuthErrorKind::Unavailable) {
            self.0 = Some(err);
        }
    }

    fn finish(self) -> Result<Option<Caller>, AuthError> {
        self.0.map_or(Ok(None), Err)
    }
}

#[async_trait]
impl Authenticator for () {
    async fn authenticate(&self, _: Credentials<'_>) -> Result<Option<Caller>, AuthError> {
        Ok(None)
    }
}

/// An authenticator behind a pointer is the authenticator it points to.
macro_rules! forward_authenticator {
    ($($pointer:ident),+) => {$(
        #[async_trait]
        impl<A: Authenticator + ?Sized> Authenticator for $pointer<A> {
            async fn authenticate(
                &self,
                credentials: Credentials<'_>,
            ) -> Result<Option<Caller>, AuthError> {
                (**self).authenticate(credentials).await
            }

            fn credential_headers(&self) -> Vec<HeaderName> {
                (**self).credential_headers()
            }
        }
    )+};
}

forward_authenticator!(Arc, Box);

#[async_trait]
impl<A: Authenticator> Authenticator for Vec<A> {
    async fn authenticate(
        &self,
        credentials: Credentials<'_>,
    ) -> Result<Option<Caller>, AuthError> {
        let mut failures = Failures::default();
        for authenticator in self {
            match authenticator.authenticate(credentials).await {
                Ok(Some(caller)) => return Ok(Some(caller)),
                Ok(None) => {}
                Err(err) => failures.record(err),
            }
        }
        failures.finish()
    }

    fn credential_headers(&self) -> Vec<HeaderName> {
        self.iter().flat_map(A::credential_headers).collect()
    }
}

macro_rules! chain_tuple {
    ($($name:ident . $idx:tt),+) => {
        #[async_trait]
        impl<$($name: Authenticator),+> Authenticator for ($($name,)+) {
            async fn authenticate(
                &self,
                credentials: Credentials<'_>,
            ) -> Result<Option<Caller>, AuthError> {
                let mut failures = Failures::default();
                $(
                    match self.$idx.authenticate(credentials).await {
                        Ok(Some(caller)) => return Ok(Some(caller)),
                        Ok(None) => {}
                        Err(err) => failures.record(err),
                    }
                )+
                failures.finish()
            }

            fn credential_headers(&self) -> Vec<HeaderName> {
                let mut headers = Vec::new();
                $( headers.extend(self.$idx.credential_headers()); )+
                headers
            }
        }
    };
}

chain_tuple!(A.0, B.1);
chain_tuple!(A.0, B.1, C.2);
chain_tuple!(A.0, B.1, C.2, D.3);
