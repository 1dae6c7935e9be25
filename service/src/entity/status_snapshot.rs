//! `status_snapshots` table: what the collector found, once a cycle (`minute`), kept
//! 7 days, then one per hour (`hour`) for 90 days.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "status_snapshots")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub taken_at: DateTimeUtc,
    /// `minute` or `hour`.
    pub resolution: String,
    /// `green`, `yellow` or `red`.
    pub level: String,
    /// JSON of `domain::status::Snapshot`.
    pub body: String,
    /// Length of `body` in bytes.
    pub bytes: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
