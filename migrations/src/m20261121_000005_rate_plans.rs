//! Rate plans: supplier decks and customer plans, their revisions and rates, rate-deck
//! imports, the column mapping remembered per supplier, services' plans, and the
//! durable job queue imports run on.
//!
//! Rates are never edited in place: a revision adds rows; the only later write to a row
//! is closing it (`effective_to`, `closed_by_revision_id`) when a later revision
//! replaces or removes its code.

use sea_orm_migration::prelude::*;

use crate::columns::{
    create, document, fk, id, index, int, nullable_int, nullable_text, nullable_time, text, time,
};
use crate::m20261121_000001_carriers::Carriers;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut t = Table::create();
        t.table(Alias::new("rate_plans")).if_not_exists();
        id(&mut t)
            .col(text("name", 100).unique_key())
            .col(text("kind", 16))
            .col(text("currency", 3))
            .col(nullable_int("carrier_id"))
            .col(int("increment_first", 60))
            .col(int("increment_next", 60))
            .col(int("minimum_s", 0))
            .col(int("grace_s", 0))
            .col(int("connection_fee_micros", 0))
            .col(int("rounding_decimals", 6))
            .col(text("rounding", 16))
            .col(int("notice_days", 7))
            .col(text("notice_action", 16))
            .col(text("description", 500))
            .col(nullable_int("live_revision_id"))
            .foreign_key(&mut fk(
                "rate_plans",
                "carrier_id",
                Carriers::Table,
                ForeignKeyAction::Restrict,
            ));
        create(manager, t).await?;
        index(manager, "rate_plans", &["carrier_id"], false).await?;

        let mut t = Table::create();
        t.table(Alias::new("rate_revisions")).if_not_exists();
        id(&mut t)
            .col(
                ColumnDef::new(Alias::new("rate_plan_id"))
                    .big_integer()
                    .not_null(),
            )
            .col(
                ColumnDef::new(Alias::new("number"))
                    .big_integer()
                    .not_null(),
            )
            .col(text("source", 16))
            .col(nullable_int("import_id"))
            .col(int("new_codes", 0))
            .col(int("increases", 0))
            .col(int("decreases", 0))
            .col(int("unchanged", 0))
            .col(int("removed", 0))
            .col(text("published_by", 254))
            .col(time("published_at"))
            .col(text("note", 500))
            .foreign_key(&mut fk(
                "rate_revisions",
                "rate_plan_id",
                Alias::new("rate_plans"),
                ForeignKeyAction::Cascade,
            ));
        create(manager, t).await?;
        index(manager, "rate_revisions", &["rate_plan_id", "number"], true).await?;

        let mut t = Table::create();
        t.table(Alias::new("rates")).if_not_exists();
        id(&mut t)
            .col(
                ColumnDef::new(Alias::new("rate_plan_id"))
                    .big_integer()
                    .not_null(),
            )
            .col(
                ColumnDef::new(Alias::new("revision_id"))
                    .big_integer()
                    .not_null(),
            )
            .col(text("prefix", 15))
            .col(text("destination", 200))
            .col(text("destination_key", 200))
            .col(
                ColumnDef::new(Alias::new("rate_micros"))
                    .big_integer()
                    .not_null(),
            )
            .col(int("connection_fee_micros", 0))
            .col(int("increment_first", 60))
            .col(int("increment_next", 60))
            .col(int("minimum_s", 0))
            .col(int("grace_s", 0))
            .col(time("effective_from"))
            .col(nullable_time("effective_to"))
            .col(text("change", 16))
            .col(nullable_int("closed_by_revision_id"))
            .foreign_key(&mut fk(
                "rates",
                "rate_plan_id",
                Alias::new("rate_plans"),
                ForeignKeyAction::Cascade,
            ))
            .foreign_key(&mut fk(
                "rates",
                "revision_id",
                Alias::new("rate_revisions"),
                ForeignKeyAction::Cascade,
            ));
        create(manager, t).await?;
        // Lookups by code (rating, the Rates tab's code search, keyset order), by
        // destination (the Rates tab's name search), and per revision (diffs, export).
        index(
            manager,
            "rates",
            &["rate_plan_id", "prefix", "effective_from"],
            false,
        )
        .await?;
        index(
            manager,
            "rates",
            &["rate_plan_id", "destination_key"],
            false,
        )
        .await?;
        index(manager, "rates", &["revision_id"], false).await?;

        let mut t = Table::create();
        t.table(Alias::new("rate_imports")).if_not_exists();
        id(&mut t)
            .col(
                ColumnDef::new(Alias::new("rate_plan_id"))
                    .big_integer()
                    .not_null(),
            )
            .col(text("file_name", 255))
            .col(text("file_key", 255))
            .col(int("file_size", 0))
            .col(text("status", 16))
            .col(document("options"))
            .col(int("rows_done", 0))
            .col(int("rows_total", 0))
            .col(int("rows_per_s", 0))
            .col(document("preview"))
            .col(document("report"))
            .col(text("error", 2000))
            .col(nullable_int("base_revision_id"))
            .col(nullable_int("revision_id"))
            .col(text("created_by", 254))
            .col(nullable_time("started_at"))
            .col(nullable_time("finished_at"))
            .foreign_key(&mut fk(
                "rate_imports",
                "rate_plan_id",
                Alias::new("rate_plans"),
                ForeignKeyAction::Cascade,
            ));
        create(manager, t).await?;
        index(manager, "rate_imports", &["rate_plan_id"], false).await?;

        // The column mapping last used for a supplier's files, as header names (JSON).
        let mut t = Table::create();
        t.table(Alias::new("deck_mappings")).if_not_exists();
        id(&mut t)
            .col(
                ColumnDef::new(Alias::new("carrier_id"))
                    .big_integer()
                    .not_null()
                    .unique_key(),
            )
            .col(document("mapping"))
            .foreign_key(&mut fk(
                "deck_mappings",
                "carrier_id",
                Carriers::Table,
                ForeignKeyAction::Cascade,
            ));
        create(manager, t).await?;

        // Durable jobs: claimed with `FOR UPDATE SKIP LOCKED` on PostgreSQL (one row per
        // worker), by a conditional update on SQLite (one process).
        let mut t = Table::create();
        t.table(Alias::new("jobs")).if_not_exists();
        id(&mut t)
            .col(text("kind", 64))
            .col(document("payload"))
            .col(text("status", 16))
            .col(int("attempts", 0))
            .col(int("max_attempts", 3))
            .col(time("run_after"))
            .col(nullable_text("worker", 100))
            .col(nullable_time("heartbeat_at"))
            .col(text("last_error", 2000))
            .col(nullable_time("finished_at"));
        create(manager, t).await?;
        index(manager, "jobs", &["status", "run_after"], false).await?;

        // A service's rate plan: customer services a customer plan, supplier services a
        // supplier deck (checked by the service layer).
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("services"))
                    .add_column(nullable_int("rate_plan_id"))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("services"))
                    .drop_column(Alias::new("rate_plan_id"))
                    .to_owned(),
            )
            .await?;
        for table in [
            "jobs",
            "deck_mappings",
            "rate_imports",
            "rates",
            "rate_revisions",
            "rate_plans",
        ] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
