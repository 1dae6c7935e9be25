//! Change counters: one number per kind of configuration, raised by the database itself
//! whenever a table behind it changes, so that every `didtron serve` learns of a change
//! by reading one row instead of scanning the tables (the routing table's refresh ran
//! `COUNT(*)` and `MAX(updated_at)` over nine tables four times a second: 70–80 ms a
//! time with a million routing rules on PostgreSQL).
//!
//! `change_counters (name, version)` holds `routing`: raised by any insert, update or
//! delete (and, on PostgreSQL, truncate) of the tables the routing table is compiled
//! from. Triggers raise it, so a change made by any instance, by a tool or by hand in
//! SQL is seen alike. On PostgreSQL one trigger per statement; SQLite has only row
//! triggers, so a statement touching many rows raises it many times (still one row
//! written each time). A later migration that rebuilds one of these tables on SQLite
//! (create, copy, drop, rename) drops its triggers with it and must create them again.
//! On PostgreSQL the counter's row is locked until the writing transaction commits, so
//! two transactions changing routing configuration at once take turns.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

/// The tables routing reads (`service::routing::load_facts`).
pub const ROUTING_TABLES: [&str; 9] = [
    "carriers",
    "interconnects",
    "interconnect_addresses",
    "interconnect_services",
    "services",
    "rate_plans",
    "routing_plans",
    "routing_plan_entries",
    "reference_items",
];

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Alias::new("change_counters"))
                    .col(
                        ColumnDef::new(Alias::new("name"))
                            .string_len(40)
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(Alias::new("version"))
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        db.execute_unprepared("INSERT INTO change_counters (name, version) VALUES ('routing', 0)")
            .await?;
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                db.execute_unprepared(
                    "CREATE FUNCTION didtron_routing_changed() RETURNS trigger LANGUAGE plpgsql AS $$ \
                     BEGIN UPDATE change_counters SET version = version + 1 WHERE name = 'routing'; \
                     RETURN NULL; END $$",
                )
                .await?;
                for table in ROUTING_TABLES {
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER {table}_routing_changed \
                         AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} \
                         FOR EACH STATEMENT EXECUTE FUNCTION didtron_routing_changed()"
                    ))
                    .await?;
                }
            }
            _ => {
                for table in ROUTING_TABLES {
                    for event in ["INSERT", "UPDATE", "DELETE"] {
                        db.execute_unprepared(&format!(
                            "CREATE TRIGGER {table}_routing_changed_{} AFTER {event} ON {table} \
                             BEGIN UPDATE change_counters SET version = version + 1 \
                             WHERE name = 'routing'; END",
                            event.to_lowercase()
                        ))
                        .await?;
                    }
                }
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                for table in ROUTING_TABLES {
                    db.execute_unprepared(&format!(
                        "DROP TRIGGER IF EXISTS {table}_routing_changed ON {table}"
                    ))
                    .await?;
                }
                db.execute_unprepared("DROP FUNCTION IF EXISTS didtron_routing_changed()")
                    .await?;
            }
            _ => {
                for table in ROUTING_TABLES {
                    for event in ["insert", "update", "delete"] {
                        db.execute_unprepared(&format!(
                            "DROP TRIGGER IF EXISTS {table}_routing_changed_{event}"
                        ))
                        .await?;
                    }
                }
            }
        }
        manager
            .drop_table(
                Table::drop()
                    .table(Alias::new("change_counters"))
                    .to_owned(),
            )
            .await
    }
}
