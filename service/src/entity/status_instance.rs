//! `status_instances` table: every `didtron serve` process that started (deploys), with
//! its version and its last sign of life.

use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "status_instances")]
pub struct Model {
    /// A UUID v7 made at start-up.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub host: String,
    pub pid: i64,
    /// The `didtron` version (Cargo package version).
    pub version: String,
    pub started_at: DateTimeUtc,
    /// Updated by the instance's status loop every collector period.
    pub last_seen_at: DateTimeUtc,
    /// Job workers it runs (`DIDTRON_WORKERS`).
    pub workers: i64,
    /// `sqlite` or `postgres`.
    pub database: String,
    /// `redis` or `in-process`.
    pub kv: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
