//! System status: the instances that run (deploys), the metric samples every instance
//! flushes, the collector's snapshots and metric series, recent errors and slow queries,
//! performance budgets, alert rules and alerts, and the database leases scheduled work
//! takes (so the collector keeps one holder even while Redis is down).
//!
//! The default alert rules are seeded here, once; people edit or delete them afterwards.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

use crate::columns::{
    create, document, fk, flag, id, index, int, nullable_int, nullable_text, nullable_time, text,
    time,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// `(name, metric, comparison, threshold × 1000, severity, for seconds)`.
const DEFAULT_RULES: [(&str, &str, &str, i64, &str, i64); 11] = [
    (
        "Database unreachable",
        "database.up",
        "below",
        1_000,
        "critical",
        0,
    ),
    (
        "Redis unreachable",
        "redis.up",
        "below",
        1_000,
        "critical",
        0,
    ),
    (
        "File store unavailable",
        "storage.up",
        "below",
        1_000,
        "critical",
        0,
    ),
    (
        "No job worker alive",
        "jobs.workers_alive",
        "below",
        1_000,
        "critical",
        120,
    ),
    (
        "Job queue waiting",
        "jobs.oldest_queued_s",
        "above",
        300_000,
        "warning",
        0,
    ),
    (
        "Jobs failed in the last hour",
        "jobs.failed_1h",
        "above",
        0,
        "warning",
        0,
    ),
    (
        "Routing API failing",
        "route.error_pct",
        "above",
        1_000,
        "critical",
        60,
    ),
    (
        "Server errors (5xx)",
        "http.error_pct",
        "above",
        5_000,
        "warning",
        120,
    ),
    (
        "Performance budget breached",
        "budgets.breached",
        "above",
        0,
        "warning",
        0,
    ),
    ("Mail failing", "mail.failed_1h", "above", 0, "warning", 0),
    (
        "Status collector stopped",
        "collector.age_periods",
        "above",
        5_000,
        "critical",
        0,
    ),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut t = Table::create();
        t.table(Alias::new("status_instances")).if_not_exists();
        t.col(text("id", 64).primary_key())
            .col(text("host", 255))
            .col(int("pid", 0))
            .col(text("version", 64))
            .col(time("started_at"))
            .col(time("last_seen_at"))
            .col(int("workers", 0))
            .col(text("database", 32))
            .col(text("kv", 32));
        create(manager, t).await?;
        index(manager, "status_instances", &["started_at"], false).await?;

        let mut t = Table::create();
        t.table(Alias::new("status_samples")).if_not_exists();
        id(&mut t)
            .col(text("instance", 64))
            .col(time("flushed_at"))
            .col(text("kind", 32))
            .col(text("name", 255))
            .col(int("count", 0))
            .col(int("errors", 0))
            .col(document("counters"))
            .col(document("sketch"))
            .col(nullable_time("last_ok_at"))
            .col(nullable_time("last_error_at"));
        create(manager, t).await?;
        index(manager, "status_samples", &["flushed_at"], false).await?;

        let mut t = Table::create();
        t.table(Alias::new("status_snapshots")).if_not_exists();
        id(&mut t)
            .col(time("taken_at"))
            .col(text("resolution", 16))
            .col(text("level", 16))
            .col(document("body"))
            .col(int("bytes", 0));
        create(manager, t).await?;
        index(
            manager,
            "status_snapshots",
            &["resolution", "taken_at"],
            false,
        )
        .await?;
        index(manager, "status_snapshots", &["taken_at"], false).await?;

        let mut t = Table::create();
        t.table(Alias::new("status_metrics")).if_not_exists();
        id(&mut t)
            .col(time("taken_at"))
            .col(text("resolution", 16))
            .col(text("kind", 32))
            .col(text("name", 255))
            .col(int("per_min_milli", 0))
            .col(int("error_bp", 0))
            .col(int("p50_us", 0))
            .col(int("p95_us", 0))
            .col(int("p99_us", 0));
        create(manager, t).await?;
        index(
            manager,
            "status_metrics",
            &["kind", "name", "taken_at"],
            false,
        )
        .await?;
        index(manager, "status_metrics", &["taken_at"], false).await?;

        let mut t = Table::create();
        t.table(Alias::new("status_errors")).if_not_exists();
        id(&mut t)
            .col(time("occurred_at"))
            .col(text("instance", 64))
            .col(text("kind", 32))
            .col(text("name", 255))
            .col(int("status_code", 0))
            .col(text("correlation_id", 64));
        create(manager, t).await?;
        index(manager, "status_errors", &["occurred_at"], false).await?;

        let mut t = Table::create();
        t.table(Alias::new("status_slow_queries")).if_not_exists();
        id(&mut t)
            .col(time("occurred_at"))
            .col(text("instance", 64))
            .col(int("elapsed_us", 0))
            .col(document("statement"))
            .col(document("plan"));
        create(manager, t).await?;
        index(manager, "status_slow_queries", &["occurred_at"], false).await?;

        let mut t = Table::create();
        t.table(Alias::new("status_budgets")).if_not_exists();
        id(&mut t)
            .col(text("kind", 32))
            .col(text("name", 255))
            .col(text("percentile", 8))
            .col(int("budget_us", 0));
        create(manager, t).await?;
        index(manager, "status_budgets", &["kind", "name"], true).await?;

        let mut t = Table::create();
        t.table(Alias::new("status_alert_rules")).if_not_exists();
        id(&mut t)
            .col(text("name", 120))
            .col(text("metric", 64))
            .col(text("comparison", 8))
            .col(int("threshold_milli", 0))
            .col(text("severity", 16))
            .col(int("for_secs", 0))
            .col(document("recipients"))
            .col(flag("enabled", true))
            .col(nullable_time("breaching_since"));
        create(manager, t).await?;
        index(manager, "status_alert_rules", &["name"], true).await?;

        let mut t = Table::create();
        t.table(Alias::new("status_alerts")).if_not_exists();
        id(&mut t)
            .col(nullable_int("rule_id"))
            .col(text("key", 64))
            .col(text("name", 120))
            .col(text("severity", 16))
            .col(text("status", 16))
            .col(document("message"))
            .col(text("value", 64))
            .col(time("opened_at"))
            .col(nullable_time("acknowledged_at"))
            .col(nullable_text("acknowledged_by", 255))
            .col(nullable_time("resolved_at"))
            .foreign_key(&mut fk(
                "status_alerts",
                "rule_id",
                Alias::new("status_alert_rules"),
                ForeignKeyAction::SetNull,
            ));
        create(manager, t).await?;
        index(manager, "status_alerts", &["opened_at"], false).await?;
        index(manager, "status_alerts", &["status"], false).await?;
        // One unresolved alert per key, whichever instance raises it (both backends take
        // a partial index and `ON CONFLICT (key) WHERE resolved_at IS NULL`).
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX IF NOT EXISTS idx_status_alerts_open_key \
                 ON status_alerts (key) WHERE resolved_at IS NULL",
            )
            .await?;

        let mut t = Table::create();
        t.table(Alias::new("leases")).if_not_exists();
        t.col(text("name", 120).primary_key())
            .col(text("holder", 120))
            .col(time("expires_at"));
        create(manager, t).await?;

        // When a worker claimed the job (its wait = started_at - run_after: "job start").
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("jobs"))
                    .add_column(nullable_time("started_at"))
                    .to_owned(),
            )
            .await?;
        index(manager, "jobs", &["started_at"], false).await?;
        index(manager, "jobs", &["finished_at"], false).await?;

        let now = sea_orm_migration::sea_orm::prelude::ChronoUtc::now();
        for (name, metric, comparison, threshold, severity, for_secs) in DEFAULT_RULES {
            let insert = Query::insert()
                .into_table(Alias::new("status_alert_rules"))
                .columns([
                    Alias::new("name"),
                    Alias::new("metric"),
                    Alias::new("comparison"),
                    Alias::new("threshold_milli"),
                    Alias::new("severity"),
                    Alias::new("for_secs"),
                    Alias::new("recipients"),
                    Alias::new("enabled"),
                    Alias::new("created_at"),
                    Alias::new("updated_at"),
                ])
                .values_panic([
                    name.into(),
                    metric.into(),
                    comparison.into(),
                    threshold.into(),
                    severity.into(),
                    for_secs.into(),
                    "".into(),
                    true.into(),
                    now.into(),
                    now.into(),
                ])
                .to_owned();
            manager.exec_stmt(insert).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("jobs"))
                    .drop_column(Alias::new("started_at"))
                    .to_owned(),
            )
            .await?;
        for table in [
            "status_alerts",
            "status_alert_rules",
            "status_budgets",
            "status_slow_queries",
            "status_errors",
            "status_metrics",
            "status_snapshots",
            "status_samples",
            "status_instances",
            "leases",
        ] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
