//! `carrier_balances` table: each carrier's running balance, the sum of its ledger
//! entries (same sign convention), updated in the transaction that posts them, and
//! whether the carrier is blocked for want of credit.

use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "carrier_balances")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub carrier_id: i64,
    pub currency: String,
    pub balance_micros: i64,
    pub last_cdr_at: Option<DateTimeUtc>,
    /// Refused by routing: the available credit reached zero.
    pub blocked: bool,
    pub blocked_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
