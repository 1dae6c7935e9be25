//! The rate plans module's server functions. Staff only (`Role::Admin`); writes take the
//! signed-in user as the audit actor. Files are uploaded with a plain form POST to
//! `/admin/rate-plans/{id}/upload` (multipart, handled by the server crate) and
//! exports are downloaded from `/admin/rate-plans/{id}/revisions/{n}/export.{csv,xlsx}`.

use domain::listing::{ListQuery, Page};
use domain::rate_plans::derive::{DerivationPreview, MarkupForm};
use domain::rate_plans::{
    ImportOptions, ImportView, NumberRating, RatePlanForm, RatePlanRow, RateRow, RevisionDiffRow,
    RevisionRow,
};
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

#[cfg(feature = "ssr")]
use {
    crate::server::{actor, require, respond, state},
    domain::Role,
    service::rate_plans::{self, import},
};

/// The plan page's header and its settings form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanOverview {
    pub id: i64,
    pub form: RatePlanForm,
    /// Number of the live revision.
    pub revision: Option<i64>,
    /// Codes in force now or scheduled.
    pub codes: u64,
    /// The supplier or customer, by name.
    pub carrier: Option<String>,
    /// `(id, name)` of every carrier, for the settings form.
    pub carriers: Vec<(i64, String)>,
}

/// A page of rate plans: `query.q` searches names, `query.kind` filters (GET).
#[server(prefix = "/fn", endpoint = "admin/rate-plans", input = GetUrl)]
pub async fn rate_plans_page(
    #[server(default)] query: ListQuery,
) -> Result<Page<RatePlanRow>, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            let kind = domain::rate_plans::PlanKind::parse(&query.kind);
            Ok(
                rate_plans::list_plans(&state()?.db, &query.q, kind, &query.after, query.limit)
                    .await?,
            )
        }
        .await,
    )
}

/// `(id, name)` of every carrier, by name.
#[cfg(feature = "ssr")]
async fn carrier_choices(db: &sea_orm::DatabaseConnection) -> Result<Vec<(i64, String)>, AppError> {
    use sea_orm::{EntityTrait, QueryOrder};
    use service::entity::carrier;
    Ok(carrier::Entity::find()
        .order_by_asc(carrier::Column::Name)
        .all(db)
        .await
        .map_err(service::ServiceError::from)?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect())
}

/// Carriers to choose from when creating a plan (GET).
#[server(prefix = "/fn", endpoint = "admin/rate-plans/carriers", input = GetUrl)]
pub async fn rate_plan_carriers() -> Result<Vec<(i64, String)>, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            carrier_choices(&state()?.db).await
        }
        .await,
    )
}

/// One plan's header and settings (GET).
#[server(prefix = "/fn", endpoint = "admin/rate-plan", input = GetUrl)]
pub async fn fetch_plan_overview(id: i64) -> Result<PlanOverview, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            let db = &state()?.db;
            let model = rate_plans::get_plan(db, id).await?;
            let plan = rate_plans::plan_of(&model)?;
            let carriers = carrier_choices(db).await?;
            let revision = match model.live_revision_id {
                Some(_) => rate_plans::list_revisions(db, id)
                    .await?
                    .first()
                    .map(|r| r.number),
                None => None,
            };
            Ok(PlanOverview {
                id,
                form: RatePlanForm::of(&plan),
                revision,
                codes: rate_plans::count_live_codes(db, id).await?,
                carrier: model.carrier_id.and_then(|c| {
                    carriers
                        .iter()
                        .find(|(i, _)| *i == c)
                        .map(|(_, n)| n.clone())
                }),
                carriers,
            })
        }
        .await,
    )
}

/// Creates (`id: None`) or updates a plan; returns its id.
#[server(prefix = "/fn", endpoint = "admin/rate-plan/save")]
pub async fn save_rate_plan(id: Option<i64>, form: RatePlanForm) -> Result<i64, AppError> {
    respond(
        async move {
            let actor = actor(Role::Admin).await?;
            Ok(rate_plans::save_plan(&state()?.db, &actor, id, &form)
                .await?
                .id)
        }
        .await,
    )
}

/// Deletes a plan no service uses.
#[server(prefix = "/fn", endpoint = "admin/rate-plan/delete")]
pub async fn delete_rate_plan(id: i64) -> Result<(), AppError> {
    respond(
        async move {
            let actor = actor(Role::Admin).await?;
            Ok(rate_plans::delete_plan(&state()?.db, &actor, id).await?)
        }
        .await,
    )
}

/// A page of a plan's rates: `query.q` a code prefix or destination prefix;
/// `query.status` `history` for every row ever published, else current ones (GET).
#[server(prefix = "/fn", endpoint = "admin/rate-plan/rates", input = GetUrl)]
pub async fn rate_plan_rates(
    plan_id: i64,
    #[server(default)] query: ListQuery,
) -> Result<Page<RateRow>, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            let scope = if query.status == "history" {
                rate_plans::RateScope::History
            } else {
                rate_plans::RateScope::Current
            };
            Ok(rate_plans::list_rates(
                &state()?.db,
                plan_id,
                &query.q,
                scope,
                &query.after,
                query.limit,
            )
            .await?)
        }
        .await,
    )
}

/// A plan's revisions, newest first (GET).
#[server(prefix = "/fn", endpoint = "admin/rate-plan/revisions", input = GetUrl)]
pub async fn rate_plan_revisions(plan_id: i64) -> Result<Vec<RevisionRow>, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            Ok(rate_plans::list_revisions(&state()?.db, plan_id).await?)
        }
        .await,
    )
}

/// Most rows a revision diff shows on the page.
pub const DIFF_ROWS: usize = 1000;

/// Codes whose rate differs between two revisions (first [`DIFF_ROWS`]) (GET).
#[server(prefix = "/fn", endpoint = "admin/rate-plan/diff", input = GetUrl)]
pub async fn revision_diff(
    plan_id: i64,
    from: i64,
    to: i64,
) -> Result<Vec<RevisionDiffRow>, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            Ok(rate_plans::diff_revisions(&state()?.db, plan_id, from, to, DIFF_ROWS).await?)
        }
        .await,
    )
}

/// "Rate a number": `at` is `YYYY-MM-DDTHH:MM` in UTC (empty: now) (GET).
#[server(prefix = "/fn", endpoint = "admin/rate-plan/rate-number", input = GetUrl)]
pub async fn rate_a_number(
    plan_id: i64,
    number: String,
    at: String,
) -> Result<NumberRating, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            let at = match at.trim() {
                "" => chrono::Utc::now(),
                text => chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
                    .or_else(|_| chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
                    .map(|t| t.and_utc())
                    .map_err(|_| {
                        let mut e = domain::FieldErrors::new();
                        e.add("at", "Enter a date and time, e.g. 2026-05-16T10:00 (UTC).");
                        AppError::Validation(e)
                    })?,
            };
            Ok(rate_plans::rate_number(&state()?.db, plan_id, &number, at).await?)
        }
        .await,
    )
}

/// A plan's imports, newest first (GET).
#[server(prefix = "/fn", endpoint = "admin/rate-plan/imports", input = GetUrl)]
pub async fn rate_plan_imports(plan_id: i64) -> Result<Vec<ImportView>, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            Ok(import::list_imports(&state()?.db, plan_id).await?)
        }
        .await,
    )
}

/// One import with its progress, preview and report (GET; polled while it runs).
#[server(prefix = "/fn", endpoint = "admin/rate-import", input = GetUrl)]
pub async fn fetch_import(id: i64) -> Result<ImportView, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            Ok(import::import_view(&state()?.db, id).await?)
        }
        .await,
    )
}

/// Reads the file again with corrected options (mapping, header line, full/partial).
#[server(prefix = "/fn", endpoint = "admin/rate-import/read-again")]
pub async fn read_import_again(id: i64, options: ImportOptions) -> Result<(), AppError> {
    respond(
        async move {
            let actor = actor(Role::Admin).await?;
            Ok(import::change_options(&state()?.db, &actor, id, options).await?)
        }
        .await,
    )
}

/// Publishes a previewed import as a revision (a background job).
#[server(prefix = "/fn", endpoint = "admin/rate-import/publish")]
pub async fn publish_import(id: i64, skip_bad_rows: bool) -> Result<(), AppError> {
    respond(
        async move {
            let actor = actor(Role::Admin).await?;
            Ok(import::publish(&state()?.db, &actor, id, skip_bad_rows).await?)
        }
        .await,
    )
}

/// Cancels an import that is not published.
#[server(prefix = "/fn", endpoint = "admin/rate-import/cancel")]
pub async fn cancel_import(id: i64) -> Result<(), AppError> {
    respond(
        async move {
            actor(Role::Admin).await?;
            let s = state()?;
            let ctx = service::jobs::JobContext {
                db: s.db.clone(),
                files: s.files.clone(),
                kv: s.kv.clone(),
            };
            Ok(import::cancel(&ctx, id).await?)
        }
        .await,
    )
}

/// The Derive tab's data: the plan's markup rule (or a new one) and the supplier decks
/// it may derive from, as `(id, name, currency)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeriveSetup {
    pub rule: MarkupForm,
    pub decks: Vec<(i64, String, String)>,
}

/// The Derive tab's data (GET).
#[server(prefix = "/fn", endpoint = "admin/rate-plan/derivation", input = GetUrl)]
pub async fn fetch_derive_setup(plan_id: i64) -> Result<DeriveSetup, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            let db = &state()?.db;
            Ok(DeriveSetup {
                rule: rate_plans::derive::saved_rule(db, plan_id).await?,
                decks: rate_plans::all_plans(db, Some(domain::rate_plans::PlanKind::Supplier))
                    .await?
                    .into_iter()
                    .map(|p| (p.id, p.name, p.currency))
                    .collect(),
            })
        }
        .await,
    )
}

/// What deriving with `rule` would change (no write).
#[server(prefix = "/fn", endpoint = "admin/rate-plan/derive-preview")]
pub async fn preview_derivation(
    plan_id: i64,
    rule: MarkupForm,
) -> Result<DerivationPreview, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            Ok(rate_plans::derive::preview(&state()?.db, plan_id, &rule).await?)
        }
        .await,
    )
}

/// Derives and publishes a revision with `rule`, and keeps the rule with the plan.
#[server(prefix = "/fn", endpoint = "admin/rate-plan/derive")]
pub async fn publish_derivation(
    plan_id: i64,
    rule: MarkupForm,
) -> Result<DerivationPreview, AppError> {
    respond(
        async move {
            let actor = actor(Role::Admin).await?;
            Ok(rate_plans::derive::publish(&state()?.db, &actor, plan_id, &rule).await?)
        }
        .await,
    )
}
