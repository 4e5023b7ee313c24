//! [`MetricsService`]: the scrape endpoint, `GET /metrics` in the Prometheus text format.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::task::{Context, Poll};

use agent_gateway_core::Secret;
use agent_gateway_core::body::GatewayBody;
use http::{HeaderMap, Method, Request, Response, StatusCode, header};
use prometheus_client::encoding::prometheus_text::CONTENT_TYPE;
use tower::Service;

use super::Metrics;

/// Answers a scrape with every metric of a [`Metrics`] in the Prometheus text format
/// (`text/plain; version=0.0.4`). Mount it at the scrape path of any router
/// (axum: `route_service("/metrics", metrics.service())`); it answers `GET` and `HEAD`, and
/// any other method with `405 Method Not Allowed`. Made by [`Metrics::service`].
///
/// Open to anyone who reaches it unless [`with_bearer_token`](Self::with_bearer_token) sets a
/// token: the metrics name callers, models and rule ids, so restrict the route by network or
/// by token.
///
/// ```
/// use agent_gateway_core::Secret;
/// use agent_gateway_policy::metrics::Metrics;
/// use tower::ServiceExt;
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let scrape = Metrics::new().service().with_bearer_token(Secret::new("s3cret".into()));
/// let get = |auth: Option<&str>| {
///     let req = http::Request::get("/metrics");
///     let req = match auth { Some(a) => req.header("authorization", a), None => req };
///     scrape.clone().oneshot(req.body(()).unwrap())
/// };
/// assert_eq!(get(None).await.unwrap().status(), 401);
/// assert_eq!(get(Some("Bearer wrong")).await.unwrap().status(), 401);
/// assert_eq!(get(Some("Bearer s3cret")).await.unwrap().status(), 200);
/// # });
/// ```
#[derive(Clone, Debug)]
pub struct MetricsService {
    metrics: Metrics,
    /// `Debug` shows it redacted.
    token: Option<Secret<String>>,
}

impl MetricsService {
    /// Serves `metrics`, to anyone.
    pub fn new(metrics: Metrics) -> Self {
        MetricsService {
            metrics,
            token: None,
        }
    }

    /// Serves only scrapes that present `token` as `Authorization: Bearer <token>` (compared
    /// in constant time, as Prometheus' `authorization` scrape option sends it); any other
    /// gets `401 Unauthorized` with `WWW-Authenticate: Bearer`. The token is never logged.
    pub fn with_bearer_token(mut self, token: Secret<String>) -> Self {
        self.token = Some(token);
        self
    }

    /// Whether `headers` carry the token (always, when none is set).
    fn admits(&self, headers: &HeaderMap) -> bool {
        let Some(token) = &self.token else {
            return true;
        };
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, value)| value.trim())
            .filter(|value| !value.is_empty());
        presented.is_some_and(|p| token.ct_eq_bytes(p.as_bytes()))
    }
}

impl<B> Service<Request<B>> for MetricsService {
    type Response = Response<GatewayBody>;
    type Error = Infallible;
    type Future = Ready<Result<Response<GatewayBody>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let mut res = Response::new(GatewayBody::empty());
        if !self.admits(req.headers()) {
            *res.status_mut() = StatusCode::UNAUTHORIZED;
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"metrics\""),
            );
            return ready(Ok(res));
        }
        let method = req.method();
        if method != Method::GET && method != Method::HEAD {
            *res.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
            res.headers_mut()
                .insert(header::ALLOW, header::HeaderValue::from_static("GET, HEAD"));
            return ready(Ok(res));
        }
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static(CONTENT_TYPE),
        );
        if method == Method::GET {
            *res.body_mut() = GatewayBody::full(self.metrics.render());
        }
        ready(Ok(res))
    }
}
