use super::*;
use crate::interconnect::{NumberTarget, TranslationAction};
use crate::money::{parse_micros, Currency};
use crate::rating::{CompiledDeck, RateDeckRow, RatingPolicy};
use chrono::TimeZone;

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()
}

fn deck(plan_id: i64, rows: &[(&str, &str, &str)]) -> Arc<PlanDeck> {
    let usd = Currency::parse("USD").unwrap();
    let rows = rows
        .iter()
        .enumerate()
        .map(|(i, (prefix, rate, inc))| RateDeckRow {
            line: i as u32 + 1,
            prefix: (*prefix).into(),
            destination: format!("Dest {prefix}"),
            rate_micros: parse_micros(rate).unwrap(),
            connection_fee_micros: 0,
            increment: BillingIncrement::parse(inc).unwrap(),
            minimum_s: 0,
            grace_s: 0,
            effective_from: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            effective_to: None,
            currency: usd,
        })
        .collect();
    Arc::new(PlanDeck {
        plan_id,
        live_revision_id: Some(1),
        currency: usd,
        policy: RatingPolicy {
            currency: Some(usd),
            ..Default::default()
        },
        deck: CompiledDeck::compile(format!("{plan_id}:1"), rows).unwrap(),
    })
}

fn ic(id: i64, carrier: i64, direction: Direction, service: (i64, i64)) -> RouteInterconnect {
    RouteInterconnect {
        id,
        carrier_id: carrier,
        name: format!("IC{id}"),
        direction,
        active: true,
        tech_prefix: None,
        number_rules: NumberRules::default(),
        translation_rules: Vec::new(),
        max_call_secs: 7200,
        max_cps: 0,
        max_channels: 0,
        service: Some(service),
        routing_plan_id: (direction == Direction::Ingress).then_some(500),
        target: (direction == Direction::Egress).then(|| {
            (
                AddressSpec::parse(&format!("198.51.100.{id}")).unwrap(),
                5060,
                Transport::Udp,
            )
        }),
    }
}

fn entry(prefix: &str, service: i64, priority: u32, weight: u32) -> RoutingEntry {
    RoutingEntry {
        prefix: prefix.into(),
        supplier_service_id: service,
        priority,
        weight,
    }
}

/// Customer 1 (ingress 10 at 203.0.113.10; ingress 11 there too with tech prefix 77#)
/// sells India 91 at 0.02, India mobile 9198 at 0.03, UK 44 at 0.01. Suppliers: 20
/// (service 201: 91 at 0.012, 9198 at 0.015), 30 (202: 91 at 0.010, 44 at 0.012), 40
/// (203: 91 at 0.011, 9198 at 0.035). Plan 500, LCR: any destination → 201, 202, 203;
/// 9198 → 201, 203.
fn facts() -> RoutingFacts {
    let mut tp = ic(11, 1, Direction::Ingress, (101, 100));
    tp.tech_prefix = Some("77#".into());
    tp.translation_rules = vec![TranslationRule {
        target: NumberTarget::B,
        action: TranslationAction::Replace {
            pattern: "^0([1-9])".into(),
            replacement: "91$1".into(),
        },
    }];
    let mut egress_40 = ic(40, 4, Direction::Egress, (203, 303));
    egress_40.tech_prefix = Some("0101#".into());
    egress_40.max_call_secs = 3600;
    RoutingFacts {
        interconnects: vec![
            ic(10, 1, Direction::Ingress, (101, 100)),
            tp,
            ic(20, 2, Direction::Egress, (201, 301)),
            ic(30, 3, Direction::Egress, (202, 302)),
            egress_40,
        ],
        ingress_addresses: vec![
            (AddressSpec::parse("203.0.113.10").unwrap(), 10),
            (AddressSpec::parse("203.0.113.0/24").unwrap(), 11),
        ],
        decks: [
            deck(
                100,
                &[
                    ("91", "0.02", "60/60"),
                    ("9198", "0.03", "60/60"),
                    ("44", "0.01", "60/60"),
                ],
            ),
            deck(301, &[("91", "0.012", "60/60"), ("9198", "0.015", "60/60")]),
            deck(302, &[("91", "0.010", "60/60"), ("44", "0.012", "60/60")]),
            deck(303, &[("91", "0.011", "60/60"), ("9198", "0.035", "60/60")]),
        ]
        .into_iter()
        .map(|d| (d.plan_id, d))
        .collect(),
        plans: vec![PlanFacts {
            id: 500,
            plan: validate_routing_plan(&RoutingPlanForm {
                name: "Standard".into(),
                strategy: "lcr".into(),
                ..Default::default()
            })
            .unwrap(),
            entries: vec![
                entry("", 201, 1, 100),
                entry("", 202, 2, 100),
                entry("", 203, 3, 100),
                entry("9198", 201, 1, 100),
                entry("9198", 203, 2, 100),
            ],
        }],
        carrier_names: [(1, "Orbit"), (2, "Airtel"), (3, "Tata"), (4, "Vodafone")]
            .into_iter()
            .map(|(id, n)| (id, n.to_owned()))
            .collect(),
        carrier_caps: HashMap::from([(1, (5, 0))]),
    }
}

fn live(available: &str) -> LiveState {
    LiveState {
        credit: [(
            1,
            Credit {
                available_micros: parse_micros(available).unwrap(),
                blocked: false,
            },
        )]
        .into(),
        quality: HashMap::new(),
    }
}

fn query<'a>(src: &str, a: &'a str, b: &'a str) -> RouteQuery<'a> {
    RouteQuery {
        source_ip: src.parse().unwrap(),
        a_number: a,
        b_number: b,
        call_id: "call-1",
        at: at(),
        ingress_interconnect_id: None,
        explain: true,
    }
}

fn order(d: &Decision) -> Vec<i64> {
    d.routes.iter().map(|r| r.supplier_interconnect).collect()
}

#[test]
fn least_cost_order_with_prices_and_margins() {
    let t = RoutingTable::compile(facts()).unwrap();
    let d = t.decide(
        &query("203.0.113.10", "441234", "+912212345678"),
        &live("100"),
    );
    assert_eq!(d.refusal, None);
    assert_eq!(order(&d), vec![30, 40, 20]);
    assert_eq!(d.customer_interconnect, Some(10));
    assert_eq!(d.b_number, "912212345678");
    let first = &d.routes[0];
    assert_eq!(first.uri, "sip:198.51.100.30:5060");
    assert_eq!(first.b_number, "912212345678");
    assert_eq!(first.buy.minute_cost_micros, 10_000);
    assert_eq!(first.margin_micros, 10_000);
    // Egress 40 puts its tech prefix before B and has a shorter longest call.
    assert_eq!(d.routes[1].b_number, "0101#912212345678");
    assert_eq!(d.routes[1].max_duration_s, 3600);
    assert_eq!(d.routes[0].max_duration_s, 7200);
    assert_eq!(d.sell.as_ref().unwrap().prefix, "91");
    assert_eq!(
        d.steps.iter().map(|s| s.step.as_str()).collect::<Vec<_>>(),
        [
            "ingress",
            "account",
            "validation",
            "translation",
            "sell_rate",
            "credit",
            "routes"
        ]
    );
}

#[test]
fn the_longest_prefix_entries_apply_and_the_margin_guard_drops_a_loss() {
    let t = RoutingTable::compile(facts()).unwrap();
    let d = t.decide(&query("203.0.113.10", "", "919812345678"), &live("100"));
    assert_eq!(order(&d), vec![20], "9198 entries only: 201 and 203");
    assert_eq!(d.excluded.len(), 1);
    assert_eq!(d.excluded[0].supplier_interconnect, 40);
    assert!(
        d.excluded[0].reason.contains("margin guard") && d.excluded[0].reason.contains("0.035"),
        "{}",
        d.excluded[0].reason
    );

    // UK: supplier 30 would lose money, the others have no rate: refused, saying so.
    let d = t.decide(&query("203.0.113.10", "", "447700900123"), &live("100"));
    let refusal = d.refusal.clone().unwrap();
    assert_eq!(refusal.code, 503);
    assert!(
        refusal.reason.contains("Tata (IC30): margin guard"),
        "{}",
        refusal.reason
    );
    assert!(
        refusal.reason.contains("Airtel (IC20): no buy rate"),
        "{}",
        refusal.reason
    );
    assert!(d.routes.is_empty());
}

#[test]
fn a_minimum_margin_drops_thin_routes() {
    let mut f = facts();
    f.plans[0].plan.min_margin_bp = 4500; // 45 %: 0.02 sell leaves 0.009 at least
    let t = RoutingTable::compile(f).unwrap();
    let d = t.decide(&query("203.0.113.10", "", "912212345678"), &live("100"));
    assert_eq!(order(&d), vec![30, 40], "0.012 leaves 40 %");
    assert!(d.excluded[0].reason.contains("minimum of 45 %"));
}

#[test]
fn refusals_carry_the_sip_code_of_their_step() {
    let t = RoutingTable::compile(facts()).unwrap();
    let code = |d: Decision| d.refusal.map(|r| (r.code, r.reason));
    let (c, reason) =
        code(t.decide(&query("192.0.2.1", "", "912212345678"), &live("100"))).unwrap();
    assert_eq!(c, 403);
    assert!(reason.contains("unknown source"));
    let (c, reason) =
        code(t.decide(&query("203.0.113.10", "", "33123456789"), &live("100"))).unwrap();
    assert_eq!(c, 404);
    assert!(reason.starts_with("no rate"), "{reason}");
    let (c, _) = code(t.decide(&query("203.0.113.10", "", "0123"), &live("100"))).unwrap();
    assert_eq!(c, 484);

    let mut blocked = live("100");
    blocked.credit.get_mut(&1).unwrap().blocked = true;
    let (c, reason) = code(t.decide(&query("203.0.113.10", "", "912212345678"), &blocked)).unwrap();
    assert_eq!(c, 402);
    assert!(reason.contains("Orbit is blocked"));

    let (c, reason) =
        code(t.decide(&query("203.0.113.10", "", "912212345678"), &live("0.019"))).unwrap();
    assert_eq!(c, 402);
    assert!(reason.contains("insufficient credit"), "{reason}");
    assert_eq!(
        code(t.decide(
            &query("203.0.113.10", "", "912212345678"),
            &LiveState::default()
        ))
        .unwrap()
        .0,
        402,
        "a carrier without a balance has no credit"
    );

    let mut f = facts();
    f.interconnects[0].number_rules = NumberRules {
        blocked_prefixes: vec!["9122".into()],
        length_rules: vec![crate::interconnect::LengthRule {
            country_code: "44".into(),
            min: 12,
            max: 12,
        }],
        ..Default::default()
    };
    f.interconnects[2].active = false;
    let t = RoutingTable::compile(f).unwrap();
    let (c, reason) =
        code(t.decide(&query("203.0.113.10", "", "912212345678"), &live("100"))).unwrap();
    assert_eq!(c, 403);
    assert!(reason.contains("blocked prefix 9122"), "{reason}");
    let (c, _) = code(t.decide(&query("203.0.113.10", "", "44770090012"), &live("100"))).unwrap();
    assert_eq!(c, 484);
    let d = t.decide(&query("203.0.113.10", "", "913312345678"), &live("100"));
    assert_eq!(order(&d), vec![30, 40]);
    assert_eq!(
        d.excluded[0].reason,
        "the interconnect or its carrier is not active"
    );
}

#[test]
fn credit_caps_the_call_in_the_rate_increments() {
    let t = RoutingTable::compile(facts()).unwrap();
    // 0.05 at 0.02/min on 60/60: two whole minutes.
    let d = t.decide(&query("203.0.113.10", "", "912212345678"), &live("0.05"));
    assert_eq!(d.max_duration_s, 120);
    assert!(d.routes.iter().all(|r| r.max_duration_s == 120));

    assert_eq!(
        affordable_seconds(
            50_000,
            20_000,
            0,
            BillingIncrement::parse("60/60").unwrap(),
            0
        ),
        Some(120)
    );
    // 30/6 at 0.06/min with a 0.01 fee: 0.1 left 0.09 → 90 s.
    assert_eq!(
        affordable_seconds(
            100_000,
            60_000,
            10_000,
            BillingIncrement::parse("30/6").unwrap(),
            0
        ),
        Some(90)
    );
    assert_eq!(
        affordable_seconds(
            100_000,
            60_000,
            10_000,
            BillingIncrement::parse("30/6").unwrap(),
            100
        ),
        None,
        "the minimum costs more than the credit"
    );
    // 0.0295 at 0.06/min, 30/6: 29.5 s billable → not even the 30 s first block.
    assert_eq!(
        affordable_seconds(
            29_500,
            60_000,
            0,
            BillingIncrement::parse("30/6").unwrap(),
            0
        ),
        None
    );
    assert_eq!(
        affordable_seconds(
            35_900,
            60_000,
            0,
            BillingIncrement::parse("30/6").unwrap(),
            0
        ),
        Some(30),
        "35.9 s billable: 30 + 0 blocks of 6"
    );
    assert_eq!(
        affordable_seconds(1, 0, 0, BillingIncrement::PER_SECOND, 0),
        Some(u32::MAX)
    );
    assert_eq!(
        affordable_seconds(0, 0, 0, BillingIncrement::PER_SECOND, 0),
        None
    );
}

#[test]
fn calls_in_progress_share_the_credit() {
    let t = RoutingTable::compile(facts()).unwrap();
    // 0.05 at 0.02/min on 60/60: two minutes, which cost 0.04.
    let mut d = t.decide(&query("203.0.113.10", "", "912212345678"), &live("0.05"));
    assert_eq!(d.credit_to_reserve(), 40_000);
    // Another call holds 0.02: one minute is left.
    assert!(d.fit_credit(50_000, (20_000, 1)));
    assert_eq!(d.max_duration_s, 60);
    assert!(d.routes.iter().all(|r| r.max_duration_s == 60));
    assert_eq!(d.credit_to_reserve(), 20_000);
    let step = d.steps.iter().find(|s| s.step == "credit").unwrap();
    assert_eq!(
        step.detail,
        "0.0500 available, 0.0200 of it held by 1 call in progress: calls up to 60 s"
    );
    // Two calls hold 0.04: 0.01 pays for no whole minute.
    assert!(!d.fit_credit(50_000, (40_000, 2)));
    assert!(d.routes.is_empty());
    let refusal = d.refusal.clone().unwrap();
    assert_eq!(refusal.code, 402);
    assert_eq!(
        refusal.reason,
        "insufficient credit: 0.0500 available, 0.0400 of it held by 2 calls in progress; \
         what is left does not pay for the first 60 s"
    );
    assert_eq!(d.steps.last().unwrap().step, "credit", "no step after it");
    assert_eq!(d.credit_to_reserve(), 0, "a refusal holds nothing");

    // The ceiling of a call's price: fee + the billed seconds' rate, rounded up.
    let quote = |rate: i64, fee: i64, inc: &str, minimum_s: u32| Quote {
        plan_id: 1,
        prefix: "91".into(),
        destination: "India".into(),
        rate_micros: rate,
        connection_fee_micros: fee,
        increment: BillingIncrement::parse(inc).unwrap(),
        minimum_s,
        minute_cost_micros: 0,
        currency: "USD".into(),
    };
    assert_eq!(
        call_price_ceiling(&quote(20_000, 0, "60/60", 0), 61),
        40_000
    );
    assert_eq!(
        call_price_ceiling(&quote(10_001, 5_000, "1/1", 0), 7),
        5_000 + 1_167,
        "70 007 / 60 rounds up to 1 167"
    );
    assert_eq!(
        call_price_ceiling(&quote(60_000, 0, "30/6", 60), 31),
        60_000
    );
}

#[test]
fn the_tech_prefix_picks_the_interconnect_and_its_translation_runs() {
    let t = RoutingTable::compile(facts()).unwrap();
    let d = t.decide(&query("203.0.113.99", "", "77#02212345678"), &live("100"));
    assert_eq!(d.customer_interconnect, Some(11));
    assert_eq!(d.b_number, "912212345678");
    assert_eq!(order(&d), vec![30, 40, 20]);
    let d = t.decide(&query("203.0.113.99", "", "02212345678"), &live("100"));
    assert_eq!(
        d.refusal.unwrap().code,
        403,
        "no tech prefix: none of the network's"
    );
}

#[test]
fn priority_weighted_and_quality_strategies() {
    let mut f = facts();
    f.plans[0].plan.strategy = RouteStrategy::Priority;
    let t = RoutingTable::compile(f.clone()).unwrap();
    let d = t.decide(&query("203.0.113.10", "", "912212345678"), &live("100"));
    assert_eq!(order(&d), vec![20, 30, 40]);

    f.plans[0].plan.strategy = RouteStrategy::Quality;
    let t = RoutingTable::compile(f.clone()).unwrap();
    let mut state = live("100");
    state.quality.insert(
        40,
        LinkQuality {
            attempts: 100,
            answered: 60,
            acd_s: 90,
        },
    );
    state.quality.insert(
        20,
        LinkQuality {
            attempts: 100,
            answered: 40,
            acd_s: 200,
        },
    );
    let d = t.decide(&query("203.0.113.10", "", "912212345678"), &state);
    assert_eq!(order(&d), vec![40, 20, 30], "by ASR; no calls last");

    // Weighted 1:0-ish: supplier 202 gets ~90 % of first places over many calls.
    f.plans[0].plan.strategy = RouteStrategy::Weighted;
    f.plans[0].entries = vec![entry("", 201, 1, 10), entry("", 202, 1, 90)];
    let t = RoutingTable::compile(f).unwrap();
    let mut first_30 = 0;
    for i in 0..2000 {
        let id = format!("call-{i}");
        let mut q = query("203.0.113.10", "", "912212345678");
        q.call_id = &id;
        let d = t.decide(&q, &live("100"));
        assert_eq!(d.routes.len(), 2);
        if d.routes[0].supplier_interconnect == 30 {
            first_30 += 1;
        }
        assert_eq!(
            order(&t.decide(&q, &live("100"))),
            order(&d),
            "same call, same draw"
        );
    }
    assert!((1700..=1900).contains(&first_30), "{first_30} of 2000");
}

#[test]
fn max_routes_cuts_and_says_so() {
    let mut f = facts();
    f.plans[0].plan.max_routes = 2;
    let t = RoutingTable::compile(f).unwrap();
    let d = t.decide(&query("203.0.113.10", "", "912212345678"), &live("100"));
    assert_eq!(order(&d), vec![30, 40]);
    assert_eq!(d.excluded[0].supplier_interconnect, 20);
    assert_eq!(d.excluded[0].reason, "the plan offers at most 2 routes");
}

#[test]
fn the_customer_s_own_carrier_is_never_a_route() {
    let mut f = facts();
    f.interconnects[2].carrier_id = 1;
    let t = RoutingTable::compile(f).unwrap();
    let d = t.decide(&query("203.0.113.10", "", "912212345678"), &live("100"));
    assert_eq!(order(&d), vec![30, 40]);
    assert!(d.excluded[0].reason.contains("loop"));
}

#[test]
fn carrier_limits_and_names_are_held_for_the_capacity_step() {
    let t = RoutingTable::compile(facts()).unwrap();
    assert_eq!(t.carrier_caps(1), (5, 0));
    assert_eq!(t.carrier_caps(2), (0, 0), "a carrier without limits");
    assert_eq!(t.carrier_name(2), Some("Airtel"));
    assert_eq!(t.carrier_name(99), None);
}

/// Every decision of `merged` equals the same table's without its merged indexes, for
/// numbers around every code of `facts()`, before and at the rates' start, explained or
/// not. Returns how many were compared.
fn decides_as_unmerged(merged: &RoutingTable, apart: &RoutingTable) -> usize {
    let before_the_rates = Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0).unwrap();
    let mut compared = 0;
    for head in [
        "91", "9198", "91981", "919", "9", "44", "4477", "33", "1", "",
    ] {
        for tail in ["", "2", "12345678", "98765432101"] {
            let b = format!("{head}{tail}");
            for when in [at(), before_the_rates] {
                for explain in [true, false] {
                    let mut q = query("203.0.113.10", "441234", &b);
                    q.at = when;
                    q.explain = explain;
                    assert_eq!(
                        merged.decide(&q, &live("100")),
                        apart.decide(&q, &live("100")),
                        "B {b} at {when}"
                    );
                    compared += 1;
                }
            }
        }
    }
    compared
}

#[test]
fn the_merged_index_decides_as_the_decks_looked_up_one_by_one() {
    let merged = RoutingTable::compile(facts()).unwrap();
    // The plan, the customer's deck and three suppliers' decks.
    assert_eq!(merged.merged_tables(500), Some(5));
    let apart = RoutingTable::compile(facts()).unwrap().unmerged();
    assert_eq!(apart.merged_tables(500), None);
    assert_eq!(decides_as_unmerged(&merged, &apart), 160);

    // Seven customers with a deck each use the plan: too many to merge with the
    // suppliers' decks, so the plan is merged with those alone and each customer's deck
    // is looked up beside it.
    let mut f = facts();
    for k in 0..6_i64 {
        let mut other = ic(12 + k, 1, Direction::Ingress, (110 + k, 110 + k));
        other.active = false;
        f.interconnects.push(other);
        f.decks
            .insert(110 + k, deck(110 + k, &[("91", "0.05", "60/60")]));
    }
    let merged = RoutingTable::compile(f.clone()).unwrap();
    assert_eq!(merged.merged_tables(500), Some(4));
    let apart = RoutingTable::compile(f).unwrap().unmerged();
    assert_eq!(decides_as_unmerged(&merged, &apart), 160);
}

#[test]
fn a_plan_reaching_more_decks_than_a_merged_index_holds_still_routes() {
    // Nine suppliers, each with its own deck: more than one merged row holds, and more
    // than the decks probed together; the cheapest still wins.
    let mut f = facts();
    for i in 0..9_i64 {
        let (id, service, plan) = (60 + i, 600 + i, 700 + i);
        f.interconnects
            .push(ic(id, 60 + i, Direction::Egress, (service, plan)));
        let rate = format!("0.00{}", i + 1);
        f.decks
            .insert(plan, deck(plan, &[("9122", rate.as_str(), "60/60")]));
        f.plans[0].entries.push(entry("9122", service, 1, 100));
    }
    let t = RoutingTable::compile(f).unwrap();
    assert_eq!(t.merged_tables(500), None);
    let d = t.decide(&query("203.0.113.10", "", "912212345678"), &live("100"));
    assert_eq!(d.refusal, None);
    assert_eq!(order(&d)[..3], [60, 61, 62]);
    assert_eq!(d.routes[0].buy.prefix, "9122");
    assert_eq!(d.routes[0].buy.rate_micros, 1_000);
    // Elsewhere the plan's default entries still apply.
    let d = t.decide(&query("203.0.113.10", "", "919012345678"), &live("100"));
    assert_eq!(order(&d), vec![30, 40, 20]);
}
