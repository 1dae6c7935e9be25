//! CDR exports: the CDR list's filters written to a CSV file by a background job, kept
//! in the file store for download.

use sea_orm_migration::prelude::*;

use crate::columns::{create, document, id, index, int, nullable_time, text};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut t = Table::create();
        t.table(Alias::new("cdr_exports")).if_not_exists();
        id(&mut t)
            .col(document("query"))
            .col(text("status", 16))
            .col(int("rows_done", 0))
            .col(text("file_key", 500))
            .col(int("file_size", 0))
            .col(document("error"))
            .col(text("created_by", 255))
            .col(nullable_time("started_at"))
            .col(nullable_time("finished_at"));
        create(manager, t).await?;
        index(manager, "cdr_exports", &["created_by", "id"], false).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Alias::new("cdr_exports")).to_owned())
            .await
    }
}
