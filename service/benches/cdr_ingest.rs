//! CDR ingest throughput on PostgreSQL: `service::cdrs::ingest` (store, mediate, rate
//! both legs, post both ledger entries and the running balances, credit control, one
//! transaction per request-sized batch) against a raw binary `COPY` of the very same
//! rows into the same `cdrs` table (same indexes), measured side by side in one run.
//! Goal (issue 6): ingest ≥ 70 % of the copy's rows per second.
//!
//! Run: `cargo bench -p service --bench cdr_ingest`. `TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`; a fresh database is made and dropped),
//! `BENCH_ROWS` (default 200 000), `BENCH_BATCH` (records per request, default 10 000),
//! `BENCH_CONCURRENCY` (requests in flight at once, default 1).
//! Needs `psql` on PATH. Results: BENCHMARKS.md.

use std::time::{Duration, Instant};

use chrono::Utc;
use sea_orm::ConnectionTrait;
use service::cdrs::{self, DeckCache};
use service::jobs::JobContext;

fn psql(url: &str, command: &str) -> Duration {
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

/// `rows` answered calls in the harness's acc_json shape, NDJSON bodies of `batch`.
fn bodies(rows: usize, batch: usize) -> Vec<Vec<u8>> {
    let setup = Utc::now() - chrono::Duration::hours(6);
    let numbers = ["919812345678", "911123456789", "919912345678"];
    let mut out = Vec::new();
    let mut body = String::new();
    for i in 0..rows {
        let start = setup + chrono::Duration::milliseconds(i as i64 * 50);
        let secs = 5 + (i % 600) as i64;
        let end = start + chrono::Duration::seconds(secs);
        body.push_str(&format!(
            "{{\"callid\":\"bench-{i}@sbc\",\"caller\":\"442070000000\",\"callee\":\"{}\",\"src_ip\":\"203.0.113.10\",\"route\":\"sip:198.51.100.7:5070\",\"sip_code\":\"200\",\"sip_reason\":\"OK\",\"setup_time\":\"{}.{:03}\",\"start_time\":\"{}.{:03}\",\"end_time\":\"{}.{:03}\",\"duration\":\"{secs}\"}}\n",
            numbers[i % 3],
            start.timestamp() - 1,
            start.timestamp_subsec_millis(),
            start.timestamp(),
            start.timestamp_subsec_millis(),
            end.timestamp(),
            end.timestamp_subsec_millis(),
        ));
        if (i + 1) % batch == 0 || i + 1 == rows {
            out.push(std::mem::take(&mut body).into_bytes());
        }
    }
    out
}

#[tokio::main]
async fn main() {
    let rows: usize = std::env::var("BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let batch: usize = std::env::var("BENCH_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let concurrency: usize = std::env::var("BENCH_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
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
    let db = &env.db;
    let (files, dir) = service::testing::files();
    let ctx = JobContext {
        db: db.clone(),
        files,
        kv: env.kv.clone(),
    };
    let world = service::testing::billing_world(&ctx).await;
    let bodies = bodies(rows, batch);
    println!(
        "{rows} CDRs in {} requests of {batch}, {concurrency} at a time",
        bodies.len()
    );

    // Reading (what the API handler does before ingest), timed apart.
    let started = Instant::now();
    let parsed: Vec<_> = bodies
        .iter()
        .map(|b| cdrs::parse_body(b, cdrs::Unreadable::Refuse).expect("readable"))
        .collect();
    let parse = started.elapsed();

    // Requests in flight at once, as a switch's several CDR workers post them.
    let streams = concurrency.max(1);
    let decks = DeckCache::new();
    let mut queues: Vec<Vec<_>> = (0..streams).map(|_| Vec::new()).collect();
    for (i, records) in parsed.into_iter().enumerate() {
        queues[i % streams].push(records);
    }
    let started = Instant::now();
    let workers = queues.into_iter().map(|queue| {
        let (db, decks, source) = (db.clone(), decks.clone(), world.source);
        tokio::spawn(async move {
            let mut stored = 0;
            for records in queue {
                let report = cdrs::ingest(&db, &decks, source, records).await.unwrap();
                assert_eq!(report.rated, report.received, "{report:?}");
                stored += report.stored;
            }
            stored
        })
    });
    let mut stored = 0;
    for worker in workers.collect::<Vec<_>>() {
        stored += worker.await.expect("an ingest worker");
    }
    let ingest = started.elapsed();
    assert_eq!(stored, rows);

    // The same rows, as stored, copied out and back in with binary COPY, in as many
    // streams at once as ingest had requests in flight (rows split by id).
    let url = &env.database_url;
    let files: Vec<_> = (0..streams)
        .map(|k| {
            let file = dir.join(format!("cdrs-{k}.bin"));
            psql(
                url,
                &format!(
                    "\\copy (SELECT * FROM cdrs WHERE id % {streams} = {k} ORDER BY id) TO '{}' WITH (FORMAT binary)",
                    file.display()
                ),
            );
            file
        })
        .collect();
    db.execute_unprepared("TRUNCATE cdrs").await.unwrap();
    psql(url, "VACUUM ANALYZE cdrs");
    let started = Instant::now();
    std::thread::scope(|scope| {
        for file in &files {
            scope.spawn(move || {
                psql(
                    url,
                    &format!("\\copy cdrs FROM '{}' WITH (FORMAT binary)", file.display()),
                )
            });
        }
    });
    let copy = started.elapsed();
    let bytes: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
        .sum();
    let copied: i64 = db
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DatabaseBackend::Postgres,
            "SELECT COUNT(*) AS n FROM cdrs",
        ))
        .await
        .unwrap()
        .expect("a count")
        .try_get("", "n")
        .unwrap();
    assert_eq!(copied as usize, rows, "the copy stored every row");

    let per_s = |d: Duration| rows as f64 / d.as_secs_f64();
    println!(
        "read (parse_body): {:.2} s, {:.0} CDRs/s",
        parse.as_secs_f64(),
        per_s(parse)
    );
    println!(
        "ingest + rate + ledger: {:.2} s, {:.0} CDRs/s",
        ingest.as_secs_f64(),
        per_s(ingest)
    );
    println!(
        "binary COPY of the same rows ({:.0} MB, {streams} at a time): {:.2} s, {:.0} CDRs/s",
        bytes as f64 / 1e6,
        copy.as_secs_f64(),
        per_s(copy)
    );
    println!(
        "ingest / COPY throughput: {:.0} % (goal ≥ 70 %)",
        100.0 * copy.as_secs_f64() / ingest.as_secs_f64()
    );
    env.cleanup().await;
    let _ = std::fs::remove_dir_all(dir);
}
