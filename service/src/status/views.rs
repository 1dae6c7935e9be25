//! What the System Status pages read: the newest snapshot and its age, the sidebar's
//! badge, trends, recent errors, slow statements, failed jobs and deploys. Each is one
//! or two indexed queries; nothing is measured here.

use chrono::{DateTime, Utc};
use domain::status::{
    staleness, DeployRow, ErrorRow, FailedJobRow, Level, SlowQueryRow, Snapshot, StatusBadge,
    StatusView, Trend,
};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::alerts;
use crate::entity::{
    job, status_budget, status_error, status_instance, status_metric, status_slow_query,
    status_snapshot,
};
use crate::ServiceResult;

fn rfc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The newest snapshot, if any.
pub async fn newest(db: &DatabaseConnection) -> ServiceResult<Option<Snapshot>> {
    Ok(newest_with_time(db).await?.map(|(_, s)| s))
}

/// The newest snapshot and when it was taken (the row's time, which the age counts
/// from).
pub async fn newest_with_time(
    db: &DatabaseConnection,
) -> ServiceResult<Option<(DateTime<Utc>, Snapshot)>> {
    let row = status_snapshot::Entity::find()
        .order_by_desc(status_snapshot::Column::TakenAt)
        .one(db)
        .await?;
    Ok(row.and_then(|r| serde_json::from_str(&r.body).ok().map(|s| (r.taken_at, s))))
}

/// When the newest snapshot was taken, and its level.
pub async fn newest_time(
    db: &DatabaseConnection,
) -> ServiceResult<Option<(DateTime<Utc>, String)>> {
    Ok(status_snapshot::Entity::find()
        .select_only()
        .column(status_snapshot::Column::TakenAt)
        .column(status_snapshot::Column::Level)
        .order_by_desc(status_snapshot::Column::TakenAt)
        .into_tuple::<(DateTime<Utc>, String)>()
        .one(db)
        .await?)
}

/// The newest snapshot with its age and staleness, for a collector of `period_secs`.
pub async fn view(db: &DatabaseConnection, period_secs: i64) -> ServiceResult<StatusView> {
    let now = Utc::now();
    let newest = newest_with_time(db).await?;
    let age = newest
        .as_ref()
        .map(|(t, _)| (now - *t).num_seconds().max(0));
    let snapshot = newest.map(|(_, s)| s);
    Ok(StatusView {
        staleness: staleness(age, period_secs),
        age_secs: age,
        snapshot,
        period_secs,
        read_at: rfc(now),
    })
}

/// The sidebar's dot: the newest level, unresolved alerts, staleness.
pub async fn badge(db: &DatabaseConnection, period_secs: i64) -> ServiceResult<StatusBadge> {
    let now = Utc::now();
    let newest = newest_time(db).await?;
    let age = newest
        .as_ref()
        .map(|(t, _)| (now - *t).num_seconds().max(0));
    Ok(StatusBadge {
        level: newest.as_ref().and_then(|(_, l)| Level::parse(l)),
        unresolved_alerts: alerts::unresolved_count(db).await?,
        staleness: staleness(age, period_secs),
        taken_at: newest.map(|(t, _)| rfc(t)),
    })
}

/// `kind`/`name` over the last `hours` (1..=2160): minute points, then hourly ones
/// where the minutes were downsampled; with the budget in force.
pub async fn trend(
    db: &DatabaseConnection,
    kind: &str,
    name: &str,
    hours: i64,
) -> ServiceResult<Trend> {
    let since = Utc::now() - chrono::Duration::hours(hours.clamp(1, 2160));
    let rows = status_metric::Entity::find()
        .filter(status_metric::Column::Kind.eq(kind))
        .filter(status_metric::Column::Name.eq(name))
        .filter(status_metric::Column::TakenAt.gt(since))
        .order_by_asc(status_metric::Column::TakenAt)
        .limit(3000)
        .all(db)
        .await?;
    let budgets: Vec<status_budget::Model> = super::budgets::list(db).await?;
    let mut t = Trend {
        kind: kind.into(),
        name: name.into(),
        budget: super::budgets::effective(&budgets, kind, name),
        ..Default::default()
    };
    for r in rows {
        let at = rfc(r.taken_at);
        t.p50.push((at.clone(), r.p50_us));
        t.p95.push((at.clone(), r.p95_us));
        t.p99.push((at.clone(), r.p99_us));
        t.per_min.push((at.clone(), r.per_min_milli));
        t.errors.push((at, r.error_bp));
    }
    Ok(t)
}

/// The newest failed requests (at most `limit`, 1..=500).
pub async fn recent_errors(db: &DatabaseConnection, limit: u64) -> ServiceResult<Vec<ErrorRow>> {
    Ok(status_error::Entity::find()
        .order_by_desc(status_error::Column::OccurredAt)
        .limit(limit.clamp(1, 500))
        .all(db)
        .await?
        .into_iter()
        .map(|e| ErrorRow {
            occurred_at: rfc(e.occurred_at),
            kind: e.kind,
            name: e.name,
            status_code: e.status_code,
            correlation_id: e.correlation_id,
            instance: e.instance,
        })
        .collect())
}

/// The newest slow statements (at most `limit`, 1..=200).
pub async fn slow_queries(db: &DatabaseConnection, limit: u64) -> ServiceResult<Vec<SlowQueryRow>> {
    Ok(status_slow_query::Entity::find()
        .order_by_desc(status_slow_query::Column::OccurredAt)
        .limit(limit.clamp(1, 200))
        .all(db)
        .await?
        .into_iter()
        .map(|q| SlowQueryRow {
            id: q.id,
            occurred_at: rfc(q.occurred_at),
            elapsed_us: q.elapsed_us,
            statement: q.statement,
            plan: q.plan,
        })
        .collect())
}

/// The newest failed jobs (at most `limit`, 1..=200).
pub async fn failed_jobs(db: &DatabaseConnection, limit: u64) -> ServiceResult<Vec<FailedJobRow>> {
    Ok(job::Entity::find()
        .filter(job::Column::Status.eq(crate::jobs::status::FAILED))
        .order_by_desc(job::Column::Id)
        .limit(limit.clamp(1, 200))
        .all(db)
        .await?
        .into_iter()
        .map(|j| FailedJobRow {
            id: j.id,
            kind: j.kind,
            attempts: j.attempts,
            error: j.last_error,
            finished_at: j.finished_at.map(rfc),
        })
        .collect())
}

/// Instance starts, newest first (at most `limit`, 1..=200).
pub async fn deploys(db: &DatabaseConnection, limit: u64) -> ServiceResult<Vec<DeployRow>> {
    Ok(status_instance::Entity::find()
        .order_by_desc(status_instance::Column::StartedAt)
        .limit(limit.clamp(1, 200))
        .all(db)
        .await?
        .into_iter()
        .map(|i| DeployRow {
            instance: i.id,
            host: i.host,
            pid: i.pid,
            version: i.version,
            started_at: rfc(i.started_at),
            last_seen_at: rfc(i.last_seen_at),
            workers: i.workers,
            database: i.database,
            kv: i.kv,
        })
        .collect())
}
