//! System Status against a real server, on SQLite and on PostgreSQL, collecting every
//! second: a real Redis stopped under it turns the status red within two collector
//! cycles while the portals keep serving (sessions and sign-in fall back to the
//! database and the process), and green again when it is back; a collector that cannot
//! run makes the snapshot stale, then stopped with a critical alert, and recovers; a
//! server function slowed down (test-only delay) is shown over its budget.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use domain::status::{Health, Level, Staleness, StatusView};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use service::entity::{lease, status_snapshot};

use crate::support::*;

/// A Redis of this test's own on `port` (the machine's shared one serves other tests).
struct OwnRedis {
    child: Child,
    port: u16,
}

impl OwnRedis {
    fn start(port: u16) -> OwnRedis {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed (scripts/setup.sh --test)");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "redis on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        OwnRedis { child, port }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn status(b: &Browser) -> StatusView {
    let res = b.get("/fn/admin/status").await;
    assert_eq!(res.status(), 200, "the status reads");
    res.json().await.unwrap()
}

/// Polls the status until `check` holds, for at most `within`.
async fn until(
    b: &Browser,
    within: Duration,
    what: &str,
    check: impl Fn(&StatusView) -> bool,
) -> StatusView {
    let started = Instant::now();
    loop {
        let v = status(b).await;
        if check(&v) {
            return v;
        }
        assert!(
            started.elapsed() < within,
            "never within {within:?}: {what}: {v:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn redis_health(v: &StatusView) -> Option<Health> {
    v.snapshot.as_ref()?.check("redis").map(|c| c.health)
}

#[tokio::test]
async fn redis_stopped_turns_the_status_red_within_two_cycles_while_the_portals_serve() {
    for env in service::testing::backends().await {
        let mut redis = OwnRedis::start(free_port());
        let url = redis.url();
        let s = spawn(
            env,
            &[("REDIS_URL", url.as_str()), ("STATUS_COLLECT_SECS", "1")],
        )
        .await;
        let n = s.name();
        let b = s.browser();
        assert_eq!(
            b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD, "").await.0,
            200,
            "{n}"
        );
        until(&b, Duration::from_secs(20), "Redis answers", |v| {
            redis_health(v) == Some(Health::Ok)
        })
        .await;

        redis.stop();
        let stopped_at = Utc::now();
        let red = until(&b, Duration::from_secs(30), "red with Redis down", |v| {
            v.snapshot.as_ref().and_then(|s| s.level) == Some(Level::Red)
        })
        .await;
        let snap = red.snapshot.unwrap();
        assert_eq!(snap.check("redis").unwrap().health, Health::Down, "{n}");
        assert!(
            snap.reasons.iter().any(|r| r == "Redis is down"),
            "{n}: {:?}",
            snap.reasons
        );
        // Within two cycles: one of the first two snapshots begun after the stop is red.
        // The red one seen above may have begun just before the stop (its Redis check
        // ran after it), so wait until two cycles begun after the stop are stored.
        let levels_after_stop = || async {
            status_snapshot::Entity::find()
                .filter(status_snapshot::Column::TakenAt.gt(stopped_at))
                .order_by_asc(status_snapshot::Column::TakenAt)
                .all(&s.env.db)
                .await
                .unwrap()
                .into_iter()
                .map(|r| r.level)
                .collect::<Vec<String>>()
        };
        let waiting = Instant::now();
        let mut after = levels_after_stop().await;
        while after.len() < 2 && waiting.elapsed() < Duration::from_secs(15) {
            tokio::time::sleep(Duration::from_millis(200)).await;
            after = levels_after_stop().await;
        }
        assert!(
            after.iter().take(2).any(|l| l == "red"),
            "{n}: levels after the stop: {after:?}"
        );
        // The portals keep serving: the signed-in admin's pages and server functions,
        // a new sign-in, and the customer portal.
        let page = b.get("/admin/status").await;
        assert_eq!(page.status(), 200, "{n}: the admin portal serves");
        assert!(
            page.text().await.unwrap().contains(ADMIN_EMAIL),
            "{n}: still signed in"
        );
        assert_eq!(b.get("/fn/admin/dashboard").await.status(), 200, "{n}");
        let customer = s.browser();
        assert_eq!(
            customer
                .sign_in(CUSTOMER_EMAIL, CUSTOMER_PASSWORD, "")
                .await
                .0,
            200,
            "{n}: signing in works without Redis"
        );
        assert_eq!(customer.get("/portal").await.status(), 200, "{n}");
        let open = service::status::alerts::alerts(&s.env.db, false, 50)
            .await
            .unwrap();
        assert!(
            open.iter().any(|a| a.name == "Redis unreachable"),
            "{n}: its critical alert is open: {open:?}"
        );

        // Back: green (or yellow) again, the alert resolved.
        let _again = OwnRedis::start(redis.port);
        let back = until(&b, Duration::from_secs(30), "Redis back", |v| {
            redis_health(v) == Some(Health::Ok)
                && v.snapshot.as_ref().and_then(|s| s.level) != Some(Level::Red)
        })
        .await;
        assert_eq!(back.snapshot.unwrap().alerts.critical, 0, "{n}: resolved");
        assert_eq!(b.get("/admin/status").await.status(), 200, "{n}");
        s.stop().await;
    }
}

#[tokio::test]
async fn a_collector_that_cannot_run_goes_stale_then_stopped_with_its_alert_and_recovers() {
    for env in service::testing::backends().await {
        let s = spawn(env, &[("STATUS_COLLECT_SECS", "1")]).await;
        let n = s.name();
        let b = s.browser();
        assert_eq!(
            b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD, "").await.0,
            200,
            "{n}"
        );
        until(&b, Duration::from_secs(20), "a fresh snapshot", |v| {
            v.staleness == Staleness::Fresh
        })
        .await;
        // Another "instance" holds the collector's lease and never collects.
        lease::Entity::update_many()
            .col_expr(lease::Column::Holder, Expr::value("hung-instance"))
            .col_expr(
                lease::Column::ExpiresAt,
                Expr::value(Utc::now() + chrono::Duration::hours(1)),
            )
            .exec(&s.env.db)
            .await
            .unwrap();
        let stale = until(&b, Duration::from_secs(20), "stale", |v| {
            v.staleness == Staleness::Stale
        })
        .await;
        assert!(stale.age_secs.unwrap() > 2, "{n}: over two periods");
        let stopped = until(&b, Duration::from_secs(20), "stopped", |v| {
            v.staleness == Staleness::Stopped
        })
        .await;
        assert!(stopped.age_secs.unwrap() > 5, "{n}");
        // Its critical alert, raised by the instance that cannot collect.
        let started = Instant::now();
        loop {
            let open = service::status::alerts::alerts(&s.env.db, false, 50)
                .await
                .unwrap();
            if open.iter().any(|a| a.name == "Status collector stopped") {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(15), "{n}: {open:?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let badge: domain::status::StatusBadge =
            b.get("/fn/admin/status/badge").await.json().await.unwrap();
        assert_eq!(badge.staleness, Staleness::Stopped, "{n}");
        assert!(badge.unresolved_alerts >= 1, "{n}");

        // The hung instance lets go: collecting again, the alert resolves.
        lease::Entity::delete_many().exec(&s.env.db).await.unwrap();
        until(&b, Duration::from_secs(20), "fresh again", |v| {
            v.staleness == Staleness::Fresh
        })
        .await;
        let started = Instant::now();
        loop {
            let open = service::status::alerts::alerts(&s.env.db, false, 50)
                .await
                .unwrap();
            if !open.iter().any(|a| a.name == "Status collector stopped") {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(15), "{n}: {open:?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        s.stop().await;
    }
}

#[tokio::test]
async fn a_slow_server_function_is_shown_over_its_budget() {
    for env in service::testing::backends().await {
        let s = spawn(
            env,
            &[
                ("STATUS_COLLECT_SECS", "1"),
                ("DIDTRON_TEST_DELAY", "/fn/admin/dashboard=320"),
            ],
        )
        .await;
        let n = s.name();
        let b = s.browser();
        assert_eq!(
            b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD, "").await.0,
            200,
            "{n}"
        );
        for _ in 0..5 {
            let res = b.get("/fn/admin/dashboard").await;
            assert_eq!(res.status(), 200, "{n}");
            let took = res.headers()["x-response-time"]
                .to_str()
                .unwrap()
                .to_owned();
            assert!(
                took.trim_end_matches("ms").parse::<f64>().unwrap() >= 320.0,
                "{n}: {took}"
            );
        }
        let v = until(
            &b,
            Duration::from_secs(20),
            "the dashboard over budget",
            |v| {
                v.snapshot.as_ref().is_some_and(|s| {
                    s.operations
                        .iter()
                        .any(|o| o.name == "/fn/admin/dashboard" && o.count >= 5 && o.breached)
                })
            },
        )
        .await;
        let snap = v.snapshot.unwrap();
        let dash = snap
            .operations
            .iter()
            .find(|o| o.name == "/fn/admin/dashboard")
            .unwrap();
        assert!(dash.p95_us >= 320_000, "{n}: p95 {}", dash.p95_us);
        assert_eq!(dash.budget.as_ref().unwrap().budget_us, 200_000, "{n}");
        assert_ne!(snap.level, Some(Level::Green), "{n}: {:?}", snap.reasons);
        assert!(
            snap.reasons
                .iter()
                .any(|r| r.contains("fn /fn/admin/dashboard")),
            "{n}: {:?}",
            snap.reasons
        );
        s.stop().await;
    }
}
