//! `users`: people who sign in. Staff (`super_admin`, `admin`) have no carrier;
//! a `customer` user belongs to exactly one carrier and sees only its data.

use sea_orm_migration::prelude::*;

use crate::m20261121_000001_carriers::Carriers;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    PasswordHash,
    Role,
    CarrierId,
    LastSignInAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut table = Table::create();
        table
            .table(Users::Table)
            .if_not_exists()
            .col(
                ColumnDef::new(Users::Id)
                    .big_integer()
                    .not_null()
                    .auto_increment()
                    .primary_key(),
            )
            .col(
                ColumnDef::new(Users::Email)
                    .string_len(254)
                    .not_null()
                    .unique_key(),
            )
            .col(
                ColumnDef::new(Users::PasswordHash)
                    .string_len(255)
                    .not_null(),
            )
            .col(ColumnDef::new(Users::Role).string_len(16).not_null())
            .col(ColumnDef::new(Users::CarrierId).big_integer().null())
            .col(
                ColumnDef::new(Users::LastSignInAt)
                    .timestamp_with_time_zone()
                    .null(),
            )
            .foreign_key(
                ForeignKey::create()
                    .name("fk_users_carrier")
                    .from(Users::Table, Users::CarrierId)
                    .to(Carriers::Table, Carriers::Id)
                    .on_delete(ForeignKeyAction::Restrict),
            );
        crate::timestamps(&mut table);
        manager.create_table(table).await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_users_carrier_id")
                    .table(Users::Table)
                    .col(Users::CarrierId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Users::Table).to_owned())
            .await
    }
}
