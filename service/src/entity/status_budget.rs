//! `status_budgets` table: performance budgets people set; a `name` of `*` is the
//! default of its kind. Kinds without a row use `domain::status::default_budget`.

use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "status_budgets")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub kind: String,
    pub name: String,
    /// `p50`, `p95` or `p99`.
    pub percentile: String,
    /// Microseconds.
    pub budget_us: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
