//! `rate_imports` table: one uploaded rate-deck file, its progress, preview and final
//! report. Status: `queued` → `reading` → `previewed` → `publishing` → `published`, or
//! `failed` / `cancelled`.

use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "rate_imports")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub rate_plan_id: i64,
    pub file_name: String,
    /// Key of the file in the file store.
    pub file_key: String,
    /// Bytes.
    pub file_size: i64,
    pub status: String,
    /// JSON: `service::rate_plans::ImportOptions`.
    pub options: String,
    pub rows_done: i64,
    pub rows_total: i64,
    pub rows_per_s: i64,
    /// JSON: `service::rate_plans::ImportPreview` (empty until read).
    pub preview: String,
    /// JSON: `service::rate_plans::ImportReport` (empty until published).
    pub report: String,
    pub error: String,
    /// The live revision the preview was compared with.
    pub base_revision_id: Option<i64>,
    /// The revision it published.
    pub revision_id: Option<i64>,
    pub created_by: String,
    pub started_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
