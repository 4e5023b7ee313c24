//! Who sends a request and what its client declared: the [`Owner`] that state kept for it is
//! bound to, and the [`ClientHop`] that connectors tell the upstream.

use agent_gateway_core::Caller;
use serde_json::{Map, Value};

/// Who owns state the gateway keeps for a caller (a parked call, a session): the caller's
/// [`principal_id`](Caller::principal_id), which names its authenticator and issuer as well as
/// its tenant and subject. Another caller is another owner, even with the same subject.
///
/// ```
/// use agent_gateway_core::Caller;
/// use agent_gateway_core::caller::AuthMethod;
/// use agent_gateway_mcp::request::Owner;
///
/// let alice = Owner::of(&Caller::new("alice").with_tenant("acme"));
/// assert_eq!(alice, Owner::of(&Caller::new("alice").with_tenant("acme")));
/// assert_ne!(alice, Owner::of(&Caller::new("alice")));
/// // The same subject from another authenticator or issuer is someone else.
/// let jwt = Caller::new("alice").with_tenant("acme").with_method(AuthMethod::Jwt);
/// assert_ne!(alice, Owner::of(&jwt));
/// assert_ne!(Owner::of(&jwt), Owner::of(&jwt.clone().with_issuer("https://other.example")));
/// assert_ne!(alice.digest(), Owner::of(&jwt).digest());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Owner {
    principal: String,
    digest: [u8; 16],
}

impl Owner {
    /// The owner a caller is.
    pub fn of(caller: &Caller) -> Self {
        Owner {
            principal: caller.principal_id().to_owned(),
            digest: caller.owner_digest(),
        }
    }

    /// The caller's [`principal_id`](Caller::principal_id).
    pub fn principal_id(&self) -> &str {
        &self.principal
    }

    /// The caller's [`owner_digest`](Caller::owner_digest): what keys state kept per owner
    /// (such as an upstream session) without keeping the caller's names.
    pub fn digest(&self) -> [u8; 16] {
        self.digest
    }
}

/// What the client declared on its hop to the gateway, put in every request's extensions by
/// the front: the capabilities it can answer server→client requests for, and the log level it
/// opted in to. Upstream connectors tell the upstream the same, so an upstream never asks for
/// input the client cannot give, nor logs to a client that did not ask.
///
/// ```
/// use agent_gateway_mcp::request::ClientHop;
/// use serde_json::json;
///
/// let hop = ClientHop::new(json!({"sampling": {}}), Some("info".into()));
/// assert!(hop.declares("sampling"));
/// assert!(!hop.declares("elicitation"));
/// assert_eq!(hop.log_level(), Some("info"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ClientHop {
    capabilities: Value,
    log_level: Option<String>,
    session: Option<String>,
    owner: Option<Owner>,
}

impl Default for ClientHop {
    fn default() -> Self {
        ClientHop::new(Value::Object(Map::new()), None)
    }
}

impl ClientHop {
    /// A hop with these client `capabilities` (an object; anything else counts as none) and
    /// log level.
    pub fn new(capabilities: Value, log_level: Option<String>) -> Self {
        let capabilities = match capabilities {
            Value::Object(m) => Value::Object(m),
            _ => Value::Object(Map::new()),
        };
        ClientHop {
            capabilities,
            log_level,
            session: None,
            owner: None,
        }
    }

    /// Names who sends the request (the authenticated caller): state the gateway keeps for a
    /// request, such as a parked call, is then bound to that caller. Never sent upstream.
    pub fn with_owner(mut self, owner: Option<Owner>) -> Self {
        self.owner = owner;
        self
    }

    /// Who sends the request, if known.
    pub fn owner(&self) -> Option<&Owner> {
        self.owner.as_ref()
    }

    /// Names the client's own session with `key` (an opaque, non-secret digest): connectors
    /// that keep upstream sessions keep one per key.
    pub fn with_session(mut self, key: impl Into<String>) -> Self {
        self.session = Some(key.into());
        self
    }

    /// The key of the client's own session, if it has one (legacy clients).
    pub fn session(&self) -> Option<&str> {
        self.session.as_deref()
    }

    /// The client's capabilities (an object).
    pub fn capabilities(&self) -> &Value {
        &self.capabilities
    }

    /// The capabilities and the log level, moved out (a connector writes them upstream).
    pub(crate) fn into_declared(self) -> (Value, Option<String>) {
        (self.capabilities, self.log_level)
    }

    /// Whether the client declared `capability` (`sampling`, `elicitation`, `roots`).
    pub fn declares(&self, capability: &str) -> bool {
        self.capabilities.get(capability).is_some()
    }

    /// Sets the log level the client opted in to (`None`: no log messages).
    pub fn with_log_level(mut self, level: Option<String>) -> Self {
        self.log_level = level;
        self
    }

    /// The log level the client opted in to, if any.
    pub fn log_level(&self) -> Option<&str> {
        self.log_level.as_deref()
    }
}
