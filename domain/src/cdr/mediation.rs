//! Mediation: from a CDR as the switch saw it to the parties and numbers DIDTron bills.
//!
//! For each record, in order:
//! 1. **Ingress.** The source IP picks the customer's ingress interconnect among those
//!    whose addresses cover it; when several share the address, the one whose tech
//!    prefix starts the dialled B-number wins (longest first), then one without a tech
//!    prefix. The tech prefix is stripped from B.
//! 2. **Translation.** The ingress interconnect's translation rules run on A and B (the
//!    same [`Translator`] the "try it" box uses).
//! 3. **E.164.** B loses a leading `+` or `00` and must then be 1–15 digits, not
//!    starting with 0 (ITU-T E.164 §6); A is normalised the same way when it can be
//!    and kept as received otherwise (it is not billed).
//! 4. **Egress.** The route (`sip:host:port`) picks the supplier's egress interconnect
//!    by address and port (5060 when the route names none).
//!
//! A record that names its interconnects (`customer_interconnect_id`,
//! `supplier_interconnect_id`: a CDR file filed against them, or a switch echoing the
//! routing answer) skips steps 1's address lookup and 4; the tech prefix is still
//! stripped.
//! 5. **Services.** Each interconnect's active service of its direction with a rate plan
//!    gives the plan the leg is rated against.
//!
//! A record that fails a step is a [`Rejection`] with a reason staff can act on. Only
//! billable (answered) calls need services, plans and a known route: an unanswered
//! call is kept with what could be found.

use std::collections::HashMap;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::IncomingCdr;
use crate::interconnect::{AddressSpec, Direction, TranslationRule, TranslationStep, Translator};

/// One interconnect as mediation needs it.
#[derive(Clone, Debug)]
pub struct InterconnectFacts {
    pub id: i64,
    pub carrier_id: i64,
    pub name: String,
    pub direction: Direction,
    /// The interconnect and its carrier are both active.
    pub active: bool,
    pub tech_prefix: Option<String>,
    pub translation_rules: Vec<TranslationRule>,
    /// The active service of the interconnect's direction that carries a rate plan, if
    /// any: `(service id, rate plan id)`.
    pub service: Option<(i64, i64)>,
}

/// One signalling address of an interconnect.
#[derive(Clone, Debug)]
pub struct AddressFacts {
    pub interconnect_id: i64,
    pub spec: AddressSpec,
    /// SIP port (egress addresses are matched on it).
    pub port: u16,
}

/// Why a record could not be mediated. `code()` is the stable word lists filter on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Rejection {
    #[error("no ingress interconnect has the source address {ip}")]
    UnknownSource { ip: String },
    #[error("the source address {ip} belongs to ingress interconnects, but none takes the tech prefix of `{b_number}`")]
    NoTechPrefix { ip: String, b_number: String },
    #[error("interconnect {name} (or its carrier) is not active")]
    Inactive { name: String },
    #[error("{name} has no active {direction} service with a rate plan")]
    NoService { name: String, direction: String },
    #[error("the {field} `{value}` is not an E.164 number after translation (1–15 digits, not starting with 0)")]
    MalformedNumber { field: String, value: String },
    #[error("the answered call has no route: the egress gateway is unknown")]
    NoRoute,
    #[error("no egress interconnect has the address of route `{route}`")]
    UnknownRoute { route: String },
    #[error("the record names {direction} interconnect {id}, which does not exist")]
    UnknownInterconnect { direction: String, id: i64 },
    /// The record could not be read at all (not JSON, or a field missing or malformed):
    /// never produced by mediation; a switch feed that asks for it stores such records
    /// as they came rather than refusing its whole batch. `message` names the record,
    /// its line and the field.
    #[error("the record cannot be read: {message}")]
    Unreadable { message: String },
}

impl Rejection {
    /// `unknown_source`, `no_tech_prefix`, `inactive`, `no_service`,
    /// `malformed_number`, `no_route`, `unknown_route`, `unknown_interconnect` or
    /// `unreadable`.
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::UnknownSource { .. } => "unknown_source",
            Rejection::NoTechPrefix { .. } => "no_tech_prefix",
            Rejection::Inactive { .. } => "inactive",
            Rejection::NoService { .. } => "no_service",
            Rejection::MalformedNumber { .. } => "malformed_number",
            Rejection::NoRoute => "no_route",
            Rejection::UnknownRoute { .. } => "unknown_route",
            Rejection::UnknownInterconnect { .. } => "unknown_interconnect",
            Rejection::Unreadable { .. } => "unreadable",
        }
    }
}

/// One leg's party: the interconnect, its carrier, and (for billable calls) the service
/// and the rate plan the leg is rated against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    pub interconnect_id: i64,
    pub carrier_id: i64,
    pub service_id: Option<i64>,
    pub rate_plan_id: Option<i64>,
}

/// A mediated record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mediated {
    pub customer: Party,
    /// `None` when the call was not routed (or, unanswered, went to an unknown route).
    pub supplier: Option<Party>,
    /// A-number after translation, E.164 digits when it is one.
    pub a_number: String,
    /// B-number after tech prefix, translation and E.164 normalisation: digits only.
    pub b_number: String,
    /// The tech prefix stripped from B, if any.
    pub tech_prefix: Option<String>,
    /// Translation rules that changed a number.
    pub translation: Vec<TranslationStep>,
}

struct Compiled {
    facts: InterconnectFacts,
    translator: Translator,
}

/// The mediation configuration compiled for the call path: addresses indexed, regexes
/// compiled once. Built from the database per batch (or kept and rebuilt on change).
pub struct MediationTables {
    interconnects: HashMap<i64, Compiled>,
    ingress: IngressIndex,
    /// Egress addresses: `(spec, port, interconnect)`.
    egress: Vec<(AddressSpec, u16, i64)>,
}

/// Ingress interconnects by the addresses calls may come from: single IPs in a hash map,
/// networks in a list. Shared by mediation and the routing API, so a CDR and the call's
/// routing decision find the same customer.
#[derive(Clone, Debug, Default)]
pub struct IngressIndex {
    /// Host addresses by their 128-bit (IPv4-mapped) value (FxHash: read for every call
    /// the routing API decides).
    hosts: rustc_hash::FxHashMap<u128, Vec<i64>>,
    /// Networks: `(first, last, interconnect)`.
    ranges: Vec<(u128, u128, i64)>,
}

impl IngressIndex {
    /// Adds one address of ingress interconnect `interconnect_id` (a host name is
    /// ignored: calls come from IP addresses).
    pub fn add(&mut self, spec: &AddressSpec, interconnect_id: i64) {
        match (spec, spec.ip_range()) {
            (AddressSpec::Ip(ip), _) => {
                let ids = self.hosts.entry(ip_key(*ip)).or_default();
                if !ids.contains(&interconnect_id) {
                    ids.push(interconnect_id);
                    ids.sort_unstable();
                }
            }
            (_, Some((first, last))) => self.ranges.push((first, last, interconnect_id)),
            _ => {}
        }
    }

    /// [`IngressIndex::candidates`] without allocating when no network covers `ip` (the
    /// usual case): the host's own list, borrowed.
    pub fn candidates_cow(&self, ip: IpAddr) -> std::borrow::Cow<'_, [i64]> {
        let key = ip_key(ip);
        if self
            .ranges
            .iter()
            .any(|(first, last, _)| (*first..=*last).contains(&key))
        {
            return std::borrow::Cow::Owned(self.candidates(ip));
        }
        std::borrow::Cow::Borrowed(self.hosts.get(&key).map_or(&[][..], Vec::as_slice))
    }

    /// Ingress interconnects whose addresses cover `ip`, in id order, without repeats.
    pub fn candidates(&self, ip: IpAddr) -> Vec<i64> {
        let key = ip_key(ip);
        let mut ids: Vec<i64> = self.hosts.get(&key).cloned().unwrap_or_default();
        ids.extend(
            self.ranges
                .iter()
                .filter(|(first, last, _)| (*first..=*last).contains(&key))
                .map(|(_, _, id)| *id),
        );
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

/// Among `candidates` (interconnects sharing a source address, in id order), the one
/// whose tech prefix starts the dialled number `dialled` (the longest such prefix wins),
/// else the first without a tech prefix; `None` when neither exists.
pub fn pick_by_tech_prefix<'a, T>(
    candidates: impl IntoIterator<Item = &'a T>,
    tech_prefix: impl Fn(&T) -> Option<&str>,
    dialled: &str,
) -> Option<&'a T> {
    let mut chosen: Option<&'a T> = None;
    for candidate in candidates {
        match (tech_prefix(candidate), chosen.and_then(&tech_prefix)) {
            (Some(tp), best)
                if dialled.starts_with(tp) && best.is_none_or(|b| tp.len() > b.len()) =>
            {
                chosen = Some(candidate)
            }
            (None, None) if chosen.is_none() => chosen = Some(candidate),
            _ => {}
        }
    }
    chosen
}

fn ip_key(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => (0xffff_u128 << 32) | u128::from(u32::from(v4)),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => (0xffff_u128 << 32) | u128::from(u32::from(v4)),
            None => u128::from(v6),
        },
    }
}

/// B-number (or A) in E.164 digits: a leading `+` or `00` removed, then 1–15 digits
/// not starting with 0 (ITU-T E.164 §6: country code first, 15 digits at most).
pub fn e164_digits(number: &str) -> Option<String> {
    e164_range(number).map(|r| number[r].to_owned())
}

/// Where [`e164_digits`] finds the digits in `number`: a byte range of it.
pub fn e164_range(number: &str) -> Option<std::ops::Range<usize>> {
    let t = number.trim_start();
    let mut start = number.len() - t.len();
    let t = t.trim_end();
    let digits = if let Some(rest) = t.strip_prefix('+') {
        start += 1;
        rest
    } else if let Some(rest) = t.strip_prefix("00") {
        start += 2;
        rest
    } else {
        t
    };
    let ok = (1..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    ok.then(|| start..start + digits.len())
}

/// [`e164_digits`] in place: `number` becomes its digits, or stays as it is (`false`).
pub fn to_e164_in_place(number: &mut String) -> bool {
    match e164_range(number) {
        Some(r) => {
            number.truncate(r.end);
            number.replace_range(..r.start, "");
            true
        }
        None => false,
    }
}

/// The host and port of a route: `sip:user@198.51.100.7:5061;transport=udp` →
/// (`198.51.100.7`, 5061); `[2001:db8::1]:5060`; port 5060 when absent.
pub fn route_host_port(route: &str) -> Option<(String, u16)> {
    let r = route.trim();
    let r = r
        .strip_prefix("sips:")
        .or_else(|| r.strip_prefix("sip:"))
        .unwrap_or(r);
    let r = r.rsplit_once('@').map_or(r, |(_, host)| host);
    let r = r.split([';', '?', '>']).next().unwrap_or(r);
    if r.is_empty() {
        return None;
    }
    if let Some(rest) = r.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None => 5060,
        };
        return Some((host.to_owned(), port));
    }
    match r.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => {
            Some((host.to_ascii_lowercase(), port.parse().ok()?))
        }
        _ => Some((r.to_ascii_lowercase(), 5060)),
    }
}

impl MediationTables {
    /// Compiles the configuration.
    ///
    /// Errors: a translation rule's pattern does not compile (rules saved through the
    /// carriers module always do); the message names the interconnect.
    pub fn new(
        interconnects: Vec<InterconnectFacts>,
        addresses: Vec<AddressFacts>,
    ) -> Result<MediationTables, String> {
        let mut compiled = HashMap::with_capacity(interconnects.len());
        for facts in interconnects {
            let translator = Translator::new(&facts.translation_rules)
                .map_err(|e| format!("interconnect {}: translation rule: {e}", facts.name))?;
            compiled.insert(facts.id, Compiled { facts, translator });
        }
        let mut tables = MediationTables {
            interconnects: compiled,
            ingress: IngressIndex::default(),
            egress: Vec::new(),
        };
        for address in addresses {
            let Some(ic) = tables.interconnects.get(&address.interconnect_id) else {
                continue;
            };
            match ic.facts.direction {
                Direction::Ingress => tables.ingress.add(&address.spec, address.interconnect_id),
                Direction::Egress => {
                    tables
                        .egress
                        .push((address.spec, address.port, address.interconnect_id))
                }
            }
        }
        Ok(tables)
    }

    fn egress_for(&self, route: &str) -> Option<i64> {
        let (host, port) = route_host_port(route)?;
        let ip = host.parse::<IpAddr>().ok();
        let covers = |spec: &AddressSpec| match (spec, ip) {
            (AddressSpec::Host(h), _) => h.eq_ignore_ascii_case(&host),
            (spec, Some(ip)) => spec
                .ip_range()
                .is_some_and(|(first, last)| (first..=last).contains(&ip_key(ip))),
            _ => false,
        };
        let all: Vec<_> = self
            .egress
            .iter()
            .filter(|(spec, _, _)| covers(spec))
            .collect();
        all.iter()
            .find(|(_, p, _)| *p == port)
            .or_else(|| all.first())
            .map(|(_, _, id)| *id)
    }

    fn party(&self, ic: &Compiled, billable: bool) -> Result<Party, Rejection> {
        if billable && !ic.facts.active {
            return Err(Rejection::Inactive {
                name: ic.facts.name.clone(),
            });
        }
        let service = ic.facts.service;
        if billable && service.is_none() {
            return Err(Rejection::NoService {
                name: ic.facts.name.clone(),
                direction: match ic.facts.direction {
                    Direction::Ingress => "customer".into(),
                    Direction::Egress => "supplier".into(),
                },
            });
        }
        Ok(Party {
            interconnect_id: ic.facts.id,
            carrier_id: ic.facts.carrier_id,
            service_id: service.map(|s| s.0),
            rate_plan_id: service.map(|s| s.1),
        })
    }

    /// Mediates one record (see the module documentation for the steps).
    ///
    /// Errors: the first step that fails, as a [`Rejection`].
    pub fn mediate(&self, cdr: &IncomingCdr) -> Result<Mediated, Rejection> {
        let billable = cdr.answer_at.is_some();
        let named = |id: i64, direction: Direction| {
            self.interconnects
                .get(&id)
                .filter(|ic| ic.facts.direction == direction)
                .ok_or(Rejection::UnknownInterconnect {
                    direction: match direction {
                        Direction::Ingress => "ingress".into(),
                        Direction::Egress => "egress".into(),
                    },
                    id,
                })
        };
        let source = cdr
            .source_ip
            .map_or_else(|| "(not reported)".to_owned(), |ip| ip.to_string());
        let candidates = match (cdr.customer_interconnect_id, cdr.source_ip) {
            (Some(id), _) => vec![named(id, Direction::Ingress)?.facts.id],
            (None, Some(ip)) => self.ingress.candidates(ip),
            (None, None) => Vec::new(),
        };
        if candidates.is_empty() {
            return Err(Rejection::UnknownSource { ip: source });
        }
        let dialled = cdr.b_number.trim();
        let chosen = pick_by_tech_prefix(
            candidates
                .iter()
                .filter_map(|id| self.interconnects.get(id)),
            |ic| ic.facts.tech_prefix.as_deref(),
            dialled,
        );
        let Some(ingress) = chosen else {
            return Err(Rejection::NoTechPrefix {
                ip: source,
                b_number: dialled.to_owned(),
            });
        };
        let tech_prefix = ingress.facts.tech_prefix.clone();
        let b_after_prefix = tech_prefix
            .as_deref()
            .and_then(|tp| dialled.strip_prefix(tp))
            .unwrap_or(dialled);
        let translation = ingress
            .translator
            .apply(cdr.a_number.trim(), b_after_prefix);
        let b_number = e164_digits(&translation.b).ok_or_else(|| Rejection::MalformedNumber {
            field: "B-number".into(),
            value: translation.b.clone(),
        })?;
        let a_number = e164_digits(&translation.a).unwrap_or_else(|| translation.a.clone());
        let customer = self.party(ingress, billable)?;

        let supplier = match cdr.route.as_deref() {
            _ if cdr.supplier_interconnect_id.is_some() => {
                let id = cdr.supplier_interconnect_id.unwrap_or_default();
                Some(self.party(named(id, Direction::Egress)?, billable)?)
            }
            None if billable => return Err(Rejection::NoRoute),
            None => None,
            Some(route) => match self
                .egress_for(route)
                .and_then(|id| self.interconnects.get(&id))
            {
                Some(egress) => Some(self.party(egress, billable)?),
                None if billable => {
                    return Err(Rejection::UnknownRoute {
                        route: route.to_owned(),
                    })
                }
                None => None,
            },
        };
        Ok(Mediated {
            customer,
            supplier,
            a_number,
            b_number,
            tech_prefix,
            translation: translation.steps,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cdr::{KamailioCdr, Scalar};
    use crate::interconnect::{NumberTarget, TranslationAction};

    fn facts(id: i64, direction: Direction, tech_prefix: Option<&str>) -> InterconnectFacts {
        InterconnectFacts {
            id,
            carrier_id: id * 10,
            name: format!("IC{id}"),
            direction,
            active: true,
            tech_prefix: tech_prefix.map(str::to_owned),
            translation_rules: Vec::new(),
            service: Some((id * 100, id * 1000)),
        }
    }

    fn address(interconnect_id: i64, text: &str, port: u16) -> AddressFacts {
        AddressFacts {
            interconnect_id,
            spec: AddressSpec::parse(text).unwrap(),
            port,
        }
    }

    fn call(src: &str, b: &str, route: &str, code: &str) -> IncomingCdr {
        let t = |s: &str| Some(Scalar::Text(s.into()));
        KamailioCdr {
            callid: t("c1"),
            caller: t("+44 20 7000 0000"),
            callee: t(b),
            src_ip: t(src),
            route: t(route),
            sip_code: t(code),
            start_time: t("1795253545.2"),
            end_time: t("1795253548.2"),
            ..KamailioCdr::default()
        }
        .read()
        .unwrap()
    }

    fn tables() -> MediationTables {
        let mut customer = facts(1, Direction::Ingress, None);
        customer.translation_rules = vec![TranslationRule {
            target: NumberTarget::B,
            action: TranslationAction::Replace {
                pattern: "^0([1-9])".into(),
                replacement: "44$1".into(),
            },
        }];
        MediationTables::new(
            vec![
                customer,
                facts(2, Direction::Ingress, Some("7788#")),
                facts(3, Direction::Egress, None),
                facts(4, Direction::Egress, None),
            ],
            vec![
                address(1, "203.0.113.10", 5060),
                address(2, "203.0.113.0/24", 5060),
                address(3, "198.51.100.7", 5060),
                address(4, "198.51.100.7", 5080),
            ],
        )
        .unwrap()
    }

    #[test]
    fn finds_both_parties_and_normalises_numbers() {
        let t = tables();
        let m = t
            .mediate(&call(
                "203.0.113.10",
                "02079460000",
                "sip:198.51.100.7:5080",
                "200",
            ))
            .unwrap();
        assert_eq!(m.customer.interconnect_id, 1);
        assert_eq!(m.customer.rate_plan_id, Some(1000));
        assert_eq!(m.supplier.unwrap().interconnect_id, 4);
        assert_eq!(m.b_number, "442079460000");
        assert_eq!(m.a_number, "+44 20 7000 0000", "not digits: kept");
        assert_eq!(m.translation.len(), 1);

        // The tech prefix picks interconnect 2 on the shared address and is stripped.
        let m = t
            .mediate(&call(
                "203.0.113.10",
                "7788#+919812345678",
                "sip:198.51.100.7",
                "200",
            ))
            .unwrap();
        assert_eq!(
            (m.customer.interconnect_id, m.b_number.as_str()),
            (2, "919812345678")
        );
        assert_eq!(
            m.supplier.unwrap().interconnect_id,
            3,
            "port 5060 by default"
        );
        assert_eq!(m.tech_prefix.as_deref(), Some("7788#"));
    }

    #[test]
    fn named_interconnects_skip_the_address_lookups() {
        let t = tables();
        let own = crate::cdr::OwnCdr {
            call_id: Some(Scalar::Text("f1".into())),
            customer_interconnect_id: Some(Scalar::Integer(1)),
            supplier_interconnect_id: Some(Scalar::Text("4".into())),
            b_number: Some(Scalar::Text("02079460000".into())),
            setup_time: Some(Scalar::Text("2026-11-21T10:00:00Z".into())),
            answer_time: Some(Scalar::Text("2026-11-21T10:00:02Z".into())),
            end_time: Some(Scalar::Text("2026-11-21T10:01:02Z".into())),
            sip_code: Some(Scalar::Integer(200)),
            ..crate::cdr::OwnCdr::default()
        };
        let cdr = own.read().unwrap();
        assert_eq!(
            cdr.source_ip, None,
            "no address needed when the customer is named"
        );
        let m = t.mediate(&cdr).unwrap();
        assert_eq!(
            (
                m.customer.interconnect_id,
                m.supplier.unwrap().interconnect_id
            ),
            (1, 4)
        );
        assert_eq!(
            m.b_number, "442079460000",
            "the customer's rules still apply"
        );

        let wrong_way = IncomingCdr {
            customer_interconnect_id: Some(3),
            ..cdr.clone()
        };
        assert_eq!(
            t.mediate(&wrong_way).unwrap_err(),
            Rejection::UnknownInterconnect {
                direction: "ingress".into(),
                id: 3
            }
        );
        let nobody = IncomingCdr {
            customer_interconnect_id: None,
            ..cdr
        };
        assert_eq!(t.mediate(&nobody).unwrap_err().code(), "unknown_source");
        let no_ip = crate::cdr::OwnCdr {
            customer_interconnect_id: None,
            ..own
        };
        assert_eq!(no_ip.read().unwrap_err().field, "source_ip");
    }

    #[test]
    fn every_failure_has_its_reason() {
        let t = tables();
        let reject =
            |src, b, route, code| t.mediate(&call(src, b, route, code)).unwrap_err().code();
        assert_eq!(reject("192.0.2.1", "4420", "", "200"), "unknown_source");
        assert_eq!(reject("203.0.113.99", "4420", "", "200"), "no_tech_prefix");
        assert_eq!(
            reject("203.0.113.10", "0044abc", "sip:198.51.100.7", "200"),
            "malformed_number"
        );
        assert_eq!(reject("203.0.113.10", "4420", "", "200"), "no_route");
        assert_eq!(
            reject("203.0.113.10", "4420", "sip:192.0.2.99", "200"),
            "unknown_route"
        );
        // An unanswered call to an unknown route is kept without a supplier.
        let m = t
            .mediate(&call("203.0.113.10", "4420", "sip:192.0.2.99", "503"))
            .unwrap();
        assert_eq!(m.supplier, None);
    }

    #[test]
    fn inactive_or_unserviced_interconnects_refuse_billable_calls_only() {
        let mut ingress = facts(1, Direction::Ingress, None);
        ingress.service = None;
        let mut egress = facts(3, Direction::Egress, None);
        egress.active = false;
        let t = MediationTables::new(
            vec![ingress, egress],
            vec![
                address(1, "203.0.113.10", 5060),
                address(3, "198.51.100.7", 5060),
            ],
        )
        .unwrap();
        let err = t
            .mediate(&call("203.0.113.10", "4420", "sip:198.51.100.7", "200"))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "IC1 has no active customer service with a rate plan"
        );
        let m = t
            .mediate(&call("203.0.113.10", "4420", "sip:198.51.100.7", "486"))
            .unwrap();
        assert_eq!(m.customer.rate_plan_id, None);
    }

    #[test]
    fn routes_and_numbers_parse_as_switches_write_them() {
        assert_eq!(
            route_host_port("sip:u@198.51.100.7:5061;transport=tcp"),
            Some(("198.51.100.7".into(), 5061))
        );
        assert_eq!(
            route_host_port("[2001:db8::1]"),
            Some(("2001:db8::1".into(), 5060))
        );
        assert_eq!(
            route_host_port("sip:GW.Example.net"),
            Some(("gw.example.net".into(), 5060))
        );
        assert_eq!(e164_digits("0044123"), Some("44123".into()));
        assert_eq!(e164_digits("0123"), None);
        assert_eq!(e164_digits("1234567890123456"), None);
    }
}
