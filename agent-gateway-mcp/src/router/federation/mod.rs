//! Federation: many upstream MCP servers behind one endpoint, as the front's inner service.
//!
//! Listings ask every upstream at once and merge the items under reversible names
//! (`server__tool`, see [`crate::naming`]; resource URIs become `server+uri`). Resource links and
//! embedded resources in tool and prompt results are named the same way, so a client reads
//! a linked resource through the gateway. They are paged:
//! each page holds the next page of every upstream that has one, and its cursor encodes each
//! upstream's position. One upstream may serve its names without a prefix
//! ([`Member::without_prefix`]). A call goes to
//! exactly the upstream its name says, with the upstream's own name; a name no upstream owns,
//! or one its [`ToolView`] hides, is -32602 and reaches no upstream.
//!
//! A `subscriptions/listen` opens one listen per upstream and merges them, resource URIs in
//! the client's form; `resources/subscribe` is accepted for a URI some upstream owns (see the
//! `listen` module's notes in [`crate::listen`]).
//!
//! An upstream that fails or times out is left out of listings: failing open is the default
//! here because a listing only hides what it cannot show, it grants nothing
//! ([`FederationBuilder::fail_closed`] makes the whole listing fail instead). A call to it is
//! answered with a JSON-RPC error (-32010 unavailable, -32011 timeout) within its timeout.
//!
//! ```
//! use agent_gateway_core::BoxError;
//! use agent_gateway_mcp::router::federation::{Federation, Member};
//! use agent_gateway_mcp::naming::ServerName;
//! use agent_gateway_mcp::upstream::UpstreamRequest;
//! use agent_gateway_mcp::McpRequest;
//! use serde_json::{Map, json};
//! use tower::ServiceExt;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
//! let server = tower::service_fn(|req: UpstreamRequest| async move {
//!     let result = match req.method_name() {
//!         "tools/list" => json!({"tools": [{"name": "search", "inputSchema": {"type": "object"}}]}),
//!         _ => json!({"content": [{"type": "text", "text": req.params()["name"]}]}),
//!     };
//!     Ok::<_, BoxError>(result.as_object().cloned().unwrap_or_default())
//! });
//! let fed = Federation::builder()
//!     .member(Member::new(ServerName::new("web-1").unwrap(), server))
//!     .build()
//!     .unwrap();
//!
//! let list = fed.clone().oneshot(McpRequest::from_value(1, "tools/list", json!({}))).await.unwrap();
//! assert_eq!(list.result()["tools"][0]["name"], "web-1__search");
//! let call = McpRequest::from_value(2, "tools/call", json!({"name": "web-1__search"}));
//! let res = fed.clone().oneshot(call).await.unwrap();
//! assert_eq!(res.result()["content"][0]["text"], "search");
//!
//! // No upstream owns this name: an error, and no upstream call.
//! let call = McpRequest::from_value(3, "tools/call", json!({"name": "other__search"}));
//! assert!(fed.oneshot(call).await.is_err());
//! # });
//! ```

mod links;
mod list;
mod listen;
mod member;
mod params;
mod route;

use std::collections::HashSet;
use std::sync::Arc;
use std::task::{Context, Poll};

use agent_gateway_core::{AgentRequest, BoxError};
use futures_util::future::BoxFuture;
use serde_json::{Map, Value};
use tower::Service;

pub use member::{DEFAULT_TIMEOUT, Member, ToolView};

use crate::naming::{NameError, Naming};
use crate::response::ListShape;
use crate::upstream::UpstreamRequest;
use crate::{McpRequest, McpResponse};

/// What joins a server name and a resource URI. Server names never contain it.
const URI_SEPARATOR: char = '+';

#[derive(Debug)]
struct Shared {
    members: Vec<Member>,
    naming: Naming,
    fail_open: bool,
    /// The upstreams' `Mcp-Param-*` declarations, learnt from listings.
    declarations: params::Declarations,
    /// Calls of legacy upstreams waiting for a modern client's input.
    parked: crate::router::translate::Parked,
}

impl Shared {
    /// The prefixed member named `server`, if any.
    fn prefixed(&self, server: &str) -> Option<&Member> {
        self.members
            .iter()
            .find(|m| m.prefixed && m.name.as_str() == server)
    }

    /// The member serving names without a prefix, if one is configured.
    fn unprefixed(&self) -> Option<&Member> {
        self.members.iter().find(|m| !m.prefixed)
    }

    fn split<'a>(&self, name: &'a str, uri: bool) -> Option<(&'a str, &'a str)> {
        if uri {
            name.split_once(URI_SEPARATOR)
                .filter(|(s, _)| !s.is_empty())
        } else {
            self.naming.split(name)
        }
    }

    /// The name the client sees for `member`'s item `name` (a tool or prompt name, or a
    /// resource URI when `uri`). `None` when an unprefixed member's name would read as a
    /// prefixed member's: that item is hidden rather than made ambiguous.
    fn public_name(&self, member: &Member, name: &str, uri: bool) -> Option<String> {
        if !member.prefixed {
            if let Some((server, _)) = self.split(name, uri)
                && self.prefixed(server).is_some()
            {
                tracing::warn!(upstream = %member.name, name, "mcp: unprefixed name hidden, it reads as another upstream's");
                return None;
            }
            return Some(name.to_owned());
        }
        Some(if uri {
            format!("{}{URI_SEPARATOR}{name}", member.name)
        } else {
            self.naming.join(&member.name, name)
        })
    }

    /// The member owning the client-facing `name`, and the member's own name for it: the
    /// prefixed member the prefix names, else the unprefixed member (if any) with the whole
    /// name.
    fn owner<'n>(&self, name: &'n str, uri: bool) -> Option<(&Member, &'n str)> {
        if let Some((server, original)) = self.split(name, uri)
            && let Some(member) = self.prefixed(server)
        {
            return Some((member, original));
        }
        self.unprefixed().map(|m| (m, name))
    }
}

/// The federation router: `Service<McpRequest, Response = McpResponse, Error = BoxError>`.
#[derive(Debug, Clone)]
pub struct Federation {
    shared: Arc<Shared>,
}

impl Federation {
    /// A builder.
    pub fn builder() -> FederationBuilder {
        FederationBuilder::default()
    }
}

/// Builds a [`Federation`].
#[derive(Debug, Default)]
#[must_use]
pub struct FederationBuilder {
    members: Vec<Member>,
    naming: Naming,
    fail_closed: bool,
}

impl FederationBuilder {
    /// Joins names with `naming` (default separator `__`).
    pub fn naming(mut self, naming: Naming) -> Self {
        self.naming = naming;
        self
    }

    /// Adds an upstream.
    pub fn member(mut self, member: Member) -> Self {
        self.members.push(member);
        self
    }

    /// Makes a listing fail when any upstream fails, instead of leaving that upstream out.
    pub fn fail_closed(mut self) -> Self {
        self.fail_closed = true;
        self
    }

    /// The federation, or why a server name cannot be used: a duplicate, or one that could
    /// make a split ambiguous with the separator.
    pub fn build(self) -> Result<Federation, NameError> {
        let mut seen = HashSet::new();
        if self.members.iter().filter(|m| !m.prefixed).count() > 1 {
            return Err(NameError::Unprefixed);
        }
        for m in &self.members {
            self.naming.check(&m.name)?;
            if !seen.insert(m.name.as_str()) {
                return Err(NameError::Duplicate(m.name.to_string()));
            }
        }
        Ok(Federation {
            shared: Arc::new(Shared {
                members: self.members,
                naming: self.naming,
                fail_open: !self.fail_closed,
                declarations: params::Declarations::default(),
                parked: crate::router::translate::Parked::default(),
            }),
        })
    }
}

impl Service<McpRequest> for Federation {
    type Response = McpResponse;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<McpResponse, BoxError>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: McpRequest) -> Self::Future {
        let shared = self.shared.clone();
        // A request on a legacy session must come from its owner, before anything else.
        if let Err(e) = req.check_session_owner() {
            return Box::pin(async move { Err(Box::new(e) as BoxError) });
        }
        if req.is_admission_only() {
            // Answered by the front once the policy stack admitted it: no upstream call, but
            // the end of a legacy session is told to every member's connector.
            let res = McpResponse::for_method(req.method(), Value::Object(Map::new()));
            let ended = super::session_end(req);
            return Box::pin(async move {
                if let Some(up) = ended {
                    let tell = shared.members.iter().map(|m| {
                        super::tell_session_end(tower::ServiceExt::oneshot(
                            m.service.clone(),
                            up.clone(),
                        ))
                    });
                    futures_util::future::join_all(tell).await;
                }
                Ok(res)
            });
        }
        let modern = req.era() == crate::Era::Modern;
        // Only a modern client's mirrored argument headers, which are the spec's to check
        // against the arguments; they never travel upstream (the upstream gets headers the
        // federation computes), and nothing else of the client's request does either.
        let param_headers: http::HeaderMap = if modern {
            req.headers()
                .iter()
                .filter(|(n, _)| n.as_str().starts_with(params::PREFIX))
                .map(|(n, v)| (n.clone(), v.clone()))
                .collect()
        } else {
            http::HeaderMap::new()
        };
        let mut up = UpstreamRequest::from_request(req.into_parts());
        // The client's protocol `_meta` (version, capabilities, client info) describes the
        // client-to-gateway hop; each upstream connector writes its own. Other keys (progress
        // tokens, trace context) travel on.
        up.drop_client_protocol_meta();
        Box::pin(async move {
            let method = up.method().clone();
            if listen::handles(&method) {
                let result = listen::serve(shared, up).await?;
                return Ok(McpResponse::for_method(method, Value::Object(result)));
            }
            let (result, served) = match ListShape::of(&method) {
                Some(shape) => {
                    let list =
                        list::list(&shared, method.as_str(), shape, up.params(), up.client());
                    (list.await?, None)
                }
                None => {
                    let (result, served) = route::call(&shared, up, param_headers, modern).await?;
                    (result, Some(served))
                }
            };
            let res = McpResponse::for_method(method, Value::Object(result));
            Ok(match served {
                Some(served) => res.with_served_by(served),
                None => res,
            })
        })
    }
}
