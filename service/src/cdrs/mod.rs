//! From CDR to balance: ingest, mediation, two-leg rating and the ledger.
//!
//! [`ingest`] takes the records one request (or file batch) brought and, in **one
//! transaction**, stores each as a `cdrs` row, rates its customer leg against the
//! ingress service's customer plan (revenue) and its supplier leg against the egress
//! service's supplier deck (cost), and posts both to the signed ledger (as usage: one
//! entry per carrier and side for the batch's calls, see `Postings`) and the running
//! balances. A record already stored for the same (source, call id, leg) is a replay:
//! it is counted and changes nothing, so a switch that delivers at least once gets each
//! call billed exactly once. The caller answers the switch only after the commit.
//!
//! Nothing is dropped: a record that cannot be mediated is stored `rejected` with its
//! reason; one that has no rate is stored `unrated` with its reason; both are listed and
//! can be processed again once the configuration is fixed.

pub mod api_keys;
pub mod credit;
pub mod decks;
pub mod export;
pub mod files;
pub mod ledger;
pub mod pull;
pub mod rerate;
pub mod views;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use domain::cdr::mediation::{
    AddressFacts, InterconnectFacts, Mediated, MediationTables, Rejection,
};
use domain::cdr::{CdrExplanation, IncomingCdr, KamailioCdr, LegRating, OwnCdr};
use domain::interconnect::{AddressSpec, Direction, TranslationRule};
use domain::rating::{BillableDuration, CallToRate, NoRate};
use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{
    ActiveValue::NotSet, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, Set,
};
use serde::Serialize;

use crate::db::INSERT_CHUNK;
use crate::entity::{
    carrier, carrier_balance, cdr, interconnect, interconnect_address, interconnect_service,
    ledger_entry, rate_plan, service,
};
use crate::{ServiceError, ServiceResult};
pub use decks::DeckCache;
pub use ledger::{reconcile, BalanceMismatch};

/// Most records one request may carry.
pub const MAX_RECORDS_PER_REQUEST: usize = 10_000;

/// One record as received: read, and its JSON text kept for re-processing.
#[derive(Clone, Debug)]
pub struct ReceivedCdr {
    pub cdr: IncomingCdr,
    pub raw: String,
    /// `Some(why)` for a record that could not be read and is stored as it came
    /// ([`Unreadable::Store`]); `cdr` is then a stand-in (see [`ReceivedCdr::unreadable`]).
    pub unreadable: Option<String>,
}

impl ReceivedCdr {
    /// A record that cannot be read, to be stored `rejected` (reason code
    /// `unreadable`) with its text `raw` and the reason `error`. Its key is
    /// `unreadable-` and the first 16 bytes of the SHA-256 of `raw` in hex, leg `a`, so
    /// a switch that sends it again stores it once; its times are `received_at` (the
    /// server's clock), its numbers empty and its SIP code 0.
    pub fn unreadable(raw: String, error: &BodyError, received_at: DateTime<Utc>) -> Self {
        ReceivedCdr {
            cdr: IncomingCdr {
                call_id: format!("unreadable-{}", sha256_hex(raw.as_bytes(), 16)),
                leg: "a".into(),
                source_ip: None,
                customer_interconnect_id: None,
                supplier_interconnect_id: None,
                a_number: String::new(),
                b_number: String::new(),
                setup_at: received_at,
                answer_at: None,
                end_at: received_at,
                sip_code: 0,
                sip_reason: String::new(),
                route: None,
            },
            raw,
            unreadable: Some(error.to_string()),
        }
    }
}

/// Lower-case hex of the first `bytes` bytes (at most 32) of the SHA-256 of `data`: the
/// key of a record that carries none (an Asterisk row without a unique id, a record that
/// cannot be read), or an API key's stored digest (all 32).
pub(crate) fn sha256_hex(data: &[u8], bytes: usize) -> String {
    use sha2::{Digest, Sha256};
    let hash = Sha256::digest(data);
    hash.iter()
        .take(bytes)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Most reasons [`IngestReport::unreadable_records`] lists.
pub const MAX_UNREADABLE_LISTED: usize = 100;

/// What [`parse_body`] does with records it cannot read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unreadable {
    /// The body is refused with every error, and nothing is stored: what a person or an
    /// integration under test wants to see.
    #[default]
    Refuse,
    /// Each record that cannot be read is stored `rejected` (reason code `unreadable`)
    /// with its text and why, and the rest are ingested: what a switch's CDR queue
    /// needs, so that one bad record does not hold up every later one (the shipped
    /// Kamailio configuration asks for it with `?unreadable=store`). A JSON array that
    /// does not parse is stored as one such record; NDJSON that stops parsing is read
    /// line by line from the line that failed.
    Store,
}

/// Why a request body, or one record in it, cannot be read. `record` counts from 1;
/// `line` is the body's line where the record starts (NDJSON and single objects).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BodyError {
    pub record: usize,
    pub line: Option<usize>,
    pub field: Option<String>,
    pub message: String,
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "record {}", self.record)?;
        if let Some(line) = self.line {
            write!(f, " (line {line})")?;
        }
        if let Some(field) = &self.field {
            write!(f, ", field {field}")?;
        }
        write!(f, ": {}", self.message)
    }
}

pub(crate) fn read_record(
    value: serde_json::Value,
    record: usize,
    line: Option<usize>,
) -> Result<ReceivedCdr, BodyError> {
    read_value(value, record, line).map_err(|(e, _)| e)
}

/// [`read_record`], which also gives back the record's JSON text when it cannot be read.
fn read_value(
    value: serde_json::Value,
    record: usize,
    line: Option<usize>,
) -> Result<ReceivedCdr, (BodyError, String)> {
    let fail = |field: Option<String>, message: String| BodyError {
        record,
        line,
        field,
        message,
    };
    let raw = value.to_string();
    let serde_json::Value::Object(map) = &value else {
        return Err((fail(None, "is not a JSON object".into()), raw));
    };
    let kamailio = map.contains_key("callid");
    if !kamailio && !map.contains_key("call_id") {
        let message =
            "is missing (a Kamailio acc_json record has `callid`, DIDTron's own shape `call_id`)";
        return Err((fail(Some("call_id".into()), message.into()), raw));
    }
    let cdr = if kamailio {
        serde_json::from_value::<KamailioCdr>(value)
            .map_err(|e| fail(None, format!("not an acc_json record: {e}")))
            .and_then(|c| c.read().map_err(|e| fail(Some(e.field), e.message)))
    } else {
        serde_json::from_value::<OwnCdr>(value)
            .map_err(|e| fail(None, format!("not a DIDTron CDR: {e}")))
            .and_then(|c| c.read().map_err(|e| fail(Some(e.field), e.message)))
    };
    match cdr {
        Ok(cdr) => Ok(ReceivedCdr {
            cdr,
            raw,
            unreadable: None,
        }),
        Err(e) => Err((e, raw)),
    }
}

/// One record of a body before it is read: its JSON, or the text that is not JSON and
/// why.
enum Piece {
    Json(serde_json::Value),
    NotJson(String, String),
}

/// Reads a request body: one JSON CDR, a JSON array of them, or NDJSON (one per line),
/// each in the Kamailio `acc_json` shape or DIDTron's own ([`domain::cdr`]). Records
/// that cannot be read are refused or kept as `unreadable` says.
///
/// Errors: one error when the body is empty or holds more than
/// [`MAX_RECORDS_PER_REQUEST`] records; with [`Unreadable::Refuse`] also every record
/// that cannot be read (up to 100), each naming its record number, line and field, or
/// one error when the body is not JSON at all. A body with any error stores nothing.
pub fn parse_body(body: &[u8], unreadable: Unreadable) -> Result<Vec<ReceivedCdr>, Vec<BodyError>> {
    let text_start = body.iter().position(|b| !b.is_ascii_whitespace());
    let Some(start) = text_start else {
        return Err(vec![BodyError {
            record: 0,
            line: None,
            field: None,
            message: "the body is empty: send one CDR, a JSON array of CDRs, or NDJSON".into(),
        }]);
    };
    let keep = unreadable == Unreadable::Store;
    // Lines are counted as the stream advances (once over the body, not per record).
    let mut counted = (0usize, 1usize);
    let mut line_of = |offset: usize| {
        let (from, line) = counted;
        let line = line + body[from..offset].iter().filter(|&&b| b == b'\n').count();
        counted = (offset, line);
        line
    };
    let mut pieces: Vec<(Piece, Option<usize>)> = Vec::new();
    if body[start] == b'[' {
        match serde_json::from_slice::<Vec<serde_json::Value>>(body) {
            Ok(list) => pieces.extend(list.into_iter().map(|v| (Piece::Json(v), None))),
            Err(e) if keep => {
                let text = String::from_utf8_lossy(body).into_owned();
                pieces.push((
                    Piece::NotJson(text, format!("the JSON array cannot be read: {e}")),
                    Some(e.line()),
                ));
            }
            Err(e) => {
                return Err(vec![BodyError {
                    record: 0,
                    line: Some(e.line()),
                    field: None,
                    message: format!("the JSON array cannot be read: {e}"),
                }])
            }
        }
    } else {
        let mut stream =
            serde_json::Deserializer::from_slice(body).into_iter::<serde_json::Value>();
        loop {
            let offset = stream.byte_offset();
            let begins = offset
                + body[offset..]
                    .iter()
                    .position(|b| !b.is_ascii_whitespace())
                    .unwrap_or(0);
            match stream.next() {
                None => break,
                Some(Ok(v)) => pieces.push((Piece::Json(v), Some(line_of(begins)))),
                Some(Err(_)) if keep => {
                    // From the line that failed on, one record per line.
                    let first = line_of(begins);
                    let rest = &body[begins..];
                    for (i, text) in rest.split(|&b| b == b'\n').enumerate() {
                        let text = String::from_utf8_lossy(text);
                        let text = text.trim();
                        if text.is_empty() {
                            continue;
                        }
                        let piece = match serde_json::from_str::<serde_json::Value>(text) {
                            Ok(v) => Piece::Json(v),
                            Err(e) => Piece::NotJson(text.to_owned(), format!("not JSON: {e}")),
                        };
                        pieces.push((piece, Some(first + i)));
                    }
                    break;
                }
                Some(Err(e)) => {
                    return Err(vec![BodyError {
                        record: pieces.len() + 1,
                        line: Some(e.line()),
                        field: None,
                        message: format!("not JSON: {e}"),
                    }])
                }
            }
        }
    }
    if pieces.len() > MAX_RECORDS_PER_REQUEST {
        return Err(vec![BodyError {
            record: 0,
            line: None,
            field: None,
            message: format!(
                "{} records in one request; send at most {MAX_RECORDS_PER_REQUEST}",
                pieces.len()
            ),
        }]);
    }
    let now = Utc::now();
    let mut records = Vec::with_capacity(pieces.len());
    let mut errors = Vec::new();
    for (i, (piece, line)) in pieces.into_iter().enumerate() {
        let read = match piece {
            Piece::Json(value) => read_value(value, i + 1, line),
            Piece::NotJson(text, message) => {
                let error = BodyError {
                    record: i + 1,
                    line,
                    field: None,
                    message,
                };
                Err((error, text))
            }
        };
        match read {
            Ok(r) => records.push(r),
            Err((e, raw)) if keep => records.push(ReceivedCdr::unreadable(raw, &e, now)),
            Err((e, _)) if errors.len() < 100 => errors.push(e),
            Err(_) => {}
        }
    }
    if errors.is_empty() {
        Ok(records)
    } else {
        Err(errors)
    }
}

pub use domain::cdr::views::IngestReport;

/// What CDR ingest reads of the configuration, loaded together ([`load_ingest_config`]) and
/// kept until the routing change counter moves ([`DeckCache::ingest_config`]).
pub struct IngestConfig {
    /// Every interconnect with its carrier's status, the first active service of its
    /// direction that has a rate plan, and every address, compiled for mediation.
    pub tables: MediationTables,
    /// Each carrier's account currency (ISO 4217 code), by carrier id.
    pub currencies: HashMap<i64, String>,
    /// Every rate plan by id: which revision is live, for the deck to rate with.
    pub plans: HashMap<i64, rate_plan::Model>,
}

/// The configuration CDR ingest reads ([`IngestConfig`]) as it is in the database now.
/// Every table read is one the routing change counter's triggers watch
/// (`migrations::ROUTING_TABLES`), so a cached copy is current while the counter stays.
///
/// Errors: the database's; `Internal` when stored rules do not parse or compile.
pub async fn load_ingest_config<C: ConnectionTrait>(db: &C) -> ServiceResult<IngestConfig> {
    let carriers: HashMap<i64, carrier::Model> = carrier::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let services: HashMap<i64, service::Model> = service::Entity::find()
        .filter(service::Column::Status.eq("active"))
        .filter(service::Column::RatePlanId.is_not_null())
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let mut links = interconnect_service::Entity::find().all(db).await?;
    links.sort_by_key(|l| l.service_id);
    let mut facts = Vec::new();
    for ic in interconnect::Entity::find().all(db).await? {
        let direction = Direction::parse(&ic.direction)
            .ok_or_else(|| ServiceError::Internal(format!("interconnect {} direction", ic.id)))?;
        let wanted = match direction {
            Direction::Ingress => "customer",
            Direction::Egress => "supplier",
        };
        let service = links
            .iter()
            .filter(|l| l.interconnect_id == ic.id)
            .filter_map(|l| services.get(&l.service_id))
            .find(|s| s.direction == wanted)
            .and_then(|s| s.rate_plan_id.map(|p| (s.id, p)));
        let rules: Vec<TranslationRule> =
            serde_json::from_str(&ic.translation_rules).map_err(|e| {
                ServiceError::Internal(format!("interconnect {} translation rules: {e}", ic.id))
            })?;
        let carrier_active = carriers
            .get(&ic.carrier_id)
            .is_some_and(|c| c.status == "active");
        facts.push(InterconnectFacts {
            id: ic.id,
            carrier_id: ic.carrier_id,
            name: ic.name,
            direction,
            active: carrier_active && ic.status == "active",
            tech_prefix: ic.tech_prefix.filter(|t| !t.is_empty()),
            translation_rules: rules,
            service,
        });
    }
    let addresses = interconnect_address::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .filter_map(|a| {
            Some(AddressFacts {
                interconnect_id: a.interconnect_id,
                spec: AddressSpec::parse(&a.address).ok()?,
                port: u16::try_from(a.port).unwrap_or(5060),
            })
        })
        .collect();
    let tables = MediationTables::new(facts, addresses).map_err(ServiceError::Internal)?;
    let plans = rate_plan::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let currencies = carriers
        .into_iter()
        .map(|(id, c)| (id, c.currency))
        .collect();
    Ok(IngestConfig {
        tables,
        currencies,
        plans,
    })
}

/// One record's outcome before storing.
struct Outcome {
    status: &'static str,
    reason_code: Option<String>,
    reason: Option<String>,
    mediated: Option<Mediated>,
    explain: CdrExplanation,
    revenue_micros: i64,
    cost_micros: i64,
    currency: Option<String>,
}

/// Decks and carriers a batch needs, loaded once per batch.
struct Pricing {
    decks: HashMap<i64, Arc<decks::PlanDeck>>,
    /// The configuration the batch was mediated with (carriers' currencies).
    config: Arc<IngestConfig>,
}

fn leg_rating(
    deck: &decks::PlanDeck,
    cdr: &IncomingCdr,
    b_number: &str,
) -> Result<LegRating, NoRate> {
    let answer = cdr.answer_at.unwrap_or(cdr.setup_at);
    let call = CallToRate {
        b_number,
        start: answer,
        duration: BillableDuration::Millis(cdr.duration_ms()),
        answered: true,
    };
    deck.deck
        .rate(&call, &deck.policy)
        .map(|r| LegRating::of(deck.plan_id, deck.live_revision_id, &r))
}

fn no_rate_reason(leg: &str, e: &NoRate, b_number: &str) -> (String, String) {
    (e.code().to_owned(), format!("{leg} leg: {e} ({b_number})"))
}

/// Prices one mediated record with what the batch loaded.
fn price(cdr: &IncomingCdr, mediation: Result<Mediated, Rejection>, pricing: &Pricing) -> Outcome {
    let mut outcome = Outcome {
        status: "rated",
        reason_code: None,
        reason: None,
        mediated: None,
        explain: CdrExplanation::default(),
        revenue_micros: 0,
        cost_micros: 0,
        currency: None,
    };
    let mediated = match mediation {
        Ok(m) => m,
        Err(rejection) => {
            outcome.status = "rejected";
            outcome.reason_code = Some(rejection.code().to_owned());
            outcome.reason = Some(rejection.to_string());
            return outcome;
        }
    };
    outcome.explain.tech_prefix = mediated.tech_prefix.clone();
    outcome.explain.translation = mediated.translation.clone();
    outcome.currency = pricing
        .config
        .currencies
        .get(&mediated.customer.carrier_id)
        .cloned();
    if cdr.answer_at.is_some() {
        let legs = [
            ("customer", Some(mediated.customer)),
            ("supplier", mediated.supplier),
        ];
        for (leg, party) in legs {
            let Some(party) = party else { continue };
            let Some(deck) = party.rate_plan_id.and_then(|p| pricing.decks.get(&p)) else {
                continue;
            };
            let carrier_currency = pricing.config.currencies.get(&party.carrier_id);
            if carrier_currency.is_some_and(|c| c != deck.currency.as_str()) {
                outcome.status = "unrated";
                outcome.reason_code = Some("currency_mismatch".into());
                outcome.reason = Some(format!(
                    "{leg} leg: the plan is in {}, the carrier's account in {}",
                    deck.currency,
                    carrier_currency.map(String::as_str).unwrap_or("?")
                ));
                break;
            }
            match leg_rating(deck, cdr, &mediated.b_number) {
                Ok(rating) => {
                    if leg == "customer" {
                        outcome.revenue_micros = rating.cost_micros;
                        outcome.explain.customer = Some(rating);
                    } else {
                        outcome.cost_micros = rating.cost_micros;
                        outcome.explain.supplier = Some(rating);
                    }
                }
                Err(e) => {
                    let (code, reason) = no_rate_reason(leg, &e, &mediated.b_number);
                    outcome.status = "unrated";
                    outcome.reason_code = Some(code);
                    outcome.reason = Some(reason);
                    break;
                }
            }
        }
        if outcome.status == "unrated" {
            outcome.revenue_micros = 0;
            outcome.cost_micros = 0;
        }
    }
    outcome.mediated = Some(mediated);
    outcome
}

async fn load_pricing(
    db: &DatabaseConnection,
    cache: &DeckCache,
    config: Arc<IngestConfig>,
    plan_ids: &HashSet<i64>,
) -> ServiceResult<Pricing> {
    let mut decks = HashMap::new();
    for id in plan_ids {
        if let Some(plan) = config.plans.get(id) {
            decks.insert(*id, cache.deck(db, plan).await?);
        }
    }
    Ok(Pricing { decks, config })
}

fn row(
    source_id: i64,
    received: &ReceivedCdr,
    outcome: &Outcome,
    now: DateTime<Utc>,
) -> cdr::ActiveModel {
    let c = &received.cdr;
    let m = outcome.mediated.as_ref();
    let customer = m.map(|m| m.customer);
    let supplier = m.and_then(|m| m.supplier);
    let cust = outcome.explain.customer.as_ref();
    let supp = outcome.explain.supplier.as_ref();
    // At most `n` characters (a column's length); a text of at most `n` bytes has at
    // most `n` characters, so the common case copies without walking the characters.
    let clip = |s: &str, n: usize| {
        if s.len() <= n {
            return s.to_owned();
        }
        match s.char_indices().nth(n) {
            Some((end, _)) => s[..end].to_owned(),
            None => s.to_owned(),
        }
    };
    cdr::ActiveModel {
        id: NotSet,
        source_id: Set(source_id),
        call_id: Set(c.call_id.clone()),
        leg: Set(c.leg.clone()),
        status: Set(outcome.status.to_owned()),
        reason_code: Set(outcome.reason_code.clone()),
        reason: Set(outcome.reason.as_deref().map(|r| clip(r, 500))),
        source_ip: Set(c.source_ip.map(|ip| ip.to_string()).unwrap_or_default()),
        a_number: Set(clip(&c.a_number, 64)),
        b_dialled: Set(clip(&c.b_number, 64)),
        b_number: Set(m.map(|m| m.b_number.clone())),
        setup_at: Set(c.setup_at),
        answer_at: Set(c.answer_at),
        end_at: Set(c.end_at),
        duration_ms: Set(c.duration_ms() as i64),
        pdd_ms: Set(c.pdd_ms().map(|p| p as i64)),
        sip_code: Set(i64::from(c.sip_code)),
        sip_reason: Set(clip(&c.sip_reason, 200)),
        disposition: Set(c.disposition().as_str().to_owned()),
        route: Set(c.route.as_deref().map(|r| clip(r, 255))),
        customer_carrier_id: Set(customer.map(|p| p.carrier_id)),
        customer_interconnect_id: Set(customer.map(|p| p.interconnect_id)),
        customer_service_id: Set(customer.and_then(|p| p.service_id)),
        customer_plan_id: Set(customer.and_then(|p| p.rate_plan_id)),
        customer_prefix: Set(cust.map(|r| r.prefix.clone())),
        customer_destination: Set(cust.map(|r| clip(&r.destination, 200))),
        sell_rate_micros: Set(cust.map(|r| r.rate_micros)),
        customer_billed_s: Set(cust.map_or(0, |r| r.billed_seconds as i64)),
        revenue_micros: Set(outcome.revenue_micros),
        supplier_carrier_id: Set(supplier.map(|p| p.carrier_id)),
        supplier_interconnect_id: Set(supplier.map(|p| p.interconnect_id)),
        supplier_service_id: Set(supplier.and_then(|p| p.service_id)),
        supplier_plan_id: Set(supplier.and_then(|p| p.rate_plan_id)),
        supplier_prefix: Set(supp.map(|r| r.prefix.clone())),
        supplier_destination: Set(supp.map(|r| clip(&r.destination, 200))),
        buy_rate_micros: Set(supp.map(|r| r.rate_micros)),
        supplier_billed_s: Set(supp.map_or(0, |r| r.billed_seconds as i64)),
        cost_micros: Set(outcome.cost_micros),
        currency: Set(outcome.currency.clone()),
        explain: Set(serde_json::to_string(&outcome.explain).unwrap_or_default()),
        raw: Set(received.raw.clone()),
        received_at: Set(now),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

/// The `cdrs` rows of `records`, in order, made as they are taken (a named function,
/// not a closure: a closure here would make `ingest`'s future not `Send` for every
/// lifetime, rust-lang/rust#64552).
fn rows_of<'a>(
    source_id: i64,
    records: &'a [ReceivedCdr],
    outcomes: &'a [Outcome],
    now: DateTime<Utc>,
) -> impl Iterator<Item = cdr::ActiveModel> + Send + 'a {
    records
        .iter()
        .zip(outcomes)
        .map(move |(r, o)| row(source_id, r, o, now))
}

/// Ledger entries of a batch and their sums per carrier, written together.
///
/// Calls are posted as **usage**: one entry per carrier and side (`revenue`, `cost`)
/// for all the batch's calls, whose memo names how many calls it holds and when their
/// CDRs were posted (the CDRs' `updated_at`, and `received_at` for new ones, is the
/// entry's `created_at`); a batch of one call posts an entry naming that CDR
/// (`cdr_id`). Usage per batch, not per call, keeps the ledger to the postings that
/// move balances (the glossary's "usage, invoices, payments, adjustments") while the
/// CDRs keep every call's price: a balance is the sum of a few entries per batch, and
/// ingest writes two rows per batch and carrier instead of two per call (the CDR
/// ingest benchmark in BENCHMARKS.md).
#[derive(Default)]
struct Postings {
    entries: Vec<ledger_entry::ActiveModel>,
    /// Calls' usage per (carrier, side): amount, calls, the first call's CDR id and id.
    usage: BTreeMap<(i64, &'static str), Usage>,
    /// Per carrier: the sum of its new entries and its latest call.
    balances: BTreeMap<i64, (i64, DateTime<Utc>)>,
}

/// One carrier's usage on one side of a batch.
struct Usage {
    amount_micros: i64,
    calls: u64,
    /// The first call's CDR id and call id (named when the batch has only it).
    first: (i64, String),
}

impl Postings {
    /// Adds CDR `cdr_id` to the batch's usage: a rated answered call adds its revenue
    /// to the customer's (negative) and its cost to the supplier's (positive); every
    /// mediated call moves its carriers' "last CDR" time.
    fn add(&mut self, cdr_id: i64, cdr: &IncomingCdr, outcome: &Outcome) {
        let Some(m) = outcome.mediated.as_ref() else {
            return;
        };
        let at = cdr.setup_at;
        if outcome.status != "rated" || cdr.answer_at.is_none() {
            let entry = self
                .balances
                .entry(m.customer.carrier_id)
                .or_insert((0, at));
            entry.1 = entry.1.max(at);
            return;
        }
        let customer = (m.customer.carrier_id, "revenue", -outcome.revenue_micros);
        let supplier = m
            .supplier
            .map(|s| (s.carrier_id, "cost", outcome.cost_micros));
        for (carrier_id, kind, amount) in std::iter::once(customer).chain(supplier) {
            let balance = self.balances.entry(carrier_id).or_insert((0, at));
            balance.0 += amount;
            balance.1 = balance.1.max(at);
            let usage = self
                .usage
                .entry((carrier_id, kind))
                .or_insert_with(|| Usage {
                    amount_micros: 0,
                    calls: 0,
                    first: (cdr_id, cdr.call_id.clone()),
                });
            usage.amount_micros += amount;
            usage.calls += 1;
        }
    }

    /// One entry, and its amount added to the carrier's sum.
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        carrier_id: i64,
        kind: &str,
        amount: i64,
        cdr_id: Option<i64>,
        memo: &str,
        at: DateTime<Utc>,
        currencies: &HashMap<i64, String>,
        now: DateTime<Utc>,
    ) {
        let entry = self.balances.entry(carrier_id).or_insert((0, at));
        entry.0 += amount;
        entry.1 = entry.1.max(at);
        self.entries.push(ledger_entry::ActiveModel {
            id: NotSet,
            carrier_id: Set(carrier_id),
            currency: Set(currencies.get(&carrier_id).cloned().unwrap_or_default()),
            amount_micros: Set(amount),
            kind: Set(kind.to_owned()),
            cdr_id: Set(cdr_id),
            memo: Set(memo.to_owned()),
            created_at: Set(now),
            updated_at: Set(now),
        });
    }

    /// Inserts the entries and the usage (see [`Postings`]), adds their sums to the
    /// running balances and runs credit control for the carriers touched, on `txn`.
    async fn write<C: crate::db::InsertRows>(
        self,
        txn: &C,
        currencies: &HashMap<i64, String>,
        now: DateTime<Utc>,
    ) -> ServiceResult<credit::CreditChanges> {
        let touched: Vec<i64> = self.balances.keys().copied().collect();
        let mut entries = self.entries;
        for ((carrier_id, kind), usage) in self.usage {
            let (cdr_id, memo) = if usage.calls == 1 {
                let (id, call_id) = usage.first;
                let call: String = call_id.chars().take(200).collect();
                (Some(id), format!("call {call}"))
            } else {
                let posted = now.format("%Y-%m-%d %H:%M:%S%.6f");
                (
                    None,
                    format!("{} calls, CDRs posted {posted} UTC", usage.calls),
                )
            };
            entries.push(ledger_entry::ActiveModel {
                id: NotSet,
                carrier_id: Set(carrier_id),
                currency: Set(currencies.get(&carrier_id).cloned().unwrap_or_default()),
                amount_micros: Set(usage.amount_micros),
                kind: Set(kind.to_owned()),
                cdr_id: Set(cdr_id),
                memo: Set(memo),
                created_at: Set(now),
                updated_at: Set(now),
            });
        }
        txn.insert_rows(entries).await?;
        for (carrier_id, (amount, last_cdr)) in self.balances {
            let stmt = carrier_balance::Entity::insert(carrier_balance::ActiveModel {
                carrier_id: Set(carrier_id),
                currency: Set(currencies.get(&carrier_id).cloned().unwrap_or_default()),
                balance_micros: Set(amount),
                last_cdr_at: Set(Some(last_cdr)),
                blocked: Set(false),
                blocked_at: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
            })
            .on_conflict(
                OnConflict::column(carrier_balance::Column::CarrierId)
                    .value(
                        carrier_balance::Column::BalanceMicros,
                        Expr::cust("carrier_balances.balance_micros + excluded.balance_micros"),
                    )
                    .value(
                        carrier_balance::Column::LastCdrAt,
                        Expr::cust(
                            "CASE WHEN carrier_balances.last_cdr_at IS NULL \
                             OR excluded.last_cdr_at > carrier_balances.last_cdr_at \
                             THEN excluded.last_cdr_at ELSE carrier_balances.last_cdr_at END",
                        ),
                    )
                    .value(
                        carrier_balance::Column::UpdatedAt,
                        Expr::cust("excluded.updated_at"),
                    )
                    .to_owned(),
            )
            .into_query();
            txn.execute(&stmt).await?;
        }
        credit::check(txn, &touched, now).await
    }
}

/// Mediates and prices `records` with the configuration and decks in force now.
async fn process(
    db: &DatabaseConnection,
    cache: &DeckCache,
    records: &[&IncomingCdr],
) -> ServiceResult<(Vec<Outcome>, Pricing)> {
    let config = cache.ingest_config(db).await?;
    let mediated: Vec<Result<Mediated, Rejection>> =
        records.iter().map(|r| config.tables.mediate(r)).collect();
    let mut plan_ids = HashSet::new();
    for m in mediated.iter().flatten() {
        for party in std::iter::once(m.customer).chain(m.supplier) {
            if let Some(p) = party.rate_plan_id {
                plan_ids.insert(p);
            }
        }
    }
    let pricing = load_pricing(db, cache, config, &plan_ids).await?;
    let outcomes = records
        .iter()
        .zip(mediated)
        .map(|(r, m)| price(r, m, &pricing))
        .collect();
    Ok((outcomes, pricing))
}

/// Stores, mediates, rates and posts `records` from source (API key) `source_id`, all in
/// one transaction (see the module documentation).
///
/// On PostgreSQL the CDR rows and their ledger entries go in with binary `COPY`
/// ([`crate::db::CopyTransaction`]); a batch holding a call already stored (a replay,
/// or a concurrent request's) is stored again on the `ON CONFLICT` path, in a new
/// transaction, so each call is still billed once. SQLite uses multi-row `INSERT`s.
///
/// Errors: the database's (nothing is stored then, and the switch retries); `Internal`
/// when the stored configuration cannot be compiled.
pub async fn ingest(
    db: &DatabaseConnection,
    cache: &DeckCache,
    source_id: i64,
    records: Vec<ReceivedCdr>,
) -> ServiceResult<IngestReport> {
    let mut report = IngestReport {
        received: records.len(),
        ..IngestReport::default()
    };
    // The same call twice in one request: the first counts.
    let mut seen = HashSet::new();
    let records: Vec<ReceivedCdr> = records
        .into_iter()
        .filter(|r| seen.insert((r.cdr.call_id.clone(), r.cdr.leg.clone())))
        .collect();
    if records.is_empty() {
        return Ok(report);
    }
    let incoming: Vec<&IncomingCdr> = records.iter().map(|r| &r.cdr).collect();
    let postgres = db.get_database_backend() == sea_orm::DatabaseBackend::Postgres;
    // On PostgreSQL the bulk path's ids are taken while the records are mediated and
    // rated, so the server's work overlaps ours (on a connection of its own, given back
    // at once: a sequence is outside transactions, and nothing is held while waiting).
    let (processed, ids) = tokio::join!(process(db, cache, &incoming), async {
        if !postgres {
            return Ok(None);
        }
        next_cdr_ids(db, records.len()).await.map(Some)
    });
    let (mut outcomes, pricing) = processed?;
    for (record, outcome) in records.iter().zip(outcomes.iter_mut()) {
        if let Some(why) = &record.unreadable {
            let unreadable = Rejection::Unreadable {
                message: why.clone(),
            };
            *outcome = price(&record.cdr, Err(unreadable), &pricing);
        }
    }
    let ids = ids?;
    let now = Utc::now();
    let rows = || rows_of(source_id, &records, &outcomes, now);
    let batch = Batch {
        records: &records,
        outcomes: &outcomes,
        pricing: &pricing,
        now,
    };

    let mut stored = false;
    if let Some(ids) = ids {
        // The bulk path: binary COPY of the rows (see `copy_cdrs`).
        let txn = crate::db::CopyTransaction::begin(db).await?;
        if let Some(inserted) = copy_cdrs(&txn, &records, ids, rows()).await? {
            post(&txn, &batch, &inserted, &mut report).await?;
            txn.commit().await?;
            stored = true;
        }
    }
    if !stored {
        let txn = crate::db::begin_write(db).await?;
        let inserted = insert_cdrs(&txn, rows().collect()).await?;
        post(&txn, &batch, &inserted, &mut report).await?;
        txn.commit().await?;
    }
    report.duplicates += report.received - records.len();
    metrics::counter!("didtron_cdrs_stored_total").increment(report.stored as u64);
    Ok(report)
}

/// [`ingest`], then gives back what the calls held while they were in progress: their
/// channels and credit reservations ([`crate::routing::capacity::release`]). Every way
/// CDRs arrive (the API, CDR files, pull sources) goes through here, so a call's CDR
/// frees its channels and its customer's credit however it comes.
///
/// Errors: [`ingest`]'s. The store's failing is logged, not returned: the CDRs are
/// committed, and what the calls held frees itself when its time is up.
pub async fn ingest_and_release(
    db: &DatabaseConnection,
    kv: &crate::kv::Kv,
    cache: &DeckCache,
    source_id: i64,
    records: Vec<ReceivedCdr>,
) -> ServiceResult<IngestReport> {
    let call_ids: Vec<String> = records
        .iter()
        .filter(|r| r.unreadable.is_none())
        .map(|r| r.cdr.call_id.clone())
        .collect();
    let report = ingest(db, cache, source_id, records).await?;
    let ids: Vec<&str> = call_ids.iter().map(String::as_str).collect();
    if let Err(e) = crate::routing::capacity::release(kv, &ids).await {
        tracing::warn!(error = %e, "releasing what calls held; it frees itself in time");
    }
    Ok(report)
}

/// A request's records with their outcomes, as `ingest` stores and posts them.
#[derive(Clone, Copy)]
struct Batch<'a> {
    records: &'a [ReceivedCdr],
    outcomes: &'a [Outcome],
    pricing: &'a Pricing,
    now: DateTime<Utc>,
}

/// The stored id of each new CDR, by (call id, leg).
type Inserted = HashMap<(String, String), i64>;

/// `n` new ids from the `cdrs` sequence (PostgreSQL), in one statement (returned as `n`
/// rows they took 70 ms of decoding for 10 000; as one array, a few). Ids taken are
/// never given back, even when the rows are not stored: gaps, never repeats.
///
/// Errors: the database's; `Internal` when the sequence gives another count.
async fn next_cdr_ids<C: ConnectionTrait>(db: &C, n: usize) -> ServiceResult<Vec<i64>> {
    use sea_orm::{DatabaseBackend, Statement, Value};
    let ids: Vec<i64> = match db
        .query_one_raw(Statement::from_sql_and_values(
            DatabaseBackend::Postgres,
            "SELECT array_agg(nextval(pg_get_serial_sequence('cdrs', 'id'))) AS ids \
             FROM generate_series(1, $1)",
            [Value::BigInt(Some(n as i64))],
        ))
        .await?
    {
        Some(row) => row
            .try_get::<Option<Vec<i64>>>("", "ids")?
            .unwrap_or_default(),
        None => Vec::new(),
    };
    if ids.len() != n {
        return Err(ServiceError::Internal(format!(
            "the cdrs sequence gave {} ids for {n} rows",
            ids.len()
        )));
    }
    Ok(ids)
}

/// PostgreSQL's bulk path for a batch of CDR rows (`rows`, made from `records` in
/// order, none of them repeated within the batch) with their `ids` ([`next_cdr_ids`]):
/// the rows go in with one binary `COPY`
/// ([`crate::db::CopyTransaction::copy_rows`]), made as they are sent. Returns the
/// new rows' ids.
///
/// The path is optimistic: when any of the calls is already stored for the source (a
/// switch's replay, or a concurrent request that stored it first), the unique index
/// refuses the copy, the transaction can only be dropped, and `None` says so; the
/// caller then stores the batch with [`insert_cdrs`], whose `ON CONFLICT` skips what is
/// stored and counts it as repeated.
///
/// Errors: the database's, other than that unique violation.
async fn copy_cdrs(
    txn: &crate::db::CopyTransaction,
    records: &[ReceivedCdr],
    ids: Vec<i64>,
    rows: impl Iterator<Item = cdr::ActiveModel>,
) -> ServiceResult<Option<Inserted>> {
    let inserted: Inserted = records
        .iter()
        .zip(&ids)
        .map(|(r, &id)| ((r.cdr.call_id.clone(), r.cdr.leg.clone()), id))
        .collect();
    let rows = rows.zip(ids).map(|(mut model, id)| {
        model.id = Set(id);
        model
    });
    match txn.copy_rows(rows).await {
        Ok(_) => Ok(Some(inserted)),
        Err(e)
            if matches!(
                e.sql_err(),
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
            ) =>
        {
            tracing::debug!("some of these CDRs are stored already; storing with ON CONFLICT");
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// Stores a batch of CDR rows, skipping those already stored (`ON CONFLICT (source,
/// call id, leg) DO NOTHING`), and returns the new rows' ids: on PostgreSQL in one
/// [`crate::db::insert_json_rows`] statement, on SQLite in multi-row `INSERT`s of
/// [`INSERT_CHUNK`] rows.
///
/// Errors: the database's.
async fn insert_cdrs(
    txn: &sea_orm::DatabaseTransaction,
    models: Vec<cdr::ActiveModel>,
) -> ServiceResult<Inserted> {
    let mut inserted = Inserted::new();
    let mut keep = |found: Vec<sea_orm::QueryResult>| -> ServiceResult<()> {
        for row in found {
            let id: i64 = row.try_get("", "id")?;
            let call_id: String = row.try_get("", "call_id")?;
            let leg: String = row.try_get("", "leg")?;
            inserted.insert((call_id, leg), id);
        }
        Ok(())
    };
    if txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        keep(
            crate::db::insert_json_rows(
                txn,
                &models,
                "ON CONFLICT (source_id, call_id, leg) DO NOTHING RETURNING id, call_id, leg",
            )
            .await?,
        )?;
        return Ok(inserted);
    }
    for chunk in models.chunks(INSERT_CHUNK) {
        let mut stmt = cdr::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::columns([cdr::Column::SourceId, cdr::Column::CallId, cdr::Column::Leg])
                    .do_nothing()
                    .to_owned(),
            )
            .into_query();
        stmt.returning(Query::returning().columns([
            cdr::Column::Id,
            cdr::Column::CallId,
            cdr::Column::Leg,
        ]));
        keep(txn.query_all(&stmt).await?)?;
    }
    Ok(inserted)
}

/// Counts the batch's new and repeated records into `report` and posts the new ones to
/// the ledger, the running balances and credit control, on `txn`.
async fn post<C: crate::db::InsertRows>(
    txn: &C,
    batch: &Batch<'_>,
    inserted: &Inserted,
    report: &mut IngestReport,
) -> ServiceResult<()> {
    let Batch {
        records,
        outcomes,
        pricing,
        now,
    } = *batch;
    let mut ledger = Postings::default();
    for (record, outcome) in records.iter().zip(outcomes) {
        let key = (record.cdr.call_id.clone(), record.cdr.leg.clone());
        let Some(&cdr_id) = inserted.get(&key) else {
            report.duplicates += 1;
            continue;
        };
        report.stored += 1;
        report.count(outcome.status);
        if let Some(why) = &record.unreadable {
            report.unreadable += 1;
            if report.unreadable_records.len() < MAX_UNREADABLE_LISTED {
                report.unreadable_records.push(why.clone());
            }
        }
        ledger.add(cdr_id, &record.cdr, outcome);
    }
    ledger.write(txn, &pricing.config.currencies, now).await?;
    Ok(())
}

/// A carrier's running balance (micro-units of its currency; DIDTron's side: negative
/// = the carrier owes us), or `None` before its first posting.
pub async fn balance<C: ConnectionTrait>(
    db: &C,
    carrier_id: i64,
) -> ServiceResult<Option<carrier_balance::Model>> {
    Ok(carrier_balance::Entity::find_by_id(carrier_id)
        .one(db)
        .await?)
}

/// The sum of a carrier's ledger entries, computed from the ledger itself (what the
/// running balance must equal; the reconciliation check compares the two).
pub async fn ledger_sum<C: ConnectionTrait>(db: &C, carrier_id: i64) -> ServiceResult<i64> {
    let total: Option<i64> = ledger_entry::Entity::find()
        .select_only()
        .expr_as(
            Expr::cust("CAST(COALESCE(SUM(amount_micros), 0) AS BIGINT)"),
            "total",
        )
        .filter(ledger_entry::Column::CarrierId.eq(carrier_id))
        .into_tuple()
        .one(db)
        .await?;
    Ok(total.unwrap_or(0))
}

/// Processes again the `rejected` and `unrated` CDRs (all of them, or those in `ids`),
/// oldest first, at most `limit`: after the configuration or a rate plan was fixed,
/// each is mediated and rated as if it arrived now, and those now rated are posted to
/// the ledger, in one transaction. A CDR that became `rated` meanwhile is left alone.
///
/// Returns the counts: `received` = examined, `stored` = changed, and how many are now
/// rated, unrated and rejected.
///
/// Errors: the database's (nothing changes then).
pub async fn reprocess(
    db: &DatabaseConnection,
    cache: &DeckCache,
    ids: Option<&[i64]>,
    limit: u64,
) -> ServiceResult<IngestReport> {
    let mut query = cdr::Entity::find()
        .filter(cdr::Column::Status.is_in(["rejected", "unrated"]))
        .order_by_asc(cdr::Column::Id)
        .limit(limit);
    if let Some(ids) = ids {
        query = query.filter(cdr::Column::Id.is_in(ids.iter().copied()));
    }
    let rows = query.all(db).await?;
    let mut report = IngestReport {
        received: rows.len(),
        ..IngestReport::default()
    };
    let mut kept = Vec::with_capacity(rows.len());
    for (i, stored) in rows.iter().enumerate() {
        let unreadable = stored.reason_code.as_deref() == Some("unreadable");
        let value = match serde_json::from_str(&stored.raw) {
            Ok(value) => value,
            // Stored as it came, and still not JSON.
            Err(_) if unreadable => continue,
            Err(e) => {
                return Err(ServiceError::Internal(format!(
                    "cdr {} raw: {e}",
                    stored.id
                )))
            }
        };
        match read_record(value, i + 1, None) {
            Ok(r) => kept.push((stored, r)),
            Err(e) => tracing::warn!(cdr = stored.id, error = %e, "stored CDR no longer reads"),
        }
    }
    let incoming: Vec<&IncomingCdr> = kept.iter().map(|(_, r)| &r.cdr).collect();
    let (outcomes, pricing) = process(db, cache, &incoming).await?;
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await?;
    let mut ledger = Postings::default();
    for ((stored, received), outcome) in kept.iter().zip(&outcomes) {
        let mut model = row(stored.source_id, received, outcome, now);
        model.source_id = NotSet;
        if stored.reason_code.as_deref() == Some("unreadable") {
            // A record stored as it came reads now (a newer reader): it takes its own
            // call id and leg, unless the switch has sent the call again meanwhile.
            let again = cdr::Entity::find()
                .filter(cdr::Column::SourceId.eq(stored.source_id))
                .filter(cdr::Column::CallId.eq(received.cdr.call_id.as_str()))
                .filter(cdr::Column::Leg.eq(received.cdr.leg.as_str()))
                .one(&txn)
                .await?;
            if again.is_some() {
                cdr::Entity::delete_by_id(stored.id).exec(&txn).await?;
                report.duplicates += 1;
                continue;
            }
        } else {
            model.call_id = NotSet;
            model.leg = NotSet;
        }
        model.raw = NotSet;
        model.received_at = NotSet;
        model.created_at = NotSet;
        let changed = cdr::Entity::update_many()
            .set(model)
            .filter(cdr::Column::Id.eq(stored.id))
            .filter(cdr::Column::Status.is_in(["rejected", "unrated"]))
            .exec(&txn)
            .await?;
        if changed.rows_affected == 1 {
            report.stored += 1;
            report.count(outcome.status);
            ledger.add(stored.id, &received.cdr, outcome);
        }
    }
    ledger.write(&txn, &pricing.config.currencies, now).await?;
    txn.commit().await?;
    Ok(report)
}

/// Posts a payment or an adjustment (DIDTron's side: a positive amount grows the
/// carrier's available credit, e.g. a customer's payment) to `carrier_id`'s account,
/// with its balance and credit control, in one transaction, audited as `actor`'s.
/// A payment that lifts a blocked carrier above zero unblocks it.
///
/// Errors: `Validation` naming `kind`, `amount` or `memo`
/// ([`domain::cdr::validate_posting`]); `NotFound` for the carrier.
pub async fn post_adjustment(
    db: &DatabaseConnection,
    actor: &crate::audit::Actor,
    carrier_id: i64,
    form: &domain::cdr::PostingForm,
) -> ServiceResult<credit::CreditChanges> {
    let posting = domain::cdr::validate_posting(form)?;
    let (kind, amount_micros, memo) = (
        posting.kind.as_str(),
        posting.amount_micros,
        posting.memo.as_str(),
    );
    let txn = crate::db::begin_write(db).await?;
    let carrier = crate::carriers::get_carrier_in(&txn, carrier_id).await?;
    let currencies = HashMap::from([(carrier_id, carrier.currency.clone())]);
    let now = Utc::now();
    let mut ledger = Postings::default();
    ledger.push(
        carrier_id,
        kind,
        amount_micros,
        None,
        memo,
        now,
        &currencies,
        now,
    );
    // A hand posting is not a call: it must not move "last CDR".
    let last_cdr = balance(&txn, carrier_id).await?.and_then(|b| b.last_cdr_at);
    let changes = ledger.write(&txn, &currencies, now).await?;
    carrier_balance::Entity::update_many()
        .col_expr(carrier_balance::Column::LastCdrAt, Expr::value(last_cdr))
        .filter(carrier_balance::Column::CarrierId.eq(carrier_id))
        .exec(&txn)
        .await?;
    #[derive(Serialize)]
    struct Posted<'a> {
        kind: &'a str,
        amount: String,
        memo: &'a str,
    }
    crate::audit::record_change(
        &txn,
        actor,
        "ledger_entry",
        carrier_id,
        Some(carrier_id),
        None,
        Some(&Posted {
            kind,
            amount: format!(
                "{} {}",
                crate::rate_plans::rate_text(amount_micros),
                carrier.currency
            ),
            memo,
        }),
    )
    .await?;
    txn.commit().await?;
    Ok(changes)
}
