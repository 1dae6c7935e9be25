//! What the CDR, balance and API key pages show: list queries and rows (money already
//! formatted on the server from exact micro-units; times RFC 3339 UTC).

use serde::{Deserialize, Serialize};

use super::CdrExplanation;
use crate::listing::Keyset;

/// The CDR list's filters, newest first, by keyset on the CDR id. Every field may be
/// empty (no filter).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CdrQuery {
    /// `rated`, `unrated` or `rejected`.
    #[serde(default)]
    pub status: String,
    /// A [`super::Disposition`] value.
    #[serde(default)]
    pub disposition: String,
    /// A carrier id: CDRs where it is the customer or the supplier.
    #[serde(default)]
    pub carrier_id: String,
    /// An interconnect id: CDRs that came in through it (ingress) or went out through
    /// it (egress).
    #[serde(default)]
    pub interconnect_id: String,
    /// Digits the B-number (E.164 after mediation, or as dialled) starts with.
    #[serde(default)]
    pub number: String,
    /// First day, `YYYY-MM-DD` (UTC), of the call's setup.
    #[serde(default)]
    pub from: String,
    /// Last day, `YYYY-MM-DD` (UTC), inclusive.
    #[serde(default)]
    pub to: String,
    /// The stable reason code of rejected and unrated CDRs (`no_rate_in_force`,
    /// `unknown_source`…).
    #[serde(default)]
    pub reason_code: String,
    #[serde(default)]
    pub after: String,
    #[serde(default)]
    pub limit: u32,
}

impl Keyset for CdrQuery {
    fn set_after(&mut self, after: String) {
        self.after = after;
    }
}

/// One CDR in the list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CdrRow {
    pub id: i64,
    /// RFC 3339, UTC.
    pub setup_at: String,
    pub customer: Option<String>,
    pub supplier: Option<String>,
    pub a_number: String,
    /// E.164 after mediation, else as dialled.
    pub b_number: String,
    /// Talk time in seconds with milliseconds, e.g. `65.200`.
    pub duration: String,
    pub disposition: String,
    pub sip_code: i64,
    /// `rated`, `unrated` or `rejected`.
    pub status: String,
    pub reason: Option<String>,
    /// Decimal amounts in `currency`.
    pub revenue: String,
    pub cost: String,
    pub margin: String,
    pub currency: String,
}

/// One CDR with everything known about it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CdrDetail {
    pub row: CdrRow,
    pub call_id: String,
    pub leg: String,
    /// The API key (CDR source) that sent it.
    pub source: String,
    pub source_ip: String,
    pub b_dialled: String,
    pub answer_at: Option<String>,
    pub end_at: String,
    pub pdd_ms: Option<i64>,
    pub route: Option<String>,
    pub customer_interconnect: Option<String>,
    pub supplier_interconnect: Option<String>,
    pub explanation: CdrExplanation,
    /// The record as received, pretty-printed JSON (as it came when it is not JSON).
    pub raw: String,
    /// RFC 3339, UTC.
    pub received_at: String,
    /// The switch's record could not be read (reason code `unreadable`): only its text,
    /// why, its source and when it arrived are known; the call's fields are stand-ins.
    #[serde(default)]
    pub unreadable: bool,
}

/// One carrier's account on the balances page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceRow {
    pub carrier_id: i64,
    pub name: String,
    pub account_code: String,
    /// `prepaid` or `postpaid`.
    pub billing_mode: String,
    pub currency: String,
    /// DIDTron's side: negative = the carrier owes us (decimal).
    pub balance: String,
    pub credit_limit: String,
    /// Balance + credit limit: what the carrier may still spend (decimal).
    pub available: String,
    pub available_micros: i64,
    /// `active` or `inactive`.
    pub status: String,
    /// Refused by routing: its available credit reached zero.
    pub blocked: bool,
    /// RFC 3339, UTC.
    pub last_cdr_at: Option<String>,
    /// For a carrier that is both customer and supplier, its calls on each side (same
    /// sign as the balance: what it owes us for calls it sent, what we owe it for calls
    /// it carried); the balance is the netted position of both, plus payments and
    /// adjustments.
    pub netted: Option<NettedPosition>,
    /// Credit its calls in progress hold (routing reserves what each may cost until its
    /// CDR arrives), when any: `(amount as decimal text, calls)`.
    pub held_by_calls: Option<(String, u64)>,
}

/// A both-ways carrier's calls on each side, decimal text in its currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NettedPosition {
    /// Sum of its customer-leg postings (≤ 0).
    pub as_customer: String,
    /// Sum of its supplier-leg postings (≥ 0).
    pub as_supplier: String,
    /// The two together.
    pub calls_net: String,
}

/// One API key (never the key itself).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyRow {
    pub id: i64,
    pub name: String,
    /// The key's first characters, `dtk_` + 8 hex digits.
    pub prefix: String,
    pub created_by: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// What one ingest (or one "process again") did, as the switch and the staff are told.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestReport {
    /// Records in the request (or CDRs examined).
    pub received: usize,
    /// Newly stored (or changed); the rest are replays of stored records.
    pub stored: usize,
    pub duplicates: usize,
    /// Of the stored: priced on both legs and posted (unanswered calls at zero).
    pub rated: usize,
    /// Of the stored: mediated, but a leg has no rate.
    pub unrated: usize,
    /// Of the stored: not mediated.
    pub rejected: usize,
    /// Of the rejected: records that could not be read, stored as they came (reason
    /// code `unreadable`; only when the request asked for it, see
    /// `service::cdrs::Unreadable::Store`).
    #[serde(default)]
    pub unreadable: usize,
    /// Why each record in `unreadable` could not be read (record number, line, field),
    /// at most 100; replays of stored ones are not listed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreadable_records: Vec<String>,
}

impl IngestReport {
    /// Counts one stored CDR of `status` (`rated`, `unrated`, else rejected).
    pub fn count(&mut self, status: &str) {
        match status {
            "rated" => self.rated += 1,
            "unrated" => self.unrated += 1,
            _ => self.rejected += 1,
        }
    }
}

/// One carrier's traffic over the last 24 hours, as customer or as supplier. Money is
/// decimal text in `currency`; `minutes` is talk time with one decimal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendRow {
    pub carrier_id: i64,
    pub name: String,
    pub currency: String,
    /// Attempts (every CDR).
    pub calls: i64,
    pub answered: i64,
    pub minutes: String,
    pub revenue: String,
    pub cost: String,
    pub margin: String,
    /// Answer-seizure ratio, answered ÷ attempts, in percent with one decimal.
    pub asr: String,
    /// Average call duration of the answered calls, in seconds rounded half up (`—`
    /// without one).
    pub acd: String,
}

/// One hour of one currency's traffic (for the chart), micro-units.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendHour {
    /// Start of the hour, `YYYY-MM-DDTHH:00` UTC.
    pub hour: String,
    pub calls: i64,
    pub revenue_micros: i64,
    pub cost_micros: i64,
}

/// The rolling 24 hours up to `as_of`: by customer, by supplier, and per currency the
/// hourly totals of the 25 clock hours the window touches (oldest first, empty hours
/// included).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spend24h {
    /// RFC 3339, UTC.
    pub as_of: String,
    pub customers: Vec<SpendRow>,
    pub suppliers: Vec<SpendRow>,
    pub hours: Vec<(String, Vec<SpendHour>)>,
}

/// The Balance and totals page for one period: per currency, by customer and by
/// destination (rows as [`SpendRow`]; `carrier_id` is 0 where the row is not a carrier).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotalsView {
    /// `today`, `7d` or `month`.
    pub period: String,
    /// RFC 3339, UTC: the period's start and the moment it was read.
    pub since: String,
    pub as_of: String,
    pub by_currency: Vec<SpendRow>,
    pub by_carrier: Vec<SpendRow>,
    pub by_destination: Vec<SpendRow>,
}

/// CDR file formats an import reads (see `service::cdrs::files`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CdrFileFormat {
    /// Asterisk `Master.csv` (cdr_csv), no header row.
    Asterisk,
    /// CSV with a header row naming DIDTron's CDR fields.
    Csv,
    /// One JSON CDR per line: Kamailio `acc_json` or DIDTron's own shape.
    Json,
}

impl CdrFileFormat {
    /// `asterisk`, `csv` or `json`.
    pub fn as_str(self) -> &'static str {
        match self {
            CdrFileFormat::Asterisk => "asterisk",
            CdrFileFormat::Csv => "csv",
            CdrFileFormat::Json => "json",
        }
    }

    /// The inverse of [`CdrFileFormat::as_str`].
    pub fn parse(text: &str) -> Option<CdrFileFormat> {
        match text {
            "asterisk" => Some(CdrFileFormat::Asterisk),
            "csv" => Some(CdrFileFormat::Csv),
            "json" => Some(CdrFileFormat::Json),
            _ => None,
        }
    }

    /// What staff read: "Asterisk Master.csv", "CSV with a header", "JSON lines".
    pub fn label(self) -> &'static str {
        match self {
            CdrFileFormat::Asterisk => "Asterisk Master.csv",
            CdrFileFormat::Csv => "CSV with a header",
            CdrFileFormat::Json => "JSON lines",
        }
    }
}

/// How an uploaded CDR file is read and whose calls it holds.
///
/// A file without addresses (Master.csv; a CSV without `source_ip`) needs its customer:
/// `customer_interconnect_id`, or `customer_by_account_code` (Master.csv's
/// `accountcode` is a carrier's account code, whose one ingress interconnect is the
/// customer's). The supplier is `supplier_interconnect_id` when given, else the route
/// the record names.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CdrFileOptions {
    /// `None`: guessed from the name and first line.
    pub format: Option<CdrFileFormat>,
    /// The CDR source (API key) the calls are filed under; `None`: "File imports".
    /// Calls are unique per (source, call id, leg): filing a switch's file under its
    /// key stores only the calls its API pushes missed.
    pub source_id: Option<i64>,
    pub customer_interconnect_id: Option<i64>,
    pub supplier_interconnect_id: Option<i64>,
    pub customer_by_account_code: bool,
}

/// A line of a CDR file that cannot be read: 1-based line and why (naming the field).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineError {
    pub line: u64,
    pub message: String,
}

/// What an import read and stored. With any bad line nothing is stored: `errors` lists
/// the first 200, `bad_lines` counts them all.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CdrImportReport {
    pub format: String,
    /// CDRs read from the file.
    pub records: u64,
    pub bad_lines: u64,
    pub errors: Vec<LineError>,
    pub ingest: IngestReport,
}

/// One CDR import as its page lists it. Times RFC 3339 UTC.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CdrImportView {
    pub id: i64,
    pub file_name: String,
    pub file_size: i64,
    pub format: String,
    pub source: String,
    /// `queued`, `running`, `done` or `failed`.
    pub status: String,
    pub rows_total: i64,
    pub rows_done: i64,
    pub error: String,
    pub report: Option<CdrImportReport>,
    pub created_by: String,
    pub created_at: String,
    pub finished_at: Option<String>,
}

/// What a CDR file can be filed under: `(id, label)` pairs for the upload form.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CdrFileChoices {
    /// CDR sources: the switches' keys and "File imports".
    pub sources: Vec<(i64, String)>,
    /// Ingress interconnects, "Carrier — interconnect".
    pub customer_interconnects: Vec<(i64, String)>,
    /// Egress interconnects, "Carrier — interconnect".
    pub supplier_interconnects: Vec<(i64, String)>,
}

/// Which rated calls to re-rate: answered calls set up from `from` to `to` (dates,
/// `YYYY-MM-DD`, UTC, both included), of one carrier (either leg) or all.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RerateQuery {
    pub from: String,
    pub to: String,
    pub carrier_id: Option<i64>,
}

/// Most days one re-rating may span.
pub const RERATE_MAX_DAYS: i64 = 92;

impl RerateQuery {
    /// The window as `[start, end)` in UTC.
    ///
    /// Errors name `from` and `to`: not a date, `to` before `from`, or more than
    /// [`RERATE_MAX_DAYS`] days.
    pub fn window(
        &self,
    ) -> Result<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>), crate::FieldErrors>
    {
        use chrono::NaiveDate;
        let mut errors = crate::FieldErrors::new();
        let date = |text: &str| NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok();
        let from = date(&self.from);
        let to = date(&self.to);
        if from.is_none() {
            errors.add("from", "Enter the first day as YYYY-MM-DD.");
        }
        if to.is_none() {
            errors.add("to", "Enter the last day as YYYY-MM-DD.");
        }
        if let (Some(f), Some(t)) = (from, to) {
            if t < f {
                errors.add("to", "The last day is before the first.");
            } else if (t - f).num_days() >= RERATE_MAX_DAYS {
                errors.add(
                    "to",
                    format!("Re-rate at most {RERATE_MAX_DAYS} days at a time."),
                );
            }
        }
        match (from, to) {
            (Some(f), Some(t)) if errors.is_empty() => {
                let start = f.and_hms_opt(0, 0, 0).expect("midnight").and_utc();
                let end = (t + chrono::Days::new(1))
                    .and_hms_opt(0, 0, 0)
                    .expect("midnight")
                    .and_utc();
                Ok((start, end))
            }
            _ => Err(errors),
        }
    }
}

/// One carrier's leg in a re-rating: its calls whose price changes, their total before
/// and after (decimal text in `currency`), and the ledger entry that corrects it
/// (DIDTron's side: a customer charged more gets a negative entry).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RerateLine {
    pub carrier_id: i64,
    pub carrier: String,
    /// `customer` (revenue) or `supplier` (cost).
    pub leg: String,
    pub currency: String,
    pub calls: u64,
    pub before: String,
    pub after: String,
    pub ledger_change: String,
    pub ledger_change_micros: i64,
}

/// What a re-rating finds (preview) or did (applied).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RerateDiff {
    /// Rated answered calls in the window.
    pub examined: u64,
    /// Of them, priced differently now.
    pub changed: u64,
    /// Calls that cannot be re-rated, by reason (e.g. no rate now, parties changed).
    pub skipped: Vec<(String, u64)>,
    pub lines: Vec<RerateLine>,
    /// True once the adjustments are posted.
    pub applied: bool,
}

/// The latest ledger check as the balances page shows it: when it ran (RFC 3339 UTC),
/// how many running balances it compared, and each one that differed from its ledger
/// (`carrier`, running balance, ledger sum, as decimals), set to the ledger sum.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerCheckView {
    pub checked_at: String,
    pub carriers: u64,
    pub mismatches: Vec<(String, String, String)>,
    pub repaired: bool,
}

/// A re-rating run (a preview or an application, done in the background) as the
/// re-rating page follows it. Times RFC 3339 UTC.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RerateRunView {
    pub id: i64,
    pub query: RerateQuery,
    /// True: posts the adjustments; false: only the difference.
    pub apply: bool,
    /// `queued`, `running`, `done` or `failed`.
    pub status: String,
    /// Calls priced so far, of `total`.
    pub examined: u64,
    pub total: u64,
    /// The difference (or what was posted) once done.
    pub result: Option<RerateDiff>,
    /// Why it failed.
    pub error: String,
    pub created_at: String,
    pub finished_at: Option<String>,
}

impl RerateRunView {
    /// True while the run is waiting or working.
    pub fn is_busy(&self) -> bool {
        matches!(self.status.as_str(), "queued" | "running")
    }
}

/// A new CDR pull source's settings (see `service::cdrs::pull` for the protocol).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullSourceForm {
    pub name: String,
    /// The page endpoint, `http://…` or `https://…`.
    pub url: String,
    /// Sent as the `Authorization` header (e.g. `Bearer abc…`); empty for none.
    pub auth_header: String,
    /// Seconds between pulls (10–86 400).
    pub interval_secs: i64,
}

/// A CDR pull source as its list shows it. Times RFC 3339 UTC.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullSourceRow {
    pub id: i64,
    pub name: String,
    pub url: String,
    pub has_auth_header: bool,
    pub interval_secs: i64,
    pub enabled: bool,
    /// The high-water mark: the source's cursor after the last page stored.
    pub cursor: String,
    pub pulled_total: i64,
    pub last_run_at: Option<String>,
    pub last_success_at: Option<String>,
    pub last_error: String,
}

/// One CDR export as the CDRs page lists it. Times RFC 3339 UTC.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CdrExportView {
    pub id: i64,
    /// The filters, in words ("status rated, from 2026-11-01").
    pub filters: String,
    /// `queued`, `running`, `done` or `failed`.
    pub status: String,
    pub rows_done: i64,
    pub file_size: i64,
    pub error: String,
    pub created_at: String,
    pub finished_at: Option<String>,
}

impl CdrQuery {
    /// The filters in words, for lists of exports: "all CDRs" when none is set.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = [
            ("status", &self.status),
            ("disposition", &self.disposition),
            ("carrier", &self.carrier_id),
            ("interconnect", &self.interconnect_id),
            ("B-number from", &self.number),
            ("from", &self.from),
            ("to", &self.to),
            ("reason", &self.reason_code),
        ]
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| format!("{k} {}", v.trim()))
        .collect();
        if parts.is_empty() {
            "all CDRs".into()
        } else {
            parts.join(", ")
        }
    }
}

/// How many CDRs are rejected or unrated for one reason, with the latest one's words:
/// what to fix before processing them again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReasonCount {
    /// `rejected` or `unrated`.
    pub status: String,
    pub reason_code: String,
    pub count: i64,
    /// The latest such CDR's reason, in words.
    pub example: String,
}
