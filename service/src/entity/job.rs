//! `jobs` table: durable background work (imports now; rating batches and exports
//! later). Status: `queued` → `running` → `done`, or back to `queued` for a retry, or
//! `failed` after `max_attempts`.

use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "jobs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// What to run, e.g. `rate_import.read`.
    pub kind: String,
    /// JSON arguments.
    pub payload: String,
    pub status: String,
    pub attempts: i64,
    pub max_attempts: i64,
    /// Not claimed before this instant (retries back off).
    pub run_after: DateTimeUtc,
    /// The worker that claimed it.
    pub worker: Option<String>,
    /// Last sign of life of the worker running it.
    pub heartbeat_at: Option<DateTimeUtc>,
    pub last_error: String,
    pub finished_at: Option<DateTimeUtc>,
    /// When a worker last claimed it (its wait is `started_at - run_after`).
    pub started_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
