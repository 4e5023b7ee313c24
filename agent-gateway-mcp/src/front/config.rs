//! The front's settings, built once and shared by every clone of the front. Settings only:
//! the live tables a front keeps (sessions ended, log levels, pending requests, ...) are in
//! its [`SessionStore`](crate::session::SessionStore).

use std::sync::Arc;
use std::time::Duration;

use agent_gateway_core::SystemClock;
use agent_gateway_core::host::HostPolicy;
use http::HeaderValue;
use serde_json::{Map, Value, json};

use crate::naming::Naming;
use crate::session::{Sealer, SessionError, SessionKey};

/// The default request body limit: 4 MiB.
pub const DEFAULT_MAX_BODY: usize = 4 * 1024 * 1024;

/// What the front advertises by default (see [`McpFrontConfig::with_capabilities`]).
fn default_capabilities() -> Value {
    json!({
        "tools": {"listChanged": true},
        "prompts": {"listChanged": true},
        "resources": {"listChanged": true, "subscribe": true},
        "completions": {},
        "logging": {},
    })
}

/// How the front serves: its identity, which eras, the security checks.
#[derive(Debug, Clone)]
pub struct McpFrontConfig {
    pub(crate) server_name: String,
    pub(crate) server_version: String,
    pub(crate) instructions: Option<String>,
    pub(crate) capabilities: Value,
    /// `Host` and `Origin` checks: core's, the same the gateway puts on every route.
    pub(crate) hosts: HostPolicy,
    pub(crate) max_body: usize,
    pub(crate) modern: bool,
    pub(crate) legacy: bool,
    pub(crate) sealer: Arc<Sealer>,
    pub(crate) www_authenticate: Option<HeaderValue>,
    pub(crate) naming: Option<Naming>,
}

impl McpFrontConfig {
    /// A front named `server_name`/`server_version`, serving both eras, with a random session
    /// key (see [`with_session_key`](Self::with_session_key)), sessions living one hour, no
    /// browser origin allowed and a 4 MiB body limit.
    pub fn new(
        server_name: impl Into<String>,
        server_version: impl Into<String>,
    ) -> Result<Self, SessionError> {
        Ok(McpFrontConfig {
            server_name: server_name.into(),
            server_version: server_version.into(),
            instructions: None,
            capabilities: default_capabilities(),
            hosts: HostPolicy::any_host(),
            max_body: DEFAULT_MAX_BODY,
            modern: true,
            legacy: true,
            sealer: Arc::new(Sealer::new(
                SessionKey::random()?,
                Duration::from_secs(3600),
                SystemClock::shared(),
            )),
            www_authenticate: None,
            naming: None,
        })
    }

    /// Seals legacy session ids with `sealer`. Give every replica the same key so that any of
    /// them serves any session.
    pub fn with_session_key(mut self, sealer: Sealer) -> Self {
        self.sealer = Arc::new(sealer);
        self
    }

    /// Allows requests carrying one of these `Origin` values (`http://localhost:*` for any
    /// port). Requests with no `Origin` (not
    /// from a browser) are always allowed; any other origin is answered 403, which stops DNS
    /// rebinding attacks from a web page.
    pub fn with_allowed_origins(mut self, origins: impl IntoIterator<Item = HeaderValue>) -> Self {
        self.hosts = self.hosts.with_allowed_origins(origins);
        self
    }

    /// With `on` and no allowed origins configured, accepts browser requests from a page on
    /// this machine (`Origin: http://localhost`, `http://127.0.0.1` or `http://[::1]`, any
    /// port): what a front served on a loopback listener wants, see
    /// [`HostPolicy::with_loopback_origins`]. Off by default.
    pub fn with_loopback_origins(mut self, on: bool) -> Self {
        self.hosts = self.hosts.with_loopback_origins(on);
        self
    }

    /// Accepts only requests whose `Host` is one of these (`host:port`, or `host:*` for any
    /// port): the other half of DNS-rebinding protection, for a gateway bound to a local or
    /// private address. Others are answered 403. With none configured (the default), `Host` is
    /// not checked.
    pub fn with_allowed_hosts<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        hosts: I,
    ) -> Self {
        let hosts: Vec<String> = hosts.into_iter().map(Into::into).collect();
        let origins = self.hosts.allowed_origins().to_vec();
        let policy = HostPolicy::any_host()
            .with_allowed_origins(origins)
            .with_loopback_origins(self.hosts.loopback_origins());
        self.hosts = if hosts.is_empty() {
            policy
        } else {
            policy.with_allowed_hosts(hosts)
        };
        self
    }

    /// Refuses request bodies larger than `bytes` with 413.
    pub fn with_max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// Turns the modern (2026-07-28) era on or off.
    pub fn with_modern(mut self, on: bool) -> Self {
        self.modern = on;
        self
    }

    /// Turns the legacy (2025-11-25 and earlier) era on or off.
    pub fn with_legacy(mut self, on: bool) -> Self {
        self.legacy = on;
        self
    }

    /// Sets the instructions returned by `server/discover` and `initialize`.
    pub fn with_instructions(mut self, text: impl Into<String>) -> Self {
        self.instructions = Some(text.into());
        self
    }

    /// Sets the server capabilities advertised. The default names tools, prompts and
    /// resources with `listChanged`, resource `subscribe`, completions and logging: the front
    /// serves `subscriptions/listen`, the legacy GET stream and `resources/subscribe`, and the
    /// [`Federation`](crate::router::federation::Federation) relays them from its upstreams. An inner
    /// service that relays no change notifications should advertise less.
    pub fn with_capabilities(mut self, capabilities: Value) -> Self {
        self.capabilities = capabilities;
        self
    }

    /// Tells checks how the inner federation names things: a tool call or prompt get whose
    /// name splits under `naming` carries a [`FederatedTarget`](crate::naming::FederatedTarget) (upstream and name) in its
    /// extensions, for the policy stack to read. Off by default.
    pub fn with_naming(mut self, naming: Naming) -> Self {
        self.naming = Some(naming);
        self
    }

    /// The `WWW-Authenticate` challenge sent with 401 answers (RFC 9728 resource metadata).
    pub fn with_www_authenticate(mut self, challenge: HeaderValue) -> Self {
        self.www_authenticate = Some(challenge);
        self
    }

    pub(crate) fn server_info(&self) -> Value {
        json!({"name": self.server_name, "version": self.server_version})
    }

    pub(crate) fn discover_result(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("resultType".into(), json!("complete"));
        m.insert(
            "supportedVersions".into(),
            json!([crate::era::MODERN_VERSION]),
        );
        m.insert("capabilities".into(), self.capabilities.clone());
        if let Some(i) = &self.instructions {
            m.insert("instructions".into(), json!(i));
        }
        m.insert("ttlMs".into(), json!(0));
        m.insert("cacheScope".into(), json!("private"));
        m
    }
}
