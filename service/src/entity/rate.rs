//! `rates` table: one dial code's rate from `effective_from` (inclusive) to
//! `effective_to` (exclusive, open when `None`), added by a revision and closed by a
//! later one. Never edited otherwise.

use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "rates")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub rate_plan_id: i64,
    /// The revision that added the row.
    pub revision_id: i64,
    /// E.164 dial code, digits.
    pub prefix: String,
    pub destination: String,
    /// `destination` lower-cased, for search.
    pub destination_key: String,
    /// Per minute, micro-units of the plan's currency.
    pub rate_micros: i64,
    pub connection_fee_micros: i64,
    pub increment_first: i64,
    pub increment_next: i64,
    pub minimum_s: i64,
    pub grace_s: i64,
    pub effective_from: DateTimeUtc,
    pub effective_to: Option<DateTimeUtc>,
    /// `new`, `increase` or `decrease`: the row's change code when published.
    pub change: String,
    /// The revision that closed the row.
    pub closed_by_revision_id: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
