//! `carriers` table: the companies we trade traffic with, with their details and accounting settings (one row each).

use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "carriers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    #[sea_orm(unique)]
    pub account_code: String,
    /// `customer`, `supplier` or `both` (`domain::carrier::CarrierType`).
    pub carrier_type: String,
    /// `active` or `inactive`.
    pub status: String,
    /// ISO 4217 code, e.g. `USD`.
    pub currency: String,
    pub website: Option<String>,
    pub address: Option<String>,
    /// IANA zone for reports, e.g. `Europe/London`.
    pub timezone: String,
    pub customer_enabled: bool,
    pub supplier_enabled: bool,
    /// Codec names in preference order, comma-separated.
    pub default_codecs: String,
    pub noc_email: Option<String>,
    pub category_id: Option<i64>,
    pub group_id: Option<i64>,
    /// `prepaid` or `postpaid`.
    pub billing_mode: String,
    /// Micro-units of `currency`.
    pub credit_limit_micros: i64,
    /// `weekly`, `semi_monthly` or `monthly`.
    pub billing_cycle: String,
    pub payment_terms_days: i32,
    pub invoice_email: Option<String>,
    pub tax_id: Option<String>,
    /// New calls per second over all of the carrier's ingress interconnects, 0 = no
    /// limit (routing step 6).
    pub max_cps: i64,
    /// Concurrent calls over all of its ingress interconnects, 0 = no limit.
    pub max_channels: i64,
    /// `lower(name) + " " + lower(account_code)`: what the carriers list searches.
    #[serde(skip)]
    pub search_key: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::user::Entity")]
    User,
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
