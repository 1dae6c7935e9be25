//! The in-process side of System Status: every instance counts and times what it serves
//! (pages, server functions, API endpoints, database statements), counts cache hits and
//! sign-ins, keeps its recent 5xx answers and slow statements, and [`Recorder::flush`]es
//! all of it to `status_samples` (and `status_errors`, `status_slow_queries`) once a
//! collector period. The collector merges every instance's samples, so the figures hold
//! however many instances serve.
//!
//! Latencies go into a DDSketch (`sketches-ddsketch`, 2 % relative accuracy; Masson,
//! Rim & Lee, "DDSketch: a fast and fully-mergeable quantile sketch", VLDB 2019): sketches
//! of several instances and flushes merge into one whose quantiles are as accurate as
//! each part's.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::NotSet, DatabaseConnection, EntityTrait, Set};
use sketches_ddsketch::{Config, DDSketch};

use crate::entity::{status_error, status_sample, status_slow_query};
use crate::ServiceResult;

/// Statements slower than this are kept as slow queries (with their plan on PostgreSQL).
pub const SLOW_QUERY: Duration = Duration::from_millis(500);
/// Distinct operation names kept per kind between flushes; more go under `other`.
const MAX_NAMES_PER_KIND: usize = 500;
/// Recent errors kept between flushes (the rest are only counted).
const MAX_ERRORS: usize = 200;
/// Slow statements kept between flushes.
const MAX_SLOW: usize = 50;
/// Longest statement text kept.
const MAX_STATEMENT: usize = 4000;

/// The sketch configuration every sample uses (sketches merge only with the same one):
/// 2 % relative accuracy, at most 1024 bins, values in milliseconds from 1 µs.
pub fn sketch_config() -> Config {
    Config::new(0.02, 1024, 0.001)
}

/// The recorder of this process's `didtron serve` instance, once installed.
static INSTALLED: OnceLock<Recorder> = OnceLock::new();

/// Times `call` as operation `kind`/`name` in this process's recorder (see
/// [`Recorder::install`]): one count, an error when it returns `Err`, its latency. The
/// one wrapper for the calls DIDTron makes to other systems (kind `integration`: a CDR
/// pull source's API, the SMTP relay), as the HTTP middleware is for the requests it
/// serves. Without an installed recorder (tools, tests) it only runs `call`.
pub async fn observe<T, E>(
    kind: &str,
    name: &str,
    call: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    let started = Instant::now();
    let result = call.await;
    if let Some(recorder) = INSTALLED.get() {
        recorder.record(kind, name, started.elapsed(), result.is_ok(), None);
    }
    result
}

/// One operation's figures since the last flush.
#[derive(Clone)]
pub(crate) struct Accumulated {
    pub count: i64,
    pub errors: i64,
    pub counters: BTreeMap<String, i64>,
    pub sketch: Option<DDSketch>,
    pub last_ok_at: Option<DateTime<Utc>>,
    pub last_error_at: Option<DateTime<Utc>>,
}

impl Accumulated {
    pub(crate) fn empty() -> Self {
        Accumulated {
            count: 0,
            errors: 0,
            counters: BTreeMap::new(),
            sketch: None,
            last_ok_at: None,
            last_error_at: None,
        }
    }

    pub(crate) fn absorb(&mut self, other: Accumulated) {
        self.count += other.count;
        self.errors += other.errors;
        for (k, v) in other.counters {
            *self.counters.entry(k).or_default() += v;
        }
        match (&mut self.sketch, other.sketch) {
            (Some(mine), Some(theirs)) => {
                let _ = mine.merge(&theirs);
            }
            (mine @ None, theirs) => *mine = theirs,
            _ => {}
        }
        self.last_ok_at = self.last_ok_at.max(other.last_ok_at);
        self.last_error_at = self.last_error_at.max(other.last_error_at);
    }
}

#[derive(Clone, Debug)]
struct ErrorEvent {
    at: DateTime<Utc>,
    kind: String,
    name: String,
    status: u16,
    correlation_id: String,
}

#[derive(Clone, Debug)]
struct SlowEvent {
    at: DateTime<Utc>,
    elapsed: Duration,
    statement: String,
}

#[derive(Default)]
struct State {
    ops: HashMap<String, HashMap<String, Accumulated>>,
    errors: Vec<ErrorEvent>,
    slow: Vec<SlowEvent>,
}

/// An instance's recorder. Cheap to clone (clones share the figures).
#[derive(Clone)]
pub struct Recorder {
    instance: Arc<str>,
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("instance", &self.instance)
            .finish()
    }
}

impl Default for Recorder {
    /// A recorder of no registered instance (tools and tests that never flush).
    fn default() -> Self {
        Recorder::new("detached")
    }
}

impl Recorder {
    /// A recorder for instance `instance` (its `status_instances` id).
    pub fn new(instance: &str) -> Recorder {
        Recorder {
            instance: Arc::from(instance),
            state: Arc::default(),
        }
    }

    /// Makes this the process's recorder, the one [`observe`] records into; the first
    /// call wins (a process runs one `didtron serve` instance). Returns whether it did.
    pub fn install(&self) -> bool {
        INSTALLED.set(self.clone()).is_ok()
    }

    /// The instance's id.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    fn with<R>(&self, kind: &str, name: &str, f: impl FnOnce(&mut Accumulated) -> R) -> R {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if !state.ops.contains_key(kind) {
            state.ops.insert(kind.to_owned(), HashMap::new());
        }
        let names = state.ops.get_mut(kind).expect("inserted");
        if !names.contains_key(name) {
            let name = if names.len() >= MAX_NAMES_PER_KIND {
                "other"
            } else {
                name
            };
            let acc = names
                .entry(name.to_owned())
                .or_insert_with(Accumulated::empty);
            return f(acc);
        }
        f(names.get_mut(name).expect("present"))
    }

    /// Records one timed run of `kind`/`name` that took `elapsed` and succeeded when
    /// `ok`; `counter` (e.g. the HTTP status `"200"`) is counted too when given.
    pub fn record(
        &self,
        kind: &str,
        name: &str,
        elapsed: Duration,
        ok: bool,
        counter: Option<&str>,
    ) {
        let now = Utc::now();
        self.with(kind, name, |acc| {
            acc.count += 1;
            if ok {
                acc.last_ok_at = Some(now);
            } else {
                acc.errors += 1;
                acc.last_error_at = Some(now);
            }
            if let Some(c) = counter {
                match acc.counters.get_mut(c) {
                    Some(n) => *n += 1,
                    None => {
                        acc.counters.insert(c.to_owned(), 1);
                    }
                }
            }
            acc.sketch
                .get_or_insert_with(|| DDSketch::new(sketch_config()))
                .add(elapsed.as_secs_f64() * 1000.0);
        });
    }

    /// Adds `n` to counter `counter` of `kind`/`name` (untimed: cache hits, sign-ins).
    pub fn count(&self, kind: &str, name: &str, counter: &str, n: i64) {
        if n == 0 {
            return;
        }
        self.with(kind, name, |acc| {
            *acc.counters.entry(counter.to_owned()).or_default() += n;
        });
    }

    /// Keeps a failed answer (status ≥ 500) of `kind`/`name` with its correlation id
    /// (empty when the handler gave none).
    pub fn error(&self, kind: &str, name: &str, status: u16, correlation_id: &str) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.errors.len() < MAX_ERRORS {
            state.errors.push(ErrorEvent {
                at: Utc::now(),
                kind: kind.to_owned(),
                name: name.to_owned(),
                status,
                correlation_id: correlation_id.chars().take(64).collect(),
            });
        }
    }

    /// Records one database statement (SeaORM's metric callback): counted and timed as
    /// `db`/`statements`, and kept with its text when slower than [`SLOW_QUERY`]. The text
    /// has placeholders, never values.
    pub fn statement(&self, sql: &str, elapsed: Duration, failed: bool) {
        self.record("db", "statements", elapsed, !failed, None);
        if elapsed >= SLOW_QUERY {
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            if state.slow.len() < MAX_SLOW {
                state.slow.push(SlowEvent {
                    at: Utc::now(),
                    elapsed,
                    statement: sql.chars().take(MAX_STATEMENT).collect(),
                });
            }
        }
    }

    /// The callback to give `DatabaseConnection::set_metric_callback`.
    pub fn statement_callback(&self) -> impl Fn(&sea_orm::metric::Info<'_>) + Send + Sync {
        let recorder = self.clone();
        move |info: &sea_orm::metric::Info<'_>| {
            recorder.statement(&info.statement.sql, info.elapsed, info.failed)
        }
    }

    fn take(&self) -> State {
        std::mem::take(&mut *self.state.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn put_back(&self, taken: State) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        for (kind, names) in taken.ops {
            let mine = state.ops.entry(kind).or_default();
            for (name, acc) in names {
                match mine.get_mut(&name) {
                    Some(m) => m.absorb(acc),
                    None => {
                        mine.insert(name, acc);
                    }
                }
            }
        }
        let room = MAX_ERRORS.saturating_sub(state.errors.len());
        state.errors.extend(taken.errors.into_iter().take(room));
        let room = MAX_SLOW.saturating_sub(state.slow.len());
        state.slow.extend(taken.slow.into_iter().take(room));
    }

    /// Writes what was recorded since the last flush, in one transaction, and starts
    /// over. When the database fails, the figures are kept for the next flush (nothing
    /// is lost while the database is away, within the caps above). `plans` explains
    /// each slow statement on PostgreSQL first (see [`super::explain`]).
    ///
    /// Returns the samples written. Errors: the database's.
    pub async fn flush(&self, db: &DatabaseConnection) -> ServiceResult<usize> {
        let taken = self.take();
        if taken.ops.is_empty() && taken.errors.is_empty() && taken.slow.is_empty() {
            return Ok(0);
        }
        let mut plans = Vec::with_capacity(taken.slow.len());
        for s in &taken.slow {
            plans.push(super::explain::generic_plan(db, &s.statement).await);
        }
        match self.write(db, &taken, plans).await {
            Ok(n) => Ok(n),
            Err(e) => {
                self.put_back(taken);
                Err(e)
            }
        }
    }

    async fn write(
        &self,
        db: &DatabaseConnection,
        taken: &State,
        plans: Vec<String>,
    ) -> ServiceResult<usize> {
        let now = Utc::now();
        let instance = self.instance.to_string();
        let mut samples = Vec::new();
        for (kind, names) in &taken.ops {
            for (name, acc) in names {
                samples.push(status_sample::ActiveModel {
                    id: NotSet,
                    instance: Set(instance.clone()),
                    flushed_at: Set(now),
                    kind: Set(kind.clone()),
                    name: Set(name.chars().take(255).collect()),
                    count: Set(acc.count),
                    errors: Set(acc.errors),
                    counters: Set(serde_json::to_string(&acc.counters).unwrap_or_default()),
                    sketch: Set(acc
                        .sketch
                        .as_ref()
                        .and_then(|s| serde_json::to_string(s).ok())
                        .unwrap_or_default()),
                    last_ok_at: Set(acc.last_ok_at),
                    last_error_at: Set(acc.last_error_at),
                    created_at: Set(now),
                    updated_at: Set(now),
                });
            }
        }
        let written = samples.len();
        let txn = crate::db::begin_write(db).await?;
        for chunk in samples.chunks(200) {
            status_sample::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(&txn)
                .await?;
        }
        if !taken.errors.is_empty() {
            status_error::Entity::insert_many(taken.errors.iter().map(|e| {
                status_error::ActiveModel {
                    id: NotSet,
                    occurred_at: Set(e.at),
                    instance: Set(instance.clone()),
                    kind: Set(e.kind.clone()),
                    name: Set(e.name.chars().take(255).collect()),
                    status_code: Set(i64::from(e.status)),
                    correlation_id: Set(e.correlation_id.clone()),
                    created_at: Set(now),
                    updated_at: Set(now),
                }
            }))
            .exec_without_returning(&txn)
            .await?;
        }
        if !taken.slow.is_empty() {
            status_slow_query::Entity::insert_many(taken.slow.iter().zip(plans).map(
                |(s, plan)| status_slow_query::ActiveModel {
                    id: NotSet,
                    occurred_at: Set(s.at),
                    instance: Set(instance.clone()),
                    elapsed_us: Set(s.elapsed.as_micros() as i64),
                    statement: Set(s.statement.clone()),
                    plan: Set(plan),
                    created_at: Set(now),
                    updated_at: Set(now),
                },
            ))
            .exec_without_returning(&txn)
            .await?;
        }
        txn.commit().await?;
        Ok(written)
    }
}

/// Hits and misses of one in-process cache, read (and reset) by the status loop.
#[derive(Clone, Debug, Default)]
pub struct CacheCounter {
    hits: Arc<AtomicU64>,
    misses: Arc<AtomicU64>,
}

impl CacheCounter {
    pub fn hit(&self) {
        self.hits.fetch_add(1, Ordering::Relaxed);
    }

    pub fn miss(&self) {
        self.misses.fetch_add(1, Ordering::Relaxed);
    }

    /// Hits and misses since the last call.
    pub fn take(&self) -> (u64, u64) {
        (
            self.hits.swap(0, Ordering::Relaxed),
            self.misses.swap(0, Ordering::Relaxed),
        )
    }

    /// Moves the counts into `recorder` as `cache`/`name` (`hit`, `miss`).
    pub fn report(&self, recorder: &Recorder, name: &str) {
        let (hits, misses) = self.take();
        recorder.count("cache", name, "hit", hits as i64);
        recorder.count("cache", name, "miss", misses as i64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_accumulate_per_operation_and_cap_names() {
        let r = Recorder::new("t");
        for i in 0..10 {
            r.record(
                "fn",
                "/fn/a",
                Duration::from_millis(10 + i),
                i != 3,
                Some("200"),
            );
        }
        r.count("cache", "decks", "hit", 5);
        for i in 0..(MAX_NAMES_PER_KIND + 20) {
            r.record(
                "page",
                &format!("/p{i}"),
                Duration::from_millis(1),
                true,
                None,
            );
        }
        let state = r.take();
        let a = &state.ops["fn"]["/fn/a"];
        assert_eq!((a.count, a.errors), (10, 1));
        assert_eq!(a.counters["200"], 10);
        let p50 = a.sketch.as_ref().unwrap().quantile(0.5).unwrap().unwrap();
        assert!((13.5..=15.5).contains(&p50), "p50 of 10..19 ms: {p50}");
        assert_eq!(state.ops["cache"]["decks"].counters["hit"], 5);
        assert_eq!(state.ops["page"].len(), MAX_NAMES_PER_KIND + 1);
        assert_eq!(state.ops["page"]["other"].count, 20);
        // Taken means gone; put back means kept.
        assert!(r.take().ops.is_empty());
        r.put_back(state);
        assert_eq!(r.take().ops["fn"]["/fn/a"].count, 10);
    }
}
