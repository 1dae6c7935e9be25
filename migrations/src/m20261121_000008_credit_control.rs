//! Credit control: a carrier blocked when its available credit reaches zero (and
//! unblocked when a posting lifts it), credit alerts that fire once on the way down and
//! re-arm on the way up, and the mail outbox alerts are written to.

use sea_orm_migration::prelude::*;

use crate::columns::{create, flag, id, nullable_int, nullable_text, nullable_time, text};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn add(table: &str, column: ColumnDef) -> TableAlterStatement {
    let mut column = column;
    Table::alter()
        .table(Alias::new(table))
        .add_column(&mut column)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        for (table, column) in [
            ("carrier_balances", flag("blocked", false)),
            ("carrier_balances", nullable_time("blocked_at")),
            ("credit_alerts", flag("armed", true)),
            ("credit_alerts", nullable_time("last_fired_at")),
        ] {
            manager.alter_table(add(table, column)).await?;
        }

        let mut t = Table::create();
        t.table(Alias::new("mail_outbox")).if_not_exists();
        id(&mut t)
            .col(text("recipients", 1000))
            .col(text("subject", 255))
            .col(ColumnDef::new(Alias::new("body")).text().not_null())
            .col(text("kind", 32))
            .col(nullable_int("carrier_id"))
            .col(text("status", 16))
            .col(nullable_time("sent_at"))
            .col(nullable_text("last_error", 500));
        create(manager, t).await?;
        crate::columns::index(manager, "mail_outbox", &["status", "id"], false).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Alias::new("mail_outbox")).to_owned())
            .await?;
        for (table, column) in [
            ("credit_alerts", "last_fired_at"),
            ("credit_alerts", "armed"),
            ("carrier_balances", "blocked_at"),
            ("carrier_balances", "blocked"),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new(table))
                        .drop_column(Alias::new(column))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
