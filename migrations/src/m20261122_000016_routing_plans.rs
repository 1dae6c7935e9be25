//! Routing plans: per customer service, which supplier services may carry which
//! destinations (entries by prefix) and how routes are ordered (strategy, at most how
//! many, the least margin, when the switch fails over). A customer service names its
//! plan in `services.routing_plan_id`.

use sea_orm_migration::prelude::*;

use crate::columns::{create, document, fk, id, index, int, nullable_int, text};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut t = Table::create();
        t.table(Alias::new("routing_plans")).if_not_exists();
        id(&mut t)
            .col(text("name", 100).unique_key())
            .col(text("strategy", 16))
            .col(int("max_routes", 3))
            .col(int("min_margin_bp", 0))
            .col(text("failover_on", 200))
            .col(text("no_failover", 200))
            .col(document("description"));
        create(manager, t).await?;

        let mut t = Table::create();
        t.table(Alias::new("routing_plan_entries")).if_not_exists();
        id(&mut t)
            .col(
                ColumnDef::new(Alias::new("routing_plan_id"))
                    .big_integer()
                    .not_null(),
            )
            .col(text("prefix", 15))
            .col(
                ColumnDef::new(Alias::new("supplier_service_id"))
                    .big_integer()
                    .not_null(),
            )
            .col(int("priority", 1))
            .col(int("weight", 100))
            .foreign_key(&mut fk(
                "routing_plan_entries",
                "routing_plan_id",
                Alias::new("routing_plans"),
                ForeignKeyAction::Cascade,
            ))
            .foreign_key(&mut fk(
                "routing_plan_entries",
                "supplier_service_id",
                Alias::new("services"),
                ForeignKeyAction::Cascade,
            ));
        create(manager, t).await?;
        index(
            manager,
            "routing_plan_entries",
            &["routing_plan_id", "prefix", "supplier_service_id"],
            true,
        )
        .await?;
        index(
            manager,
            "routing_plan_entries",
            &["supplier_service_id"],
            false,
        )
        .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("services"))
                    .add_column(nullable_int("routing_plan_id"))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("services"))
                    .drop_column(Alias::new("routing_plan_id"))
                    .to_owned(),
            )
            .await?;
        for table in ["routing_plan_entries", "routing_plans"] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
