//! `rate_plans` table: supplier decks (buy rates) and customer plans (sell rates).

use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "rate_plans")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub name: String,
    /// `supplier` or `customer` (`domain::rate_plans::PlanKind`).
    pub kind: String,
    /// ISO 4217.
    pub currency: String,
    /// The supplier or customer whose files are imported here.
    pub carrier_id: Option<i64>,
    /// Default billing increment `increment_first/increment_next`, seconds.
    pub increment_first: i64,
    pub increment_next: i64,
    pub minimum_s: i64,
    pub grace_s: i64,
    /// Micro-units.
    pub connection_fee_micros: i64,
    /// Decimals a call's cost is rounded to, 0–6.
    pub rounding_decimals: i64,
    /// `domain::rate_plans::RoundingChoice`.
    pub rounding: String,
    pub notice_days: i64,
    /// `refuse` or `defer`.
    pub notice_action: String,
    pub description: String,
    /// The newest published revision.
    pub live_revision_id: Option<i64>,
    /// JSON `domain::rate_plans::derive::MarkupRule` of a derived customer plan, or empty.
    pub derivation: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
