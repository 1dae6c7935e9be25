//! System Status (`service::status`) on SQLite and on PostgreSQL + Redis: a cycle
//! measures every dependency and the operations every instance recorded, judges them
//! against their budgets, opens and resolves alerts, and writes one snapshot; one
//! instance collects while the others watch it; a stopped collector raises its alert;
//! rules hold for their duration, alert once and are acknowledged with an audit entry;
//! old snapshots are downsampled to one per hour.

use std::time::Duration;

use chrono::Utc;
use domain::status::{AlertRuleForm, AlertStatus, BudgetForm, Health, Level, Staleness};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::NotSet, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    Set,
};
use service::audit::Actor;
use service::entity::{audit_entry, mail_outbox, status_metric, status_snapshot};
use service::status::{self, alerts, budgets, views, Recorder, StatusContext};
use service::testing::{self, TestEnv};

fn actor() -> Actor {
    Actor {
        user_id: None,
        email: "ops@didtron.test".into(),
    }
}

async fn context(env: &TestEnv, files: &service::files::Files, period: u64) -> StatusContext {
    let ctx = StatusContext {
        db: env.db.clone(),
        kv: env.kv.clone(),
        files: files.clone(),
        mailer: None,
        recorder: Recorder::new(&uuid::Uuid::now_v7().to_string()),
        period: Duration::from_secs(period),
        caches: vec![],
    };
    status::register(
        &ctx,
        &status::InstanceInfo {
            host: "test-host".into(),
            pid: 42,
            version: "0.1.0".into(),
            workers: 1,
        },
    )
    .await
    .unwrap();
    ctx
}

#[tokio::test]
async fn a_cycle_measures_judges_alerts_and_writes_one_snapshot() {
    for env in testing::backends().await {
        let (files, dir) = testing::files();
        let ctx = context(&env, &files, 60).await;
        let n = env.name;
        // A dashboard 250 ms slow (its budget: p95 200 ms) and a healthy routing API.
        for i in 0..20 {
            ctx.recorder.record(
                "fn",
                "/fn/admin/dashboard",
                Duration::from_millis(240 + i),
                true,
                Some("200"),
            );
            ctx.recorder.record(
                "api",
                domain::status::ROUTE_API,
                Duration::from_micros(400 + i * 10),
                true,
                Some("200"),
            );
        }
        ctx.recorder.record(
            "fn",
            "/fn/admin/carriers",
            Duration::from_millis(5),
            false,
            Some("500"),
        );
        ctx.recorder
            .error("fn", "/fn/admin/carriers", 500, "0190-correlation");
        ctx.recorder.record(
            "page",
            "/admin/carriers",
            Duration::from_millis(40),
            true,
            Some("200"),
        );
        for ok in [true, true, false] {
            ctx.recorder
                .record("auth", "sign_in", Duration::from_millis(30), ok, None);
        }

        let tick = status::tick(&ctx, 0).await.unwrap();
        assert_eq!(tick.flushed, 5, "{n}: one sample per operation");
        let (_, bytes) = tick.snapshot.expect("the first instance collects");
        assert!(bytes > 1000, "{n}: {bytes} bytes");

        let view = views::view(&env.db, 60).await.unwrap();
        assert_eq!(view.staleness, Staleness::Fresh, "{n}");
        let s = view.snapshot.unwrap();
        assert_eq!(s.level, Some(Level::Yellow), "{n}: {:?}", s.reasons);
        assert!(
            s.reasons
                .iter()
                .any(|r| r.contains("fn /fn/admin/dashboard")),
            "{n}: {:?}",
            s.reasons
        );
        let health = |name: &str| s.check(name).unwrap().health;
        assert_eq!(health("database"), Health::Ok, "{n}");
        assert_eq!(health("storage"), Health::Ok, "{n}");
        assert_eq!(health("jobs"), Health::Ok, "{n}");
        assert_eq!(
            health("redis"),
            if env.redis_url.is_some() {
                Health::Ok
            } else {
                Health::NotConfigured
            },
            "{n}"
        );
        assert_eq!(health("mail"), Health::NotConfigured, "{n}");
        let dash = s
            .operations
            .iter()
            .find(|o| o.name == "/fn/admin/dashboard")
            .unwrap();
        assert_eq!(dash.count, 20, "{n}");
        assert!(
            (245_000..=265_000).contains(&dash.p95_us),
            "{n}: p95 of 240..259 ms is {}",
            dash.p95_us
        );
        assert!(dash.breached, "{n}: over its 200 ms budget");
        let route = s
            .operations
            .iter()
            .find(|o| o.name == domain::status::ROUTE_API)
            .unwrap();
        assert!(!route.breached, "{n}: well under 5 ms");
        assert_eq!(route.budget.as_ref().unwrap().budget_us, 5_000, "{n}");
        let failing = s
            .operations
            .iter()
            .find(|o| o.name == "/fn/admin/carriers")
            .unwrap();
        assert_eq!(
            (failing.count, failing.errors, failing.error_bp),
            (1, 1, 10_000),
            "{n}"
        );
        assert_eq!(
            (s.portals.sign_ins_24h, s.portals.sign_in_failures_24h),
            (2, 1),
            "{n}"
        );
        assert_eq!(s.jobs.workers.len(), 1, "{n}: this instance runs a worker");
        assert!(s.jobs.workers[0].alive, "{n}");
        assert!(!s.database.migration.is_empty(), "{n}");
        assert!(s.database.size_bytes > 0, "{n}");
        assert!(
            s.database.tables.iter().any(|t| t.name == "cdrs"),
            "{n}: {:?}",
            s.database.tables
        );
        let errors = views::recent_errors(&env.db, 10).await.unwrap();
        assert_eq!(errors.len(), 1, "{n}");
        assert_eq!(errors[0].correlation_id, "0190-correlation", "{n}");
        // The series of the trend charts.
        let series = status_metric::Entity::find().count(&env.db).await.unwrap();
        assert_eq!(series, 4, "{n}: one point per operation");
        let trend = views::trend(&env.db, "fn", "/fn/admin/dashboard", 24)
            .await
            .unwrap();
        assert_eq!(trend.p95.len(), 1, "{n}");
        // The budget breach and the 5xx share opened their alerts (both warnings).
        let open = alerts::alerts(&env.db, false, 50).await.unwrap();
        let names: Vec<&str> = open.iter().map(|a| a.name.as_str()).collect();
        assert!(
            names.contains(&"Performance budget breached"),
            "{n}: {names:?}"
        );
        let badge = views::badge(&env.db, 60).await.unwrap();
        assert_eq!(badge.level, Some(Level::Yellow), "{n}");
        assert_eq!(badge.unresolved_alerts, open.len() as i64, "{n}");

        // A budget of 500 ms for the dashboard: within it next cycle, and the alert
        // resolves by itself.
        let saved = budgets::save(
            &env.db,
            &actor(),
            &BudgetForm {
                kind: "fn".into(),
                name: "/fn/admin/dashboard".into(),
                percentile: "p95".into(),
                budget_ms: "500".into(),
            },
        )
        .await
        .unwrap();
        assert_eq!(saved.budget_us, 500_000, "{n}");
        let audited = audit_entry::Entity::find()
            .filter(audit_entry::Column::Entity.eq(budgets::ENTITY))
            .count(&env.db)
            .await
            .unwrap();
        assert_eq!(audited, 1, "{n}: the budget change is audited");
        status::tick(&ctx, 1).await.unwrap();
        let s = views::newest(&env.db).await.unwrap().unwrap();
        let dash = s
            .operations
            .iter()
            .find(|o| o.name == "/fn/admin/dashboard")
            .unwrap();
        assert!(!dash.breached, "{n}");
        assert_eq!(dash.budget.as_ref().unwrap().source, "own", "{n}");
        let still: Vec<String> = alerts::alerts(&env.db, false, 50)
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.name)
            .collect();
        assert!(
            !still.contains(&"Performance budget breached".to_owned()),
            "{n}: {still:?}"
        );
        let history = alerts::alerts(&env.db, true, 50).await.unwrap();
        assert!(
            history
                .iter()
                .any(|a| a.name == "Performance budget breached"
                    && a.status == AlertStatus::Resolved),
            "{n}"
        );
        let _ = std::fs::remove_dir_all(dir);
        env.cleanup().await;
    }
}

#[tokio::test]
async fn one_instance_collects_and_the_others_raise_the_alert_when_it_stops() {
    for env in testing::backends().await {
        let (files, dir) = testing::files();
        let n = env.name;
        let a = context(&env, &files, 60).await;
        let b = context(&env, &files, 60).await;
        // Mail the collector alert to the NOC.
        let rules = alerts::rules(&env.db).await.unwrap();
        let stopped = rules
            .iter()
            .find(|r| r.form.metric == alerts::COLLECTOR_AGE)
            .unwrap();
        alerts::save_rule(
            &env.db,
            &actor(),
            Some(stopped.id),
            &AlertRuleForm {
                recipients: "noc@didtron.test".into(),
                ..stopped.form.clone()
            },
        )
        .await
        .unwrap();

        assert!(status::tick(&a, 0).await.unwrap().snapshot.is_some(), "{n}");
        assert!(
            status::tick(&b, 0).await.unwrap().snapshot.is_none(),
            "{n}: the lease is A's"
        );
        assert_eq!(
            status_snapshot::Entity::find()
                .count(&env.db)
                .await
                .unwrap(),
            1,
            "{n}: one snapshot per cycle"
        );

        // A stops: its snapshot ages 6 periods; B, still not holding the lease, sees it.
        service::entity::lease::Entity::update_many()
            .col_expr(
                service::entity::lease::Column::ExpiresAt,
                Expr::value(Utc::now() + chrono::Duration::hours(1)),
            )
            .exec(&env.db)
            .await
            .unwrap();
        status_snapshot::Entity::update_many()
            .col_expr(
                status_snapshot::Column::TakenAt,
                Expr::value(Utc::now() - chrono::Duration::seconds(6 * 60 + 30)),
            )
            .exec(&env.db)
            .await
            .unwrap();
        assert_eq!(
            views::view(&env.db, 60).await.unwrap().staleness,
            Staleness::Stopped,
            "{n}"
        );
        assert!(status::tick(&b, 1).await.unwrap().snapshot.is_none(), "{n}");
        let open = alerts::alerts(&env.db, false, 50).await.unwrap();
        let alert = open
            .iter()
            .find(|a| a.name == "Status collector stopped")
            .unwrap_or_else(|| panic!("{n}: {open:?}"));
        assert_eq!(alert.severity, domain::status::Severity::Critical, "{n}");
        assert!(alert.value.starts_with("6.5"), "{n}: {}", alert.value);
        assert!(alert.value.ends_with(" periods"), "{n}: {}", alert.value);
        let mails = mail_outbox::Entity::find()
            .filter(mail_outbox::Column::Kind.eq("status_alert"))
            .all(&env.db)
            .await
            .unwrap();
        assert_eq!(mails.len(), 1, "{n}");
        assert_eq!(mails[0].recipients, "noc@didtron.test", "{n}");
        assert!(mails[0].subject.contains("Status collector stopped"), "{n}");
        // Again: still one alert, one mail.
        status::tick(&b, 2).await.unwrap();
        assert_eq!(
            mail_outbox::Entity::find().count(&env.db).await.unwrap(),
            1,
            "{n}: an open alert is not mailed twice"
        );

        // A's lease runs out; A collects again and the alert resolves.
        env.db
            .execute_unprepared("DELETE FROM leases")
            .await
            .unwrap();
        assert!(status::tick(&a, 3).await.unwrap().snapshot.is_some(), "{n}");
        let open = alerts::alerts(&env.db, false, 50).await.unwrap();
        assert!(
            !open.iter().any(|a| a.name == "Status collector stopped"),
            "{n}: {open:?}"
        );
        assert_eq!(
            mail_outbox::Entity::find().count(&env.db).await.unwrap(),
            2,
            "{n}: the resolution is mailed"
        );
        let _ = std::fs::remove_dir_all(dir);
        env.cleanup().await;
    }
}

#[tokio::test]
async fn a_rule_holds_for_its_duration_alerts_once_and_is_acknowledged_on_record() {
    for env in testing::backends().await {
        let db = &env.db;
        let n = env.name;
        let bad = alerts::save_rule(
            db,
            &actor(),
            None,
            &AlertRuleForm {
                name: "Queue".into(),
                metric: "jobs.queued".into(),
                comparison: "sideways".into(),
                threshold: "x".into(),
                severity: "critical".into(),
                for_secs: "60".into(),
                recipients: "".into(),
                enabled: true,
            },
        )
        .await
        .unwrap_err();
        let service::ServiceError::Validation(fields) = bad else {
            panic!("{n}: {bad:?}")
        };
        assert!(fields.get("comparison").is_some() && fields.get("threshold").is_some());
        let id = alerts::save_rule(
            db,
            &actor(),
            None,
            &AlertRuleForm {
                name: "Queue backing up".into(),
                metric: "jobs.queued".into(),
                comparison: "above".into(),
                threshold: "2".into(),
                severity: "critical".into(),
                for_secs: "60".into(),
                recipients: "ops@carrier.example".into(),
                enabled: true,
            },
        )
        .await
        .unwrap();
        let taken = alerts::save_rule(
            db,
            &actor(),
            None,
            &AlertRuleForm {
                name: "Queue backing up".into(),
                metric: "jobs.queued".into(),
                comparison: "above".into(),
                threshold: "1".into(),
                severity: "warning".into(),
                for_secs: "0".into(),
                recipients: "".into(),
                enabled: true,
            },
        )
        .await
        .unwrap_err();
        assert!(
            matches!(&taken, service::ServiceError::Validation(f) if f.get("name").is_some()),
            "{n}: {taken:?}"
        );
        let t0 = Utc::now();
        let five = [("jobs.queued".to_owned(), 5.0)];
        let only = Some("jobs.queued");
        let e = alerts::evaluate(db, &five, t0, only).await.unwrap();
        assert!(e.opened.is_empty(), "{n}: not for 60 s yet");
        let e = alerts::evaluate(db, &five, t0 + chrono::Duration::seconds(30), only)
            .await
            .unwrap();
        assert!(e.opened.is_empty(), "{n}");
        let e = alerts::evaluate(db, &five, t0 + chrono::Duration::seconds(61), only)
            .await
            .unwrap();
        assert_eq!(e.opened, ["Queue backing up"], "{n}");
        let e = alerts::evaluate(db, &five, t0 + chrono::Duration::seconds(120), only)
            .await
            .unwrap();
        assert!(e.opened.is_empty(), "{n}: once");
        let open = alerts::alerts(db, false, 10).await.unwrap();
        let alert = open.iter().find(|a| a.name == "Queue backing up").unwrap();
        assert_eq!(alert.value, "5 jobs", "{n}");
        assert!(
            alert.message.contains("above the threshold of 2 jobs"),
            "{n}: {}",
            alert.message
        );
        alerts::acknowledge(db, &actor(), alert.id).await.unwrap();
        let again = alerts::acknowledge(db, &actor(), alert.id)
            .await
            .unwrap_err();
        assert!(matches!(again, service::ServiceError::Conflict(_)), "{n}");
        let acked = audit_entry::Entity::find()
            .filter(audit_entry::Column::Entity.eq(alerts::ALERT_ENTITY))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(acked.actor_email, "ops@didtron.test", "{n}");
        assert!(
            acked.changes.contains("acknowledged"),
            "{n}: {}",
            acked.changes
        );
        let one = [("jobs.queued".to_owned(), 1.0)];
        let e = alerts::evaluate(db, &one, t0 + chrono::Duration::seconds(180), only)
            .await
            .unwrap();
        assert_eq!(e.resolved, ["Queue backing up"], "{n}");
        let mails: Vec<String> = mail_outbox::Entity::find()
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.subject)
            .collect();
        assert_eq!(
            mails,
            [
                "[DIDTron Critical] Queue backing up",
                "[DIDTron resolved] Queue backing up"
            ],
            "{n}"
        );
        alerts::delete_rule(db, &actor(), id).await.unwrap();
        assert!(
            alerts::rules(db).await.unwrap().iter().all(|r| r.id != id),
            "{n}"
        );
        env.cleanup().await;
    }
}

#[tokio::test]
async fn snapshots_older_than_a_week_become_one_per_hour_and_go_after_90_days() {
    for env in testing::backends().await {
        let db = &env.db;
        let n = env.name;
        let base = Utc::now() - chrono::Duration::days(9);
        let hour = chrono::DateTime::from_timestamp(base.timestamp() / 3600 * 3600, 0).unwrap();
        let now = Utc::now();
        for (minute, level) in [
            (0, "green"),
            (10, "red"),
            (59, "green"),
            (60, "yellow"),
            (90, "green"),
        ] {
            let at = hour + chrono::Duration::minutes(minute);
            status_snapshot::Entity::insert(status_snapshot::ActiveModel {
                id: NotSet,
                taken_at: Set(at),
                resolution: Set("minute".into()),
                level: Set(level.into()),
                body: Set("{}".into()),
                bytes: Set(2),
                created_at: Set(now),
                updated_at: Set(now),
            })
            .exec(db)
            .await
            .unwrap();
            for (p95, name) in [(minute * 1000, "/fn/a")] {
                status_metric::Entity::insert(status_metric::ActiveModel {
                    id: NotSet,
                    taken_at: Set(at),
                    resolution: Set("minute".into()),
                    kind: Set("fn".into()),
                    name: Set(name.into()),
                    per_min_milli: Set(60_000),
                    error_bp: Set(minute),
                    p50_us: Set(1),
                    p95_us: Set(p95),
                    p99_us: Set(p95),
                    created_at: Set(now),
                    updated_at: Set(now),
                })
                .exec(db)
                .await
                .unwrap();
            }
        }
        // Past 90 days even the hourly rows go; inside a week minutes stay minutes.
        for (days, resolution, level) in [(91, "hour", "red"), (1, "minute", "green")] {
            status_snapshot::Entity::insert(status_snapshot::ActiveModel {
                id: NotSet,
                taken_at: Set(now - chrono::Duration::days(days)),
                resolution: Set(resolution.into()),
                level: Set(level.into()),
                body: Set("{}".into()),
                bytes: Set(2),
                created_at: Set(now),
                updated_at: Set(now),
            })
            .exec(db)
            .await
            .unwrap();
        }
        status::collect::retain(db, now).await.unwrap();
        let mut kept: Vec<(String, String)> = status_snapshot::Entity::find()
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .map(|s| (s.resolution, s.level))
            .collect();
        kept.sort();
        assert_eq!(
            kept,
            [
                ("hour".to_owned(), "red".to_owned()),
                ("hour".to_owned(), "yellow".to_owned()),
                ("minute".to_owned(), "green".to_owned())
            ],
            "{n}: 91 days old is gone, yesterday's minute stays"
        );
        let mut series: Vec<(String, i64, i64)> = status_metric::Entity::find()
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .map(|m| (m.resolution, m.p95_us, m.per_min_milli))
            .collect();
        series.sort();
        assert_eq!(
            series,
            [
                ("hour".to_owned(), 59_000, 60_000),
                ("hour".to_owned(), 90_000, 60_000)
            ],
            "{n}: the worst minute, the mean rate"
        );
        env.cleanup().await;
    }
}

#[tokio::test]
async fn slow_statements_are_kept_with_their_plan_on_postgresql() {
    for env in testing::backends().await {
        let n = env.name;
        let recorder = Recorder::new("slow-test");
        let mut db = service::db::connect(&env.database_url, 2).await.unwrap();
        db.set_metric_callback(recorder.statement_callback());
        let slow = match db.get_database_backend() {
            sea_orm::DatabaseBackend::Postgres => "SELECT pg_sleep(0.6)".to_owned(),
            _ => "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000000) \
                  SELECT count(*) FROM c"
                .to_owned(),
        };
        let started = std::time::Instant::now();
        db.query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            slow.clone(),
        ))
        .await
        .unwrap();
        assert!(
            started.elapsed() >= status::recorder::SLOW_QUERY,
            "{n}: the statement is slow ({:?})",
            started.elapsed()
        );
        recorder.flush(&db).await.unwrap();
        let kept = views::slow_queries(&db, 10).await.unwrap();
        assert_eq!(kept.len(), 1, "{n}");
        assert_eq!(kept[0].statement, slow, "{n}");
        assert!(kept[0].elapsed_us >= 500_000, "{n}");
        if env.redis_url.is_some() {
            assert!(kept[0].plan.contains("Result"), "{n}: {}", kept[0].plan);
        } else {
            assert!(kept[0].plan.is_empty(), "{n}");
        }
        let _ = db.close().await;
        env.cleanup().await;
    }
}
