//! Ledger checks: each run of the scheduled check that compares every running balance
//! with the sum of its ledger entries, and what it found and repaired.

use sea_orm_migration::prelude::*;

use crate::columns::{create, document, flag, id, int};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut t = Table::create();
        t.table(Alias::new("ledger_checks")).if_not_exists();
        id(&mut t)
            .col(int("carriers", 0))
            .col(document("mismatches"))
            .col(flag("repaired", false));
        create(manager, t).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Alias::new("ledger_checks")).to_owned())
            .await
    }
}
