//! Writes a benchmark deck CSV and a CDR CSV for `didtron rate` (see BENCHMARKS.md):
//! `cargo run --release -p domain --features synthetic --example rate_files -- DIR PREFIXES CDRS`

use std::io::Write;

use domain::money::format_micros;
use domain::rating::synthetic;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let dir = std::path::PathBuf::from(args.get(1).map(String::as_str).unwrap_or("."));
    let prefixes: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let cdrs: usize = args
        .get(3)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let codes = synthetic::prefixes(prefixes, 42);
    let rows = synthetic::deck_rows(&codes, 42);
    let mut deck = std::io::BufWriter::new(std::fs::File::create(dir.join("deck.csv"))?);
    writeln!(
        deck,
        "prefix,destination,rate,increment,effective_from,currency"
    )?;
    for r in &rows {
        writeln!(
            deck,
            "{},{},{},{},2026-01-01,USD",
            r.prefix,
            r.destination,
            format_micros(r.rate_micros, 6),
            r.increment
        )?;
    }
    let numbers = synthetic::skewed_numbers(&codes, cdrs, 7);
    let mut out = std::io::BufWriter::new(std::fs::File::create(dir.join("cdrs.csv"))?);
    writeln!(out, "call_id,b_number,start,billsec")?;
    let mut rng = synthetic::Rng::new(9);
    for (i, n) in numbers.iter().enumerate() {
        let billsec = if rng.below(4) == 0 { 0 } else { rng.below(600) };
        writeln!(
            out,
            "c{i},{n},2026-06-01 {:02}:{:02}:{:02},{billsec}",
            i / 3600 % 24,
            i / 60 % 60,
            i % 60
        )?;
    }
    Ok(())
}
