//! DIDTron's schema, as forward-only migrations that run on SQLite and PostgreSQL.
//!
//! One file per change, named `mYYYYMMDD_NNNNNN_<module>.rs` after the module it serves
//! (see DESIGN.md: one module, one name in every layer). Every table has `created_at` and
//! `updated_at` (UTC, written by the server, never by the client).

pub use sea_orm_migration::prelude::*;

mod columns;
mod m20261121_000001_carriers;
mod m20261121_000002_users;
mod m20261121_000003_sessions;
mod m20261121_000004_carriers_settings;
mod m20261121_000005_rate_plans;
mod m20261121_000006_rate_plan_derivations;
mod m20261121_000007_cdrs;
mod m20261121_000008_credit_control;
mod m20261121_000009_cdr_files;
mod m20261121_000010_cdr_pull;
mod m20261121_000011_cdr_exports;
mod m20261122_000012_mail_delivery;
mod m20261122_000013_rerate_runs;
mod m20261122_000014_cdr_interconnect_index;
mod m20261122_000015_ledger_checks;
mod m20261122_000016_routing_plans;
mod m20261122_000017_ledger_carrier_check;
mod m20261122_000018_carrier_traffic_limits;
mod m20261205_000019_system_status;
mod m20261206_000020_change_counters;

pub use m20261206_000020_change_counters::ROUTING_TABLES;

/// Runs every migration in order; `didtron migrate` and `didtron serve` call it at start.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261121_000001_carriers::Migration),
            Box::new(m20261121_000002_users::Migration),
            Box::new(m20261121_000003_sessions::Migration),
            Box::new(m20261121_000004_carriers_settings::Migration),
            Box::new(m20261121_000005_rate_plans::Migration),
            Box::new(m20261121_000006_rate_plan_derivations::Migration),
            Box::new(m20261121_000007_cdrs::Migration),
            Box::new(m20261121_000008_credit_control::Migration),
            Box::new(m20261121_000009_cdr_files::Migration),
            Box::new(m20261121_000010_cdr_pull::Migration),
            Box::new(m20261121_000011_cdr_exports::Migration),
            Box::new(m20261122_000012_mail_delivery::Migration),
            Box::new(m20261122_000013_rerate_runs::Migration),
            Box::new(m20261122_000014_cdr_interconnect_index::Migration),
            Box::new(m20261122_000015_ledger_checks::Migration),
            Box::new(m20261122_000016_routing_plans::Migration),
            Box::new(m20261122_000017_ledger_carrier_check::Migration),
            Box::new(m20261122_000018_carrier_traffic_limits::Migration),
            Box::new(m20261205_000019_system_status::Migration),
            Box::new(m20261206_000020_change_counters::Migration),
        ]
    }
}

/// `created_at` and `updated_at` columns, UTC, required on every table.
pub(crate) fn timestamps(table: &mut TableCreateStatement) -> &mut TableCreateStatement {
    table
        .col(
            ColumnDef::new(Alias::new("created_at"))
                .timestamp_with_time_zone()
                .not_null(),
        )
        .col(
            ColumnDef::new(Alias::new("updated_at"))
                .timestamp_with_time_zone()
                .not_null(),
        )
}
