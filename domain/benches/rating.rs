//! Rating engine benchmarks on a 1 000 000-prefix deck (see `rating::synthetic`).
//! Run: `cargo bench -p domain --bench rating`. Results: BENCHMARKS.md.

use std::hint::black_box;
use std::time::Instant;

use chrono::{TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use domain::rating::{synthetic, BillableDuration, CallToRate, CompiledDeck, RatingPolicy};

const PREFIXES: usize = 1_000_000;

fn benches(c: &mut Criterion) {
    let prefixes = synthetic::prefixes(PREFIXES, 42);
    let rows = synthetic::deck_rows(&prefixes, 42);
    let uniform = synthetic::numbers(&prefixes, 100_000, 42);
    let skewed = synthetic::skewed_numbers(&prefixes, 100_000, 42);

    let started = Instant::now();
    let deck = CompiledDeck::compile("bench", rows.clone()).expect("valid deck");
    let compile = started.elapsed();
    let (trie_bytes, total_bytes) = deck.heap_bytes();
    eprintln!(
        "deck: {} prefixes, compiled in {:.2?}; prefix structure {:.1} bytes/prefix, whole deck {:.1} bytes/prefix",
        deck.prefixes(),
        compile,
        trie_bytes as f64 / deck.prefixes() as f64,
        total_bytes as f64 / deck.prefixes() as f64
    );

    let mut group = c.benchmark_group("deck_1m");
    group.sample_size(10);
    group.bench_function("compile", |b| {
        b.iter(|| CompiledDeck::compile("bench", black_box(rows.clone())).unwrap())
    });
    group.finish();

    let start = Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap();
    let policy = RatingPolicy::default();
    let index = domain::rating::PrefixIndex::build(
        prefixes
            .iter()
            .enumerate()
            .map(|(n, p)| (p.as_bytes(), n as u64))
            .collect::<Vec<_>>()
            .into_iter(),
    );
    for (traffic, numbers) in [("uniform", &uniform), ("skewed", &skewed)] {
        let mut i = 0usize;
        c.bench_function(&format!("rate_1m/{traffic}/rate_one_call"), |b| {
            b.iter(|| {
                i = (i + 1) % numbers.len();
                let call = CallToRate {
                    b_number: &numbers[i],
                    start,
                    duration: BillableDuration::Seconds(127),
                    answered: true,
                };
                black_box(deck.rate(black_box(&call), &policy).map(|r| r.cost_micros))
            })
        });
        let mut j = 0usize;
        c.bench_function(&format!("rate_1m/{traffic}/longest_prefix_lookup"), |b| {
            b.iter(|| {
                j = (j + 1) % numbers.len();
                black_box(index.longest(black_box(numbers[j].as_bytes())))
            })
        });
    }
}

criterion_group!(rating, benches);
criterion_main!(rating);
