//! The carriers page's lists at scale: 100 000 carriers and 300 000 interconnects, on
//! PostgreSQL (the goal: p99 ≤ 25 ms per page) and on SQLite, through the same
//! `service::carriers::list` functions the list server functions call (a server function
//! adds only the session check and JSON encoding around them).
//!
//! Run: `cargo bench -p service --bench carriers_list`. PostgreSQL comes from
//! `TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`; a fresh
//! database is made and dropped) and `TEST_REDIS_URL` (default `redis://127.0.0.1:6379/0`); `BENCH_CARRIERS` (default 100 000) sets the size,
//! interconnects are three times that; `BENCH_SAMPLES` (default 400) the requests per
//! scenario; `BENCH_KEEP_DB=1` keeps the databases for EXPLAIN. Prints p50/p95/p99 per scenario. Results: BENCHMARKS.md.

use std::time::{Duration, Instant};

use domain::listing::ListQuery;
use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection};
use service::carriers::list;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// Fills the tables in a few statements (generate_series / a recursive CTE).
async fn seed(db: &DatabaseConnection, carriers: u64) {
    let pg = db.get_database_backend() == DatabaseBackend::Postgres;
    let series = |n: u64| {
        if pg {
            format!("generate_series(1, {n}) AS s(i)")
        } else {
            format!("(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {n}) SELECT i FROM s) AS s")
        }
    };
    let code = if pg {
        "'C' || lpad(i::text, 7, '0')"
    } else {
        "printf('C%07d', i)"
    };
    let now = if pg {
        "now()"
    } else {
        "'2026-11-21T00:00:00+00:00'"
    };
    let first = "CASE i % 10 WHEN 0 THEN 'Acme' WHEN 1 THEN 'Globex' WHEN 2 THEN 'Initech' WHEN 3 THEN 'Umbrella' \
                 WHEN 4 THEN 'Vandelay' WHEN 5 THEN 'Wonka' WHEN 6 THEN 'Stark' WHEN 7 THEN 'Wayne' WHEN 8 THEN 'Tyrell' ELSE 'Cyberdyne' END";
    let second = "CASE (i / 10) % 5 WHEN 0 THEN ' Telecom ' WHEN 1 THEN ' Voice ' WHEN 2 THEN ' Networks ' WHEN 3 THEN ' Carrier ' ELSE ' Communications ' END";
    let id_text = if pg { "i::text" } else { "CAST(i AS TEXT)" };
    db.execute_unprepared(&format!(
        "INSERT INTO carriers (name, account_code, carrier_type, status, currency, timezone, customer_enabled, \
         supplier_enabled, default_codecs, billing_mode, credit_limit_micros, billing_cycle, payment_terms_days, created_at, updated_at, search_key) \
         SELECT {first} || {second} || {id_text}, {code}, \
         CASE i % 3 WHEN 0 THEN 'customer' WHEN 1 THEN 'supplier' ELSE 'both' END, \
         CASE WHEN i % 10 = 0 THEN 'inactive' ELSE 'active' END, \
         CASE i % 3 WHEN 0 THEN 'USD' WHEN 1 THEN 'EUR' ELSE 'GBP' END, \
         'UTC', true, true, '', 'prepaid', 0, 'monthly', 30, {now}, {now}, lower({first} || {second} || {id_text} || ' ' || {code}) FROM {}",
        series(carriers)
    ))
    .await
    .unwrap();
    db.execute_unprepared(&format!(
        "INSERT INTO interconnects (carrier_id, name, direction, status, media_mode, dtmf_mode, transcoding_allowed, \
         max_call_duration_secs, max_cps, max_channels, session_timers, session_expires_secs, pai_mode, privacy_mode, \
         sip_port, sip_transport, number_rules, translation_rules, alert_recipients, created_at, updated_at) \
         SELECT 1 + i % {carriers}, 'Trunk ' || {id_text} || CASE i % 2 WHEN 0 THEN ' in' ELSE ' out' END, \
         CASE i % 2 WHEN 0 THEN 'ingress' ELSE 'egress' END, 'active', 'relay', 'rfc2833', false, 7200, 0, 0, true, 1800, \
         'pass', 'honour', 5060, 'udp', '{{}}', '[]', '', {now}, {now} FROM {}",
        series(carriers * 3)
    ))
    .await
    .unwrap();
    db.execute_unprepared("ANALYZE").await.unwrap();
}

async fn measure<F, Fut>(samples: usize, mut run: F) -> (Duration, Duration, Duration)
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = usize>,
{
    for i in 0..20 {
        run(i).await;
    }
    let mut times = Vec::with_capacity(samples);
    for i in 0..samples {
        let start = Instant::now();
        let rows = run(i).await;
        times.push(start.elapsed());
        assert!(rows > 0 || i > 0, "a scenario returned nothing");
    }
    times.sort();
    (
        percentile(&times, 0.5),
        percentile(&times, 0.95),
        percentile(&times, 0.99),
    )
}

async fn run(db: &DatabaseConnection, name: &str, samples: usize) {
    println!("\n{name}: carriers list (page of 50)");
    println!(
        "{:<46} {:>9} {:>9} {:>9}",
        "scenario", "p50 ms", "p95 ms", "p99 ms"
    );
    let show = |label: &str, (p50, p95, p99): (Duration, Duration, Duration)| {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{label:<46} {:>9.2} {:>9.2} {:>9.2}",
            ms(p50),
            ms(p95),
            ms(p99)
        );
    };
    let q = |f: fn(&mut ListQuery)| {
        let mut query = ListQuery {
            limit: 50,
            ..Default::default()
        };
        f(&mut query);
        query
    };

    // Cursors deep into the list, collected once by walking it.
    let mut cursors = Vec::new();
    let mut query = q(|_| ());
    for _ in 0..200 {
        let page = list::list_carriers(db, &query).await.unwrap();
        match page.next {
            Some(next) => {
                cursors.push(next.clone());
                query.after = next;
            }
            None => break,
        }
    }

    show(
        "first page, by name",
        measure(samples, |_| async {
            list::list_carriers(db, &q(|_| ()))
                .await
                .unwrap()
                .rows
                .len()
        })
        .await,
    );
    show(
        "a later page (keyset cursor, up to page 200)",
        measure(samples, |i| {
            let mut query = q(|_| ());
            query.after = cursors[i % cursors.len()].clone();
            async move { list::list_carriers(db, &query).await.unwrap().rows.len() }
        })
        .await,
    );
    show(
        "by account code, descending",
        measure(samples, |_| async {
            list::list_carriers(
                db,
                &q(|q| {
                    q.sort = "account_code".into();
                    q.desc = true;
                }),
            )
            .await
            .unwrap()
            .rows
            .len()
        })
        .await,
    );
    let terms = [
        "acme",
        "wonka",
        "tyrell voice",
        "C00123",
        "glob",
        "stark net",
        "umbrella carrier 4",
        "vandel",
    ];
    show(
        "search (name or account code)",
        measure(samples, |i| {
            let mut query = q(|_| ());
            query.q = terms[i % terms.len()].into();
            async move { list::list_carriers(db, &query).await.unwrap().rows.len() }
        })
        .await,
    );
    show(
        "filters: inactive suppliers in EUR",
        measure(samples, |_| async {
            list::list_carriers(
                db,
                &q(|q| {
                    q.status = "inactive".into();
                    q.kind = "supplier".into();
                    q.currency = "EUR".into();
                }),
            )
            .await
            .unwrap()
            .rows
            .len()
        })
        .await,
    );
    show(
        "interconnects view, first page (join)",
        measure(samples, |_| async {
            list::list_interconnects(db, &q(|_| ()))
                .await
                .unwrap()
                .rows
                .len()
        })
        .await,
    );
    show(
        "interconnects view, search",
        measure(samples, |i| {
            let mut query = q(|_| ());
            query.q = ["trunk 12", "trunk 99", "trunk 5"][i % 3].into();
            async move {
                list::list_interconnects(db, &query)
                    .await
                    .unwrap()
                    .rows
                    .len()
            }
        })
        .await,
    );
}

#[tokio::main]
async fn main() {
    let carriers: u64 = std::env::var("BENCH_CARRIERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let samples: usize = std::env::var("BENCH_SAMPLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    for (var, default) in [
        (
            "TEST_DATABASE_URL",
            "postgres://postgres@127.0.0.1:5432/postgres",
        ),
        ("TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
    ] {
        if std::env::var(var).is_err() {
            std::env::set_var(var, default);
        }
    }
    for env in service::testing::backends().await {
        let start = Instant::now();
        seed(&env.db, carriers).await;
        println!(
            "\n{}: seeded {carriers} carriers and {} interconnects in {:.1} s",
            env.name,
            carriers * 3,
            start.elapsed().as_secs_f64()
        );
        run(&env.db, env.name, samples).await;
        if std::env::var("BENCH_KEEP_DB").is_ok() {
            println!("kept: {}", env.database_url);
        } else {
            env.cleanup().await;
        }
    }
}
