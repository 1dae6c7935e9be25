//! `routing_plans` table: how a customer service's calls are routed (see
//! `domain::routing::RoutingPlan`).

use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "routing_plans")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub name: String,
    /// `lcr`, `priority`, `weighted` or `quality`.
    pub strategy: String,
    /// 1–10.
    pub max_routes: i64,
    /// Least margin, basis points of the sell price (250 = 2.5 %).
    pub min_margin_bp: i64,
    /// SIP codes and classes, comma-separated (`5xx, 408`).
    pub failover_on: String,
    /// SIP codes, comma-separated.
    pub no_failover: String,
    pub description: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
