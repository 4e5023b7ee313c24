//! The policy sections of the configuration file: callers, rules, quotas, budgets and the
//! counter store.

use std::num::{NonZeroU8, NonZeroU64};
use std::path::PathBuf;
use std::time::Duration;

use agent_gateway_core::Action;
use serde::Deserialize;

use super::ConfigError;

/// Who may call, and how they prove it.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct AuthConfig {
    /// Whether a request without any credential is refused (`true`) or proceeds anonymously.
    pub required: bool,
    /// API keys, by the SHA-256 of the key.
    pub api_keys: Vec<ApiKeyConfig>,
    /// JWT issuers.
    pub jwt: Vec<JwtConfig>,
    /// RFC 9728 protected-resource metadata, served at its well-known path and named in the
    /// MCP front's `WWW-Authenticate` challenge, so OAuth clients find the authorization server.
    pub resource_metadata: Option<ResourceMetadataConfig>,
}

/// The protected resource this gateway is, for OAuth clients (RFC 9728).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ResourceMetadataConfig {
    /// The resource's URL, as clients reach it (e.g. `https://gw.example.com/mcp`).
    pub resource: String,
    /// The authorization servers that issue tokens for it.
    pub authorization_servers: Vec<String>,
    /// The scopes it understands.
    pub scopes: Vec<String>,
}

/// One API key and the caller it stands for.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ApiKeyConfig {
    /// The key's SHA-256, 64 hex digits.
    pub sha256: String,
    /// The caller's subject.
    pub subject: String,
    /// Its tenant.
    pub tenant: Option<String>,
    /// Its team.
    pub team: Option<String>,
    /// Its roles.
    pub roles: Vec<String>,
    /// Its scopes.
    pub scopes: Vec<String>,
}

/// One JWT issuer and where its keys are.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct JwtConfig {
    /// The expected `iss`.
    pub issuer: String,
    /// The expected `aud`.
    pub audience: String,
    /// The JWKS, by URL or file.
    pub jwks: JwksLocation,
    /// Accepted algorithms, by JOSE name (`RS256`, `ES256`, …); empty means the library default.
    pub algorithms: Vec<String>,
    /// Clock skew allowed on `exp` and `nbf`.
    pub leeway: Duration,
}

/// Where a JWKS lives.
#[derive(Debug, Clone)]
pub enum JwksLocation {
    /// Fetched over HTTP(S), cached and refreshed.
    Url(http::Uri),
    /// Read from a file.
    File(PathBuf),
}

/// One authorization rule.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RuleConfig {
    /// The rule id, named in every denial it decides.
    pub id: String,
    /// `true` for allow, `false` for deny.
    pub allow: bool,
    /// A CEL condition.
    pub condition: String,
}

/// What a quota counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaUnit {
    /// Requests.
    Requests,
    /// Input tokens (estimated at admission, reconciled with actual usage).
    Tokens,
}

/// One quota.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct QuotaConfig {
    /// The quota id.
    pub id: String,
    /// What it counts.
    pub unit: QuotaUnit,
    /// The key parts: `caller` (the caller's principal id: authenticator, issuer, tenant and
    /// subject), `subject` (the bare subject, shared across authenticators), `team`,
    /// `tenant`, `target` (digested when long), `action`.
    pub key: Vec<KeyPart>,
    /// How many units per period.
    pub limit: NonZeroU64,
    /// The period.
    pub period: Duration,
    /// The actions the quota counts (`tool_call`, `model_call`, ...); empty counts every
    /// request, housekeeping such as MCP `initialize` and listings included.
    pub actions: Vec<Action>,
}

/// One part of a quota or budget key: the library's [`Part`](agent_gateway_policy::key::Part),
/// parsed from its name.
pub use agent_gateway_policy::key::Part as KeyPart;

/// Spend budgets.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct BudgetConfig {
    /// When spend resets: `daily`, `monthly` or `never`.
    pub period: BudgetPeriod,
    /// Per-caller, per-team and per-tenant limits in dollars.
    pub per_key_usd: Option<f64>,
    /// The limit for each team.
    pub per_team_usd: Option<f64>,
    /// The limit for each tenant.
    pub per_tenant_usd: Option<f64>,
    /// The share of a limit, in percent, past which a warning is logged once per period.
    pub soft_limit_percent: Option<NonZeroU8>,
}

/// When a budget resets: the library's [`Period`](agent_gateway_policy::budget::Period),
/// parsed from its name.
pub use agent_gateway_policy::budget::Period as BudgetPeriod;

/// Where counters live.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct StoreConfig {
    /// A Redis URL shared by all replicas; `None` keeps counters in memory.
    pub redis_url: Option<String>,
    /// Let requests through when the store is down (the default refuses them).
    pub fail_open: bool,
}

// ---- the file's shape ---------------------------------------------------------------------

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileAuth {
    #[serde(default = "yes")]
    required: bool,
    #[serde(default)]
    api_keys: Vec<FileApiKey>,
    #[serde(default)]
    jwt: Vec<FileJwt>,
    resource_metadata: Option<FileResourceMetadata>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileResourceMetadata {
    resource: String,
    authorization_servers: Vec<String>,
    #[serde(default)]
    scopes: Vec<String>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileApiKey {
    key_sha256: String,
    subject: String,
    tenant: Option<String>,
    team: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    scopes: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileJwt {
    issuer: String,
    audience: String,
    jwks_url: Option<String>,
    jwks_file: Option<PathBuf>,
    #[serde(default)]
    algorithms: Vec<String>,
    #[serde(default = "default_leeway")]
    leeway_secs: u64,
}

fn default_leeway() -> u64 {
    30
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileRule {
    id: String,
    effect: String,
    condition: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileQuota {
    id: String,
    #[serde(default = "default_unit")]
    unit: String,
    key: String,
    limit: u64,
    period_secs: u64,
    #[serde(default)]
    actions: Vec<String>,
}

fn default_unit() -> String {
    "requests".into()
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileBudget {
    period: Option<String>,
    per_key_usd: Option<f64>,
    per_team_usd: Option<f64>,
    per_tenant_usd: Option<f64>,
    soft_limit_percent: Option<u8>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileStore {
    redis_url: Option<String>,
    #[serde(default)]
    fail_open: bool,
}

fn bad(key: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Value {
        key,
        reason: reason.into(),
    }
}

impl TryFrom<FileAuth> for AuthConfig {
    type Error = ConfigError;

    fn try_from(file: FileAuth) -> Result<Self, ConfigError> {
        let api_keys = file
            .api_keys
            .into_iter()
            .map(|k| {
                let ok =
                    k.key_sha256.len() == 64 && k.key_sha256.bytes().all(|b| b.is_ascii_hexdigit());
                if !ok {
                    return Err(bad(
                        "auth.api_keys.key_sha256",
                        "must be 64 hex digits (the SHA-256 of the key)",
                    ));
                }
                if k.subject.is_empty() {
                    return Err(bad("auth.api_keys.subject", "must not be empty"));
                }
                Ok(ApiKeyConfig {
                    sha256: k.key_sha256.to_ascii_lowercase(),
                    subject: k.subject,
                    tenant: k.tenant,
                    team: k.team,
                    roles: k.roles,
                    scopes: k.scopes,
                })
            })
            .collect::<Result<_, _>>()?;
        let jwt = file
            .jwt
            .into_iter()
            .map(|j| {
                let jwks = match (j.jwks_url, j.jwks_file) {
                    (Some(url), None) => JwksLocation::Url(url.parse().map_err(|e| {
                        bad("auth.jwt.jwks_url", format!("`{url}` is not a URL ({e})"))
                    })?),
                    (None, Some(path)) => JwksLocation::File(path),
                    _ => return Err(bad("auth.jwt", "set exactly one of jwks_url and jwks_file")),
                };
                Ok(JwtConfig {
                    issuer: j.issuer,
                    audience: j.audience,
                    jwks,
                    algorithms: j.algorithms,
                    leeway: Duration::from_secs(j.leeway_secs),
                })
            })
            .collect::<Result<_, _>>()?;
        let resource_metadata = match file.resource_metadata {
            None => None,
            Some(m) if m.authorization_servers.is_empty() => {
                return Err(bad(
                    "auth.resource_metadata.authorization_servers",
                    "name at least one authorization server",
                ));
            }
            Some(m) => Some(ResourceMetadataConfig {
                resource: m.resource,
                authorization_servers: m.authorization_servers,
                scopes: m.scopes,
            }),
        };
        Ok(AuthConfig {
            required: file.required,
            api_keys,
            jwt,
            resource_metadata,
        })
    }
}

impl TryFrom<FileRule> for RuleConfig {
    type Error = ConfigError;

    fn try_from(file: FileRule) -> Result<Self, ConfigError> {
        let allow = match file.effect.as_str() {
            "allow" => true,
            "deny" => false,
            other => {
                return Err(bad(
                    "authorize.rules.effect",
                    format!("`{other}` is neither allow nor deny"),
                ));
            }
        };
        Ok(RuleConfig {
            id: file.id,
            allow,
            condition: file.condition,
        })
    }
}

fn key_parts(key: &str, field: &'static str) -> Result<Vec<KeyPart>, ConfigError> {
    key.split('+')
        .map(|part| {
            let part = part.trim();
            part.parse::<KeyPart>().map_err(|_| {
                bad(
                    field,
                    format!("`{part}` is not one of caller, subject, team, tenant, target, action"),
                )
            })
        })
        .collect()
}

impl TryFrom<FileQuota> for QuotaConfig {
    type Error = ConfigError;

    fn try_from(file: FileQuota) -> Result<Self, ConfigError> {
        let unit = match file.unit.as_str() {
            "requests" => QuotaUnit::Requests,
            "tokens" => QuotaUnit::Tokens,
            other => {
                return Err(bad(
                    "quota.unit",
                    format!("`{other}` is neither requests nor tokens"),
                ));
            }
        };
        Ok(QuotaConfig {
            id: file.id,
            unit,
            key: key_parts(&file.key, "quota.key")?,
            limit: NonZeroU64::new(file.limit)
                .ok_or_else(|| bad("quota.limit", "must be at least 1"))?,
            period: match file.period_secs {
                0 => return Err(bad("quota.period_secs", "must be at least 1")),
                s => Duration::from_secs(s),
            },
            actions: actions(&file.actions)?,
        })
    }
}

fn actions(names: &[String]) -> Result<Vec<Action>, ConfigError> {
    names
        .iter()
        .map(|name| {
            name.parse::<Action>().map_err(|_| {
                let known: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
                bad(
                    "quota.actions",
                    format!("`{name}` is not an action; one of {}", known.join(", ")),
                )
            })
        })
        .collect()
}

impl TryFrom<FileBudget> for BudgetConfig {
    type Error = ConfigError;

    fn try_from(file: FileBudget) -> Result<Self, ConfigError> {
        let period = match file.period.as_deref() {
            None => BudgetPeriod::Monthly,
            Some(name) => name.parse::<BudgetPeriod>().map_err(|_| {
                bad(
                    "budget.period",
                    format!("`{name}` is not daily, monthly or never"),
                )
            })?,
        };
        for (key, v) in [
            ("budget.per_key_usd", file.per_key_usd),
            ("budget.per_team_usd", file.per_team_usd),
            ("budget.per_tenant_usd", file.per_tenant_usd),
        ] {
            if v.is_some_and(|v| !v.is_finite() || v < 0.0) {
                return Err(bad(key, "must be a non-negative number of dollars"));
            }
        }
        let soft_limit_percent = match file.soft_limit_percent {
            None => None,
            Some(p @ 1..=100) => NonZeroU8::new(p),
            Some(_) => {
                return Err(bad(
                    "budget.soft_limit_percent",
                    "must be between 1 and 100",
                ));
            }
        };
        Ok(BudgetConfig {
            period,
            per_key_usd: file.per_key_usd,
            per_team_usd: file.per_team_usd,
            per_tenant_usd: file.per_tenant_usd,
            soft_limit_percent,
        })
    }
}

impl From<FileStore> for StoreConfig {
    fn from(file: FileStore) -> Self {
        StoreConfig {
            redis_url: file.redis_url,
            fail_open: file.fail_open,
        }
    }
}

#[cfg(test)]
mod tests {
    use agent_gateway_core::Action;

    use crate::config::Config;

    const QUOTA: &str = "[[quota]]\nid = \"q\"\nkey = \"subject\"\nlimit = 1\nperiod_secs = 1\n";

    #[test]
    fn a_quota_can_be_scoped_to_actions() {
        let text = format!("{QUOTA}actions = [\"tool_call\", \"model_call\"]\n");
        let c = Config::from_toml_str(&text).unwrap();
        assert_eq!(c.quotas[0].actions, [Action::ToolCall, Action::ModelCall]);
        let unscoped = Config::from_toml_str(QUOTA).unwrap();
        assert!(unscoped.quotas[0].actions.is_empty());
    }

    #[test]
    fn an_unknown_action_is_named_with_the_known_ones() {
        let text = format!("{QUOTA}actions = [\"tool_call\", \"tools/call\"]\n");
        let err = Config::from_toml_str(&text).unwrap_err().to_string();
        assert!(err.contains("quota.actions"), "{err}");
        assert!(err.contains("`tools/call` is not an action"), "{err}");
        assert!(err.contains("tool_call, list_tools"), "{err}");
    }
}
