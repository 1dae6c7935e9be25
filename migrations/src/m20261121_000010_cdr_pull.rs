//! CDR pull sources: an external softswitch API DIDTron fetches CDRs from, in pages,
//! since a high-water mark (`cursor`) kept here, so a pull resumes where the last one
//! committed, even after a crash.

use sea_orm_migration::prelude::*;

use crate::columns::{create, document, flag, id, int, nullable_text, nullable_time, text};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut t = Table::create();
        t.table(Alias::new("cdr_pull_sources")).if_not_exists();
        id(&mut t)
            .col(text("name", 100).unique_key())
            .col(text("url", 1000))
            .col(nullable_text("auth_header", 1000))
            .col(int("source_id", 0))
            .col(document("cursor"))
            .col(int("page_size", 500))
            .col(int("interval_secs", 60))
            .col(flag("enabled", true))
            .col(nullable_time("last_run_at"))
            .col(nullable_time("last_success_at"))
            .col(document("last_error"))
            .col(int("pulled_total", 0));
        create(manager, t).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(
                Table::drop()
                    .table(Alias::new("cdr_pull_sources"))
                    .to_owned(),
            )
            .await
    }
}
