//! A Redis [`CounterStore`], so that several gateway replicas share every quota and budget exactly.
//!
//! ```
//! use std::num::NonZeroU64;
//! use std::time::Duration;
//! use agent_gateway_core::response::Reply;
//! use agent_gateway_core::store::Rate;
//! use agent_gateway_core::testkit::FakeUpstream;
//! use agent_gateway_core::{Action, Call, Caller, Denied, Usage};
//! use agent_gateway_policy::key::CallerId;
//! use agent_gateway_policy::quota::{Limit, QuotaLayer};
//! use agent_gateway_policy::redis::RedisStore;
//! use serde_json::json;
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! # let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
//! # // No redis-server (`AGW_REDIS_SERVER`, else PATH): skipped, or with AGW_REQUIRE_PEERS=1 failed.
//! # let binary = std::env::var_os("AGW_REDIS_SERVER").map(std::path::PathBuf::from).or_else(|| {
//! #     let path = std::env::var_os("PATH")?;
//! #     std::env::split_paths(&path).map(|dir| dir.join("redis-server")).find(|p| p.is_file())
//! # });
//! # let Some(binary) = binary.filter(|p| p.is_file()) else {
//! #     let required = std::env::var_os("AGW_REQUIRE_PEERS").is_some_and(|v| v == "1");
//! #     assert!(!required, "redis-server is not installed: run .ci/peers");
//! #     eprintln!("skipped: redis-server not installed (run .ci/peers; AGW_REQUIRE_PEERS=1 makes this a failure)");
//! #     return;
//! # };
//! # let mut server = std::process::Command::new(binary)
//! #     .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
//! #     .stdout(std::process::Stdio::null())
//! #     .spawn()
//! #     .expect("redis-server is not installed: run .ci/peers");
//! # let url = format!("redis://127.0.0.1:{port}");
//! # let mut tries = 0;
//! # let store = loop {
//! #     match RedisStore::connect(&url).await {
//! #         Ok(store) => break store,
//! #         Err(_) if tries < 200 => { tries += 1; tokio::time::sleep(Duration::from_millis(25)).await }
//! #         Err(e) => panic!("redis-server did not come up: {e}"),
//! #     }
//! # };
//! // Every replica connects to the same Redis; their layers then share one count per key.
//! // let store = RedisStore::connect("redis://127.0.0.1:6379").await?;
//! let store = store.with_prefix("agw:doc:").with_timeout(Duration::from_millis(500));
//! let layer = QuotaLayer::new(store)
//!     .with_limit(Limit::requests("per-hour", CallerId, Rate::per_hour(NonZeroU64::new(1).unwrap())));
//! let upstream = FakeUpstream::new(|_: Call| Ok::<_, Denied>(Reply::with_usage(json!("ok"), Usage::step())));
//! let svc = || ServiceBuilder::new().layer(layer.clone()).service(upstream.clone());
//! let call = || Call::new(Action::ToolCall, json!({})).with_caller(Caller::new("alice"));
//!
//! assert!(svc().oneshot(call()).await.is_ok());
//! let err = svc().oneshot(call()).await.unwrap_err();
//! let retry_after = Denied::find(err.as_ref()).unwrap().retry_after().unwrap();
//! assert!(retry_after > Duration::from_secs(3590) && retry_after <= Duration::from_secs(3600));
//! assert_eq!(upstream.calls(), 1);
//! # server.kill().unwrap();
//! # server.wait().unwrap();
//! # }
//! ```
//!
//! # How it reproduces the in-memory store
//!
//! Each operation that reads before it writes ([`take`](CounterStore::take),
//! [`settle`](CounterStore::settle), [`add`](CounterStore::add),
//! [`incr_within`](CounterStore::incr_within)) is one Lua script, run with `EVALSHA` (the
//! script is loaded and retried once when the server does not know it yet). Redis runs a script
//! to the end before anything else, so the comparison and the write are one step, and the
//! arithmetic is the one [`CounterStore`] documents, line for line. [`get`](CounterStore::get)
//! and [`reset`](CounterStore::reset) are single commands, atomic on their own.
//!
//! The scripts read the time from the server (`TIME`), never from the gateway: replicas whose
//! clocks drift apart would otherwise compute different TATs for one key and together admit
//! more than the limit. GCRA state is kept in whole microseconds, so emission intervals are
//! rounded up to a microsecond (never letting more through than the rate); windows and TTLs
//! use Redis key expiry, in milliseconds, rounded up. Counters saturate at `i64::MAX` (Redis
//! integers are signed) rather than `u64::MAX`.
//!
//! # Failures
//!
//! Every operation is bounded by a timeout (one second unless [set](RedisStore::with_timeout)).
//! A server that is down, refuses a command or does not answer in time yields a
//! [`StoreError`], on which the layers fail closed. The connection is a
//! [`ConnectionManager`], which reconnects in the background, so the store recovers by itself
//! once the server is back.

mod scripts;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use agent_gateway_core::store::{CounterStore, Rate, StoreError, Take, WindowOutcome};
use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, RedisResult};

use self::scripts::{ADD_SCRIPT, INCR_WITHIN_SCRIPT, LUA_MAX, SETTLE_SCRIPT, TAKE_SCRIPT};

/// How long an operation may take unless [`RedisStore::with_timeout`] says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

/// The longest wait between two reconnection attempts.
const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(1);

/// A [`CounterStore`] on a Redis server, shared by every gateway replica that connects to it.
///
/// Clones share the connection. See the [module docs](self).
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: Arc<str>,
    timeout: Duration,
    health: RedisHealth,
}

/// How a [`RedisStore`] is faring, for metrics and health checks: whether its last operation
/// reached the server, and how many operations failed. Clones (and the store's clones) share
/// the counts; reading them takes two atomic loads.
///
/// "Up" is the outcome of the last operation, not a probe: a store that nothing uses keeps
/// the last state it saw (up after [`connect`](RedisStore::connect)).
#[derive(Clone, Debug, Default)]
pub struct RedisHealth(Arc<HealthState>);

#[derive(Debug, Default)]
struct HealthState {
    down: AtomicBool,
    errors: AtomicU64,
}

impl RedisHealth {
    /// Whether the last operation got an answer from the server (an error reply counts as an
    /// answer; a refused or dropped connection and a timeout do not).
    pub fn is_up(&self) -> bool {
        !self.0.down.load(Ordering::Relaxed)
    }

    /// How many operations have failed (any [`StoreError`]) since the store was made.
    pub fn errors(&self) -> u64 {
        self.0.errors.load(Ordering::Relaxed)
    }

    fn record<T>(&self, result: &Result<T, StoreError>, reached: bool) {
        if result.is_err() {
            self.0.errors.fetch_add(1, Ordering::Relaxed);
        }
        self.0.down.store(!reached, Ordering::Relaxed);
    }
}

impl RedisStore {
    /// Connects to the server at `url` (`redis://host:port/db`), within [`DEFAULT_TIMEOUT`].
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(StoreError::unavailable)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(DEFAULT_TIMEOUT))
            .set_max_delay(MAX_RECONNECT_DELAY);
        let connecting = ConnectionManager::new_with_config(client, config);
        let conn = bounded(DEFAULT_TIMEOUT, connecting).await?;
        Ok(RedisStore::from_manager(conn))
    }

    /// A store on an existing connection manager, for connections configured by hand (TLS,
    /// credentials, sentinel).
    pub fn from_manager(conn: ConnectionManager) -> Self {
        RedisStore {
            conn,
            prefix: Arc::from(""),
            timeout: DEFAULT_TIMEOUT,
            health: RedisHealth::default(),
        }
    }

    /// Prepends `prefix` to every key, to share a Redis with other applications or keep
    /// several gateways apart.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Arc::from(prefix.into());
        self
    }

    /// Bounds every operation by `timeout`; past it the operation fails with
    /// [`StoreError::Timeout`].
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The bound on every operation.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The store's health: its last operation's outcome and its failures so far.
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), agent_gateway_core::store::StoreError> {
    /// use agent_gateway_policy::metrics::Metrics;
    /// use agent_gateway_policy::redis::RedisStore;
    ///
    /// let store = RedisStore::connect("redis://127.0.0.1:6379").await?;
    /// let (up, errors) = (store.health(), store.health());
    /// Metrics::new().watch_store("redis", move || up.is_up(), move || errors.errors());
    /// # Ok(()) }
    /// ```
    pub fn health(&self) -> RedisHealth {
        self.health.clone()
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    async fn run<T>(&self, op: impl Future<Output = RedisResult<T>>) -> Result<T, StoreError> {
        let (result, reached) = attempt(self.timeout, op).await;
        self.health.record(&result, reached);
        result
    }
}

/// Runs `op` within `timeout`, mapping Redis errors to [`StoreError::Unavailable`].
async fn bounded<T>(
    timeout: Duration,
    op: impl Future<Output = RedisResult<T>>,
) -> Result<T, StoreError> {
    attempt(timeout, op).await.0
}

/// Runs `op` within `timeout`: its result, and whether the server answered (an error reply
/// is an answer; a connection that failed and a timeout are not).
async fn attempt<T>(
    timeout: Duration,
    op: impl Future<Output = RedisResult<T>>,
) -> (Result<T, StoreError>, bool) {
    match tokio::time::timeout(timeout, op).await {
        Ok(Ok(value)) => (Ok(value), true),
        Ok(Err(err)) => {
            // Only an error reply (it has a code) comes from the server itself.
            let reached = err.code().is_some();
            (Err(StoreError::unavailable(err)), reached)
        }
        Err(_) => (Err(StoreError::Timeout), false),
    }
}

/// A duration in whole units of `unit_nanos`, rounded up, as the scripts take it.
fn ceil_units(d: Duration, unit_nanos: u128) -> u64 {
    u64::try_from(d.as_nanos().div_ceil(unit_nanos)).unwrap_or(u64::MAX)
}

/// Milliseconds for a Redis expiry: rounded up, and clamped to what Lua and Redis accept.
fn millis(d: Duration) -> u64 {
    ceil_units(d, 1_000_000).min(LUA_MAX / 1000)
}

/// A Redis `PTTL` reply as a duration: `-1` (no expiry) is `Duration::MAX`, `-2` (no key) zero.
fn pttl(ms: i64) -> Duration {
    match ms {
        -1 => Duration::MAX,
        ms => Duration::from_millis(u64::try_from(ms).unwrap_or(0)),
    }
}

/// The largest value a Redis integer holds.
const REDIS_MAX: u64 = i64::MAX as u64;

fn parse(total: &str) -> Result<u64, StoreError> {
    total
        .parse()
        .map_err(|_| StoreError::unavailable("the counter holds a value that is not a count"))
}

#[async_trait]
impl CounterStore for RedisStore {
    async fn add(&self, key: &str, delta: u64, ttl: Option<Duration>) -> Result<u64, StoreError> {
        let mut conn = self.conn.clone();
        let mut call = ADD_SCRIPT.key(self.key(key));
        call.arg(delta.min(REDIS_MAX))
            .arg(ttl.map_or(String::new(), |ttl| millis(ttl).to_string()));
        let total: String = self.run(call.invoke_async(&mut conn)).await?;
        parse(&total)
    }

    async fn incr_within(
        &self,
        key: &str,
        delta: u64,
        limit: u64,
        window: Duration,
    ) -> Result<WindowOutcome, StoreError> {
        let limit = limit.min(REDIS_MAX);
        let headroom = limit
            .checked_sub(delta)
            .map_or_else(|| "-".to_owned(), |h| h.to_string());
        let mut conn = self.conn.clone();
        let mut call = INCR_WITHIN_SCRIPT.key(self.key(key));
        call.arg(delta).arg(headroom).arg(millis(window));
        let (admitted, total, ttl): (i64, String, i64) =
            self.run(call.invoke_async(&mut conn)).await?;
        let total = parse(&total)?;
        let reset_after = pttl(ttl);
        Ok(WindowOutcome {
            admitted: admitted == 1,
            total,
            remaining: limit.saturating_sub(total),
            retry_after: match (admitted == 1, delta > limit) {
                (true, _) => Duration::ZERO,
                (false, true) => Duration::MAX,
                (false, false) => reset_after,
            },
            reset_after,
        })
    }

    async fn get(&self, key: &str) -> Result<u64, StoreError> {
        let mut conn = self.conn.clone();
        let key = self.key(key);
        let value: Option<String> = self.run(conn.get(&key)).await?;
        value.map_or(Ok(0), |v| parse(&v))
    }

    async fn take(&self, key: &str, n: u64, rate: Rate) -> Result<Take, StoreError> {
        let interval = ceil_units(rate.emission_interval(), 1_000).clamp(1, LUA_MAX);
        let limit = rate.limit().get();
        let tolerance = interval.saturating_mul(limit).min(LUA_MAX);
        let over = n > limit;
        let mut conn = self.conn.clone();
        let mut call = TAKE_SCRIPT.key(self.key(key));
        call.arg(interval)
            .arg(tolerance)
            .arg(n.min(limit))
            .arg(u8::from(over));
        let (allowed, used, new_used): (i64, u64, u64) =
            self.run(call.invoke_async(&mut conn)).await?;
        let remaining = |used: u64| tolerance.saturating_sub(used) / interval;
        Ok(if allowed == 1 {
            Take {
                allowed: true,
                remaining: remaining(new_used),
                retry_after: Duration::ZERO,
                reset_after: Duration::from_micros(new_used),
            }
        } else {
            Take {
                allowed: false,
                remaining: remaining(used),
                retry_after: if over {
                    Duration::MAX
                } else {
                    Duration::from_micros(new_used.saturating_sub(tolerance))
                },
                reset_after: Duration::from_micros(used),
            }
        })
    }

    async fn settle(&self, key: &str, delta: i64, rate: Rate) -> Result<(), StoreError> {
        let interval = ceil_units(rate.emission_interval(), 1_000).clamp(1, LUA_MAX);
        let cost = interval.saturating_mul(delta.unsigned_abs()).min(LUA_MAX);
        let sign = if delta > 0 { "+" } else { "-" };
        let mut conn = self.conn.clone();
        let mut call = SETTLE_SCRIPT.key(self.key(key));
        call.arg(sign).arg(cost);
        let _: i64 = self.run(call.invoke_async(&mut conn)).await?;
        Ok(())
    }

    async fn reset(&self, key: &str) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let key = self.key(key);
        let _: i64 = self.run(conn.del(&key)).await?;
        Ok(())
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .field("up", &self.health.is_up())
            .finish_non_exhaustive()
    }
}
