//! Deriving a customer plan from supplier decks by a markup rule
//! (`domain::rate_plans::derive`): preview what it would change, then publish it as a
//! revision; the rule is kept with the plan so re-deriving after the decks change uses it
//! again.

use chrono::Utc;
use domain::rate_plans::derive::{
    derive, validate_markup, DerivationPreview, MarkupForm, MarkupRule,
};
use domain::rate_plans::import::DeckMetadata;
use domain::rate_plans::revision::{plan_revision, RevisionPlan};
use domain::rate_plans::PlanKind;
use domain::FieldErrors;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter};

use super::import::{preview_rows, publish_revision};
use super::{get_plan, live_rates, plan_of};
use crate::audit::Actor;
use crate::entity::rate_plan;
use crate::{ServiceError, ServiceResult};

/// Checks the rule against the plans: the target is a customer plan, every source a
/// supplier deck in the same currency. Errors: `Validation` on `sources`; `NotFound`.
async fn checked<C: ConnectionTrait>(
    db: &C,
    plan_id: i64,
    form: &MarkupForm,
) -> ServiceResult<(rate_plan::Model, MarkupRule)> {
    let rule = validate_markup(form)?;
    let plan = get_plan(db, plan_id).await?;
    let mut errors = FieldErrors::new();
    if plan.kind != PlanKind::Customer.as_str() {
        errors.add(
            "sources",
            "Only a customer plan is derived from supplier decks.",
        );
    }
    for id in &rule.sources {
        match rate_plan::Entity::find_by_id(*id).one(db).await? {
            None => errors.add("sources", "A chosen deck no longer exists."),
            Some(source) if source.kind != PlanKind::Supplier.as_str() => errors.add(
                "sources",
                format!("{} is not a supplier deck.", source.name),
            ),
            Some(source) if source.currency != plan.currency => errors.add(
                "sources",
                format!(
                    "{} is in {}; this plan sells in {}.",
                    source.name, source.currency, plan.currency
                ),
            ),
            Some(_) => {}
        }
    }
    if errors.is_empty() {
        Ok((plan, rule))
    } else {
        Err(errors.into())
    }
}

async fn plan_derivation<C: ConnectionTrait>(
    db: &C,
    plan: &rate_plan::Model,
    rule: &MarkupRule,
) -> ServiceResult<(RevisionPlan, u64)> {
    let mut sources = Vec::with_capacity(rule.sources.len());
    for id in &rule.sources {
        sources.push(live_rates(db, *id).await?);
    }
    let rates = derive(rule, &sources);
    let live = live_rates(db, plan.id).await?;
    let terms = plan_of(plan)?.terms();
    let now = Utc::now();
    let metadata = DeckMetadata {
        issued: Some(now),
        ..DeckMetadata::default()
    };
    Ok((
        plan_revision(&terms, &live, &rates, &metadata, now, true),
        rates.len() as u64,
    ))
}

fn preview_of(revision: &RevisionPlan, codes: u64, notice_days: u32) -> DerivationPreview {
    DerivationPreview {
        codes,
        counts: revision.counts,
        first_rows: preview_rows(revision, notice_days),
        refused: revision.errors.clone(),
        deferred: revision
            .rates
            .iter()
            .filter(|r| r.requested_from.is_some())
            .count() as u64,
        revision: None,
    }
}

/// What deriving plan `plan_id` with `form` would change now. Errors: `Validation`
/// naming the field; `NotFound`.
pub async fn preview(
    db: &DatabaseConnection,
    plan_id: i64,
    form: &MarkupForm,
) -> ServiceResult<DerivationPreview> {
    let (plan, rule) = checked(db, plan_id, form).await?;
    let (revision, codes) = plan_derivation(db, &plan, &rule).await?;
    Ok(preview_of(&revision, codes, plan.notice_days as u32))
}

/// Derives and publishes a revision in one transaction, and keeps the rule with the
/// plan. Increases the notice period refuses keep their current rate (they are listed).
/// Errors: `Validation`; `Conflict` when nothing would change; `NotFound`.
pub async fn publish(
    db: &DatabaseConnection,
    actor: &Actor,
    plan_id: i64,
    form: &MarkupForm,
) -> ServiceResult<DerivationPreview> {
    let txn = crate::db::begin_write(db).await?;
    let (plan, rule) = checked(&txn, plan_id, form).await?;
    let (revision, codes) = plan_derivation(&txn, &plan, &rule).await?;
    if revision.counts.changed() == 0 {
        return Err(ServiceError::Conflict(
            "deriving changes no rate: the plan already sells every code at the derived rate"
                .into(),
        ));
    }
    let saved = publish_revision(&txn, actor, &plan, &revision, "derive", None, "").await?;
    rate_plan::Entity::update_many()
        .col_expr(
            rate_plan::Column::Derivation,
            serde_json::to_string(&rule)
                .map_err(|e| ServiceError::Internal(e.to_string()))?
                .into(),
        )
        .filter(rate_plan::Column::Id.eq(plan.id))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    let mut done = preview_of(&revision, codes, plan.notice_days as u32);
    done.revision = Some(saved.number);
    Ok(done)
}

/// The rule the plan was last derived with (a new rule when never).
pub async fn saved_rule(db: &DatabaseConnection, plan_id: i64) -> ServiceResult<MarkupForm> {
    let plan = get_plan(db, plan_id).await?;
    Ok(serde_json::from_str::<MarkupRule>(&plan.derivation)
        .map(|r| r.form())
        .unwrap_or_else(|_| MarkupForm::new_rule()))
}
