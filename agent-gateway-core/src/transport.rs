//! [`HttpTransport`]: the one bound for "an HTTP client the gateway can send upstream requests
//! through", so connectors stop repeating six lines of `where` clauses.
//!
//! It is a sealed trait alias with a blanket impl, as tower's `MakeService` is: every
//! `Service<Request<Full<Bytes>>>` answering `Response<B>` for a streaming `B`, cloneable and
//! `Send + Sync + 'static`, is an `HttpTransport`: core's hyper client, an in-process fake
//! upstream, a `BoxCloneSyncService`.
//!
//! ```
//! use agent_gateway_core::transport::HttpTransport;
//! use agent_gateway_core::BoxError;
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::{BodyExt, Full};
//! use tower::{ServiceExt, service_fn};
//!
//! /// A connector generic over its transport: one bound instead of six.
//! async fn fetch<C: HttpTransport>(client: C, path: &str) -> Result<(StatusCode, Bytes), BoxError> {
//!     let req = Request::get(path).body(Full::new(Bytes::new()))?;
//!     let res = client.oneshot(req).await.map_err(Into::into)?;
//!     let status = res.status();
//!     let body = res.into_body().collect().await.map_err(Into::into)?.to_bytes();
//!     Ok((status, body))
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let upstream = service_fn(|req: Request<Full<Bytes>>| async move {
//!     let status = if req.uri() == "/ok" { StatusCode::OK } else { StatusCode::FORBIDDEN };
//!     let mut res = Response::new(Full::new(Bytes::from("body")));
//!     *res.status_mut() = status;
//!     Ok::<_, std::convert::Infallible>(res)
//! });
//! // Allowed and refused answers both come through the one bound.
//! assert_eq!(fetch(upstream, "/ok").await.unwrap(), (StatusCode::OK, Bytes::from("body")));
//! assert_eq!(fetch(upstream, "/no").await.unwrap().0, StatusCode::FORBIDDEN);
//! # }
//! ```

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use http_body_util::Full;
use tower::Service;

use crate::BoxError;

mod sealed {
    pub trait Sealed<B> {}
}

/// An HTTP client for upstream calls: a cloneable `Service<Request<Full<Bytes>>>` whose
/// response body streams `Bytes`, with errors that box.
///
/// Sealed: implemented for every service meeting the bound, and only through the blanket impl.
pub trait HttpTransport:
    Service<
        Request<Full<Bytes>>,
        Response = Response<Self::ResBody>,
        Error: Into<BoxError>,
        Future: Send,
    >
    + Clone
    + Send
    + Sync
    + 'static
    + sealed::Sealed<Self::ResBody>
{
    /// The body of the responses.
    type ResBody: Body<Data = Bytes, Error: Into<BoxError>> + Send + 'static;
}

impl<C, B> sealed::Sealed<B> for C where C: Service<Request<Full<Bytes>>, Response = Response<B>> {}

impl<C, B> HttpTransport for C
where
    C: Service<Request<Full<Bytes>>, Response = Response<B>> + Clone + Send + Sync + 'static,
    C::Error: Into<BoxError>,
    C::Future: Send,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type ResBody = B;
}
