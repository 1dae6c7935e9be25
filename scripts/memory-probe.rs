//! The memory's floor for a routing decision on this machine: how long independent
//! random reads of 64-byte lines take when `n` are in flight together, followed by 5
//! reads that depend on them (a decision probes every code length of each prefix index
//! at once, then reads the rows found). Five tables of 32 MB each, as the benchmark's
//! decks. Not part of the build; BENCHMARKS.md quotes it. Run:
//! `rustc -O scripts/memory-probe.rs -o /tmp/memory-probe && /tmp/memory-probe`
use std::hint::black_box;
use std::time::Instant;

#[repr(C, align(64))]
#[derive(Clone, Copy)]
struct Line([u64; 8]);

fn main() {
    let lines_per_table = 512 * 1024; // 32 MB
    let tables: Vec<Vec<Line>> = (0..5u64)
        .map(|t| {
            (0..lines_per_table)
                .map(|i| Line([i as u64 ^ t; 8]))
                .collect()
        })
        .collect();
    let mut seed = 0x1234_5678u64;
    let mut random = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    // (tables, lines per table): 9 lines = one per code length of one index.
    for (ntables, per) in [(1usize, 9usize), (2, 9), (3, 9), (5, 9), (5, 6), (2, 7)] {
        let mut samples = Vec::with_capacity(200_000);
        for _ in 0..200_000 {
            let n = ntables * per;
            let mut at = [0usize; 64];
            for slot in at.iter_mut().take(n) {
                *slot = (random() as usize) & (lines_per_table - 1);
            }
            let t = Instant::now();
            let mut folded = 0u64;
            for (i, line) in at.iter().take(n).enumerate() {
                folded ^= tables[i % ntables][*line].0[0];
            }
            black_box(folded);
            // The rows: 5 reads whose addresses depend on the first level.
            let base = (folded as usize) & (lines_per_table - 1);
            let mut rows = 0u64;
            for j in 0..5 {
                rows ^= tables[j][(base * (j + 7) + j * 99_991) & (lines_per_table - 1)].0[1];
            }
            black_box(rows);
            samples.push(t.elapsed().as_nanos() as u64);
        }
        samples.sort_unstable();
        let q = |p: f64| samples[(samples.len() as f64 * p) as usize];
        println!(
            "{ntables} table(s) x {per} lines = {} independent reads, then 5 dependent: p50 {} ns, p99 {} ns, p99.9 {} ns",
            ntables * per,
            q(0.5),
            q(0.99),
            q(0.999)
        );
    }
}
