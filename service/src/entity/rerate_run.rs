//! `rerate_runs` table: one re-rating preview or application, run by a background job
//! (`service::cdrs::rerate`). Status: `queued` → `running` → `done` (with the result)
//! or `failed` (with the reason).

use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "rerate_runs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// JSON: `domain::cdr::views::RerateQuery`.
    pub query: String,
    /// True: post the adjustments; false: only show the difference.
    pub apply: bool,
    pub status: String,
    /// Calls priced so far.
    pub examined: i64,
    /// Calls in the period when the run was asked for.
    pub total: i64,
    /// JSON: `domain::cdr::views::RerateDiff` once done; empty before.
    pub result: String,
    pub error: String,
    pub created_by_id: Option<i64>,
    pub created_by: String,
    pub started_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
