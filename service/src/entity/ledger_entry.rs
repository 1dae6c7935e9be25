//! `ledger_entries` table: the one signed ledger. Amounts are micro-units of the
//! carrier's currency, from DIDTron's side: negative = the carrier owes us more
//! (a customer's usage), positive = we owe the carrier more (a supplier's cost, a
//! customer's payment). Append-only. Calls post as usage: one `revenue` or `cost`
//! entry per carrier for the calls of one ingest batch (`cdr_id` set when the batch
//! held one call; at most one entry per (CDR, kind)).

use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "ledger_entries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub carrier_id: i64,
    pub currency: String,
    pub amount_micros: i64,
    /// `revenue` (customers' usage: the customer legs of a batch's calls), `cost`
    /// (suppliers' usage), `rerate`, `payment`, `adjustment`.
    pub kind: String,
    pub cdr_id: Option<i64>,
    pub memo: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
