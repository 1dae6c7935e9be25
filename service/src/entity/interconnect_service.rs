//! `interconnect_services` table: which services an interconnect buys (ingress) or sells (egress).

use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "interconnect_services")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub interconnect_id: i64,
    pub service_id: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
