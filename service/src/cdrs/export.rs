//! CDR CSV exports: the CDR list's filters written to a CSV file by a background job
//! (any number of rows, read in keyset pages of [`PAGE`]), kept in the file store and
//! downloaded from the CDRs page (`GET /admin/cdr-exports/{id}/cdrs.csv`).
//!
//! Columns ([`COLUMNS`]): money as decimals of the CDR's currency (revenue and cost
//! empty unless rated), times RFC 3339 UTC, durations in seconds with milliseconds.

use chrono::Utc;
use domain::cdr::views::{CdrExportView, CdrQuery};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::{Deserialize, Serialize};

use super::views::{carrier_names, filtered, rfc3339};
use crate::audit::Actor;
use crate::entity::{cdr_export, job};
use crate::jobs::{self, JobContext, JobError};
use crate::rate_plans::rate_text;
use crate::{ServiceError, ServiceResult};

/// Job kind of a CDR export.
pub const EXPORT_JOB: &str = "cdr_export";
/// CDRs read per round trip.
const PAGE: u64 = 5_000;
/// Most rows one export holds (the file is built in memory).
pub const MAX_ROWS: i64 = 2_000_000;

/// The header row of an export.
pub const COLUMNS: [&str; 30] = [
    "id",
    "call_id",
    "leg",
    "status",
    "reason",
    "setup_at",
    "answer_at",
    "end_at",
    "duration_s",
    "pdd_ms",
    "sip_code",
    "disposition",
    "a_number",
    "b_dialled",
    "b_number",
    "customer",
    "customer_prefix",
    "customer_destination",
    "sell_rate",
    "customer_billed_s",
    "revenue",
    "supplier",
    "supplier_prefix",
    "supplier_destination",
    "buy_rate",
    "supplier_billed_s",
    "cost",
    "margin",
    "currency",
    "source_ip",
];

#[derive(Serialize, Deserialize)]
struct JobPayload {
    export_id: i64,
}

/// Queues an export of the CDRs `query` selects (its page cursor and size ignored),
/// audited as `actor`'s.
///
/// Errors: `Validation` on the query's fields (see `views::cdr_page`).
pub async fn request(
    db: &DatabaseConnection,
    actor: &Actor,
    query: &CdrQuery,
) -> ServiceResult<cdr_export::Model> {
    let query = CdrQuery {
        after: String::new(),
        limit: 0,
        ..query.clone()
    };
    filtered(&query)?;
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await?;
    let model = cdr_export::ActiveModel {
        query: Set(
            serde_json::to_string(&query).map_err(|e| ServiceError::Internal(e.to_string()))?
        ),
        status: Set("queued".into()),
        rows_done: Set(0),
        file_key: Set(String::new()),
        file_size: Set(0),
        error: Set(String::new()),
        created_by: Set(actor.email.clone()),
        started_at: Set(None),
        finished_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    crate::audit::record_change(
        &txn,
        actor,
        "cdr_export",
        model.id,
        None,
        None,
        Some(&model),
    )
    .await?;
    jobs::enqueue(
        &txn,
        EXPORT_JOB,
        &JobPayload {
            export_id: model.id,
        },
    )
    .await?;
    txn.commit().await?;
    Ok(model)
}

async fn set_state(
    db: &DatabaseConnection,
    model: &cdr_export::Model,
    status: &str,
    rows: i64,
    file: Option<(&str, i64)>,
    error: &str,
) -> ServiceResult<()> {
    let now = Utc::now();
    let mut active: cdr_export::ActiveModel = model.clone().into();
    active.status = Set(status.into());
    active.rows_done = Set(rows);
    active.error = Set(error.chars().take(2000).collect());
    active.updated_at = Set(now);
    if model.started_at.is_none() {
        active.started_at = Set(Some(now));
    }
    if let Some((key, size)) = file {
        active.file_key = Set(key.into());
        active.file_size = Set(size);
    }
    if matches!(status, "done" | "failed") {
        active.finished_at = Set(Some(now));
    }
    active.update(db).await?;
    Ok(())
}

fn money(billed: bool, micros: i64) -> String {
    if billed {
        rate_text(micros)
    } else {
        String::new()
    }
}

/// Writes export `id`'s CSV (see the module documentation) and stores it.
pub async fn run_export(ctx: &JobContext, id: i64) -> Result<(), JobError> {
    let model = cdr_export::Entity::find_by_id(id)
        .one(&ctx.db)
        .await
        .map_err(crate::ServiceError::from)?
        .ok_or_else(|| JobError::Final(format!("export {id} is gone")))?;
    if model.status == "done" {
        return Ok(());
    }
    let query: CdrQuery = serde_json::from_str(&model.query).unwrap_or_default();
    let mut out = csv::Writer::from_writer(Vec::new());
    let io = |e: csv::Error| JobError::Retry(format!("writing the CSV: {e}"));
    out.write_record(COLUMNS).map_err(io)?;
    let mut rows = 0i64;
    let mut after: Option<i64> = None;
    set_state(&ctx.db, &model, "running", 0, None, "").await?;
    loop {
        let mut select = filtered(&query)?;
        if let Some(after) = after {
            select = select.filter(crate::entity::cdr::Column::Id.lt(after));
        }
        let page = select
            .limit(PAGE)
            .all(&ctx.db)
            .await
            .map_err(ServiceError::from)?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        let ids = page
            .iter()
            .flat_map(|c| [c.customer_carrier_id, c.supplier_carrier_id])
            .flatten()
            .collect();
        let names = carrier_names(&ctx.db, ids).await?;
        let name = |id: Option<i64>| id.and_then(|i| names.get(&i).cloned()).unwrap_or_default();
        for c in &page {
            let billed = c.status == "rated";
            let opt = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
            out.write_record([
                c.id.to_string(),
                c.call_id.clone(),
                c.leg.clone(),
                c.status.clone(),
                c.reason.clone().unwrap_or_default(),
                rfc3339(c.setup_at),
                c.answer_at.map(rfc3339).unwrap_or_default(),
                rfc3339(c.end_at),
                format!("{}.{:03}", c.duration_ms / 1000, c.duration_ms % 1000),
                opt(c.pdd_ms),
                c.sip_code.to_string(),
                c.disposition.clone(),
                c.a_number.clone(),
                c.b_dialled.clone(),
                c.b_number.clone().unwrap_or_default(),
                name(c.customer_carrier_id),
                c.customer_prefix.clone().unwrap_or_default(),
                c.customer_destination.clone().unwrap_or_default(),
                c.sell_rate_micros.map(rate_text).unwrap_or_default(),
                c.customer_billed_s.to_string(),
                money(billed, c.revenue_micros),
                name(c.supplier_carrier_id),
                c.supplier_prefix.clone().unwrap_or_default(),
                c.supplier_destination.clone().unwrap_or_default(),
                c.buy_rate_micros.map(rate_text).unwrap_or_default(),
                c.supplier_billed_s.to_string(),
                money(billed, c.cost_micros),
                money(billed, c.revenue_micros - c.cost_micros),
                c.currency.clone().unwrap_or_default(),
                c.source_ip.clone(),
            ])
            .map_err(io)?;
        }
        rows += page.len() as i64;
        if rows > MAX_ROWS {
            let message = format!(
                "more than {MAX_ROWS} CDRs match: narrow the dates or choose a carrier, and export again"
            );
            set_state(&ctx.db, &model, "failed", rows, None, &message).await?;
            return Err(JobError::Final(message));
        }
        set_state(&ctx.db, &model, "running", rows, None, "").await?;
    }
    let bytes = out
        .into_inner()
        .map_err(|e| JobError::Retry(format!("writing the CSV: {e}")))?;
    let key = format!("cdr-exports/{id}-{}.csv", uuid::Uuid::new_v4().simple());
    let size = bytes.len() as i64;
    ctx.files.put(&key, bytes).await?;
    set_state(&ctx.db, &model, "done", rows, Some((&key, size)), "").await?;
    Ok(())
}

/// The job handler of [`EXPORT_JOB`].
pub async fn run_job(ctx: &JobContext, job: &job::Model) -> Result<(), JobError> {
    let payload: JobPayload = serde_json::from_str(&job.payload)
        .map_err(|e| JobError::Final(format!("bad payload: {e}")))?;
    run_export(ctx, payload.export_id).await
}

fn view(model: cdr_export::Model) -> CdrExportView {
    let query: CdrQuery = serde_json::from_str(&model.query).unwrap_or_default();
    CdrExportView {
        id: model.id,
        filters: query.describe(),
        status: model.status,
        rows_done: model.rows_done,
        file_size: model.file_size,
        error: model.error,
        created_at: rfc3339(model.created_at),
        finished_at: model.finished_at.map(rfc3339),
    }
}

/// `actor`'s latest exports, newest first (at most 20).
pub async fn list(db: &DatabaseConnection, actor: &Actor) -> ServiceResult<Vec<CdrExportView>> {
    Ok(cdr_export::Entity::find()
        .filter(cdr_export::Column::CreatedBy.eq(actor.email.clone()))
        .order_by_desc(cdr_export::Column::Id)
        .limit(20)
        .all(db)
        .await?
        .into_iter()
        .map(view)
        .collect())
}

/// The CSV of a finished export. Errors: `NotFound` (no such export, or not done).
pub async fn file(ctx: &JobContext, id: i64) -> ServiceResult<Vec<u8>> {
    let model = cdr_export::Entity::find_by_id(id)
        .one(&ctx.db)
        .await?
        .filter(|m| m.status == "done")
        .ok_or(ServiceError::NotFound("CDR export"))?;
    ctx.files.get(&model.file_key).await
}
