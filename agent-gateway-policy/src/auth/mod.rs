//! Authentication: turns an admission credential (API key, JWT, mTLS peer) into a
//! [`Caller`], and refuses requests whose credential does not verify.
//!
//! ```
//! use agent_gateway_core::{Action, AgentRequest, BoxError, Call, Caller, Denied, DeniedKind, Secret};
//! use agent_gateway_policy::auth::{ApiKeys, AuthLayer, Principal};
//! use http::{HeaderMap, HeaderValue};
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let keys = ApiKeys::new().with_key(
//!     Secret::new("sk-alice-0123456789".to_string()),
//!     Principal::new("alice").with_tenant("acme").with_allowed_tools(["fs.read"]),
//! );
//! let layer = AuthLayer::new(keys);
//! // The inner service sees the caller, and never the key.
//! let upstream = service_fn(|call: Call| async move {
//!     assert!(call.headers().get("x-api-key").is_none());
//!     Ok::<_, BoxError>(call.caller().map(|c| c.subject().to_owned()))
//! });
//! let stack = ServiceBuilder::new().layer(layer).service(upstream);
//! let call = |key: &'static str| {
//!     let mut headers = HeaderMap::new();
//!     headers.insert("x-api-key", HeaderValue::from_static(key));
//!     Call::new(Action::ToolCall, Default::default()).with_headers(headers)
//! };
//!
//! // Allowed: a known key.
//! let subject = stack.clone().oneshot(call("sk-alice-0123456789")).await.unwrap();
//! assert_eq!(subject.as_deref(), Some("alice"));
//!
//! // Denied: an unknown key, with a message that does not say what was wrong.
//! let err = stack.clone().oneshot(call("sk-mallory")).await.unwrap_err();
//! let denied = Denied::find(err.as_ref()).unwrap();
//! assert_eq!(denied.kind(), &DeniedKind::Unauthenticated);
//! assert_eq!(denied.message(), "invalid credential");
//! # }
//! ```
//!
//! # How it decides
//!
//! An [`Authenticator`] answers "verified caller", "no credential of my kind" or "bad
//! credential". Tuples and vectors of authenticators form a chain, e.g. `(ApiKeys, Jwt)`.
//! Then the [`AuthMode`] decides what a request without any credential gets: a
//! [`Denied::unauthenticated`] in [`AuthMode::Required`] (the default, failing closed), or
//! [`Caller::anonymous`] in [`AuthMode::Optional`]. A credential that is presented but does
//! not verify is refused in both modes: otherwise a stolen-but-revoked key would silently
//! downgrade to anonymous access instead of being noticed.
//!
//! Denials never reach the inner service, and carry only "invalid credential" or "missing
//! credential": which check failed is logged at debug level, not told to the client.
//!
//! A request that presents two *different* credentials (an `x-api-key` and a different bearer
//! token, or two authenticators' headers) is refused as an invalid credential: no silent
//! precedence decides which of two identities it is. The same value twice is one credential.
//!
//! # Before the body
//!
//! [`PreAuthLayer`] runs the same authenticator over the HTTP request's headers, before any
//! front reads or parses the body, and limits unauthenticated traffic per client address; see
//! [`pre`]. The caller it establishes travels in the extensions as [`Authenticated`], and this
//! layer uses it instead of authenticating again.
//!
//! # Why credentials are stripped
//!
//! Before the inner service runs, the layer removes `Authorization`, `x-api-key` and every
//! header an authenticator reads (plus any added with [`AuthLayer::with_stripped_header`]).
//! A credential sent to the gateway is meant for the gateway. Forwarding it would hand every
//! upstream a token it can replay against anything else that accepts it, the "token
//! passthrough" that MCP forbids; upstream credentials are configured per upstream instead.
//!
//! # Protected-resource metadata
//!
//! [`ProtectedResourceMetadata`] is the RFC 9728 document through which OAuth clients find
//! the authorization server, with [`MetadataService`] to serve it and
//! [`BearerChallenge`] for the `WWW-Authenticate` header of a 401.

pub mod future;

mod api_key;
mod authenticator;
#[cfg(feature = "jwt")]
mod jwt;
mod layer;
mod metadata;
mod mtls;
pub mod pre;
mod principal;
#[cfg(test)]
mod tests;

use std::fmt;
use std::task::{Context, Poll};

use agent_gateway_core::{AgentRequest, BoxError, Caller, Denied};
use http::HeaderName;
use tower::Service;

pub use self::api_key::{ApiKeys, InvalidKeyHash, KeyHash};
pub use self::authenticator::{AuthError, AuthErrorKind, Authenticator, Credentials, X_API_KEY};
#[cfg(feature = "jwt")]
pub use self::jwt::{ClaimNames, JwksError, JwksSource, Jwt, SigningAlgorithm};
pub use self::layer::AuthLayer;
pub use self::metadata::{
    BearerChallenge, InvalidResourceUrl, MetadataService, ProtectedResourceMetadata,
};
pub use self::mtls::{CLAIM_PEER_SANS, CLAIM_PEER_SUBJECT, Mtls, PeerIdentity};
pub use self::pre::{Authenticated, PreAuth, PreAuthLayer};
pub use self::principal::{
    CLAIM_ALLOWED_AGENTS, CLAIM_ALLOWED_MODELS, CLAIM_ALLOWED_TOOLS, Principal,
};

use self::future::ResponseFuture;

/// What a request that presents no credential at all gets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AuthMode {
    /// It is refused with [`Denied::unauthenticated`].
    #[default]
    Required,
    /// It proceeds as [`Caller::anonymous`], for routes where later policy decides what the
    /// anonymous caller may do.
    Optional,
}

/// Authenticates each request, records its [`Caller`], strips inbound credentials, and calls
/// the inner service only for admitted requests. Built by [`AuthLayer`].
///
/// Inside a [`PolicyStack`](crate::stack::PolicyStack) without auth it is a pass-through step:
/// it calls the inner service directly, with no authentication and no allocation.
pub struct Auth<S, A: ?Sized> {
    inner: S,
    layer: Option<AuthLayer<A>>,
}

impl<S, A: ?Sized> Auth<S, A> {
    pub(crate) fn from_layer(inner: S, layer: AuthLayer<A>) -> Self {
        Auth {
            inner,
            layer: Some(layer),
        }
    }

    /// A pass-through step: calls `inner` as it is.
    pub(crate) fn pass(inner: S) -> Self {
        Auth { inner, layer: None }
    }

    /// A reference to the inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// A mutable reference to the inner service.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Consumes `self`, returning the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, A: Authenticator + ?Sized> Auth<S, A> {
    /// The authenticator, unless this is a stack's pass-through step.
    pub fn authenticator(&self) -> Option<&A> {
        self.layer.as_ref().map(AuthLayer::authenticator)
    }
}

impl<S, A, R> Service<R> for Auth<S, A>
where
    R: AgentRequest + Send + 'static,
    S: Service<R> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Response: Send + 'static,
    S::Error: Into<BoxError>,
    A: Authenticator + ?Sized,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut req: R) -> Self::Future {
        let Some(layer) = &self.layer else {
            return ResponseFuture::passed(self.inner.call(req));
        };
        // The future gets the instance that was made ready; `self` keeps a fresh clone.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let layer = layer.clone();
        ResponseFuture::authenticating(Box::pin(async move {
            // A pre-auth layer over the HTTP request already did the work, before the body was
            // read: the caller it established is used, not authenticated twice.
            let caller = match req.extensions().get::<Authenticated>() {
                Some(pre) => pre.caller().clone(),
                None => {
                    authenticate(
                        layer.authenticator(),
                        layer.credential_headers(),
                        layer.mode(),
                        req.headers(),
                        req.extensions(),
                    )
                    .await?
                }
            };
            let headers = req.headers_mut();
            for name in layer.stripped_headers() {
                headers.remove(name);
            }
            req.set_caller(caller);
            Ok(inner.call(req))
        }))
    }
}

/// The whole decision for one request's headers and extensions: one credential at most, then
/// the authenticator, then the mode.
pub(crate) async fn authenticate<A: Authenticator + ?Sized>(
    authenticator: &A,
    names: &[HeaderName],
    mode: AuthMode,
    headers: &http::HeaderMap,
    extensions: &http::Extensions,
) -> Result<Caller, Denied> {
    let outcome = match authenticator::one_credential(headers, names) {
        Ok(()) => {
            authenticator
                .authenticate(Credentials::new(headers, extensions))
                .await
        }
        Err(err) => Err(err),
    };
    admit(outcome, mode)
}

/// Applies the mode to an authenticator's answer.
fn admit(outcome: Result<Option<Caller>, AuthError>, mode: AuthMode) -> Result<Caller, Denied> {
    match (outcome, mode) {
        (Ok(Some(caller)), _) => {
            tracing::debug!(
                subject = caller.subject(),
                method = caller.method().as_str(),
                "authenticated"
            );
            Ok(caller)
        }
        (Ok(None), AuthMode::Optional) => Ok(Caller::anonymous()),
        (Ok(None), AuthMode::Required) => {
            tracing::debug!("authentication failed: no credential");
            Err(Denied::unauthenticated("missing credential"))
        }
        (Err(err), _) => {
            tracing::debug!(reason = err.reason(), kind = ?err.kind(), "authentication failed");
            Err(err.into())
        }
    }
}

impl<S: Clone, A: ?Sized> Clone for Auth<S, A> {
    fn clone(&self) -> Self {
        Auth {
            inner: self.inner.clone(),
            layer: self.layer.clone(),
        }
    }
}

impl<S: fmt::Debug, A: fmt::Debug + ?Sized> fmt::Debug for Auth<S, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field("inner", &self.inner)
            .field("layer", &self.layer)
            .finish()
    }
}
