use agent_gateway_core::Caller;
use agent_gateway_core::caller::AuthMethod;
use serde_json::{Map, Value};

use crate::auth::AuthError;

/// Which token claims carry the tenant, team, roles and scopes of a [`Caller`].
///
/// A name is first looked up as a claim of its own (so namespaced claims such as
/// `https://example.com/roles` work), then as a dotted path into nested objects (so
/// `realm_access.roles` works). Roles and scopes may be arrays of strings or one
/// space-separated string, as the OAuth `scope` claim is. The subject is always `sub`, and
/// every claim is kept in [`Caller::claims`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimNames {
    tenant: String,
    team: String,
    roles: Vec<String>,
    scopes: Vec<String>,
}

impl Default for ClaimNames {
    fn default() -> Self {
        ClaimNames {
            tenant: "tenant".to_owned(),
            team: "team".to_owned(),
            roles: vec!["roles".to_owned()],
            scopes: vec!["scope".to_owned(), "scp".to_owned()],
        }
    }
}

impl ClaimNames {
    /// The defaults: `tenant`, `team`, `roles`, and `scope` or `scp`.
    pub fn new() -> Self {
        ClaimNames::default()
    }

    /// Reads the tenant from claim `name`.
    pub fn with_tenant(mut self, name: impl Into<String>) -> Self {
        self.tenant = name.into();
        self
    }

    /// Reads the team from claim `name`.
    pub fn with_team(mut self, name: impl Into<String>) -> Self {
        self.team = name.into();
        self
    }

    /// Reads roles from these claims, all of them, replacing the defaults.
    pub fn with_roles<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.roles = names.into_iter().map(Into::into).collect();
        self
    }

    /// Reads scopes from these claims, all of them, replacing the defaults.
    pub fn with_scopes<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.scopes = names.into_iter().map(Into::into).collect();
        self
    }

    /// The caller a verified token stands for.
    pub(super) fn to_caller(&self, claims: Map<String, Value>) -> Result<Caller, AuthError> {
        let subject = match claims.get("sub") {
            Some(Value::String(sub)) if !sub.is_empty() => sub.clone(),
            _ => return Err(AuthError::invalid("token without a subject")),
        };
        let mut caller = Caller::new(subject).with_method(AuthMethod::Jwt);
        // `iss` was checked against the configured issuers before this runs: the same `sub`
        // from two issuers is two callers (their principal ids differ).
        if let Some(Value::String(iss)) = claims.get("iss") {
            caller = caller.with_issuer(iss.clone());
        }
        if let Some(tenant) = lookup(&claims, &self.tenant).and_then(scalar) {
            caller = caller.with_tenant(tenant);
        }
        if let Some(team) = lookup(&claims, &self.team).and_then(scalar) {
            caller = caller.with_team(team);
        }
        for role in self
            .roles
            .iter()
            .flat_map(|name| strings(lookup(&claims, name)))
        {
            caller = caller.with_role(role);
        }
        for scope in self
            .scopes
            .iter()
            .flat_map(|name| strings(lookup(&claims, name)))
        {
            caller = caller.with_scope(scope);
        }
        for (name, value) in claims {
            caller = caller.with_claim(name, value);
        }
        Ok(caller)
    }
}

fn lookup<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    claims.get(name).or_else(|| {
        let mut parts = name.split('.');
        let first = claims.get(parts.next()?)?;
        parts.try_fold(first, |value, part| value.get(part))
    })
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str())
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// A NumericDate claim: seconds since the epoch, fractions dropped.
fn numeric_date(claims: &Map<String, Value>, name: &'static str) -> Result<Option<u64>, AuthError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .or_else(|| {
                n.as_f64()
                    .filter(|f| f.is_finite() && *f >= 0.0)
                    .map(|f| f as u64)
            })
            .map(Some)
            .ok_or_else(|| AuthError::invalid(format!("malformed {name} claim"))),
        Some(_) => Err(AuthError::invalid(format!("malformed {name} claim"))),
    }
}

/// Checks `exp` (required) and `nbf` against `now`, both in seconds, allowing `leeway` for
/// clock skew between the issuer and the gateway.
///
/// A token is valid while `now < exp + leeway` and from `nbf - leeway` on.
pub(super) fn check_time(
    claims: &Map<String, Value>,
    now: u64,
    leeway: u64,
) -> Result<(), AuthError> {
    // A token without an expiry would be valid forever once leaked.
    let exp =
        numeric_date(claims, "exp")?.ok_or_else(|| AuthError::invalid("token without exp"))?;
    if now >= exp.saturating_add(leeway) {
        return Err(AuthError::invalid("token expired"));
    }
    if let Some(nbf) = numeric_date(claims, "nbf")?
        && now.saturating_add(leeway) < nbf
    {
        return Err(AuthError::invalid("token not yet valid"));
    }
    Ok(())
}

/// Checks that `iss` is one of `issuers`.
pub(super) fn check_issuer(
    claims: &Map<String, Value>,
    issuers: &[String],
) -> Result<(), AuthError> {
    match claims.get("iss") {
        Some(Value::String(iss)) if issuers.iter().any(|i| i == iss) => Ok(()),
        _ => Err(AuthError::invalid("wrong issuer")),
    }
}

/// Checks that `aud` (a string or an array) names one of `audiences`: a token minted for
/// another service must not work here, or any service could replay its tokens against us.
pub(super) fn check_audience(
    claims: &Map<String, Value>,
    audiences: &[String],
) -> Result<(), AuthError> {
    let ours = |aud: &str| audiences.iter().any(|a| a == aud);
    let ok = match claims.get("aud") {
        Some(Value::String(aud)) => ours(aud),
        Some(Value::Array(auds)) => auds.iter().filter_map(Value::as_str).any(ours),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(AuthError::invalid("wrong audience"))
    }
}
