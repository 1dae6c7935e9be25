//! `status_alerts` table: alerts raised by the rules: `open` → `acknowledged` (someone
//! is on it) → `resolved` (the condition cleared). At most one unresolved per `key`.

use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "status_alerts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The rule that raised it (`None` once the rule is deleted).
    pub rule_id: Option<i64>,
    /// `rule:{id}`.
    pub key: String,
    pub name: String,
    /// `warning` or `critical`.
    pub severity: String,
    /// `open`, `acknowledged` or `resolved`.
    pub status: String,
    pub message: String,
    /// The metric's value when it opened, as text.
    pub value: String,
    pub opened_at: DateTimeUtc,
    pub acknowledged_at: Option<DateTimeUtc>,
    pub acknowledged_by: Option<String>,
    pub resolved_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
