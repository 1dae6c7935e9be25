//! A carrier's traffic limits: calls per second and concurrent calls over all of its
//! ingress interconnects together (0 = no limit), checked by routing step 6 next to
//! each interconnect's own limits.

use sea_orm_migration::prelude::*;

use crate::columns::int;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        for column in ["max_cps", "max_channels"] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new("carriers"))
                        .add_column(int(column, 0))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["max_cps", "max_channels"] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Alias::new("carriers"))
                        .drop_column(Alias::new(column))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
