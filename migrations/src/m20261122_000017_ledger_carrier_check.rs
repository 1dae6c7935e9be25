//! The ledger's carrier reference is checked by DIDTron, not by a foreign key, on
//! PostgreSQL.
//!
//! CDR ingest posts two ledger entries per answered call, and PostgreSQL checks a
//! foreign key with one query per inserted row: on 10 000 calls that was half of the
//! ledger's insert time (BENCHMARKS.md, "CDR ingest"). Entries are only written by
//! DIDTron's postings, for carriers they have just read, and a carrier with ledger
//! entries cannot be deleted (`service::carriers::delete_carrier` refuses, naming
//! them). SQLite keeps the constraint: dropping one there rebuilds the table, and its
//! check is cheap.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != sea_orm_migration::sea_orm::DatabaseBackend::Postgres {
            return Ok(());
        }
        manager
            .get_connection()
            .execute_unprepared(
                "ALTER TABLE ledger_entries DROP CONSTRAINT IF EXISTS fk_ledger_entries_carrier_id",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != sea_orm_migration::sea_orm::DatabaseBackend::Postgres {
            return Ok(());
        }
        manager
            .get_connection()
            .execute_unprepared(
                "ALTER TABLE ledger_entries ADD CONSTRAINT fk_ledger_entries_carrier_id \
                 FOREIGN KEY (carrier_id) REFERENCES carriers (id) ON DELETE RESTRICT",
            )
            .await?;
        Ok(())
    }
}
