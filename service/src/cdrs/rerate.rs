//! Re-rating: rated calls of a period (and carrier) priced again against the rate plan
//! revisions in force now, first as a preview of the difference per carrier, then
//! applied.
//!
//! Applying never rewrites history: each carrier's difference is posted to the ledger
//! as a `rerate` entry (DIDTron's side: a customer charged more gets a negative entry,
//! a supplier that costs more a positive one), next to the original postings, with its
//! balance and credit control in the same transaction. The CDR shows its new price and
//! keeps its earlier ones in its explanation (`rerated`). A call whose price is
//! unchanged is left alone, so applying twice posts nothing the second time.
//!
//! A call is re-rated with the mediation and plans in force now. It is skipped, and
//! counted by reason, when it can no longer be mediated or rated (an interconnect
//! deactivated, a rate removed) or when its parties would change (another customer or
//! supplier): those are corrections for a person, not a price change.

use std::collections::{BTreeMap, HashMap};

use chrono::Utc;
use domain::cdr::views::{RerateDiff, RerateLine, RerateQuery, RerateRunView};
use domain::cdr::{CdrExplanation, IncomingCdr, Rerated};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::NotSet, ColumnTrait, Condition, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};

use super::{process, read_record, row, DeckCache, Postings};
use crate::audit::Actor;
use crate::entity::{carrier, cdr, job, rerate_run};
use crate::jobs::{self, JobContext, JobError};
use crate::{ServiceError, ServiceResult};

/// CDRs priced per round trip (and per transaction when applying).
const CHUNK: u64 = 2_000;
/// Job kind of a re-rating run.
pub const RERATE_JOB: &str = "cdr_rerate";
/// Most calls one re-rating examines; a longer period is refused (narrow it).
pub const MAX_CALLS: u64 = 500_000;

/// Sums of one carrier's leg.
#[derive(Default)]
struct LegSums {
    calls: u64,
    before: i64,
    after: i64,
}

/// The rated, answered calls of `query`'s window (and carrier), the window's start, and
/// how many there are.
///
/// Errors: `Validation` naming `from`/`to` (bad dates, more than 92 days, more than
/// [`MAX_CALLS`] calls).
async fn scope_of(
    db: &DatabaseConnection,
    query: &RerateQuery,
) -> ServiceResult<(Condition, chrono::DateTime<Utc>, u64)> {
    let (start, end) = query.window()?;
    let mut scope = Condition::all()
        .add(cdr::Column::Status.eq("rated"))
        .add(cdr::Column::AnswerAt.is_not_null())
        .add(cdr::Column::SetupAt.gte(start))
        .add(cdr::Column::SetupAt.lt(end));
    if let Some(c) = query.carrier_id {
        scope = scope.add(
            Condition::any()
                .add(cdr::Column::CustomerCarrierId.eq(c))
                .add(cdr::Column::SupplierCarrierId.eq(c)),
        );
    }
    let total = cdr::Entity::find().filter(scope.clone()).count(db).await?;
    if total > MAX_CALLS {
        let mut errors = domain::FieldErrors::new();
        errors.add(
            "to",
            format!("{total} calls in this period; re-rate at most {MAX_CALLS} at a time (choose fewer days or one carrier)."),
        );
        return Err(errors.into());
    }
    Ok((scope, start, total))
}

/// Prices the calls of `query` again and returns the difference per carrier; with
/// `apply`, posts it (see the module documentation), audited as `actor`'s. Runs in the
/// caller (tests, the CLI); the portal asks for a [`request`]ed run instead.
///
/// Errors: `Validation` naming `from`/`to` (bad dates, more than 92 days, more than
/// [`MAX_CALLS`] calls); the database's (a chunk being applied is then rolled back;
/// chunks already applied stay, and running again finds them unchanged).
pub async fn rerate(
    db: &DatabaseConnection,
    cache: &DeckCache,
    actor: &Actor,
    query: &RerateQuery,
    apply: bool,
) -> ServiceResult<RerateDiff> {
    rerate_tracked(db, cache, actor, query, apply, None).await
}

/// [`rerate`], writing the calls priced so far to run `run` after every chunk.
async fn rerate_tracked(
    db: &DatabaseConnection,
    cache: &DeckCache,
    actor: &Actor,
    query: &RerateQuery,
    apply: bool,
    run: Option<i64>,
) -> ServiceResult<RerateDiff> {
    let (scope, start, total) = scope_of(db, query).await?;
    let mut diff = RerateDiff {
        examined: total,
        applied: apply,
        ..RerateDiff::default()
    };
    let mut sums: BTreeMap<(i64, &'static str), LegSums> = BTreeMap::new();
    let mut skipped: BTreeMap<String, u64> = BTreeMap::new();
    // The configuration of the last chunk priced (the carriers' currencies).
    let mut config = None;
    let mut after_id = 0i64;
    let mut priced = 0i64;
    loop {
        let rows = cdr::Entity::find()
            .filter(scope.clone())
            .filter(cdr::Column::Id.gt(after_id))
            .order_by_asc(cdr::Column::Id)
            .limit(CHUNK)
            .all(db)
            .await?;
        let Some(last) = rows.last() else { break };
        after_id = last.id;
        let mut kept = Vec::with_capacity(rows.len());
        for (i, stored) in rows.iter().enumerate() {
            let value = serde_json::from_str(&stored.raw)
                .map_err(|e| ServiceError::Internal(format!("cdr {} raw: {e}", stored.id)))?;
            match read_record(value, i + 1, None) {
                Ok(r) => kept.push((stored, r)),
                Err(_) => {
                    *skipped
                        .entry("the record as received no longer reads".into())
                        .or_default() += 1
                }
            }
        }
        let incoming: Vec<&IncomingCdr> = kept.iter().map(|(_, r)| &r.cdr).collect();
        let (outcomes, pricing) = process(db, cache, &incoming).await?;
        config = Some(pricing.config.clone());
        let now = Utc::now();
        let txn = if apply {
            Some(crate::db::begin_write(db).await?)
        } else {
            None
        };
        let mut ledger = Postings::default();
        let mut chunk_sums: BTreeMap<(i64, &'static str), LegSums> = BTreeMap::new();
        for ((stored, received), outcome) in kept.iter().zip(&outcomes) {
            if outcome.status != "rated" {
                let why = match outcome.status {
                    "unrated" => format!(
                        "no rate now ({})",
                        outcome.reason_code.as_deref().unwrap_or("?")
                    ),
                    _ => format!(
                        "cannot be mediated now ({})",
                        outcome.reason_code.as_deref().unwrap_or("?")
                    ),
                };
                *skipped.entry(why).or_default() += 1;
                continue;
            }
            let Some(m) = outcome.mediated.as_ref() else {
                continue;
            };
            if Some(m.customer.carrier_id) != stored.customer_carrier_id
                || m.supplier.map(|s| s.carrier_id) != stored.supplier_carrier_id
            {
                *skipped
                    .entry("its customer or supplier would change".into())
                    .or_default() += 1;
                continue;
            }
            if outcome.revenue_micros == stored.revenue_micros
                && outcome.cost_micros == stored.cost_micros
            {
                continue;
            }
            if let Some(txn) = &txn {
                let mut before: CdrExplanation =
                    serde_json::from_str(&stored.explain).unwrap_or_default();
                let mut explain = outcome.explain.clone();
                explain.rerated = std::mem::take(&mut before.rerated);
                explain.rerated.push(Rerated {
                    at: super::views::rfc3339(now),
                    revenue_micros: stored.revenue_micros,
                    cost_micros: stored.cost_micros,
                    customer_revision_id: before.customer.and_then(|c| c.revision_id),
                    supplier_revision_id: before.supplier.and_then(|s| s.revision_id),
                });
                let mut model = row(stored.source_id, received, outcome, now);
                model.source_id = NotSet;
                model.call_id = NotSet;
                model.leg = NotSet;
                model.raw = NotSet;
                model.received_at = NotSet;
                model.created_at = NotSet;
                model.explain = Set(serde_json::to_string(&explain).unwrap_or_default());
                let changed = cdr::Entity::update_many()
                    .set(model)
                    .filter(cdr::Column::Id.eq(stored.id))
                    .filter(cdr::Column::Status.eq("rated"))
                    .filter(cdr::Column::RevenueMicros.eq(stored.revenue_micros))
                    .filter(cdr::Column::CostMicros.eq(stored.cost_micros))
                    .exec(txn)
                    .await?;
                if changed.rows_affected != 1 {
                    // Changed meanwhile by another re-rating: its price is not ours to post.
                    continue;
                }
            }
            diff.changed += 1;
            let legs = [(
                m.customer.carrier_id,
                "customer",
                stored.revenue_micros,
                outcome.revenue_micros,
            )]
            .into_iter()
            .chain(m.supplier.map(|s| {
                (
                    s.carrier_id,
                    "supplier",
                    stored.cost_micros,
                    outcome.cost_micros,
                )
            }));
            for (carrier_id, leg, before, after) in legs {
                if before == after {
                    continue;
                }
                let s = chunk_sums.entry((carrier_id, leg)).or_default();
                s.calls += 1;
                s.before += before;
                s.after += after;
            }
        }
        if let Some(txn) = txn {
            let memo = format!(
                "re-rating of calls from {} to {}",
                query.from.trim(),
                query.to.trim()
            );
            let mut per_carrier: BTreeMap<i64, i64> = BTreeMap::new();
            for ((carrier_id, leg), s) in &chunk_sums {
                *per_carrier.entry(*carrier_id).or_default() += ledger_change(leg, s);
            }
            for (carrier_id, amount) in per_carrier {
                if amount != 0 {
                    // `at` = the window's start: never later than the carrier's last call.
                    ledger.push(
                        carrier_id,
                        "rerate",
                        amount,
                        None,
                        &memo,
                        start,
                        &pricing.config.currencies,
                        now,
                    );
                }
            }
            ledger.write(&txn, &pricing.config.currencies, now).await?;
            if !chunk_sums.is_empty() {
                crate::audit::record_change(
                    &txn,
                    actor,
                    "rerate",
                    0,
                    None,
                    None,
                    Some(&serde_json::json!({
                        "from": query.from, "to": query.to, "carrier_id": query.carrier_id,
                        "calls": chunk_sums.values().map(|s| s.calls).sum::<u64>(),
                    })),
                )
                .await?;
            }
            txn.commit().await?;
        }
        for (key, s) in chunk_sums {
            let total = sums.entry(key).or_default();
            total.calls += s.calls;
            total.before += s.before;
            total.after += s.after;
        }
        priced += rows.len() as i64;
        if let Some(run) = run {
            rerate_run::Entity::update_many()
                .col_expr(rerate_run::Column::Examined, Expr::value(priced))
                .col_expr(rerate_run::Column::UpdatedAt, Expr::value(Utc::now()))
                .filter(rerate_run::Column::Id.eq(run))
                .exec(db)
                .await?;
        }
    }
    let names: HashMap<i64, String> = carrier::Entity::find()
        .select_only()
        .columns([carrier::Column::Id, carrier::Column::Name])
        .into_tuple::<(i64, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let money = crate::rate_plans::rate_text;
    diff.lines = sums
        .into_iter()
        .map(|((carrier_id, leg), s)| {
            let change = ledger_change(leg, &s);
            RerateLine {
                carrier_id,
                carrier: names.get(&carrier_id).cloned().unwrap_or_default(),
                leg: leg.into(),
                currency: config
                    .as_ref()
                    .and_then(|c| c.currencies.get(&carrier_id))
                    .cloned()
                    .unwrap_or_default(),
                calls: s.calls,
                before: money(s.before),
                after: money(s.after),
                ledger_change: money(change),
                ledger_change_micros: change,
            }
        })
        .collect();
    diff.skipped = skipped.into_iter().collect();
    Ok(diff)
}

/// The ledger entry that corrects a leg: customers owe the difference (negative when
/// they now pay more), we owe suppliers theirs.
fn ledger_change(leg: &str, s: &LegSums) -> i64 {
    match leg {
        "customer" => s.before - s.after,
        _ => s.after - s.before,
    }
}

#[derive(Serialize, Deserialize)]
struct JobPayload {
    run_id: i64,
}

fn run_view(m: rerate_run::Model) -> RerateRunView {
    RerateRunView {
        id: m.id,
        query: serde_json::from_str(&m.query).unwrap_or_default(),
        apply: m.apply,
        status: m.status,
        examined: m.examined.max(0) as u64,
        total: m.total.max(0) as u64,
        result: serde_json::from_str(&m.result).ok(),
        error: m.error,
        created_at: super::views::rfc3339(m.created_at),
        finished_at: m.finished_at.map(super::views::rfc3339),
    }
}

/// Asks for a re-rating run of `query` (a preview, or with `apply` the adjustments),
/// done by a background job; the page follows it with [`run`]. The window and the
/// number of calls are checked now, so a bad period is named at once.
///
/// Errors: `Validation` naming `from`/`to` (see [`rerate`]).
pub async fn request(
    db: &DatabaseConnection,
    actor: &Actor,
    query: &RerateQuery,
    apply: bool,
) -> ServiceResult<RerateRunView> {
    let (_, _, total) = scope_of(db, query).await?;
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await?;
    let model =
        rerate_run::ActiveModel {
            query: Set(
                serde_json::to_string(query).map_err(|e| ServiceError::Internal(e.to_string()))?
            ),
            apply: Set(apply),
            status: Set("queued".into()),
            examined: Set(0),
            total: Set(total as i64),
            result: Set(String::new()),
            error: Set(String::new()),
            created_by_id: Set(actor.user_id),
            created_by: Set(actor.email.clone()),
            started_at: Set(None),
            finished_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
    jobs::enqueue(&txn, RERATE_JOB, &JobPayload { run_id: model.id }).await?;
    txn.commit().await?;
    Ok(run_view(model))
}

/// Run `id` as the page shows it. Errors: `NotFound`.
pub async fn run(db: &DatabaseConnection, id: i64) -> ServiceResult<RerateRunView> {
    rerate_run::Entity::find_by_id(id)
        .one(db)
        .await?
        .map(run_view)
        .ok_or(ServiceError::NotFound("re-rating run"))
}

/// The job handler of [`RERATE_JOB`]: prices (and with `apply` posts) the run's calls,
/// writing progress after every chunk and the result at the end. A run cut short by a
/// crash runs again from the start: applied chunks are found unchanged and post nothing
/// twice.
pub async fn run_job(ctx: &JobContext, job: &job::Model) -> Result<(), JobError> {
    let payload: JobPayload = serde_json::from_str(&job.payload)
        .map_err(|e| JobError::Final(format!("bad payload: {e}")))?;
    let db = &ctx.db;
    let Some(model) = rerate_run::Entity::find_by_id(payload.run_id)
        .one(db)
        .await
        .map_err(ServiceError::from)?
    else {
        return Err(JobError::Final(format!(
            "re-rating run {} is gone",
            payload.run_id
        )));
    };
    if matches!(model.status.as_str(), "done" | "failed") {
        return Ok(());
    }
    let query: RerateQuery = serde_json::from_str(&model.query).unwrap_or_default();
    let actor = Actor {
        user_id: model.created_by_id,
        email: model.created_by.clone(),
    };
    let mut active: rerate_run::ActiveModel = model.clone().into();
    active.status = Set("running".into());
    active.started_at = Set(Some(Utc::now()));
    active.updated_at = Set(Utc::now());
    active.update(db).await.map_err(ServiceError::from)?;
    let outcome = rerate_tracked(
        db,
        &DeckCache::new(),
        &actor,
        &query,
        model.apply,
        Some(model.id),
    )
    .await;
    let (status, result, error, job_result) = match outcome {
        Ok(diff) => (
            "done",
            serde_json::to_string(&diff).unwrap_or_default(),
            String::new(),
            Ok(()),
        ),
        Err(e @ (ServiceError::Database(_) | ServiceError::Kv(_) | ServiceError::Internal(_))) => {
            // Worth another attempt: the job is retried; the run waits for it.
            return Err(JobError::Retry(e.to_string()));
        }
        Err(e) => {
            let message = match &e {
                ServiceError::Validation(fields) => fields.to_string(),
                other => other.to_string(),
            };
            (
                "failed",
                String::new(),
                message.clone(),
                Err(JobError::Final(message)),
            )
        }
    };
    rerate_run::Entity::update_many()
        .col_expr(rerate_run::Column::Status, Expr::value(status))
        .col_expr(rerate_run::Column::Result, Expr::value(result))
        .col_expr(rerate_run::Column::Error, Expr::value(error))
        .col_expr(rerate_run::Column::FinishedAt, Expr::value(Utc::now()))
        .col_expr(rerate_run::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(rerate_run::Column::Id.eq(model.id))
        .exec(db)
        .await
        .map_err(ServiceError::from)?;
    job_result
}
