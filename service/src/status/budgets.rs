//! Performance budgets: DIDTron's defaults ([`domain::status::default_budget`]) and the
//! ones people set on the Performance Budgets tab — for one operation, or for every
//! operation of a kind (`name` = `*`). Every change is audited (`status_budget`).

use chrono::Utc;
use domain::status::{
    default_budget, validate_budget, Budget, BudgetForm, BudgetRow, OperationKind, Percentile,
};
use sea_orm::{
    ActiveValue::NotSet, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
};

use crate::audit::{self, Actor};
use crate::entity::status_budget;
use crate::{ServiceError, ServiceResult};

/// The audit log's name for budgets.
pub const ENTITY: &str = "status_budget";

/// The budget in force for `kind`/`name`: its own, else its kind's (`*`), else
/// DIDTron's default, else none.
pub fn effective(rows: &[status_budget::Model], kind: &str, name: &str) -> Option<Budget> {
    let set = |row: &status_budget::Model, source: &str| {
        Percentile::parse(&row.percentile).map(|percentile| Budget {
            percentile,
            budget_us: row.budget_us,
            source: source.to_owned(),
        })
    };
    if let Some(own) = rows.iter().find(|r| r.kind == kind && r.name == name) {
        return set(own, "own");
    }
    if let Some(all) = rows.iter().find(|r| r.kind == kind && r.name == "*") {
        return set(all, "kind");
    }
    OperationKind::parse(kind).and_then(|k| default_budget(k, name))
}

/// Every budget people set, by kind then name.
pub async fn list(db: &DatabaseConnection) -> ServiceResult<Vec<status_budget::Model>> {
    Ok(status_budget::Entity::find()
        .order_by_asc(status_budget::Column::Kind)
        .order_by_asc(status_budget::Column::Name)
        .all(db)
        .await?)
}

/// [`list`] as rows for the tab.
pub async fn rows(db: &DatabaseConnection) -> ServiceResult<Vec<BudgetRow>> {
    Ok(list(db)
        .await?
        .into_iter()
        .map(|m| BudgetRow {
            id: m.id,
            form: BudgetForm {
                kind: m.kind,
                name: m.name,
                percentile: m.percentile,
                budget_ms: domain::status::format_milli(m.budget_us),
            },
            updated_at: m.updated_at.to_rfc3339(),
        })
        .collect())
}

/// Sets the budget of `form.kind`/`form.name` (replacing one already set), audited.
///
/// Errors: `Validation` naming the form's fields.
pub async fn save(
    db: &DatabaseConnection,
    actor: &Actor,
    form: &BudgetForm,
) -> ServiceResult<status_budget::Model> {
    let spec = validate_budget(form)?;
    let txn = crate::db::begin_write(db).await?;
    let before = status_budget::Entity::find()
        .filter(status_budget::Column::Kind.eq(spec.kind.as_str()))
        .filter(status_budget::Column::Name.eq(&spec.name))
        .one(&txn)
        .await?;
    let now = Utc::now();
    let active = status_budget::ActiveModel {
        id: before.as_ref().map_or(NotSet, |b| Set(b.id)),
        kind: Set(spec.kind.as_str().to_owned()),
        name: Set(spec.name.clone()),
        percentile: Set(spec.percentile.as_str().to_owned()),
        budget_us: Set(spec.budget_us),
        created_at: before.as_ref().map_or(Set(now), |b| Set(b.created_at)),
        updated_at: Set(now),
    };
    let saved = audit::save(&txn, actor, ENTITY, None, before.as_ref(), active).await?;
    txn.commit().await?;
    Ok(saved)
}

/// Removes budget `id` (the operation falls back to its kind's or DIDTron's), audited.
///
/// Errors: `NotFound("budget")`.
pub async fn delete(db: &DatabaseConnection, actor: &Actor, id: i64) -> ServiceResult<()> {
    let txn = crate::db::begin_write(db).await?;
    let before = status_budget::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound("budget"))?;
    status_budget::Entity::delete_by_id(id).exec(&txn).await?;
    audit::record_change::<_, status_budget::Model>(
        &txn,
        actor,
        ENTITY,
        id,
        None,
        Some(&before),
        None,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kind: &str, name: &str, p: &str, us: i64) -> status_budget::Model {
        let now = Utc::now();
        status_budget::Model {
            id: 1,
            kind: kind.into(),
            name: name.into(),
            percentile: p.into(),
            budget_us: us,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn own_budget_beats_the_kinds_which_beats_the_default() {
        let rows = vec![
            row("fn", "*", "p99", 900_000),
            row("fn", "/fn/admin/slow", "p50", 50_000),
        ];
        let own = effective(&rows, "fn", "/fn/admin/slow").unwrap();
        assert_eq!(
            (own.percentile, own.budget_us, own.source.as_str()),
            (Percentile::P50, 50_000, "own")
        );
        let kind = effective(&rows, "fn", "/fn/admin/other").unwrap();
        assert_eq!(
            (kind.percentile, kind.source.as_str()),
            (Percentile::P99, "kind")
        );
        let default = effective(&rows, "page", "/admin").unwrap();
        assert_eq!(
            (default.budget_us, default.source.as_str()),
            (300_000, "default")
        );
        assert!(effective(&rows, "api", "POST /api/v1/cdrs").is_none());
    }
}
