use std::convert::Infallible;
use std::future::{Ready, ready};
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{ALLOW, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, Response, StatusCode, Uri};
use serde::Serialize;
use tower::Service;

/// The well-known path prefix of RFC 9728 protected-resource metadata.
const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// RFC 9728 protected-resource metadata: tells an OAuth client which authorization servers
/// issue tokens for this resource, and which scopes exist.
///
/// An MCP server acting as an OAuth resource server must publish it, listing at least one
/// authorization server. `bearer_methods_supported` is always `["header"]`: the auth layer
/// reads tokens from the `Authorization` header only, never from the query string, where
/// they would end up in access logs.
///
/// ```
/// use agent_gateway_policy::auth::ProtectedResourceMetadata;
///
/// let metadata = ProtectedResourceMetadata::new("https://mcp.example.com/mcp", "https://auth.example.com")
///     .unwrap()
///     .with_scope("tools:call");
/// assert_eq!(metadata.well_known_path(), "/.well-known/oauth-protected-resource/mcp");
/// assert_eq!(
///     metadata.metadata_url(),
///     "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
/// );
/// let json: serde_json::Value = serde_json::from_str(&metadata.to_json()).unwrap();
/// assert_eq!(json["authorization_servers"][0], "https://auth.example.com");
/// assert_eq!(json["bearer_methods_supported"][0], "header");
/// assert!(ProtectedResourceMetadata::new("not a url", "https://auth.example.com").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProtectedResourceMetadata {
    resource: String,
    authorization_servers: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    scopes_supported: Vec<String>,
    bearer_methods_supported: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_name: Option<String>,
    #[serde(skip)]
    uri: Uri,
}

/// A resource or authorization server identifier that is not an absolute `http(s)` URL
/// without a fragment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an absolute http(s) URL without a fragment")]
pub struct InvalidResourceUrl(());

fn parse_url(url: &str) -> Result<Uri, InvalidResourceUrl> {
    let uri: Uri = url.parse().map_err(|_| InvalidResourceUrl(()))?;
    let scheme_ok = matches!(uri.scheme_str(), Some("https" | "http"));
    if !scheme_ok || uri.authority().is_none() || url.contains('#') {
        return Err(InvalidResourceUrl(()));
    }
    Ok(uri)
}

impl ProtectedResourceMetadata {
    /// Metadata for `resource` (the canonical URL clients use, which tokens must name as
    /// their audience) whose tokens `authorization_server` issues.
    pub fn new(resource: &str, authorization_server: &str) -> Result<Self, InvalidResourceUrl> {
        let uri = parse_url(resource)?;
        parse_url(authorization_server)?;
        Ok(ProtectedResourceMetadata {
            resource: resource.to_owned(),
            authorization_servers: vec![authorization_server.to_owned()],
            scopes_supported: Vec::new(),
            bearer_methods_supported: vec!["header"],
            resource_name: None,
            uri,
        })
    }

    /// Adds another authorization server.
    pub fn with_authorization_server(mut self, issuer: &str) -> Result<Self, InvalidResourceUrl> {
        parse_url(issuer)?;
        self.authorization_servers.push(issuer.to_owned());
        Ok(self)
    }

    /// Adds a scope to `scopes_supported`.
    pub fn with_scope(mut self, scope: impl Into<String>) -> Self {
        self.scopes_supported.push(scope.into());
        self
    }

    /// Sets the human-readable `resource_name`.
    pub fn with_resource_name(mut self, name: impl Into<String>) -> Self {
        self.resource_name = Some(name.into());
        self
    }

    /// The resource identifier.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// The path at which the document is served: the well-known prefix followed by the
    /// resource's path, without a trailing slash (RFC 9728 §3.1).
    pub fn well_known_path(&self) -> String {
        let path = self.uri.path().trim_end_matches('/');
        format!("{WELL_KNOWN}{path}")
    }

    /// The absolute URL of the document, for `WWW-Authenticate: Bearer resource_metadata=…`.
    pub fn metadata_url(&self) -> String {
        let scheme = self.uri.scheme_str().unwrap_or("https");
        let authority = self.uri.authority().map_or("", |a| a.as_str());
        let query = self
            .uri
            .query()
            .map(|q| format!("?{q}"))
            .unwrap_or_default();
        format!("{scheme}://{authority}{}{query}", self.well_known_path())
    }

    /// The document as JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("metadata is strings only and always serializes")
    }

    /// A `WWW-Authenticate` challenge pointing at this document, to send with a 401.
    pub fn challenge(&self) -> BearerChallenge {
        BearerChallenge::new(self.metadata_url())
    }

    /// A tower service serving this document at [`well_known_path`](Self::well_known_path).
    pub fn into_service(self) -> MetadataService {
        MetadataService::new(self)
    }
}

/// A `WWW-Authenticate: Bearer …` challenge naming the protected-resource metadata, so that
/// a client receiving a 401 or 403 can discover where to get a token.
///
/// ```
/// use agent_gateway_policy::auth::BearerChallenge;
///
/// let challenge = BearerChallenge::new("https://mcp.example.com/.well-known/oauth-protected-resource/mcp");
/// assert_eq!(
///     challenge.to_header_value(),
///     r#"Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp""#
/// );
/// let forbidden = challenge.insufficient_scope().with_scope("tools:call");
/// assert_eq!(
///     forbidden.to_header_value(),
///     r#"Bearer error="insufficient_scope", scope="tools:call", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp""#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BearerChallenge {
    resource_metadata: String,
    scopes: Vec<String>,
    error: Option<&'static str>,
}

impl BearerChallenge {
    /// A challenge whose `resource_metadata` is `url`.
    pub fn new(url: impl Into<String>) -> Self {
        BearerChallenge {
            resource_metadata: url.into(),
            scopes: Vec::new(),
            error: None,
        }
    }

    /// Adds a scope the operation needs (put them all in one challenge).
    pub fn with_scope(mut self, scope: impl Into<String>) -> Self {
        self.scopes.push(scope.into());
        self
    }

    /// Marks the challenge `error="invalid_token"`, for an expired or unverifiable token.
    pub fn invalid_token(mut self) -> Self {
        self.error = Some("invalid_token");
        self
    }

    /// Marks the challenge `error="insufficient_scope"`, for a 403.
    pub fn insufficient_scope(mut self) -> Self {
        self.error = Some("insufficient_scope");
        self
    }

    /// The header value.
    pub fn to_header_value(&self) -> HeaderValue {
        let mut params = Vec::new();
        if let Some(error) = self.error {
            params.push(format!("error=\"{error}\""));
        }
        if !self.scopes.is_empty() {
            params.push(format!("scope=\"{}\"", quoted(&self.scopes.join(" "))));
        }
        params.push(format!(
            "resource_metadata=\"{}\"",
            quoted(&self.resource_metadata)
        ));
        let value = format!("Bearer {}", params.join(", "));
        // `quoted` leaves visible ASCII and spaces only, which is always a valid header value.
        HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
    }
}

/// The inside of an RFC 9110 quoted-string: escapes `"` and `\`, drops anything that is not
/// visible ASCII or a space, so configuration cannot inject extra parameters or headers.
fn quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars().filter(|c| *c == ' ' || c.is_ascii_graphic()) {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Serves [`ProtectedResourceMetadata`] as JSON to `GET` and `HEAD` at its well-known path;
/// anything else gets 404 or 405. `Error = Infallible`, so it mounts directly in axum.
///
/// ```
/// use agent_gateway_policy::auth::ProtectedResourceMetadata;
/// use tower::ServiceExt;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let service = ProtectedResourceMetadata::new("https://mcp.example.com/mcp", "https://auth.example.com")
///     .unwrap()
///     .into_service();
/// let get = |uri: &str| http::Request::get(uri).body(()).unwrap();
///
/// // Allowed: the well-known path.
/// let res = service.clone().oneshot(get("/.well-known/oauth-protected-resource/mcp")).await.unwrap();
/// assert_eq!(res.status(), 200);
/// assert_eq!(res.headers()["content-type"], "application/json");
/// assert!(res.body().contains(r#""resource":"https://mcp.example.com/mcp""#));
///
/// // Denied: any other path.
/// let res = service.oneshot(get("/.well-known/oauth-protected-resource/other")).await.unwrap();
/// assert_eq!(res.status(), 404);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct MetadataService {
    path: Arc<str>,
    json: Arc<str>,
}

impl MetadataService {
    /// Serves `metadata`.
    pub fn new(metadata: ProtectedResourceMetadata) -> Self {
        MetadataService {
            path: metadata.well_known_path().into(),
            json: metadata.to_json().into(),
        }
    }

    /// The path served.
    pub fn path(&self) -> &str {
        &self.path
    }

    fn respond(&self, method: &Method, path: &str) -> Response<String> {
        let mut res = Response::new(String::new());
        if path != &*self.path {
            *res.status_mut() = StatusCode::NOT_FOUND;
        } else if method != Method::GET && method != Method::HEAD {
            *res.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
            res.headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        } else {
            if method == Method::GET {
                *res.body_mut() = self.json.to_string();
            }
            res.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        res
    }
}

impl<B> Service<Request<B>> for MetadataService {
    type Response = Response<String>;
    type Error = Infallible;
    type Future = Ready<Result<Response<String>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        ready(Ok(self.respond(req.method(), req.uri().path())))
    }
}
