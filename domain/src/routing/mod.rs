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
use serde::{Deserialize, Serialize};

use crate::cdr::mediation::{e164_digits, pick_by_tech_prefix, IngressIndex};
use crate::interconnect::{
    AddressSpec, CompiledNumberRules, Direction, NumberRejection, NumberRules, TranslationRule,
    Translator, Transport,
};
use crate::rating::{
    BillableDuration, BillingIncrement, CallToRate, NoRate, PlanDeck, PrefixIndex, Rating,
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

/// A price from a deck for one minute of talk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    pub plan_id: i64,
    pub prefix: String,
    pub destination: String,
    /// Per minute, micro-units.
    pub rate_micros: i64,
    pub connection_fee_micros: i64,
    pub increment: BillingIncrement,
    pub minimum_s: u32,
    /// What a 60-second answered call costs on this deck (fee, increments and minimum
    /// included, rounded as the plan rounds), micro-units: the margin guard compares
    /// these.
    pub minute_cost_micros: i64,
    pub currency: String,
}

impl Quote {
    fn of(plan_id: i64, r: &Rating<'_>) -> Quote {
        Quote {
            plan_id,
            prefix: r.prefix.to_owned(),
            destination: r.destination.to_owned(),
            rate_micros: r.rate_micros,
            connection_fee_micros: r.connection_fee_micros,
            increment: r.increment,
            minimum_s: r.minimum_s,
            minute_cost_micros: r.cost_micros,
            currency: r.currency.as_str().to_owned(),
        }
    }
}

/// One route offered to the switch, best first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// `sip:host:port` (`;transport=tcp|tls` when not UDP): where to send the INVITE.
    pub uri: String,
    /// B-number to send: E.164 after the egress translation, with the egress tech prefix.
    pub b_number: String,
    /// A-number to send, after the egress translation.
    pub a_number: String,
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
    pub reason: String,
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
}

struct CompiledInterconnect {
    facts: RouteInterconnect,
    translator: Translator,
    rules: CompiledNumberRules,
    /// Egress: `sip:host:port[;transport=…]`.
    uri: String,
}

struct CompiledPlan {
    plan: RoutingPlan,
    /// Entry lists by prefix; the value indexes `lists`.
    index: PrefixIndex,
    lists: Vec<Vec<RoutingEntry>>,
    /// Entries without a prefix.
    default: Vec<RoutingEntry>,
}

impl CompiledPlan {
    fn entries_for<'a>(&'a self, b_number: &'a str) -> (&'a str, &'a [RoutingEntry]) {
        match self.index.longest(b_number.as_bytes()) {
            Some((len, list)) => (&b_number[..usize::from(len)], &self.lists[list as usize]),
            None => ("", &self.default),
        }
    }
}

/// The routing configuration compiled for the call path (see the module documentation).
/// Immutable; share it behind an `Arc` and replace it whole.
pub struct RoutingTable {
    ingress: IngressIndex,
    interconnects: HashMap<i64, CompiledInterconnect>,
    /// Egress interconnects (ids, ascending) by the supplier service they sell.
    egress_by_service: HashMap<i64, Vec<i64>>,
    decks: HashMap<i64, Arc<PlanDeck>>,
    plans: HashMap<i64, CompiledPlan>,
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
    // Seconds billed for at most `left`: rate × s / 60 ≤ left.
    let billable = left * 60 / i128::from(rate_micros);
    let (a, b) = (i128::from(increment.first), i128::from(increment.next));
    if billable < a.max(i128::from(minimum_s)) {
        return None;
    }
    let seconds = a + (billable - a) / b * b;
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
        let mut interconnects = HashMap::with_capacity(facts.interconnects.len());
        let mut egress_by_service: HashMap<i64, Vec<i64>> = HashMap::new();
        for ic in facts.interconnects {
            let translator = Translator::new(&ic.translation_rules)
                .map_err(|e| format!("interconnect {}: translation rule: {e}", ic.name))?;
            let rules = ic
                .number_rules
                .compile()
                .map_err(|e| format!("interconnect {}: CLI format: {e}", ic.name))?;
            let uri = ic
                .target
                .as_ref()
                .map(|(spec, port, transport)| target_uri(spec, *port, *transport))
                .unwrap_or_default();
            if ic.direction == Direction::Egress {
                if let Some((service, _)) = ic.service {
                    egress_by_service.entry(service).or_default().push(ic.id);
                }
            }
            interconnects.insert(
                ic.id,
                CompiledInterconnect {
                    facts: ic,
                    translator,
                    rules,
                    uri,
                },
            );
        }
        for ids in egress_by_service.values_mut() {
            ids.sort_unstable();
        }
        let mut ingress = IngressIndex::default();
        for (spec, id) in &facts.ingress_addresses {
            if interconnects
                .get(id)
                .is_some_and(|ic| ic.facts.direction == Direction::Ingress)
            {
                ingress.add(spec, *id);
            }
        }
        let mut rules = 0;
        let mut plans = HashMap::with_capacity(facts.plans.len());
        for p in facts.plans {
            rules += p.entries.len();
            let mut by_prefix: HashMap<String, Vec<RoutingEntry>> = HashMap::new();
            let mut default = Vec::new();
            for e in p.entries {
                if e.prefix.is_empty() {
                    default.push(e);
                } else {
                    by_prefix.entry(e.prefix.clone()).or_default().push(e);
                }
            }
            let mut lists = Vec::with_capacity(by_prefix.len());
            let mut codes = Vec::with_capacity(by_prefix.len());
            for (prefix, list) in by_prefix {
                codes.push((prefix, lists.len() as u64));
                lists.push(list);
            }
            let index = PrefixIndex::build(
                codes
                    .iter()
                    .map(|(c, v)| (c.as_bytes(), *v))
                    .collect::<Vec<_>>()
                    .into_iter(),
            );
            plans.insert(
                p.id,
                CompiledPlan {
                    plan: p.plan,
                    index,
                    lists,
                    default,
                },
            );
        }
        let codes = facts.decks.values().map(|d| d.deck.rows()).sum();
        Ok(RoutingTable {
            ingress,
            interconnects,
            egress_by_service,
            decks: facts.decks,
            plans,
            carrier_names: facts.carrier_names,
            carrier_caps: facts.carrier_caps,
            size: (codes, rules),
        })
    }

    /// `(rate rows of every deck, routing plan entries)` held.
    pub fn size(&self) -> (usize, usize) {
        self.size
    }

    /// The interconnect's name, for messages.
    pub fn interconnect_name(&self, id: i64) -> Option<&str> {
        self.interconnects.get(&id).map(|ic| ic.facts.name.as_str())
    }

    /// "Carrier (interconnect)", for messages.
    pub fn party_name(&self, id: i64) -> Option<String> {
        self.interconnects
            .get(&id)
            .map(|ic| match self.carrier_names.get(&ic.facts.carrier_id) {
                Some(carrier) => format!("{carrier} ({})", ic.facts.name),
                None => ic.facts.name.clone(),
            })
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
        self.interconnects
            .get(&id)
            .map(|ic| (ic.facts.max_cps, ic.facts.max_channels))
    }

    fn sell_quote(&self, plan_id: i64, b: &str, at: DateTime<Utc>) -> Result<Quote, String> {
        let Some(deck) = self.decks.get(&plan_id) else {
            return Err(format!("rate plan {plan_id} is not loaded"));
        };
        minute_quote(deck, b, at).map_err(|e| match e {
            NoRate::NoPrefix => format!("no rate: the customer plan has no dial code for {b}"),
            NoRate::NoRateInForce { .. } => {
                format!("no rate: the customer plan's dial code for {b} has no rate in force")
            }
            other => format!("no rate: {other}"),
        })
    }

    /// Decides one call (see the module documentation for the steps).
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
            steps: Vec::with_capacity(8),
            excluded: Vec::new(),
        };
        let dialled = query.b_number.trim();

        // 1. Ingress.
        let candidates = match query.ingress_interconnect_id {
            Some(id) => vec![id],
            None => self.ingress.candidates(query.source_ip),
        };
        let ingress = pick_by_tech_prefix(
            candidates
                .iter()
                .filter_map(|id| self.interconnects.get(id))
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
        let Some(b_e164) = e164_digits(&b) else {
            return d.refuse(
                "translation",
                484,
                format!("the called number {b} is not an E.164 number after translation (1–15 digits, not starting with 0)"),
            );
        };
        d.a_number = e164_digits(&a).unwrap_or(a);
        d.b_number = b_e164;
        if query.explain {
            d.step(
                "translation",
                true,
                if d.b_number == b_after_prefix {
                    format!("B {} unchanged", d.b_number)
                } else {
                    format!("B {b_after_prefix} → {}", d.b_number)
                },
            );
        }

        // 5. Sell rate.
        let sell = match self.sell_quote(sell_plan, &d.b_number, query.at) {
            Ok(q) => q,
            Err(reason) => return d.refuse("sell_rate", 404, reason),
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
                    money(sell.minute_cost_micros)
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
            d.sell = Some(sell);
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
        let Some(plan) = ic.routing_plan_id.and_then(|id| self.plans.get(&id)) else {
            d.sell = Some(sell);
            return d.refuse(
                "routes",
                404,
                "no route: the customer service has no routing plan".into(),
            );
        };
        d.routing_plan = ic.routing_plan_id;
        d.failover_on = plan.plan.failover_on.clone();
        d.no_failover = plan.plan.no_failover.clone();
        let (matched, entries) = plan.entries_for(&d.b_number);
        let mut candidates: Vec<(Route, &RoutingEntry)> = Vec::new();
        for entry in entries {
            let Some(egress_ids) = self.egress_by_service.get(&entry.supplier_service_id) else {
                continue;
            };
            for id in egress_ids {
                let Some(eg) = self.interconnects.get(id) else {
                    continue;
                };
                if candidates
                    .iter()
                    .any(|(r, _)| r.supplier_interconnect == *id)
                {
                    continue;
                }
                match self.candidate(eg, entry, &sell, &d, plan.plan.min_margin_bp, query) {
                    Ok(route) => candidates.push((route, entry)),
                    Err(reason) => d.excluded.push(Excluded {
                        supplier_interconnect: *id,
                        name: self.party_name(*id).unwrap_or_default(),
                        reason,
                    }),
                }
            }
        }
        let by_cost = |x: &Route, y: &Route| {
            x.buy
                .minute_cost_micros
                .cmp(&y.buy.minute_cost_micros)
                .then(x.supplier_interconnect.cmp(&y.supplier_interconnect))
        };
        match plan.plan.strategy {
            RouteStrategy::Lcr => candidates.sort_by(|(x, ex), (y, ey)| {
                x.buy
                    .minute_cost_micros
                    .cmp(&y.buy.minute_cost_micros)
                    .then(ex.priority.cmp(&ey.priority))
                    .then(x.supplier_interconnect.cmp(&y.supplier_interconnect))
            }),
            RouteStrategy::Priority => candidates
                .sort_by(|(x, ex), (y, ey)| ex.priority.cmp(&ey.priority).then(by_cost(x, y))),
            RouteStrategy::Quality => candidates.sort_by(|(x, _), (y, _)| {
                let q = |r: &Route| {
                    live.quality
                        .get(&r.supplier_interconnect)
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
                candidates.sort_by(|(x, _), (y, _)| by_cost(x, y));
                let mut seed = call_seed(query.call_id);
                let mut ordered = Vec::with_capacity(candidates.len());
                while !candidates.is_empty() {
                    let total: u64 = candidates.iter().map(|(_, e)| u64::from(e.weight)).sum();
                    let mut pick = splitmix(&mut seed) % total.max(1);
                    let mut chosen = candidates.len() - 1;
                    for (i, (_, e)) in candidates.iter().enumerate() {
                        if pick < u64::from(e.weight) {
                            chosen = i;
                            break;
                        }
                        pick -= u64::from(e.weight);
                    }
                    ordered.push(candidates.remove(chosen));
                }
                candidates = ordered;
            }
        }
        let max = usize::from(plan.plan.max_routes);
        for (route, _) in candidates.split_off(max.min(candidates.len())) {
            d.excluded.push(Excluded {
                supplier_interconnect: route.supplier_interconnect,
                name: self
                    .party_name(route.supplier_interconnect)
                    .unwrap_or_default(),
                reason: format!("the plan offers at most {max} routes"),
            });
        }
        d.routes = candidates.into_iter().map(|(r, _)| r).collect();
        d.sell = Some(sell);
        let prefix_text = if matched.is_empty() {
            "every destination".to_owned()
        } else {
            format!("prefix {matched}")
        };
        if d.routes.is_empty() {
            let (code, reason) = if d.excluded.is_empty() {
                (
                    404,
                    format!("no route: the routing plan has no supplier for {prefix_text}"),
                )
            } else {
                (
                    503,
                    format!(
                        "no route left: every supplier for {prefix_text} was excluded ({})",
                        d.excluded
                            .iter()
                            .map(|e| format!("{}: {}", e.name, e.reason))
                            .collect::<Vec<_>>()
                            .join("; ")
                    ),
                )
            };
            return d.refuse("routes", code, reason);
        }
        if query.explain {
            d.step(
                "routes",
                true,
                format!(
                    "{} route(s) by {} for {prefix_text}",
                    d.routes.len(),
                    plan.plan.strategy.label()
                ),
            );
        }
        d
    }

    /// One egress interconnect for one entry: the route, or why not.
    fn candidate(
        &self,
        eg: &CompiledInterconnect,
        entry: &RoutingEntry,
        sell: &Quote,
        d: &Decision,
        min_margin_bp: u32,
        query: &RouteQuery<'_>,
    ) -> Result<Route, String> {
        let f = &eg.facts;
        if !f.active {
            return Err("the interconnect or its carrier is not active".into());
        }
        if Some(f.carrier_id) == d.customer_carrier {
            return Err("it belongs to the customer's own carrier (a loop)".into());
        }
        if eg.uri.is_empty() {
            return Err("it has no address to send calls to".into());
        }
        let Some((_, buy_plan)) = f.service else {
            return Err("it sells no service with a rate plan".into());
        };
        let Some(deck) = self.decks.get(&buy_plan) else {
            return Err(format!("rate plan {buy_plan} is not loaded"));
        };
        let buy = minute_quote(deck, &d.b_number, query.at).map_err(|e| match e {
            NoRate::NoPrefix | NoRate::NoRateInForce { .. } => {
                format!("no buy rate for {}", d.b_number)
            }
            other => format!("no buy rate: {other}"),
        })?;
        if buy.currency != sell.currency {
            return Err(format!(
                "its deck is in {}, the customer plan in {}",
                buy.currency, sell.currency
            ));
        }
        let margin = sell.minute_cost_micros - buy.minute_cost_micros;
        if margin < 0 {
            return Err(format!(
                "margin guard: buys at {}/min (a minute costs {}), above the sell price {}",
                money(buy.rate_micros),
                money(buy.minute_cost_micros),
                money(sell.minute_cost_micros)
            ));
        }
        if i128::from(margin) * 10_000
            < i128::from(sell.minute_cost_micros) * i128::from(min_margin_bp)
        {
            return Err(format!(
                "margin guard: margin {} per minute is under the plan's minimum of {} %",
                money(margin),
                percent_text(min_margin_bp)
            ));
        }
        let mut a = d.a_number.clone();
        let mut b = d.b_number.clone();
        eg.translator.apply_in_place(&mut a, &mut b);
        if let Some(tp) = &f.tech_prefix {
            b.insert_str(0, tp);
        }
        Ok(Route {
            uri: eg.uri.clone(),
            b_number: b,
            a_number: a,
            supplier_interconnect: f.id,
            supplier_carrier: f.carrier_id,
            supplier_service: entry.supplier_service_id,
            max_duration_s: d.max_duration_s.min(f.max_call_secs),
            buy,
            margin_micros: margin,
        })
    }
}

/// The quote of a 60-second answered call to `b` at `at` on `deck`.
fn minute_quote(deck: &PlanDeck, b: &str, at: DateTime<Utc>) -> Result<Quote, NoRate> {
    let call = CallToRate {
        b_number: b,
        start: at,
        duration: BillableDuration::Seconds(60),
        answered: true,
    };
    deck.deck
        .rate(&call, &deck.policy)
        .map(|r| Quote::of(deck.plan_id, &r))
}

#[cfg(test)]
mod tests;
