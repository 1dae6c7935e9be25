//! The peers' approach side by side with ours, in one run: rating a CDR by one SQL query
//! per call (ASTPP: `WHERE $number LIKE prefix || '%' ORDER BY length(prefix) DESC
//! LIMIT 1`) on SQLite and on PostgreSQL with a B-tree index on `prefix`, plus the best an
//! index can do (`WHERE prefix IN (every prefix of the number)`), against DIDTron's
//! in-memory engine on the same deck and numbers.
//!
//! Run: `cargo bench -p service --bench sql_lookup` (PostgreSQL from
//! `BENCH_DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`; deck size
//! from `BENCH_PREFIXES`, default 1 000 000). Results: BENCHMARKS.md.

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use domain::rating::{synthetic, BillableDuration, CallToRate, CompiledDeck, RatingPolicy};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn load(db: &DatabaseConnection, prefixes: &[String], rows: &[domain::rating::RateDeckRow]) {
    db.execute_unprepared("DROP TABLE IF EXISTS bench_rates")
        .await
        .unwrap();
    db.execute_unprepared(
        "CREATE TABLE bench_rates (prefix VARCHAR(15) NOT NULL, rate BIGINT NOT NULL)",
    )
    .await
    .unwrap();
    for chunk in prefixes.iter().zip(rows).collect::<Vec<_>>().chunks(10_000) {
        let values: Vec<String> = chunk
            .iter()
            .map(|(p, r)| format!("('{p}',{})", r.rate_micros))
            .collect();
        db.execute_unprepared(&format!(
            "INSERT INTO bench_rates (prefix, rate) VALUES {}",
            values.join(",")
        ))
        .await
        .unwrap();
    }
    db.execute_unprepared("CREATE INDEX bench_rates_prefix ON bench_rates (prefix)")
        .await
        .unwrap();
    let analyze = if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        "ANALYZE bench_rates"
    } else {
        "ANALYZE"
    };
    db.execute_unprepared(analyze).await.unwrap();
}

async fn time_queries(
    db: &DatabaseConnection,
    sql: &str,
    numbers: &[String],
    in_list: bool,
) -> Duration {
    let backend = db.get_database_backend();
    let mut times = Vec::new();
    for n in numbers {
        let stmt = if in_list {
            let list: Vec<String> = (1..=n.len().min(15))
                .map(|k| format!("'{}'", &n[..k]))
                .collect();
            Statement::from_string(backend, sql.replace("$LIST", &list.join(",")))
        } else {
            let placeholder = if backend == sea_orm::DbBackend::Postgres {
                "$1"
            } else {
                "?"
            };
            Statement::from_sql_and_values(
                backend,
                sql.replace("$N", placeholder),
                [n.clone().into()],
            )
        };
        let started = Instant::now();
        let row = db.query_one_raw(stmt).await.unwrap();
        times.push(started.elapsed());
        assert!(row.is_some(), "every bench number has a code");
    }
    median(times)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return; // `cargo test --benches` / `--list`: nothing to run quickly.
    }
    let count: usize = std::env::var("BENCH_PREFIXES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let prefixes = synthetic::prefixes(count, 42);
    let rows = synthetic::deck_rows(&prefixes, 42);
    let numbers = synthetic::numbers(&prefixes, 100_000, 7);

    // Ours: the same deck and numbers.
    let deck = CompiledDeck::compile("bench", rows.clone()).unwrap();
    let start = Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap();
    let policy = RatingPolicy::default();
    let mut batches = Vec::new();
    for chunk in numbers.chunks(1_000) {
        let started = Instant::now();
        for n in chunk {
            let call = CallToRate {
                b_number: n,
                start,
                duration: BillableDuration::Seconds(127),
                answered: true,
            };
            std::hint::black_box(deck.rate(&call, &policy).unwrap().cost_micros);
        }
        batches.push(started.elapsed() / chunk.len() as u32);
    }
    let ours = median(batches);
    println!("prefixes: {count}; DIDTron engine, full rating: {ours:?} per CDR (median of 100 batches of 1000)");

    let like = "SELECT rate FROM bench_rates WHERE $N LIKE prefix || '%' ORDER BY length(prefix) DESC LIMIT 1";
    let in_list =
        "SELECT rate FROM bench_rates WHERE prefix IN ($LIST) ORDER BY length(prefix) DESC LIMIT 1";
    let pg_url = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let sqlite_path = std::env::temp_dir().join("didtron-bench.db");
    let _ = std::fs::remove_file(&sqlite_path);
    let sqlite_url = format!("sqlite://{}?mode=rwc", sqlite_path.display());
    for (name, url) in [
        ("SQLite", sqlite_url.as_str()),
        ("PostgreSQL", pg_url.as_str()),
    ] {
        let db = service::db::connect(url, 1).await.unwrap();
        let loading = Instant::now();
        load(&db, &prefixes, &rows).await;
        let loaded = loading.elapsed();
        let slow = time_queries(&db, like, &numbers[..20], false).await;
        let indexed = time_queries(&db, in_list, &numbers[..2_000], true).await;
        println!(
            "{name}: loaded in {loaded:.1?}; LIKE per CDR (ASTPP) {slow:?} = {:.0}x ours; IN-list on the index {indexed:?} = {:.0}x ours",
            slow.as_secs_f64() / ours.as_secs_f64(),
            indexed.as_secs_f64() / ours.as_secs_f64()
        );
        db.execute_unprepared("DROP TABLE bench_rates")
            .await
            .unwrap();
        let _ = db.close().await;
    }
    let _ = std::fs::remove_file(&sqlite_path);
}
