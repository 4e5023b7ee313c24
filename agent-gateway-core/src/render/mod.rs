//! Denials as plain HTTP responses, for routes that speak no protocol: [`RenderDenied`] turns
//! the error of an inner service into a response, so a policy stack has `Error = Infallible`
//! and mounts in axum with `Router::layer` or `route_service`.
//!
//! A [`Denied`] anywhere in the error's chain becomes its status, a JSON body
//! `{"error": {"type", "message", "rule"}}`, a `Retry-After` for quota denials (see
//! [`Denied::retry_after_header`]) and a `WWW-Authenticate` challenge on 401. Any other error
//! becomes a 500 that says nothing of the cause, which is logged once, here.
//!
//! ```
//! use agent_gateway_core::render::RenderDeniedLayer;
//! use agent_gateway_core::{AgentRequest, BoxError, Denied};
//! use http::{Request, Response};
//! use http_body_util::{BodyExt, Full};
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let svc = ServiceBuilder::new()
//!     .layer(RenderDeniedLayer::new())
//!     .service_fn(|req: Request<Full<bytes::Bytes>>| async move {
//!         // Stands for an auth layer: a request without a credential is refused.
//!         if req.headers().contains_key("authorization") {
//!             Ok(Response::new(Full::new(bytes::Bytes::from("hello"))))
//!         } else {
//!             Err(BoxError::from(Denied::unauthenticated("missing credential")))
//!         }
//!     });
//! // Allowed: the inner response passes unchanged.
//! let req = Request::get("/").header("authorization", "Bearer t").body(Full::default()).unwrap();
//! let res = svc.clone().oneshot(req).await.unwrap();
//! assert_eq!(res.into_body().collect().await.unwrap().to_bytes(), "hello");
//! // Denied: a 401 with a JSON body and a challenge, and the error type is `Infallible`.
//! let res = svc.oneshot(Request::new(Full::default())).await.unwrap();
//! assert_eq!(res.status(), 401);
//! assert_eq!(res.headers()["www-authenticate"], "Bearer");
//! let body = res.into_body().collect().await.unwrap().to_bytes();
//! let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
//! assert_eq!(json["error"]["type"], "unauthenticated");
//! assert_eq!(json["error"]["message"], "missing credential");
//! # }
//! ```

pub mod future;
mod layer;

use std::convert::Infallible;
use std::error::Error;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderValue, Response, StatusCode};
use serde_json::json;
use tower::Service;

pub use self::layer::RenderDeniedLayer;

/// How a layer that answers before the protocol front (a Host check, authentication before
/// the body) renders a refusal on a route: that route's error shape, with the denial's
/// status.
///
/// Implemented by every `Fn(&http::request::Parts, &Denied) -> Response<B>`.
///
/// ```
/// use agent_gateway_core::Denied;
/// use agent_gateway_core::render::RenderDenial;
/// use http::Response;
///
/// let plain = |_: &http::request::Parts, d: &Denied| {
///     let mut res = Response::new(d.message().to_owned());
///     *res.status_mut() = d.http_status();
///     res
/// };
/// let (head, ()) = http::Request::new(()).into_parts();
/// let res = plain.render(&head, &Denied::forbidden("host not allowed"));
/// assert_eq!(res.status(), 403);
/// assert_ne!(res.status(), 401);
/// ```
pub trait RenderDenial<B>: Send + Sync + 'static {
    /// The response for `denied`, given the request's head.
    fn render(&self, head: &http::request::Parts, denied: &Denied) -> Response<B>;
}

impl<B, F> RenderDenial<B> for F
where
    F: Fn(&http::request::Parts, &Denied) -> Response<B> + Send + Sync + 'static,
{
    fn render(&self, head: &http::request::Parts, denied: &Denied) -> Response<B> {
        self(head, denied)
    }
}
use crate::body::GatewayBody;
use crate::{BoxError, Denied};

/// A service rendering its inner service's errors as HTTP responses; see the
/// [module docs](self).
#[derive(Debug)]
pub struct RenderDenied<S> {
    inner: S,
    challenge: HeaderValue,
    /// The inner service failed to become ready: the next call answers with this error.
    not_ready: Option<BoxError>,
}

impl<S: Clone> Clone for RenderDenied<S> {
    fn clone(&self) -> Self {
        RenderDenied {
            inner: self.inner.clone(),
            challenge: self.challenge.clone(),
            not_ready: None,
        }
    }
}

impl<S> RenderDenied<S> {
    /// Renders the errors of `inner`, challenging 401s with `Bearer`.
    pub fn new(inner: S) -> Self {
        RenderDenied {
            inner,
            challenge: HeaderValue::from_static("Bearer"),
            not_ready: None,
        }
    }

    /// Sets the `WWW-Authenticate` value sent with a 401, such as a Bearer challenge naming
    /// the protected-resource metadata.
    pub fn with_www_authenticate(mut self, challenge: HeaderValue) -> Self {
        self.challenge = challenge;
        self
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, R, B> Service<R> for RenderDenied<S>
where
    S: Service<R, Response = Response<B>>,
    S::Error: Into<BoxError>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<GatewayBody>;
    type Error = Infallible;
    type Future = future::ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        if self.not_ready.is_some() {
            return Poll::Ready(Ok(()));
        }
        // An inner service that cannot become ready is not called: the next call renders its
        // error instead, so this service stays `Infallible`.
        match self.inner.poll_ready(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Ok(())) => Poll::Ready(Ok(())),
            Poll::Ready(Err(err)) => {
                self.not_ready = Some(err.into());
                Poll::Ready(Ok(()))
            }
        }
    }

    fn call(&mut self, req: R) -> Self::Future {
        let challenge = self.challenge.clone();
        match self.not_ready.take() {
            Some(err) => future::ResponseFuture::failed(err, challenge),
            None => future::ResponseFuture::new(self.inner.call(req), challenge),
        }
    }
}

/// The plain-HTTP response for a denial: its status, a JSON body, `Retry-After` for quotas,
/// and `challenge` as `WWW-Authenticate` on 401.
pub fn denied_response(denied: &Denied, challenge: &HeaderValue) -> Response<GatewayBody> {
    let body = json!({"error": {
        "type": denied.kind().as_str(),
        "message": denied.message(),
        "rule": denied.rule(),
    }});
    let mut res = json_response(denied.http_status(), &body);
    if let Some(after) = denied.retry_after_header() {
        res.headers_mut().insert(RETRY_AFTER, after);
    }
    if denied.http_status() == StatusCode::UNAUTHORIZED {
        res.headers_mut()
            .insert(WWW_AUTHENTICATE, challenge.clone());
    }
    res
}

/// The plain-HTTP response for any error: [`denied_response`] for a [`Denied`] in its chain,
/// else a 500 that leaks nothing (the error is logged here).
pub fn error_response(
    err: &(dyn Error + 'static),
    challenge: &HeaderValue,
) -> Response<GatewayBody> {
    if let Some(denied) = Denied::find(err) {
        return denied_response(denied, challenge);
    }
    tracing::error!(error = %err, "request failed");
    json_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        &json!({"error": {"type": "internal", "message": "internal error"}}),
    )
}

fn json_response(status: StatusCode, body: &serde_json::Value) -> Response<GatewayBody> {
    let mut res = Response::new(GatewayBody::full(body.to_string()));
    *res.status_mut() = status;
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

#[cfg(test)]
mod tests;
