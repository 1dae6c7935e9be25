//! `rate_revisions` table: each publication of a rate plan (an import, an edit or a
//! derivation), numbered per plan, with its change-code counts.

use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "rate_revisions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub rate_plan_id: i64,
    /// 1, 2, 3… per plan.
    pub number: i64,
    /// `import`, `edit` or `derive`.
    pub source: String,
    pub import_id: Option<i64>,
    pub new_codes: i64,
    pub increases: i64,
    pub decreases: i64,
    pub unchanged: i64,
    pub removed: i64,
    /// E-mail of the user who published it (`system` for the CLI).
    pub published_by: String,
    pub published_at: DateTimeUtc,
    pub note: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
