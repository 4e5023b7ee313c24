use std::fmt;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use http::{Extensions, HeaderMap, Method, Request, Response, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, Full};
use serde_json::Value;
use tower::{Service, ServiceExt};

use crate::{BoxError, Caller, RunId};

/// An in-process HTTP client for any `Service<http::Request<Full<Bytes>>>`.
///
/// Each request is sent to a clone of the service with `oneshot`, as a server would, so state
/// shared through `Arc` (counters, stores) is shared across requests.
#[derive(Debug, Clone)]
pub struct TestClient<S> {
    service: S,
}

impl<S> TestClient<S> {
    /// A client for `service`.
    pub fn new(service: S) -> Self {
        TestClient { service }
    }

    /// The service.
    pub fn get_ref(&self) -> &S {
        &self.service
    }
}

impl<S: Clone> TestClient<S> {
    /// Starts a request with `method` to `uri`.
    pub fn request(&self, method: Method, uri: &str) -> TestRequest<S> {
        TestRequest {
            service: self.service.clone(),
            method,
            uri: uri.to_owned(),
            headers: HeaderMap::new(),
            extensions: Extensions::new(),
            body: Bytes::new(),
        }
    }

    /// Starts a GET request.
    pub fn get(&self, uri: &str) -> TestRequest<S> {
        self.request(Method::GET, uri)
    }

    /// Starts a POST request.
    pub fn post(&self, uri: &str) -> TestRequest<S> {
        self.request(Method::POST, uri)
    }

    /// Starts a DELETE request.
    pub fn delete(&self, uri: &str) -> TestRequest<S> {
        self.request(Method::DELETE, uri)
    }
}

/// A request being built by a [`TestClient`].
pub struct TestRequest<S> {
    service: S,
    method: Method,
    uri: String,
    headers: HeaderMap,
    extensions: Extensions,
    body: Bytes,
}

impl<S> fmt::Debug for TestRequest<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestRequest")
            .field("method", &self.method)
            .field("uri", &self.uri)
            .field("headers", &self.headers)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

impl<S> TestRequest<S> {
    /// Adds a header. Panics on an invalid name or value: this is test code.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        let name = HeaderName::try_from(name).expect("valid header name");
        let value = HeaderValue::try_from(value).expect("valid header value");
        self.headers.append(name, value);
        self
    }

    /// Sets a JSON body and `Content-Type: application/json`.
    pub fn json(mut self, value: &Value) -> Self {
        self.body = Bytes::from(value.to_string());
        self.headers
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        self
    }

    /// Sets a raw body, leaving the headers alone.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Puts a caller in the request extensions, as an auth layer would.
    pub fn caller(mut self, caller: Caller) -> Self {
        self.extensions.insert(caller);
        self
    }

    /// Puts a run id in the request extensions.
    pub fn run(mut self, run: RunId) -> Self {
        self.extensions.insert(run);
        self
    }

    /// Puts any value in the request extensions (connection info, peer certificates).
    pub fn extension<T: Clone + Send + Sync + 'static>(mut self, value: T) -> Self {
        self.extensions.insert(value);
        self
    }

    /// The `http::Request` this builder describes, and the service it was meant for.
    ///
    /// It carries `Host: localhost` unless a `Host` was set, as every HTTP/1.1 client sends
    /// one (and the gateway's DNS-rebinding check on a loopback listener requires one).
    pub fn into_parts(self) -> (S, Request<Full<Bytes>>) {
        let mut req = Request::new(Full::new(self.body));
        *req.method_mut() = self.method;
        *req.uri_mut() = self.uri.parse().expect("valid uri");
        let mut headers = self.headers;
        headers
            .entry(http::header::HOST)
            .or_insert(http::HeaderValue::from_static("localhost"));
        *req.headers_mut() = headers;
        *req.extensions_mut() = self.extensions;
        (self.service, req)
    }
}

impl<S, B> TestRequest<S>
where
    S: Service<Request<Full<Bytes>>, Response = Response<B>>,
    S::Error: Into<BoxError>,
{
    /// Sends the request and returns the response with its body still streaming.
    pub async fn send_raw(self) -> Result<Response<B>, BoxError> {
        let (service, req) = self.into_parts();
        service.oneshot(req).await.map_err(Into::into)
    }

    /// Sends the request and collects the whole response. Panics if the service or the body
    /// fails: this is test code, and a front with `Error = Infallible` never does.
    pub async fn send(self) -> TestResponse
    where
        B: Body,
        B::Error: Into<BoxError>,
    {
        let res = self.send_raw().await.expect("the service failed");
        let (parts, body) = res.into_parts();
        let body = body
            .collect()
            .await
            .map_err(Into::into)
            .expect("the response body failed")
            .to_bytes();
        TestResponse {
            status: parts.status,
            headers: parts.headers,
            extensions: parts.extensions,
            body,
        }
    }
}

/// A response collected by a [`TestClient`].
#[derive(Debug, Clone)]
pub struct TestResponse {
    status: StatusCode,
    headers: HeaderMap,
    extensions: Extensions,
    body: Bytes,
}

impl TestResponse {
    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// One header as a string, if present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body.
    pub fn bytes(&self) -> &Bytes {
        &self.body
    }

    /// The body as text; panics if it is not UTF-8.
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("UTF-8 body")
    }

    /// The body as JSON; panics if it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }

    /// The response extensions, such as a [`UsageReport`](crate::UsageReport).
    pub fn extensions(&self) -> &Extensions {
        &self.extensions
    }
}
