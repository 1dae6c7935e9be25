//! The audit log: every create, update and delete made through `service` writes one
//! entry — who (actor), what (entity and id), under which carrier, and the field-level
//! before/after — in the same transaction as the change itself, at a UTC time set here.

use chrono::Utc;
use sea_orm::{
    ActiveModelBehavior, ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};

use crate::entity::audit_entry;
use crate::ServiceResult;

/// Who made a change: the signed-in user (or a CLI/system actor with `user_id: None`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub user_id: Option<i64>,
    /// Shown in History; kept even after the user is deleted.
    pub email: String,
}

impl Actor {
    /// The actor for changes made by `didtron` itself (CLI, migrations, jobs).
    pub fn system() -> Self {
        Actor {
            user_id: None,
            email: "system".into(),
        }
    }
}

/// What happened to the entity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    Delete,
}

impl Action {
    /// Stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
        }
    }
}

/// One field's change. `before` is `None` on create, `after` is `None` on delete.
/// Values are shown as text: strings as they are, other JSON values in JSON form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// One entry of the audit log as History shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRecord {
    pub id: i64,
    pub actor_email: String,
    pub entity: String,
    pub entity_id: i64,
    pub action: String,
    pub changes: Vec<FieldChange>,
    pub occurred_at: chrono::DateTime<Utc>,
}

/// Fields never worth an audit line: they change on every write.
const SKIPPED: [&str; 3] = ["created_at", "updated_at", "id"];

fn show(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) if s.is_empty() => None,
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// The field-level difference between two snapshots of the same entity (any
/// `Serialize` value that serialises to a JSON object, such as a SeaORM model). `None`
/// for `before` means created; for `after`, deleted. Fields equal on both sides are
/// left out; `id`, `created_at` and `updated_at` always are.
pub fn diff<T: Serialize>(before: Option<&T>, after: Option<&T>) -> Vec<FieldChange> {
    let object = |v: Option<&T>| match v.map(serde_json::to_value) {
        Some(Ok(serde_json::Value::Object(map))) => map,
        _ => serde_json::Map::new(),
    };
    let (before, after) = (object(before), object(after));
    let mut fields: Vec<&String> = before.keys().chain(after.keys()).collect();
    fields.sort();
    fields.dedup();
    fields
        .into_iter()
        .filter(|f| !SKIPPED.contains(&f.as_str()))
        .filter_map(|field| {
            let b = before.get(field).and_then(show);
            let a = after.get(field).and_then(show);
            (b != a).then(|| FieldChange {
                field: field.clone(),
                before: b,
                after: a,
            })
        })
        .collect()
}

/// Writes one audit entry inside the caller's transaction (`db` is the transaction).
/// An update with no changed field writes nothing.
pub async fn record<C: ConnectionTrait>(
    db: &C,
    actor: &Actor,
    entity: &str,
    entity_id: i64,
    carrier_id: Option<i64>,
    action: Action,
    changes: Vec<FieldChange>,
) -> ServiceResult<()> {
    if action == Action::Update && changes.is_empty() {
        return Ok(());
    }
    audit_entry::ActiveModel {
        actor_id: Set(actor.user_id),
        actor_email: Set(actor.email.clone()),
        entity: Set(entity.to_owned()),
        entity_id: Set(entity_id),
        carrier_id: Set(carrier_id),
        action: Set(action.as_str().to_owned()),
        changes: Set(serde_json::to_string(&changes).unwrap_or_else(|_| "[]".into())),
        occurred_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Records the difference between `before` and `after` (see [`diff`]) as one entry.
#[allow(clippy::too_many_arguments)]
pub async fn record_change<C: ConnectionTrait, T: Serialize>(
    db: &C,
    actor: &Actor,
    entity: &str,
    entity_id: i64,
    carrier_id: Option<i64>,
    before: Option<&T>,
    after: Option<&T>,
) -> ServiceResult<()> {
    let action = match (before, after) {
        (None, _) => Action::Create,
        (Some(_), None) => Action::Delete,
        (Some(_), Some(_)) => Action::Update,
    };
    record(
        db,
        actor,
        entity,
        entity_id,
        carrier_id,
        action,
        diff(before, after),
    )
    .await
}

/// The `id` field of a row (every table's primary key is `id`).
fn row_id<T: Serialize>(row: &T) -> i64 {
    serde_json::to_value(row)
        .ok()
        .and_then(|v| v.get("id").and_then(serde_json::Value::as_i64))
        .unwrap_or_default()
}

/// The model type of an active model.
pub type ModelOf<A> = <<A as ActiveModelTrait>::Entity as EntityTrait>::Model;

/// Writes `active` — an insert when `before` is `None`, else an update of `before` — and
/// its audit entry (see [`record_change`]), both on `db`, the caller's transaction.
/// Returns the saved row.
pub async fn save<A, C>(
    db: &C,
    actor: &Actor,
    entity: &str,
    carrier_id: Option<i64>,
    before: Option<&ModelOf<A>>,
    active: A,
) -> ServiceResult<ModelOf<A>>
where
    C: ConnectionTrait,
    A: ActiveModelTrait + ActiveModelBehavior + Send,
    ModelOf<A>: IntoActiveModel<A> + Serialize,
{
    let after = match before {
        Some(_) => active.update(db).await?,
        None => active.insert(db).await?,
    };
    record_change(
        db,
        actor,
        entity,
        row_id(&after),
        carrier_id,
        before,
        Some(&after),
    )
    .await?;
    Ok(after)
}

/// Maximum entries [`carrier_history`] returns per page.
pub const MAX_HISTORY_PAGE: u64 = 200;

/// A carrier's history, newest first: everything recorded under `carrier_id`, `limit`
/// entries (at most [`MAX_HISTORY_PAGE`]) older than the entry `before_id` when given.
pub async fn carrier_history(
    db: &DatabaseConnection,
    carrier_id: i64,
    before_id: Option<i64>,
    limit: u64,
) -> ServiceResult<Vec<AuditRecord>> {
    let mut query = audit_entry::Entity::find()
        .filter(audit_entry::Column::CarrierId.eq(carrier_id))
        .order_by_desc(audit_entry::Column::Id)
        .limit(limit.clamp(1, MAX_HISTORY_PAGE));
    if let Some(before) = before_id {
        query = query.filter(audit_entry::Column::Id.lt(before));
    }
    Ok(query
        .all(db)
        .await?
        .into_iter()
        .map(|e| AuditRecord {
            id: e.id,
            actor_email: e.actor_email,
            entity: e.entity,
            entity_id: e.entity_id,
            action: e.action,
            changes: serde_json::from_str(&e.changes).unwrap_or_default(),
            occurred_at: e.occurred_at,
        })
        .collect())
}

/// A page of the whole audit log, newest first (keyset on the id), filtered by entity,
/// part of the actor's e-mail and UTC dates (inclusive) — System Status → Audit.
///
/// Errors: `Validation` naming `from`, `to` or `after`.
pub async fn log_page(
    db: &DatabaseConnection,
    q: &domain::status::AuditQuery,
) -> ServiceResult<domain::listing::Page<domain::status::AuditRow>> {
    use chrono::{NaiveDate, TimeZone};
    let mut errors = domain::FieldErrors::new();
    let mut query = audit_entry::Entity::find().order_by_desc(audit_entry::Column::Id);
    if !q.entity.trim().is_empty() {
        query = query.filter(audit_entry::Column::Entity.eq(q.entity.trim()));
    }
    if !q.actor.trim().is_empty() {
        query = query.filter(audit_entry::Column::ActorEmail.contains(q.actor.trim()));
    }
    let day = |field: &str, text: &str, errors: &mut domain::FieldErrors| {
        if text.trim().is_empty() {
            return None;
        }
        match NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                errors.add(field, "Enter a date as YYYY-MM-DD.");
                None
            }
        }
    };
    if let Some(from) = day("from", &q.from, &mut errors) {
        let start = Utc.from_utc_datetime(&from.and_hms_opt(0, 0, 0).expect("midnight"));
        query = query.filter(audit_entry::Column::OccurredAt.gte(start));
    }
    if let Some(to) = day("to", &q.to, &mut errors) {
        let end = Utc.from_utc_datetime(&to.and_hms_opt(0, 0, 0).expect("midnight"))
            + chrono::Duration::days(1);
        query = query.filter(audit_entry::Column::OccurredAt.lt(end));
    }
    if !q.after.is_empty() {
        match q.after.parse::<i64>() {
            Ok(after) => query = query.filter(audit_entry::Column::Id.lt(after)),
            Err(_) => errors.add("after", "is not a page cursor"),
        }
    }
    errors.into_result(())?;
    let size = domain::listing::page_size(q.limit) as u64;
    let mut rows = query.limit(size + 1).all(db).await?;
    let more = rows.len() as u64 > size;
    rows.truncate(size as usize);
    let next = more
        .then(|| rows.last().map(|r| r.id.to_string()))
        .flatten();
    Ok(domain::listing::Page {
        rows: rows
            .into_iter()
            .map(|e| {
                let changes: Vec<FieldChange> =
                    serde_json::from_str(&e.changes).unwrap_or_default();
                domain::status::AuditRow {
                    id: e.id,
                    occurred_at: e
                        .occurred_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    actor: e.actor_email,
                    entity: e.entity,
                    entity_id: e.entity_id,
                    action: e.action,
                    changes: changes
                        .into_iter()
                        .map(|c| {
                            format!(
                                "{}: {} → {}",
                                c.field,
                                c.before.unwrap_or_else(|| "—".into()),
                                c.after.unwrap_or_else(|| "—".into())
                            )
                        })
                        .collect(),
                }
            })
            .collect(),
        next,
    })
}

/// The entity kinds the audit log holds (the Audit tab's filter).
pub async fn log_entities(db: &DatabaseConnection) -> ServiceResult<Vec<String>> {
    Ok(audit_entry::Entity::find()
        .select_only()
        .column(audit_entry::Column::Entity)
        .distinct()
        .order_by_asc(audit_entry::Column::Entity)
        .into_tuple::<String>()
        .all(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Thing {
        id: i64,
        name: String,
        limit: i64,
        note: Option<String>,
        updated_at: String,
    }

    #[test]
    fn diff_lists_only_changed_fields() {
        let a = Thing {
            id: 1,
            name: "Acme".into(),
            limit: 5,
            note: None,
            updated_at: "t1".into(),
        };
        let b = Thing {
            id: 1,
            name: "Acme".into(),
            limit: 7,
            note: Some("vip".into()),
            updated_at: "t2".into(),
        };
        let changes = diff(Some(&a), Some(&b));
        assert_eq!(
            changes,
            vec![
                FieldChange {
                    field: "limit".into(),
                    before: Some("5".into()),
                    after: Some("7".into())
                },
                FieldChange {
                    field: "note".into(),
                    before: None,
                    after: Some("vip".into())
                },
            ]
        );
        let created = diff(None, Some(&a));
        assert_eq!(
            created.iter().map(|c| c.field.as_str()).collect::<Vec<_>>(),
            ["limit", "name"]
        );
        assert!(created.iter().all(|c| c.before.is_none()));
    }
}
