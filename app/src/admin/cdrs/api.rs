//! The CDRs module's server functions: the CDR list and detail, processing rejected and
//! unrated CDRs again, the carrier balances, and the API keys of the switches. Staff
//! only (`Role::Admin`); writes take the signed-in user as the audit actor.

use domain::cdr::views::{
    ApiKeyRow, BalanceRow, CdrDetail, CdrExportView, CdrFileChoices, CdrImportView, CdrQuery,
    CdrRow, IngestReport, LedgerCheckView, PullSourceForm, PullSourceRow, ReasonCount, RerateQuery,
    RerateRunView, Spend24h, TotalsView,
};
use domain::listing::Page;
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

#[cfg(feature = "ssr")]
use {
    crate::server::{actor, require, respond, state},
    domain::Role,
    service::cdrs::{self, api_keys, views},
};

/// The latest ledger check, or none yet (GET).
#[server(prefix = "/fn", endpoint = "admin/ledger-check", input = GetUrl)]
pub async fn fetch_ledger_check() -> Result<Option<LedgerCheckView>, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            Ok(cdrs::ledger::last_check(&state()?.db).await?)
        }
        .await,
    )
}

/// A page of CDRs (GET).
#[server(prefix = "/fn", endpoint = "admin/cdrs", input = GetUrl)]
pub async fn cdrs_page(#[server(default)] query: CdrQuery) -> Result<Page<CdrRow>, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            Ok(views::cdr_page(&state()?.db, &query).await?)
        }
        .await,
    )
}

/// Rejected and unrated CDRs counted by reason (GET).
#[server(prefix = "/fn", endpoint = "admin/cdrs/problems", input = GetUrl)]
pub async fn fetch_cdr_problems() -> Result<Vec<ReasonCount>, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            Ok(views::problem_reasons(&state()?.db).await?)
        }
        .await,
    )
}

/// One CDR with both legs' explanations (GET).
#[server(prefix = "/fn", endpoint = "admin/cdr", input = GetUrl)]
pub async fn fetch_cdr(id: i64) -> Result<CdrDetail, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            Ok(views::cdr_detail(&state()?.db, id).await?)
        }
        .await,
    )
}

/// Processes the rejected and unrated CDRs again (those in `ids`, or the oldest 1 000
/// of all of them, to keep the request short: press again for more) with the
/// configuration and rates in force now.
#[server(prefix = "/fn", endpoint = "admin/cdrs/reprocess")]
pub async fn reprocess_cdrs(ids: Option<Vec<i64>>) -> Result<IngestReport, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            let state = state()?;
            Ok(cdrs::reprocess(&state.db, &state.decks, ids.as_deref(), 1_000).await?)
        }
        .await,
    )
}

/// The latest CDR file imports, newest first (GET). Files are uploaded with a plain
/// form POST to `/admin/cdr-files/upload` (multipart, handled by the server crate).
#[server(prefix = "/fn", endpoint = "admin/cdr-files", input = GetUrl)]
pub async fn fetch_cdr_imports() -> Result<Vec<CdrImportView>, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            Ok(cdrs::files::list_imports(&state()?.db).await?)
        }
        .await,
    )
}

/// Asks for a re-rating of the rated calls of `query` against the rate plans in force
/// now, done in the background: the difference per carrier, and with `apply` the
/// adjustments posted to the ledger (`service::cdrs::rerate`). A bad period is refused
/// at once, naming the field.
#[server(prefix = "/fn", endpoint = "admin/rerate")]
pub async fn start_rerate(query: RerateQuery, apply: bool) -> Result<RerateRunView, AppError> {
    respond(
        async move {
            let actor = actor(Role::Admin).await?;
            Ok(cdrs::rerate::request(&state()?.db, &actor, &query, apply).await?)
        }
        .await,
    )
}

/// A re-rating run: its progress, then its result (GET).
#[server(prefix = "/fn", endpoint = "admin/rerate/run", input = GetUrl)]
pub async fn fetch_rerate_run(id: i64) -> Result<RerateRunView, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            Ok(cdrs::rerate::run(&state()?.db, id).await?)
        }
        .await,
    )
}

/// The CDR pull sources with their high-water marks and last runs (GET).
#[server(prefix = "/fn", endpoint = "admin/cdr-pull-sources", input = GetUrl)]
pub async fn fetch_pull_sources() -> Result<Vec<PullSourceRow>, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            Ok(cdrs::pull::source_rows(&state()?.db).await?)
        }
        .await,
    )
}

/// Adds a CDR pull source; it is pulled every `interval_secs` from now on.
#[server(prefix = "/fn", endpoint = "admin/cdr-pull-sources/create")]
pub async fn create_pull_source(form: PullSourceForm) -> Result<(), AppError> {
    respond(
        async move {
            let actor = actor(Role::Admin).await?;
            cdrs::pull::create_source(&state()?.db, &actor, &form).await?;
            Ok(())
        }
        .await,
    )
}

/// What "Pull now" stored, and whether the source had more than one request takes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PulledNow {
    pub ingest: IngestReport,
    /// False: more records wait; the scheduler fetches them within seconds.
    pub caught_up: bool,
}

/// Pulls source `id` now, at most `service::cdrs::pull::NOW_PAGES` pages; the counts
/// of what it stored.
#[server(prefix = "/fn", endpoint = "admin/cdr-pull-sources/pull")]
pub async fn pull_source_now(id: i64) -> Result<PulledNow, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            let state = state()?;
            let client = cdrs::pull::client()?;
            let report = cdrs::pull::pull(
                &state.db,
                &state.kv,
                &state.decks,
                &client,
                id,
                cdrs::pull::NOW_PAGES,
            )
            .await?;
            match (report.ran, report.error) {
                (false, _) => Err(AppError::Conflict(
                    "another instance is pulling this source now; try again in a moment".into(),
                )),
                (true, Some(e)) => Err(AppError::Conflict(format!(
                    "the pull stopped after {} new calls: {e}",
                    report.ingest.stored
                ))),
                (true, None) => Ok(PulledNow {
                    ingest: report.ingest,
                    caught_up: report.caught_up,
                }),
            }
        }
        .await,
    )
}

/// The CDR upload form's sources and interconnects (GET).
#[server(prefix = "/fn", endpoint = "admin/cdr-files/choices", input = GetUrl)]
pub async fn fetch_cdr_file_choices() -> Result<CdrFileChoices, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            Ok(cdrs::files::choices(&state()?.db).await?)
        }
        .await,
    )
}

/// Queues a CSV export of the CDRs `query` selects (every page, not only the one shown).
#[server(prefix = "/fn", endpoint = "admin/cdr-exports/create")]
pub async fn export_cdrs(query: CdrQuery) -> Result<(), AppError> {
    respond(
        async move {
            let actor = actor(Role::Admin).await?;
            cdrs::export::request(&state()?.db, &actor, &query).await?;
            Ok(())
        }
        .await,
    )
}

/// The signed-in user's latest CDR exports (GET); finished ones download from
/// `/admin/cdr-exports/{id}/cdrs.csv`.
#[server(prefix = "/fn", endpoint = "admin/cdr-exports", input = GetUrl)]
pub async fn fetch_cdr_exports() -> Result<Vec<CdrExportView>, AppError> {
    respond(
        async move {
            let actor = actor(Role::Admin).await?;
            Ok(cdrs::export::list(&state()?.db, &actor).await?)
        }
        .await,
    )
}

/// Every carrier's balance, credit, the credit its calls in progress hold, and last CDR
/// (GET).
#[server(prefix = "/fn", endpoint = "admin/balances", input = GetUrl)]
pub async fn carrier_balances() -> Result<Vec<BalanceRow>, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            let state = state()?;
            let mut rows = views::balances(&state.db).await?;
            let ids: Vec<i64> = rows.iter().map(|r| r.carrier_id).collect();
            match service::routing::capacity::held_credit(&state.kv, &ids).await {
                Ok(held) => {
                    for row in &mut rows {
                        row.held_by_calls = held
                            .get(&row.carrier_id)
                            .map(|r| (domain::money::rate_text(r.amount), r.holders));
                    }
                }
                Err(e) => tracing::warn!(error = %e, "credit held by calls unavailable"),
            }
            Ok(rows)
        }
        .await,
    )
}

/// The rolling 24 hours of traffic up to now (GET).
#[server(prefix = "/fn", endpoint = "admin/spend", input = GetUrl)]
pub async fn fetch_spend_24h() -> Result<Spend24h, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            Ok(views::spend_24h(&state()?.db, chrono::Utc::now()).await?)
        }
        .await,
    )
}

/// Totals of `period` (`today`, `7d`, `month`) up to now (GET).
#[server(prefix = "/fn", endpoint = "admin/totals", input = GetUrl)]
pub async fn fetch_totals(period: String) -> Result<TotalsView, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            Ok(views::totals(&state()?.db, &period, chrono::Utc::now()).await?)
        }
        .await,
    )
}

/// Posts a payment or adjustment to carrier `carrier_id`'s account (credit control
/// runs with it: a payment can unblock the carrier).
#[server(prefix = "/fn", endpoint = "admin/balances/post")]
pub async fn post_to_ledger(
    carrier_id: i64,
    form: domain::cdr::PostingForm,
) -> Result<(), AppError> {
    respond(
        async move {
            let actor = actor(Role::Admin).await?;
            cdrs::post_adjustment(&state()?.db, &actor, carrier_id, &form).await?;
            Ok(())
        }
        .await,
    )
}

/// Every API key (GET).
#[server(prefix = "/fn", endpoint = "admin/api-keys", input = GetUrl)]
pub async fn api_key_rows() -> Result<Vec<ApiKeyRow>, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            Ok(views::api_key_rows(&state()?.db).await?)
        }
        .await,
    )
}

/// A key just created: shown once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewApiKey {
    pub name: String,
    pub secret: String,
}

/// Creates an API key named `name`; the answer holds the key, never shown again.
#[server(prefix = "/fn", endpoint = "admin/api-keys/create")]
pub async fn create_api_key(name: String) -> Result<NewApiKey, AppError> {
    respond(
        async move {
            let actor = actor(Role::Admin).await?;
            let created = api_keys::create(&state()?.db, &name, &actor).await?;
            Ok(NewApiKey {
                name: created.key.name,
                secret: created.secret,
            })
        }
        .await,
    )
}

/// Revokes API key `id`: its switch's requests are refused from now on.
#[server(prefix = "/fn", endpoint = "admin/api-keys/revoke")]
pub async fn revoke_api_key(id: i64) -> Result<(), AppError> {
    respond(
        async move {
            let actor = actor(Role::Admin).await?;
            api_keys::revoke(&state()?.db, id, &actor).await?;
            Ok(())
        }
        .await,
    )
}
