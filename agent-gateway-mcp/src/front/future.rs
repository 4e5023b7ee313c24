//! The response future of [`McpFront`](super::McpFront), which never fails: every error is
//! already an HTTP answer.
//!
//! ```
//! use agent_gateway_core::BoxError;
//! use agent_gateway_mcp::{McpFront, McpFrontConfig, McpRequest, McpResponse};
//! use bytes::Bytes;
//! use http_body_util::Full;
//! use tower::ServiceExt;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let inner = tower::service_fn(|r: McpRequest| async move {
//!     Ok::<_, BoxError>(McpResponse::for_method(r.method(), serde_json::json!({})))
//! });
//! let front = McpFront::new(inner, McpFrontConfig::new("gw", "1").unwrap());
//! // A PUT is refused, and the future still resolves to Ok: a 405 answer.
//! let put = http::Request::put("/mcp").body(Full::new(Bytes::new())).unwrap();
//! let res = front.clone().oneshot(put).await.unwrap();
//! assert_eq!(res.status(), 405);
//! // A POST without the required Accept is answered too: 406.
//! let post = http::Request::post("/mcp").header("content-type", "application/json")
//!     .body(Full::new(Bytes::from_static(b"{}"))).unwrap();
//! assert_eq!(front.oneshot(post).await.unwrap().status(), 406);
//! # });
//! ```

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::Response;

use super::render::ResponseBody;

/// The response future of [`McpFront`](super::McpFront): it never fails.
pub struct ResponseFuture {
    pub(crate) inner: Pin<Box<dyn Future<Output = Response<ResponseBody>> + Send>>,
}

impl fmt::Debug for ResponseFuture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl Future for ResponseFuture {
    type Output = Result<Response<ResponseBody>, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx).map(Ok)
    }
}
