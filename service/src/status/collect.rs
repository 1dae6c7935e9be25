//! One collector cycle: health checks of every dependency, the operations' figures from
//! every instance's samples, the database, jobs, caches, integrations and portals, the
//! alert rules, the global level — written as one snapshot (plus its metric series) that
//! the System Status pages read. Nothing here runs inside a page request.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use domain::status::{
    basis_points, level, AlertCounts, CacheInfo, CacheStat, DatabaseInfo, Health, HealthCheck,
    Integration, JobCounts, JobsInfo, LayerStatus, Level, LevelInputs, OperationKind,
    OperationStats, PortalsInfo, RedisInfo, RunningJob, Snapshot, StorageInfo, TableSize,
    WorkerHeartbeat, CDR_API, ROUTE_API,
};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::NotSet, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection,
    EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set, Statement,
};
use sketches_ddsketch::DDSketch;

use super::recorder::Accumulated;
use super::{alerts, budgets, StatusContext};
use crate::entity::{
    cdr, cdr_pull_source, job, mail_outbox, session, status_instance, status_metric, status_sample,
    status_slow_query, status_snapshot,
};
use crate::ServiceResult;

/// Cycles between two readings of table sizes (they read every page on SQLite).
const TABLE_STATS_EVERY: i64 = 10;
/// Objects counted at most when measuring the file store.
const STORAGE_CAP: usize = 100_000;

fn ago(now: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    now - chrono::Duration::from_std(d).unwrap_or(chrono::Duration::zero())
}

fn secs_since(now: DateTime<Utc>, t: DateTime<Utc>) -> i64 {
    (now - t).num_seconds().max(0)
}

fn rfc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn parse_time(t: &Option<String>) -> Option<DateTime<Utc>> {
    t.as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// Runs `f` and measures it.
async fn timed<T, F: std::future::Future<Output = T>>(f: F) -> (T, i64) {
    let start = Instant::now();
    let out = f.await;
    (out, start.elapsed().as_micros() as i64)
}

/// A health check's outcome, keeping the last error of the previous snapshot when the
/// check passes now.
fn check(
    name: &str,
    label: &str,
    outcome: Result<String, String>,
    latency_us: Option<i64>,
    previous: Option<&Snapshot>,
    now: DateTime<Utc>,
) -> HealthCheck {
    let before = previous.and_then(|p| p.check(name));
    match outcome {
        Ok(detail) => HealthCheck {
            name: name.into(),
            label: label.into(),
            health: Health::Ok,
            latency_us,
            detail,
            last_error: before.and_then(|b| b.last_error.clone()),
            last_error_at: before.and_then(|b| b.last_error_at.clone()),
        },
        Err(error) => HealthCheck {
            name: name.into(),
            label: label.into(),
            health: Health::Down,
            latency_us,
            detail: error.clone(),
            last_error: Some(error),
            last_error_at: Some(rfc(now)),
        },
    }
}

fn quantile_us(sketch: &Option<DDSketch>, q: f64) -> i64 {
    sketch
        .as_ref()
        .and_then(|s| s.quantile(q).ok().flatten())
        .map(|ms| (ms * 1000.0).round() as i64)
        .unwrap_or(0)
}

fn stats(kind: &str, name: &str, acc: &Accumulated, window: Duration) -> OperationStats {
    OperationStats {
        kind: kind.into(),
        name: name.into(),
        count: acc.count,
        per_min_milli: (acc.count as i128 * 60_000_000 / window.as_millis().max(1) as i128) as i64,
        errors: acc.errors,
        error_bp: basis_points(acc.errors, acc.count),
        p50_us: quantile_us(&acc.sketch, 0.50),
        p95_us: quantile_us(&acc.sketch, 0.95),
        p99_us: quantile_us(&acc.sketch, 0.99),
        counters: acc.counters.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        budget: None,
        breached: false,
    }
}

/// Every instance's samples flushed since `since`, merged per `(kind, name)`.
async fn merged_samples(
    db: &DatabaseConnection,
    since: DateTime<Utc>,
) -> ServiceResult<BTreeMap<(String, String), Accumulated>> {
    let rows = status_sample::Entity::find()
        .filter(status_sample::Column::FlushedAt.gt(since))
        .all(db)
        .await?;
    let mut merged: BTreeMap<(String, String), Accumulated> = BTreeMap::new();
    for r in rows {
        let acc = Accumulated {
            count: r.count,
            errors: r.errors,
            counters: serde_json::from_str(&r.counters).unwrap_or_default(),
            sketch: (!r.sketch.is_empty())
                .then(|| serde_json::from_str::<DDSketch>(&r.sketch).ok())
                .flatten(),
            last_ok_at: r.last_ok_at,
            last_error_at: r.last_error_at,
        };
        match merged.get_mut(&(r.kind.clone(), r.name.clone())) {
            Some(m) => m.absorb(acc),
            None => {
                merged.insert((r.kind, r.name), acc);
            }
        }
    }
    Ok(merged)
}

/// Job runs and job starts of the window, from the jobs table itself (durable, every
/// worker's): a start waits `started_at - run_after`; a run lasts `finished_at -
/// started_at` and fails when the job failed.
async fn job_operations(
    db: &DatabaseConnection,
    since: DateTime<Utc>,
) -> ServiceResult<BTreeMap<(String, String), Accumulated>> {
    let rows = job::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(job::Column::StartedAt.gt(since))
                .add(job::Column::FinishedAt.gt(since)),
        )
        .limit(20_000)
        .all(db)
        .await?;
    let mut out: BTreeMap<(String, String), Accumulated> = BTreeMap::new();
    let mut add = |kind: &str, name: &str, ms: f64, ok: bool, at: DateTime<Utc>| {
        let acc = out
            .entry((kind.to_owned(), name.to_owned()))
            .or_insert_with(Accumulated::empty);
        acc.count += 1;
        if ok {
            acc.last_ok_at = acc.last_ok_at.max(Some(at));
        } else {
            acc.errors += 1;
            acc.last_error_at = acc.last_error_at.max(Some(at));
        }
        acc.sketch
            .get_or_insert_with(|| DDSketch::new(super::recorder::sketch_config()))
            .add(ms.max(0.001));
    };
    for j in rows {
        if let Some(started) = j.started_at.filter(|s| *s > since) {
            let waited = (started - j.run_after).num_milliseconds().max(0) as f64;
            add("job_start", &j.kind, waited, true, started);
        }
        if let (Some(started), Some(finished)) = (j.started_at, j.finished_at) {
            if finished > since {
                let ms = (finished - started).num_milliseconds().max(0) as f64;
                add(
                    "job",
                    &j.kind,
                    ms,
                    j.status != crate::jobs::status::FAILED,
                    finished,
                );
            }
        }
    }
    Ok(out)
}

async fn scalar_i64(db: &DatabaseConnection, sql: &str) -> ServiceResult<Option<i64>> {
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(Statement::from_string(backend, sql.to_owned()))
        .await?;
    Ok(row.and_then(|r| r.try_get_by_index::<Option<i64>>(0).ok().flatten()))
}

async fn database_info(
    ctx: &StatusContext,
    previous: Option<&Snapshot>,
    cycle: i64,
) -> ServiceResult<DatabaseInfo> {
    let db = &ctx.db;
    let backend = db.get_database_backend();
    let mut info = DatabaseInfo {
        backend: match backend {
            DatabaseBackend::Postgres => "postgres".into(),
            _ => "sqlite".into(),
        },
        ..Default::default()
    };
    match backend {
        DatabaseBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            info.pool_max = i64::from(pool.options().get_max_connections());
            info.pool_idle = pool.num_idle() as i64;
            info.pool_in_use = i64::from(pool.size()) - info.pool_idle;
            info.size_bytes = scalar_i64(db, "SELECT pg_database_size(current_database())::bigint")
                .await?
                .unwrap_or(0);
            info.server_connections = scalar_i64(
                db,
                "SELECT count(*)::bigint FROM pg_stat_activity WHERE datname = current_database()",
            )
            .await?;
        }
        _ => {
            let pool = db.get_sqlite_connection_pool();
            info.pool_max = i64::from(pool.options().get_max_connections());
            info.pool_idle = pool.num_idle() as i64;
            info.pool_in_use = i64::from(pool.size()) - info.pool_idle;
            info.size_bytes = scalar_i64(
                db,
                "SELECT (SELECT page_count FROM pragma_page_count()) * (SELECT page_size FROM pragma_page_size())",
            )
            .await?
            .unwrap_or(0);
        }
    }
    let carried = previous
        .map(|p| p.database.tables.clone())
        .filter(|t| !t.is_empty());
    info.tables = match carried {
        Some(tables) if cycle % TABLE_STATS_EVERY != 0 => tables,
        _ => table_sizes(db).await?,
    };
    let last = db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT version, (SELECT count(*) FROM seaql_migrations) FROM seaql_migrations ORDER BY version DESC LIMIT 1",
        ))
        .await?;
    if let Some(r) = last {
        info.migration = r.try_get_by_index::<String>(0).unwrap_or_default();
        info.migrations_applied = r.try_get_by_index::<i64>(1).unwrap_or_default();
    }
    info.slow_queries_24h = status_slow_query::Entity::find()
        .filter(
            status_slow_query::Column::OccurredAt.gt(ago(Utc::now(), Duration::from_secs(86_400))),
        )
        .count(db)
        .await? as i64;
    Ok(info)
}

/// The largest tables with their row estimates: PostgreSQL's statistics, or on SQLite
/// the `dbstat` page sizes and each table's largest row id.
async fn table_sizes(db: &DatabaseConnection) -> ServiceResult<Vec<TableSize>> {
    let backend = db.get_database_backend();
    let mut tables = Vec::new();
    if backend == DatabaseBackend::Postgres {
        let rows = db
            .query_all_raw(Statement::from_string(
                backend,
                "SELECT c.relname::text, GREATEST(c.reltuples::bigint, COALESCE(s.n_live_tup, 0))::bigint, \
                 pg_total_relation_size(c.oid)::bigint \
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid \
                 WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema() \
                 ORDER BY pg_total_relation_size(c.oid) DESC LIMIT 12",
            ))
            .await?;
        for r in rows {
            tables.push(TableSize {
                name: r.try_get_by_index(0).unwrap_or_default(),
                rows_estimate: r.try_get_by_index(1).unwrap_or_default(),
                bytes: r.try_get_by_index::<i64>(2).ok(),
            });
        }
        return Ok(tables);
    }
    let rows = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT m.tbl_name, SUM(d.pgsize) FROM dbstat d JOIN sqlite_master m ON m.name = d.name \
             WHERE m.tbl_name NOT LIKE 'sqlite_%' GROUP BY m.tbl_name ORDER BY 2 DESC LIMIT 12",
        ))
        .await?;
    for r in rows {
        let name: String = r.try_get_by_index(0).unwrap_or_default();
        // Table names come from sqlite_master; quoted as identifiers.
        let rows_estimate = scalar_i64(
            db,
            &format!("SELECT max(rowid) FROM \"{}\"", name.replace('"', "\"\"")),
        )
        .await
        .ok()
        .flatten()
        .unwrap_or(0);
        tables.push(TableSize {
            name,
            rows_estimate,
            bytes: r.try_get_by_index::<i64>(1).ok(),
        });
    }
    Ok(tables)
}

/// The progress a running job reports, from the record its kind keeps.
async fn job_progress(db: &DatabaseConnection, j: &job::Model) -> Option<String> {
    use crate::entity::{cdr_export, cdr_import, rate_import, rerate_run};
    let payload: serde_json::Value = serde_json::from_str(&j.payload).ok()?;
    let id = |field: &str| payload.get(field).and_then(serde_json::Value::as_i64);
    let of = |done: i64, total: i64| Some(format!("{done} of {total}"));
    match j.kind.as_str() {
        crate::rate_plans::import::READ_JOB | crate::rate_plans::import::PUBLISH_JOB => {
            let m = rate_import::Entity::find_by_id(id("import_id")?)
                .one(db)
                .await
                .ok()??;
            of(m.rows_done, m.rows_total)
        }
        crate::cdrs::files::IMPORT_JOB => {
            let m = cdr_import::Entity::find_by_id(id("import_id")?)
                .one(db)
                .await
                .ok()??;
            of(m.rows_done, m.rows_total)
        }
        crate::cdrs::export::EXPORT_JOB => {
            let m = cdr_export::Entity::find_by_id(id("export_id")?)
                .one(db)
                .await
                .ok()??;
            Some(format!("{} rows written", m.rows_done))
        }
        crate::cdrs::rerate::RERATE_JOB => {
            let m = rerate_run::Entity::find_by_id(id("run_id")?)
                .one(db)
                .await
                .ok()??;
            of(m.examined, m.total)
        }
        _ => None,
    }
}

async fn jobs_info(ctx: &StatusContext, now: DateTime<Utc>) -> ServiceResult<JobsInfo> {
    use crate::jobs::status as js;
    use sea_orm::sea_query::ExprTrait;
    let db = &ctx.db;
    let mut by_kind: BTreeMap<String, JobCounts> = BTreeMap::new();
    let live: Vec<(String, String, i64)> = job::Entity::find()
        .select_only()
        .column(job::Column::Kind)
        .column(job::Column::Status)
        .column_as(Expr::col(job::Column::Id).count(), "n")
        .filter(job::Column::Status.is_in([js::QUEUED, js::RUNNING]))
        .group_by(job::Column::Kind)
        .group_by(job::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    let finished: Vec<(String, String, i64)> = job::Entity::find()
        .select_only()
        .column(job::Column::Kind)
        .column(job::Column::Status)
        .column_as(Expr::col(job::Column::Id).count(), "n")
        .filter(job::Column::FinishedAt.gt(ago(now, Duration::from_secs(86_400))))
        .group_by(job::Column::Kind)
        .group_by(job::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    for (kind, status, n) in live.into_iter().chain(finished) {
        let c = by_kind.entry(kind.clone()).or_insert_with(|| JobCounts {
            kind,
            ..Default::default()
        });
        match status.as_str() {
            js::QUEUED => c.queued += n,
            js::RUNNING => c.running += n,
            js::FAILED => c.failed += n,
            js::DONE => c.done += n,
            _ => {}
        }
    }
    let oldest: Option<DateTime<Utc>> = job::Entity::find()
        .select_only()
        .column_as(Expr::col(job::Column::RunAfter).min(), "oldest")
        .filter(job::Column::Status.eq(js::QUEUED))
        .filter(job::Column::RunAfter.lte(now))
        .into_tuple::<Option<DateTime<Utc>>>()
        .one(db)
        .await?
        .flatten();
    let mut running = Vec::new();
    for j in job::Entity::find()
        .filter(job::Column::Status.eq(js::RUNNING))
        .order_by_asc(job::Column::Id)
        .limit(50)
        .all(db)
        .await?
    {
        running.push(RunningJob {
            id: j.id,
            kind: j.kind.clone(),
            worker: j.worker.clone().unwrap_or_default(),
            heartbeat_age_s: j.heartbeat_at.map_or(-1, |h| secs_since(now, h)),
            running_s: j.started_at.map_or(0, |s| secs_since(now, s)),
            progress: job_progress(db, &j).await,
        });
    }
    let failed_1h = job::Entity::find()
        .filter(job::Column::Status.eq(js::FAILED))
        .filter(job::Column::FinishedAt.gt(ago(now, Duration::from_secs(3600))))
        .count(db)
        .await? as i64;
    let alive_within = Ord::max(ctx.period.as_secs() as i64 * 3, 30);
    let workers = status_instance::Entity::find()
        .filter(status_instance::Column::Workers.gt(0))
        .filter(status_instance::Column::LastSeenAt.gt(ago(now, Duration::from_secs(86_400))))
        .order_by_desc(status_instance::Column::LastSeenAt)
        .limit(50)
        .all(db)
        .await?
        .into_iter()
        .map(|i| {
            let age = secs_since(now, i.last_seen_at);
            WorkerHeartbeat {
                instance: i.id,
                host: i.host,
                workers: i.workers,
                last_seen_age_s: age,
                alive: age <= alive_within,
            }
        })
        .collect();
    Ok(JobsInfo {
        queued: by_kind.values().map(|c| c.queued).sum(),
        by_kind: by_kind.into_values().collect(),
        oldest_queued_s: oldest.map(|t| secs_since(now, t)),
        running,
        failed_1h,
        workers,
    })
}

fn cache_label(name: &str) -> String {
    match name {
        "api_keys" => "Switch API keys (routing API, 10 s)".into(),
        "decks" => "Compiled rate decks (rating, routing)".into(),
        other => other.replace('_', " "),
    }
}

fn integration_from(
    name: &str,
    label: &str,
    acc: Option<&Accumulated>,
    previous: Option<&Snapshot>,
    detail: String,
) -> Integration {
    let before = previous.and_then(|p| p.integrations.iter().find(|i| i.name == name));
    let carry = |now: Option<DateTime<Utc>>, then: Option<&String>| {
        now.max(parse_time(&then.cloned())).map(rfc)
    };
    let (calls, errors) = acc.map_or((0, 0), |a| (a.count, a.errors));
    Integration {
        name: name.into(),
        label: label.into(),
        configured: true,
        last_ok_at: carry(
            acc.and_then(|a| a.last_ok_at),
            before.and_then(|b| b.last_ok_at.as_ref()),
        ),
        last_error_at: carry(
            acc.and_then(|a| a.last_error_at),
            before.and_then(|b| b.last_error_at.as_ref()),
        ),
        last_error: acc
            .filter(|a| a.errors > 0)
            .map(|a| format!("{} failed answers (5xx) in the window", a.errors))
            .or_else(|| before.and_then(|b| b.last_error.clone())),
        calls,
        errors,
        error_bp: basis_points(errors, calls),
        detail,
    }
}

async fn mail_integration(
    ctx: &StatusContext,
    now: DateTime<Utc>,
) -> ServiceResult<(Integration, i64)> {
    use sea_orm::sea_query::ExprTrait;
    let db = &ctx.db;
    let hour = ago(now, Duration::from_secs(3600));
    let last_sent: Option<DateTime<Utc>> = mail_outbox::Entity::find()
        .select_only()
        .column_as(Expr::col(mail_outbox::Column::SentAt).max(), "last")
        .into_tuple::<Option<DateTime<Utc>>>()
        .one(db)
        .await?
        .flatten();
    let last_error = mail_outbox::Entity::find()
        .filter(mail_outbox::Column::LastError.is_not_null())
        .order_by_desc(mail_outbox::Column::UpdatedAt)
        .one(db)
        .await?;
    let sent_1h = mail_outbox::Entity::find()
        .filter(mail_outbox::Column::SentAt.gt(hour))
        .count(db)
        .await? as i64;
    let failed_1h = mail_outbox::Entity::find()
        .filter(mail_outbox::Column::Status.eq("failed"))
        .filter(mail_outbox::Column::UpdatedAt.gt(hour))
        .count(db)
        .await? as i64;
    let queued = mail_outbox::Entity::find()
        .filter(mail_outbox::Column::Status.eq("queued"))
        .count(db)
        .await? as i64;
    let configured = ctx.mailer.is_some();
    let detail = if configured {
        format!("{queued} queued; {sent_1h} sent and {failed_1h} failed in the last hour")
    } else {
        format!("SMTP_URL is not set: {queued} messages wait in the outbox")
    };
    Ok((
        Integration {
            name: "smtp".into(),
            label: "Mail (SMTP relay)".into(),
            configured,
            last_ok_at: last_sent.map(rfc),
            last_error_at: last_error.as_ref().map(|m| rfc(m.updated_at)),
            last_error: last_error.and_then(|m| m.last_error),
            calls: sent_1h + failed_1h,
            errors: failed_1h,
            error_bp: basis_points(failed_1h, sent_1h + failed_1h),
            detail,
        },
        failed_1h,
    ))
}

/// A layer's level from its operations: red at 5 % server errors or more, yellow with
/// any error or budget breach.
fn layer_from_ops(name: &str, ops: &[&OperationStats], window: &str) -> LayerStatus {
    let requests: i64 = ops.iter().map(|o| o.count).sum();
    let errors: i64 = ops.iter().map(|o| o.errors).sum();
    let breached = ops.iter().filter(|o| o.breached).count();
    let level = if basis_points(errors, requests) >= 500 {
        Level::Red
    } else if errors > 0 || breached > 0 {
        Level::Yellow
    } else {
        Level::Green
    };
    LayerStatus {
        name: name.into(),
        level,
        detail: format!(
            "{requests} requests in the last {window}, {errors} failed, {breached} over budget"
        ),
    }
}

fn layer_from_check(name: &str, c: Option<&HealthCheck>, down: Level) -> LayerStatus {
    match c {
        Some(c) => LayerStatus {
            name: name.into(),
            level: match c.health {
                Health::Ok | Health::NotConfigured => Level::Green,
                Health::Degraded => Level::Yellow,
                Health::Down => down,
            },
            detail: format!("{}: {}", c.health.label(), c.detail),
        },
        None => LayerStatus {
            name: name.into(),
            level: Level::Green,
            detail: "not checked".into(),
        },
    }
}

fn window_text(window: Duration) -> String {
    let s = window.as_secs();
    if s.is_multiple_of(60) {
        format!("{} min", s / 60)
    } else {
        format!("{s} s")
    }
}

/// Measures everything and returns the snapshot (not yet stored). `cycle` counts the
/// collector's cycles (some readings are refreshed only every few).
///
/// Errors: the database's (every other dependency's failure is a finding).
pub async fn collect(ctx: &StatusContext, cycle: i64) -> ServiceResult<Snapshot> {
    let started = Instant::now();
    let now = Utc::now();
    let db = &ctx.db;
    let window = ctx.window();
    let since = ago(now, window);
    let previous = super::views::newest(db).await?;
    let previous = previous.as_ref();

    // Health checks.
    let mut health = Vec::new();
    let (ping, us) = timed(db.ping()).await;
    health.push(check(
        "database",
        "Database",
        ping.map(|_| format!("{} answers", db_name(db)))
            .map_err(|e| e.to_string()),
        Some(us),
        previous,
        now,
    ));
    let redis_configured = matches!(ctx.kv, crate::kv::Kv::Redis { .. });
    let mut redis_info = None;
    if redis_configured {
        let (ping, us) = timed(tokio::time::timeout(Duration::from_secs(3), ctx.kv.ping())).await;
        let outcome = match ping {
            Ok(Ok(_)) => Ok("answers".to_owned()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("no answer within 3 s".to_owned()),
        };
        if outcome.is_ok() {
            if let Ok(Ok(Some((used, max, keys)))) =
                tokio::time::timeout(Duration::from_secs(3), ctx.kv.redis_info()).await
            {
                redis_info = Some(RedisInfo {
                    used_memory_bytes: used,
                    maxmemory_bytes: max,
                    keys,
                });
            }
        }
        health.push(check("redis", "Redis", outcome, Some(us), previous, now));
    } else {
        health.push(HealthCheck {
            name: "redis".into(),
            label: "Redis".into(),
            health: Health::NotConfigured,
            latency_us: None,
            detail: "REDIS_URL is not set: cache, locks and counters are in-process".into(),
            last_error: None,
            last_error_at: None,
        });
    }
    let (probe, us) = timed(tokio::time::timeout(
        Duration::from_secs(10),
        ctx.files.probe(),
    ))
    .await;
    let probe = match probe {
        Ok(Ok(())) => Ok(format!("{} writes and reads", ctx.files.location())),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("no answer within 10 s".into()),
    };
    let storage_up = probe.is_ok();
    health.push(check(
        "storage",
        "File store",
        probe,
        Some(us),
        previous,
        now,
    ));
    let storage = match (storage_up, cycle % TABLE_STATS_EVERY != 0, previous) {
        (true, true, Some(p)) if p.cache.storage.location == ctx.files.location() => {
            p.cache.storage.clone()
        }
        (true, _, _) => match ctx.files.usage(STORAGE_CAP).await {
            Ok((objects, bytes, truncated)) => StorageInfo {
                location: ctx.files.location().to_owned(),
                objects,
                bytes,
                truncated,
            },
            Err(_) => StorageInfo {
                location: ctx.files.location().to_owned(),
                ..Default::default()
            },
        },
        (false, _, _) => StorageInfo {
            location: ctx.files.location().to_owned(),
            ..Default::default()
        },
    };
    let (mail, mail_failed_1h) = mail_integration(ctx, now).await?;
    match &ctx.mailer {
        Some(mailer) => {
            let (ok, us) = timed(tokio::time::timeout(
                Duration::from_secs(10),
                mailer.check(),
            ))
            .await;
            let outcome = match ok {
                Ok(Ok(())) => Ok(format!("{} answers; {}", mailer.relay(), mail.detail)),
                Ok(Err(e)) => Err(format!("{}: {e}", mailer.relay())),
                Err(_) => Err(format!("{}: no answer within 10 s", mailer.relay())),
            };
            health.push(check(
                "mail",
                "Mail (SMTP)",
                outcome,
                Some(us),
                previous,
                now,
            ));
        }
        None => health.push(HealthCheck {
            name: "mail".into(),
            label: "Mail (SMTP)".into(),
            health: Health::NotConfigured,
            latency_us: None,
            detail: mail.detail.clone(),
            last_error: None,
            last_error_at: None,
        }),
    }
    let (jobs, us) = timed(jobs_info(ctx, now)).await;
    let jobs = jobs?;
    let workers_alive = jobs.workers.iter().filter(|w| w.alive).count() as i64;
    let oldest = jobs.oldest_queued_s.unwrap_or(0);
    let job_health = if jobs.queued > 0 && workers_alive == 0 {
        Health::Down
    } else if oldest > 300 {
        Health::Degraded
    } else {
        Health::Ok
    };
    let job_detail = format!(
        "{} queued{}, {} running, {} failed in the last hour; {workers_alive} processes with live workers",
        jobs.queued,
        jobs.oldest_queued_s
            .map(|s| format!(" (oldest waits {s} s)"))
            .unwrap_or_default(),
        jobs.running.len(),
        jobs.failed_1h
    );
    let before = previous.and_then(|p| p.check("jobs"));
    health.push(HealthCheck {
        name: "jobs".into(),
        label: "Job queue".into(),
        health: job_health,
        latency_us: Some(us),
        last_error: if job_health == Health::Down {
            Some("jobs wait and no process runs workers".into())
        } else {
            before.and_then(|b| b.last_error.clone())
        },
        last_error_at: if job_health == Health::Down {
            Some(rfc(now))
        } else {
            before.and_then(|b| b.last_error_at.clone())
        },
        detail: job_detail,
    });

    // Operations: every instance's samples of the window, and the jobs table.
    let mut merged = merged_samples(db, since).await?;
    merged.extend(job_operations(db, since).await?);
    let budget_rows = budgets::list(db).await?;
    let mut operations = Vec::new();
    let mut caches = Vec::new();
    let mut db_statements = None;
    for ((kind, name), acc) in &merged {
        match kind.as_str() {
            "cache" => {
                let hits = acc.counters.get("hit").copied().unwrap_or(0);
                let misses = acc.counters.get("miss").copied().unwrap_or(0);
                caches.push(CacheStat {
                    name: name.clone(),
                    label: cache_label(name),
                    hits,
                    misses,
                    hit_bp: basis_points(hits, hits + misses),
                });
            }
            "db" => db_statements = Some(stats(kind, name, acc, window)),
            k if OperationKind::parse(k).is_some() => {
                let mut s = stats(kind, name, acc, window);
                s.judge(budgets::effective(&budget_rows, kind, name));
                operations.push(s);
            }
            _ => {}
        }
    }
    let op = |kind: &str, name: &str| merged.get(&(kind.to_owned(), name.to_owned()));

    // The switch: CDRs arriving, routing answering.
    let last_cdr: Option<DateTime<Utc>> = cdr::Entity::find()
        .select_only()
        .column(cdr::Column::CreatedAt)
        .order_by_desc(cdr::Column::Id)
        .limit(1)
        .into_tuple::<DateTime<Utc>>()
        .one(db)
        .await?;
    let route = op("api", ROUTE_API);
    let route_error_bp = route.map_or(0, |r| basis_points(r.errors, r.count));
    let switch_health = if last_cdr.is_none() && route.is_none() {
        Health::NotConfigured
    } else if route_error_bp > 100 {
        Health::Degraded
    } else {
        Health::Ok
    };
    health.push(HealthCheck {
        name: "switch".into(),
        label: "Switch (routing API and CDRs)".into(),
        health: switch_health,
        latency_us: None,
        detail: format!(
            "{}; routing API: {} requests in the last {}, {} failed",
            last_cdr.map_or("no CDR received yet".to_owned(), |t| format!(
                "last CDR {} s ago",
                secs_since(now, t)
            )),
            route.map_or(0, |r| r.count),
            window_text(window),
            route.map_or(0, |r| r.errors)
        ),
        last_error: None,
        last_error_at: None,
    });

    let database = database_info(ctx, previous, cycle).await?;

    // Integrations.
    let mut integrations = vec![
        integration_from(
            "routing_api",
            "Switch: routing API",
            route,
            previous,
            format!(
                "POST /api/v1/route, p99 {}",
                domain::status::format_latency(route.map_or(0, |r| quantile_us(&r.sketch, 0.99)))
            ),
        ),
        integration_from(
            "cdr_ingest",
            "Switch: CDR ingest",
            op("api", CDR_API),
            previous,
            last_cdr.map_or("no CDR received yet".to_owned(), |t| {
                format!("last CDR at {} UTC", t.format("%Y-%m-%d %H:%M:%S"))
            }),
        ),
        mail,
    ];
    for source in cdr_pull_source::Entity::find()
        .order_by_asc(cdr_pull_source::Column::Name)
        .all(db)
        .await?
    {
        let name = crate::cdrs::pull::integration_name(source.id);
        let (calls, errors) = op("integration", &name).map_or((0, 0), |a| (a.count, a.errors));
        integrations.push(Integration {
            name,
            label: format!("CDR pull: {}", source.name),
            configured: source.enabled,
            last_ok_at: source.last_success_at.map(rfc),
            last_error_at: (!source.last_error.is_empty())
                .then_some(source.last_run_at.map(rfc))
                .flatten(),
            last_error: (!source.last_error.is_empty()).then(|| source.last_error.clone()),
            calls,
            errors,
            error_bp: basis_points(errors, calls),
            detail: format!(
                "{} records pulled in all; every {} s{}",
                source.pulled_total,
                source.interval_secs,
                if source.enabled { "" } else { " (paused)" }
            ),
        });
    }

    // Portals.
    let day = ago(now, Duration::from_secs(86_400));
    let (sign_ins, failures): (Option<i64>, Option<i64>) = status_sample::Entity::find()
        .select_only()
        // SUM of a bigint is NUMERIC on PostgreSQL: cast back.
        .column_as(Expr::cust("CAST(SUM(\"count\") AS BIGINT)"), "n")
        .column_as(Expr::cust("CAST(SUM(\"errors\") AS BIGINT)"), "e")
        .filter(status_sample::Column::Kind.eq("auth"))
        .filter(status_sample::Column::FlushedAt.gt(day))
        .into_tuple::<(Option<i64>, Option<i64>)>()
        .one(db)
        .await?
        .unwrap_or((None, None));
    let portals = PortalsInfo {
        sign_ins_24h: sign_ins.unwrap_or(0) - failures.unwrap_or(0),
        sign_in_failures_24h: failures.unwrap_or(0),
        active_sessions: session::Entity::find()
            .filter(session::Column::ExpiresAt.gt(now))
            .count(db)
            .await? as i64,
    };

    // Metrics for the rules.
    let mut metrics: Vec<(String, f64)> = Vec::new();
    let mut put = |k: &str, v: f64| metrics.push((k.to_owned(), v));
    let up = |name: &str| health.iter().find(|h| h.name == name).map(|h| h.health);
    put("database.up", 1.0);
    if redis_configured {
        put("redis.up", f64::from(up("redis") == Some(Health::Ok)));
    }
    put("storage.up", f64::from(storage_up));
    if ctx.mailer.is_some() {
        put("mail.up", f64::from(up("mail") == Some(Health::Ok)));
    }
    put("jobs.queued", jobs.queued as f64);
    put("jobs.oldest_queued_s", oldest as f64);
    put("jobs.failed_1h", jobs.failed_1h as f64);
    put("jobs.workers_alive", workers_alive as f64);
    if let Some(t) = last_cdr {
        put("switch.last_cdr_age_s", secs_since(now, t) as f64);
    }
    if let Some(r) = route {
        put("route.error_pct", route_error_bp as f64 / 100.0);
        put("route.p99_ms", quantile_us(&r.sketch, 0.99) as f64 / 1000.0);
    }
    let served: Vec<&OperationStats> = operations
        .iter()
        .filter(|o| matches!(o.kind.as_str(), "page" | "fn" | "api"))
        .collect();
    let requests: i64 = served.iter().map(|o| o.count).sum();
    if requests > 0 {
        let errors: i64 = served.iter().map(|o| o.errors).sum();
        put(
            "http.error_pct",
            basis_points(errors, requests) as f64 / 100.0,
        );
    }
    let breached: Vec<String> = operations
        .iter()
        .filter(|o| o.breached)
        .map(|o| format!("{} {}", o.kind, o.name))
        .collect();
    put("budgets.breached", breached.len() as f64);
    put("mail.failed_1h", mail_failed_1h as f64);
    put("db.connections_in_use", database.pool_in_use as f64);
    put(alerts::COLLECTOR_AGE, 0.0);

    // Alerts, then the level.
    alerts::evaluate(db, &metrics, now, None).await?;
    let open = alerts::unresolved(db).await?;
    let critical: Vec<&str> = open
        .iter()
        .filter(|a| a.severity == "critical")
        .map(|a| a.name.as_str())
        .collect();
    let warning: Vec<&str> = open
        .iter()
        .filter(|a| a.severity != "critical")
        .map(|a| a.name.as_str())
        .collect();
    let mut core_down = Vec::new();
    if up("redis") == Some(Health::Down) {
        core_down.push("Redis");
    }
    if job_health == Health::Down {
        core_down.push("The job queue (no live worker)");
    }
    let (global, reasons) = level(&LevelInputs {
        critical_alerts: critical.clone(),
        warning_alerts: warning.clone(),
        core_down,
        breached,
    });

    let w = window_text(window);
    let admin: Vec<&OperationStats> = operations
        .iter()
        .filter(|o| {
            (o.kind == "page" && o.name.starts_with("/admin"))
                || (o.kind == "fn" && !o.name.starts_with("/fn/portal"))
        })
        .collect();
    let customer: Vec<&OperationStats> = operations
        .iter()
        .filter(|o| {
            (o.kind == "page" && o.name.starts_with("/portal"))
                || (o.kind == "fn" && o.name.starts_with("/fn/portal"))
        })
        .collect();
    let api: Vec<&OperationStats> = operations.iter().filter(|o| o.kind == "api").collect();
    let layers = vec![
        layer_from_ops("Admin portal", &admin, &w),
        layer_from_ops("Customer portal", &customer, &w),
        layer_from_ops("Switch API (/api/v1)", &api, &w),
        layer_from_check(
            "Database",
            health.iter().find(|h| h.name == "database"),
            Level::Red,
        ),
        layer_from_check(
            "Redis",
            health.iter().find(|h| h.name == "redis"),
            Level::Red,
        ),
        layer_from_check(
            "File store",
            health.iter().find(|h| h.name == "storage"),
            Level::Red,
        ),
        layer_from_check(
            "Job queue",
            health.iter().find(|h| h.name == "jobs"),
            Level::Red,
        ),
        layer_from_check(
            "Mail",
            health.iter().find(|h| h.name == "mail"),
            Level::Yellow,
        ),
        layer_from_check(
            "Switch integration",
            health.iter().find(|h| h.name == "switch"),
            Level::Yellow,
        ),
    ];

    operations.sort_by(|a, b| (&a.kind, &a.name).cmp(&(&b.kind, &b.name)));
    let mut snapshot = Snapshot {
        taken_at: rfc(now),
        period_secs: ctx.period.as_secs() as i64,
        window_secs: window.as_secs() as i64,
        level: Some(global),
        reasons,
        layers,
        health,
        operations,
        database,
        jobs,
        cache: CacheInfo {
            caches,
            redis: redis_info,
            storage,
        },
        integrations,
        portals,
        alerts: AlertCounts {
            critical: critical.len() as i64,
            warning: warning.len() as i64,
        },
        metrics,
        collect_ms: 0,
    };
    if let Some(s) = db_statements {
        snapshot.operations.push(s);
    }
    snapshot.collect_ms = started.elapsed().as_millis() as i64;
    Ok(snapshot)
}

fn db_name(db: &DatabaseConnection) -> &'static str {
    match db.get_database_backend() {
        DatabaseBackend::Postgres => "PostgreSQL",
        _ => "SQLite",
    }
}

/// Stores `snapshot` and its operations' series; returns the snapshot's id and size.
///
/// Errors: the database's.
pub async fn store(db: &DatabaseConnection, snapshot: &Snapshot) -> ServiceResult<(i64, i64)> {
    let now = Utc::now();
    let taken_at = parse_time(&Some(snapshot.taken_at.clone())).unwrap_or(now);
    let body = serde_json::to_string(snapshot)
        .map_err(|e| crate::ServiceError::Internal(format!("snapshot: {e}")))?;
    let bytes = body.len() as i64;
    let txn = crate::db::begin_write(db).await?;
    let id = status_snapshot::Entity::insert(status_snapshot::ActiveModel {
        id: NotSet,
        taken_at: Set(taken_at),
        resolution: Set("minute".into()),
        level: Set(snapshot.level.map_or("green", |l| l.as_str()).to_owned()),
        body: Set(body),
        bytes: Set(bytes),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec(&txn)
    .await?
    .last_insert_id;
    let series: Vec<status_metric::ActiveModel> = snapshot
        .operations
        .iter()
        .filter(|o| o.count > 0)
        .map(|o| status_metric::ActiveModel {
            id: NotSet,
            taken_at: Set(taken_at),
            resolution: Set("minute".into()),
            kind: Set(o.kind.clone()),
            name: Set(o.name.clone()),
            per_min_milli: Set(o.per_min_milli),
            error_bp: Set(o.error_bp),
            p50_us: Set(o.p50_us),
            p95_us: Set(o.p95_us),
            p99_us: Set(o.p99_us),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .collect();
    for chunk in series.chunks(200) {
        status_metric::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok((id, bytes))
}

/// Retention: samples for 25 hours, errors and slow queries 7 days, snapshots and
/// series at full resolution 7 days then one per hour for 90 days, resolved alerts and
/// instances 90 days. At most a bounded amount of downsampling per call, so a cycle
/// stays short; what is left is done by the next.
///
/// Errors: the database's.
pub async fn retain(db: &DatabaseConnection, now: DateTime<Utc>) -> ServiceResult<()> {
    use crate::entity::{status_alert, status_error};
    let day = Duration::from_secs(86_400);
    status_sample::Entity::delete_many()
        .filter(status_sample::Column::FlushedAt.lt(ago(now, day + Duration::from_secs(3600))))
        .exec(db)
        .await?;
    status_error::Entity::delete_many()
        .filter(status_error::Column::OccurredAt.lt(ago(now, day * 7)))
        .exec(db)
        .await?;
    status_slow_query::Entity::delete_many()
        .filter(status_slow_query::Column::OccurredAt.lt(ago(now, day * 7)))
        .exec(db)
        .await?;
    let old = ago(now, day * 90);
    status_snapshot::Entity::delete_many()
        .filter(status_snapshot::Column::TakenAt.lt(old))
        .exec(db)
        .await?;
    status_metric::Entity::delete_many()
        .filter(status_metric::Column::TakenAt.lt(old))
        .exec(db)
        .await?;
    status_alert::Entity::delete_many()
        .filter(status_alert::Column::ResolvedAt.lt(old))
        .exec(db)
        .await?;
    status_instance::Entity::delete_many()
        .filter(status_instance::Column::LastSeenAt.lt(old))
        .exec(db)
        .await?;
    downsample(db, ago(now, day * 7)).await
}

fn hour_of(t: DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(3600)
}

/// Minute snapshots and series older than `cutoff`, whole hours at a time, become one
/// row per hour: the hour's last snapshot with the hour's worst level; per operation
/// the mean rate and the worst minute's error share and percentiles.
pub async fn downsample(db: &DatabaseConnection, cutoff: DateTime<Utc>) -> ServiceResult<()> {
    // Only whole hours: the cutoff's own hour waits until it is over.
    let cutoff = DateTime::from_timestamp(hour_of(cutoff) * 3600, 0).unwrap_or(cutoff);
    let snaps: Vec<(i64, DateTime<Utc>, String)> = status_snapshot::Entity::find()
        .select_only()
        .column(status_snapshot::Column::Id)
        .column(status_snapshot::Column::TakenAt)
        .column(status_snapshot::Column::Level)
        .filter(status_snapshot::Column::Resolution.eq("minute"))
        .filter(status_snapshot::Column::TakenAt.lt(cutoff))
        .order_by_asc(status_snapshot::Column::TakenAt)
        .limit(5_000)
        .into_tuple()
        .all(db)
        .await?;
    let full = snaps.len() == 5_000;
    let rank = |l: &str| match l {
        "red" => 2,
        "yellow" => 1,
        _ => 0,
    };
    let mut hours: BTreeMap<i64, Vec<(i64, String)>> = BTreeMap::new();
    for (id, at, level) in snaps {
        hours.entry(hour_of(at)).or_default().push((id, level));
    }
    if full {
        // The batch may have cut its last hour short: that hour waits for the next.
        hours.pop_last();
    }
    let txn = crate::db::begin_write(db).await?;
    for rows in hours.values() {
        let (keep, _) = rows.last().expect("non-empty");
        let worst = rows
            .iter()
            .map(|(_, l)| l.as_str())
            .max_by_key(|l| rank(l))
            .unwrap_or("green")
            .to_owned();
        status_snapshot::Entity::update_many()
            .col_expr(status_snapshot::Column::Resolution, Expr::value("hour"))
            .col_expr(status_snapshot::Column::Level, Expr::value(worst))
            .filter(status_snapshot::Column::Id.eq(*keep))
            .exec(&txn)
            .await?;
        let drop: Vec<i64> = rows[..rows.len() - 1].iter().map(|(id, _)| *id).collect();
        for chunk in drop.chunks(500) {
            status_snapshot::Entity::delete_many()
                .filter(status_snapshot::Column::Id.is_in(chunk.to_vec()))
                .exec(&txn)
                .await?;
        }
    }
    let series = status_metric::Entity::find()
        .filter(status_metric::Column::Resolution.eq("minute"))
        .filter(status_metric::Column::TakenAt.lt(cutoff))
        .order_by_asc(status_metric::Column::TakenAt)
        .limit(20_000)
        .all(&txn)
        .await?;
    let mut series = series;
    if series.len() == 20_000 {
        let last = hour_of(series[series.len() - 1].taken_at);
        series.retain(|m| hour_of(m.taken_at) != last);
    }
    if !series.is_empty() {
        let mut groups: HashMap<(i64, String, String), Vec<&status_metric::Model>> = HashMap::new();
        for m in &series {
            groups
                .entry((hour_of(m.taken_at), m.kind.clone(), m.name.clone()))
                .or_default()
                .push(m);
        }
        let now = Utc::now();
        let hourly: Vec<status_metric::ActiveModel> = groups
            .into_iter()
            .map(|((hour, kind, name), rows)| {
                let n = rows.len() as i64;
                status_metric::ActiveModel {
                    id: NotSet,
                    taken_at: Set(DateTime::from_timestamp(hour * 3600, 0).unwrap_or(now)),
                    resolution: Set("hour".into()),
                    kind: Set(kind),
                    name: Set(name),
                    per_min_milli: Set(rows.iter().map(|r| r.per_min_milli).sum::<i64>() / n),
                    error_bp: Set(rows.iter().map(|r| r.error_bp).max().unwrap_or(0)),
                    p50_us: Set(rows.iter().map(|r| r.p50_us).max().unwrap_or(0)),
                    p95_us: Set(rows.iter().map(|r| r.p95_us).max().unwrap_or(0)),
                    p99_us: Set(rows.iter().map(|r| r.p99_us).max().unwrap_or(0)),
                    created_at: Set(now),
                    updated_at: Set(now),
                }
            })
            .collect();
        for chunk in hourly.chunks(200) {
            status_metric::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(&txn)
                .await?;
        }
        let ids: Vec<i64> = series.iter().map(|m| m.id).collect();
        for chunk in ids.chunks(500) {
            status_metric::Entity::delete_many()
                .filter(status_metric::Column::Id.is_in(chunk.to_vec()))
                .exec(&txn)
                .await?;
        }
    }
    txn.commit().await?;
    Ok(())
}
