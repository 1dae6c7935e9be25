//! CDR ingest, mediation, two-leg rating and the ledger: API keys of the switches (CDR
//! sources), the CDRs themselves (with both legs' rating and the reason when one could
//! not be mediated or rated), one signed ledger, and the running balance per carrier.
//!
//! The ledger is append-only: a CDR posts at most one `revenue` entry (customer leg,
//! negative: the customer owes it) and one `cost` entry (supplier leg, positive: we owe
//! it), enforced by a unique index on (cdr, kind). `carrier_balances` is the sum of a
//! carrier's entries, kept in the same transaction as each posting.

use sea_orm_migration::prelude::*;

use crate::columns::{
    create, document, fk, id, index, int, nullable_int, nullable_text, nullable_time, text, time,
};
use crate::m20261121_000001_carriers::Carriers;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut t = Table::create();
        t.table(Alias::new("api_keys")).if_not_exists();
        id(&mut t)
            .col(text("name", 100).unique_key())
            .col(text("key_prefix", 16).unique_key())
            .col(text("key_hash", 64))
            .col(text("created_by", 255))
            .col(nullable_time("last_used_at"))
            .col(nullable_time("revoked_at"));
        create(manager, t).await?;

        let mut t = Table::create();
        t.table(Alias::new("cdrs")).if_not_exists();
        id(&mut t)
            .col(
                ColumnDef::new(Alias::new("source_id"))
                    .big_integer()
                    .not_null(),
            )
            .col(text("call_id", 255))
            .col(text("leg", 16))
            .col(text("status", 16))
            .col(nullable_text("reason_code", 32))
            .col(nullable_text("reason", 500))
            .col(text("source_ip", 45))
            .col(text("a_number", 64))
            .col(text("b_dialled", 64))
            .col(nullable_text("b_number", 32))
            .col(time("setup_at"))
            .col(nullable_time("answer_at"))
            .col(time("end_at"))
            .col(int("duration_ms", 0))
            .col(nullable_int("pdd_ms"))
            .col(int("sip_code", 0))
            .col(text("sip_reason", 200))
            .col(text("disposition", 16))
            .col(nullable_text("route", 255))
            .col(nullable_int("customer_carrier_id"))
            .col(nullable_int("customer_interconnect_id"))
            .col(nullable_int("customer_service_id"))
            .col(nullable_int("customer_plan_id"))
            .col(nullable_text("customer_prefix", 16))
            .col(nullable_text("customer_destination", 200))
            .col(nullable_int("sell_rate_micros"))
            .col(int("customer_billed_s", 0))
            .col(int("revenue_micros", 0))
            .col(nullable_int("supplier_carrier_id"))
            .col(nullable_int("supplier_interconnect_id"))
            .col(nullable_int("supplier_service_id"))
            .col(nullable_int("supplier_plan_id"))
            .col(nullable_text("supplier_prefix", 16))
            .col(nullable_text("supplier_destination", 200))
            .col(nullable_int("buy_rate_micros"))
            .col(int("supplier_billed_s", 0))
            .col(int("cost_micros", 0))
            .col(nullable_text("currency", 3))
            .col(document("explain"))
            .col(document("raw"))
            .col(time("received_at"))
            .foreign_key(&mut fk(
                "cdrs",
                "source_id",
                Alias::new("api_keys"),
                ForeignKeyAction::Restrict,
            ));
        create(manager, t).await?;
        index(manager, "cdrs", &["source_id", "call_id", "leg"], true).await?;
        index(manager, "cdrs", &["setup_at"], false).await?;
        index(manager, "cdrs", &["status", "id"], false).await?;
        index(manager, "cdrs", &["customer_carrier_id", "setup_at"], false).await?;
        index(manager, "cdrs", &["supplier_carrier_id", "setup_at"], false).await?;

        let mut t = Table::create();
        t.table(Alias::new("ledger_entries")).if_not_exists();
        id(&mut t)
            .col(
                ColumnDef::new(Alias::new("carrier_id"))
                    .big_integer()
                    .not_null(),
            )
            .col(text("currency", 3))
            .col(int("amount_micros", 0))
            .col(text("kind", 16))
            .col(nullable_int("cdr_id"))
            .col(text("memo", 255))
            .foreign_key(&mut fk(
                "ledger_entries",
                "carrier_id",
                Carriers::Table,
                ForeignKeyAction::Restrict,
            ));
        create(manager, t).await?;
        index(manager, "ledger_entries", &["cdr_id", "kind"], true).await?;
        index(manager, "ledger_entries", &["carrier_id", "id"], false).await?;

        let mut t = Table::create();
        t.table(Alias::new("carrier_balances"))
            .if_not_exists()
            .col(
                ColumnDef::new(Alias::new("carrier_id"))
                    .big_integer()
                    .not_null()
                    .primary_key(),
            )
            .col(text("currency", 3))
            .col(int("balance_micros", 0))
            .col(nullable_time("last_cdr_at"))
            .foreign_key(&mut fk(
                "carrier_balances",
                "carrier_id",
                Carriers::Table,
                ForeignKeyAction::Restrict,
            ));
        create(manager, t).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["carrier_balances", "ledger_entries", "cdrs", "api_keys"] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
