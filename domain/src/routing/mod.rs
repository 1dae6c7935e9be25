//! Call authorization and least-cost routing: what the switch asks for every INVITE.
//!
//! A [`RoutingTable`] is compiled once from the configuration (interconnects, their
//! addresses and rules, services, rate plans, routing plans) and then answers
//! [`RoutingTable::decide`] without locks, I/O or waiting: the service layer swaps a new
//! table in atomically when the configuration changes. What moves with traffic (each
//! carrier's available credit, each supplier's recent quality) comes in a [`LiveState`]
//! beside it.
//!
//! The decisions, in order, each with its SIP code (the routing API's contract):
//! 1. **Ingress**: the source IP (then the tech prefix) picks the customer's ingress
//!    interconnect, exactly as CDR mediation does ([`IngressIndex`],
//!    [`pick_by_tech_prefix`]); unknown → 403.
//! 2. **Account**: the interconnect and its carrier are active and the interconnect sells
//!    a customer service with a rate plan (else 403); the carrier is not blocked for want
//!    of credit (else 402).
//! 3. **Validation**: the interconnect's number rules ([`CompiledNumberRules`]); a wrong
//!    length is 484 (Address Incomplete, RFC 3261 §21.4.22), anything else 403, with the
//!    rule's words.
//! 4. **Translation**: the interconnect's translation rules on A and B (the same
//!    [`Translator`] as the "try it" box and mediation); B must then be E.164 (else 484).
//! 5. **Sell rate**: the customer plan has a rate in force now for B (else 404).
//! 6. **Capacity**: channel and CPS caps need shared counters, so the service layer
//!    checks them after this function (503).
//! 7. **Credit**: the longest call the available credit pays for, in the sell rate's
//!    increments ([`affordable_seconds`]); not even the first block → 402.
//! 8. **Routes**: the customer service's routing plan gives supplier services for B's
//!    longest matching prefix; each egress interconnect selling one is a candidate. The
//!    **margin guard** drops a candidate whose one-minute cost (rate, connection fee,
//!    increments and minimum, from its deck) exceeds the one-minute sell price, or
//!    leaves less than the plan's minimum margin; so does a candidate that is inactive,
//!    has no rate, prices in another currency, or belongs to the customer's own carrier
//!    (a loop). The rest are ordered by the plan's [`RouteStrategy`] and cut to its
//!    `max_routes`. None left → 404 without any entry, 503 when all were dropped.
//!
//! Every step is recorded in the [`Decision`] ([`Decision::steps`], the excluded
//! candidates with their reason), so the same answer explains itself to the switch, to
//! the admin's route simulation and to the tests.

pub mod plan;

pub use plan::{
    percent_text, validate_routing_entry, validate_routing_plan, validate_simulation,
    RouteStrategy, RoutingEntry, RoutingEntryForm, RoutingPlan, RoutingPlanForm, Simulation,
    SimulationForm, SipCodes, DEFAULT_FAILOVER, MAX_ROUTES,
};

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
pub use compact_str::CompactString;
use serde::{Deserialize, Serialize};

use rustc_hash::FxHashMap;

use crate::cdr::mediation::{pick_by_tech_prefix, to_e164_in_place, IngressIndex};
use crate::interconnect::{
    AddressSpec, CompiledNumberRules, Direction, NumberRejection, NumberRules, TranslationRule,
    Translator, Transport,
};
use crate::money::Currency;
use crate::rating::{
    BillableDuration, BillingIncrement, CallToRate, MergedIndex, NoRate, PlanDeck, PrefixIndex,
    PrefixKeys, Rating, MAX_MERGED,
};

/// One interconnect as routing needs it.
#[derive(Clone, Debug)]
pub struct RouteInterconnect {
    pub id: i64,
    pub carrier_id: i64,
    pub name: String,
    pub direction: Direction,
    /// The interconnect and its carrier are both active.
    pub active: bool,
    /// Ingress: stripped from the dialled number; egress: put before the B-number sent.
    pub tech_prefix: Option<String>,
    /// Ingress: checked on every call (egress rules are not checked: we choose the
    /// supplier, the supplier does not choose us).
    pub number_rules: NumberRules,
    /// Ingress: applied to the numbers as received; egress: to the numbers sent.
    pub translation_rules: Vec<TranslationRule>,
    /// Longest call, seconds (the Media tab).
    pub max_call_secs: u32,
    /// Calls per second, 0 = unlimited (checked by the service layer).
    pub max_cps: u32,
    /// Concurrent calls, 0 = unlimited (checked by the service layer).
    pub max_channels: u32,
    /// The active service of its direction with a rate plan, as mediation picks it:
    /// `(service id, rate plan id)`. Calls are rated on both legs with these plans, so
    /// routing prices with them too.
    pub service: Option<(i64, i64)>,
    /// Ingress: the routing plan of that customer service.
    pub routing_plan_id: Option<i64>,
    /// Egress: where calls are sent (the first address by id, its port and transport).
    pub target: Option<(AddressSpec, u16, Transport)>,
}

/// A routing plan with its entries, as stored.
#[derive(Clone, Debug)]
pub struct PlanFacts {
    pub id: i64,
    pub plan: RoutingPlan,
    pub entries: Vec<RoutingEntry>,
}

/// Everything a [`RoutingTable`] is compiled from.
#[derive(Clone, Default)]
pub struct RoutingFacts {
    pub interconnects: Vec<RouteInterconnect>,
    /// `(address, ingress interconnect id)`.
    pub ingress_addresses: Vec<(AddressSpec, i64)>,
    /// Rate plans by id: customer plans (sell) and supplier decks (buy).
    pub decks: HashMap<i64, Arc<PlanDeck>>,
    pub plans: Vec<PlanFacts>,
    /// Carrier names by id, for explanations.
    pub carrier_names: HashMap<i64, String>,
    /// Carriers' traffic limits over all of their ingress interconnects together,
    /// `(max_cps, max_channels)` by carrier id, 0 = none (checked by the service
    /// layer; carriers without limits may be left out).
    pub carrier_caps: HashMap<i64, (u32, u32)>,
}

/// A carrier's credit as the ledger has it now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Credit {
    /// Balance + credit limit, micro-units of the carrier's currency.
    pub available_micros: i64,
    /// Blocked by credit control (available credit reached zero).
    pub blocked: bool,
}

/// A supplier interconnect's recent calls (the quality strategy's input).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkQuality {
    pub attempts: u32,
    pub answered: u32,
    /// Average duration of the answered calls, seconds.
    pub acd_s: u32,
}

impl LinkQuality {
    /// Answer-seizure ratio in basis points (answered / attempts); `None` without calls.
    pub fn asr_bp(&self) -> Option<u32> {
        (self.attempts > 0)
            .then(|| (u64::from(self.answered) * 10_000 / u64::from(self.attempts)) as u32)
    }
}

/// What moves with traffic: credit by carrier id, quality by egress interconnect id.
/// A customer carrier missing from `credit` has none (402).
#[derive(Clone, Debug, Default)]
pub struct LiveState {
    pub credit: HashMap<i64, Credit>,
    pub quality: HashMap<i64, LinkQuality>,
}

/// One call to decide.
#[derive(Clone, Copy, Debug)]
pub struct RouteQuery<'a> {
    pub source_ip: IpAddr,
    /// Calling number as received (may be empty or `anonymous`).
    pub a_number: &'a str,
    /// Called number as dialled, tech prefix included.
    pub b_number: &'a str,
    pub call_id: &'a str,
    /// The server's clock: picks the rates in force.
    pub at: DateTime<Utc>,
    /// Decide as if the call came from this ingress interconnect (route simulation by
    /// interconnect), skipping the address lookup; the tech prefix is still stripped.
    pub ingress_interconnect_id: Option<i64>,
    /// Record the steps that passed too (the API's `explain`, the simulation); a
    /// refusal's step is always recorded. Off, a decision formats no text on its way
    /// to a route.
    pub explain: bool,
}

/// A price from a deck for one minute of talk. Its text is [`CompactString`]: held inline
/// up to 24 bytes (a dial code, most destination names, the currency), so a decision
/// allocates nothing for it; in JSON, plain strings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    pub plan_id: i64,
    pub prefix: CompactString,
    pub destination: CompactString,
    /// Per minute, micro-units.
    pub rate_micros: i64,
    pub connection_fee_micros: i64,
    pub increment: BillingIncrement,
    pub minimum_s: u32,
    /// What a 60-second answered call costs on this deck (fee, increments and minimum
    /// included, rounded as the plan rounds), micro-units: the margin guard compares
    /// these.
    pub minute_cost_micros: i64,
    /// ISO 4217 code.
    pub currency: CompactString,
}

impl Quote {
    fn of(plan_id: i64, r: &Rating<'_>) -> Quote {
        Quote {
            plan_id,
            prefix: CompactString::new(r.prefix),
            destination: CompactString::new(r.destination),
            rate_micros: r.rate_micros,
            connection_fee_micros: r.connection_fee_micros,
            increment: r.increment,
            minimum_s: r.minimum_s,
            minute_cost_micros: r.cost_micros,
            currency: CompactString::new(r.currency.as_str()),
        }
    }
}

/// One route offered to the switch, best first. Its text is [`CompactString`] (inline up
/// to 24 bytes, as numbers and most URIs are; in JSON, plain strings).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// `sip:host:port` (`;transport=tcp|tls` when not UDP): where to send the INVITE.
    pub uri: CompactString,
    /// B-number to send: E.164 after the egress translation, with the egress tech prefix.
    pub b_number: CompactString,
    /// A-number to send, after the egress translation.
    pub a_number: CompactString,
    pub supplier_interconnect: i64,
    pub supplier_carrier: i64,
    pub supplier_service: i64,
    /// Release the call after this many seconds (interconnects' longest call, and what
    /// the customer's credit pays for).
    pub max_duration_s: u32,
    pub buy: Quote,
    /// Sell minute cost − buy minute cost, micro-units.
    pub margin_micros: i64,
}

/// A candidate supplier the call will not use, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Excluded {
    pub supplier_interconnect: i64,
    pub name: String,
    pub reason: Exclusion,
}

/// Why a candidate supplier is left out. Kept as figures and written as words only when
/// read ([`std::fmt::Display`]; in JSON, the words), so a decision formats no text for
/// the suppliers it passes over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Exclusion {
    /// The interconnect or its carrier is not active.
    Inactive,
    /// It belongs to the customer's own carrier.
    Loop,
    /// It has no address to send calls to.
    NoAddress,
    /// It sells no service with a rate plan.
    NoService,
    /// Its rate plan is not loaded (rate plan id).
    PlanNotLoaded(i64),
    /// Its deck has no rate in force for the called number.
    NoBuyRate,
    /// Its deck could not price the call.
    Unpriced(NoRate),
    /// Its deck and the customer plan price in different currencies.
    Currency { buy: Currency, sell: Currency },
    /// The margin guard: a minute costs more than it sells for (micro-units).
    AboveSell {
        rate_micros: i64,
        minute_micros: i64,
        sell_minute_micros: i64,
    },
    /// The margin guard: the margin is under the plan's least margin.
    UnderMinimum {
        margin_micros: i64,
        min_margin_bp: u32,
    },
    /// Past the plan's most routes.
    MaxRoutes(usize),
    /// In words: the capacity step's reasons, and explanations read back from JSON.
    Said(String),
}

impl std::fmt::Display for Exclusion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::money::RateText;
        match self {
            Exclusion::Inactive => f.write_str("the interconnect or its carrier is not active"),
            Exclusion::Loop => f.write_str("it belongs to the customer's own carrier (a loop)"),
            Exclusion::NoAddress => f.write_str("it has no address to send calls to"),
            Exclusion::NoService => f.write_str("it sells no service with a rate plan"),
            Exclusion::PlanNotLoaded(id) => write!(f, "rate plan {id} is not loaded"),
            Exclusion::NoBuyRate => f.write_str("no buy rate for the number"),
            Exclusion::Unpriced(e) => write!(f, "no buy rate: {e}"),
            Exclusion::Currency { buy, sell } => {
                write!(f, "its deck is in {buy}, the customer plan in {sell}")
            }
            // In pieces rather than one `write!`: a refusal writes this for every
            // supplier, on the call path.
            Exclusion::AboveSell {
                rate_micros,
                minute_micros,
                sell_minute_micros,
            } => {
                f.write_str("margin guard: buys at ")?;
                std::fmt::Display::fmt(&RateText(*rate_micros), f)?;
                f.write_str("/min (a minute costs ")?;
                std::fmt::Display::fmt(&RateText(*minute_micros), f)?;
                f.write_str("), above the sell price ")?;
                std::fmt::Display::fmt(&RateText(*sell_minute_micros), f)
            }
            Exclusion::UnderMinimum {
                margin_micros,
                min_margin_bp,
            } => write!(
                f,
                "margin guard: margin {} per minute is under the plan's minimum of {} %",
                RateText(*margin_micros),
                percent_text(*min_margin_bp)
            ),
            Exclusion::MaxRoutes(max) => write!(f, "the plan offers at most {max} routes"),
            Exclusion::Said(text) => f.write_str(text),
        }
    }
}

impl Exclusion {
    /// Whether the words contain `text` (tests and filters read it as text).
    pub fn contains(&self, text: &str) -> bool {
        self.to_string().contains(text)
    }
}

impl Serialize for Exclusion {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Exclusion {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Exclusion::Said)
    }
}

impl PartialEq<&str> for Exclusion {
    fn eq(&self, other: &&str) -> bool {
        let words = self.to_string();
        words == *other
    }
}

/// A refusal: the SIP code for the switch to answer and the reason phrase.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub code: u16,
    pub reason: String,
}

/// One decision step as staff read it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// `ingress`, `account`, `validation`, `translation`, `sell_rate`, `capacity`,
    /// `credit`, `routes`.
    pub step: String,
    pub passed: bool,
    pub detail: String,
}

/// The answer for one call, with everything behind it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// `None`: route the call over `routes`.
    pub refusal: Option<Refusal>,
    pub routes: Vec<Route>,
    pub customer_interconnect: Option<i64>,
    pub customer_carrier: Option<i64>,
    pub customer_service: Option<i64>,
    pub routing_plan: Option<i64>,
    /// The numbers after the ingress tech prefix and translation (B in E.164).
    pub a_number: String,
    pub b_number: String,
    pub sell: Option<Quote>,
    /// Longest call the customer's side allows (interconnect and credit), seconds.
    pub max_duration_s: u32,
    /// Final responses after which the switch tries the next route.
    pub failover_on: Vec<SipCodes>,
    /// Responses that end the call even inside `failover_on`.
    pub no_failover: Vec<u16>,
    pub steps: Vec<Step>,
    pub excluded: Vec<Excluded>,
}

impl Decision {
    fn step(&mut self, step: &str, passed: bool, detail: String) {
        self.steps.push(Step {
            step: step.to_owned(),
            passed,
            detail,
        });
    }

    fn refuse(mut self, step: &str, code: u16, reason: String) -> Decision {
        self.step(step, false, reason.clone());
        self.routes.clear();
        self.refusal = Some(Refusal { code, reason });
        self
    }

    /// Micro-units of the customer's credit a routed call holds while it is in
    /// progress: what its longest route's whole `max_duration_s` costs at the sell rate
    /// ([`call_price_ceiling`]); 0 for a refusal.
    pub fn credit_to_reserve(&self) -> i64 {
        let (Some(sell), None) = (&self.sell, &self.refusal) else {
            return 0;
        };
        let longest = self.routes.iter().map(|r| r.max_duration_s).max();
        longest.map_or(0, |s| call_price_ceiling(sell, s))
    }

    /// Step 7 again, with what the customer's other calls in progress hold: shortens the
    /// call (and every route) to what `available_micros − reserved.0` pays for, in the
    /// sell rate's increments, and says so in the credit step when the steps are
    /// explained. Not even the first block → refused 402 (the decision then has no
    /// routes). Returns whether the call is still routed. `reserved` is `(micro-units,
    /// calls)`.
    pub fn fit_credit(&mut self, available_micros: i64, reserved: (i64, u64)) -> bool {
        let Some(sell) = self.sell.as_ref().filter(|_| self.refusal.is_none()) else {
            return false;
        };
        let (amount, calls) = reserved;
        let left = available_micros.saturating_sub(amount);
        let held = match calls {
            0 => format!(
                "{} available, {} of it held by calls that have just ended",
                money(available_micros),
                money(amount)
            ),
            n => format!(
                "{} available, {} of it held by {n} call{} in progress",
                money(available_micros),
                money(amount),
                if n == 1 { "" } else { "s" }
            ),
        };
        let Some(affordable) = affordable_seconds(
            left,
            sell.rate_micros,
            sell.connection_fee_micros,
            sell.increment,
            sell.minimum_s,
        ) else {
            let reason = format!(
                "insufficient credit: {held}; what is left does not pay for the first {} s",
                sell.increment.first.max(sell.minimum_s)
            );
            // The steps after credit (the routes found) no longer apply.
            if let Some(at) = self.steps.iter().position(|s| s.step == "credit") {
                self.steps.truncate(at);
            }
            self.step("credit", false, reason.clone());
            self.routes.clear();
            self.refusal = Some(Refusal { code: 402, reason });
            return false;
        };
        self.max_duration_s = self.max_duration_s.min(affordable);
        for route in &mut self.routes {
            route.max_duration_s = route.max_duration_s.min(affordable);
        }
        if let Some(step) = self.steps.iter_mut().find(|s| s.step == "credit") {
            step.detail = format!("{held}: calls up to {} s", self.max_duration_s);
        }
        true
    }
}

/// The most a call of `seconds` can cost at `sell`: the connection fee plus the rate
/// for the seconds billed ([`crate::rating::billed_seconds`], no grace), rounded up to
/// the micro-unit. The credit a call in progress holds.
pub fn call_price_ceiling(sell: &Quote, seconds: u32) -> i64 {
    let billed =
        crate::rating::billed_seconds(u64::from(seconds), sell.increment, sell.minimum_s, 0);
    let rate = i128::from(sell.rate_micros.max(0)) * i128::from(billed);
    let price = i128::from(sell.connection_fee_micros.max(0)) + (rate + 59) / 60;
    i64::try_from(price).unwrap_or(i64::MAX)
}

struct CompiledInterconnect {
    facts: RouteInterconnect,
    translator: Translator,
    rules: CompiledNumberRules,
    /// Egress: `sip:host:port[;transport=…]`.
    uri: CompactString,
    /// The deck of its service's rate plan (an index of `RoutingTable::decks`), when
    /// that plan is loaded.
    deck: Option<u32>,
    /// "Carrier (interconnect)", for explanations.
    party: String,
}

/// A routing plan entry as decisions read it (the prefix is the index's key).
#[derive(Clone, Copy, Debug)]
struct PlanEntry {
    supplier_service_id: i64,
    priority: u32,
    weight: u32,
}

/// The most supplier decks a plan may reach for them all to be probed with the sell
/// deck, before the plan's entries are known (more: probed once the entries are).
const MAX_REACH: usize = 8;

struct CompiledPlan {
    plan: RoutingPlan,
    /// Entries by prefix: the value is `start | count << 32` in `entries`, so a lookup
    /// reads no other table.
    index: PrefixIndex,
    entries: Vec<PlanEntry>,
    /// Entries without a prefix: `entries[default.0..default.0 + default.1]`.
    default: (u32, u32),
    /// Every deck the plan's entries can reach, when at most [`MAX_REACH`].
    reach: Vec<u32>,
    /// The plan's index merged with the decks of `merged_decks` (column 0: the plan,
    /// column `1 + i`: `merged_decks[i]`): one lookup answers for them all. Built when
    /// some ingress interconnect uses the plan: over the customer decks of those
    /// interconnects and the decks the plan reaches when they are at most
    /// [`MAX_MERGED`] − 1, else over the reached decks alone (a customer's deck is then
    /// looked up beside it); none when the plan reaches more (the indexes are probed one
    /// by one, together). Costs 96 bytes per code of the union ([`MergedIndex`]), for
    /// each such plan.
    merged: Option<MergedIndex>,
    /// Deck indexes (of `RoutingTable::decks`) merged: the customer decks first.
    merged_decks: Vec<u32>,
}

impl CompiledPlan {
    /// The merged index's column for deck `deck`, if merged.
    #[inline]
    fn column(&self, deck: u32) -> Option<usize> {
        self.merged_decks
            .iter()
            .position(|d| *d == deck)
            .map(|i| i + 1)
    }
}

/// A candidate route before its text is built (only the routes offered are).
struct Candidate<'t> {
    egress: &'t CompiledInterconnect,
    entry: PlanEntry,
    deck: &'t PlanDeck,
    buy: Rating<'t>,
    margin: i64,
}

/// The routing configuration compiled for the call path (see the module documentation).
/// Immutable; share it behind an `Arc` and replace it whole.
pub struct RoutingTable {
    ingress: IngressIndex,
    interconnects: Vec<CompiledInterconnect>,
    /// Interconnect id → index of `interconnects`.
    by_id: FxHashMap<i64, u32>,
    /// Egress interconnects (indexes of `interconnects`, by ascending id) by the supplier
    /// service they sell.
    egress_by_service: FxHashMap<i64, Vec<u32>>,
    decks: Vec<Arc<PlanDeck>>,
    /// Rate plan id → index of `decks`.
    deck_by_plan: FxHashMap<i64, u32>,
    plans: FxHashMap<i64, CompiledPlan>,
    carrier_names: HashMap<i64, String>,
    carrier_caps: HashMap<i64, (u32, u32)>,
    /// Dial codes and routing rules held, for sizing.
    size: (usize, usize),
}

/// The SIP URI of an egress target: `sip:192.0.2.7:5060`, `sip:[2001:db8::7]:5060`,
/// `sip:gw.example:5061;transport=tls`.
fn target_uri(spec: &AddressSpec, port: u16, transport: Transport) -> String {
    let host = match spec {
        AddressSpec::Ip(IpAddr::V6(v6)) => format!("[{v6}]"),
        other => other.to_string(),
    };
    match transport {
        Transport::Udp => format!("sip:{host}:{port}"),
        other => format!("sip:{host}:{port};transport={}", other.as_str()),
    }
}

/// Longest call, in whole seconds, that `credit_micros` pays for at `sell` (its rate,
/// connection fee, increment and minimum), so that the call's exact cost never exceeds
/// the credit: `None` when not even the first block (or the minimum) is paid for;
/// `Some(u32::MAX)` for a free rate. The answer is a whole number of the rate's
/// increments (`a + k·b`), since a call billed in those is charged for the whole block.
pub fn affordable_seconds(
    credit_micros: i64,
    rate_micros: i64,
    connection_fee_micros: i64,
    increment: BillingIncrement,
    minimum_s: u32,
) -> Option<u32> {
    let left = i128::from(credit_micros) - i128::from(connection_fee_micros);
    if left < 0 || credit_micros <= 0 {
        return None;
    }
    if rate_micros <= 0 {
        return Some(u32::MAX);
    }
    // Seconds billed for at most `left`: rate × s / 60 ≤ left (a 64-bit division when
    // it fits, as it does for any real credit).
    let billable = match i64::try_from(left * 60) {
        Ok(l) => i128::from(l / rate_micros),
        Err(_) => left * 60 / i128::from(rate_micros),
    };
    let (a, b) = (i128::from(increment.first), i128::from(increment.next));
    if billable < a.max(i128::from(minimum_s)) {
        return None;
    }
    let seconds = match i64::try_from(billable - a) {
        Ok(x) => a + i128::from(x / i64::from(increment.next) * i64::from(increment.next)),
        Err(_) => a + (billable - a) / b * b,
    };
    Some(u32::try_from(seconds).unwrap_or(u32::MAX))
}

/// FNV-1a (64-bit) of the call id, then splitmix64: the weighted strategy's draw, the
/// same for the same call id.
fn call_seed(call_id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in call_id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn money(micros: i64) -> String {
    crate::money::rate_text(micros)
}

fn rejection_code(r: &NumberRejection) -> u16 {
    match r {
        NumberRejection::Length { .. } => 484,
        _ => 403,
    }
}

impl RoutingTable {
    /// Compiles `facts`.
    ///
    /// Errors: a stored translation or CLI rule that does not compile (rules saved
    /// through the carriers module always do); the message names the interconnect.
    pub fn compile(facts: RoutingFacts) -> Result<RoutingTable, String> {
        let mut decks = Vec::with_capacity(facts.decks.len());
        let mut deck_by_plan = FxHashMap::default();
        let mut plan_ids: Vec<&i64> = facts.decks.keys().collect();
        plan_ids.sort_unstable();
        for id in plan_ids {
            deck_by_plan.insert(*id, decks.len() as u32);
            decks.push(facts.decks[id].clone());
        }
        let mut interconnects = Vec::with_capacity(facts.interconnects.len());
        let mut by_id = FxHashMap::default();
        let mut sorted = facts.interconnects;
        sorted.sort_by_key(|ic| ic.id);
        for ic in sorted {
            let translator = Translator::new(&ic.translation_rules)
                .map_err(|e| format!("interconnect {}: translation rule: {e}", ic.name))?;
            let rules = ic
                .number_rules
                .compile()
                .map_err(|e| format!("interconnect {}: CLI format: {e}", ic.name))?;
            let uri = ic
                .target
                .as_ref()
                .map(|(spec, port, transport)| target_uri(spec, *port, *transport).into())
                .unwrap_or_default();
            let deck = ic
                .service
                .and_then(|(_, plan)| deck_by_plan.get(&plan).copied());
            let party = match facts.carrier_names.get(&ic.carrier_id) {
                Some(carrier) => format!("{carrier} ({})", ic.name),
                None => ic.name.clone(),
            };
            by_id.insert(ic.id, interconnects.len() as u32);
            interconnects.push(CompiledInterconnect {
                facts: ic,
                translator,
                rules,
                uri,
                deck,
                party,
            });
        }
        let mut egress_by_service: FxHashMap<i64, Vec<u32>> = FxHashMap::default();
        for (i, ic) in interconnects.iter().enumerate() {
            if ic.facts.direction == Direction::Egress {
                if let Some((service, _)) = ic.facts.service {
                    egress_by_service.entry(service).or_default().push(i as u32);
                }
            }
        }
        let mut ingress = IngressIndex::default();
        for (spec, id) in &facts.ingress_addresses {
            if by_id
                .get(id)
                .is_some_and(|i| interconnects[*i as usize].facts.direction == Direction::Ingress)
            {
                ingress.add(spec, *id);
            }
        }
        // The customer decks each routing plan is used with.
        let mut sell_decks: FxHashMap<i64, Vec<u32>> = FxHashMap::default();
        for ic in &interconnects {
            if let (Direction::Ingress, Some(plan), Some(deck)) =
                (ic.facts.direction, ic.facts.routing_plan_id, ic.deck)
            {
                let decks = sell_decks.entry(plan).or_default();
                if !decks.contains(&deck) {
                    decks.push(deck);
                }
            }
        }
        let mut rules = 0;
        let mut plans = FxHashMap::default();
        for p in facts.plans {
            rules += p.entries.len();
            let mut sorted = p.entries;
            // Stable: entries of one prefix keep their stored order.
            sorted.sort_by(|a, b| a.prefix.cmp(&b.prefix));
            let mut entries = Vec::with_capacity(sorted.len());
            let mut codes: Vec<(&str, u64)> = Vec::new();
            let mut default = (0, 0);
            let mut reach: Vec<u32> = Vec::new();
            let mut services: Vec<i64> = Vec::new();
            let mut i = 0;
            while i < sorted.len() {
                let prefix = sorted[i].prefix.as_str();
                let start = entries.len() as u32;
                while i < sorted.len() && sorted[i].prefix == prefix {
                    let e = &sorted[i];
                    entries.push(PlanEntry {
                        supplier_service_id: e.supplier_service_id,
                        priority: e.priority,
                        weight: e.weight,
                    });
                    if !services.contains(&e.supplier_service_id) {
                        services.push(e.supplier_service_id);
                    }
                    i += 1;
                }
                let count = entries.len() as u32 - start;
                if prefix.is_empty() {
                    default = (start, count);
                } else {
                    codes.push((prefix, u64::from(start) | u64::from(count) << 32));
                }
            }
            for service in &services {
                for ic in egress_by_service.get(service).into_iter().flatten() {
                    if let Some(deck) = interconnects[*ic as usize].deck {
                        if !reach.contains(&deck) {
                            reach.push(deck);
                        }
                    }
                }
            }
            // Merged only for a plan some customer uses: the customers' decks first, then
            // the decks the plan reaches; when they do not all fit, the reached decks
            // alone (each customer's deck is then looked up beside it).
            let customers = sell_decks.get(&p.id).map_or(&[][..], Vec::as_slice);
            let used = !customers.is_empty();
            let mut merged_decks = customers.to_vec();
            for deck in &reach {
                if !merged_decks.contains(deck) {
                    merged_decks.push(*deck);
                }
            }
            if merged_decks.len() >= MAX_MERGED {
                merged_decks.clone_from(&reach);
            }
            if reach.len() > MAX_REACH {
                reach.clear();
            }
            let index = PrefixIndex::build(
                codes
                    .iter()
                    .map(|(c, v)| (c.as_bytes(), *v))
                    .collect::<Vec<_>>()
                    .into_iter(),
            );
            let merged = (used && merged_decks.len() < MAX_MERGED).then(|| {
                let mut tables = vec![&index];
                tables.extend(merged_decks.iter().map(|d| &decks[*d as usize].deck.index));
                MergedIndex::build(&tables)
            });
            if merged.is_none() {
                merged_decks.clear();
            }
            plans.insert(
                p.id,
                CompiledPlan {
                    plan: p.plan,
                    index,
                    entries,
                    default,
                    reach,
                    merged,
                    merged_decks,
                },
            );
        }
        let codes = decks.iter().map(|d| d.deck.rows()).sum();
        Ok(RoutingTable {
            ingress,
            interconnects,
            by_id,
            egress_by_service,
            decks,
            deck_by_plan,
            plans,
            carrier_names: facts.carrier_names,
            carrier_caps: facts.carrier_caps,
            size: (codes, rules),
        })
    }

    /// The same table deciding without the merged indexes (tests compare the two).
    #[cfg(test)]
    fn unmerged(mut self) -> RoutingTable {
        for plan in self.plans.values_mut() {
            plan.merged = None;
            plan.merged_decks.clear();
        }
        self
    }

    /// The indexes routing plan `id`'s merged index holds (the plan's and its decks').
    #[cfg(test)]
    fn merged_tables(&self, id: i64) -> Option<usize> {
        self.plans
            .get(&id)?
            .merged
            .as_ref()
            .map(MergedIndex::tables)
    }

    fn interconnect(&self, id: i64) -> Option<&CompiledInterconnect> {
        self.by_id
            .get(&id)
            .map(|i| &self.interconnects[*i as usize])
    }

    /// `(rate rows of every deck, routing plan entries)` held.
    pub fn size(&self) -> (usize, usize) {
        self.size
    }

    /// Heap bytes of the routing plans (prefix indexes and entries), the decks apart
    /// (they are shared with CDR rating: [`crate::rating::CompiledDeck::heap_bytes`]).
    pub fn plan_bytes(&self) -> usize {
        self.plans
            .values()
            .map(|p| {
                p.index.heap_bytes()
                    + p.entries.capacity() * std::mem::size_of::<PlanEntry>()
                    + p.merged.as_ref().map_or(0, MergedIndex::heap_bytes)
            })
            .sum()
    }

    /// The interconnect's name, for messages.
    pub fn interconnect_name(&self, id: i64) -> Option<&str> {
        self.interconnect(id).map(|ic| ic.facts.name.as_str())
    }

    /// "Carrier (interconnect)", for messages.
    pub fn party_name(&self, id: i64) -> Option<String> {
        self.interconnect(id).map(|ic| ic.party.clone())
    }

    /// The carrier's name, for messages.
    pub fn carrier_name(&self, carrier_id: i64) -> Option<&str> {
        self.carrier_names.get(&carrier_id).map(String::as_str)
    }

    /// The carrier's traffic limits over all of its ingress interconnects
    /// `(max_cps, max_channels)`, 0 = none.
    pub fn carrier_caps(&self, carrier_id: i64) -> (u32, u32) {
        self.carrier_caps
            .get(&carrier_id)
            .copied()
            .unwrap_or((0, 0))
    }

    /// The interconnect's CPS and channel caps `(max_cps, max_channels)`, 0 = none.
    pub fn caps(&self, id: i64) -> Option<(u32, u32)> {
        self.interconnect(id)
            .map(|ic| (ic.facts.max_cps, ic.facts.max_channels))
    }

    /// Decides one call (see the module documentation for the steps).
    ///
    /// Built for the call path: the dial-code lookups of the sell deck, the routing plan
    /// and the suppliers' decks are one lookup in the plan's [`MergedIndex`] (for a plan
    /// that reaches too many decks to merge, they are issued together so their cache
    /// misses overlap); text (numbers, URIs, quotes) is made only for the routes offered
    /// and, when `query.explain`, for the steps, inline when short ([`CompactString`]).
    pub fn decide(&self, query: &RouteQuery<'_>, live: &LiveState) -> Decision {
        let mut d = Decision {
            refusal: None,
            routes: Vec::new(),
            customer_interconnect: None,
            customer_carrier: None,
            customer_service: None,
            routing_plan: None,
            a_number: String::new(),
            b_number: String::new(),
            sell: None,
            max_duration_s: 0,
            failover_on: Vec::new(),
            no_failover: Vec::new(),
            steps: Vec::new(),
            excluded: Vec::new(),
        };
        let dialled = query.b_number.trim();

        // 1. Ingress.
        let by_address;
        let candidates: &[i64] = match &query.ingress_interconnect_id {
            Some(id) => std::slice::from_ref(id),
            None => {
                by_address = self.ingress.candidates_cow(query.source_ip);
                &by_address
            }
        };
        let ingress = pick_by_tech_prefix(
            candidates
                .iter()
                .filter_map(|id| self.interconnect(*id))
                .filter(|ic| ic.facts.direction == Direction::Ingress),
            |ic| ic.facts.tech_prefix.as_deref(),
            dialled,
        );
        let Some(ingress) = ingress else {
            let reason = if candidates.is_empty() {
                format!(
                    "unknown source: no ingress interconnect has the address {}",
                    query.source_ip
                )
            } else {
                format!(
                    "the source address {} belongs to ingress interconnects, but none takes the tech prefix of {dialled}",
                    query.source_ip
                )
            };
            return d.refuse("ingress", 403, reason);
        };
        let ic = &ingress.facts;
        d.customer_interconnect = Some(ic.id);
        d.customer_carrier = Some(ic.carrier_id);
        let carrier_name = self
            .carrier_names
            .get(&ic.carrier_id)
            .map_or("?", String::as_str);
        if query.explain {
            d.step(
                "ingress",
                true,
                format!(
                    "{} of {carrier_name}{}",
                    ic.name,
                    ic.tech_prefix
                        .as_deref()
                        .map(|t| format!(", tech prefix {t} stripped"))
                        .unwrap_or_default()
                ),
            );
        }

        // 2. Account.
        if !ic.active {
            return d.refuse(
                "account",
                403,
                format!("{} or its carrier {carrier_name} is not active", ic.name),
            );
        }
        let Some((service_id, sell_plan)) = ic.service else {
            return d.refuse(
                "account",
                403,
                format!(
                    "{} has no active customer service with a rate plan",
                    ic.name
                ),
            );
        };
        d.customer_service = Some(service_id);
        let credit = live.credit.get(&ic.carrier_id).copied().unwrap_or_default();
        if credit.blocked {
            return d.refuse(
                "account",
                402,
                format!("{carrier_name} is blocked: its available credit reached zero"),
            );
        }
        if query.explain {
            d.step(
                "account",
                true,
                format!("{carrier_name} active, not blocked"),
            );
        }

        // 3. Validation.
        let b_after_prefix = ic
            .tech_prefix
            .as_deref()
            .and_then(|tp| dialled.strip_prefix(tp))
            .unwrap_or(dialled);
        let a_received = query.a_number.trim();
        if let Err(rejection) = ingress.rules.check(Some(a_received), b_after_prefix) {
            return d.refuse(
                "validation",
                rejection_code(&rejection),
                format!("number rules of {}: {rejection}", ic.name),
            );
        }
        if query.explain {
            d.step(
                "validation",
                true,
                "the number rules accept the call".into(),
            );
        }

        // 4. Translation.
        let mut a = a_received.to_owned();
        let mut b = b_after_prefix.to_owned();
        ingress.translator.apply_in_place(&mut a, &mut b);
        if !to_e164_in_place(&mut b) {
            return d.refuse(
                "translation",
                484,
                format!("the called number {b} is not an E.164 number after translation (1–15 digits, not starting with 0)"),
            );
        }
        to_e164_in_place(&mut a);
        d.a_number = a;
        // B (E.164) stays here until the end (the prices borrow it), then moves to `d`.
        let b = b;
        if query.explain {
            d.step(
                "translation",
                true,
                if b == b_after_prefix {
                    format!("B {b} unchanged")
                } else {
                    format!("B {b_after_prefix} → {b}")
                },
            );
        }

        // 5. Sell rate. Every dial-code lookup the call needs starts here, together.
        let Some(sell_deck) = self.deck_of_plan(sell_plan) else {
            d.b_number = b;
            return d.refuse(
                "sell_rate",
                404,
                format!("rate plan {sell_plan} is not loaded"),
            );
        };
        let plan = ic.routing_plan_id.and_then(|id| self.plans.get(&id));
        let keys = PrefixKeys::new(b.as_bytes());
        let reach: &[u32] = plan.map_or(&[], |p| &p.reach);
        let mut reach_match = [None; MAX_REACH];
        let merged = plan.and_then(|p| Some((p, p.merged.as_ref()?)));
        let (sell_match, plan_match) = if let Some((plan, merged)) = merged {
            // Levels 1 and 2 in one table: its slots for every length, then the longest
            // code's row, which holds every index's longest code (the customer's deck
            // beside it when it is not merged).
            let sell_column = ingress.deck.and_then(|deck| plan.column(deck));
            std::hint::black_box(merged.touch(&keys));
            if sell_column.is_none() {
                std::hint::black_box(sell_deck.deck.index.touch(&keys));
            }
            let row = merged.longest_of(&keys);
            let at = |column: Option<usize>| row.zip(column).and_then(|(r, c)| r.get(c));
            for (i, deck) in reach.iter().enumerate() {
                reach_match[i] = at(plan.column(*deck));
            }
            let sell_match = match sell_column {
                Some(column) => at(Some(column)),
                None => sell_deck.deck.index.longest_of(&keys),
            };
            (sell_match, at(Some(0)))
        } else {
            // Level 1: the slots of every index (sell deck, plan, the plan's supplier
            // decks).
            let mut indexes: [&PrefixIndex; 2 + MAX_REACH] = [&sell_deck.deck.index; 2 + MAX_REACH];
            let mut n = 1;
            if let Some(plan) = plan {
                indexes[n] = &plan.index;
                n += 1;
            }
            for deck in reach {
                indexes[n] = &self.decks[*deck as usize].deck.index;
                n += 1;
            }
            std::hint::black_box(PrefixIndex::touch_all(&indexes[..n], &keys));
            // Level 2: each index's longest code, from lines now in cache.
            for (i, deck) in reach.iter().enumerate() {
                reach_match[i] = self.decks[*deck as usize].deck.index.longest_of(&keys);
            }
            (
                sell_deck.deck.index.longest_of(&keys),
                plan.and_then(|p| p.index.longest_of(&keys)),
            )
        };
        // Level 3: the rows they point to, and the plan's entries, loaded together.
        let row_from = |deck: &PlanDeck, m: Option<(u8, u64)>| {
            m.and_then(|(_, span)| deck.deck.newest_row(span))
                .map_or(0, |r| r.from)
        };
        let mut touched = row_from(sell_deck, sell_match);
        if let (Some(plan), Some((_, span))) = (plan, plan_match) {
            touched ^= plan
                .entries
                .get(span as u32 as usize)
                .map_or(0, |e| e.supplier_service_id);
        }
        for (i, deck) in reach.iter().enumerate() {
            touched ^= row_from(&self.decks[*deck as usize], reach_match[i]);
        }
        std::hint::black_box(touched);
        let at = query.at.timestamp();
        let minute = CallToRate {
            b_number: &b,
            start: query.at,
            duration: BillableDuration::Seconds(60),
            answered: true,
        };
        let sell = match sell_deck
            .deck
            .in_force_longest(&keys, sell_match, at)
            .and_then(|(len, row)| sell_deck.deck.price(len, row, &minute, &sell_deck.policy))
        {
            Ok(r) => r,
            Err(e) => {
                let reason = match e {
                    NoRate::NoPrefix => {
                        format!("no rate: the customer plan has no dial code for {b}")
                    }
                    NoRate::NoRateInForce { .. } => {
                        format!(
                            "no rate: the customer plan's dial code for {b} has no rate in force"
                        )
                    }
                    other => format!("no rate: {other}"),
                };
                d.b_number = b;
                return d.refuse("sell_rate", 404, reason);
            }
        };
        if query.explain {
            d.step(
                "sell_rate",
                true,
                format!(
                    "{} ({}) at {}/min, a minute costs {}",
                    sell.prefix,
                    sell.destination,
                    money(sell.rate_micros),
                    money(sell.cost_micros)
                ),
            );
        }

        // 7. Credit (6, capacity, is the service layer's).
        let Some(affordable) = affordable_seconds(
            credit.available_micros,
            sell.rate_micros,
            sell.connection_fee_micros,
            sell.increment,
            sell.minimum_s,
        ) else {
            let reason = format!(
                "insufficient credit: {} available, the first {} s cost more",
                money(credit.available_micros),
                sell.increment.first.max(sell.minimum_s)
            );
            d.sell = Some(Quote::of(sell_deck.plan_id, &sell));
            d.b_number = b;
            return d.refuse("credit", 402, reason);
        };
        d.max_duration_s = affordable.min(ic.max_call_secs);
        if query.explain {
            d.step(
                "credit",
                true,
                format!(
                    "{} available: calls up to {} s",
                    money(credit.available_micros),
                    d.max_duration_s
                ),
            );
        }

        // 8. Routes.
        let Some(plan) = plan else {
            d.sell = Some(Quote::of(sell_deck.plan_id, &sell));
            d.b_number = b;
            return d.refuse(
                "routes",
                404,
                "no route: the customer service has no routing plan".into(),
            );
        };
        d.routing_plan = ic.routing_plan_id;
        d.failover_on = plan.plan.failover_on.clone();
        d.no_failover = plan.plan.no_failover.clone();
        let (matched, entries) = match plan_match {
            Some((len, span)) => (
                usize::from(len),
                &plan.entries[span as u32 as usize..][..(span >> 32) as usize],
            ),
            None => (
                0,
                &plan.entries[plan.default.0 as usize..][..plan.default.1 as usize],
            ),
        };
        let mut candidates: Vec<Candidate<'_>> = Vec::with_capacity(entries.len() + 2);
        let mut seen: Vec<u32> = Vec::with_capacity(entries.len() + 2);
        for entry in entries {
            let Some(egress) = self.egress_by_service.get(&entry.supplier_service_id) else {
                continue;
            };
            for index in egress {
                if seen.contains(index) {
                    continue;
                }
                seen.push(*index);
                let eg = &self.interconnects[*index as usize];
                let longest = eg.deck.and_then(|deck| {
                    plan.reach
                        .iter()
                        .position(|r| *r == deck)
                        .map(|i| reach_match[i])
                });
                match self.candidate(
                    eg,
                    &keys,
                    longest,
                    &sell,
                    d.customer_carrier,
                    plan.plan.min_margin_bp,
                    &minute,
                ) {
                    Ok((deck, buy, margin)) => candidates.push(Candidate {
                        egress: eg,
                        entry: *entry,
                        deck,
                        buy,
                        margin,
                    }),
                    Err(reason) => d.excluded.push(Excluded {
                        supplier_interconnect: eg.facts.id,
                        name: eg.party.clone(),
                        reason,
                    }),
                }
            }
        }
        // Their destination names are copied into the routes below: load them together.
        std::hint::black_box(candidates.iter().fold(0u8, |x, c| {
            x ^ c.buy.destination.bytes().next().unwrap_or(0)
        }));
        let by_cost = |x: &Candidate<'_>, y: &Candidate<'_>| {
            x.buy
                .cost_micros
                .cmp(&y.buy.cost_micros)
                .then(x.egress.facts.id.cmp(&y.egress.facts.id))
        };
        match plan.plan.strategy {
            RouteStrategy::Lcr => candidates.sort_by(|x, y| {
                x.buy
                    .cost_micros
                    .cmp(&y.buy.cost_micros)
                    .then(x.entry.priority.cmp(&y.entry.priority))
                    .then(x.egress.facts.id.cmp(&y.egress.facts.id))
            }),
            RouteStrategy::Priority => candidates
                .sort_by(|x, y| x.entry.priority.cmp(&y.entry.priority).then(by_cost(x, y))),
            RouteStrategy::Quality => candidates.sort_by(|x, y| {
                let q = |c: &Candidate<'_>| {
                    live.quality
                        .get(&c.egress.facts.id)
                        .and_then(|q| q.asr_bp().map(|asr| (asr, q.acd_s)))
                };
                match (q(x), q(y)) {
                    (Some(a), Some(b)) => b.cmp(&a).then(by_cost(x, y)),
                    (Some(_), None) => std::cmp::Ordering::Less,
                    (None, Some(_)) => std::cmp::Ordering::Greater,
                    (None, None) => by_cost(x, y),
                }
            }),
            RouteStrategy::Weighted => {
                // Weighted draw without replacement (a weighted shuffle), seeded by the call.
                candidates.sort_by(by_cost);
                let mut seed = call_seed(query.call_id);
                let mut ordered = Vec::with_capacity(candidates.len());
                while !candidates.is_empty() {
                    let total: u64 = candidates.iter().map(|c| u64::from(c.entry.weight)).sum();
                    let mut pick = splitmix(&mut seed) % total.max(1);
                    let mut chosen = candidates.len() - 1;
                    for (i, c) in candidates.iter().enumerate() {
                        if pick < u64::from(c.entry.weight) {
                            chosen = i;
                            break;
                        }
                        pick -= u64::from(c.entry.weight);
                    }
                    ordered.push(candidates.remove(chosen));
                }
                candidates = ordered;
            }
        }
        let max = usize::from(plan.plan.max_routes);
        for c in candidates.drain(max.min(candidates.len())..) {
            d.excluded.push(Excluded {
                supplier_interconnect: c.egress.facts.id,
                name: c.egress.party.clone(),
                reason: Exclusion::MaxRoutes(max),
            });
        }
        d.routes = candidates
            .iter()
            .map(|c| {
                let f = &c.egress.facts;
                let tech_prefix = f.tech_prefix.as_deref().unwrap_or("");
                let (a, sent) = if c.egress.translator.is_empty() {
                    // Numbers as they are (inline: no allocation).
                    let mut sent = CompactString::with_capacity(tech_prefix.len() + b.len());
                    sent.push_str(tech_prefix);
                    sent.push_str(&b);
                    (CompactString::new(&d.a_number), sent)
                } else {
                    let mut a = d.a_number.clone();
                    let mut sent = b.clone();
                    c.egress.translator.apply_in_place(&mut a, &mut sent);
                    sent.insert_str(0, tech_prefix);
                    (CompactString::from(a), CompactString::from(sent))
                };
                Route {
                    uri: c.egress.uri.clone(),
                    b_number: sent,
                    a_number: a,
                    supplier_interconnect: f.id,
                    supplier_carrier: f.carrier_id,
                    supplier_service: c.entry.supplier_service_id,
                    max_duration_s: d.max_duration_s.min(f.max_call_secs),
                    buy: Quote::of(c.deck.plan_id, &c.buy),
                    margin_micros: c.margin,
                }
            })
            .collect();
        d.sell = Some(Quote::of(sell_deck.plan_id, &sell));
        drop(candidates);
        d.b_number = b;
        // Words for a refusal or an explanation only (a routed call needs none).
        // What the plan's entries matched, appended to `out`: "every destination" or
        // "prefix 9198".
        let push_prefix_text = |out: &mut String| {
            if matched == 0 {
                out.push_str("every destination");
            } else {
                out.push_str("prefix ");
                out.push_str(&d.b_number[..matched]);
            }
        };
        if d.routes.is_empty() {
            let (code, reason) = if d.excluded.is_empty() {
                let mut reason = String::from("no route: the routing plan has no supplier for ");
                push_prefix_text(&mut reason);
                (404, reason)
            } else {
                (503, {
                    use std::fmt::Write;
                    // Written in one buffer sized for it (a reason names three amounts
                    // for each supplier).
                    let mut reason = String::with_capacity(128 + 160 * d.excluded.len());
                    reason.push_str("no route left: every supplier the routing plan lists for ");
                    push_prefix_text(&mut reason);
                    reason.push_str(" was excluded (");
                    for (i, e) in d.excluded.iter().enumerate() {
                        if i > 0 {
                            reason.push_str("; ");
                        }
                        reason.push_str(&e.name);
                        reason.push_str(": ");
                        let _ = write!(reason, "{}", e.reason);
                    }
                    reason.push(')');
                    reason
                })
            };
            return d.refuse("routes", code, reason);
        }
        if query.explain {
            let mut detail = format!(
                "{} route(s) by {} for ",
                d.routes.len(),
                plan.plan.strategy.label()
            );
            push_prefix_text(&mut detail);
            d.step("routes", true, detail);
        }
        d
    }

    fn deck_of_plan(&self, plan_id: i64) -> Option<&PlanDeck> {
        self.deck_by_plan
            .get(&plan_id)
            .map(|i| &*self.decks[*i as usize])
    }

    /// One egress interconnect: its deck, its price for a minute to the call's B-number
    /// and the margin, or why it is not offered. `longest`: its deck's longest code for
    /// `keys` when the decision looked it up already.
    #[allow(clippy::too_many_arguments)]
    fn candidate<'t>(
        &'t self,
        eg: &'t CompiledInterconnect,
        keys: &PrefixKeys,
        longest: Option<Option<(u8, u64)>>,
        sell: &Rating<'_>,
        customer_carrier: Option<i64>,
        min_margin_bp: u32,
        minute: &CallToRate<'t>,
    ) -> Result<(&'t PlanDeck, Rating<'t>, i64), Exclusion> {
        let f = &eg.facts;
        if !f.active {
            return Err(Exclusion::Inactive);
        }
        if Some(f.carrier_id) == customer_carrier {
            return Err(Exclusion::Loop);
        }
        if eg.uri.is_empty() {
            return Err(Exclusion::NoAddress);
        }
        let Some((_, buy_plan)) = f.service else {
            return Err(Exclusion::NoService);
        };
        let Some(deck) = eg.deck.map(|i| &*self.decks[i as usize]) else {
            return Err(Exclusion::PlanNotLoaded(buy_plan));
        };
        let longest = longest.unwrap_or_else(|| deck.deck.index.longest_of(keys));
        let no_rate = |e: NoRate| match e {
            NoRate::NoPrefix | NoRate::NoRateInForce { .. } => Exclusion::NoBuyRate,
            other => Exclusion::Unpriced(other),
        };
        let (len, row) = deck
            .deck
            .in_force_longest(keys, longest, minute.start.timestamp())
            .map_err(no_rate)?;
        let buy = deck
            .deck
            .price(len, row, minute, &deck.policy)
            .map_err(no_rate)?;
        if buy.currency != sell.currency {
            return Err(Exclusion::Currency {
                buy: buy.currency,
                sell: sell.currency,
            });
        }
        let margin = sell.cost_micros - buy.cost_micros;
        if margin < 0 {
            return Err(Exclusion::AboveSell {
                rate_micros: buy.rate_micros,
                minute_micros: buy.cost_micros,
                sell_minute_micros: sell.cost_micros,
            });
        }
        if i128::from(margin) * 10_000 < i128::from(sell.cost_micros) * i128::from(min_margin_bp) {
            return Err(Exclusion::UnderMinimum {
                margin_micros: margin,
                min_margin_bp,
            });
        }
        Ok((deck, buy, margin))
    }
}

#[cfg(test)]
mod tests;
