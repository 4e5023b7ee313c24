//! The DNS-rebinding check for every governed route: `Host` must name this gateway and a
//! present `Origin` must be an allowed one, else 403 before anything else runs.
//!
//! ```
//! use std::convert::Infallible;
//! use agent_gateway_core::Denied;
//! use agent_gateway_core::host::{HostCheckLayer, HostPolicy};
//! use http::{Request, Response};
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let render = |_: &http::request::Parts, d: &Denied| {
//!     let mut res = Response::new(d.message().to_owned());
//!     *res.status_mut() = d.http_status();
//!     res
//! };
//! // A gateway on a loopback listener with nothing configured: loopback names only.
//! let policy = HostPolicy::for_listener("127.0.0.1:8080".parse().unwrap());
//! let svc = ServiceBuilder::new()
//!     .layer(HostCheckLayer::new(policy, render))
//!     .service(service_fn(|_: Request<()>| async { Ok::<_, Infallible>(Response::new("ok".to_owned())) }));
//!
//! let req = Request::get("/v1/models").header("host", "localhost:8080").body(()).unwrap();
//! assert_eq!(svc.clone().oneshot(req).await.unwrap().into_body(), "ok");
//! // A rebound name, or a page on another origin: refused.
//! let req = Request::get("/v1/models").header("host", "evil.example").body(()).unwrap();
//! assert_eq!(svc.clone().oneshot(req).await.unwrap().status(), 403);
//! let req = Request::get("/v1/models")
//!     .header("host", "127.0.0.1:8080")
//!     .header("origin", "http://evil.example")
//!     .body(())
//!     .unwrap();
//! assert_eq!(svc.clone().oneshot(req).await.unwrap().status(), 403);
//! // A page on this machine, any port: accepted (no origins configured, loopback listener).
//! let req = Request::get("/v1/models")
//!     .header("host", "127.0.0.1:8080")
//!     .header("origin", "http://localhost:3000")
//!     .body(())
//!     .unwrap();
//! assert_eq!(svc.oneshot(req).await.unwrap().into_body(), "ok");
//! # }
//! ```
//!
//! # Why
//!
//! A web page the user opens can make the browser send requests to `127.0.0.1` by resolving
//! its own name there (DNS rebinding). The browser then sends `Host: evil.example`, and an
//! `Origin` of the page. A gateway on a loopback address (often with `auth.required = false`
//! for local agents) would answer it. Checking `Host` against the names the gateway is reached
//! by, and refusing any `Origin` not explicitly allowed, stops it on every route: MCP, A2A and
//! the LLM APIs alike. Clients that are not browsers send no `Origin`.
//!
//! The same semantics as the MCP front's own check: `host:*` allows any port; a listener on a
//! loopback address with no configured hosts allows the loopback names only; on any other
//! address, hosts are not checked unless configured.
//!
//! Origins follow the same rule. On a loopback listener with no origins configured, a page
//! served from the same machine (`http://localhost`, `http://127.0.0.1` or `http://[::1]`, on
//! any port, `https` alike) is accepted, as its `Host` is: the DNS-rebinding attack comes from
//! a page on another name. Configured origins replace that default, and an entry may end in
//! `:*` for any port (`http://localhost:*`).

mod layer;
#[cfg(test)]
mod tests;

use std::convert::Infallible;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::Uri;
use http::header::{HOST, ORIGIN};
use http::{HeaderMap, HeaderValue, Request, Response};
use tower::Service;

pub use self::layer::HostCheckLayer;
use crate::Denied;
use crate::render::RenderDenial;

/// The names a page on this machine is served from: its origins are accepted by default on
/// a loopback listener (see [`HostPolicy::with_loopback_origins`]).
const LOOPBACK_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

/// Which `Host` and `Origin` values are allowed.
#[derive(Debug, Clone, Default)]
pub struct HostPolicy {
    /// `None`: `Host` is not checked.
    hosts: Option<Vec<String>>,
    origins: Vec<HeaderValue>,
    /// With no `origins`, accept the loopback origins (any port).
    loopback_origins: bool,
}

impl HostPolicy {
    /// Any `Host`, and no `Origin`: for a gateway reached by names it cannot know.
    pub fn any_host() -> Self {
        HostPolicy::default()
    }

    /// The default for a gateway listening on `listen`: on a loopback address, `localhost`,
    /// `127.0.0.1`, `[::1]` and the address itself, any port, as `Host`, and the loopback
    /// origins (see [`with_loopback_origins`](Self::with_loopback_origins)); elsewhere any
    /// `Host` and no `Origin`.
    pub fn for_listener(listen: SocketAddr) -> Self {
        if !listen.ip().is_loopback() {
            return HostPolicy::any_host();
        }
        let mut hosts: Vec<String> = ["localhost:*", "127.0.0.1:*", "[::1]:*"]
            .map(String::from)
            .into();
        let own = match listen {
            SocketAddr::V4(a) => format!("{}:*", a.ip()),
            SocketAddr::V6(a) => format!("[{}]:*", a.ip()),
        };
        if !hosts.contains(&own) {
            hosts.push(own);
        }
        HostPolicy::any_host()
            .with_allowed_hosts(hosts)
            .with_loopback_origins(true)
    }

    /// Allows exactly these hosts (`name`, `name:port`, or `name:*` for any port),
    /// compared case-insensitively.
    pub fn with_allowed_hosts<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        hosts: I,
    ) -> Self {
        self.hosts = Some(
            hosts
                .into_iter()
                .map(|h| h.into().to_ascii_lowercase())
                .collect(),
        );
        self
    }

    /// Allows requests carrying these `Origin` values (e.g. `https://app.example`, or
    /// `http://localhost:*` for any port); without any, a request with an `Origin` header is
    /// refused, unless it is a loopback origin and [`with_loopback_origins`](Self::with_loopback_origins)
    /// is on.
    pub fn with_allowed_origins(mut self, origins: impl IntoIterator<Item = HeaderValue>) -> Self {
        self.origins = origins.into_iter().collect();
        self
    }

    /// With `on` and no allowed origins configured, accepts an `Origin` of `http://localhost`,
    /// `http://127.0.0.1` or `http://[::1]` (or `https`), on any port: the default on a
    /// loopback listener ([`for_listener`](Self::for_listener)), where such a page runs on
    /// the same machine as the gateway. Configured origins replace it.
    pub fn with_loopback_origins(mut self, on: bool) -> Self {
        self.loopback_origins = on;
        self
    }

    /// Whether loopback origins are accepted when no origins are configured.
    pub fn loopback_origins(&self) -> bool {
        self.loopback_origins
    }

    /// The allowed hosts; `None` when `Host` is not checked.
    pub fn allowed_hosts(&self) -> Option<&[String]> {
        self.hosts.as_deref()
    }

    /// The allowed `Origin` values.
    pub fn allowed_origins(&self) -> &[HeaderValue] {
        &self.origins
    }

    /// Checks a request's `Origin` and host: a [`Denied::forbidden`] naming what was wrong.
    ///
    /// The host is the `Host` header, or the URI's authority where the request carries one:
    /// HTTP/2 sends the host as `:authority` (no `Host` header), and an HTTP/1.1 request in
    /// absolute form names it in its target. Two `Host` headers, or a `Host` that disagrees
    /// with the authority (RFC 9113 §8.3.1, RFC 9112 §3.2.2), are refused.
    pub fn check(&self, uri: &Uri, headers: &HeaderMap) -> Result<(), Denied> {
        if let Some(origin) = headers.get(ORIGIN)
            && !self.origin_allowed(origin)
        {
            return Err(Denied::forbidden("origin not allowed"));
        }
        let Some(hosts) = &self.hosts else {
            return Ok(());
        };
        let refused = || Denied::forbidden("host not allowed");
        let mut values = headers.get_all(HOST).iter();
        let from_header = match (values.next(), values.next()) {
            (None, _) => None,
            (Some(v), None) => Some(v.to_str().map_err(|_| refused())?.to_ascii_lowercase()),
            (Some(_), Some(_)) => return Err(refused()),
        };
        let from_uri = uri.authority().map(|a| a.as_str().to_ascii_lowercase());
        let host = match (from_header, from_uri) {
            (Some(header), Some(authority)) if header != authority => return Err(refused()),
            (Some(header), _) => Some(header),
            (None, authority) => authority,
        };
        let ok = host.is_some_and(|h| {
            hosts
                .iter()
                .any(|allowed| match allowed.strip_suffix(":*") {
                    Some(name) => h == name || h.rsplit_once(':').is_some_and(|(n, _)| n == name),
                    None => h == *allowed,
                })
        });
        if ok {
            Ok(())
        } else {
            Err(Denied::forbidden("host not allowed"))
        }
    }
}

impl HostPolicy {
    fn origin_allowed(&self, origin: &HeaderValue) -> bool {
        if self.origins.is_empty() {
            return self.loopback_origins && is_loopback_origin(origin);
        }
        self.origins.iter().any(|allowed| {
            allowed == origin
                || allowed
                    .to_str()
                    .ok()
                    .and_then(|a| a.strip_suffix(":*"))
                    .zip(origin.to_str().ok())
                    .is_some_and(|(prefix, o)| same_origin_any_port(prefix, o))
        })
    }
}

/// Whether `origin` is `prefix` (`scheme://host`) with no port or any numeric port,
/// compared case-insensitively.
fn same_origin_any_port(prefix: &str, origin: &str) -> bool {
    let Some(rest) = origin
        .get(..prefix.len())
        .filter(|head| head.eq_ignore_ascii_case(prefix))
        .map(|_| &origin[prefix.len()..])
    else {
        return false;
    };
    match rest.strip_prefix(':') {
        None => rest.is_empty(),
        Some(port) => !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()),
    }
}

/// Whether `origin` is a page on this machine: `http(s)://` a loopback name, any port.
fn is_loopback_origin(origin: &HeaderValue) -> bool {
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    ["http://", "https://"].iter().any(|scheme| {
        LOOPBACK_NAMES
            .iter()
            .any(|name| same_origin_any_port(&format!("{scheme}{name}"), origin))
    })
}

/// Refuses requests whose `Host` or `Origin` the [`HostPolicy`] does not allow, rendering the
/// 403 with `R`; built by [`HostCheckLayer`].
pub struct HostCheck<S, R> {
    inner: S,
    policy: Arc<HostPolicy>,
    render: Arc<R>,
}

impl<S, R> HostCheck<S, R> {
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

impl<S: Clone, R> Clone for HostCheck<S, R> {
    fn clone(&self) -> Self {
        HostCheck {
            inner: self.inner.clone(),
            policy: Arc::clone(&self.policy),
            render: Arc::clone(&self.render),
        }
    }
}

impl<S: fmt::Debug, R> fmt::Debug for HostCheck<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostCheck")
            .field("inner", &self.inner)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// The future of [`HostCheck`]: the inner service's, or the rendered refusal.
pub type ResponseFuture<F, B> =
    futures_util::future::Either<F, std::future::Ready<Result<Response<B>, Infallible>>>;

impl<S, R, B, RB> Service<Request<B>> for HostCheck<S, R>
where
    S: Service<Request<B>, Response = Response<RB>, Error = Infallible>,
    R: RenderDenial<RB>,
{
    type Response = Response<RB>;
    type Error = Infallible;
    type Future = ResponseFuture<S::Future, RB>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        match self.policy.check(req.uri(), req.headers()) {
            Ok(()) => futures_util::future::Either::Left(self.inner.call(req)),
            Err(denied) => {
                tracing::debug!(
                    reason = denied.message(),
                    "Host/Origin check refused a request"
                );
                let (head, _) = req.into_parts();
                let res = self.render.render(&head, &denied);
                futures_util::future::Either::Right(std::future::ready(Ok(res)))
            }
        }
    }
}
