//! Crash safety of CDR batches, with the real `didtron` binary: a worker killed with
//! SIGKILL in the middle of a CDR file import, then started again, leaves every call
//! stored, rated and posted exactly once — the totals equal the sum the rate plans
//! imply, to the micro-unit, on SQLite and on PostgreSQL.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait};
use service::audit::Actor;
use service::cdrs::files::{self, BATCH};
use service::entity::{cdr, ledger_entry};
use service::jobs::JobContext;

/// Calls in the file: enough batches that the kill lands in the middle.
const CALLS: usize = 8 * BATCH;
/// Each call: 60 s to an Indian mobile. Customer "Retail" 0.02/min on code 91; supplier
/// "Airtel deck" 0.015/min on code 9198 (see `service::testing::billing_world`).
const REVENUE: i64 = 20_000;
const COST: i64 = 15_000;

fn didtron(env: &service::testing::TestEnv, files_dir: &std::path::Path) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_didtron"));
    cmd.arg("serve")
        .env("DATABASE_URL", &env.database_url)
        .env("BIND_ADDR", "127.0.0.1:0")
        .env("DIDTRON_FILES_DIR", files_dir)
        .env("DIDTRON_WORKERS", "1")
        .env("DIDTRON_ADMIN_PASSWORD", "crash test password")
        .env("RUST_LOG", "warn")
        .env_remove("REDIS_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(redis) = &env.redis_url {
        cmd.env("REDIS_URL", redis)
            .env("REDIS_KEY_PREFIX", &env.kv_prefix);
    }
    cmd.spawn().expect("didtron starts")
}

async fn wait_for(
    db: &sea_orm::DatabaseConnection,
    id: i64,
    what: &str,
    limit: Duration,
    done: impl Fn(&domain::cdr::views::CdrImportView) -> bool,
) -> domain::cdr::views::CdrImportView {
    let started = Instant::now();
    loop {
        let view = files::import_view(db, id).await.unwrap();
        if done(&view) {
            return view;
        }
        assert!(
            started.elapsed() < limit,
            "{what} within {limit:?}: {} of {} rows, {} {}",
            view.rows_done,
            view.rows_total,
            view.status,
            view.error
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn a_worker_killed_mid_import_posts_every_call_exactly_once_after_restart() {
    for env in service::testing::backends().await {
        let db = &env.db;
        let files_dir =
            std::env::temp_dir().join(format!("didtron-crash-{}", uuid::Uuid::new_v4().simple()));
        let ctx = JobContext {
            db: db.clone(),
            files: service::files::Files::local(&files_dir).unwrap(),
            kv: env.kv.clone(),
        };
        let world = service::testing::billing_world(&ctx).await;
        let setup = Utc::now() - chrono::Duration::hours(2);
        let mut body = String::with_capacity(CALLS * 260);
        for i in 0..CALLS {
            let start = setup + chrono::Duration::milliseconds(i as i64);
            let epoch = format!(
                "{}.{:03}",
                start.timestamp(),
                start.timestamp_subsec_millis()
            );
            let end = start + chrono::Duration::seconds(60);
            body.push_str(&format!(
                "{{\"callid\":\"crash-{i}\",\"caller\":\"442070000000\",\"callee\":\"919812345678\",\"src_ip\":\"203.0.113.10\",\"route\":\"sip:198.51.100.7:5070\",\"sip_code\":\"200\",\"sip_reason\":\"OK\",\"start_time\":\"{epoch}\",\"end_time\":\"{}.{:03}\",\"duration\":\"60\"}}\n",
                end.timestamp(),
                end.timestamp_subsec_millis()
            ));
        }
        let import = files::upload(
            &ctx,
            &Actor::system(),
            "crash.ndjson",
            body.into_bytes(),
            Default::default(),
            true,
        )
        .await
        .unwrap();

        let mut worker = didtron(&env, &files_dir);
        let mid = wait_for(
            db,
            import.id,
            "the import starts",
            Duration::from_secs(180),
            |v| v.rows_done > 0 || v.status == "done",
        )
        .await;
        worker.kill().expect("SIGKILL");
        worker.wait().unwrap();
        assert!(
            mid.rows_done < CALLS as i64,
            "{}: killed mid-import ({} of {CALLS} rows done)",
            env.name,
            mid.rows_done
        );
        let stored_at_kill = cdr::Entity::find().count(db).await.unwrap();
        assert!(
            (stored_at_kill as usize) < CALLS,
            "{}: {stored_at_kill} stored when killed",
            env.name
        );

        // As if a minute passed: the dead worker's heartbeat is older than the stale
        // limit, so the next worker takes its job.
        let past = Utc::now() - chrono::Duration::minutes(5);
        db.execute_raw(sea_orm::Statement::from_sql_and_values(
            db.get_database_backend(),
            match db.get_database_backend() {
                sea_orm::DatabaseBackend::Postgres => {
                    "UPDATE jobs SET heartbeat_at = $1 WHERE status = 'running'"
                }
                _ => "UPDATE jobs SET heartbeat_at = ? WHERE status = 'running'",
            },
            [past.into()],
        ))
        .await
        .unwrap();

        let mut worker = didtron(&env, &files_dir);
        let done = wait_for(
            db,
            import.id,
            "the import finishes",
            Duration::from_secs(300),
            |v| v.status == "done" || v.status == "failed",
        )
        .await;
        worker.kill().unwrap();
        worker.wait().unwrap();
        assert_eq!(done.status, "done", "{}: {}", env.name, done.error);
        assert_eq!(done.rows_done, CALLS as i64);

        let n = CALLS as i64;
        assert_eq!(cdr::Entity::find().count(db).await.unwrap(), CALLS as u64);
        // Every call on the ledger once on each side: the usage entries of the
        // committed batches name CALLS calls per side and sum to their prices.
        let entries = ledger_entry::Entity::find().all(db).await.unwrap();
        for (kind, total) in [("revenue", -n * REVENUE), ("cost", n * COST)] {
            let side: Vec<_> = entries.iter().filter(|e| e.kind == kind).collect();
            let calls: i64 = side
                .iter()
                .map(|e| match e.memo.split_once(" calls, CDRs posted ") {
                    Some((calls, _)) => calls.parse::<i64>().unwrap(),
                    None => 1,
                })
                .sum();
            assert_eq!(
                calls, n,
                "{}: {kind} entries name every call once",
                env.name
            );
            let sum: i64 = side.iter().map(|e| e.amount_micros).sum();
            assert_eq!(sum, total, "{}: {kind}", env.name);
        }
        let customer = service::cdrs::balance(db, world.customer)
            .await
            .unwrap()
            .unwrap();
        let supplier = service::cdrs::balance(db, world.supplier)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(customer.balance_micros, -n * REVENUE, "{}", env.name);
        assert_eq!(supplier.balance_micros, n * COST, "{}", env.name);
        assert_eq!(
            service::cdrs::ledger_sum(db, world.customer).await.unwrap(),
            -n * REVENUE
        );
        assert!(service::cdrs::reconcile(db, false)
            .await
            .unwrap()
            .is_empty());
        env.cleanup().await;
        let _ = std::fs::remove_dir_all(files_dir);
    }
}
