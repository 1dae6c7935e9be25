//! `services` table: services: what customers buy (`customer`) or suppliers sell us (`supplier`).

use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "services")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub name: String,
    /// `customer` or `supplier`.
    pub direction: String,
    /// `active` or `inactive`.
    pub status: String,
    pub voice_tier_id: Option<i64>,
    pub description: String,
    /// Customer services: a customer plan; supplier services: a supplier deck.
    pub rate_plan_id: Option<i64>,
    /// Customer services: the routing plan of their calls.
    pub routing_plan_id: Option<i64>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::reference_item::Entity",
        from = "Column::VoiceTierId",
        to = "super::reference_item::Column::Id"
    )]
    ReferenceItem,
}

impl Related<super::reference_item::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ReferenceItem.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
