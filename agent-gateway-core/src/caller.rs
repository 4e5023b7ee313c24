//! Who is calling: the identity the auth layer established for a request.
//!
//! ```
//! use agent_gateway_core::Caller;
//! use agent_gateway_core::caller::AuthMethod;
//!
//! let caller = Caller::new("alice")
//!     .with_tenant("acme")
//!     .with_team("billing")
//!     .with_role("admin")
//!     .with_scope("tools:call")
//!     .with_method(AuthMethod::ApiKey);
//! assert_eq!(caller.subject(), "alice");
//! assert_eq!(caller.tenant(), Some("acme"));
//! assert!(caller.has_role("admin"));
//! assert!(!caller.has_role("reader"));
//! assert!(!caller.is_anonymous());
//! assert!(Caller::anonymous().is_anonymous());
//!
//! // The same subject from another authenticator or issuer is another caller.
//! let jwt = Caller::new("alice").with_tenant("acme").with_method(AuthMethod::Jwt)
//!     .with_issuer("https://idp.example");
//! assert_eq!(jwt.issuer(), Some("https://idp.example"));
//! assert_ne!(jwt.principal_id(), caller.principal_id());
//! assert_ne!(jwt.owner_digest(), caller.owner_digest());
//! assert_eq!(caller.principal_id(), "api_key::acme:alice");
//! ```

use std::sync::{Arc, OnceLock};

use serde_json::{Map, Value};

/// How a caller proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthMethod {
    /// No credential: admitted by an auth layer in optional mode.
    Anonymous,
    /// A gateway-issued API key.
    ApiKey,
    /// A JWT checked against a JWKS.
    Jwt,
    /// The peer certificate of a mutual-TLS connection.
    Mtls,
    /// Established by the embedding application itself.
    Custom,
}

impl AuthMethod {
    /// The stable snake_case name of this method.
    pub const fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Anonymous => "anonymous",
            AuthMethod::ApiKey => "api_key",
            AuthMethod::Jwt => "jwt",
            AuthMethod::Mtls => "mtls",
            AuthMethod::Custom => "custom",
        }
    }
}

/// The identity behind a request: subject, tenant and team, roles and scopes, and the claims
/// of the credential it presented.
///
/// It is cheap to clone (one `Arc`), because it travels in request extensions and into audit
/// records. It holds no credential: what the caller presented is never kept past the auth
/// layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Caller {
    inner: Arc<Inner>,
}

#[derive(Debug, Clone, PartialEq)]
struct Inner {
    subject: String,
    issuer: Option<String>,
    tenant: Option<String>,
    team: Option<String>,
    roles: Vec<String>,
    scopes: Vec<String>,
    claims: Map<String, Value>,
    method: AuthMethod,
    /// `principal_id` and `owner_digest`, computed on first use (reset by every edit).
    identity: IdentityCache,
}

#[derive(Debug, Clone)]
struct Identity {
    principal: String,
    digest: [u8; 16],
}

/// A cache derived from the other fields: two callers equal in those are equal whether or not
/// either has computed it yet.
#[derive(Debug, Clone, Default)]
struct IdentityCache(OnceLock<Identity>);

impl PartialEq for IdentityCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// The subject of the anonymous caller.
pub const ANONYMOUS_SUBJECT: &str = "anonymous";

impl Caller {
    /// A caller with the given subject, established by the embedding application.
    pub fn new(subject: impl Into<String>) -> Self {
        Caller {
            inner: Arc::new(Inner {
                subject: subject.into(),
                issuer: None,
                tenant: None,
                team: None,
                roles: Vec::new(),
                scopes: Vec::new(),
                claims: Map::new(),
                method: AuthMethod::Custom,
                identity: IdentityCache::default(),
            }),
        }
    }

    /// The caller admitted without a credential (auth in optional mode).
    pub fn anonymous() -> Self {
        Caller::new(ANONYMOUS_SUBJECT).with_method(AuthMethod::Anonymous)
    }

    fn edit(mut self, f: impl FnOnce(&mut Inner)) -> Self {
        let inner = Arc::make_mut(&mut self.inner);
        f(inner);
        inner.identity = IdentityCache::default();
        self
    }

    /// The principal id and its digest, computed once per caller (every request of a caller
    /// shares its `Arc`).
    fn identity(&self) -> &Identity {
        self.inner.identity.0.get_or_init(|| {
            let principal = self.compute_principal_id();
            let hash = ring::digest::digest(&ring::digest::SHA256, principal.as_bytes());
            let mut digest = [0u8; 16];
            digest.copy_from_slice(&hash.as_ref()[..16]);
            Identity { principal, digest }
        })
    }

    /// Sets the tenant.
    pub fn with_tenant(self, tenant: impl Into<String>) -> Self {
        self.edit(|i| i.tenant = Some(tenant.into()))
    }

    /// Sets the issuer of the credential (a JWT's `iss`, a CA name): callers from two
    /// issuers are different callers even when their subjects are equal.
    pub fn with_issuer(self, issuer: impl Into<String>) -> Self {
        self.edit(|i| i.issuer = Some(issuer.into()))
    }

    /// Sets the team.
    pub fn with_team(self, team: impl Into<String>) -> Self {
        self.edit(|i| i.team = Some(team.into()))
    }

    /// Adds a role.
    pub fn with_role(self, role: impl Into<String>) -> Self {
        self.edit(|i| i.roles.push(role.into()))
    }

    /// Adds a scope.
    pub fn with_scope(self, scope: impl Into<String>) -> Self {
        self.edit(|i| i.scopes.push(scope.into()))
    }

    /// Sets one claim of the presented credential.
    pub fn with_claim(self, name: impl Into<String>, value: Value) -> Self {
        self.edit(|i| {
            i.claims.insert(name.into(), value);
        })
    }

    /// Sets how the caller authenticated.
    pub fn with_method(self, method: AuthMethod) -> Self {
        self.edit(|i| i.method = method)
    }

    /// The subject: a user, a service or an agent.
    pub fn subject(&self) -> &str {
        &self.inner.subject
    }

    /// The tenant, if any.
    pub fn tenant(&self) -> Option<&str> {
        self.inner.tenant.as_deref()
    }

    /// The issuer of the credential, if the authenticator has one.
    pub fn issuer(&self) -> Option<&str> {
        self.inner.issuer.as_deref()
    }

    /// The caller's unambiguous identity for keys and ownership:
    /// `method:issuer:tenant:subject`, each part with `%` and `:` percent-escaped (an absent
    /// issuer or tenant is empty).
    ///
    /// Use it wherever two callers must not share something: quota and budget keys, the owner
    /// of a task, a session or a parked call. A JWT whose `sub` equals an API key's subject,
    /// or two issuers with overlapping subjects, give different ids. Every anonymous caller
    /// has the same id.
    pub fn principal_id(&self) -> &str {
        &self.identity().principal
    }

    fn compute_principal_id(&self) -> String {
        let i = &self.inner;
        let mut out = String::with_capacity(16 + i.subject.len());
        out.push_str(i.method.as_str());
        for part in [
            i.issuer.as_deref(),
            i.tenant.as_deref(),
            Some(i.subject.as_str()),
        ] {
            out.push(':');
            for c in part.unwrap_or("").chars() {
                match c {
                    '%' => out.push_str("%25"),
                    ':' => out.push_str("%3A"),
                    c => out.push(c),
                }
            }
        }
        out
    }

    /// A 16-byte digest of [`principal_id`](Self::principal_id), to bind into sealed ids
    /// and session state without carrying the identity itself.
    pub fn owner_digest(&self) -> [u8; 16] {
        self.identity().digest
    }

    /// The team, if any.
    pub fn team(&self) -> Option<&str> {
        self.inner.team.as_deref()
    }

    /// The roles.
    pub fn roles(&self) -> &[String] {
        &self.inner.roles
    }

    /// The scopes.
    pub fn scopes(&self) -> &[String] {
        &self.inner.scopes
    }

    /// The claims of the presented credential (JWT claims, key metadata).
    pub fn claims(&self) -> &Map<String, Value> {
        &self.inner.claims
    }

    /// How the caller authenticated.
    pub fn method(&self) -> AuthMethod {
        self.inner.method
    }

    /// Whether the caller has `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.inner.roles.iter().any(|r| r == role)
    }

    /// Whether the caller has `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.inner.scopes.iter().any(|s| s == scope)
    }

    /// Whether this is the anonymous caller.
    pub fn is_anonymous(&self) -> bool {
        self.inner.method == AuthMethod::Anonymous
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_does_not_affect_clones() {
        let a = Caller::new("svc").with_role("r1");
        let b = a.clone().with_role("r2");
        assert_eq!(a.roles(), ["r1"]);
        assert_eq!(b.roles(), ["r1", "r2"]);
        assert_eq!(b.claims().len(), 0);
        let c = b.with_claim("email", Value::from("x@y"));
        assert_eq!(c.claims()["email"], "x@y");
        assert_eq!(c.method(), AuthMethod::Custom);
    }

    #[test]
    fn principal_ids_do_not_collide_on_separators() {
        let a = Caller::new("b:c").with_tenant("a");
        let b = Caller::new("c").with_tenant("a:b");
        assert_ne!(a.principal_id(), b.principal_id());
        assert_eq!(a.principal_id(), "custom::a:b%3Ac");
        let jwt = |iss: &str| {
            Caller::new("x")
                .with_method(AuthMethod::Jwt)
                .with_issuer(iss)
        };
        assert_ne!(jwt("i1").owner_digest(), jwt("i2").owner_digest());
        assert_eq!(jwt("i1").owner_digest(), jwt("i1").owner_digest());
        assert_eq!(Caller::anonymous().principal_id(), "anonymous:::anonymous");
    }

    #[test]
    fn the_identity_is_computed_once_and_follows_every_edit() {
        let a = Caller::new("x");
        assert_eq!(a.principal_id(), "custom:::x");
        // Equal to a caller that has not computed it yet.
        assert_eq!(a, Caller::new("x"));
        // An edit after the id was computed gives the new id, not the cached one.
        let b = a.clone().with_tenant("t").with_issuer("i");
        assert_eq!(b.principal_id(), "custom:i:t:x");
        assert_ne!(b.owner_digest(), a.owner_digest());
        assert_eq!(a.principal_id(), "custom:::x");
    }
}
