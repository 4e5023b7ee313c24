//! The Lua scripts, one per counter-store operation that reads before it writes.
//!
//! Redis runs a script atomically, so each is a whole decision, exactly like one call under
//! [`MemoryStore`](agent_gateway_core::store::MemoryStore)'s lock. Time comes from the server's
//! `TIME`, never from the client, so that replicas whose clocks disagree still agree on every
//! limit; Redis 7 replicates a script's effects, not the script, so reading `TIME` is allowed.
//!
//! Lua 5.1 numbers are doubles, exact for integers up to 2^53. The GCRA scripts count
//! microseconds since the Unix epoch (about 2^51 today), and every argument they get is
//! clamped to 2^53 - 1 by the caller. Counters never pass through a Lua number: they are
//! changed with `INCRBY` (exact 64-bit arithmetic on the server), read back as strings, and
//! compared as decimal strings.

use std::sync::LazyLock;

use redis::Script;

/// The largest integer a Lua number holds exactly: 2^53 - 1.
pub(super) const LUA_MAX: u64 = (1 << 53) - 1;

/// The server's time in microseconds, as `now`.
const NOW: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local max = 9007199254740991
local function int(x) return string.format('%.0f', x) end
local function store_tat(key, tat)
  redis.call('SET', key, int(tat), 'PXAT', int(math.ceil(tat / 1000)))
end
";

/// GCRA take. ARGV: interval (µs), tolerance (µs), n, `1` if n exceeds the limit.
/// Returns `{allowed, used, new_used}` in µs; the caller derives the rest of [`Take`].
///
/// [`Take`]: agent_gateway_core::store::Take
const TAKE: &str = r"
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local n = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if tat < now then tat = now end
local used = tat - now
if ARGV[4] == '1' then return {0, used, 0} end
local new_tat = math.min(tat + n * interval, max)
local new_used = new_tat - now
if new_used > tolerance then return {0, used, new_used} end
if n > 0 then store_tat(KEYS[1], new_tat) end
return {1, used, new_used}
";

/// GCRA settle. ARGV: `+` to charge or `-` to refund, and the amount in µs.
const SETTLE: &str = r"
local cost = tonumber(ARGV[2])
local stored = redis.call('GET', KEYS[1])
local tat = stored and tonumber(stored)
if tat and tat <= now then tat = nil end
local new
if ARGV[1] == '+' then
  new = math.min((tat or now) + cost, max)
else
  if not tat then return 0 end
  new = math.max(tat - cost, now)
end
if new > now then
  store_tat(KEYS[1], new)
elseif stored then
  redis.call('DEL', KEYS[1])
end
return 0
";

/// Accumulator add. ARGV: delta, then the ttl in ms, or the empty string for none.
/// Returns the new total as a decimal string.
const ADD: &str = r"
local fresh = redis.call('EXISTS', KEYS[1]) == 0
if fresh and ARGV[2] == '0' then return ARGV[1] end
local r = redis.pcall('INCRBY', KEYS[1], ARGV[1])
if type(r) == 'table' and r.err then
  if not string.find(r.err, 'overflow') then return r end
  redis.call('SET', KEYS[1], '9223372036854775807', 'KEEPTTL')
end
if fresh and ARGV[2] ~= '' then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return redis.call('GET', KEYS[1])
";

/// Fixed window with a limit. ARGV: delta, `limit - delta` (or `-` when delta exceeds the
/// limit), the window in ms. Returns `{admitted, total, pttl}` with the total as a string.
const INCR_WITHIN: &str = r"
local function le(a, b)
  if #a ~= #b then return #a < #b end
  for i = 1, #a do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return true
end
local current = redis.call('GET', KEYS[1])
local total = current or '0'
if ARGV[2] ~= '-' and le(total, ARGV[2]) then
  if current then
    redis.call('INCRBY', KEYS[1], ARGV[1])
  elseif ARGV[3] ~= '0' then
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
  else
    return {1, ARGV[1], 0}
  end
  return {1, redis.call('GET', KEYS[1]), redis.call('PTTL', KEYS[1])}
end
if current then return {0, total, redis.call('PTTL', KEYS[1])} end
return {0, total, -2}
";

fn script(body: &str, needs_time: bool) -> Script {
    if needs_time {
        Script::new(&format!("{NOW}{body}"))
    } else {
        Script::new(body)
    }
}

pub(super) static TAKE_SCRIPT: LazyLock<Script> = LazyLock::new(|| script(TAKE, true));
pub(super) static SETTLE_SCRIPT: LazyLock<Script> = LazyLock::new(|| script(SETTLE, true));
pub(super) static ADD_SCRIPT: LazyLock<Script> = LazyLock::new(|| script(ADD, false));
pub(super) static INCR_WITHIN_SCRIPT: LazyLock<Script> =
    LazyLock::new(|| script(INCR_WITHIN, false));
