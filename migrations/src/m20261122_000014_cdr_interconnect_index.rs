//! The CDR list's interconnect filter: CDRs by ingress or egress interconnect, newest
//! first, without scanning the table.

use sea_orm_migration::prelude::*;

use crate::columns::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        index(manager, "cdrs", &["customer_interconnect_id", "id"], false).await?;
        index(manager, "cdrs", &["supplier_interconnect_id", "id"], false).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["customer_interconnect_id", "supplier_interconnect_id"] {
            manager
                .drop_index(
                    Index::drop()
                        .name(format!("idx_cdrs_{column}_id"))
                        .table(Alias::new("cdrs"))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
