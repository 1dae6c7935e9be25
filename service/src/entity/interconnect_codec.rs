//! `interconnect_codecs` table: an interconnect's codecs in order.

use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "interconnect_codecs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub interconnect_id: i64,
    pub codec_id: i64,
    pub position: i64,
    pub relay_only: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::codec::Entity",
        from = "Column::CodecId",
        to = "super::codec::Column::Id"
    )]
    Codec,
}

impl Related<super::codec::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Codec.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
