//! `status_samples` table: what one instance measured of one operation (a page, server
//! function, API endpoint, job, integration, cache) since its previous flush.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "status_samples")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub instance: String,
    pub flushed_at: DateTimeUtc,
    /// `page`, `fn`, `api`, `job`, `job_start`, `integration`, `cache`, `auth`, `db`.
    pub kind: String,
    pub name: String,
    pub count: i64,
    pub errors: i64,
    /// JSON object of named counters (HTTP status codes, `hit`/`miss`, `ok`/`failed`).
    pub counters: String,
    /// JSON of the latency sketch (DDSketch, milliseconds); empty when not timed.
    pub sketch: String,
    pub last_ok_at: Option<DateTimeUtc>,
    pub last_error_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
