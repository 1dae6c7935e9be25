//! `routing_plan_entries` table: one supplier service a routing plan may use for numbers
//! starting with `prefix` (empty: every destination).

use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "routing_plan_entries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub routing_plan_id: i64,
    /// 0–15 digits.
    pub prefix: String,
    pub supplier_service_id: i64,
    /// 1 = first.
    pub priority: i64,
    pub weight: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
