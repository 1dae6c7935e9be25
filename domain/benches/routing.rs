//! Routing decision benchmarks: a customer plan and three supplier decks of 1 000 000
//! dial codes each, and a routing plan of 1 000 000 rules (333 334 prefixes × 3
//! suppliers). Run: `cargo bench -p domain --bench routing`. Results: BENCHMARKS.md.
//!
//! Besides criterion's means, prints the latency percentiles of 200 000 single
//! decisions (each timed alone), the same while another thread rebuilds and swaps the
//! table in a loop (a lookup never waits for a rebuild), the rebuild time, and memory.
//!
//! `BENCH_PREFIXES=N` sets the codes per deck; `BENCH_DISTINCT_NUMBERS=N` repeats the
//! same N numbers, so that everything is in the cache and the figures are the decision's
//! CPU cost alone (against the uniform run: what the memory costs). The allocator is the
//! didtron binary's (mimalloc).

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use domain::interconnect::{AddressSpec, Direction, NumberRules, Transport};
use domain::money::Currency;
use domain::rating::{synthetic, CompiledDeck, PlanDeck, RatingPolicy};
use domain::routing::{
    validate_routing_plan, Credit, LiveState, PlanFacts, RouteInterconnect, RouteQuery,
    RoutingEntry, RoutingFacts, RoutingPlanForm, RoutingTable,
};

/// The didtron binary's allocator (server/src/main.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Dial codes per deck: `BENCH_PREFIXES`, default 1 000 000.
fn prefix_count() -> usize {
    std::env::var("BENCH_PREFIXES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

fn plan_deck(plan_id: i64, prefixes: &[String], seed: u64, scale: i64) -> Arc<PlanDeck> {
    let mut rows = synthetic::deck_rows(prefixes, seed);
    for r in &mut rows {
        r.rate_micros *= scale;
    }
    let usd = Currency::parse("USD").unwrap();
    Arc::new(PlanDeck {
        plan_id,
        live_revision_id: Some(1),
        currency: usd,
        policy: RatingPolicy {
            currency: Some(usd),
            ..Default::default()
        },
        deck: CompiledDeck::compile(format!("{plan_id}"), rows).expect("valid deck"),
    })
}

fn interconnect(id: i64, direction: Direction, service: (i64, i64)) -> RouteInterconnect {
    RouteInterconnect {
        id,
        carrier_id: id,
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
        routing_plan_id: Some(1),
        target: (direction == Direction::Egress).then(|| {
            (
                AddressSpec::parse(&format!("198.51.100.{id}")).unwrap(),
                5060,
                Transport::Udp,
            )
        }),
    }
}

fn facts(prefixes: &[String], decks: &HashMap<i64, Arc<PlanDeck>>) -> RoutingFacts {
    let mut entries = Vec::with_capacity(prefixes.len());
    for p in prefixes.iter().step_by(3) {
        for service in [201, 202, 203] {
            entries.push(RoutingEntry {
                prefix: p.clone(),
                supplier_service_id: service,
                priority: 1,
                weight: 100,
            });
        }
    }
    for service in [201, 202, 203] {
        entries.push(RoutingEntry {
            prefix: String::new(),
            supplier_service_id: service,
            priority: 1,
            weight: 100,
        });
    }
    RoutingFacts {
        interconnects: vec![
            interconnect(1, Direction::Ingress, (101, 100)),
            interconnect(20, Direction::Egress, (201, 301)),
            interconnect(30, Direction::Egress, (202, 302)),
            interconnect(40, Direction::Egress, (203, 303)),
        ],
        ingress_addresses: vec![(AddressSpec::parse("203.0.113.10").unwrap(), 1)],
        decks: decks.clone(),
        plans: vec![PlanFacts {
            id: 1,
            plan: validate_routing_plan(&RoutingPlanForm {
                name: "bench".into(),
                strategy: "lcr".into(),
                ..Default::default()
            })
            .unwrap(),
            entries,
        }],
        carrier_names: HashMap::new(),
        carrier_caps: HashMap::new(),
    }
}

fn percentiles(mut samples: Vec<Duration>) -> String {
    // A pass can have no refused call (`BENCH_DISTINCT_NUMBERS` small, or a deck with
    // every supplier under the sell price).
    if samples.is_empty() {
        return "no calls".into();
    }
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    format!(
        "p50 {:.2?}, p99 {:.2?}, p99.9 {:.2?}, max {:.2?}",
        at(0.50),
        at(0.99),
        at(0.999),
        samples[samples.len() - 1]
    )
}

fn benches(c: &mut Criterion) {
    let count = prefix_count();
    let prefixes = synthetic::prefixes(count, 42);
    let mut numbers = synthetic::numbers(&prefixes, 200_000, 7);
    // `BENCH_DISTINCT_NUMBERS=N`: the same N numbers again and again (all in the cache:
    // the decision's CPU cost alone).
    if let Some(n) = std::env::var("BENCH_DISTINCT_NUMBERS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        numbers = numbers[..n].iter().cycle().take(200_000).cloned().collect();
    }
    let skewed = synthetic::skewed_numbers(&prefixes, 200_000, 7);
    let started = Instant::now();
    let decks: HashMap<i64, Arc<PlanDeck>> = [
        plan_deck(100, &prefixes, 42, 3),
        plan_deck(301, &prefixes, 1, 1),
        plan_deck(302, &prefixes, 2, 1),
        plan_deck(303, &prefixes, 3, 1),
    ]
    .into_iter()
    .map(|d| (d.plan_id, d))
    .collect();
    eprintln!(
        "4 decks of {count} codes compiled in {:.2?}",
        started.elapsed()
    );
    let started = Instant::now();
    let table = RoutingTable::compile(facts(&prefixes, &decks)).expect("compiles");
    let rebuild = started.elapsed();
    let (rows, rules) = table.size();
    let deck_bytes: usize = decks.values().map(|d| d.deck.heap_bytes().1).sum();
    eprintln!(
        "routing table: {rows} rate rows, {rules} routing rules; rebuilt (decks already compiled) in {rebuild:.2?}; decks {:.1} bytes per rate row, routing plan {:.1} bytes per rule",
        deck_bytes as f64 / rows as f64,
        table.plan_bytes() as f64 / rules as f64
    );
    let live = LiveState {
        credit: [(
            1,
            Credit {
                available_micros: 1_000_000_000,
                blocked: false,
            },
        )]
        .into(),
        quality: HashMap::new(),
    };
    let at = Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap();
    fn query(b: &str, at: chrono::DateTime<Utc>) -> RouteQuery<'_> {
        RouteQuery {
            source_ip: std::net::IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 10)),
            a_number: "442071234567",
            b_number: b,
            call_id: "bench",
            at,
            ingress_interconnect_id: None,
            explain: false,
        }
    }
    let routed = numbers
        .iter()
        .filter(|n| table.decide(&query(n, at), &live).refusal.is_none())
        .count();
    eprintln!(
        "{routed} of {} calls routed (the rest: every supplier above the sell price)",
        numbers.len()
    );

    // Each decision timed alone: uniform and skewed traffic, without and with the
    // explanation's text; then routed and refused calls of the same pass apart (a refused
    // call writes its reason, every supplier excluded and why: the slow tail's suspect).
    for (traffic, numbers) in [("uniform", &numbers), ("skewed", &skewed)] {
        for explain in [false, true] {
            let timed: Vec<(Duration, bool)> = numbers
                .iter()
                .map(|n| {
                    let mut q = query(n, at);
                    q.explain = explain;
                    let t = Instant::now();
                    let refused = black_box(table.decide(black_box(&q), &live))
                        .refusal
                        .is_some();
                    (t.elapsed(), refused)
                })
                .collect();
            let of = |refused: Option<bool>| {
                percentiles(
                    timed
                        .iter()
                        .filter(|(_, r)| refused.is_none_or(|want| *r == want))
                        .map(|(d, _)| *d)
                        .collect(),
                )
            };
            eprintln!(
                "decide, 1 M codes, {traffic}, explain {explain}: {}; routed calls: {}; refused calls: {}",
                of(None),
                of(Some(false)),
                of(Some(true))
            );
        }
    }

    // The same while another thread rebuilds the table and swaps it in, again and again.
    let current = Arc::new(RwLock::new(Arc::new(table)));
    let stop = Arc::new(AtomicBool::new(false));
    let rebuilder = {
        let (current, stop, prefixes, decks) = (
            current.clone(),
            stop.clone(),
            prefixes.clone(),
            decks.clone(),
        );
        std::thread::spawn(move || {
            let mut swaps = 0;
            while !stop.load(Ordering::Relaxed) {
                let fresh = Arc::new(RoutingTable::compile(facts(&prefixes, &decks)).unwrap());
                // Swap under the lock, free the old table after it (as service::routing).
                let old = std::mem::replace(&mut *current.write().unwrap(), fresh);
                drop(old);
                swaps += 1;
            }
            swaps
        })
    };
    let samples: Vec<Duration> = numbers
        .iter()
        .cycle()
        .take(600_000)
        .map(|n| {
            let q = query(n, at);
            let t = Instant::now();
            let table = current.read().unwrap().clone();
            black_box(table.decide(black_box(&q), &live));
            t.elapsed()
        })
        .collect();
    stop.store(true, Ordering::Relaxed);
    let swaps = rebuilder.join().unwrap();
    eprintln!(
        "decide during {swaps} rebuild+swap cycles: {}",
        percentiles(samples)
    );

    let table = current.read().unwrap().clone();
    let mut i = 0usize;
    c.bench_function("routing_1m/decide", |b| {
        b.iter(|| {
            i = (i + 1) % numbers.len();
            black_box(table.decide(black_box(&query(&numbers[i], at)), &live))
        })
    });
    let mut group = c.benchmark_group("routing_1m");
    group.sample_size(10);
    group.bench_function("rebuild_1m_rules", |b| {
        b.iter(|| RoutingTable::compile(black_box(facts(&prefixes, &decks))).unwrap())
    });
    group.finish();
}

criterion_group!(routing, benches);
criterion_main!(routing);
