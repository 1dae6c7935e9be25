//! `cdr_imports` table: one uploaded CDR file (Asterisk `Master.csv`, plain CSV, or
//! JSON lines), its options, progress and report. Status: `queued` → `running` →
//! `done`, or `failed` (with `error`, and the bad lines in `report`).

use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "cdr_imports")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub file_name: String,
    /// Key of the file in the file store.
    pub file_key: String,
    /// Bytes.
    pub file_size: i64,
    /// `asterisk`, `csv` or `json`.
    pub format: String,
    /// The CDR source (`api_keys.id`) the calls are filed under.
    pub source_id: i64,
    /// JSON: `domain::cdr::files::CdrFileOptions`.
    pub options: String,
    pub status: String,
    pub rows_total: i64,
    pub rows_done: i64,
    /// JSON: `domain::cdr::files::CdrImportReport` (empty until read).
    pub report: String,
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
