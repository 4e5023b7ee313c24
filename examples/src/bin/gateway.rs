//! The runnable agent gateway.
//!
//! `gateway [--listen ADDR] [--config FILE]`: serves the fronts the configuration enables.
//! The first line on stdout is the bound address, so scripts and tests can start it on port 0
//! and read where it listens. Logs go to stderr (`RUST_LOG` sets the filter). With an OTLP
//! endpoint configured (`[telemetry] otlp_endpoint` or `OTEL_EXPORTER_OTLP_ENDPOINT`), each
//! call's span is exported, and what is queued is sent before the process exits.

use std::io::Write;
use std::process::ExitCode;

use agent_gateway_examples::policy::Policies;
use agent_gateway_examples::reload::Reloader;
use agent_gateway_examples::{app, audit};
use agent_gateway_policy::audit::ChainHead;
use std::path::PathBuf;
use std::sync::Arc;

/// The SHA-256 of the demo key in the embedded defaults.
const DEMO_KEY_SHA256: &str = "e9ea7221f3e65906b26bb5b2c23ca15eca18b524bab79e00aedc38bcb1e4b293";
use agent_gateway_examples::cli::{Args, Command, USAGE};
use agent_gateway_examples::config::{Config, EMBEDDED_DEFAULT, check};
#[cfg(feature = "otel")]
use agent_gateway_examples::telemetry::Otel;
use agent_gateway_policy::telemetry::TraceLayer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

fn main() -> ExitCode {
    let command = match Args::parse(std::env::args().skip(1)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("gateway: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let args = match command {
        Command::Help => return print_out(USAGE),
        Command::Check { config } => return check(config.as_deref()),
        Command::PrintDefaultConfig => return print_out(EMBEDDED_DEFAULT),
        Command::AuditVerify { path, head } => return audit_verify(&path, head.as_deref()),
        Command::AuditQuery {
            query,
            path,
            config,
        } => return audit_query(&query, path, config),
        Command::Run(args) => args,
    };
    let config = match &args.config {
        Some(path) => Config::from_file(path),
        None => Config::embedded_default(),
    };
    let config = match config {
        Ok(c) => c,
        Err(e) => {
            eprintln!("gateway: {e}");
            return ExitCode::from(2);
        }
    };
    // Logs follow RUST_LOG; exported spans do not (see `telemetry::Otel::layer`).
    let logs = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")));
    let subscriber = tracing_subscriber::registry().with(logs);
    #[cfg(feature = "otel")]
    let otel = match Otel::from_config(&config.telemetry, |key| std::env::var(key).ok()) {
        Ok(otel) => otel,
        Err(e) => {
            eprintln!("gateway: {e}");
            return ExitCode::from(2);
        }
    };
    #[cfg(feature = "otel")]
    subscriber.with(otel.as_ref().map(Otel::layer)).init();
    #[cfg(not(feature = "otel"))]
    subscriber.init();
    #[cfg(feature = "otel")]
    let trace = otel.as_ref().map(Otel::trace_layer);
    #[cfg(not(feature = "otel"))]
    let trace = None;

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("gateway: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let served = runtime.block_on(serve(config, args, trace));
    // Off the runtime: the spans still queued are sent before the process leaves.
    #[cfg(feature = "otel")]
    if let Some(otel) = otel
        && let Err(e) = otel.shutdown()
    {
        eprintln!("gateway: {e}");
    }
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gateway: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `--check`: every problem on stderr, one line each naming its key path; 0 when none.
fn check(path: Option<&std::path::Path>) -> ExitCode {
    let (name, problems) = match path {
        Some(path) => (path.display().to_string(), check::check_file(path)),
        None => (
            "the embedded defaults".into(),
            check::check_str(EMBEDDED_DEFAULT),
        ),
    };
    if problems.is_empty() {
        return print_out(&format!("{name}: ok\n"));
    }
    let mut err = std::io::stderr().lock();
    for p in &problems {
        let _ = writeln!(err, "{name}: {p}");
    }
    let _ = writeln!(err, "{name}: {} problem(s)", problems.len());
    ExitCode::FAILURE
}

fn audit_verify(path: &std::path::Path, head: Option<&str>) -> ExitCode {
    let head = match head.map(str::parse::<ChainHead>).transpose() {
        Ok(head) => head,
        Err(_) => {
            eprintln!("gateway: --head is SEQ:HASH (64 hex digits)");
            return ExitCode::from(2);
        }
    };
    ExitCode::from(audit::verify_command(
        path,
        head.as_ref(),
        &mut std::io::stdout().lock(),
    ))
}

fn audit_query(query: &audit::Query, path: Option<PathBuf>, config: Option<PathBuf>) -> ExitCode {
    let path = match path {
        Some(path) => path,
        None => {
            let config = match &config {
                Some(file) => Config::from_file(file),
                None => Config::embedded_default(),
            };
            match config.map(|c| c.audit.map(|a| a.path)) {
                Ok(Some(path)) => path,
                Ok(None) => {
                    eprintln!("gateway: the configuration has no [audit] section; name the PATH");
                    return ExitCode::from(2);
                }
                Err(e) => {
                    eprintln!("gateway: {e}");
                    return ExitCode::from(2);
                }
            }
        }
    };
    ExitCode::from(audit::query_command(
        &path,
        query,
        &mut std::io::stdout().lock(),
    ))
}

fn print_out(text: &str) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}

async fn serve(mut config: Config, args: Args, trace: Option<TraceLayer>) -> std::io::Result<()> {
    let mut policies = Policies::from_config(&config)
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    if let Some(trace) = trace {
        policies = policies.with_trace(trace);
    }
    if let Some(audit) = &config.audit {
        let layer = audit::open(audit).map_err(|e| std::io::Error::other(e.to_string()))?;
        policies = policies.with_audit(layer);
    }
    if config
        .auth
        .api_keys
        .iter()
        .any(|k| k.sha256 == DEMO_KEY_SHA256)
    {
        tracing::warn!("the embedded demo API key `agw-demo-key` is configured: replace it");
    }
    let listen = args.listen.unwrap_or(config.server.listen);
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let bound = listener.local_addr()?;
    // The bound address, not the asked-for one, is what agent cards must point at.
    config.server.listen = bound;
    let gateway =
        app::App::new(&config, &policies).map_err(|e| std::io::Error::other(e.to_string()))?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{bound}")?;
        out.flush()?;
    }
    tracing::info!(%bound, "agent-gateway listening");
    let limits = config.server.limits.clone();
    // Reloads on SIGHUP and file changes swap the application; see `reload`.
    let reloader = Arc::new(Reloader::new(args.config, config, policies, gateway));
    tokio::spawn(reloader.clone().watch(!args.no_watch));
    // Header and body read timeouts, the connection cap and TCP_NODELAY on every accepted
    // socket (small SSE frames otherwise wait for the client's delayed ACK): what
    // `axum::serve` leaves unset (finding 6).
    let served =
        agent_gateway_core::server::serve(listener, reloader.service(), limits, shutdown_signal())
            .await;
    // Stdio upstreams get their stdin closed and a bounded time to leave; the audit log is
    // closed (written, and its lock released).
    reloader.shutdown().await;
    served
}

async fn shutdown_signal() {
    let ctrl_c = async {
        // If the handler cannot be installed, run until terminated instead.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
