use std::fmt;
use std::sync::Arc;

use http::HeaderName;
use http::header::AUTHORIZATION;
use tower::Layer;

use super::authenticator::{Authenticator, X_API_KEY};
use super::{Auth, AuthMode};

/// Wraps a service in [`Auth`]: authenticates each request with `A`, records the
/// [`Caller`](agent_gateway_core::Caller) and strips inbound credentials.
///
/// The authenticator (with its key cache) is created with the layer and shared by every
/// service the layer wraps, so a router calling `layer()` once per route still fetches one
/// JWKS.
#[must_use]
pub struct AuthLayer<A: ?Sized> {
    mode: AuthMode,
    strip: Arc<[HeaderName]>,
    credentials: Arc<[HeaderName]>,
    authenticator: Arc<A>,
}

impl<A: Authenticator> AuthLayer<A> {
    /// A layer in [`AuthMode::Required`] authenticating with `authenticator`.
    pub fn new(authenticator: A) -> Self {
        AuthLayer::from_arc(Arc::new(authenticator))
    }
}

impl<A: Authenticator> AuthLayer<A> {
    /// The same layer (mode, stripped headers, the shared authenticator) over
    /// `dyn Authenticator`, so that stacks with different authenticators have one type.
    pub fn into_dyn(self) -> AuthLayer<dyn Authenticator> {
        AuthLayer {
            mode: self.mode,
            strip: self.strip,
            credentials: self.credentials,
            authenticator: self.authenticator,
        }
    }
}

impl<A: Authenticator + ?Sized> AuthLayer<A> {
    /// A layer sharing an authenticator, possibly a `dyn Authenticator`.
    pub fn from_arc(authenticator: Arc<A>) -> Self {
        let mut strip = vec![AUTHORIZATION, X_API_KEY];
        for name in authenticator.credential_headers() {
            if !strip.contains(&name) {
                strip.push(name);
            }
        }
        AuthLayer {
            mode: AuthMode::Required,
            credentials: strip.clone().into(),
            strip: strip.into(),
            authenticator,
        }
    }

    /// Sets what happens to requests that present no credential.
    pub fn with_mode(mut self, mode: AuthMode) -> Self {
        self.mode = mode;
        self
    }

    /// Also strips header `name` before the request goes upstream, e.g. a session cookie
    /// header or a proprietary credential that no authenticator reads.
    pub fn with_stripped_header(mut self, name: HeaderName) -> Self {
        if !self.strip.contains(&name) {
            let mut strip = self.strip.to_vec();
            strip.push(name);
            self.strip = strip.into();
        }
        self
    }

    /// The shared authenticator, as the handle the layer holds.
    pub fn shared_authenticator(&self) -> Arc<A> {
        Arc::clone(&self.authenticator)
    }

    /// The shared authenticator.
    pub fn authenticator(&self) -> &A {
        &self.authenticator
    }

    /// The headers that carry credentials: `Authorization`, `x-api-key` and the
    /// authenticator's own. A request with two different values among them is refused.
    pub fn credential_headers(&self) -> &[HeaderName] {
        &self.credentials
    }

    /// The mode.
    pub fn mode(&self) -> AuthMode {
        self.mode
    }

    /// The headers stripped from every admitted request.
    pub fn stripped_headers(&self) -> &[HeaderName] {
        &self.strip
    }
}

impl<A: ?Sized> Clone for AuthLayer<A> {
    fn clone(&self) -> Self {
        AuthLayer {
            mode: self.mode,
            strip: Arc::clone(&self.strip),
            credentials: Arc::clone(&self.credentials),
            authenticator: Arc::clone(&self.authenticator),
        }
    }
}

impl<S, A: ?Sized> Layer<S> for AuthLayer<A> {
    type Service = Auth<S, A>;

    fn layer(&self, inner: S) -> Self::Service {
        Auth::from_layer(inner, self.clone())
    }
}

impl<A: fmt::Debug + ?Sized> fmt::Debug for AuthLayer<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthLayer")
            .field("mode", &self.mode)
            .field("strip", &self.strip)
            .field("authenticator", &self.authenticator)
            .finish()
    }
}
