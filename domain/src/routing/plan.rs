//! Routing plans: which supplier services may carry which destinations, in what order,
//! and when the switch may try the next route.
//!
//! A plan belongs to customer services (a service names its plan). Its **entries** say
//! which supplier services may carry calls to numbers starting with a prefix; the
//! entries of the **longest** prefix that starts the B-number apply (an entry without a
//! prefix applies to every destination no longer prefix covers), as in the rate decks.
//! The **strategy** orders the routes those entries give.

use serde::{Deserialize, Serialize};

use crate::validation::{choice, string_enum, take, whole_number, FieldErrors};

string_enum! {
    /// How a routing plan orders the routes of a call.
    pub enum RouteStrategy {
        /// Least cost: cheapest buy rate in force now first (ties: priority).
        Lcr = ("lcr", "Least cost (LCR)"),
        /// The entries' priority, 1 first (ties: cheapest).
        Priority = ("priority", "Priority"),
        /// Shares of traffic by weight: each call draws an order, heavier entries first
        /// more often (the draw is a function of the call id, so a replay repeats it).
        Weighted = ("weighted", "Weighted percentage"),
        /// Best answer-seizure ratio over the last minutes first (then ACD, then cost);
        /// suppliers without recent calls come after those with, cheapest first.
        Quality = ("quality", "Quality (ASR, ACD)"),
    }
}

/// Most routes a plan may offer per call.
pub const MAX_ROUTES: u8 = 10;
/// Longest plan or entry prefix, digits (ITU-T E.164: numbers have at most 15).
pub const MAX_ROUTING_PREFIX_DIGITS: usize = 15;

/// A routing plan as typed.
///
/// - `max_routes`: 1–10 (empty: 3);
/// - `min_margin_percent`: the least margin a route may leave, in percent of the sell
///   price, 0–100 with up to 2 decimals (empty: 0, i.e. never at a loss);
/// - `failover_on`: SIP codes or classes after which the switch tries the next route,
///   e.g. `5xx, 408` (empty: `5xx, 408`);
/// - `no_failover`: codes that end the call even inside a class above, e.g. `503`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingPlanForm {
    pub name: String,
    pub strategy: String,
    pub max_routes: String,
    pub min_margin_percent: String,
    pub failover_on: String,
    pub no_failover: String,
    pub description: String,
}

/// A SIP response code (RFC 3261 §21: 100–699) or a class `4xx`, `5xx`, `6xx`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SipCodes {
    Code(u16),
    /// The class digit: 4, 5 or 6.
    Class(u8),
}

impl SipCodes {
    /// Whether `code` is this code or in this class.
    pub fn covers(self, code: u16) -> bool {
        match self {
            SipCodes::Code(c) => c == code,
            SipCodes::Class(d) => code / 100 == u16::from(d),
        }
    }
}

impl std::fmt::Display for SipCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SipCodes::Code(c) => write!(f, "{c}"),
            SipCodes::Class(d) => write!(f, "{d}xx"),
        }
    }
}

/// A valid routing plan (see [`RoutingPlanForm`] for the bounds).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingPlan {
    pub name: String,
    pub strategy: RouteStrategy,
    pub max_routes: u8,
    /// Basis points (hundredths of a percent) of the sell price: 250 = 2.5 %.
    pub min_margin_bp: u32,
    pub failover_on: Vec<SipCodes>,
    pub no_failover: Vec<u16>,
    pub description: String,
}

impl RoutingPlan {
    /// Whether the switch should try the next route after a final response `code`.
    pub fn fails_over(&self, code: u16) -> bool {
        !self.no_failover.contains(&code) && self.failover_on.iter().any(|c| c.covers(code))
    }
}

/// Default failover codes: server failures and request timeouts (RFC 3261 §21.5, §21.4.9).
pub const DEFAULT_FAILOVER: [SipCodes; 2] = [SipCodes::Class(5), SipCodes::Code(408)];

fn parse_codes(text: &str, classes: bool) -> Result<Vec<SipCodes>, String> {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for item in text
        .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|s| !s.is_empty())
    {
        let lower = item.to_ascii_lowercase();
        let parsed = match lower.strip_suffix("xx") {
            Some(d) if classes => match d {
                "4" | "5" | "6" => Some(SipCodes::Class(d.as_bytes()[0] - b'0')),
                _ => None,
            },
            Some(_) => None,
            None => lower
                .parse::<u16>()
                .ok()
                .filter(|c| (300..=699).contains(c))
                .map(SipCodes::Code),
        };
        match parsed {
            Some(c) if !out.contains(&c) => out.push(c),
            Some(_) => {}
            None => bad.push(format!("“{item}”")),
        }
    }
    if bad.is_empty() {
        Ok(out)
    } else {
        Err(format!(
            "{} {}: write final SIP codes (300–699){}, separated by commas.",
            bad.join(", "),
            if bad.len() == 1 {
                "is not a SIP code"
            } else {
                "are not SIP codes"
            },
            if classes {
                " or classes such as 5xx"
            } else {
                ""
            }
        ))
    }
}

/// Parses a percentage with at most 2 decimals, 0–100, into basis points.
fn percent_bp(text: &str) -> Result<u32, String> {
    let t = text.trim().trim_end_matches('%').trim();
    if t.is_empty() {
        return Ok(0);
    }
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || (!frac.is_empty() && !digits(frac)) || frac.len() > 2 {
        return Err("Enter a percentage such as 5 or 2.5 (at most 2 decimals).".into());
    }
    let whole: u32 = whole.parse().map_err(|_| "Enter at most 100.".to_owned())?;
    let frac: u32 = format!("{frac:0<2}").parse().unwrap_or(0);
    let bp = whole.saturating_mul(100).saturating_add(frac);
    if bp > 10_000 {
        return Err("A margin is at most 100 %.".into());
    }
    Ok(bp)
}

/// Validates a routing plan form. Errors name `name`, `strategy`, `max_routes`,
/// `min_margin_percent`, `failover_on`, `no_failover`, `description`.
pub fn validate_routing_plan(form: &RoutingPlanForm) -> Result<RoutingPlan, FieldErrors> {
    let mut errors = FieldErrors::new();
    let name = form.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        errors.add("name", "Enter the plan's name (1 to 100 characters).");
    }
    let strategy = take(&mut errors, "strategy", choice(&form.strategy));
    let max_routes = match form.max_routes.trim() {
        "" => Some(3),
        text => take(
            &mut errors,
            "max_routes",
            whole_number(text, 1, u64::from(MAX_ROUTES), "the most routes per call")
                .map(|n| n as u8),
        ),
    };
    let min_margin_bp = take(
        &mut errors,
        "min_margin_percent",
        percent_bp(&form.min_margin_percent),
    );
    let failover_on = match form.failover_on.trim() {
        "" => Some(DEFAULT_FAILOVER.to_vec()),
        text => take(&mut errors, "failover_on", parse_codes(text, true)),
    };
    let no_failover = take(
        &mut errors,
        "no_failover",
        parse_codes(&form.no_failover, false).map(|codes| {
            codes
                .into_iter()
                .filter_map(|c| match c {
                    SipCodes::Code(c) => Some(c),
                    SipCodes::Class(_) => None,
                })
                .collect::<Vec<u16>>()
        }),
    );
    let description = form.description.trim();
    if description.chars().count() > 2000 {
        errors.add("description", "Keep the description under 2000 characters.");
    }
    match (
        strategy,
        max_routes,
        min_margin_bp,
        failover_on,
        no_failover,
    ) {
        (
            Some(strategy),
            Some(max_routes),
            Some(min_margin_bp),
            Some(failover_on),
            Some(no_failover),
        ) if errors.is_empty() => Ok(RoutingPlan {
            name: name.to_owned(),
            strategy,
            max_routes,
            min_margin_bp,
            failover_on,
            no_failover,
            description: description.to_owned(),
        }),
        _ => Err(errors),
    }
}

impl From<&RoutingPlan> for RoutingPlanForm {
    fn from(v: &RoutingPlan) -> Self {
        let join = |items: Vec<String>| items.join(", ");
        RoutingPlanForm {
            name: v.name.clone(),
            strategy: v.strategy.as_str().into(),
            max_routes: v.max_routes.to_string(),
            min_margin_percent: percent_text(v.min_margin_bp),
            failover_on: join(v.failover_on.iter().map(ToString::to_string).collect()),
            no_failover: join(v.no_failover.iter().map(ToString::to_string).collect()),
            description: v.description.clone(),
        }
    }
}

/// Basis points as a percentage without trailing zeros: 250 → `2.5`, 1000 → `10`.
pub fn percent_text(bp: u32) -> String {
    let (whole, frac) = (bp / 100, bp % 100);
    match frac {
        0 => whole.to_string(),
        f if f % 10 == 0 => format!("{whole}.{}", f / 10),
        f => format!("{whole}.{f:02}"),
    }
}

/// One entry of a routing plan as typed: `prefix` empty for every destination;
/// `priority` 1–100 (empty: 1); `weight` 1–1000 (empty: 100).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingEntryForm {
    pub prefix: String,
    pub supplier_service_id: String,
    pub priority: String,
    pub weight: String,
}

/// A valid routing plan entry: calls to numbers starting with `prefix` (`""`: any) may
/// go to supplier service `supplier_service_id`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RoutingEntry {
    pub prefix: String,
    pub supplier_service_id: i64,
    /// 1 = first (priority strategy; tie-breaker of the others).
    pub priority: u32,
    /// Share of calls (weighted strategy), relative to the other entries of the prefix.
    pub weight: u32,
}

/// Validates an entry. Errors name `prefix`, `supplier_service_id`, `priority`,
/// `weight`.
pub fn validate_routing_entry(form: &RoutingEntryForm) -> Result<RoutingEntry, FieldErrors> {
    let mut errors = FieldErrors::new();
    let prefix = form.prefix.trim();
    let prefix = prefix.strip_prefix('+').unwrap_or(prefix);
    if prefix.len() > MAX_ROUTING_PREFIX_DIGITS || !prefix.bytes().all(|b| b.is_ascii_digit()) {
        errors.add(
            "prefix",
            "A prefix is 1 to 15 digits, e.g. 9198; leave it empty for every destination.",
        );
    }
    let supplier_service_id = match form.supplier_service_id.trim().parse::<i64>() {
        Ok(id) if id > 0 => id,
        _ => {
            errors.add("supplier_service_id", "Choose the supplier service.");
            0
        }
    };
    let number = |errors: &mut FieldErrors, field: &str, text: &str, default, max, what| match text
        .trim()
    {
        "" => default,
        t => take(errors, field, whole_number(t, 1, max, what)).unwrap_or(default as u64) as u32,
    };
    let priority = number(
        &mut errors,
        "priority",
        &form.priority,
        1,
        100,
        "the priority",
    );
    let weight = number(&mut errors, "weight", &form.weight, 100, 1000, "the weight");
    errors.into_result(RoutingEntry {
        prefix: prefix.to_owned(),
        supplier_service_id,
        priority,
        weight,
    })
}

impl From<&RoutingEntry> for RoutingEntryForm {
    fn from(v: &RoutingEntry) -> Self {
        RoutingEntryForm {
            prefix: v.prefix.clone(),
            supplier_service_id: v.supplier_service_id.to_string(),
            priority: v.priority.to_string(),
            weight: v.weight.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> RoutingPlanForm {
        RoutingPlanForm {
            name: "India premium".into(),
            strategy: "lcr".into(),
            ..Default::default()
        }
    }

    #[test]
    fn defaults_and_failover() {
        let plan = validate_routing_plan(&form()).unwrap();
        assert_eq!(
            (
                plan.max_routes,
                plan.min_margin_bp,
                plan.failover_on.clone()
            ),
            (3, 0, DEFAULT_FAILOVER.to_vec())
        );
        assert!(plan.fails_over(503) && plan.fails_over(408) && !plan.fails_over(486));
        let plan = validate_routing_plan(&RoutingPlanForm {
            min_margin_percent: "2.5 %".into(),
            failover_on: "5xx, 4xx".into(),
            no_failover: "486 603".into(),
            ..form()
        })
        .unwrap();
        assert_eq!(plan.min_margin_bp, 250);
        assert!(plan.fails_over(404) && !plan.fails_over(486) && !plan.fails_over(603));
        assert_eq!(RoutingPlanForm::from(&plan).min_margin_percent, "2.5");
        assert_eq!(RoutingPlanForm::from(&plan).failover_on, "5xx, 4xx");
    }

    #[test]
    fn every_bad_field_is_named() {
        let errors = validate_routing_plan(&RoutingPlanForm {
            name: " ".into(),
            strategy: "cheapest".into(),
            max_routes: "11".into(),
            min_margin_percent: "2.555".into(),
            failover_on: "5xx, 7xx, 200".into(),
            no_failover: "5xx".into(),
            description: String::new(),
        })
        .unwrap_err();
        for field in [
            "name",
            "strategy",
            "max_routes",
            "min_margin_percent",
            "failover_on",
            "no_failover",
        ] {
            assert!(errors.get(field).is_some(), "{field}");
        }
        assert!(errors.get("failover_on").unwrap().contains("“7xx”, “200”"));
    }

    #[test]
    fn entries() {
        let e = validate_routing_entry(&RoutingEntryForm {
            prefix: "+9198".into(),
            supplier_service_id: "4".into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!((e.prefix.as_str(), e.priority, e.weight), ("9198", 1, 100));
        let errors = validate_routing_entry(&RoutingEntryForm {
            prefix: "91a".into(),
            supplier_service_id: String::new(),
            priority: "0".into(),
            weight: "x".into(),
        })
        .unwrap_err();
        for field in ["prefix", "supplier_service_id", "priority", "weight"] {
            assert!(errors.get(field).is_some(), "{field}");
        }
    }
}

/// The route simulation form as typed: the customer side by ingress interconnect
/// (`interconnect_id`) or by source address (`source_ip`), the numbers as the switch
/// would send them, and when (`at`, UTC, `YYYY-MM-DD HH:MM[:SS]` or RFC 3339; empty:
/// now).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimulationForm {
    pub interconnect_id: String,
    pub source_ip: String,
    pub a_number: String,
    pub b_number: String,
    pub at: String,
}

/// A valid simulation request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Simulation {
    pub interconnect_id: Option<i64>,
    pub source_ip: Option<std::net::IpAddr>,
    pub a_number: String,
    pub b_number: String,
    /// `None`: now.
    pub at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Validates a simulation. Errors: `interconnect_id` (neither it nor `source_ip`
/// given), `source_ip`, `b_number`, `at`.
pub fn validate_simulation(form: &SimulationForm) -> Result<Simulation, FieldErrors> {
    let mut errors = FieldErrors::new();
    let interconnect_id = match form.interconnect_id.trim() {
        "" => None,
        t => match t.parse::<i64>() {
            Ok(id) if id > 0 => Some(id),
            _ => {
                errors.add(
                    "interconnect_id",
                    "Choose an ingress interconnect from the list.",
                );
                None
            }
        },
    };
    let source_ip = match form.source_ip.trim() {
        "" => None,
        t => match t.parse::<std::net::IpAddr>() {
            Ok(ip) => Some(ip),
            Err(_) => {
                errors.add(
                    "source_ip",
                    format!("“{t}” is not an IP address, e.g. 203.0.113.10 or 2001:db8::10."),
                );
                None
            }
        },
    };
    if interconnect_id.is_none() && source_ip.is_none() && errors.is_empty() {
        errors.add(
            "interconnect_id",
            "Choose the customer's interconnect, or enter the address the call comes from.",
        );
    }
    let b_number = form.b_number.trim();
    if b_number.is_empty() || b_number.chars().count() > 64 {
        errors.add(
            "b_number",
            "Enter the number as dialled (tech prefix included), e.g. 919812345678.",
        );
    }
    let at = match form.at.trim() {
        "" => None,
        t => {
            let parsed = chrono::DateTime::parse_from_rfc3339(t)
                .map(|d| d.with_timezone(&chrono::Utc))
                .ok()
                .or_else(|| {
                    ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"]
                        .iter()
                        .find_map(|f| chrono::NaiveDateTime::parse_from_str(t, f).ok())
                        .map(|n| n.and_utc())
                });
            if parsed.is_none() {
                errors.add(
                    "at",
                    "Enter a UTC time as 2026-11-22 14:30, or leave it empty for now.",
                );
            }
            parsed
        }
    };
    errors.into_result(Simulation {
        interconnect_id,
        source_ip,
        a_number: form.a_number.trim().to_owned(),
        b_number: b_number.to_owned(),
        at,
    })
}

#[cfg(test)]
mod simulation_tests {
    use super::*;

    #[test]
    fn a_simulation_needs_a_customer_and_a_number() {
        let errors = validate_simulation(&SimulationForm::default()).unwrap_err();
        assert!(errors.get("interconnect_id").is_some() && errors.get("b_number").is_some());
        let errors = validate_simulation(&SimulationForm {
            source_ip: "203.0.113.300".into(),
            b_number: "91".into(),
            at: "yesterday".into(),
            ..Default::default()
        })
        .unwrap_err();
        assert!(errors.get("source_ip").is_some() && errors.get("at").is_some());
        assert!(
            errors.get("interconnect_id").is_none(),
            "one message is enough"
        );
        let s = validate_simulation(&SimulationForm {
            interconnect_id: "4".into(),
            b_number: " 919812345678 ".into(),
            at: "2026-11-22 14:30".into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            (
                s.interconnect_id,
                s.b_number.as_str(),
                s.at.map(|t| t.to_rfc3339())
            ),
            (
                Some(4),
                "919812345678",
                Some("2026-11-22T14:30:00+00:00".into())
            )
        );
    }
}
