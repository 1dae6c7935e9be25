//! `interconnect_addresses` table: iPs, CIDRs or hosts of an interconnect (ingress: who may send us calls; egress: where we send them).

use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "interconnect_addresses")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub interconnect_id: i64,
    pub carrier_id: i64,
    pub direction: String,
    /// Canonical form (`domain::interconnect::AddressSpec` Display).
    pub address: String,
    pub port: i64,
    pub transport: String,
    /// First address as 32 hex digits (IPv4 mapped into IPv6); `None` for hosts.
    pub range_start: Option<String>,
    /// Last address, same shape.
    pub range_end: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
