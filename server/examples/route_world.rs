//! A running DIDTron priced and routed by the real Airtel deck, for load tests of the
//! routing API (`scripts/bench-route.sh`): a fresh SQLite database (or
//! `TEST_DATABASE_URL`'s PostgreSQL, with `TEST_REDIS_URL`), customer "Orbit Voice"
//! postpaid with room for every call, ingress 127.0.0.1, a least-cost routing plan to
//! Airtel (egress 127.0.0.1:15070), and a switch key.
//!
//! Prints `READY <base url> <api key>` on stdout once it serves, then serves until
//! stdin closes. Run: `cargo run --release -p server --example route_world`.

use std::io::Write;

/// The didtron binary's allocator (server/src/main.rs), so the load test measures it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use service::jobs::JobContext;

#[tokio::main]
async fn main() {
    let env = match service::testing::postgres_redis().await {
        Some(env) => env,
        None => service::testing::sqlite().await,
    };
    let (files, files_dir) = service::testing::files();
    let ctx = JobContext {
        db: env.db.clone(),
        files,
        kv: env.kv.clone(),
    };
    let world = service::testing::airtel_world(&ctx, "127.0.0.1", "127.0.0.1", "15070").await;
    service::testing::set_billing(&env.db, world.customer, "postpaid", "100000000").await;
    let airtel = service::testing::service_of(&env.db, world.egress).await;
    let retail = service::testing::service_of(&env.db, world.ingress).await;
    service::testing::routing_plan(&env.db, "Load", "lcr", &[("", airtel)], retail).await;

    let mut vars = vec![
        ("DATABASE_URL", env.database_url.clone()),
        ("DIDTRON_ADMIN_EMAIL", "root@didtron.test".to_owned()),
        ("DIDTRON_ADMIN_PASSWORD", "admin password 123".to_owned()),
        ("BIND_ADDR", "127.0.0.1:0".to_owned()),
        ("PUBLIC_URL", "http://didtron.test".to_owned()),
        ("DIDTRON_WORKERS", "0".to_owned()),
        (
            "DIDTRON_FILES_DIR",
            files_dir.to_string_lossy().into_owned(),
        ),
    ];
    if let Some(redis) = &env.redis_url {
        vars.push(("REDIS_URL", redis.clone()));
        vars.push(("REDIS_KEY_PREFIX", env.kv_prefix.clone()));
    }
    let config = server::config::Config::from_lookup(|k| {
        vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
    })
    .expect("configuration");
    let didtron = server::start(config).await.expect("server starts");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    println!("READY {base} {}", world.source_key);
    std::io::stdout().flush().unwrap();
    let closed = tokio::task::spawn_blocking(|| {
        let mut sink = String::new();
        while std::io::stdin().read_line(&mut sink).unwrap_or(0) > 0 {}
    });
    didtron
        .serve(listener, async move {
            let _ = closed.await;
        })
        .await
        .unwrap();
    env.cleanup().await;
    let _ = std::fs::remove_dir_all(files_dir);
}
