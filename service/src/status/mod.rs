//! System Status: is it up, is it fast, which layer is failing, what changed.
//!
//! - Every instance records what it serves ([`Recorder`]: pages, server functions, API
//!   endpoints, database statements, cache hits, sign-ins, 5xx answers, slow queries)
//!   and flushes it to the database once a collector period, with a heartbeat of the
//!   instance (`status_instances`, which is also the deploy history).
//! - One instance at a time — the holder of the database lease `status-collector`, so it
//!   keeps working while Redis is down — runs the collector ([`collect`]) every period
//!   (`STATUS_COLLECT_SECS`, 60 s by default): health checks, the merged figures of the
//!   last five periods, budgets, alert rules, the global level, written as one snapshot.
//!   Snapshots are kept 7 days per cycle, then one per hour for 90 days.
//! - Every instance that does not hold the lease watches the newest snapshot's age: the
//!   `collector.age_periods` rules open their alert when the collector stops.
//!
//! Pages read snapshots ([`views`]); no measuring ever runs in a page request.

pub mod alerts;
pub mod budgets;
pub mod collect;
pub mod explain;
pub mod recorder;
pub mod views;

use std::time::Duration;

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};

pub use recorder::{observe, CacheCounter, Recorder};

use crate::entity::status_instance;
use crate::kv::Kv;
use crate::ServiceResult;

/// The lease the collector holds.
pub const COLLECTOR_LEASE: &str = "status-collector";
/// The collector's default period.
pub const DEFAULT_PERIOD: Duration = Duration::from_secs(60);
/// Periods the operation figures cover.
pub const WINDOW_PERIODS: u32 = 5;

/// What the status loop and the collector need.
#[derive(Clone, Debug)]
pub struct StatusContext {
    pub db: DatabaseConnection,
    pub kv: Kv,
    pub files: crate::files::Files,
    /// The SMTP relay, when `SMTP_URL` is set.
    pub mailer: Option<crate::mail::Mailer>,
    /// This instance's recorder.
    pub recorder: Recorder,
    /// The collector's period.
    pub period: Duration,
    /// In-process caches whose hits and misses are flushed with the samples.
    pub caches: Vec<(&'static str, CacheCounter)>,
}

impl StatusContext {
    /// The window the operation figures cover: [`WINDOW_PERIODS`] periods.
    pub fn window(&self) -> Duration {
        self.period * WINDOW_PERIODS
    }
}

/// What an instance says of itself when it starts.
#[derive(Clone, Debug)]
pub struct InstanceInfo {
    pub host: String,
    pub pid: u32,
    pub version: String,
    pub workers: u32,
}

/// Records this instance's start (a deploy) under the recorder's instance id.
///
/// Errors: the database's.
pub async fn register(ctx: &StatusContext, info: &InstanceInfo) -> ServiceResult<()> {
    let now = Utc::now();
    status_instance::Entity::insert(status_instance::ActiveModel {
        id: Set(ctx.recorder.instance().to_owned()),
        host: Set(info.host.chars().take(255).collect()),
        pid: Set(i64::from(info.pid)),
        version: Set(info.version.clone()),
        started_at: Set(now),
        last_seen_at: Set(now),
        workers: Set(i64::from(info.workers)),
        database: Set(match ctx.db.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => "postgres".into(),
            _ => "sqlite".into(),
        }),
        kv: Set(ctx.kv.kind().to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(&ctx.db)
    .await?;
    Ok(())
}

/// What one tick of the status loop did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tick {
    /// Samples this instance flushed.
    pub flushed: usize,
    /// The snapshot written, when this instance collected: its id and size in bytes.
    pub snapshot: Option<(i64, i64)>,
}

/// One tick of an instance's status loop: flush its figures, show it is alive, and
/// collect when it holds (or takes) the collector's lease; otherwise watch that the
/// collector is alive. `cycle` counts the ticks.
///
/// Errors: the database's (the figures stay in memory for the next tick).
pub async fn tick(ctx: &StatusContext, cycle: i64) -> ServiceResult<Tick> {
    for (name, counter) in &ctx.caches {
        counter.report(&ctx.recorder, name);
    }
    let flushed = ctx.recorder.flush(&ctx.db).await?;
    let now = Utc::now();
    status_instance::Entity::update_many()
        .col_expr(status_instance::Column::LastSeenAt, Expr::value(now))
        .filter(status_instance::Column::Id.eq(ctx.recorder.instance()))
        .exec(&ctx.db)
        .await?;
    let lease_ttl = ctx.period * 2 + Duration::from_secs(5);
    let mut snapshot = None;
    if crate::leases::try_take(&ctx.db, COLLECTOR_LEASE, ctx.recorder.instance(), lease_ttl).await?
    {
        let collected = async {
            let taken = collect::collect(ctx, cycle).await?;
            collect::store(&ctx.db, &taken).await
        }
        .await;
        match collected {
            Ok(stored) => snapshot = Some(stored),
            Err(e) => {
                // The collector cannot report its own absence with a snapshot: its
                // instance watches the snapshots' age like the others (the "Status
                // collector stopped" rule), as far as the database lets it.
                let _ = watch_collector(ctx).await;
                return Err(e);
            }
        }
        if cycle % 10 == 0 {
            collect::retain(&ctx.db, now).await?;
        }
    } else {
        watch_collector(ctx).await?;
    }
    Ok(Tick { flushed, snapshot })
}

/// Evaluates the `collector.age_periods` rules from the newest snapshot's age (the
/// collector cannot report its own absence).
///
/// Errors: the database's.
pub async fn watch_collector(ctx: &StatusContext) -> ServiceResult<()> {
    let now = Utc::now();
    let age = views::newest_time(&ctx.db)
        .await?
        .map(|(t, _)| (now - t).num_seconds());
    let Some(age) = age else {
        return Ok(());
    };
    let periods = domain::status::age_periods(age, ctx.period.as_secs() as i64);
    alerts::evaluate(
        &ctx.db,
        &[(
            alerts::COLLECTOR_AGE.to_owned(),
            (periods * 100.0).round() / 100.0,
        )],
        now,
        Some(alerts::COLLECTOR_AGE),
    )
    .await?;
    Ok(())
}

/// The loop every `didtron serve` runs: a [`tick`] every period until `stop` turns true,
/// then one last flush and the lease given up.
pub async fn run(ctx: StatusContext, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut every = tokio::time::interval(ctx.period);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut cycle: i64 = 0;
    loop {
        tokio::select! {
            _ = every.tick() => {}
            _ = stop.changed() => break,
        }
        match tick(&ctx, cycle).await {
            Ok(t) => tracing::debug!(flushed = t.flushed, snapshot = ?t.snapshot, "status tick"),
            Err(e) => tracing::warn!(error = %e, "status collector"),
        }
        cycle += 1;
    }
    let _ = ctx.recorder.flush(&ctx.db).await;
    let _ = crate::leases::release(&ctx.db, COLLECTOR_LEASE, ctx.recorder.instance()).await;
}
