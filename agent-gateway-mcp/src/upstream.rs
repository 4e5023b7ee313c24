//! What the federation router sends to one upstream server, and the adapter that serves one
//! upstream directly behind the front.
//!
//! An [`UpstreamRequest`] carries a method and its parameters and nothing else: no inbound
//! headers, so a client's credential cannot reach an upstream by accident. An upstream answers
//! with the result object, or fails; a JSON-RPC error from the upstream is an
//! [`McpError::Upstream`](crate::McpError::Upstream).
//!
//! ```
//! use agent_gateway_core::BoxError;
//! use agent_gateway_mcp::upstream::{Direct, UpstreamRequest};
//! use agent_gateway_mcp::{McpError, McpRequest};
//! use serde_json::{Map, json};
//! use tower::ServiceExt;
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let server = tower::service_fn(|req: UpstreamRequest| async move {
//!     match req.method() {
//!         "tools/list" => Ok(Map::from_iter([("tools".to_owned(), json!([]))])),
//!         m => Err(BoxError::from(McpError::MethodNotFound(m.to_owned()))),
//!     }
//! });
//! let direct = Direct::new(server);
//! let ok = direct.clone().oneshot(McpRequest::from_value(1, "tools/list", json!({}))).await.unwrap();
//! assert_eq!(ok.result()["tools"], json!([]));
//! assert!(direct.oneshot(McpRequest::from_value(2, "x/y", json!({}))).await.is_err());
//! # });
//! ```

use std::task::{Context, Poll};

use agent_gateway_core::BoxError;
use futures_util::future::BoxFuture;
use serde_json::{Map, Value};
use tower::util::BoxCloneSyncService;
use tower::{Service, ServiceExt};

use http::{HeaderName, HeaderValue};

use crate::method::McpMethod;
use crate::notify::Notifier;
use crate::request::{ClientHop, McpRequestParts, Owner};
use crate::{McpRequest, McpResponse};

/// One request to one upstream server.
#[derive(Debug, Clone)]
pub struct UpstreamRequest {
    method: McpMethod,
    params: Map<String, Value>,
    notifier: Option<Notifier>,
    client: Option<ClientHop>,
    param_headers: Vec<(HeaderName, HeaderValue)>,
}

/// Two requests are equal when their method and parameters are: the notifier is where the
/// answer's notifications go, not part of the request.
impl PartialEq for UpstreamRequest {
    fn eq(&self, other: &Self) -> bool {
        self.method == other.method && self.params == other.params
    }
}

impl UpstreamRequest {
    /// A request for `method` with `params`.
    pub fn new(method: impl Into<McpMethod>, params: Map<String, Value>) -> Self {
        UpstreamRequest {
            method: method.into(),
            params,
            notifier: None,
            client: None,
            param_headers: Vec::new(),
        }
    }

    /// What a router sends upstream for a client's request: its method and parameters (moved,
    /// not copied), the [`Notifier`] and [`ClientHop`] the front put in its extensions, the
    /// hop bound to the caller (see [`ClientHop::with_owner`]). Headers are not carried.
    pub fn from_request(parts: McpRequestParts) -> Self {
        let owner = parts
            .extensions
            .get::<agent_gateway_core::Caller>()
            .map(Owner::of);
        let client = parts
            .extensions
            .get::<ClientHop>()
            .cloned()
            .map(|hop| hop.with_owner(owner));
        UpstreamRequest::new(parts.method, parts.params)
            .with_notifier(parts.extensions.get::<Notifier>().cloned())
            .with_client(client)
    }

    /// Sends these `Mcp-Param-*` headers (modern upstreams): mirrored tool arguments, the only
    /// headers a request carries upstream. Any other header name is ignored.
    pub fn with_param_headers(mut self, headers: Vec<(HeaderName, HeaderValue)>) -> Self {
        self.param_headers = headers
            .into_iter()
            .filter(|(n, _)| n.as_str().starts_with("mcp-param-"))
            .collect();
        self
    }

    /// The `Mcp-Param-*` headers to send.
    pub fn param_headers(&self) -> &[(HeaderName, HeaderValue)] {
        &self.param_headers
    }

    /// Tells the upstream what the client declared on its hop (capabilities, log level).
    pub fn with_client(mut self, client: Option<ClientHop>) -> Self {
        self.client = client;
        self
    }

    /// What the client declared on its hop, if known.
    pub fn client(&self) -> Option<&ClientHop> {
        self.client.as_ref()
    }

    /// Relays the upstream's progress and log notifications for this request with `notifier`.
    pub fn with_notifier(mut self, notifier: Option<Notifier>) -> Self {
        self.notifier = notifier;
        self
    }

    /// Where the upstream's notifications for this request go, if the client listens.
    pub fn notifier(&self) -> Option<&Notifier> {
        self.notifier.as_ref()
    }

    /// The method name.
    pub fn method(&self) -> &str {
        self.method.as_str()
    }

    /// The method, decoded.
    pub fn mcp_method(&self) -> &McpMethod {
        &self.method
    }

    /// The parameters.
    pub fn params(&self) -> &Map<String, Value> {
        &self.params
    }

    /// The parameters, mutably.
    pub fn params_mut(&mut self) -> &mut Map<String, Value> {
        &mut self.params
    }

    /// The method and parameters (the notifier is dropped).
    pub fn into_parts(self) -> (McpMethod, Map<String, Value>) {
        (self.method, self.params)
    }
}

/// A type-erased upstream: a result object, or an error.
pub type BoxUpstream = BoxCloneSyncService<UpstreamRequest, Map<String, Value>, BoxError>;

/// Serves one upstream directly, with no renaming: the simplest inner service for a front.
#[derive(Debug, Clone)]
pub struct Direct<S> {
    inner: S,
    parked: std::sync::Arc<crate::input::Parked>,
}

impl<S> Direct<S> {
    /// Serves `inner` directly.
    pub fn new(inner: S) -> Self {
        Direct {
            inner,
            parked: std::sync::Arc::default(),
        }
    }

    /// The upstream.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S> Service<McpRequest> for Direct<S>
where
    S: Service<UpstreamRequest, Response = Map<String, Value>, Error = BoxError>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
{
    type Response = McpResponse;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<McpResponse, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: McpRequest) -> Self::Future {
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let parked = self.parked.clone();
        if req.is_admission_only() {
            // Answered by the front once admitted: the upstream is not asked.
            let res = McpResponse::for_method(req.mcp_method(), Value::Object(Map::new()));
            return Box::pin(async move { Ok(res) });
        }
        let up = UpstreamRequest::from_request(req.into_parts());
        let method = up.mcp_method().clone();
        Box::pin(async move {
            let result =
                crate::input::send_fulfilling(up, &parked, move |up| inner.clone().oneshot(up))
                    .await?;
            Ok(McpResponse::for_method(&method, Value::Object(result)))
        })
    }
}
