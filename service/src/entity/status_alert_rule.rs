//! `status_alert_rules` table: a metric, a threshold, a severity and how long the
//! condition must hold before an alert opens.

use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "status_alert_rules")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    /// A key of `domain::status::METRICS`.
    pub metric: String,
    /// `above` or `below`.
    pub comparison: String,
    /// The threshold × 1000 (exact to three decimals).
    pub threshold_milli: i64,
    /// `warning` or `critical`.
    pub severity: String,
    pub for_secs: i64,
    /// Comma-separated e-mail addresses; empty: no mail.
    pub recipients: String,
    pub enabled: bool,
    /// Since when the condition holds (the collector's bookkeeping).
    #[serde(skip)]
    pub breaching_since: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
