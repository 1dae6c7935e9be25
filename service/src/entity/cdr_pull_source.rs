//! `cdr_pull_sources` table: an external softswitch API CDRs are pulled from
//! (`service::cdrs::pull`), with its high-water mark.

use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "cdr_pull_sources")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    /// The page endpoint (`http://` or `https://`).
    pub url: String,
    /// Sent as the `Authorization` header when set; never shown back.
    #[serde(skip)]
    pub auth_header: Option<String>,
    /// The CDR source (`api_keys.id`, kind `pull`) the calls are filed under.
    pub source_id: i64,
    /// The high-water mark the source gave with the last page stored (empty: from the
    /// beginning).
    pub cursor: String,
    pub page_size: i64,
    pub interval_secs: i64,
    pub enabled: bool,
    pub last_run_at: Option<DateTimeUtc>,
    pub last_success_at: Option<DateTimeUtc>,
    pub last_error: String,
    pub pulled_total: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
