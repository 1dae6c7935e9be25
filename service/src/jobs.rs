//! Durable jobs in the database (DESIGN.md "Backends"): enqueue in the same transaction
//! as the change that needs the work, claim one at a time, heartbeat while running,
//! retry with back-off, and give a crashed worker's job to another after
//! [`STALE_AFTER`].
//!
//! Claiming is one statement: `UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED)
//! RETURNING *` on PostgreSQL, so any number of workers on any number of machines take
//! distinct jobs; the same statement without the lock clause on SQLite, which has one
//! writer at a time anyway.
//!
//! Handlers are idempotent: a job that ran halfway before a crash runs again from the
//! start (imports publish in one transaction, so a rerun finds either nothing or
//! everything done).

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection,
    EntityTrait, FromQueryResult, QueryFilter, QuerySelect, Set, Statement,
};
use serde::Serialize;

use crate::entity::job;
use crate::ServiceResult;

/// A running job whose worker has not sent a heartbeat for this long is claimed again.
pub const STALE_AFTER: Duration = Duration::from_secs(60);
/// How often a worker marks its running job alive.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(10);

/// Job states, as stored.
pub mod status {
    pub const QUEUED: &str = "queued";
    pub const RUNNING: &str = "running";
    pub const DONE: &str = "done";
    pub const FAILED: &str = "failed";
}

/// Queues a job of `kind` with `payload` (JSON), runnable now. Call it inside the
/// transaction of the change that needs it, so both happen or neither.
pub async fn enqueue<C: ConnectionTrait, P: Serialize>(
    db: &C,
    kind: &str,
    payload: &P,
) -> ServiceResult<i64> {
    let now = Utc::now();
    let job = job::ActiveModel {
        kind: Set(kind.to_owned()),
        payload: Set(serde_json::to_string(payload).unwrap_or_else(|_| "null".into())),
        status: Set(status::QUEUED.into()),
        attempts: Set(0),
        max_attempts: Set(3),
        run_after: Set(now),
        worker: Set(None),
        heartbeat_at: Set(None),
        last_error: Set(String::new()),
        finished_at: Set(None),
        started_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(job.id)
}

/// Claims the oldest runnable job for `worker`, if any, first returning stale running
/// jobs to the queue. The claimed job is `running` with its attempt counted.
pub async fn claim(db: &DatabaseConnection, worker: &str) -> ServiceResult<Option<job::Model>> {
    requeue_stale(db).await?;
    let backend = db.get_database_backend();
    let now = Utc::now();
    // An idle poll only reads: on SQLite a write every poll would contend for the one
    // write lock with the requests people are waiting on.
    let runnable = job::Entity::find()
        .select_only()
        .column(job::Column::Id)
        .filter(job::Column::Status.eq(status::QUEUED))
        .filter(job::Column::RunAfter.lte(now))
        .into_tuple::<i64>()
        .one(db)
        .await?;
    if runnable.is_none() {
        return Ok(None);
    }
    let lock = match backend {
        DatabaseBackend::Postgres => " FOR UPDATE SKIP LOCKED",
        _ => "",
    };
    let sql = format!(
        "UPDATE jobs SET status = $1, worker = $2, attempts = attempts + 1, heartbeat_at = $3, started_at = $3, updated_at = $3 \
         WHERE id = (SELECT id FROM jobs WHERE status = $4 AND run_after <= $3 ORDER BY id LIMIT 1{lock}) \
         RETURNING *"
    );
    let sql = match backend {
        DatabaseBackend::Sqlite => sql.replace('$', "?"),
        _ => sql,
    };
    // SQLite's `?NNN` placeholders are numbered like PostgreSQL's `$NNN`.
    let values: Vec<sea_orm::Value> = vec![
        status::RUNNING.into(),
        worker.into(),
        now.into(),
        status::QUEUED.into(),
    ];
    let stmt = Statement::from_sql_and_values(backend, sql, values);
    Ok(job::Model::find_by_statement(stmt).one(db).await?)
}

async fn requeue_stale(db: &DatabaseConnection) -> ServiceResult<()> {
    let cutoff: DateTime<Utc> =
        Utc::now() - chrono::Duration::from_std(STALE_AFTER).expect("small");
    job::Entity::update_many()
        .col_expr(job::Column::Status, status::QUEUED.into())
        .col_expr(job::Column::Worker, Option::<String>::None.into())
        .col_expr(
            job::Column::LastError,
            "the worker stopped answering".into(),
        )
        .filter(job::Column::Status.eq(status::RUNNING))
        .filter(job::Column::HeartbeatAt.lt(cutoff))
        .exec(db)
        .await?;
    Ok(())
}

/// Marks `id` alive.
pub async fn heartbeat(db: &DatabaseConnection, id: i64) -> ServiceResult<()> {
    let now = Utc::now();
    job::Entity::update_many()
        .col_expr(job::Column::HeartbeatAt, now.into())
        .filter(job::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Marks `id` done.
pub async fn complete(db: &DatabaseConnection, id: i64) -> ServiceResult<()> {
    let now = Utc::now();
    job::Entity::update_many()
        .col_expr(job::Column::Status, status::DONE.into())
        .col_expr(job::Column::FinishedAt, Some(now).into())
        .col_expr(job::Column::UpdatedAt, now.into())
        .filter(job::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Records a failed attempt: back to the queue after `2^attempts` seconds while attempts
/// remain, else `failed`. `retry: false` fails it at once (the input is bad, not the
/// moment). Returns whether it will run again.
pub async fn fail(
    db: &DatabaseConnection,
    job: &job::Model,
    error: &str,
    retry: bool,
) -> ServiceResult<bool> {
    let now = Utc::now();
    let again = retry && job.attempts < job.max_attempts;
    let error: String = error.chars().take(2000).collect();
    let mut update = job::Entity::update_many()
        .col_expr(job::Column::LastError, error.into())
        .col_expr(job::Column::UpdatedAt, now.into())
        .col_expr(job::Column::Worker, Option::<String>::None.into());
    update = if again {
        let delay = chrono::Duration::seconds(1 << job.attempts.clamp(0, 10));
        update
            .col_expr(job::Column::Status, status::QUEUED.into())
            .col_expr(job::Column::RunAfter, (now + delay).into())
    } else {
        update
            .col_expr(job::Column::Status, status::FAILED.into())
            .col_expr(job::Column::FinishedAt, Some(now).into())
    };
    update.filter(job::Column::Id.eq(job.id)).exec(db).await?;
    Ok(again)
}

/// Queues failed job `id` again with its attempts reset (System Status → Jobs → Retry),
/// audited (`job`). Its handler runs from the start, as handlers are idempotent.
///
/// Errors: `NotFound("job")`; `Conflict` when it has not failed.
pub async fn retry(
    db: &DatabaseConnection,
    actor: &crate::audit::Actor,
    id: i64,
) -> ServiceResult<()> {
    let txn = crate::db::begin_write(db).await?;
    let before = job::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(crate::ServiceError::NotFound("job"))?;
    if before.status != status::FAILED {
        return Err(crate::ServiceError::Conflict(format!(
            "job {id} is {}; only a failed job can be retried",
            before.status
        )));
    }
    let now = Utc::now();
    let active = job::ActiveModel {
        id: Set(id),
        status: Set(status::QUEUED.into()),
        attempts: Set(0),
        run_after: Set(now),
        finished_at: Set(None),
        updated_at: Set(now),
        ..Default::default()
    };
    crate::audit::save(&txn, actor, "job", None, Some(&before), active).await?;
    txn.commit().await?;
    Ok(())
}

/// What job handlers need.
#[derive(Clone, Debug)]
pub struct JobContext {
    pub db: DatabaseConnection,
    pub files: crate::files::Files,
    /// The key-value store the router keeps calls in progress in: a CDR file's calls
    /// give back what they held ([`crate::cdrs::ingest_and_release`]).
    pub kv: crate::kv::Kv,
}

/// How a handler failed.
#[derive(Debug)]
pub enum JobError {
    /// Worth another attempt (database or file store trouble).
    Retry(String),
    /// The input is bad; the handler has recorded why where people see it.
    Final(String),
}

impl From<crate::ServiceError> for JobError {
    fn from(e: crate::ServiceError) -> Self {
        match e {
            crate::ServiceError::Database(_)
            | crate::ServiceError::Kv(_)
            | crate::ServiceError::Internal(_) => JobError::Retry(e.to_string()),
            other => JobError::Final(other.to_string()),
        }
    }
}

async fn dispatch(ctx: &JobContext, job: &job::Model) -> Result<(), JobError> {
    match job.kind.as_str() {
        crate::rate_plans::import::READ_JOB | crate::rate_plans::import::PUBLISH_JOB => {
            crate::rate_plans::import::run_job(ctx, job).await
        }
        crate::cdrs::files::IMPORT_JOB => crate::cdrs::files::run_job(ctx, job).await,
        crate::cdrs::export::EXPORT_JOB => crate::cdrs::export::run_job(ctx, job).await,
        crate::cdrs::rerate::RERATE_JOB => crate::cdrs::rerate::run_job(ctx, job).await,
        other => Err(JobError::Final(format!("unknown job kind `{other}`"))),
    }
}

/// Claims and runs one job as `worker`, heartbeating while it runs. `Ok(false)` when
/// nothing was runnable.
pub async fn run_one(ctx: &JobContext, worker: &str) -> ServiceResult<bool> {
    let Some(job) = claim(&ctx.db, worker).await? else {
        return Ok(false);
    };
    let beat = {
        let db = ctx.db.clone();
        let id = job.id;
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(HEARTBEAT_EVERY);
            tick.tick().await;
            loop {
                tick.tick().await;
                if let Err(e) = heartbeat(&db, id).await {
                    tracing::warn!(job = id, error = %e, "job heartbeat failed");
                }
            }
        })
    };
    let span = tracing::info_span!("job", id = job.id, kind = %job.kind);
    let started = std::time::Instant::now();
    let result = {
        use tracing::Instrument;
        dispatch(ctx, &job).instrument(span).await
    };
    beat.abort();
    let outcome = match &result {
        Ok(()) => "done",
        Err(_) => "failed",
    };
    metrics::histogram!("didtron_job_seconds", "kind" => job.kind.clone(), "outcome" => outcome)
        .record(started.elapsed().as_secs_f64());
    match result {
        Ok(()) => complete(&ctx.db, job.id).await?,
        Err(JobError::Retry(e)) => {
            tracing::warn!(job = job.id, kind = %job.kind, error = %e, "job failed; will retry");
            fail(&ctx.db, &job, &e, true).await?;
        }
        Err(JobError::Final(e)) => {
            tracing::info!(job = job.id, kind = %job.kind, error = %e, "job failed");
            fail(&ctx.db, &job, &e, false).await?;
        }
    }
    Ok(true)
}

/// Runs jobs until none is runnable; returns how many ran (tests, the CLI).
pub async fn run_until_idle(ctx: &JobContext, worker: &str) -> ServiceResult<usize> {
    let mut ran = 0;
    while run_one(ctx, worker).await? {
        ran += 1;
    }
    Ok(ran)
}

/// The worker loop `didtron serve` runs: claim and run jobs, polling every `idle` when
/// the queue is empty, until `stop` turns true.
pub async fn work(
    ctx: JobContext,
    worker: String,
    idle: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        if *stop.borrow() {
            return;
        }
        match run_one(&ctx, &worker).await {
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => tracing::error!(error = %e, "job queue unavailable"),
        }
        tokio::select! {
            _ = tokio::time::sleep(idle) => {}
            _ = stop.changed() => {}
        }
    }
}
