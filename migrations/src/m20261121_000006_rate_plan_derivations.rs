//! Rate plans remember the markup rule a customer plan was derived with (JSON, empty
//! when the plan is not derived), so re-deriving uses it again.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("rate_plans"))
                    .add_column(
                        ColumnDef::new(Alias::new("derivation"))
                            .text()
                            .not_null()
                            .default(""),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Alias::new("rate_plans"))
                    .drop_column(Alias::new("derivation"))
                    .to_owned(),
            )
            .await
    }
}
