//! CDR files: a CDR source has a kind (`switch`: authenticates with its API key;
//! `file`: where uploaded CDR files are filed, no usable key), and each uploaded CDR
//! file is a `cdr_imports` row with its options, progress and report.

use sea_orm_migration::prelude::*;

use crate::columns::{create, document, id, index, int, nullable_time, text};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut kind = text("kind", 16);
        kind.default("switch");
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("api_keys"))
                    .add_column(&mut kind)
                    .to_owned(),
            )
            .await?;

        let mut t = Table::create();
        t.table(Alias::new("cdr_imports")).if_not_exists();
        id(&mut t)
            .col(text("file_name", 255))
            .col(text("file_key", 500))
            .col(int("file_size", 0))
            .col(text("format", 16))
            .col(int("source_id", 0))
            .col(document("options"))
            .col(text("status", 16))
            .col(int("rows_total", 0))
            .col(int("rows_done", 0))
            .col(document("report"))
            .col(document("error"))
            .col(text("created_by", 255))
            .col(nullable_time("started_at"))
            .col(nullable_time("finished_at"));
        create(manager, t).await?;
        index(manager, "cdr_imports", &["status", "id"], false).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Alias::new("cdr_imports")).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("api_keys"))
                    .drop_column(Alias::new("kind"))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
