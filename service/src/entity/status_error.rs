//! `status_errors` table: recent failed requests (5xx) with their correlation ids; the
//! details are in the log under the same id. No secret, no personal data.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "status_errors")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub occurred_at: DateTimeUtc,
    pub instance: String,
    pub kind: String,
    pub name: String,
    pub status_code: i64,
    /// Empty when the handler gave none.
    pub correlation_id: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
