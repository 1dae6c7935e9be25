//! Rate-deck import at scale: a 1 000 000-line CSV deck.
//!
//! 1. **parse + validate** on one core (`rate_plans::import::scan_deck`, the import's first
//!    pass; and `read_deck`, which keeps every rate, for `didtron rate`): goal
//!    ≥ 1 000 000 rows/s;
//! 2. **peak memory** (the process's VmHWM growth) of each, and of the whole import in
//!    step 3: goal ≤ 2× the file size;
//! 3. **end to end into PostgreSQL** (`import_now`: store the file, read, compare with the
//!    (empty) live deck, publish in one transaction) against `psql \copy` of the same
//!    1 000 000 rows into the same `rates` table with the same indexes, measured side by
//!    side in one run: goal ≤ 2× the copy.
//!
//! Run: `cargo bench -p service --bench deck_import`. `TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`; a fresh database is made and dropped),
//! `BENCH_ROWS` (default 1 000 000), `BENCH_PARSE_ONLY=1` (steps 1–2 only). Needs `psql` on PATH. Results: BENCHMARKS.md.

use std::sync::atomic::Ordering;
use std::time::Instant;

use domain::rate_plans::{ImportOptions, RatePlanForm};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use service::audit::Actor;
use service::jobs::JobContext;
use service::rate_plans::{self, import};

fn deck(rows: usize) -> Vec<u8> {
    let mut out = String::with_capacity(rows * 48);
    out.push_str("Destination,Code,Rate,Pulse,Valid From\n");
    let pulses = ["1/1", "60/60", "30/6", "60/1"];
    for i in 0..rows {
        // Unique 9-digit codes under a few country codes, rates with 4 decimals.
        let cc = [44, 33, 49, 91, 234][i % 5];
        out.push_str(&format!(
            "Country {cc} zone {},{cc}{:07},0.{:04},{},2026-01-01\n",
            i % 997,
            i,
            1 + (i * 7919) % 9999,
            pulses[i % 4]
        ));
    }
    out.into_bytes()
}

fn vm_hwm_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|v| v.parse().unwrap_or(0)))
        })
        .unwrap_or(0)
}

fn reset_hwm() {
    // Writing 5 to clear_refs resets the peak RSS counter (Linux ≥ 4.0).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn psql(url: &str, command: &str) -> std::time::Duration {
    let started = Instant::now();
    let out = std::process::Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-qc", command])
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "psql failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    started.elapsed()
}

#[tokio::main]
async fn main() {
    let rows: usize = std::env::var("BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let bytes = deck(rows);
    println!("deck: {rows} lines, {:.1} MB", bytes.len() as f64 / 1e6);

    // 1 + 2: parse and validate on this thread, and the memory it takes: the import's
    // first pass (`scan_deck`: every check, duplicates included, no rate held), then
    // `read_deck` keeping every rate (what `didtron rate` does before compiling).
    let progress = import::ReadProgress::default();
    reset_hwm();
    let before = vm_hwm_kb();
    let started = Instant::now();
    let opened = import::open_deck(bytes.clone(), "deck.csv").unwrap();
    let scan = import::scan_deck(&opened, &Default::default(), &progress);
    let took = started.elapsed();
    let peak = vm_hwm_kb().saturating_sub(before) * 1024;
    assert!(scan.deck.errors.is_empty());
    assert_eq!(scan.deck.data_lines, rows as u64);
    assert_eq!(
        progress.done.load(Ordering::Relaxed),
        progress.total.load(Ordering::Relaxed)
    );
    println!(
        "parse + validate (import pass): {:.0} ms, {:.2} M rows/s on one core; peak memory {:.0} MB = {:.2}× the file",
        took.as_secs_f64() * 1e3,
        rows as f64 / took.as_secs_f64() / 1e6,
        peak as f64 / 1e6,
        peak as f64 / bytes.len() as f64
    );
    drop(opened);
    reset_hwm();
    let before = vm_hwm_kb();
    let started = Instant::now();
    let read = import::read_deck(&bytes, "deck.csv", &Default::default(), &progress).unwrap();
    let took = started.elapsed();
    let peak = vm_hwm_kb().saturating_sub(before) * 1024;
    assert_eq!(read.deck.rates.len(), rows);
    println!(
        "read keeping every rate (didtron rate): {:.0} ms, {:.2} M rows/s; peak memory {:.0} MB = {:.2}× the file",
        took.as_secs_f64() * 1e3,
        rows as f64 / took.as_secs_f64() / 1e6,
        peak as f64 / 1e6,
        peak as f64 / bytes.len() as f64
    );
    drop(read);
    if std::env::var("BENCH_PARSE_ONLY").is_ok() {
        return;
    }

    // 3: end to end into PostgreSQL, then psql \copy of the same rows.
    std::env::set_var(
        "TEST_DATABASE_URL",
        std::env::var("TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into()),
    );
    std::env::set_var(
        "TEST_REDIS_URL",
        std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".into()),
    );
    let env = service::testing::postgres_redis()
        .await
        .expect("PostgreSQL and Redis for the benchmark");
    let db: &DatabaseConnection = &env.db;
    let (files, dir) = service::testing::files();
    let ctx = JobContext {
        db: db.clone(),
        files,
        kv: env.kv.clone(),
    };
    let mut form = RatePlanForm::new_plan();
    form.name = "Bench deck".into();
    let plan = rate_plans::save_plan(db, &Actor::system(), None, &form)
        .await
        .unwrap();
    reset_hwm();
    let before = vm_hwm_kb();
    let started = Instant::now();
    let view = import::import_now(
        &ctx,
        &Actor::system(),
        plan.id,
        "deck.csv",
        bytes.clone(),
        ImportOptions {
            replace_all: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let import_took = started.elapsed();
    let import_peak = vm_hwm_kb().saturating_sub(before) * 1024;
    assert_eq!(view.status, "published", "{}", view.error);
    assert_eq!(view.report.as_ref().unwrap().rows_stored, rows as u64);

    // The same rows as the rates table holds them, copied by psql into the same table
    // (same indexes), under a second plan and revision.
    let mut form = RatePlanForm::new_plan();
    form.name = "Bench copy".into();
    let copy_plan = rate_plans::save_plan(db, &Actor::system(), None, &form)
        .await
        .unwrap();
    db.execute_unprepared(&format!(
        "INSERT INTO rate_revisions (rate_plan_id, number, source, new_codes, increases, decreases, unchanged, removed, published_by, published_at, note, created_at, updated_at) \
         VALUES ({}, 1, 'import', 0, 0, 0, 0, 0, 'bench', now(), '', now(), now())",
        copy_plan.id
    ))
    .await
    .unwrap();
    let revision: i64 = db
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DatabaseBackend::Postgres,
            format!(
                "SELECT id FROM rate_revisions WHERE rate_plan_id = {}",
                copy_plan.id
            ),
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index(0)
        .unwrap();
    let csv_path = dir.join("rates.csv");
    {
        let mut out = String::with_capacity(rows * 120);
        let text = String::from_utf8(bytes.clone()).unwrap();
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            let (first, next) = f[3].split_once('/').unwrap();
            let micros = domain::money::parse_micros(f[2]).unwrap();
            out.push_str(&format!(
                "{},{},{},{},{},{},0,{},{},0,0,2026-01-01 00:00:00+00,,new,,2026-11-21 00:00:00+00,2026-11-21 00:00:00+00\n",
                copy_plan.id,
                revision,
                f[1],
                f[0],
                f[0].to_lowercase(),
                micros,
                first,
                next
            ));
        }
        std::fs::write(&csv_path, out).unwrap();
    }
    let copy_took = psql(
        &env.database_url,
        &format!(
            "\\copy rates (rate_plan_id, revision_id, prefix, destination, destination_key, rate_micros, connection_fee_micros, increment_first, increment_next, minimum_s, grace_s, effective_from, effective_to, change, closed_by_revision_id, created_at, updated_at) FROM '{}' WITH (FORMAT csv)",
            csv_path.display()
        ),
    );
    println!(
        "end to end into PostgreSQL: {:.2} s ({:.0} rows/s); psql \\copy of the same rows: {:.2} s; ratio {:.2}× (goal ≤ 2×)",
        import_took.as_secs_f64(),
        rows as f64 / import_took.as_secs_f64(),
        copy_took.as_secs_f64(),
        import_took.as_secs_f64() / copy_took.as_secs_f64()
    );
    println!(
        "the import's peak memory (file held, read, planned, published): {:.0} MB = {:.2}× the file",
        import_peak as f64 / 1e6,
        import_peak as f64 / bytes.len() as f64
    );
    env.cleanup().await;
    let _ = std::fs::remove_dir_all(dir);
}
