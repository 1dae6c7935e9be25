//! `carriers`: the companies we trade traffic with (customers, suppliers or both).
//! The carriers module adds its settings tables beside this one.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub(crate) enum Carriers {
    Table,
    Id,
    Name,
    AccountCode,
    CarrierType,
    Status,
    Currency,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create();
        table
            .table(Carriers::Table)
            .if_not_exists()
            .col(
                ColumnDef::new(Carriers::Id)
                    .big_integer()
                    .not_null()
                    .auto_increment()
                    .primary_key(),
            )
            .col(ColumnDef::new(Carriers::Name).string_len(200).not_null())
            .col(
                ColumnDef::new(Carriers::AccountCode)
                    .string_len(64)
                    .not_null()
                    .unique_key(),
            )
            .col(
                ColumnDef::new(Carriers::CarrierType)
                    .string_len(16)
                    .not_null(),
            )
            .col(ColumnDef::new(Carriers::Status).string_len(16).not_null())
            .col(ColumnDef::new(Carriers::Currency).string_len(3).not_null());
        crate::timestamps(&mut table);
        manager.create_table(table).await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_carriers_name")
                    .table(Carriers::Table)
                    .col(Carriers::Name)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Carriers::Table).to_owned())
            .await
    }
}
