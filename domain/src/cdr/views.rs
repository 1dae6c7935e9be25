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
    /// Digits the B-number (E.164 after mediation, or as dialled) starts with.
    #[serde(default)]
    pub number: String,
    /// First day, `YYYY-MM-DD` (UTC), of the call's setup.
    #[serde(default)]
    pub from: String,
    /// Last day, `YYYY-MM-DD` (UTC), inclusive.
    #[serde(default)]
    pub to: String,
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
    /// The record as received, pretty-printed JSON.
    pub raw: String,
    /// RFC 3339, UTC.
    pub received_at: String,
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
