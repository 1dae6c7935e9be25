//! `interconnects` table: interconnects: a carrier's ingress (customer) or egress (supplier) trunks with their media, signalling, validation, translation and monitoring settings.

use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "interconnects")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub carrier_id: i64,
    pub name: String,
    /// `ingress` or `egress`.
    pub direction: String,
    pub status: String,
    pub tech_prefix: Option<String>,
    pub pop_id: Option<i64>,
    pub channel_plan_id: Option<i64>,
    pub media_mode: String,
    pub dtmf_mode: String,
    pub transcoding_allowed: bool,
    pub max_call_duration_secs: i64,
    /// 0 = unlimited.
    pub max_cps: i64,
    /// 0 = unlimited.
    pub max_channels: i64,
    pub session_timers: bool,
    pub session_expires_secs: i64,
    pub pai_mode: String,
    pub privacy_mode: String,
    pub sip_port: i64,
    pub sip_transport: String,
    /// JSON of `domain::interconnect::NumberRules`.
    pub number_rules: String,
    /// JSON array of `domain::interconnect::TranslationRule`.
    pub translation_rules: String,
    pub asr_min_percent: Option<i64>,
    pub acd_min_seconds: Option<i64>,
    pub pdd_max_ms: Option<i64>,
    /// Comma-separated e-mail addresses.
    pub alert_recipients: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::carrier::Entity",
        from = "Column::CarrierId",
        to = "super::carrier::Column::Id"
    )]
    Carrier,
}

impl Related<super::carrier::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Carrier.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
