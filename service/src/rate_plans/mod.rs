//! The rate plans module: supplier decks and customer plans, their revisions and rates,
//! "rate a number", exports, and (in [`import`]) importing carriers' rate notices.
//!
//! Rates are never edited in place: every publication is a revision that adds rows and
//! closes the rows it replaces (`effective_to`, `closed_by_revision_id`). Every write
//! runs in one transaction with its audit entry.

pub mod derive;
pub mod import;

use chrono::{DateTime, SecondsFormat, Utc};
use domain::catalog::ServiceDirection;
use domain::listing::{ListQuery, Page};
use domain::money::{format_micros, Currency};
use domain::rate_plans::revision::{ChangeCounts, LiveRate};
use domain::rate_plans::{
    validate_rate_plan, NoticeAction, PlanKind, RatePlan, RatePlanForm, RatePlanRow, RateRow,
    RevisionDiffRow, RevisionRow, RoundingChoice,
};
use domain::rating::{
    BillableDuration, BillingIncrement, CallToRate, CompiledDeck, NoRate, RateDeckRow,
    RatingPolicy, Rounding,
};
use domain::FieldErrors;
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

use crate::audit::{self, Actor};
use crate::entity::{carrier, rate, rate_plan, rate_revision, service};
use crate::{ServiceError, ServiceResult};

/// The audit log's name for a rate plan.
pub const ENTITY: &str = "rate_plan";

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub use domain::money::rate_text;

/// The plan's settings as `domain` types. Errors: `Internal` for a row that no form
/// could have written.
pub fn plan_of(model: &rate_plan::Model) -> ServiceResult<RatePlan> {
    let bad = |what: &str| ServiceError::Internal(format!("rate plan {}: bad {what}", model.id));
    let rounding_choice = RoundingChoice::parse(&model.rounding).ok_or_else(|| bad("rounding"))?;
    Ok(RatePlan {
        name: model.name.clone(),
        kind: PlanKind::parse(&model.kind).ok_or_else(|| bad("kind"))?,
        currency: Currency::parse(&model.currency).map_err(|_| bad("currency"))?,
        carrier_id: model.carrier_id,
        increment: BillingIncrement {
            first: model.increment_first as u32,
            next: model.increment_next as u32,
        },
        minimum_s: model.minimum_s as u32,
        grace_s: model.grace_s as u32,
        connection_fee_micros: model.connection_fee_micros,
        rounding: Rounding {
            scale: model.rounding_decimals as u8,
            mode: rounding_choice.mode(),
        },
        rounding_choice,
        notice_days: model.notice_days as u32,
        notice_action: NoticeAction::parse(&model.notice_action)
            .ok_or_else(|| bad("notice action"))?,
        description: Some(model.description.clone()).filter(|d| !d.is_empty()),
    })
}

/// The plan with this id. Errors: `NotFound("rate plan")`.
pub async fn get_plan<C: ConnectionTrait>(db: &C, id: i64) -> ServiceResult<rate_plan::Model> {
    rate_plan::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound("rate plan"))
}

/// The plan called `name` (exactly, ignoring ASCII case). Errors: `NotFound`.
pub async fn find_plan_by_name(
    db: &DatabaseConnection,
    name: &str,
) -> ServiceResult<rate_plan::Model> {
    let plans = rate_plan::Entity::find().all(db).await?;
    plans
        .into_iter()
        .find(|p| p.name.eq_ignore_ascii_case(name.trim()))
        .ok_or(ServiceError::NotFound("rate plan"))
}

/// Creates (`id: None`) or updates a plan's settings. Kind and currency cannot change
/// once a revision is published (the rates are in that currency, and services rely on
/// the kind). Errors: `Validation` naming each field (a name in use, a carrier that
/// does not exist, a locked kind or currency); `NotFound`.
pub async fn save_plan(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Option<i64>,
    form: &RatePlanForm,
) -> ServiceResult<rate_plan::Model> {
    let valid = validate_rate_plan(form)?;
    let txn = crate::db::begin_write(db).await?;
    let mut errors = FieldErrors::new();
    let taken = rate_plan::Entity::find()
        .all(&txn)
        .await?
        .iter()
        .any(|p| Some(p.id) != id && p.name.eq_ignore_ascii_case(&valid.name));
    if taken {
        errors.add(
            "name",
            format!("There is already a rate plan called {}.", valid.name),
        );
    }
    if let Some(carrier_id) = valid.carrier_id {
        if carrier::Entity::find_by_id(carrier_id)
            .one(&txn)
            .await?
            .is_none()
        {
            errors.add(
                "carrier_id",
                "That carrier no longer exists. Choose one from the list.",
            );
        }
    }
    let before = match id {
        Some(id) => Some(get_plan(&txn, id).await?),
        None => None,
    };
    if let Some(b) = &before {
        if b.live_revision_id.is_some() {
            if b.kind != valid.kind.as_str() {
                errors.add("kind", "The kind cannot change once rates are published.");
            }
            if b.currency != valid.currency.as_str() {
                errors.add(
                    "currency",
                    "The currency cannot change once rates are published: the rates are in it.",
                );
            }
        }
        let used_by = service::Entity::find()
            .filter(service::Column::RatePlanId.eq(b.id))
            .all(&txn)
            .await?;
        if b.kind != valid.kind.as_str() && !used_by.is_empty() {
            errors.add(
                "kind",
                format!(
                    "The kind cannot change while service {} uses the plan.",
                    used_by[0].name
                ),
            );
        }
    }
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let now = Utc::now();
    let mut active: rate_plan::ActiveModel = match &before {
        Some(model) => model.clone().into(),
        None => rate_plan::ActiveModel {
            created_at: Set(now),
            live_revision_id: Set(None),
            derivation: Set(String::new()),
            ..Default::default()
        },
    };
    active.name = Set(valid.name);
    active.kind = Set(valid.kind.as_str().into());
    active.currency = Set(valid.currency.to_string());
    active.carrier_id = Set(valid.carrier_id);
    active.increment_first = Set(i64::from(valid.increment.first));
    active.increment_next = Set(i64::from(valid.increment.next));
    active.minimum_s = Set(i64::from(valid.minimum_s));
    active.grace_s = Set(i64::from(valid.grace_s));
    active.connection_fee_micros = Set(valid.connection_fee_micros);
    active.rounding_decimals = Set(i64::from(valid.rounding.scale));
    active.rounding = Set(valid.rounding_choice.as_str().into());
    active.notice_days = Set(i64::from(valid.notice_days));
    active.notice_action = Set(valid.notice_action.as_str().into());
    active.description = Set(valid.description.unwrap_or_default());
    active.updated_at = Set(now);
    let after = audit::save(
        &txn,
        actor,
        ENTITY,
        valid.carrier_id,
        before.as_ref(),
        active,
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

/// Deletes a plan with all its revisions, rates and imports. Errors: `Conflict` while a
/// service uses it (the message names the service); `NotFound`.
pub async fn delete_plan(db: &DatabaseConnection, actor: &Actor, id: i64) -> ServiceResult<()> {
    let txn = crate::db::begin_write(db).await?;
    let plan = get_plan(&txn, id).await?;
    if let Some(s) = service::Entity::find()
        .filter(service::Column::RatePlanId.eq(id))
        .one(&txn)
        .await?
    {
        return Err(ServiceError::Conflict(format!(
            "service {} uses this plan; give it another plan first",
            s.name
        )));
    }
    rate::Entity::delete_many()
        .filter(rate::Column::RatePlanId.eq(id))
        .exec(&txn)
        .await?;
    rate_revision::Entity::delete_many()
        .filter(rate_revision::Column::RatePlanId.eq(id))
        .exec(&txn)
        .await?;
    crate::entity::rate_import::Entity::delete_many()
        .filter(crate::entity::rate_import::Column::RatePlanId.eq(id))
        .exec(&txn)
        .await?;
    rate_plan::Entity::delete_by_id(id).exec(&txn).await?;
    audit::record_change(&txn, actor, ENTITY, id, plan.carrier_id, Some(&plan), None).await?;
    txn.commit().await?;
    Ok(())
}

/// Checks that plan `plan_id` may price a service of `direction`: customer services take
/// customer plans, supplier services supplier decks. Errors: `Validation` on
/// `rate_plan_id`.
pub async fn check_plan_for_service<C: ConnectionTrait>(
    db: &C,
    plan_id: i64,
    direction: ServiceDirection,
) -> ServiceResult<()> {
    let mut errors = FieldErrors::new();
    match rate_plan::Entity::find_by_id(plan_id).one(db).await? {
        None => errors.add(
            "rate_plan_id",
            "That rate plan no longer exists. Choose one from the list.",
        ),
        Some(plan) => {
            let wanted = match direction {
                ServiceDirection::Customer => PlanKind::Customer,
                ServiceDirection::Supplier => PlanKind::Supplier,
            };
            if plan.kind != wanted.as_str() {
                errors.add(
                    "rate_plan_id",
                    format!(
                        "A {} service takes a {}; {} is a {}.",
                        direction.as_str(),
                        wanted.label().to_lowercase(),
                        plan.name,
                        PlanKind::parse(&plan.kind)
                            .map(|k| k.label())
                            .unwrap_or("plan")
                            .to_lowercase()
                    ),
                );
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.into())
    }
}

/// Every plan of `kind` (or all), by name: the pick lists of services and imports.
pub async fn all_plans(
    db: &DatabaseConnection,
    kind: Option<PlanKind>,
) -> ServiceResult<Vec<rate_plan::Model>> {
    let mut q = rate_plan::Entity::find().order_by_asc(rate_plan::Column::Name);
    if let Some(k) = kind {
        q = q.filter(rate_plan::Column::Kind.eq(k.as_str()));
    }
    Ok(q.all(db).await?)
}

/// A page of the rate plans list, by name: `q` is a case-insensitive name prefix,
/// `kind` filters; keyset on (name, id) with `after` = `"<name>\u{1f}<id>"`.
pub async fn list_plans(
    db: &DatabaseConnection,
    q: &str,
    kind: Option<PlanKind>,
    after: &str,
    limit: u32,
) -> ServiceResult<Page<RatePlanRow>> {
    let limit = u64::from(page_size(limit));
    let mut query = rate_plan::Entity::find()
        .order_by_asc(rate_plan::Column::Name)
        .order_by_asc(rate_plan::Column::Id);
    if let Some(k) = kind {
        query = query.filter(rate_plan::Column::Kind.eq(k.as_str()));
    }
    let q = q.trim().to_lowercase();
    if !q.is_empty() {
        query = query.filter(
            Expr::expr(Func::lower(Expr::col(rate_plan::Column::Name)))
                .like(format!("{}%", like_escape(&q))),
        );
    }
    if let Some((name, id)) = after.split_once('\u{1f}') {
        let id: i64 = id.parse().unwrap_or(0);
        query = query.filter(
            Condition::any().add(rate_plan::Column::Name.gt(name)).add(
                Condition::all()
                    .add(rate_plan::Column::Name.eq(name))
                    .add(rate_plan::Column::Id.gt(id)),
            ),
        );
    }
    let mut plans = query.limit(limit + 1).all(db).await?;
    let next = if plans.len() as u64 > limit {
        plans.truncate(limit as usize);
        plans.last().map(|p| format!("{}\u{1f}{}", p.name, p.id))
    } else {
        None
    };
    let carrier_ids: Vec<i64> = plans.iter().filter_map(|p| p.carrier_id).collect();
    let carriers: std::collections::HashMap<i64, String> = carrier::Entity::find()
        .filter(carrier::Column::Id.is_in(carrier_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    let revision_ids: Vec<i64> = plans.iter().filter_map(|p| p.live_revision_id).collect();
    let numbers: std::collections::HashMap<i64, i64> = rate_revision::Entity::find()
        .filter(rate_revision::Column::Id.is_in(revision_ids))
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.id, r.number))
        .collect();
    let rows = plans
        .into_iter()
        .map(|p| RatePlanRow {
            id: p.id,
            carrier: p.carrier_id.and_then(|c| carriers.get(&c).cloned()),
            revision: p.live_revision_id.and_then(|r| numbers.get(&r).copied()),
            name: p.name,
            kind: p.kind,
            currency: p.currency,
            updated_at: rfc3339(p.updated_at),
        })
        .collect();
    Ok(Page { rows, next })
}

/// `limit` as a page size (0: the default; at most the maximum).
fn page_size(limit: u32) -> u32 {
    ListQuery {
        limit,
        ..ListQuery::default()
    }
    .page_size()
}

fn like_escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// The smallest string greater than every string starting with `prefix` (ASCII).
fn prefix_end(prefix: &str) -> String {
    let mut bytes = prefix.as_bytes().to_vec();
    while let Some(last) = bytes.pop() {
        if last < 0x7f {
            bytes.push(last + 1);
            return String::from_utf8(bytes).unwrap_or_default();
        }
    }
    "\u{7f}".into()
}

fn rate_row(r: rate::Model, numbers: &std::collections::HashMap<i64, i64>) -> RateRow {
    RateRow {
        id: r.id,
        revision: numbers.get(&r.revision_id).copied().unwrap_or_default(),
        rate: rate_text(r.rate_micros),
        connection_fee: rate_text(r.connection_fee_micros),
        increment: format!("{}/{}", r.increment_first, r.increment_next),
        minimum_s: r.minimum_s,
        grace_s: r.grace_s,
        effective_from: rfc3339(r.effective_from),
        effective_to: r.effective_to.map(rfc3339),
        change: r.change,
        prefix: r.prefix,
        destination: r.destination,
    }
}

async fn revision_numbers<C: ConnectionTrait>(
    db: &C,
    plan_id: i64,
) -> ServiceResult<std::collections::HashMap<i64, i64>> {
    Ok(rate_revision::Entity::find()
        .filter(rate_revision::Column::RatePlanId.eq(plan_id))
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.id, r.number))
        .collect())
}

/// Which rates the Rates tab shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RateScope {
    /// Rows in force now or later (not closed by a revision, not ended).
    Current,
    /// Every row ever published, closed ones included.
    History,
}

/// A page of a plan's rates, by code then effective date. `q` of digits (a leading `+`
/// allowed) matches codes starting with it; other text matches destinations starting
/// with it (case-insensitive). Keyset on (prefix, effective_from, id), `after` =
/// `"<prefix>\u{1f}<unix seconds>\u{1f}<id>"`. Both searches use an index.
pub async fn list_rates(
    db: &DatabaseConnection,
    plan_id: i64,
    q: &str,
    scope: RateScope,
    after: &str,
    limit: u32,
) -> ServiceResult<Page<RateRow>> {
    get_plan(db, plan_id).await?;
    let limit = u64::from(page_size(limit));
    let mut query = rate::Entity::find()
        .filter(rate::Column::RatePlanId.eq(plan_id))
        .order_by_asc(rate::Column::Prefix)
        .order_by_asc(rate::Column::EffectiveFrom)
        .order_by_asc(rate::Column::Id);
    if scope == RateScope::Current {
        query = query
            .filter(rate::Column::ClosedByRevisionId.is_null())
            .filter(
                Condition::any()
                    .add(rate::Column::EffectiveTo.is_null())
                    .add(rate::Column::EffectiveTo.gt(Utc::now())),
            );
    }
    let q = q.trim();
    let digits = q.strip_prefix('+').unwrap_or(q);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        query = query
            .filter(rate::Column::Prefix.gte(digits))
            .filter(rate::Column::Prefix.lt(prefix_end(digits)));
    } else if !q.is_empty() {
        let key = q.to_lowercase();
        query = query
            .filter(rate::Column::DestinationKey.gte(key.as_str()))
            .filter(rate::Column::DestinationKey.lt(prefix_end(&key)));
    }
    let mut parts = after.split('\u{1f}');
    if let (Some(prefix), Some(from), Some(id)) = (parts.next(), parts.next(), parts.next()) {
        let from = from
            .parse::<i64>()
            .ok()
            .and_then(|s| DateTime::from_timestamp(s, 0))
            .unwrap_or_default();
        let id: i64 = id.parse().unwrap_or(0);
        query = query.filter(
            Condition::any()
                .add(rate::Column::Prefix.gt(prefix))
                .add(
                    Condition::all()
                        .add(rate::Column::Prefix.eq(prefix))
                        .add(rate::Column::EffectiveFrom.gt(from)),
                )
                .add(
                    Condition::all()
                        .add(rate::Column::Prefix.eq(prefix))
                        .add(rate::Column::EffectiveFrom.eq(from))
                        .add(rate::Column::Id.gt(id)),
                ),
        );
    }
    let mut rows = query.limit(limit + 1).all(db).await?;
    let next = if rows.len() as u64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|r| {
            format!(
                "{}\u{1f}{}\u{1f}{}",
                r.prefix,
                r.effective_from.timestamp(),
                r.id
            )
        })
    } else {
        None
    };
    let numbers = revision_numbers(db, plan_id).await?;
    Ok(Page {
        rows: rows.into_iter().map(|r| rate_row(r, &numbers)).collect(),
        next,
    })
}

/// The plan's revisions, newest first.
pub async fn list_revisions(
    db: &DatabaseConnection,
    plan_id: i64,
) -> ServiceResult<Vec<RevisionRow>> {
    get_plan(db, plan_id).await?;
    Ok(rate_revision::Entity::find()
        .filter(rate_revision::Column::RatePlanId.eq(plan_id))
        .order_by_desc(rate_revision::Column::Number)
        .all(db)
        .await?
        .into_iter()
        .map(|r| RevisionRow {
            id: r.id,
            number: r.number,
            source: r.source,
            import_id: r.import_id,
            counts: ChangeCounts {
                new: r.new_codes as u64,
                increase: r.increases as u64,
                decrease: r.decreases as u64,
                unchanged: r.unchanged as u64,
                removed: r.removed as u64,
            },
            published_by: r.published_by,
            published_at: rfc3339(r.published_at),
            note: r.note,
        })
        .collect())
}

/// The rows that made up the plan right after revision `number` was published: rows
/// added by it or an earlier revision and not closed by a revision up to it.
async fn rows_as_of(
    db: &DatabaseConnection,
    plan_id: i64,
    number: i64,
) -> ServiceResult<Vec<rate::Model>> {
    let revisions = rate_revision::Entity::find()
        .filter(rate_revision::Column::RatePlanId.eq(plan_id))
        .filter(rate_revision::Column::Number.lte(number))
        .all(db)
        .await?;
    if !revisions.iter().any(|r| r.number == number) {
        return Err(ServiceError::NotFound("revision"));
    }
    let ids: Vec<i64> = revisions.iter().map(|r| r.id).collect();
    let rows = rate::Entity::find()
        .filter(rate::Column::RatePlanId.eq(plan_id))
        .filter(rate::Column::RevisionId.is_in(ids.clone()))
        .filter(
            Condition::any()
                .add(rate::Column::ClosedByRevisionId.is_null())
                .add(rate::Column::ClosedByRevisionId.is_not_in(ids)),
        )
        .order_by_asc(rate::Column::Prefix)
        .order_by_asc(rate::Column::EffectiveFrom)
        .all(db)
        .await?;
    Ok(rows)
}

/// The latest row per code.
fn latest_per_code(rows: Vec<rate::Model>) -> std::collections::BTreeMap<String, rate::Model> {
    let mut map = std::collections::BTreeMap::new();
    for r in rows {
        map.insert(r.prefix.clone(), r);
    }
    map
}

/// Codes whose rate differs between revisions `from` and `to` of a plan (the latest row
/// of each code in each), by code; at most `limit` rows (0: all).
pub async fn diff_revisions(
    db: &DatabaseConnection,
    plan_id: i64,
    from: i64,
    to: i64,
    limit: usize,
) -> ServiceResult<Vec<RevisionDiffRow>> {
    let before = latest_per_code(rows_as_of(db, plan_id, from).await?);
    let after = latest_per_code(rows_as_of(db, plan_id, to).await?);
    let mut out = Vec::new();
    let codes: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    for code in codes {
        let (b, a) = (before.get(code), after.get(code));
        let change = match (b, a) {
            (None, Some(_)) => "new",
            (Some(_), None) => "removed",
            (Some(b), Some(a)) if a.rate_micros > b.rate_micros => "increase",
            (Some(b), Some(a)) if a.rate_micros < b.rate_micros => "decrease",
            _ => continue,
        };
        out.push(RevisionDiffRow {
            prefix: code.clone(),
            destination: a.or(b).map(|r| r.destination.clone()).unwrap_or_default(),
            change: change.into(),
            before: b.map(|r| rate_text(r.rate_micros)),
            after: a.map(|r| rate_text(r.rate_micros)),
        });
        if limit > 0 && out.len() >= limit {
            break;
        }
    }
    Ok(out)
}

/// A stored row's billing increment.
fn increment_of(r: &rate::Model) -> BillingIncrement {
    BillingIncrement {
        first: r.increment_first as u32,
        next: r.increment_next as u32,
    }
}

/// A plan's live rates: per code, its latest row not closed by a revision.
pub async fn live_rates<C: ConnectionTrait>(db: &C, plan_id: i64) -> ServiceResult<Vec<LiveRate>> {
    let rows = rate::Entity::find()
        .filter(rate::Column::RatePlanId.eq(plan_id))
        .filter(rate::Column::ClosedByRevisionId.is_null())
        .order_by_asc(rate::Column::Prefix)
        .order_by_asc(rate::Column::EffectiveFrom)
        .all(db)
        .await?;
    Ok(latest_per_code(rows)
        .into_values()
        .map(|r| LiveRate {
            increment: increment_of(&r),
            id: r.id,
            prefix: r.prefix,
            destination: r.destination,
            rate_micros: r.rate_micros,
            connection_fee_micros: r.connection_fee_micros,
            minimum_s: r.minimum_s as u32,
            grace_s: r.grace_s as u32,
            effective_from: r.effective_from,
        })
        .collect())
}

/// Every row of the plan not closed by a revision (current and scheduled), as deck rows
/// for the rating engine, and each row's revision number by line (the row id).
pub(crate) async fn deck_rows(
    db: &DatabaseConnection,
    plan: &rate_plan::Model,
) -> ServiceResult<Vec<(RateDeckRow, rate::Model)>> {
    let currency = Currency::parse(&plan.currency)
        .map_err(|_| ServiceError::Internal("rate plan currency".into()))?;
    let rows = rate::Entity::find()
        .filter(rate::Column::RatePlanId.eq(plan.id))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                RateDeckRow {
                    line: 0,
                    prefix: r.prefix.clone(),
                    destination: r.destination.clone(),
                    rate_micros: r.rate_micros,
                    connection_fee_micros: r.connection_fee_micros,
                    increment: increment_of(&r),
                    minimum_s: r.minimum_s as u32,
                    grace_s: r.grace_s as u32,
                    effective_from: r.effective_from,
                    effective_to: r.effective_to,
                    currency,
                },
                r,
            )
        })
        .collect())
}

/// "Rate a number": the plan's rate for `number` at instant `at`, as the rating engine
/// finds it (longest matching code, the row in force at `at`). `number` may start with
/// `+` or `00`. Errors: `Validation` on `number`; `NotFound`.
pub async fn rate_number(
    db: &DatabaseConnection,
    plan_id: i64,
    number: &str,
    at: DateTime<Utc>,
) -> ServiceResult<domain::rate_plans::NumberRating> {
    let plan = get_plan(db, plan_id).await?;
    let digits = crate::rating_files::normalise_digits(number);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.len() > 15 {
        let mut e = FieldErrors::new();
        e.add(
            "number",
            "Enter a number in E.164 form: up to 15 digits, + or 00 allowed in front.",
        );
        return Err(e.into());
    }
    let rows = deck_rows(db, &plan).await?;
    let mut ids = Vec::with_capacity(rows.len());
    let mut deck_rows = Vec::with_capacity(rows.len());
    for (i, (mut row, model)) in rows.into_iter().enumerate() {
        row.line = i as u32;
        deck_rows.push(row);
        ids.push(model);
    }
    let numbers = revision_numbers(db, plan_id).await?;
    let mut answer = domain::rate_plans::NumberRating {
        number: digits.clone(),
        at: rfc3339(at),
        prefix: None,
        destination: String::new(),
        rate: String::new(),
        connection_fee: String::new(),
        increment: String::new(),
        minimum_s: 0,
        grace_s: 0,
        effective_from: String::new(),
        effective_to: None,
        revision: None,
        reason: String::new(),
    };
    // Rows closed by a revision overlap the rows replacing them only when both were
    // scheduled; the compiled deck needs one row per instant, so closed rows end at
    // their `effective_to` (always set when closed).
    let deck = match CompiledDeck::compile("live", deck_rows.clone()) {
        Ok(d) => d,
        Err(errors) => {
            return Err(ServiceError::Internal(format!(
                "plan {} does not compile: {}",
                plan_id,
                errors.first().map(|e| e.to_string()).unwrap_or_default()
            )))
        }
    };
    let call = CallToRate {
        b_number: &digits,
        start: at,
        duration: BillableDuration::Seconds(0),
        answered: true,
    };
    match deck.rate(&call, &RatingPolicy::default()) {
        Ok(rating) => {
            let index = deck_rows
                .iter()
                .position(|r| {
                    r.prefix == rating.prefix
                        && r.effective_from <= at
                        && r.effective_to.is_none_or(|to| at < to)
                })
                .unwrap_or_default();
            let row = &deck_rows[index];
            answer.prefix = Some(row.prefix.clone());
            answer.destination = row.destination.clone();
            answer.rate = rate_text(row.rate_micros);
            answer.connection_fee = rate_text(row.connection_fee_micros);
            answer.increment = row.increment.to_string();
            answer.minimum_s = row.minimum_s;
            answer.grace_s = row.grace_s;
            answer.effective_from = rfc3339(row.effective_from);
            answer.effective_to = row.effective_to.map(rfc3339);
            answer.revision = numbers.get(&ids[index].revision_id).copied();
        }
        Err(NoRate::NoRateInForce { prefix_len }) => {
            answer.reason = format!(
                "code {} matches but has no rate in force at {}",
                &digits[..prefix_len as usize],
                at.format("%Y-%m-%d %H:%M UTC")
            );
        }
        Err(e) => answer.reason = format!("{e} ({digits})"),
    }
    Ok(answer)
}

/// The columns of a revision's export (CSV and XLSX), which imports and `didtron rate`
/// read back as they are.
pub const EXPORT_COLUMNS: [&str; 10] = [
    "prefix",
    "destination",
    "rate",
    "connection_fee",
    "increment",
    "minimum",
    "grace",
    "effective_from",
    "effective_to",
    "currency",
];

/// A revision's rows as CSV in the format `didtron rate --deck` and imports read
/// (`prefix,destination,rate,connection_fee,increment,minimum,grace,effective_from,
/// effective_to,currency`), by code. `number`: the revision; its rows are those in
/// force right after it was published.
pub async fn export_csv(
    db: &DatabaseConnection,
    plan_id: i64,
    number: i64,
) -> ServiceResult<Vec<u8>> {
    let plan = get_plan(db, plan_id).await?;
    let rows = rows_as_of(db, plan_id, number).await?;
    let mut out = csv::Writer::from_writer(Vec::new());
    let header = EXPORT_COLUMNS;
    let err = |e: csv::Error| ServiceError::Internal(format!("csv: {e}"));
    out.write_record(header).map_err(err)?;
    for r in rows {
        out.write_record([
            r.prefix.as_str(),
            r.destination.as_str(),
            &format_micros(r.rate_micros, 6),
            &format_micros(r.connection_fee_micros, 6),
            &format!("{}/{}", r.increment_first, r.increment_next),
            &r.minimum_s.to_string(),
            &r.grace_s.to_string(),
            &rfc3339(r.effective_from),
            &r.effective_to.map(rfc3339).unwrap_or_default(),
            plan.currency.as_str(),
        ])
        .map_err(err)?;
    }
    out.into_inner()
        .map_err(|e| ServiceError::Internal(format!("csv: {e}")))
}

/// A revision's rows as an XLSX workbook: one sheet named after the plan, the same
/// columns as [`export_csv`], rates as numbers with 6 decimals, dates as dates (UTC).
pub async fn export_xlsx(
    db: &DatabaseConnection,
    plan_id: i64,
    number: i64,
) -> ServiceResult<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook};
    let plan = get_plan(db, plan_id).await?;
    let rows = rows_as_of(db, plan_id, number).await?;
    let err = |e: rust_xlsxwriter::XlsxError| ServiceError::Internal(format!("xlsx: {e}"));
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    let name: String = plan
        .name
        .chars()
        .filter(|c| !matches!(c, '[' | ']' | ':' | '*' | '?' | '/' | '\\'))
        .take(31)
        .collect();
    if !name.trim().is_empty() {
        sheet.set_name(name.trim()).map_err(err)?;
    }
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("0.000000");
    let date = Format::new().set_num_format("yyyy-mm-dd hh:mm");
    let header = EXPORT_COLUMNS;
    for (c, h) in header.iter().enumerate() {
        sheet
            .write_string_with_format(0, c as u16, *h, &bold)
            .map_err(err)?;
    }
    let excel_date = |t: DateTime<Utc>| {
        rust_xlsxwriter::ExcelDateTime::from_timestamp(t.timestamp()).map_err(err)
    };
    for (i, r) in rows.iter().enumerate() {
        let row = i as u32 + 1;
        sheet.write_string(row, 0, &r.prefix).map_err(err)?;
        sheet.write_string(row, 1, &r.destination).map_err(err)?;
        // Micro-units to a spreadsheet number: exact for every 6-decimal rate below 2^53.
        sheet
            .write_number_with_format(row, 2, r.rate_micros as f64 / 1e6, &money)
            .map_err(err)?;
        sheet
            .write_number_with_format(row, 3, r.connection_fee_micros as f64 / 1e6, &money)
            .map_err(err)?;
        sheet
            .write_string(
                row,
                4,
                format!("{}/{}", r.increment_first, r.increment_next),
            )
            .map_err(err)?;
        sheet
            .write_number(row, 5, r.minimum_s as f64)
            .map_err(err)?;
        sheet.write_number(row, 6, r.grace_s as f64).map_err(err)?;
        sheet
            .write_datetime_with_format(row, 7, excel_date(r.effective_from)?, &date)
            .map_err(err)?;
        if let Some(to) = r.effective_to {
            sheet
                .write_datetime_with_format(row, 8, excel_date(to)?, &date)
                .map_err(err)?;
        }
        sheet.write_string(row, 9, &plan.currency).map_err(err)?;
    }
    book.save_to_buffer().map_err(err)
}

/// Codes in the plan's live revision (current and scheduled rows).
pub async fn count_live_codes(db: &DatabaseConnection, plan_id: i64) -> ServiceResult<u64> {
    Ok(live_rates(db, plan_id).await?.len() as u64)
}

/// The plans a service may take, as `(id, name)`, for its pick list.
pub async fn plans_for(
    db: &DatabaseConnection,
    direction: ServiceDirection,
) -> ServiceResult<Vec<(i64, String)>> {
    let kind = match direction {
        ServiceDirection::Customer => PlanKind::Customer,
        ServiceDirection::Supplier => PlanKind::Supplier,
    };
    Ok(all_plans(db, Some(kind))
        .await?
        .into_iter()
        .map(|p| (p.id, p.name))
        .collect())
}
