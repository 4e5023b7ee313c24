//! Hot reload: the configuration file is read again on SIGHUP or when it changes, and the
//! gateway's application is swapped atomically.
//!
//! The server serves [`Reloader::service`], which hands each new request to the application
//! current when the request arrives. A reload builds the next application beside the running
//! one and swaps it in with one atomic store: requests and streams already admitted finish on
//! the application that admitted them (they hold it until they end), new ones get the new.
//!
//! What a reload **rebuilds**: authentication (API keys, JWT issuers and their JWKS caches),
//! the authorization rules, quota and budget limits, run limits, guardrails, the Host/Origin
//! checks and the routes. What it **keeps**: the counter store, so quota, budget and run
//! counters carry on; the audit writer and its hash chain; the trace layer; the per-caller
//! open-stream counts; the pin table with the approvals made through the admin route, while
//! the `pin` guardrail's `pin_mode` and `pins` are unchanged; and, each while its section is
//! unchanged, the MCP federation (its pools, breakers, stdio
//! children, session tables and session key, so sessions carry on), the A2A router (instance
//! pools, task affinity and its sealing key) and the LLM router (providers' pools and
//! breakers). A changed `[mcp]`, `[a2a]` or `[llm]` section is built anew: its new upstreams
//! serve new requests while the old ones finish what they hold. `[server]` (listen address,
//! limits), `[store]` and `[audit]` are not reloaded: a change there is logged as needing a
//! restart, and the running values stay. A file with any problem ([`check`]) is rejected
//! with one log line naming every problem, and the running configuration stays.
//!
//! A reload builds once. The file is read once; what needs nothing built is checked first
//! (keys, values, variables, files, commands); then the policies and the application are
//! built, exactly as at start-up, and what was built is swapped in. Rules, guardrails and
//! routers are not built a second time to check them: when the build fails, the
//! [`check`] of the same text names the keys (only a failing reload builds twice).
//!
//! ```
//! use agent_gateway_core::testkit::TestClient;
//! use agent_gateway_examples::{app::App, config::Config, policy::Policies, reload::Reloader};
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let file = std::env::temp_dir().join(format!("agw-reload-doc-{}.toml", std::process::id()));
//! // The SHA-256 of `agw-demo-key`, and of `new-key`.
//! let key = |sha: &str| format!("[[auth.api_keys]]\nkey_sha256 = \"{sha}\"\nsubject = \"s\"\n");
//! let demo = "e9ea7221f3e65906b26bb5b2c23ca15eca18b524bab79e00aedc38bcb1e4b293";
//! let new = "479a61d5370a0351ad498a8f324e0f9ad50bfafbe4c044ea49cbe3981e8cb573";
//! std::fs::write(&file, key(demo)).unwrap();
//!
//! let config = Config::from_file(&file).unwrap();
//! let policies = Policies::from_config(&config).await.unwrap();
//! let app = App::new(&config, &policies).unwrap();
//! let reloader = Reloader::new(Some(file.clone()), config, policies, app);
//! let client = TestClient::new(reloader.service());
//! let demo_key = || client.get("/v1/whoami").header("authorization", "Bearer agw-demo-key");
//! assert_eq!(demo_key().send().await.status(), 200);
//!
//! std::fs::write(&file, key(new)).unwrap();
//! assert_eq!(reloader.reload().await.unwrap(), 1);
//! assert_eq!(demo_key().send().await.status(), 401);
//! let new_key = client.get("/v1/whoami").header("authorization", "Bearer new-key");
//! assert_eq!(new_key.send().await.status(), 200);
//!
//! // An invalid file is rejected; the running configuration stays.
//! std::fs::write(&file, "[server]\nlisten_typo = 1\n").unwrap();
//! assert!(reloader.reload().await.is_err());
//! assert_eq!(reloader.generation(), 1);
//! # std::fs::remove_file(&file).unwrap();
//! # });
//! ```

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use arc_swap::ArcSwap;
use axum::Router;
use axum::body::Body;
use http::{Request, Response};
use tower::util::Oneshot;
use tower::{Service, ServiceExt};

use crate::app::{App, Keep, SetupError};
use crate::config::check::{self, Problem};
use crate::config::{Config, ConfigError};
use crate::policy::{Policies, PolicyError};

/// How long the configuration file must stay quiet before a change is reloaded: an editor's
/// save is several events (truncate, write, rename), and a reload between them would read a
/// half-written file. A quarter second is past any save and short for an operator.
pub const DEBOUNCE: Duration = Duration::from_millis(250);

/// Why a reload was refused; the running configuration stays.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReloadError {
    /// The gateway runs on the embedded defaults: there is no file to read.
    #[error("no configuration file to reload (started on the embedded defaults)")]
    NoFile,
    /// The file has problems, each with its key path.
    #[error("{}", join(.0))]
    Invalid(Vec<Problem>),
    /// The file could not be read or parsed.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The policies could not be built.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// The application could not be built.
    #[error(transparent)]
    Setup(#[from] SetupError),
}

fn join(problems: &[Problem]) -> String {
    let all: Vec<String> = problems.iter().map(Problem::to_string).collect();
    all.join("; ")
}

/// The running configuration, its policies and application: replaced whole by a reload.
#[derive(Debug)]
struct Running {
    config: Config,
    policies: Policies,
    app: App,
}

/// Reloads the gateway's configuration and serves the current application; see the
/// [module docs](self).
#[derive(Debug)]
pub struct Reloader {
    path: Option<PathBuf>,
    running: tokio::sync::Mutex<Running>,
    current: Arc<ArcSwap<Router>>,
    generation: AtomicU64,
}

impl Reloader {
    /// A reloader serving `app` (built from `config` and `policies`, with
    /// `config.server.listen` the bound address), reading `path` on each reload (`None` on
    /// the embedded defaults, which cannot be reloaded).
    pub fn new(path: Option<PathBuf>, config: Config, policies: Policies, app: App) -> Reloader {
        let current = Arc::new(ArcSwap::from_pointee(app.router()));
        Reloader {
            path,
            running: tokio::sync::Mutex::new(Running {
                config,
                policies,
                app,
            }),
            current,
            generation: AtomicU64::new(0),
        }
    }

    /// The service to serve: each request goes to the application current when it arrives.
    pub fn service(&self) -> Current {
        Current {
            router: self.current.clone(),
        }
    }

    /// How many reloads have been applied (0 before the first).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Reads the file again and, when it is valid, swaps the new application in; returns the
    /// new generation. On any error the running configuration stays, and one error line is
    /// logged naming every problem.
    pub async fn reload(&self) -> Result<u64, ReloadError> {
        let result = self.try_reload().await;
        match &result {
            Ok(generation) => tracing::info!(generation, "configuration reloaded"),
            Err(e) => tracing::error!(
                problems = %e,
                "configuration reload rejected; the running configuration stays"
            ),
        }
        result
    }

    async fn try_reload(&self) -> Result<u64, ReloadError> {
        let path = self.path.as_deref().ok_or(ReloadError::NoFile)?;
        let mut running = self.running.lock().await;
        // Read once: the check and the build see the same text, whatever is written meanwhile.
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.display().to_string(),
            source,
        })?;
        // What needs nothing built is checked first; what only building finds (rules,
        // guardrails, routers) is found by building, once, below.
        if !check::check_before_build(&text).is_empty() {
            // Rejected: name every problem, those only building finds included.
            return Err(ReloadError::Invalid(check::check_str(&text)));
        }
        let mut config = Config::from_toml_str(&text)?;
        let old = &running.config;
        for section in ["server", "store", "audit"] {
            if !config.same_section(old, section) {
                tracing::warn!(
                    section,
                    "this section changed: it applies only after a restart; the running one stays"
                );
            }
        }
        config.server = old.server.clone();
        config.store = old.store.clone();
        config.audit = old.audit.clone();
        let keep = Keep {
            mcp: config.same_section(old, "mcp"),
            a2a: config.same_section(old, "a2a"),
            llm: config.same_section(old, "llm"),
            ..Keep::default()
        };
        let built = running
            .policies
            .reconfigured(&config)
            .map_err(ReloadError::from)
            .and_then(|policies| {
                let app = running.app.reconfigured(&config, &policies, keep)?;
                Ok((policies, app))
            });
        let (policies, app) = built.map_err(|e| explain(&text, e))?;
        self.current.store(Arc::new(app.router()));
        // The old application is dropped here; what its in-flight requests hold lives on.
        *running = Running {
            config,
            policies,
            app,
        };
        Ok(self.generation.fetch_add(1, Ordering::AcqRel) + 1)
    }

    /// Reloads on SIGHUP and, when `watch_file` is set, when the file changes (debounced by
    /// [`DEBOUNCE`]); logs `configuration reload armed` once both are listening. Runs until
    /// the process ends.
    pub async fn watch(self: Arc<Self>, watch_file: bool) {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<()>(1);
        hangups(tx.clone());
        let _watcher = match (&self.path, watch_file) {
            (Some(path), true) => match file_watcher(path, tx.clone()) {
                Ok(w) => Some(w),
                Err(e) => {
                    tracing::error!(error = %e, "cannot watch the configuration file; SIGHUP still reloads");
                    None
                }
            },
            _ => None,
        };
        tracing::info!(path = ?self.path, watch_file, "configuration reload armed");
        while rx.recv().await.is_some() {
            let _ = self.reload().await;
        }
    }

    /// Stops the current application's stdio upstreams and flushes the audit log: call it once
    /// the server has stopped.
    pub async fn shutdown(&self) {
        let running = self.running.lock().await;
        running.app.shutdown().await;
        // Whatever the fsync policy, the records of a clean stop are on disk, and the writer
        // has stopped and released the log's lock.
        if let Some(audit) = running.policies.audit()
            && let Err(e) = audit.log().clone().close().await
        {
            tracing::error!(error = %e, "audit: the last records could not be written");
        }
    }
}

/// A failed build's error, as the problems with their key paths that `--check` finds in
/// `text` (it builds each rule, guardrail and router on its own), or as it is when the check
/// names none. Only a failing reload builds twice.
fn explain(text: &str, error: ReloadError) -> ReloadError {
    let problems = check::check_str(text);
    if problems.is_empty() {
        error
    } else {
        ReloadError::Invalid(problems)
    }
}

/// Sends on `tx` at each SIGHUP (a reload already queued absorbs the next).
fn hangups(tx: tokio::sync::mpsc::Sender<()>) {
    #[cfg(unix)]
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(mut hup) => {
            tokio::spawn(async move {
                while hup.recv().await.is_some() {
                    let _ = tx.try_send(());
                }
            });
        }
        Err(e) => tracing::error!(error = %e, "cannot listen for SIGHUP"),
    }
    #[cfg(not(unix))]
    drop(tx);
}

/// Watches the file's directory (editors replace a file by renaming over it, which a watch
/// on the file itself would lose) and sends on `tx` once events on the file settle.
fn file_watcher(
    path: &Path,
    tx: tokio::sync::mpsc::Sender<()>,
) -> Result<notify_debouncer_mini::Debouncer<notify::RecommendedWatcher>, notify::Error> {
    use notify_debouncer_mini::{DebounceEventResult, new_debouncer};
    let name = path.file_name().map(ToOwned::to_owned);
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut debouncer = new_debouncer(DEBOUNCE, move |events: DebounceEventResult| {
        let ours = events
            .map(|events| events.iter().any(|e| e.path.file_name() == name.as_deref()))
            .unwrap_or(false);
        if ours {
            let _ = tx.try_send(());
        }
    })?;
    debouncer
        .watcher()
        .watch(&dir, notify::RecursiveMode::NonRecursive)?;
    Ok(debouncer)
}

/// The served service: each request goes to the application current when it arrives, and
/// keeps it until it (and its stream) ends.
#[derive(Debug, Clone)]
pub struct Current {
    router: Arc<ArcSwap<Router>>,
}

impl<B> Service<Request<B>> for Current
where
    Router: Service<Request<B>, Response = Response<Body>, Error = Infallible>,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Oneshot<Router, Request<B>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        Router::clone(&self.router.load()).oneshot(req)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// A reloader on a fresh file holding `text`, and the file.
    async fn reloader(name: &str, text: &str) -> (Reloader, PathBuf) {
        let file =
            std::env::temp_dir().join(format!("agw-reload-{name}-{}.toml", std::process::id()));
        std::fs::write(&file, text).unwrap();
        let config = Config::from_file(&file).unwrap();
        let policies = Policies::from_config(&config).await.unwrap();
        let app = App::new(&config, &policies).unwrap();
        (
            Reloader::new(Some(file.clone()), config, policies, app),
            file,
        )
    }

    #[tokio::test]
    async fn what_only_the_build_finds_is_rejected_naming_its_key() {
        let (reloader, file) = reloader("build", "").await;
        for (text, key) in [
            (
                "[authorize]\n[[authorize.rules]]\nid = \"r\"\neffect = \"allow\"\ncondition = \"caller.(\"\n",
                "authorize.rules[0].condition",
            ),
            (
                "[llm]\n[[llm.providers]]\nname = \"p\"\nkind = \"openai\"\nbase_url = \"not a url\"\n\
                 [[llm.deployments]]\nalias = \"a\"\nprovider = \"p\"\nmodel = \"m\"\n",
                "llm.providers[0]",
            ),
        ] {
            // Not found before the build: the reload finds it by building.
            let before = check::check_before_build(text);
            assert!(before.is_empty(), "{before:?}");
            std::fs::write(&file, text).unwrap();
            match reloader.reload().await {
                Err(ReloadError::Invalid(problems)) => {
                    let keys: Vec<_> = problems.iter().map(|p| p.key.as_str()).collect();
                    assert_eq!(keys, [key], "{problems:?}");
                }
                other => panic!("{text}: {other:?}"),
            }
            assert_eq!(reloader.generation(), 0);
        }
        // A valid file is built once and swapped in.
        std::fs::write(&file, "[server]\n").unwrap();
        assert_eq!(reloader.reload().await.unwrap(), 1);
        std::fs::remove_file(&file).unwrap();
    }
}
