//! Authentication before the body: [`PreAuth`] runs the authenticators over an HTTP request's
//! headers before any front reads or parses its body, answers a refused request at once, and
//! limits unauthenticated traffic per client address.
//!
//! ```
//! use std::convert::Infallible;
//! use agent_gateway_core::{Denied, Secret};
//! use agent_gateway_policy::auth::{ApiKeys, AuthLayer, Authenticated, PreAuthLayer, Principal};
//! use http::{Request, Response, StatusCode};
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let keys = ApiKeys::new().with_key(Secret::new("sk-alice-0123456789".to_string()), Principal::new("alice"));
//! let auth = AuthLayer::new(keys);
//! // How a refusal looks on this route; a protocol route renders its own error shape.
//! let render = |_: &http::request::Parts, denied: &Denied| {
//!     let mut res = Response::new(denied.message().to_owned());
//!     *res.status_mut() = denied.http_status();
//!     res
//! };
//! let svc = ServiceBuilder::new()
//!     .layer(PreAuthLayer::new(&auth, render))
//!     .service(service_fn(|req: Request<String>| async move {
//!         // The body is only looked at once the caller is known.
//!         let who = req.extensions().get::<Authenticated>().unwrap().caller().subject().to_owned();
//!         Ok::<_, Infallible>(Response::new(format!("{who}: {}", req.body())))
//!     }));
//!
//! // Allowed: the caller is established and handed on.
//! let req = Request::post("/").header("x-api-key", "sk-alice-0123456789").body("{}".to_string()).unwrap();
//! assert_eq!(svc.clone().oneshot(req).await.unwrap().into_body(), "alice: {}");
//!
//! // Denied: 401 before the body (even a malformed one) is read.
//! let req = Request::post("/").body("{".to_string()).unwrap();
//! let res = svc.oneshot(req).await.unwrap();
//! assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
//! assert_eq!(res.into_body(), "missing credential");
//! # }
//! ```
//!
//! # Why before the body
//!
//! A front reads up to its body limit and parses the JSON before the policy stack runs. Without
//! this layer an anonymous client makes the gateway read and parse megabytes per request, and
//! a malformed body gets a 400 before the missing credential gets its 401, which tells a
//! scanner that the route exists and how it parses. With it, a request without a valid
//! credential costs the gateway its headers only, and gets 401 first.
//!
//! # The unauthenticated rate limit
//!
//! Quotas key on the caller and so cannot count requests that have none. This layer counts
//! every request that is refused (no credential, a bad one, two different ones) or admitted as
//! anonymous against a GCRA limit per client address ([`PeerAddr`], which the server inserts;
//! IPv6 by its /64, since one host holds a whole /64), [`DEFAULT_UNAUTHENTICATED_RATE`] unless
//! set. Over the limit, the answer is a 429 with `Retry-After` instead of the 401. Authenticated
//! callers never count against it. Requests without a [`PeerAddr`] share one bucket.
//!
//! # Handing the caller on
//!
//! The established caller goes into the request extensions as [`Authenticated`]. The seam's
//! [`Auth`](super::Auth) layer uses it instead of authenticating again, then strips the
//! credential headers as usual. Only this crate can make an [`Authenticated`].

pub mod future;
mod layer;

use std::convert::Infallible;
use std::fmt;
use std::net::IpAddr;
use std::num::NonZeroU64;
use std::sync::Arc;
use std::task::{Context, Poll};

pub use agent_gateway_core::render::RenderDenial;
use agent_gateway_core::store::{CounterStore, MemoryStore, Rate};
use agent_gateway_core::{Caller, Denied, PeerAddr};
use http::{HeaderName, Request, Response};
use tower::Service;

pub use self::layer::PreAuthLayer;

use super::{AuthMode, Authenticator};

/// Unauthenticated requests admitted per client address: 120 a minute, in bursts of up to 120.
/// Enough for a person fixing a client's configuration or an OAuth client finding its
/// authorization server through 401 challenges; small enough that a credential-guessing or
/// body-flooding client is cut to two requests a second.
pub const DEFAULT_UNAUTHENTICATED_RATE: Rate =
    Rate::per_minute(NonZeroU64::new(120).expect("non-zero"));

/// The caller established before the body was read, in the request extensions; see the
/// [module docs](self).
#[derive(Debug, Clone)]
pub struct Authenticated(Caller);

impl Authenticated {
    /// The caller.
    pub fn caller(&self) -> &Caller {
        &self.0
    }
}

/// What [`PreAuth`] services share: built once with the layer, cloned as handles.
struct Shared<A: ?Sized, R> {
    authenticator: Arc<A>,
    names: Arc<[HeaderName]>,
    mode: AuthMode,
    render: Arc<R>,
    limit: Option<(MemoryStore, Rate)>,
}

impl<A: ?Sized, R> Clone for Shared<A, R> {
    fn clone(&self) -> Self {
        Shared {
            authenticator: Arc::clone(&self.authenticator),
            names: Arc::clone(&self.names),
            mode: self.mode,
            render: Arc::clone(&self.render),
            limit: self.limit.clone(),
        }
    }
}

/// Authenticates an HTTP request from its headers before the inner service reads the body;
/// built by [`PreAuthLayer`]. See the [module docs](self).
pub struct PreAuth<S, A: ?Sized, R> {
    inner: S,
    shared: Shared<A, R>,
}

impl<S, A: ?Sized, R> PreAuth<S, A, R> {
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

impl<S: Clone, A: ?Sized, R> Clone for PreAuth<S, A, R> {
    fn clone(&self) -> Self {
        PreAuth {
            inner: self.inner.clone(),
            shared: self.shared.clone(),
        }
    }
}

impl<S: fmt::Debug, A: ?Sized, R> fmt::Debug for PreAuth<S, A, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreAuth")
            .field("inner", &self.inner)
            .field("mode", &self.shared.mode)
            .finish_non_exhaustive()
    }
}

impl<S, A, R, B, RB> Service<Request<B>> for PreAuth<S, A, R>
where
    S: Service<Request<B>, Response = Response<RB>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    A: Authenticator + ?Sized,
    R: RenderDenial<RB>,
    B: Send + 'static,
    RB: 'static,
{
    type Response = Response<RB>;
    type Error = Infallible;
    type Future = future::ResponseFuture<RB>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let shared = self.shared.clone();
        future::ResponseFuture::new(async move {
            let (mut head, body) = req.into_parts();
            let outcome = super::authenticate(
                &*shared.authenticator,
                &shared.names,
                shared.mode,
                &head.headers,
                &head.extensions,
            )
            .await;
            let counted = match &outcome {
                Ok(caller) => caller.is_anonymous(),
                Err(_) => true,
            };
            if counted && let Some(denied) = shared.over_limit(&head).await {
                return Ok(shared.render.render(&head, &denied));
            }
            match outcome {
                Ok(caller) => {
                    head.extensions.insert(Authenticated(caller));
                    inner.call(Request::from_parts(head, body)).await
                }
                Err(denied) => Ok(shared.render.render(&head, &denied)),
            }
        })
    }
}

impl<A: ?Sized, R> Shared<A, R> {
    /// A quota denial when the request's address is over the unauthenticated limit.
    async fn over_limit(&self, head: &http::request::Parts) -> Option<Denied> {
        let (store, rate) = self.limit.as_ref()?;
        let key = address_key(head.extensions.get::<PeerAddr>());
        match store.take(&key, 1, *rate).await {
            Ok(take) if take.allowed => None,
            Ok(take) => {
                tracing::debug!(%key, "unauthenticated rate limit reached");
                Some(Denied::quota_exceeded(take.retry_after))
            }
            // The memory store does not fail; if it ever did, refuse (fail closed).
            Err(_) => Some(Denied::unavailable("rate limit unavailable")),
        }
    }
}

/// The bucket of an address: an IPv4 address, an IPv6 /64, or one shared bucket for requests
/// whose address is unknown.
fn address_key(peer: Option<&PeerAddr>) -> String {
    match peer.map(|p| p.ip()) {
        Some(IpAddr::V4(ip)) => ip.to_string(),
        Some(IpAddr::V6(ip)) => match ip.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = ip.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        None => "unknown".to_owned(),
    }
}

#[cfg(test)]
mod tests;
