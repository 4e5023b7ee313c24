//! `gateway --check`: every problem of a configuration, each naming its key path, found
//! without binding a port, starting an upstream or opening the audit log.
//!
//! Each section is read on its own, and each element of an array of tables on its own, so one
//! mistake does not hide the next; then what the gateway would build at start is tried where
//! that needs no I/O beyond reading the environment and the file system: CEL rules compile,
//! guardrail patterns and schemas compile, keys named by environment variables are set and
//! well formed, key files are readable, stdio commands exist and the audit path is writable.
//!
//! ```
//! use agent_gateway_examples::config::check::check_str;
//!
//! assert!(check_str("[server]\nlisten = \"127.0.0.1:0\"\n").is_empty());
//!
//! let problems = check_str(
//!     "[server]\nlisten_typo = 1\n\
//!      [[quota]]\nid = \"q\"\nkey = \"subject\"\nlimit = 0\nperiod_secs = 1\n\
//!      [authorize]\n[[authorize.rules]]\nid = \"r\"\neffect = \"allow\"\ncondition = \"caller.(\"\n",
//! );
//! let keys: Vec<_> = problems.iter().map(|p| p.key.as_str()).collect();
//! assert_eq!(keys, ["authorize.rules[0].condition", "quota[0].limit", "server.listen_typo"]);
//! ```

use std::fmt;
use std::path::Path;

use serde::de::DeserializeOwned;

use super::{
    A2aConfig, AuditConfig, AuthConfig, ConfigError, GuardrailConfig, Guardrails, JwksLocation,
    LlmConfig, McpConfig, McpTarget, RuleConfig, RunsConfig, StoreConfig,
};

/// One thing wrong with a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Problem {
    /// Where: the key path, e.g. `llm.deployments[2].provider`, or `(file)` when the file
    /// cannot be read or parsed at all.
    pub key: String,
    /// What is wrong.
    pub reason: String,
}

impl Problem {
    /// A problem at `key`; the reason is made one line (compilers' multi-line messages
    /// included), so that each problem prints as one line.
    fn new(key: impl Into<String>, reason: impl Into<String>) -> Self {
        let reason: String = reason.into();
        Problem {
            key: key.into(),
            reason: reason.split_whitespace().collect::<Vec<_>>().join(" "),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.reason)
    }
}

/// Every problem of the configuration file at `path`; empty when it is valid.
pub fn check_file(path: &Path) -> Vec<Problem> {
    match std::fs::read_to_string(path) {
        Ok(text) => check_str(&text),
        Err(e) => vec![Problem::new(
            "(file)",
            format!("cannot read {}: {e}", path.display()),
        )],
    }
}

/// Every problem of a configuration given as TOML text, sorted by key; empty when it is valid.
pub fn check_str(text: &str) -> Vec<Problem> {
    check_text(text, Build::Try)
}

/// The problems of [`check_str`] that need nothing built to be found: every key, value,
/// variable, file and command, but not what only building finds (CEL rules and guardrails
/// compiled, run keys decoded, the LLM and A2A routers built). A reload checks this, then
/// builds once and uses what it built; when the build fails, [`check_str`] names the key.
pub(crate) fn check_before_build(text: &str) -> Vec<Problem> {
    check_text(text, Build::Skip)
}

/// Whether a check tries what start-up would build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Build {
    Try,
    Skip,
}

fn check_text(text: &str, build: Build) -> Vec<Problem> {
    let table: toml::Table = match toml::from_str(text) {
        Ok(t) => t,
        Err(e) => return vec![Problem::new("(file)", syntax(text, &e))],
    };
    let mut out = Vec::new();
    for (section, value) in table {
        let p = &mut out;
        match section.as_str() {
            "server" => {
                read::<super::server::FileServer>(p, "server", value)
                    .and_then(|f| convert::<super::ServerConfig>(p, "server", f.try_into()));
            }
            "auth" => {
                let auth = read::<super::policy::FileAuth>(p, "auth", value)
                    .and_then(|f| convert::<AuthConfig>(p, "auth", f.try_into()));
                if let Some(auth) = auth {
                    check_auth(p, &auth);
                }
            }
            "authorize" => check_rules(p, value, build),
            "quota" => {
                for_each::<super::policy::FileQuota, super::QuotaConfig>(p, "quota", value);
            }
            "budget" => {
                read::<super::policy::FileBudget>(p, "budget", value)
                    .and_then(|f| convert::<super::BudgetConfig>(p, "budget", f.try_into()));
            }
            "store" => {
                let store: Option<StoreConfig> =
                    read::<super::policy::FileStore>(p, "store", value).map(Into::into);
                if let Some(store) = store {
                    check_store(p, &store);
                }
            }
            "runs" => {
                let runs = read::<super::runs::FileRuns>(p, "runs", value)
                    .and_then(|f| convert::<RunsConfig>(p, "runs", f.try_into()));
                if let Some(runs) = runs.filter(|_| build == Build::Try) {
                    let store: agent_gateway_core::store::SharedStore =
                        std::sync::Arc::new(agent_gateway_core::store::MemoryStore::new());
                    if let Err(e) = runs.layer(&store, false) {
                        p.push(Problem::new("runs.key", e.to_string()));
                    }
                }
            }
            "llm" => {
                let llm = read::<super::llm::FileLlm>(p, "llm", value)
                    .and_then(|f| convert::<LlmConfig>(p, "llm", f.try_into()));
                if let Some(llm) = llm {
                    check_llm(p, &llm, build);
                }
            }
            "mcp" => {
                let mcp = read::<super::mcp::FileMcp>(p, "mcp", value)
                    .and_then(|f| convert::<McpConfig>(p, "mcp", f.try_into()));
                if let Some(mcp) = mcp {
                    check_mcp(p, &mcp);
                }
            }
            "a2a" => {
                let a2a = read::<super::a2a::FileA2a>(p, "a2a", value)
                    .and_then(|f| convert::<A2aConfig>(p, "a2a", f.try_into()));
                if let Some(a2a) = a2a {
                    check_a2a(p, &a2a, build);
                }
            }
            "audit" => {
                let audit = read::<super::audit::FileAudit>(p, "audit", value)
                    .and_then(|f| convert::<AuditConfig>(p, "audit", f.try_into()));
                if let Some(audit) = audit {
                    check_audit(p, &audit);
                }
            }
            "guardrails" => check_guardrails(p, value, build),
            "telemetry" => {
                // One table, two concerns: the metrics keys, then the span export.
                if let Some(mut t) = read::<super::telemetry::FileTelemetry>(p, "telemetry", value)
                {
                    let metrics = super::MetricsConfig::take_keys(&mut t);
                    let metrics = convert::<super::MetricsConfig>(p, "telemetry", metrics);
                    if let Some(var) = metrics.as_ref().and_then(|m| m.token_env.as_deref()) {
                        env_set(p, "telemetry.metrics_token_env".into(), var);
                    }
                    convert::<super::TelemetryConfig>(p, "telemetry", t.try_into());
                }
            }
            other => p.push(Problem::new(other, "unknown section")),
        }
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    out
}

/// A syntax error, with its line.
fn syntax(text: &str, e: &toml::de::Error) -> String {
    match e.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].lines().count().max(1);
            format!("line {line}: {}", e.message())
        }
        None => e.message().to_owned(),
    }
}

/// Reads `value` as `T`, or records the problem at its full key path under `prefix`.
fn read<T: DeserializeOwned>(
    out: &mut Vec<Problem>,
    prefix: &str,
    value: toml::Value,
) -> Option<T> {
    match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(t) => Some(t),
        Err(e) => {
            let path = e.path().to_string();
            let key = match path.as_str() {
                "." => prefix.to_owned(),
                p if p.starts_with('[') => format!("{prefix}{p}"),
                p => format!("{prefix}.{p}"),
            };
            out.push(Problem::new(key, e.into_inner().message().to_owned()));
            None
        }
    }
}

/// The converted value, or the problem recorded (its key made precise with `at`, the element
/// path the conversion does not know, e.g. `quota[2]` for the key `quota.limit`).
fn convert<T>(out: &mut Vec<Problem>, at: &str, result: Result<T, ConfigError>) -> Option<T> {
    match result {
        Ok(t) => Some(t),
        Err(ConfigError::Value { key, reason }) => {
            let section = at.split('[').next().unwrap_or(at);
            let key = match key.strip_prefix(section) {
                Some(rest) if at.contains('[') => format!("{at}{rest}"),
                _ => key.to_owned(),
            };
            out.push(Problem::new(key, reason));
            None
        }
        Err(ConfigError::At { path, reason }) => {
            out.push(Problem::new(path, reason));
            None
        }
        Err(other) => {
            out.push(Problem::new(at, other.to_string()));
            None
        }
    }
}

/// Reads and converts each element of an array of tables on its own.
fn for_each<F, T>(out: &mut Vec<Problem>, section: &str, value: toml::Value) -> Vec<T>
where
    F: DeserializeOwned,
    T: TryFrom<F, Error = ConfigError>,
{
    let toml::Value::Array(items) = value else {
        out.push(Problem::new(
            section,
            "must be an array of tables (`[[…]]`)",
        ));
        return Vec::new();
    };
    let mut done = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let at = format!("{section}[{i}]");
        if let Some(t) = read::<F>(out, &at, item).and_then(|f| convert(out, &at, f.try_into())) {
            done.push(t);
        }
    }
    done
}

fn check_rules(out: &mut Vec<Problem>, value: toml::Value, build: Build) {
    let Some(mut table) = value.as_table().cloned() else {
        out.push(Problem::new("authorize", "must be a table"));
        return;
    };
    let rules = table
        .remove("rules")
        .unwrap_or(toml::Value::Array(Vec::new()));
    if let Some(extra) = table.keys().next() {
        out.push(Problem::new(format!("authorize.{extra}"), "unknown key"));
    }
    let rules: Vec<RuleConfig> =
        for_each::<super::policy::FileRule, RuleConfig>(out, "authorize.rules", rules);
    if build == Build::Skip {
        return;
    }
    for (i, r) in rules.iter().enumerate() {
        let one = agent_gateway_policy::authorize::Rules::new().allow(&r.id, &r.condition);
        if let Err(e) = one.compile() {
            out.push(Problem::new(
                format!("authorize.rules[{i}].condition"),
                e.to_string(),
            ));
        }
    }
}

fn check_guardrails(out: &mut Vec<Problem>, value: toml::Value, build: Build) {
    let rails: Vec<GuardrailConfig> =
        for_each::<super::guardrails::FileGuardrail, _>(out, "guardrails", value);
    if build == Build::Skip {
        return;
    }
    for (i, g) in rails.iter().enumerate() {
        if let Err(e) = Guardrails::build(std::slice::from_ref(g)) {
            out.push(Problem::new(format!("guardrails[{i}]"), e.to_string()));
        }
    }
}

fn check_auth(out: &mut Vec<Problem>, auth: &AuthConfig) {
    for (i, j) in auth.jwt.iter().enumerate() {
        if let JwksLocation::File(path) = &j.jwks
            && let Err(e) = std::fs::metadata(path)
        {
            out.push(Problem::new(
                format!("auth.jwt[{i}].jwks_file"),
                format!("cannot read {}: {e}", path.display()),
            ));
        }
    }
}

fn check_store(out: &mut Vec<Problem>, store: &StoreConfig) {
    if store.redis_url.is_some() && cfg!(not(feature = "redis")) {
        out.push(Problem::new(
            "store.redis_url",
            "needs the gateway built with `--features redis`",
        ));
    }
}

fn env_set(out: &mut Vec<Problem>, key: String, var: &str) {
    if std::env::var_os(var).is_none() {
        out.push(Problem::new(
            key,
            format!("environment variable `{var}` is not set"),
        ));
    }
}

fn check_llm(out: &mut Vec<Problem>, llm: &LlmConfig, build: Build) {
    for (i, p) in llm.providers.iter().enumerate() {
        if let Some(var) = &p.api_key_env {
            env_set(out, format!("llm.providers[{i}].api_key_env"), var);
        }
    }
    // The router's own checks (URLs), with the keys' presence already reported above.
    if build == Build::Try && out.iter().all(|p| !p.key.starts_with("llm.")) {
        match crate::llm::router(llm) {
            Ok(_) => {}
            Err(crate::llm::LlmSetupError::Provider { name, reason }) => {
                let i = llm.providers.iter().position(|p| p.name == name);
                let key = i.map_or("llm.providers".into(), |i| format!("llm.providers[{i}]"));
                out.push(Problem::new(key, reason));
            }
            Err(e) => out.push(Problem::new("llm", e.to_string())),
        }
    }
}

fn check_mcp(out: &mut Vec<Problem>, mcp: &McpConfig) {
    if let Some(var) = &mcp.session_key_env {
        env_set(out, "mcp.session_key_env".into(), var);
    }
    for (i, u) in mcp.upstreams.iter().enumerate() {
        if let Some(var) = &u.token_env {
            env_set(out, format!("mcp.upstreams[{i}].token_env"), var);
        }
        if let McpTarget::Command(cmd) = &u.target {
            for var in &cmd.env_from {
                env_set(out, format!("mcp.upstreams[{i}].env_from"), var);
            }
            if !command_exists(&cmd.command, cmd.cwd.as_deref()) {
                out.push(Problem::new(
                    format!("mcp.upstreams[{i}].command"),
                    format!("`{}` is not an executable file on PATH", cmd.command),
                ));
            }
        }
        if let Err(e) = agent_gateway_mcp::naming::ServerName::new(&u.name) {
            out.push(Problem::new(
                format!("mcp.upstreams[{i}].name"),
                e.to_string(),
            ));
        }
    }
}

/// Whether `command` names an executable file, as a path or found on `PATH`.
fn command_exists(command: &str, cwd: Option<&Path>) -> bool {
    let is_file = |p: &Path| p.metadata().is_ok_and(|m| m.is_file());
    if command.contains('/') {
        let path = Path::new(command);
        return match cwd {
            Some(dir) if path.is_relative() => is_file(&dir.join(path)),
            _ => is_file(path),
        };
    }
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| is_file(&dir.join(command))))
}

fn check_a2a(out: &mut Vec<Problem>, a2a: &A2aConfig, build: Build) {
    if let Some(var) = &a2a.seal_key_env {
        env_set(out, "a2a.seal_key_env".into(), var);
    }
    for (i, agent) in a2a.agents.iter().enumerate() {
        // The schemas compile as start-up would compile them (files read, no network).
        if let Some(source) = &agent.data_schemas {
            let compiled = source.load().and_then(|declaration| {
                agent_gateway_policy::guard::DataSchemas::new()
                    .with_agent(&agent.name, &declaration)
                    .map(drop)
            });
            if let Err(why) = compiled {
                out.push(Problem::new(format!("a2a.agents[{i}].data_schemas"), why));
            }
        }
        for (j, inst) in agent.instances.iter().enumerate() {
            if let Some(var) = &inst.token_env {
                env_set(
                    out,
                    format!("a2a.agents[{i}].instances[{j}].token_env"),
                    var,
                );
            }
        }
    }
    if build == Build::Try && out.iter().all(|p| !p.key.starts_with("a2a")) {
        match crate::a2a::router(a2a) {
            Ok(_) => {}
            Err(crate::a2a::A2aSetupError::Agent { name, reason }) => {
                let i = a2a.agents.iter().position(|a| a.name == name);
                let key = i.map_or("a2a.agents".into(), |i| format!("a2a.agents[{i}]"));
                out.push(Problem::new(key, reason));
            }
            Err(e) => out.push(Problem::new("a2a", e.to_string())),
        }
    }
}

/// The audit log's place must be writable: an existing directory gets a probe file created
/// and removed at once; an existing file (a SQLite database) is opened for writing, neither
/// truncated nor locked; a path not there yet needs its nearest existing ancestor to be a
/// writable directory.
fn check_audit(out: &mut Vec<Problem>, audit: &AuditConfig) {
    let path = &audit.path;
    let existing = path
        .ancestors()
        .find(|a| !a.as_os_str().is_empty() && a.exists())
        .unwrap_or(Path::new("."));
    let result = if existing.is_dir() {
        let probe = existing.join(format!(".agw-check-{}", std::process::id()));
        std::fs::File::create(&probe).and_then(|_| std::fs::remove_file(&probe))
    } else if existing == path.as_path() {
        std::fs::OpenOptions::new()
            .append(true)
            .open(path)
            .map(drop)
    } else {
        Err(std::io::Error::other(format!(
            "{} is not a directory",
            existing.display()
        )))
    };
    if let Err(e) = result {
        out.push(Problem::new(
            "audit.path",
            format!("{} is not writable: {e}", path.display()),
        ));
    }
}
