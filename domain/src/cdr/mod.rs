//! Call detail records as switches send them, and what DIDTron makes of them.
//!
//! A switch pushes one record per call (and per leg, when it reports legs apart). Two
//! shapes are accepted, told apart by their call-id key:
//!
//! - **Kamailio `acc_json`** (`callid`), as the reference harness pushes it
//!   (`../shared/harness/kamailio/README.md`): every value a string; `setup_time` is the
//!   INVITE's arrival and `start_time` the answer (or the final reply of an unanswered
//!   call), both epoch seconds with decimals; `end_time` epoch seconds; `duration`
//!   seconds; `callid`, `caller`, `callee`, `src_ip`, `route` (`sip:host:port` of the
//!   supplier the call went to, empty when it was not routed), `sip_code`, `sip_reason`.
//! - **DIDTron's own** (`call_id`), see [`OwnCdr`]: RFC 3339 times (or epoch seconds),
//!   numbers as JSON numbers or strings.
//!
//! Both become an [`IncomingCdr`]; a record missing a field, or with one that cannot be
//! read, is refused with a [`CdrFieldError`] naming the field. What the record means for
//! billing (which interconnects, which numbers, which plans) is [`mediation`]'s work.

pub mod mediation;
pub mod views;

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

crate::validation::string_enum! {
    /// How a call ended, from its final SIP response code (RFC 3261 §21): what the
    /// CDR lists filter on and what ASR counts (answered ÷ all).
    pub enum Disposition {
        /// 2xx.
        Answered = ("answered", "Answered"),
        /// 486 Busy Here, 600 Busy Everywhere.
        Busy = ("busy", "Busy"),
        /// 408 Request Timeout, 480 Temporarily Unavailable.
        NoAnswer = ("no_answer", "No answer"),
        /// 487 Request Terminated (the caller hung up first).
        Cancelled = ("cancelled", "Cancelled"),
        /// 603 Decline and the refusals of policy: 401, 402, 403, 404, 407, 484.
        Rejected = ("rejected", "Rejected"),
        /// Every other final response: 5xx, other 4xx and 6xx.
        Failed = ("failed", "Failed"),
    }
}

impl Disposition {
    /// The disposition of final response `code` (see the variants).
    pub fn of_sip_code(code: u16) -> Disposition {
        match code {
            200..=299 => Disposition::Answered,
            486 | 600 => Disposition::Busy,
            408 | 480 => Disposition::NoAnswer,
            487 => Disposition::Cancelled,
            401..=404 | 407 | 484 | 603 => Disposition::Rejected,
            _ => Disposition::Failed,
        }
    }
}

crate::validation::string_enum! {
    /// Ledger entries posted by hand (CDRs post `revenue` and `cost` themselves).
    pub enum PostingKind {
        /// Money received from the carrier (positive: its credit grows) or paid to it
        /// (negative).
        Payment = ("payment", "Payment"),
        /// A correction either way, e.g. a credit note or a dispute settled.
        Adjustment = ("adjustment", "Adjustment"),
    }
}

/// The "Post payment" form as typed: `amount` is decimal text in the carrier's
/// currency, DIDTron's side (positive raises the carrier's available credit).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostingForm {
    pub kind: String,
    pub amount: String,
    pub memo: String,
}

/// A valid posting: `amount_micros` non-zero, `memo` at most 255 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Posting {
    pub kind: PostingKind,
    pub amount_micros: i64,
    pub memo: String,
}

/// Validates a posting form. Errors name `kind`, `amount` and `memo`.
pub fn validate_posting(form: &PostingForm) -> Result<Posting, crate::FieldErrors> {
    let mut errors = crate::FieldErrors::new();
    let kind = PostingKind::parse(&form.kind);
    if kind.is_none() {
        errors.add("kind", "Choose payment or adjustment.");
    }
    let amount = match crate::carrier::money(&form.amount, "the amount") {
        Ok(0) => {
            errors.add("amount", "Enter an amount other than zero.");
            None
        }
        Ok(m) => Some(m),
        Err(message) => {
            errors.add("amount", message);
            None
        }
    };
    let memo = form.memo.trim().to_owned();
    if memo.chars().count() > 255 {
        errors.add("memo", "Keep the note to 255 characters.");
    }
    match (kind, amount) {
        (Some(kind), Some(amount_micros)) if errors.is_empty() => Ok(Posting {
            kind,
            amount_micros,
            memo,
        }),
        _ => Err(errors),
    }
}

/// One call leg as a switch reported it, read but not yet mediated.
///
/// Invariants (kept by the constructors): `call_id` is 1–255 characters; `setup_at ≤
/// answer_at ≤ end_at` and `setup_at ≤ end_at`; `answer_at` is set exactly when
/// `sip_code` is 2xx.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncomingCdr {
    /// The switch's call id (SIP Call-ID).
    pub call_id: String,
    /// `a` unless the switch reports legs apart; (source, call id, leg) is unique.
    pub leg: String,
    /// Signalling address the call came from; `None` when the record does not say (a
    /// CDR file), and then `customer_interconnect_id` names the customer.
    pub source_ip: Option<IpAddr>,
    /// The customer's ingress interconnect when the record names it (a CDR file filed
    /// against one, or a switch that echoes the routing answer); mediation then skips
    /// the source address.
    #[serde(default)]
    pub customer_interconnect_id: Option<i64>,
    /// The supplier's egress interconnect when the record names it; mediation then
    /// skips the route's address.
    #[serde(default)]
    pub supplier_interconnect_id: Option<i64>,
    /// A-number as received (may be empty: anonymous).
    pub a_number: String,
    /// B-number as dialled, tech prefix and all.
    pub b_number: String,
    /// When the INVITE arrived (UTC).
    pub setup_at: DateTime<Utc>,
    /// When the call was answered (UTC); `None` for an unanswered call.
    pub answer_at: Option<DateTime<Utc>>,
    /// When the call ended (UTC).
    pub end_at: DateTime<Utc>,
    /// Final SIP response code, 100–699.
    pub sip_code: u16,
    pub sip_reason: String,
    /// The egress gateway as `sip:host[:port]` (or `host[:port]`); `None` when the call
    /// was not routed.
    pub route: Option<String>,
}

impl IncomingCdr {
    /// Talk time in milliseconds: answer to end; 0 when unanswered.
    pub fn duration_ms(&self) -> u64 {
        self.answer_at
            .map_or(0, |a| (self.end_at - a).num_milliseconds().max(0) as u64)
    }

    /// Post-dial delay in milliseconds: INVITE to answer; `None` when unanswered.
    pub fn pdd_ms(&self) -> Option<u64> {
        self.answer_at
            .map(|a| (a - self.setup_at).num_milliseconds().max(0) as u64)
    }

    /// The disposition of [`IncomingCdr::sip_code`].
    pub fn disposition(&self) -> Disposition {
        Disposition::of_sip_code(self.sip_code)
    }
}

/// A record that cannot be read: which field, and why, in words for the switch's
/// operator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{field}: {message}")]
pub struct CdrFieldError {
    pub field: String,
    pub message: String,
}

fn field_error(field: &str, message: impl Into<String>) -> CdrFieldError {
    CdrFieldError {
        field: field.to_owned(),
        message: message.into(),
    }
}

/// A JSON scalar as switches send it: a string or a number (kept as its text).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    Text(String),
    Integer(i64),
    Decimal(DecimalText),
}

/// A JSON number with a fraction, kept as the shortest text that reads back as the
/// same number (`1795253545.221` stays `"1795253545.221"`); times are then parsed from
/// the text exactly, never by float arithmetic.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct DecimalText(pub String);

impl<'de> Deserialize<'de> for DecimalText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        f64::deserialize(d).map(|f| DecimalText(format!("{f}")))
    }
}

impl Scalar {
    fn text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Scalar::Text(s) => std::borrow::Cow::Borrowed(s.trim()),
            Scalar::Integer(n) => std::borrow::Cow::Owned(n.to_string()),
            Scalar::Decimal(f) => std::borrow::Cow::Borrowed(&f.0),
        }
    }
}

/// Parses a time: epoch seconds with up to 9 decimals (`"1795253545.164945"`) or RFC
/// 3339 (`2026-11-21T10:00:00.5Z`, any offset, converted to UTC).
///
/// Errors: the text is neither, or out of chrono's range.
pub fn parse_cdr_time(text: &str) -> Result<DateTime<Utc>, String> {
    let t = text.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
        if frac.len() <= 9 && !frac.contains('.') && !whole.is_empty() {
            let secs: i64 = whole
                .parse()
                .map_err(|_| format!("`{t}` is out of range"))?;
            let mut nanos = 0u32;
            for (i, b) in frac.bytes().enumerate() {
                nanos += u32::from(b - b'0') * 10u32.pow(8 - i as u32);
            }
            return DateTime::from_timestamp(secs, nanos).ok_or(format!("`{t}` is out of range"));
        }
    }
    DateTime::parse_from_rfc3339(t)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|_| format!("`{t}` is not epoch seconds or an RFC 3339 time"))
}

fn required<'a>(
    value: &'a Option<Scalar>,
    field: &str,
) -> Result<std::borrow::Cow<'a, str>, CdrFieldError> {
    match value.as_ref().map(Scalar::text) {
        Some(t) if !t.is_empty() => Ok(t),
        _ => Err(field_error(field, "is missing")),
    }
}

fn optional(value: &Option<Scalar>) -> Option<std::borrow::Cow<'_, str>> {
    value.as_ref().map(Scalar::text).filter(|t| !t.is_empty())
}

fn time_field(value: &Option<Scalar>, field: &str) -> Result<DateTime<Utc>, CdrFieldError> {
    parse_cdr_time(&required(value, field)?).map_err(|m| field_error(field, m))
}

fn sip_code_field(value: &Option<Scalar>, field: &str) -> Result<u16, CdrFieldError> {
    let text = required(value, field)?;
    match text.parse::<u16>() {
        Ok(code) if (100..=699).contains(&code) => Ok(code),
        _ => Err(field_error(
            field,
            format!("`{text}` is not a SIP response code (100–699)"),
        )),
    }
}

fn ip_field(value: &Option<Scalar>, field: &str) -> Result<IpAddr, CdrFieldError> {
    let text = required(value, field)?;
    let bare = text.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>()
        .map_err(|_| field_error(field, format!("`{text}` is not an IP address")))
}

/// An interconnect id: empty, absent or `0` (what Kamailio's `acc_json` writes for a
/// dialog variable never set, e.g. the supplier of a refused call) is none.
fn id_field(value: &Option<Scalar>, field: &str) -> Result<Option<i64>, CdrFieldError> {
    match optional(value) {
        None => Ok(None),
        Some(text) => match text.parse::<i64>() {
            Ok(0) => Ok(None),
            Ok(id) if id > 0 => Ok(Some(id)),
            _ => Err(field_error(
                field,
                format!("`{text}` is not an interconnect id"),
            )),
        },
    }
}

fn call_id_field(value: &Option<Scalar>, field: &str) -> Result<String, CdrFieldError> {
    let text = required(value, field)?;
    if text.chars().count() > 255 {
        return Err(field_error(field, "is longer than 255 characters"));
    }
    Ok(text.into_owned())
}

fn route_field(value: &Option<Scalar>) -> Option<String> {
    optional(value).map(|r| r.into_owned())
}

/// Checks the order of the times and the answer against the code, and builds the record.
#[allow(clippy::too_many_arguments)]
fn assemble(
    call_id: String,
    leg: String,
    source_ip: Option<IpAddr>,
    a_number: String,
    b_number: String,
    setup_at: DateTime<Utc>,
    answer_at: Option<DateTime<Utc>>,
    end_at: DateTime<Utc>,
    sip_code: u16,
    sip_reason: String,
    route: Option<String>,
    names: [&str; 3],
) -> Result<IncomingCdr, CdrFieldError> {
    let [setup_name, answer_name, end_name] = names;
    if let Some(answer) = answer_at {
        if answer < setup_at {
            return Err(field_error(answer_name, format!("is before {setup_name}")));
        }
        if end_at < answer {
            return Err(field_error(end_name, format!("is before {answer_name}")));
        }
    }
    if end_at < setup_at {
        return Err(field_error(end_name, format!("is before {setup_name}")));
    }
    if b_number.is_empty() {
        return Err(field_error("b_number", "is missing"));
    }
    Ok(IncomingCdr {
        call_id,
        leg,
        source_ip,
        customer_interconnect_id: None,
        supplier_interconnect_id: None,
        a_number,
        b_number,
        setup_at,
        answer_at,
        end_at,
        sip_code,
        sip_reason,
        route,
    })
}

/// A Kamailio `acc_json` CDR as the harness pushes it (every value a string; numbers
/// are accepted too). Unknown keys are ignored.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct KamailioCdr {
    pub callid: Option<Scalar>,
    pub caller: Option<Scalar>,
    pub callee: Option<Scalar>,
    pub src_ip: Option<Scalar>,
    pub route: Option<Scalar>,
    pub sip_code: Option<Scalar>,
    pub sip_reason: Option<Scalar>,
    pub setup_time: Option<Scalar>,
    pub start_time: Option<Scalar>,
    pub end_time: Option<Scalar>,
    pub duration: Option<Scalar>,
    /// DIDTron's addition: the customer's interconnect, when known (see [`OwnCdr`]).
    pub customer_interconnect_id: Option<Scalar>,
    /// DIDTron's addition: the supplier's interconnect, when known.
    pub supplier_interconnect_id: Option<Scalar>,
}

impl KamailioCdr {
    /// Reads the record. `start_time` is the answer of a 2xx call; an unanswered call's
    /// `start_time` is its final reply and it has no answer. `setup_time` defaults to
    /// `start_time`; `end_time` to `start_time + duration`.
    ///
    /// Errors: the first field missing or unreadable, by its Kamailio name.
    pub fn read(&self) -> Result<IncomingCdr, CdrFieldError> {
        let call_id = call_id_field(&self.callid, "callid")?;
        let customer_interconnect_id =
            id_field(&self.customer_interconnect_id, "customer_interconnect_id")?;
        let supplier_interconnect_id =
            id_field(&self.supplier_interconnect_id, "supplier_interconnect_id")?;
        let source_ip = match (&self.src_ip, customer_interconnect_id) {
            (None, Some(_)) => None,
            (ip, _) => Some(ip_field(ip, "src_ip")?),
        };
        let b_number = required(&self.callee, "callee")?.into_owned();
        let sip_code = sip_code_field(&self.sip_code, "sip_code")?;
        let start = time_field(&self.start_time, "start_time")?;
        let setup_at = match optional(&self.setup_time) {
            Some(t) => parse_cdr_time(&t).map_err(|m| field_error("setup_time", m))?,
            None => start,
        };
        let answered = (200..300).contains(&sip_code);
        let end_at = match optional(&self.end_time) {
            Some(t) => parse_cdr_time(&t).map_err(|m| field_error("end_time", m))?,
            None => {
                let seconds = optional(&self.duration).unwrap_or("0".into());
                let ms = crate::cdr::seconds_text_to_ms(&seconds).ok_or_else(|| {
                    field_error("duration", format!("`{seconds}` is not seconds"))
                })?;
                start + chrono::Duration::milliseconds(ms as i64)
            }
        };
        // An unanswered call's `start_time` may precede the setup by clock skew; its
        // end is at least its setup.
        let end_at = if answered {
            end_at
        } else {
            end_at.max(setup_at)
        };
        assemble(
            call_id,
            "a".into(),
            source_ip,
            optional(&self.caller)
                .map(|c| c.into_owned())
                .unwrap_or_default(),
            b_number,
            setup_at,
            answered.then_some(start),
            end_at,
            sip_code,
            optional(&self.sip_reason)
                .map(|c| c.into_owned())
                .unwrap_or_default(),
            route_field(&self.route),
            ["setup_time", "start_time", "end_time"],
        )
        .map(|mut cdr| {
            cdr.customer_interconnect_id = customer_interconnect_id;
            cdr.supplier_interconnect_id = supplier_interconnect_id;
            cdr
        })
    }
}

/// DIDTron's own CDR shape, for switches other than the reference Kamailio:
///
/// ```json
/// {"call_id": "8f14e45f@sbc1", "leg": "a", "source_ip": "203.0.113.10",
///  "a_number": "+442070000000", "b_number": "9912345678901",
///  "setup_time": "2026-11-21T10:00:00.120Z", "answer_time": "2026-11-21T10:00:02.500Z",
///  "end_time": "2026-11-21T10:03:02.500Z", "sip_code": 200, "sip_reason": "OK",
///  "route": "sip:198.51.100.7:5060"}
/// ```
///
/// Required: `call_id`, `source_ip`, `b_number` (as dialled, tech prefix included),
/// `setup_time`, `end_time`, `sip_code`. `answer_time` is required for a 2xx and ignored
/// otherwise. `leg` defaults to `a`; `route` (the egress gateway) is empty or absent for
/// a call that was not routed. Times: RFC 3339 or epoch seconds.
///
/// `customer_interconnect_id` and `supplier_interconnect_id` (optional) name the
/// interconnects directly, as the routing answer gave them; with the first,
/// `source_ip` may be left out.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct OwnCdr {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_id: Option<Scalar>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leg: Option<Scalar>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<Scalar>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_interconnect_id: Option<Scalar>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supplier_interconnect_id: Option<Scalar>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub a_number: Option<Scalar>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub b_number: Option<Scalar>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub setup_time: Option<Scalar>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer_time: Option<Scalar>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<Scalar>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sip_code: Option<Scalar>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sip_reason: Option<Scalar>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route: Option<Scalar>,
}

impl OwnCdr {
    /// Reads the record (see [`OwnCdr`]).
    ///
    /// Errors: the first field missing or unreadable, by name.
    pub fn read(&self) -> Result<IncomingCdr, CdrFieldError> {
        let call_id = call_id_field(&self.call_id, "call_id")?;
        let leg = match optional(&self.leg) {
            None => "a".to_owned(),
            Some(l) if l.len() <= 16 => l.into_owned(),
            Some(_) => return Err(field_error("leg", "is longer than 16 characters")),
        };
        let customer_interconnect_id =
            id_field(&self.customer_interconnect_id, "customer_interconnect_id")?;
        let supplier_interconnect_id =
            id_field(&self.supplier_interconnect_id, "supplier_interconnect_id")?;
        let source_ip = match (&self.source_ip, customer_interconnect_id) {
            (None, Some(_)) => None,
            (ip, _) => Some(ip_field(ip, "source_ip")?),
        };
        let b_number = required(&self.b_number, "b_number")?.into_owned();
        let sip_code = sip_code_field(&self.sip_code, "sip_code")?;
        let setup_at = time_field(&self.setup_time, "setup_time")?;
        let end_at = time_field(&self.end_time, "end_time")?;
        let answered = (200..300).contains(&sip_code);
        let answer_at = if answered {
            Some(time_field(&self.answer_time, "answer_time")?)
        } else {
            None
        };
        assemble(
            call_id,
            leg,
            source_ip,
            optional(&self.a_number)
                .map(|c| c.into_owned())
                .unwrap_or_default(),
            b_number,
            setup_at,
            answer_at,
            end_at,
            sip_code,
            optional(&self.sip_reason)
                .map(|c| c.into_owned())
                .unwrap_or_default(),
            route_field(&self.route),
            ["setup_time", "answer_time", "end_time"],
        )
        .map(|mut cdr| {
            cdr.customer_interconnect_id = customer_interconnect_id;
            cdr.supplier_interconnect_id = supplier_interconnect_id;
            cdr
        })
    }
}

/// One leg's price as a CDR keeps it: what the rating engine found and computed, for
/// the CDR's detail view ("why did this call cost that?"). Money in micro-units of
/// `currency`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegRating {
    pub rate_plan_id: i64,
    /// The plan's live revision when the leg was rated.
    pub revision_id: Option<i64>,
    pub prefix: String,
    pub destination: String,
    /// Per minute.
    pub rate_micros: i64,
    pub connection_fee_micros: i64,
    /// `first/next` seconds.
    pub increment: String,
    pub minimum_s: u32,
    pub grace_s: u32,
    /// Talk time in whole seconds (a started second counts).
    pub duration_s: u64,
    pub billed_seconds: u64,
    /// The exact cost before rounding, as a decimal (`…` when it does not end).
    pub unrounded: String,
    /// e.g. `6 decimals, HalfUp`.
    pub rounding: String,
    pub cost_micros: i64,
    pub currency: String,
}

impl LegRating {
    /// The explanation of `rating`, rated against plan `rate_plan_id` at revision
    /// `revision_id`.
    pub fn of(
        rate_plan_id: i64,
        revision_id: Option<i64>,
        rating: &crate::rating::Rating<'_>,
    ) -> LegRating {
        LegRating {
            rate_plan_id,
            revision_id,
            prefix: rating.prefix.to_owned(),
            destination: rating.destination.to_owned(),
            rate_micros: rating.rate_micros,
            connection_fee_micros: rating.connection_fee_micros,
            increment: rating.increment.to_string(),
            minimum_s: rating.minimum_s,
            grace_s: rating.grace_s,
            duration_s: rating.duration_s,
            billed_seconds: rating.billed_seconds,
            unrounded: rating.unrounded.to_decimal(),
            rounding: format!(
                "{} decimals, {:?}",
                rating.rounding.scale, rating.rounding.mode
            ),
            cost_micros: rating.cost_micros,
            currency: rating.currency.to_string(),
        }
    }
}

/// Everything a CDR keeps about how it was mediated and rated (its `explain` column).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CdrExplanation {
    pub tech_prefix: Option<String>,
    pub translation: Vec<crate::interconnect::TranslationStep>,
    pub customer: Option<LegRating>,
    pub supplier: Option<LegRating>,
    /// Earlier prices of a re-rated call, oldest first (the ledger keeps the original
    /// postings and the adjustments; the CDR shows its current price).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rerated: Vec<Rerated>,
}

/// A call's price before one re-rating. Money in micro-units.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rerated {
    /// When the re-rating was applied (RFC 3339 UTC).
    pub at: String,
    pub revenue_micros: i64,
    pub cost_micros: i64,
    pub customer_revision_id: Option<i64>,
    pub supplier_revision_id: Option<i64>,
}

/// Exact decimal seconds (`"3.003"`) in milliseconds, a started millisecond counted.
pub fn seconds_text_to_ms(text: &str) -> Option<u64> {
    let t = text.trim();
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut ms = 0u64;
    for (i, b) in frac.bytes().take(3).enumerate() {
        ms += u64::from(b - b'0') * 10u64.pow(2 - i as u32);
    }
    let rest = frac.bytes().skip(3).any(|b| b != b'0');
    whole.checked_mul(1000)?.checked_add(ms + u64::from(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Option<Scalar> {
        Some(Scalar::Text(s.into()))
    }

    #[test]
    fn reads_the_harness_kamailio_record() {
        let k = KamailioCdr {
            start_time: text("1795253545.221"),
            end_time: text("1795253548.224"),
            duration: text("3.003"),
            callid: text("1-29770@127.0.0.1"),
            caller: text("44207000000"),
            callee: text("1555000"),
            src_ip: text("127.0.0.1"),
            route: text("sip:127.0.0.1:5070"),
            sip_code: text("200"),
            sip_reason: text("OK"),
            setup_time: text("1795253545.164945"),
            ..KamailioCdr::default()
        };
        let cdr = k.read().unwrap();
        assert_eq!(cdr.duration_ms(), 3003);
        assert_eq!(cdr.pdd_ms(), Some(56));
        assert_eq!(cdr.disposition(), Disposition::Answered);
        assert_eq!(cdr.route.as_deref(), Some("sip:127.0.0.1:5070"));
        assert_eq!(cdr.setup_at.timestamp_subsec_micros(), 164_945);

        let rejected = KamailioCdr {
            duration: text("0"),
            sip_code: text("403"),
            route: text(""),
            end_time: None,
            ..k.clone()
        };
        let cdr = rejected.read().unwrap();
        assert_eq!((cdr.answer_at, cdr.duration_ms()), (None, 0));
        assert_eq!(cdr.route, None);
        assert_eq!(cdr.disposition(), Disposition::Rejected);

        let missing = KamailioCdr {
            callee: None,
            ..k.clone()
        };
        assert_eq!(
            missing.read().unwrap_err().to_string(),
            "callee: is missing"
        );
        let bad = KamailioCdr {
            sip_code: text("2000"),
            ..k.clone()
        };
        assert_eq!(bad.read().unwrap_err().field, "sip_code");

        // The router's choice, echoed; 0 is what acc_json writes for one never made.
        let routed = KamailioCdr {
            customer_interconnect_id: text("4"),
            supplier_interconnect_id: text("0"),
            ..k.clone()
        };
        let cdr = routed.read().unwrap();
        assert_eq!(
            (cdr.customer_interconnect_id, cdr.supplier_interconnect_id),
            (Some(4), None)
        );
        let bad = KamailioCdr {
            supplier_interconnect_id: text("-7"),
            ..k
        };
        assert_eq!(bad.read().unwrap_err().field, "supplier_interconnect_id");
    }

    #[test]
    fn reads_the_own_shape_and_checks_time_order() {
        let own = OwnCdr {
            call_id: text("c1"),
            source_ip: text("203.0.113.10"),
            b_number: text("9912345"),
            setup_time: text("2026-11-21T10:00:00Z"),
            answer_time: text("2026-11-21T10:00:02.5+00:00"),
            end_time: text("2026-11-21T10:03:02.5Z"),
            sip_code: Some(Scalar::Integer(200)),
            ..OwnCdr::default()
        };
        let cdr = own.read().unwrap();
        assert_eq!(
            (cdr.leg.as_str(), cdr.duration_ms(), cdr.pdd_ms()),
            ("a", 180_000, Some(2500))
        );
        let early = OwnCdr {
            end_time: text("2026-11-21T10:00:01Z"),
            ..own.clone()
        };
        assert_eq!(
            early.read().unwrap_err().to_string(),
            "end_time: is before answer_time"
        );
        let unanswered = OwnCdr {
            answer_time: None,
            ..own.clone()
        };
        assert_eq!(unanswered.read().unwrap_err().field, "answer_time");
        let bad_ip = OwnCdr {
            source_ip: text("host"),
            ..own
        };
        assert_eq!(bad_ip.read().unwrap_err().field, "source_ip");
    }

    #[test]
    fn dispositions_follow_the_sip_code() {
        for (code, d) in [
            (200, Disposition::Answered),
            (486, Disposition::Busy),
            (480, Disposition::NoAnswer),
            (487, Disposition::Cancelled),
            (403, Disposition::Rejected),
            (603, Disposition::Rejected),
            (503, Disposition::Failed),
        ] {
            assert_eq!(Disposition::of_sip_code(code), d, "{code}");
        }
    }

    #[test]
    fn postings_name_their_bad_fields() {
        let ok = validate_posting(&PostingForm {
            kind: "payment".into(),
            amount: "100.50".into(),
            memo: " wire 42 ".into(),
        })
        .unwrap();
        assert_eq!(
            (ok.kind, ok.amount_micros, ok.memo.as_str()),
            (PostingKind::Payment, 100_500_000, "wire 42")
        );
        let bad = validate_posting(&PostingForm {
            kind: "gift".into(),
            amount: "0".into(),
            memo: "x".repeat(256),
        })
        .unwrap_err();
        for field in ["kind", "amount", "memo"] {
            assert!(bad.get(field).is_some(), "{field}");
        }
    }

    #[test]
    fn epoch_times_are_exact() {
        let t = parse_cdr_time("1795253545.000001").unwrap();
        assert_eq!(t.timestamp_subsec_nanos(), 1_000);
        assert!(parse_cdr_time("yesterday").is_err());
    }
}
