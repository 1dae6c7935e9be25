//! `credit_alerts` table: a carrier's credit alerts: notify when the balance falls below a threshold.

use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "credit_alerts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub carrier_id: i64,
    /// Micro-units of the carrier currency; may be negative.
    pub threshold_micros: i64,
    /// E-mail addresses, comma-separated.
    pub recipients: String,
    /// `None`: once until the balance recovers.
    pub repeat_every_hours: Option<i64>,
    pub enabled: bool,
    /// Fires when the available credit falls below the threshold; disarmed when it
    /// fires, re-armed when the credit rises to the threshold again.
    pub armed: bool,
    pub last_fired_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
