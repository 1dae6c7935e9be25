//! Mail delivery: how often the SMTP relay has been tried for a message of the outbox,
//! and when it is tried next (transient failures back off).

use sea_orm_migration::prelude::*;

use crate::columns::{int, nullable_time};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for mut column in [int("attempts", 0), nullable_time("next_attempt_at")] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new("mail_outbox"))
                        .add_column(&mut column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["next_attempt_at", "attempts"] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new("mail_outbox"))
                        .drop_column(Alias::new(column))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
