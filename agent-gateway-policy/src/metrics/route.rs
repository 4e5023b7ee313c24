//! [`MetricsService`]: the scrape endpoint, `GET /metrics` in the Prometheus text format.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::task::{Context, Poll};

use agent_gateway_core::body::GatewayBody;
use http::{Method, Request, Response, StatusCode, header};
use prometheus_client::encoding::prometheus_text::CONTENT_TYPE;
use tower::Service;

use super::Metrics;

/// Answers a scrape with every metric of a [`Metrics`] in the Prometheus text format
/// (`text/plain; version=0.0.4`). Mount it at the scrape path of any router
/// (axum: `route_service("/metrics", metrics.service())`); it answers `GET` and `HEAD`, and
/// any other method with `405 Method Not Allowed`. Made by [`Metrics::service`].
#[derive(Clone, Debug)]
pub struct MetricsService {
    metrics: Metrics,
}

impl MetricsService {
    /// Serves `metrics`.
    pub fn new(metrics: Metrics) -> Self {
        MetricsService { metrics }
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
