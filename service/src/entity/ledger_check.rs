//! `ledger_checks` table: one run of the ledger check (`service::cdrs::check_ledger`):
//! how many running balances it compared, the ones that differed from their ledger, and
//! whether they were set to it.

use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "ledger_checks")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Carriers compared.
    pub carriers: i64,
    /// JSON: `[service::cdrs::BalanceMismatch]`, empty array when all matched.
    pub mismatches: String,
    /// True when the differing running balances were set to their ledger sums.
    pub repaired: bool,
    /// When the check ran.
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
