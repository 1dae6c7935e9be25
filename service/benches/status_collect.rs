//! What the System Status collector costs per cycle, on SQLite and on PostgreSQL +
//! Redis: several `didtron serve` instances record a realistic spread of operations
//! (admin and customer pages, server functions, both switch API endpoints, statements,
//! cache hits, sign-ins, a few 5xx) and tick once a period, as `status::run` does; one of
//! them holds the lease and collects. Measured per cycle: the collecting instance's tick
//! (flush + health checks + merge of five periods from every instance + budgets + alert
//! rules + the snapshot write), wall time and this process's CPU time, the other
//! instances' ticks (flush + watch), and the snapshot's size.
//!
//! Run: `cargo bench -p service --bench status_collect`. `BENCH_CYCLES` (default 40),
//! `BENCH_INSTANCES` (default 3), `BENCH_OPERATIONS` (distinct operations each instance
//! serves per period, default 80), `BENCH_PERIOD_MS` (default 1000: the collector's
//! period, shortened so a run takes a minute; the window is still five periods).
//! PostgreSQL + Redis from `TEST_DATABASE_URL` / `TEST_REDIS_URL` (defaults: the local
//! servers; a fresh database is made and dropped). Results: BENCHMARKS.md.

use std::time::{Duration, Instant};

use service::status::{self, Recorder, StatusContext};
use service::testing::TestEnv;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// CPU time (user + system) of this whole process so far: `/proc/self/stat` fields 14 and
/// 15, in USER_HZ ticks (100 per second on Linux, proc(5)).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// One period of traffic on one instance: every operation served a few times.
fn serve(recorder: &Recorder, operations: u64, cycle: u64) {
    for op in 0..operations {
        let (kind, name) = match op % 8 {
            0 | 1 => ("page", format!("/admin/module{op}")),
            2 => ("page", format!("/portal/page{op}")),
            3 => ("fn", format!("/fn/portal/read{op}")),
            4 if op == 4 => ("api", domain::status::ROUTE_API.to_owned()),
            4 if op == 12 => ("api", domain::status::CDR_API.to_owned()),
            _ => ("fn", format!("/fn/admin/read{op}")),
        };
        let calls = if kind == "api" { 400 } else { 12 };
        for i in 0..calls {
            let micros = 300 + (op * 977 + i * 131 + cycle * 17) % 90_000;
            recorder.record(
                kind,
                &name,
                Duration::from_micros(micros),
                i % 97 != 0,
                Some(if i % 97 == 0 { "500" } else { "200" }),
            );
        }
    }
    for i in 0..50u64 {
        recorder.statement(
            "SELECT id, name FROM carriers WHERE id = $1",
            Duration::from_micros(200 + i * 7),
            false,
        );
    }
    recorder.count("cache", "rating_decks", "hit", 900);
    recorder.count("cache", "rating_decks", "miss", 3);
    for ok in [true, true, true, false] {
        recorder.record("auth", "sign_in", Duration::from_millis(40), ok, None);
    }
    recorder.error("fn", "/fn/admin/read5", 500, &format!("bench-{cycle}"));
}

async fn run(env: &TestEnv, cycles: u64, instances: u64, operations: u64, period: Duration) {
    let (files, dir) = service::testing::files();
    let mut contexts = Vec::new();
    for i in 0..instances {
        let ctx = StatusContext {
            db: env.db.clone(),
            kv: env.kv.clone(),
            files: files.clone(),
            mailer: None,
            recorder: Recorder::new(&uuid::Uuid::now_v7().to_string()),
            period,
            caches: vec![],
        };
        status::register(
            &ctx,
            &status::InstanceInfo {
                host: format!("bench-{i}"),
                pid: 1000 + i as u32,
                version: "bench".into(),
                workers: 1,
            },
        )
        .await
        .unwrap();
        contexts.push(ctx);
    }
    let warmup = u64::from(status::WINDOW_PERIODS) + 1;
    let mut collect_wall = Vec::new();
    let mut collect_cpu = Duration::ZERO;
    let mut other_wall = Vec::new();
    let mut bytes = Vec::new();
    let mut collect_ms = Vec::new();
    let mut every = tokio::time::interval(period);
    for cycle in 0..warmup + cycles {
        every.tick().await;
        for ctx in &contexts {
            serve(&ctx.recorder, operations, cycle);
        }
        for ctx in &contexts {
            let cpu = cpu_time();
            let started = Instant::now();
            let tick = status::tick(ctx, cycle as i64).await.unwrap();
            let took = started.elapsed();
            let cpu = cpu_time() - cpu;
            if cycle < warmup {
                continue;
            }
            match tick.snapshot {
                Some((_, size)) => {
                    collect_wall.push(took);
                    collect_cpu += cpu;
                    bytes.push(size);
                }
                None => other_wall.push(took),
            }
        }
        if cycle >= warmup {
            let newest = status::views::view(&env.db, period.as_secs().max(1) as i64)
                .await
                .unwrap();
            if let Some(s) = newest.snapshot {
                collect_ms.push(s.collect_ms);
            }
        }
    }
    collect_wall.sort();
    other_wall.sort();
    let n = collect_wall.len() as u32;
    let mean_bytes = bytes.iter().sum::<i64>() / bytes.len().max(1) as i64;
    let samples_per_cycle = instances * (operations + 3);
    println!(
        "{}: {n} collecting ticks, {instances} instances × {operations} operations, ~{samples_per_cycle} samples flushed per period",
        env.name
    );
    println!(
        "  collecting tick (flush + collect + store): p50 {:.1?}, p95 {:.1?}, max {:.1?}; CPU of this process {:.1?} per cycle",
        percentile(&collect_wall, 0.5),
        percentile(&collect_wall, 0.95),
        collect_wall[collect_wall.len() - 1],
        collect_cpu / n.max(1),
    );
    collect_ms.sort();
    println!(
        "  the collector's own measure (collect_ms, health checks to snapshot): p50 {} ms, max {} ms",
        collect_ms[collect_ms.len() / 2],
        collect_ms[collect_ms.len() - 1]
    );
    println!(
        "  other instances' tick (flush + watch): p50 {:.1?}, p95 {:.1?}",
        percentile(&other_wall, 0.5),
        percentile(&other_wall, 0.95),
    );
    println!(
        "  snapshot: {mean_bytes} bytes (JSON), min {}, max {}",
        bytes.iter().min().unwrap(),
        bytes.iter().max().unwrap()
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let cycles = env_or("BENCH_CYCLES", 40);
    let instances = env_or("BENCH_INSTANCES", 3);
    let operations = env_or("BENCH_OPERATIONS", 80);
    let period = Duration::from_millis(env_or("BENCH_PERIOD_MS", 1000));
    for (name, default) in [
        (
            "TEST_DATABASE_URL",
            "postgres://postgres@127.0.0.1:5432/postgres",
        ),
        ("TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
    ] {
        if std::env::var_os(name).is_none() {
            std::env::set_var(name, default);
        }
    }
    for env in service::testing::backends().await {
        run(&env, cycles, instances, operations, period).await;
        env.cleanup().await;
    }
}
