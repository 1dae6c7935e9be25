//! `status_metrics` table: one operation's rate, error share and latency percentiles at
//! one snapshot (the trend charts' series).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "status_metrics")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub taken_at: DateTimeUtc,
    /// `minute` or `hour`.
    pub resolution: String,
    pub kind: String,
    pub name: String,
    /// Requests per minute × 1000.
    pub per_min_milli: i64,
    /// Errors in basis points of requests (1 % = 100).
    pub error_bp: i64,
    pub p50_us: i64,
    pub p95_us: i64,
    pub p99_us: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
