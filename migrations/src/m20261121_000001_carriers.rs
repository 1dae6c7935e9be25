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
    Website,
    Address,
    Timezone,
    CustomerEnabled,
    SupplierEnabled,
    DefaultCodecs,
    NocEmail,
    CategoryId,
    GroupId,
    BillingMode,
    CreditLimitMicros,
    BillingCycle,
    PaymentTermsDays,
    InvoiceEmail,
    TaxId,
    SearchKey,
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
            .col(ColumnDef::new(Carriers::Currency).string_len(3).not_null())
            .col(ColumnDef::new(Carriers::Website).string_len(255).null())
            .col(ColumnDef::new(Carriers::Address).text().null())
            .col(
                ColumnDef::new(Carriers::Timezone)
                    .string_len(64)
                    .not_null()
                    .default("UTC"),
            )
            .col(
                ColumnDef::new(Carriers::CustomerEnabled)
                    .boolean()
                    .not_null()
                    .default(false),
            )
            .col(
                ColumnDef::new(Carriers::SupplierEnabled)
                    .boolean()
                    .not_null()
                    .default(false),
            )
            // Codec names in preference order, comma-separated.
            .col(
                ColumnDef::new(Carriers::DefaultCodecs)
                    .string_len(500)
                    .not_null()
                    .default(""),
            )
            .col(ColumnDef::new(Carriers::NocEmail).string_len(254).null())
            .col(ColumnDef::new(Carriers::CategoryId).big_integer().null())
            .col(ColumnDef::new(Carriers::GroupId).big_integer().null())
            .col(
                ColumnDef::new(Carriers::BillingMode)
                    .string_len(16)
                    .not_null()
                    .default("prepaid"),
            )
            .col(
                ColumnDef::new(Carriers::CreditLimitMicros)
                    .big_integer()
                    .not_null()
                    .default(0),
            )
            .col(
                ColumnDef::new(Carriers::BillingCycle)
                    .string_len(16)
                    .not_null()
                    .default("monthly"),
            )
            .col(
                ColumnDef::new(Carriers::PaymentTermsDays)
                    .integer()
                    .not_null()
                    .default(30),
            )
            .col(
                ColumnDef::new(Carriers::InvoiceEmail)
                    .string_len(254)
                    .null(),
            )
            .col(ColumnDef::new(Carriers::TaxId).string_len(64).null())
            // lower(name) + ' ' + lower(account_code), written by the service: what the
            // carriers list searches.
            .col(
                ColumnDef::new(Carriers::SearchKey)
                    .string_len(300)
                    .not_null()
                    .default(""),
            );
        crate::timestamps(&mut table);
        manager.create_table(table).await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_carriers_name")
                    .table(Carriers::Table)
                    .col(Carriers::Name)
                    .col(Carriers::Id)
                    .to_owned(),
            )
            .await?;
        // Search: trigram indexes on PostgreSQL (substring, case-insensitive); on SQLite
        // an index on lower(name) serves the prefix range the carriers list queries.
        let db = manager.get_connection();
        match manager.get_database_backend() {
            sea_orm_migration::sea_orm::DatabaseBackend::Postgres => {
                db.execute_unprepared("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                    .await?;
                db.execute_unprepared(
                    "CREATE INDEX IF NOT EXISTS idx_carriers_search_trgm ON carriers \
                     USING gin (search_key gin_trgm_ops)",
                )
                .await?;
            }
            _ => {
                db.execute_unprepared(
                    "CREATE INDEX IF NOT EXISTS idx_carriers_name_lower ON carriers (lower(name))",
                )
                .await?;
            }
        }
        for (name, col) in [
            ("idx_carriers_status", Carriers::Status),
            ("idx_carriers_currency", Carriers::Currency),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Carriers::Table)
                        .col(col)
                        .col(Carriers::Name)
                        .col(Carriers::Id)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Carriers::Table).to_owned())
            .await
    }
}
