//! `cdr_exports` table: one CSV export of the CDR list (`service::cdrs::export`).
//! Status: `queued` → `running` → `done` (with the file) or `failed`.

use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "cdr_exports")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// JSON: `domain::cdr::views::CdrQuery` (the list's filters).
    pub query: String,
    pub status: String,
    pub rows_done: i64,
    /// Key of the CSV in the file store (empty until done).
    pub file_key: String,
    /// Bytes.
    pub file_size: i64,
    pub error: String,
    pub created_by: String,
    pub started_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
