//! `api_keys` table: the keys switches and CDR sources authenticate with. Only a
//! SHA-256 of the key is stored; `key_prefix` (the key's first characters) finds the
//! row and is shown in lists. A key names its CDR source: CDRs are unique per
//! (source, call id, leg).

use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    /// `switch` (authenticates with its key) or `file` (uploaded CDR files; no usable key).
    pub kind: String,
    pub key_prefix: String,
    /// Lower-case hex SHA-256 of the whole key.
    #[serde(skip)]
    pub key_hash: String,
    /// E-mail of the user who created it, or `cli`.
    pub created_by: String,
    pub last_used_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
