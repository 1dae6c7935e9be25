//! One small key-value interface for what can be rebuilt: cache entries with a TTL,
//! counters that expire, and distributed locks with a token and a TTL.
//!
//! Backed by Redis (via fred) when `REDIS_URL` is set, so every `didtron` process shares
//! it; in-process otherwise (one machine, zero set-up). Billing data never lives here
//! (DESIGN.md: Redis is for cache, sessions, locks and counters).
//!
//! Every key is prefixed with the store's namespace (default `didtron:`), so one Redis
//! can serve several deployments or test runs.

use fred::prelude::*;
use fred::types::{Expiration, SetOptions};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// A failure of the backing store (Redis unreachable, a script failed…).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct KvError(String);

impl From<fred::error::Error> for KvError {
    fn from(e: fred::error::Error) -> Self {
        KvError(format!("redis: {e}"))
    }
}

/// Proof of holding a lock: only the holder's token releases it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockToken(String);

/// The key-value store: Redis or in-process. Cheap to clone.
#[derive(Clone)]
pub enum Kv {
    /// In-process map; shared by clones of this value only.
    Local(Arc<LocalKv>),
    /// A Redis connection pool with a key prefix.
    Redis { pool: Pool, prefix: Arc<str> },
}

impl std::fmt::Debug for Kv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kind())
    }
}

/// In-process backing for [`Kv::Local`].
#[derive(Default)]
pub struct LocalKv {
    entries: Mutex<HashMap<String, LocalEntry>>,
    /// Entries beyond which a write first drops the expired ones; doubled past what is
    /// left, so the sweeps cost O(1) a write however many entries are live.
    prune_at: std::sync::atomic::AtomicUsize,
    /// Semaphores: holders and when each slot frees itself.
    semaphores: Mutex<HashMap<String, HashMap<String, Instant>>>,
    /// Reservations of an amount, by key.
    reservations: Mutex<HashMap<String, LocalReservations>>,
}

/// One key's reservations in-process (see [`Kv::reserve`]); times are UTC
/// milliseconds. Every operation costs the reservations that lapsed or were given back
/// in between, not all of them.
#[derive(Default)]
struct LocalReservations {
    /// In force: holder → (amount, expires at).
    open: HashMap<String, (i64, i64)>,
    /// Sum of `open`'s amounts.
    open_sum: i64,
    /// `(expires at, holder)` of `open`, soonest first; an entry whose holder renewed
    /// or gave back is skipped when it comes up.
    expiries: std::collections::BinaryHeap<std::cmp::Reverse<(i64, String)>>,
    /// Given back: `(at, holder, amount)`, oldest first.
    settled: std::collections::VecDeque<(i64, String, i64)>,
}

impl LocalReservations {
    fn prune(&mut self, now: i64) {
        while let Some(std::cmp::Reverse((until, _))) = self.expiries.peek() {
            if *until > now {
                break;
            }
            let Some(std::cmp::Reverse((until, holder))) = self.expiries.pop() else {
                break;
            };
            if self.open.get(&holder).is_some_and(|(_, u)| *u == until) {
                if let Some((amount, _)) = self.open.remove(&holder) {
                    self.open_sum -= amount;
                }
            }
        }
        while self
            .settled
            .front()
            .is_some_and(|(at, _, _)| *at < now - SETTLED_KEPT_MS)
        {
            self.settled.pop_front();
        }
    }

    /// What the others (all but `except`) hold as seen by a reader whose figures date
    /// from `as_of`.
    fn held(&self, except: &str, as_of: i64) -> Reserved {
        let mine = self.open.get(except).map(|(amount, _)| *amount);
        let mut reserved = Reserved {
            amount: self.open_sum - mine.unwrap_or(0),
            holders: (self.open.len() - usize::from(mine.is_some())) as u64,
        };
        for (_, holder, amount) in self
            .settled
            .iter()
            .rev()
            .take_while(|(at, _, _)| *at >= as_of)
        {
            if holder != except {
                reserved.amount += amount;
            }
        }
        reserved
    }

    fn hold(&mut self, holder: &str, amount: i64, until: i64) {
        if let Some((old, _)) = self.open.insert(holder.to_string(), (amount, until)) {
            self.open_sum -= old;
        }
        self.open_sum += amount;
        self.expiries
            .push(std::cmp::Reverse((until, holder.to_string())));
        // A renewal or a give-back leaves its old entry in the heap until it comes up:
        // a switch that renews the same calls for hours would grow it by one entry a
        // renewal. Rebuilt from `open` once stale entries outnumber live ones, which
        // costs O(1) a hold amortised and keeps the heap within 2 × `open` + 64.
        if self.expiries.len() > 2 * self.open.len() + 64 {
            self.expiries = self
                .open
                .iter()
                .map(|(holder, (_, until))| std::cmp::Reverse((*until, holder.clone())))
                .collect();
        }
    }

    fn settle(&mut self, holder: &str, now: i64) -> bool {
        let Some((amount, _)) = self.open.remove(holder) else {
            return false;
        };
        self.open_sum -= amount;
        self.settled.push_back((now, holder.to_string(), amount));
        true
    }
}

/// How long a given-back reservation is remembered (see [`Kv::settle`]).
const SETTLED_KEPT_MS: i64 = 60_000;

/// What [`Kv::reserve`] and [`Kv::reserved`] report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Reserved {
    /// Sum held, in the amount's unit: the reservations in force (other holders'
    /// only, for [`Kv::reserve`]) and those given back after the reader's `as_of`.
    pub amount: i64,
    /// Reservations in force (other holders' only, for [`Kv::reserve`]).
    pub holders: u64,
}

struct LocalEntry {
    value: Vec<u8>,
    expires_at: Option<Instant>,
}

impl LocalEntry {
    fn live(&self, now: Instant) -> bool {
        self.expires_at.is_none_or(|t| t > now)
    }
}

// Compare-and-delete: release a lock only if we still hold it.
const UNLOCK_SCRIPT: &str =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";
// Increment, and start the window on the first increment.
const INCR_SCRIPT: &str = "local v = redis.call('INCR', KEYS[1]) if v == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return v";

// Counting semaphore on a sorted set (member: holder, score: expiry in ms, Redis clock):
// drop expired holders; a holder already in renews; else join when under the limit.
const ACQUIRE_SCRIPT: &str = "local t = redis.call('TIME') \
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) \
local ttl = tonumber(ARGV[3]) \
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now) \
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end \
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1]) \
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end \
return 1";
// Holders not yet expired.
const HOLDERS_SCRIPT: &str = "local t = redis.call('TIME') \
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) \
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now) \
return redis.call('ZCARD', KEYS[1])";

// Reservations of an amount under one name: KEYS = open amounts (hash holder → amount),
// their expiries (sorted set, UTC ms), their sum (integer), given-back ones (sorted set
// holder → settled at, UTC ms; their amounts stay in the hash). ARGV[1] = now (UTC ms),
// ARGV[2] = the reader's as_of (UTC ms). Leaves `others` (sum held by others, the
// holder ARGV[3] excluded) and `count` (others' open reservations).
const RESERVED_PRELUDE: &str = "local now = tonumber(ARGV[1]) \
local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now) \
for _, h in ipairs(gone) do \
  local a = redis.call('HGET', KEYS[1], h) \
  if a then redis.call('DECRBY', KEYS[3], a) redis.call('HDEL', KEYS[1], h) end \
end \
if #gone > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now) end \
local old = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now - 60000) \
for _, h in ipairs(old) do redis.call('HDEL', KEYS[1], h) end \
if #old > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - 60000) end \
local others = tonumber(redis.call('GET', KEYS[3]) or '0') \
local count = redis.call('ZCARD', KEYS[2]) \
local mine = nil \
if ARGV[3] ~= '' and redis.call('ZSCORE', KEYS[2], ARGV[3]) then \
  mine = redis.call('HGET', KEYS[1], ARGV[3]) or '0' \
  others = others - tonumber(mine) count = count - 1 \
end \
for _, h in ipairs(redis.call('ZRANGEBYSCORE', KEYS[4], ARGV[2], '+inf')) do \
  if h ~= ARGV[3] then others = others + tonumber(redis.call('HGET', KEYS[1], h) or '0') end \
end ";
// ARGV[4] = amount, ARGV[5] = limit, ARGV[6] = ttl (ms): reserve when it fits; then,
// if KEYS[5] is given, set it to ARGV[7] for the same ttl.
const RESERVE_TAIL: &str = "if others + tonumber(ARGV[4]) > tonumber(ARGV[5]) then return {0, others, count} end \
redis.call('ZREM', KEYS[4], ARGV[3]) \
redis.call('HSET', KEYS[1], ARGV[3], ARGV[4]) \
redis.call('INCRBY', KEYS[3], ARGV[4]) \
if mine then redis.call('DECRBY', KEYS[3], mine) end \
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[6]), ARGV[3]) \
local keep = tonumber(ARGV[6]) + 60000 \
for i = 1, 4 do if redis.call('PTTL', KEYS[i]) < keep then redis.call('PEXPIRE', KEYS[i], keep) end end \
if KEYS[5] then redis.call('SET', KEYS[5], ARGV[7], 'PX', ARGV[6]) end \
return {1, others, count}";
// Only read.
const RESERVED_TAIL: &str = "return {0, others, count}";
// Gives back ARGV[2..]'s open reservations at ARGV[1] (UTC ms); returns how many.
const SETTLE_SCRIPT: &str = "local n = 0 \
for i = 2, #ARGV do \
  local h = ARGV[i] \
  if redis.call('ZREM', KEYS[2], h) == 1 then \
    local a = redis.call('HGET', KEYS[1], h) \
    if a then redis.call('DECRBY', KEYS[3], a) end \
    redis.call('ZADD', KEYS[4], tonumber(ARGV[1]), h) \
    n = n + 1 \
  end \
end \
if n > 0 and redis.call('PTTL', KEYS[4]) < 60000 then redis.call('PEXPIRE', KEYS[4], 60000) end \
return n";

static UNLOCK: Lua = Lua::new(|| UNLOCK_SCRIPT.to_owned());
static INCR: Lua = Lua::new(|| INCR_SCRIPT.to_owned());
static ACQUIRE: Lua = Lua::new(|| ACQUIRE_SCRIPT.to_owned());
static HOLDERS: Lua = Lua::new(|| HOLDERS_SCRIPT.to_owned());
static RESERVE: Lua = Lua::new(|| format!("{RESERVED_PRELUDE}{RESERVE_TAIL}"));
static RESERVED: Lua = Lua::new(|| format!("{RESERVED_PRELUDE}{RESERVED_TAIL}"));
static SETTLE: Lua = Lua::new(|| SETTLE_SCRIPT.to_owned());

/// A Lua script Redis runs by its SHA-1 digest (`EVALSHA`): the digest is asked of
/// Redis once (`SCRIPT LOAD`, which also caches the script there) and kept for the
/// process; when a Redis answers `NOSCRIPT` (restarted, another server, or its scripts
/// flushed) it is given the script again and asked once more. `EVAL` would send the
/// whole text (the reservation script is about 1.6 KB) and have Redis hash it on every
/// routed call.
struct Lua {
    text: std::sync::LazyLock<String>,
    sha: std::sync::OnceLock<String>,
}

impl Lua {
    const fn new(text: fn() -> String) -> Lua {
        Lua {
            text: std::sync::LazyLock::new(text),
            sha: std::sync::OnceLock::new(),
        }
    }

    /// Runs the script on `pool` with `keys` and `args`.
    ///
    /// Errors: Redis's, or the script's.
    async fn run<R, V>(&self, pool: &Pool, keys: Vec<String>, args: V) -> Result<R, KvError>
    where
        R: FromValue,
        V: TryInto<fred::types::MultipleValues> + Clone + Send,
        V::Error: Into<fred::error::Error> + Send,
    {
        let sha = match self.sha.get() {
            Some(sha) => sha.clone(),
            None => {
                let sha: String = pool.script_load(self.text.as_str()).await?;
                self.sha.get_or_init(|| sha).clone()
            }
        };
        match pool.evalsha(sha.as_str(), keys.clone(), args.clone()).await {
            Err(e) if e.details().starts_with("NOSCRIPT") => {
                let _: String = pool.script_load(self.text.as_str()).await?;
                Ok(pool.evalsha(sha.as_str(), keys, args).await?)
            }
            result => Ok(result?),
        }
    }
}

fn utc_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX).max(1)
}

impl Kv {
    /// A fresh in-process store.
    pub fn local() -> Kv {
        Kv::Local(Arc::new(LocalKv::default()))
    }

    /// Connects a pool of `size` connections to `url` (`redis://host:port/db`) and checks
    /// it answers. Keys are prefixed with `prefix` (e.g. `didtron:`).
    ///
    /// Errors: the URL is malformed or Redis does not answer within 5 s.
    pub async fn connect_redis(url: &str, prefix: &str, size: usize) -> Result<Kv, KvError> {
        let config = Config::from_url(url)?;
        let pool = Builder::from_config(config)
            .with_connection_config(|c| {
                c.connection_timeout = Duration::from_secs(5);
                c.internal_command_timeout = Duration::from_secs(5);
            })
            // A Redis that went away fails commands within 2 s instead of queueing them
            // until it is back (pages and System Status keep answering).
            .with_performance_config(|p| p.default_command_timeout = Duration::from_secs(2))
            .set_policy(ReconnectPolicy::new_exponential(0, 100, 5_000, 2))
            .build_pool(size.max(1))?;
        tokio::time::timeout(Duration::from_secs(5), pool.init())
            .await
            .map_err(|_| KvError(format!("redis at {url} did not answer within 5 s")))??;
        Ok(Kv::Redis {
            pool,
            prefix: Arc::from(prefix),
        })
    }

    /// `"redis"` or `"in-process"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Kv::Local(_) => "in-process",
            Kv::Redis { .. } => "redis",
        }
    }

    /// The Redis pool, when this store is Redis (sessions share it).
    pub fn redis_pool(&self) -> Option<&Pool> {
        match self {
            Kv::Redis { pool, .. } => Some(pool),
            Kv::Local(_) => None,
        }
    }

    fn key(&self, key: &str) -> String {
        match self {
            Kv::Redis { prefix, .. } => format!("{prefix}{key}"),
            Kv::Local(_) => key.to_string(),
        }
    }

    /// The value under `key`, if set and not expired.
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        match self {
            Kv::Local(local) => {
                let now = Instant::now();
                let entries = local.entries.lock().expect("kv lock");
                Ok(entries
                    .get(key)
                    .filter(|e| e.live(now))
                    .map(|e| e.value.clone()))
            }
            Kv::Redis { pool, .. } => Ok(pool.get(self.key(key)).await?),
        }
    }

    /// The values under `keys`, in order (one round trip: `MGET`).
    pub async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<Vec<u8>>>, KvError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        match self {
            Kv::Local(local) => {
                let now = Instant::now();
                let entries = local.entries.lock().expect("kv lock");
                Ok(keys
                    .iter()
                    .map(|k| {
                        entries
                            .get(k)
                            .filter(|e| e.live(now))
                            .map(|e| e.value.clone())
                    })
                    .collect())
            }
            Kv::Redis { pool, .. } => {
                let keys: Vec<String> = keys.iter().map(|k| self.key(k)).collect();
                Ok(pool.mget(keys).await?)
            }
        }
    }

    /// Removes `keys` (one round trip); returns how many existed.
    pub async fn delete_many(&self, keys: &[String]) -> Result<u64, KvError> {
        if keys.is_empty() {
            return Ok(0);
        }
        match self {
            Kv::Local(local) => {
                let now = Instant::now();
                let mut entries = local.entries.lock().expect("kv lock");
                Ok(keys
                    .iter()
                    .filter(|k| entries.remove(*k).is_some_and(|e| e.live(now)))
                    .count() as u64)
            }
            Kv::Redis { pool, .. } => {
                let keys: Vec<String> = keys.iter().map(|k| self.key(k)).collect();
                Ok(pool.del::<u64, _>(keys).await?)
            }
        }
    }

    /// Sets `key` to `value`, expiring after `ttl` (`None`: never).
    pub async fn set(&self, key: &str, value: &[u8], ttl: Option<Duration>) -> Result<(), KvError> {
        match self {
            Kv::Local(local) => {
                let mut entries = local.entries.lock().expect("kv lock");
                let now = Instant::now();
                // Read and written under the entries' lock: relaxed is enough.
                use std::sync::atomic::Ordering::Relaxed;
                if entries.len() > local.prune_at.load(Relaxed).max(10_000) {
                    entries.retain(|_, e| e.live(now));
                    local.prune_at.store(entries.len() * 2, Relaxed);
                }
                entries.insert(
                    key.to_string(),
                    LocalEntry {
                        value: value.to_vec(),
                        expires_at: ttl.map(|t| now + t),
                    },
                );
                Ok(())
            }
            Kv::Redis { pool, .. } => {
                let expire = ttl.map(|t| Expiration::PX(millis(t)));
                pool.set::<(), _, _>(self.key(key), value, expire, None, false)
                    .await?;
                Ok(())
            }
        }
    }

    /// Removes `key`; true when it existed.
    pub async fn delete(&self, key: &str) -> Result<bool, KvError> {
        match self {
            Kv::Local(local) => {
                let now = Instant::now();
                let mut entries = local.entries.lock().expect("kv lock");
                Ok(entries.remove(key).is_some_and(|e| e.live(now)))
            }
            Kv::Redis { pool, .. } => Ok(pool.del::<i64, _>(self.key(key)).await? > 0),
        }
    }

    /// Adds 1 to the counter `key` and returns the new value. The first increment starts
    /// a fixed window: the counter disappears `window` later.
    pub async fn increment(&self, key: &str, window: Duration) -> Result<i64, KvError> {
        match self {
            Kv::Local(local) => {
                let now = Instant::now();
                let mut entries = local.entries.lock().expect("kv lock");
                let entry = entries
                    .entry(key.to_string())
                    .and_modify(|e| {
                        if !e.live(now) {
                            e.value = b"0".to_vec();
                            e.expires_at = Some(now + window);
                        }
                    })
                    .or_insert_with(|| LocalEntry {
                        value: b"0".to_vec(),
                        expires_at: Some(now + window),
                    });
                let next = parse_counter(&entry.value) + 1;
                entry.value = next.to_string().into_bytes();
                Ok(next)
            }
            Kv::Redis { pool, .. } => {
                INCR.run(pool, vec![self.key(key)], vec![millis(window)])
                    .await
            }
        }
    }

    /// The counter's value (0 when unset or expired).
    pub async fn counter(&self, key: &str) -> Result<i64, KvError> {
        Ok(self.get(key).await?.map(|v| parse_counter(&v)).unwrap_or(0))
    }

    /// Time left before `key` expires; `None` when unset or without expiry.
    pub async fn time_to_live(&self, key: &str) -> Result<Option<Duration>, KvError> {
        match self {
            Kv::Local(local) => {
                let now = Instant::now();
                let entries = local.entries.lock().expect("kv lock");
                Ok(entries
                    .get(key)
                    .filter(|e| e.live(now))
                    .and_then(|e| e.expires_at)
                    .map(|t| t.saturating_duration_since(now)))
            }
            Kv::Redis { pool, .. } => {
                let ms: i64 = pool.pttl(self.key(key)).await?;
                Ok((ms > 0).then(|| Duration::from_millis(ms as u64)))
            }
        }
    }

    /// Takes the lock `key` for `ttl` if nobody holds it. `None` when it is held.
    /// The lock frees itself after `ttl` if its holder dies.
    pub async fn try_lock(&self, key: &str, ttl: Duration) -> Result<Option<LockToken>, KvError> {
        let token = uuid::Uuid::new_v4().to_string();
        match self {
            Kv::Local(local) => {
                let now = Instant::now();
                let mut entries = local.entries.lock().expect("kv lock");
                if entries.get(key).is_some_and(|e| e.live(now)) {
                    return Ok(None);
                }
                entries.insert(
                    key.to_string(),
                    LocalEntry {
                        value: token.clone().into_bytes(),
                        expires_at: Some(now + ttl),
                    },
                );
                Ok(Some(LockToken(token)))
            }
            Kv::Redis { pool, .. } => {
                let set: Option<String> = pool
                    .set(
                        self.key(key),
                        token.as_str(),
                        Some(Expiration::PX(millis(ttl))),
                        Some(SetOptions::NX),
                        false,
                    )
                    .await?;
                Ok(set.map(|_| LockToken(token)))
            }
        }
    }

    /// Releases the lock if `token` still holds it; false when it had expired or was
    /// taken by someone else since.
    pub async fn unlock(&self, key: &str, token: &LockToken) -> Result<bool, KvError> {
        match self {
            Kv::Local(local) => {
                let now = Instant::now();
                let mut entries = local.entries.lock().expect("kv lock");
                let held = entries
                    .get(key)
                    .is_some_and(|e| e.live(now) && e.value == token.0.as_bytes());
                if held {
                    entries.remove(key);
                }
                Ok(held)
            }
            Kv::Redis { pool, .. } => Ok(UNLOCK
                .run::<i64, _>(pool, vec![self.key(key)], vec![token.0.clone()])
                .await?
                == 1),
        }
    }

    /// Takes a slot of the counting semaphore `key` (at most `limit` holders at once)
    /// for `holder`, for `ttl`: true when taken, or already held by `holder` (its slot is
    /// renewed); false when full. A slot frees itself after `ttl` if never released.
    pub async fn acquire(
        &self,
        key: &str,
        holder: &str,
        limit: u32,
        ttl: Duration,
    ) -> Result<bool, KvError> {
        match self {
            Kv::Local(local) => {
                let now = Instant::now();
                let mut all = local.semaphores.lock().expect("kv lock");
                let holders = all.entry(key.to_string()).or_default();
                holders.retain(|_, until| *until > now);
                if !holders.contains_key(holder) && holders.len() >= limit as usize {
                    return Ok(false);
                }
                holders.insert(holder.to_string(), now + ttl);
                Ok(true)
            }
            Kv::Redis { pool, .. } => Ok(ACQUIRE
                .run::<i64, _>(
                    pool,
                    vec![self.key(key)],
                    vec![
                        holder.to_string(),
                        limit.to_string(),
                        millis(ttl).to_string(),
                    ],
                )
                .await?
                == 1),
        }
    }

    /// Gives back the slots of `holders` in semaphore `key` (one command for them all);
    /// returns how many were held.
    pub async fn release(&self, key: &str, holders: &[String]) -> Result<u64, KvError> {
        if holders.is_empty() {
            return Ok(0);
        }
        match self {
            Kv::Local(local) => {
                let mut all = local.semaphores.lock().expect("kv lock");
                let Some(held) = all.get_mut(key) else {
                    return Ok(0);
                };
                Ok(holders.iter().filter(|h| held.remove(*h).is_some()).count() as u64)
            }
            Kv::Redis { pool, .. } => Ok(pool.zrem(self.key(key), holders.to_vec()).await?),
        }
    }

    /// Holders of semaphore `key` now.
    pub async fn holders(&self, key: &str) -> Result<u64, KvError> {
        match self {
            Kv::Local(local) => {
                let now = Instant::now();
                let all = local.semaphores.lock().expect("kv lock");
                Ok(all
                    .get(key)
                    .map_or(0, |h| h.values().filter(|until| **until > now).count())
                    as u64)
            }
            Kv::Redis { pool, .. } => {
                HOLDERS
                    .run(pool, vec![self.key(key)], Vec::<String>::new())
                    .await
            }
        }
    }

    /// The four keys of the reservations named `key`.
    fn reservation_keys(&self, key: &str) -> Vec<String> {
        ["open", "until", "sum", "settled"]
            .iter()
            .map(|part| self.key(&format!("{key}:{part}")))
            .collect()
    }

    /// Reserves `amount` under `key` for `holder` when the sum reserved stays within
    /// `limit`; the reservation lapses after `ttl` unless given back earlier
    /// ([`Kv::settle`]). A holder that already has one replaces it. Atomic: two calls at
    /// once never both fit into the same room (one Lua script on Redis, shared by every
    /// instance).
    ///
    /// `as_of` (UTC) is when the caller's `limit` was read: reservations given back at
    /// or after it still count, since the caller's figures may not show what they
    /// became (the payment for the call).
    /// When taken, `note` (a key and its value), if any, is set for the same `ttl` in
    /// the same round trip. Returns whether it was taken and what the *others* hold
    /// ([`Reserved`]).
    ///
    /// Errors: the store's.
    #[allow(clippy::too_many_arguments)]
    pub async fn reserve(
        &self,
        key: &str,
        holder: &str,
        amount: i64,
        limit: i64,
        ttl: Duration,
        as_of: chrono::DateTime<chrono::Utc>,
        note: Option<(&str, &[u8])>,
    ) -> Result<(bool, Reserved), KvError> {
        let now = utc_millis();
        let as_of = as_of.timestamp_millis();
        match self {
            Kv::Local(local) => {
                // The lock is let go before the note is written (no guard across await).
                let (taken, others) = {
                    let mut all = local.reservations.lock().expect("kv lock");
                    let book = all.entry(key.to_string()).or_default();
                    book.prune(now);
                    let others = book.held(holder, as_of);
                    let taken = others.amount.saturating_add(amount) <= limit;
                    if taken {
                        book.hold(holder, amount, now.saturating_add(millis(ttl)));
                    }
                    (taken, others)
                };
                if let (true, Some((key, value))) = (taken, note) {
                    self.set(key, value, Some(ttl)).await?;
                }
                Ok((taken, others))
            }
            Kv::Redis { pool, .. } => {
                let mut keys = self.reservation_keys(key);
                let mut args: Vec<fred::types::Value> = vec![
                    now.into(),
                    as_of.into(),
                    holder.into(),
                    amount.into(),
                    limit.into(),
                    millis(ttl).into(),
                ];
                if let Some((note_key, value)) = note {
                    keys.push(self.key(note_key));
                    args.push(fred::types::Value::Bytes(value.to_vec().into()));
                }
                let reply: Vec<i64> = RESERVE.run(pool, keys, args).await?;
                let (taken, reserved) = from_reply(&reply)?;
                Ok((taken, reserved))
            }
        }
    }

    /// What is reserved under `key` for a reader whose figures date from `as_of`
    /// (see [`Kv::reserve`]); nothing is taken.
    ///
    /// Errors: the store's.
    pub async fn reserved(
        &self,
        key: &str,
        as_of: chrono::DateTime<chrono::Utc>,
    ) -> Result<Reserved, KvError> {
        let now = utc_millis();
        let as_of = as_of.timestamp_millis();
        match self {
            Kv::Local(local) => {
                let mut all = local.reservations.lock().expect("kv lock");
                Ok(all.get_mut(key).map_or_else(Reserved::default, |book| {
                    book.prune(now);
                    book.held("", as_of)
                }))
            }
            Kv::Redis { pool, .. } => {
                let reply: Vec<i64> = RESERVED
                    .run(
                        pool,
                        self.reservation_keys(key),
                        vec![now.to_string(), as_of.to_string(), String::new()],
                    )
                    .await?;
                Ok(from_reply(&reply)?.1)
            }
        }
    }

    /// Gives back the reservations of `holders` under `key` (what they reserved for has
    /// been paid for): they stop counting for any reader whose figures were read after
    /// now, and are forgotten a minute later. Returns how many were in force.
    ///
    /// Errors: the store's.
    pub async fn settle(&self, key: &str, holders: &[String]) -> Result<u64, KvError> {
        if holders.is_empty() {
            return Ok(0);
        }
        let now = utc_millis();
        match self {
            Kv::Local(local) => {
                let mut all = local.reservations.lock().expect("kv lock");
                let Some(book) = all.get_mut(key) else {
                    return Ok(0);
                };
                book.prune(now);
                Ok(holders.iter().filter(|h| book.settle(h, now)).count() as u64)
            }
            Kv::Redis { pool, .. } => {
                let mut args = Vec::with_capacity(holders.len() + 1);
                args.push(now.to_string());
                args.extend(holders.iter().cloned());
                SETTLE.run(pool, self.reservation_keys(key), args).await
            }
        }
    }

    /// Round-trip time to the store (readiness checks).
    pub async fn ping(&self) -> Result<Duration, KvError> {
        let start = std::time::Instant::now();
        if let Kv::Redis { pool, .. } = self {
            pool.ping::<()>(None).await?;
        }
        Ok(start.elapsed())
    }

    /// Redis's memory in use, its `maxmemory` (0: none) and the keys of its database
    /// (`INFO memory`, `DBSIZE`); `None` in-process.
    ///
    /// Errors: Redis's.
    pub async fn redis_info(&self) -> Result<Option<(i64, i64, i64)>, KvError> {
        let Kv::Redis { pool, .. } = self else {
            return Ok(None);
        };
        let info: String = pool
            .custom(fred::cmd!("INFO"), vec!["memory".to_owned()])
            .await?;
        let field = |name: &str| {
            info.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
                .and_then(|v| v.trim().parse::<i64>().ok())
                .unwrap_or(0)
        };
        let keys: i64 = pool
            .custom(fred::cmd!("DBSIZE"), Vec::<String>::new())
            .await?;
        Ok(Some((field("used_memory"), field("maxmemory"), keys)))
    }

    /// Closes Redis connections (no-op in-process).
    pub async fn close(&self) {
        if let Kv::Redis { pool, .. } = self {
            let _ = pool.quit().await;
        }
    }
}

/// A reservation script's `{taken, amount, holders}`.
fn from_reply(reply: &[i64]) -> Result<(bool, Reserved), KvError> {
    match reply {
        [taken, amount, holders] => Ok((
            *taken == 1,
            Reserved {
                amount: *amount,
                holders: u64::try_from(*holders).unwrap_or(0),
            },
        )),
        other => Err(KvError(format!("reservation script answered {other:?}"))),
    }
}

fn parse_counter(bytes: &[u8]) -> i64 {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A call the switch re-routes under the same call id renews its hold; hours of
    /// renewals must not grow the in-process store (each renewal used to leave an entry
    /// in the expiry heap until the longest call + 60 s had passed).
    #[test]
    fn renewing_the_same_holders_keeps_the_expiry_heap_bounded() {
        let mut reservations = LocalReservations::default();
        let hour = 3_600_000;
        for round in 0..10_000i64 {
            for call in 0..10 {
                reservations.hold(&format!("call-{call}"), 100, round + hour);
            }
            if round % 7 == 0 {
                reservations.settle("call-3", round);
            }
        }
        assert!(
            reservations.expiries.len() <= 2 * reservations.open.len() + 64 + 1,
            "expiry heap holds {} entries for {} open reservations",
            reservations.expiries.len(),
            reservations.open.len()
        );
        // Nothing was lost: every open reservation still lapses at its time.
        assert_eq!(reservations.open.len(), 10);
        assert_eq!(reservations.open_sum, 1_000);
        reservations.prune(10_000 + hour);
        assert!(reservations.open.is_empty());
        assert_eq!(reservations.open_sum, 0);
    }
}
