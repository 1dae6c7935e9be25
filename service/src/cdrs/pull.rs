//! Pulling CDRs from an external softswitch API: one implementation for a generic
//! paged HTTP JSON source.
//!
//! ## The source's side (what a softswitch must answer)
//! `GET <url>?limit=<page size>[&since=<cursor>]`, with the configured `Authorization`
//! header when one is set, answers `200` and
//!
//! ```json
//! {"records": [ {…one CDR…}, … ], "cursor": "<high-water mark after these records>"}
//! ```
//!
//! Records are in Kamailio's `acc_json` shape or DIDTron's own (as `POST /api/v1/cdrs`
//! takes them), oldest first, at most `limit`. `cursor` is opaque to DIDTron (the last
//! id, or a timestamp): it is sent back as `since` to get the records after it. It is
//! required when `records` is not empty. Fewer records than `limit` means "caught up".
//!
//! ## DIDTron's side
//! - A pull fetches pages until caught up (at most [`MAX_PAGES`] per run), each page
//!   ingested in one transaction ([`super::ingest`]), then its cursor stored: a crash
//!   between the two fetches the page again, and the replay stores nothing twice (CDRs
//!   are unique per source, call id and leg). So a pull resumes after a crash exactly
//!   where the last stored page ended.
//! - Only one instance pulls a source at a time: a distributed lock (`kv::Kv::try_lock`,
//!   Redis when configured) named after the source, held while pulling (TTL
//!   [`LOCK_TTL`], released at the end).
//! - A page that cannot be fetched or read stops the pull: the reason is kept on the
//!   source (`last_error`, naming the record and field), the cursor stays, and the next
//!   run tries again.

use std::time::Duration;

use chrono::Utc;
use domain::cdr::views::IngestReport;
use domain::FieldErrors;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde::{Deserialize, Serialize};

use super::{read_record, DeckCache};
use crate::audit::Actor;
use crate::entity::{api_key, cdr_pull_source};
use crate::kv::Kv;
use crate::{ServiceError, ServiceResult};

/// Kind of the CDR source a pull source files its calls under.
pub const PULL: &str = "pull";
/// Most pages one run fetches (500 000 records at the default page size).
pub const MAX_PAGES: usize = 1_000;
/// Pages one "Pull now" from the portal fetches at most (10 000 records at 500 a
/// page), so the request stays short; the scheduler fetches the rest.
pub const NOW_PAGES: usize = 20;
/// How long a pull holds its lock at most (a crashed holder's lock expires).
pub const LOCK_TTL: Duration = Duration::from_secs(300);
/// Request timeout per page.
const TIMEOUT: Duration = Duration::from_secs(30);

/// One page as the source answers it.
#[derive(Debug, Deserialize)]
struct Page {
    records: Vec<serde_json::Value>,
    #[serde(default)]
    cursor: Option<serde_json::Value>,
}

/// What a pull did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullReport {
    /// False when another instance held the source's lock (nothing was fetched).
    pub ran: bool,
    pub pages: usize,
    pub ingest: IngestReport,
    /// The cursor after the run.
    pub cursor: String,
    /// Why the run stopped early, if it did.
    pub error: Option<String>,
    /// True when the source had nothing more (the last page was short or empty).
    pub caught_up: bool,
}

/// An HTTP client for pulls (rustls with the system's roots; the `ring` provider).
pub fn client() -> ServiceResult<reqwest::Client> {
    // The process-wide rustls provider; installing twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .user_agent(concat!("DIDTron/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ServiceError::Internal(format!("HTTP client: {e}")))
}

pub use domain::cdr::views::{PullSourceForm, PullSourceRow};

/// Adds a pull source (and the CDR source its calls are filed under), audited.
///
/// Errors: `Validation` naming `name` (empty, too long, taken), `url` (not http(s)) or
/// `interval_secs`.
pub async fn create_source(
    db: &DatabaseConnection,
    actor: &Actor,
    form: &PullSourceForm,
) -> ServiceResult<cdr_pull_source::Model> {
    let name = form.name.trim();
    let mut errors = FieldErrors::new();
    if name.is_empty() || name.chars().count() > 100 {
        errors.add("name", "Give the source a name of 1 to 100 characters.");
    } else if cdr_pull_source::Entity::find()
        .filter(cdr_pull_source::Column::Name.eq(name))
        .one(db)
        .await?
        .is_some()
        || api_key::Entity::find()
            .filter(api_key::Column::Name.eq(name))
            .one(db)
            .await?
            .is_some()
    {
        errors.add(
            "name",
            "A CDR source with this name exists; choose another.",
        );
    }
    let url = form.url.trim();
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
        _ => errors.add("url", "Enter the page endpoint as http://… or https://…"),
    }
    if !(10..=86_400).contains(&form.interval_secs) {
        errors.add(
            "interval_secs",
            "Pull every 10 seconds to 24 hours (86 400 s).",
        );
    }
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await?;
    let source = api_key::ActiveModel {
        name: Set(name.to_owned()),
        kind: Set(PULL.into()),
        key_prefix: Set(format!(
            "pull-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..11]
        )),
        key_hash: Set("-".into()),
        created_by: Set(actor.email.clone()),
        last_used_at: Set(None),
        revoked_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    let header = form.auth_header.trim();
    let model = cdr_pull_source::ActiveModel {
        name: Set(name.to_owned()),
        url: Set(url.to_owned()),
        auth_header: Set((!header.is_empty()).then(|| header.to_owned())),
        source_id: Set(source.id),
        cursor: Set(String::new()),
        page_size: Set(500),
        interval_secs: Set(form.interval_secs),
        enabled: Set(true),
        last_run_at: Set(None),
        last_success_at: Set(None),
        last_error: Set(String::new()),
        pulled_total: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    crate::audit::record_change(
        &txn,
        actor,
        "cdr_pull_source",
        model.id,
        None,
        None,
        Some(&model),
    )
    .await?;
    txn.commit().await?;
    Ok(model)
}

/// Every pull source, by name.
pub async fn sources(db: &DatabaseConnection) -> ServiceResult<Vec<cdr_pull_source::Model>> {
    Ok(cdr_pull_source::Entity::find()
        .order_by_asc(cdr_pull_source::Column::Name)
        .all(db)
        .await?)
}

/// Every pull source as the CDR files page lists it (the header is never shown).
pub async fn source_rows(db: &DatabaseConnection) -> ServiceResult<Vec<PullSourceRow>> {
    let time = super::views::rfc3339;
    Ok(sources(db)
        .await?
        .into_iter()
        .map(|s| PullSourceRow {
            id: s.id,
            name: s.name,
            url: s.url,
            has_auth_header: s.auth_header.is_some(),
            interval_secs: s.interval_secs,
            enabled: s.enabled,
            cursor: s.cursor,
            pulled_total: s.pulled_total,
            last_run_at: s.last_run_at.map(time),
            last_success_at: s.last_success_at.map(time),
            last_error: s.last_error,
        })
        .collect())
}

async fn fetch(
    client: &reqwest::Client,
    source: &cdr_pull_source::Model,
    cursor: &str,
) -> Result<Page, String> {
    let mut query: Vec<(&str, String)> = vec![("limit", source.page_size.to_string())];
    if !cursor.is_empty() {
        query.push(("since", cursor.to_owned()));
    }
    let mut request = client.get(&source.url).query(&query);
    if let Some(header) = &source.auth_header {
        request = request.header(reqwest::header::AUTHORIZATION, header);
    }
    let call = async {
        let response = request
            .send()
            .await
            .map_err(|e| format!("cannot reach {}: {e}", source.url))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("{} answered {status}", source.url));
        }
        response
            .json::<Page>()
            .await
            .map_err(|e| format!("the page is not {{\"records\": [...], \"cursor\": ...}}: {e}"))
    };
    crate::status::observe("integration", &integration_name(source.id), call).await
}

/// The name System Status files pull source `id`'s calls under (kind `integration`).
pub fn integration_name(id: i64) -> String {
    format!("cdr_pull:{id}")
}

fn cursor_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

async fn record_run(
    db: &DatabaseConnection,
    id: i64,
    cursor: &str,
    stored: usize,
    error: Option<&str>,
) -> ServiceResult<()> {
    let now = Utc::now();
    let Some(model) = cdr_pull_source::Entity::find_by_id(id).one(db).await? else {
        return Ok(());
    };
    let total = model.pulled_total + stored as i64;
    let mut active: cdr_pull_source::ActiveModel = model.into();
    active.cursor = Set(cursor.to_owned());
    active.pulled_total = Set(total);
    active.last_run_at = Set(Some(now));
    active.updated_at = Set(now);
    match error {
        Some(e) => active.last_error = Set(e.chars().take(2000).collect()),
        None => {
            active.last_error = Set(String::new());
            active.last_success_at = Set(Some(now));
        }
    }
    active.update(db).await?;
    Ok(())
}

/// Pulls source `id` until caught up or `max_pages` pages are stored (see the module
/// documentation), under its lock.
///
/// Errors: `NotFound`; the database's or the store's. A source that fails (unreachable,
/// a bad page) is not an error here: the report and the source say why.
pub async fn pull(
    db: &DatabaseConnection,
    kv: &Kv,
    cache: &DeckCache,
    client: &reqwest::Client,
    id: i64,
    max_pages: usize,
) -> ServiceResult<PullReport> {
    let lock_key = format!("cdr-pull:{id}");
    let Some(token) = kv.try_lock(&lock_key, LOCK_TTL).await? else {
        return Ok(PullReport::default());
    };
    let result = pull_locked(db, kv, cache, client, id, max_pages).await;
    let _ = kv.unlock(&lock_key, &token).await;
    result
}

async fn pull_locked(
    db: &DatabaseConnection,
    kv: &Kv,
    cache: &DeckCache,
    client: &reqwest::Client,
    id: i64,
    max_pages: usize,
) -> ServiceResult<PullReport> {
    let source = cdr_pull_source::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound("CDR pull source"))?;
    let mut report = PullReport {
        ran: true,
        cursor: source.cursor.clone(),
        ..PullReport::default()
    };
    for _ in 0..max_pages {
        let page = match fetch(client, &source, &report.cursor).await {
            Ok(page) => page,
            Err(e) => {
                report.error = Some(e);
                break;
            }
        };
        let count = page.records.len();
        if count == 0 {
            report.caught_up = true;
            break;
        }
        let Some(next) = page.cursor.as_ref().and_then(cursor_text) else {
            report.error = Some("the page has records but no `cursor`".into());
            break;
        };
        let mut records = Vec::with_capacity(count);
        let mut bad = None;
        for (i, value) in page.records.into_iter().enumerate() {
            match read_record(value, i + 1, None) {
                Ok(r) => records.push(r),
                Err(e) => {
                    bad = Some(format!("page after cursor `{}`: {e}", report.cursor));
                    break;
                }
            }
        }
        if let Some(e) = bad {
            report.error = Some(e);
            break;
        }
        let got = super::ingest_and_release(db, kv, cache, source.source_id, records).await?;
        super::files::add(&mut report.ingest, &got);
        report.pages += 1;
        report.cursor = next;
        // The page is committed: move the high-water mark past it.
        record_run(db, id, &report.cursor, got.stored, None).await?;
        if (count as i64) < source.page_size {
            report.caught_up = true;
            break;
        }
    }
    record_run(db, id, &report.cursor, 0, report.error.as_deref()).await?;
    Ok(report)
}

/// Pulls every enabled source whose interval has passed since its last run; returns
/// how many ran. `didtron serve` calls it every few seconds.
pub async fn pull_due(
    db: &DatabaseConnection,
    kv: &Kv,
    cache: &DeckCache,
    client: &reqwest::Client,
) -> ServiceResult<usize> {
    let now = Utc::now();
    let mut ran = 0;
    for source in sources(db).await?.into_iter().filter(|s| s.enabled) {
        let due = source
            .last_run_at
            .is_none_or(|t| now - t >= chrono::Duration::seconds(source.interval_secs));
        if due && pull(db, kv, cache, client, source.id, MAX_PAGES).await?.ran {
            ran += 1;
        }
    }
    Ok(ran)
}
