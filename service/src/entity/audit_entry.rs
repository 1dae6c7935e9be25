//! `audit_log` table: the audit log: one row per create, update or delete, with field-level changes.

use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub actor_id: Option<i64>,
    pub actor_email: String,
    /// e.g. `carrier`, `interconnect`, `contact`.
    pub entity: String,
    pub entity_id: i64,
    pub carrier_id: Option<i64>,
    /// `create`, `update` or `delete`.
    pub action: String,
    /// JSON array of `{field, before, after}`.
    pub changes: String,
    /// UTC, set by the server.
    pub occurred_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
