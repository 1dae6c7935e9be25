//! `status_slow_queries` table: statements that took longer than the slow-query
//! threshold (500 ms), with placeholders (never values) and, on PostgreSQL, their plan.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "status_slow_queries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub occurred_at: DateTimeUtc,
    pub instance: String,
    pub elapsed_us: i64,
    pub statement: String,
    /// PostgreSQL's generic plan (`EXPLAIN`); empty on SQLite or when it failed.
    pub plan: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
