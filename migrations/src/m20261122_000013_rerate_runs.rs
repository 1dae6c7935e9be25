//! Re-rating runs: a preview or an application of a re-rating, done by a background job
//! (a period may hold hundreds of thousands of calls), with its progress and result.

use sea_orm_migration::prelude::*;

use crate::columns::{create, document, flag, id, index, int, nullable_int, nullable_time, text};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut t = Table::create();
        t.table(Alias::new("rerate_runs")).if_not_exists();
        id(&mut t)
            .col(document("query"))
            .col(flag("apply", false))
            .col(text("status", 16))
            .col(int("examined", 0))
            .col(int("total", 0))
            .col(document("result"))
            .col(document("error"))
            .col(nullable_int("created_by_id"))
            .col(text("created_by", 255))
            .col(nullable_time("started_at"))
            .col(nullable_time("finished_at"));
        create(manager, t).await?;
        index(manager, "rerate_runs", &["created_by", "id"], false).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Alias::new("rerate_runs")).to_owned())
            .await
    }
}
