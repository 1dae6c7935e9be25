//! Routing plans and their entries: saving, listing, deleting (every change audited,
//! entity `routing_plan`), and reading them for the routing table.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use domain::routing::{
    validate_routing_entry, validate_routing_plan, PlanFacts, RouteStrategy, RoutingEntry,
    RoutingEntryForm, RoutingPlan, RoutingPlanForm,
};
use domain::FieldErrors;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use serde::Serialize;

use crate::audit::{self, Actor};
use crate::entity::{routing_plan, routing_plan_entry, service};
use crate::{ServiceError, ServiceResult};

/// Most entries one plan holds.
pub const MAX_ENTRIES: usize = 10_000;

/// The stored plan as a domain value. Errors: `Internal` for a row no form could save.
pub fn plan_of(m: &routing_plan::Model) -> ServiceResult<RoutingPlan> {
    validate_routing_plan(&RoutingPlanForm {
        name: m.name.clone(),
        strategy: m.strategy.clone(),
        max_routes: m.max_routes.to_string(),
        min_margin_percent: domain::routing::percent_text(
            u32::try_from(m.min_margin_bp).unwrap_or(0),
        ),
        failover_on: m.failover_on.clone(),
        no_failover: m.no_failover.clone(),
        description: m.description.clone(),
    })
    .map_err(|e| ServiceError::Internal(format!("routing plan {}: {e}", m.id)))
}

/// A stored entry as a domain value.
pub fn entry_of(m: &routing_plan_entry::Model) -> RoutingEntry {
    RoutingEntry {
        prefix: m.prefix.clone(),
        supplier_service_id: m.supplier_service_id,
        priority: u32::try_from(m.priority).unwrap_or(1),
        weight: u32::try_from(m.weight).unwrap_or(100),
    }
}

/// Every plan with its entries, for [`super::load_facts`].
pub async fn all_plan_facts<C: ConnectionTrait>(db: &C) -> ServiceResult<Vec<PlanFacts>> {
    let mut entries: HashMap<i64, Vec<RoutingEntry>> = HashMap::new();
    for e in routing_plan_entry::Entity::find()
        .order_by_asc(routing_plan_entry::Column::Id)
        .all(db)
        .await?
    {
        entries
            .entry(e.routing_plan_id)
            .or_default()
            .push(entry_of(&e));
    }
    routing_plan::Entity::find()
        .all(db)
        .await?
        .iter()
        .map(|m| {
            Ok(PlanFacts {
                id: m.id,
                plan: plan_of(m)?,
                entries: entries.remove(&m.id).unwrap_or_default(),
            })
        })
        .collect()
}

/// One plan in the list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlanSummary {
    pub plan: routing_plan::Model,
    pub entries: u64,
    /// Names of the customer services that use it.
    pub services: Vec<String>,
}

/// Every plan, by name, with its entry count and the services using it.
pub async fn list_plans(db: &DatabaseConnection) -> ServiceResult<Vec<PlanSummary>> {
    let plans = routing_plan::Entity::find()
        .order_by_asc(routing_plan::Column::Name)
        .all(db)
        .await?;
    let mut counts: HashMap<i64, u64> = HashMap::new();
    for e in routing_plan_entry::Entity::find().all(db).await? {
        *counts.entry(e.routing_plan_id).or_default() += 1;
    }
    let mut users: HashMap<i64, Vec<String>> = HashMap::new();
    for s in service::Entity::find()
        .filter(service::Column::RoutingPlanId.is_not_null())
        .order_by_asc(service::Column::Name)
        .all(db)
        .await?
    {
        if let Some(id) = s.routing_plan_id {
            users.entry(id).or_default().push(s.name);
        }
    }
    Ok(plans
        .into_iter()
        .map(|plan| PlanSummary {
            entries: counts.get(&plan.id).copied().unwrap_or(0),
            services: users.remove(&plan.id).unwrap_or_default(),
            plan,
        })
        .collect())
}

/// A plan and its entries (by prefix, then priority).
pub async fn get_plan(
    db: &DatabaseConnection,
    id: i64,
) -> ServiceResult<(routing_plan::Model, Vec<routing_plan_entry::Model>)> {
    let plan = routing_plan::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound("routing plan"))?;
    let entries = routing_plan_entry::Entity::find()
        .filter(routing_plan_entry::Column::RoutingPlanId.eq(id))
        .order_by_asc(routing_plan_entry::Column::Prefix)
        .order_by_asc(routing_plan_entry::Column::Priority)
        .order_by_asc(routing_plan_entry::Column::Id)
        .all(db)
        .await?;
    Ok((plan, entries))
}

/// Creates (`id: None`) or updates a plan's settings.
///
/// Errors: `Validation` (every bad field; a name in use); `NotFound`.
pub async fn save_plan(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Option<i64>,
    form: &RoutingPlanForm,
) -> ServiceResult<routing_plan::Model> {
    let valid = validate_routing_plan(form)?;
    let txn = crate::db::begin_write(db).await?;
    let mut clash =
        routing_plan::Entity::find().filter(routing_plan::Column::Name.eq(valid.name.as_str()));
    if let Some(id) = id {
        clash = clash.filter(routing_plan::Column::Id.ne(id));
    }
    if clash.count(&txn).await? > 0 {
        let mut errors = FieldErrors::new();
        errors.add(
            "name",
            format!("There is already a routing plan called {}.", valid.name),
        );
        return Err(errors.into());
    }
    let now = Utc::now();
    let before = match id {
        Some(id) => Some(
            routing_plan::Entity::find_by_id(id)
                .one(&txn)
                .await?
                .ok_or(ServiceError::NotFound("routing plan"))?,
        ),
        None => None,
    };
    let mut active: routing_plan::ActiveModel = match &before {
        Some(model) => model.clone().into(),
        None => routing_plan::ActiveModel {
            created_at: Set(now),
            ..Default::default()
        },
    };
    let form_back = RoutingPlanForm::from(&valid);
    active.name = Set(valid.name);
    active.strategy = Set(valid.strategy.as_str().to_owned());
    active.max_routes = Set(i64::from(valid.max_routes));
    active.min_margin_bp = Set(i64::from(valid.min_margin_bp));
    active.failover_on = Set(form_back.failover_on);
    active.no_failover = Set(form_back.no_failover);
    active.description = Set(valid.description);
    active.updated_at = Set(now);
    let after = audit::save(&txn, actor, "routing_plan", None, before.as_ref(), active).await?;
    txn.commit().await?;
    Ok(after)
}

#[derive(Serialize)]
struct EntriesAudit<'a> {
    entries: &'a [RoutingEntry],
}

/// Replaces every entry of plan `id` with `forms`, all or nothing.
///
/// Errors: `Validation` naming each bad row as `entries.{n}.{field}` (`n` from 1): a bad
/// field, a supplier service that does not exist or is not a supplier service, the same
/// prefix and service twice, more than [`MAX_ENTRIES`] rows; `NotFound`.
pub async fn save_entries(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    forms: &[RoutingEntryForm],
) -> ServiceResult<Vec<routing_plan_entry::Model>> {
    let mut errors = FieldErrors::new();
    if forms.len() > MAX_ENTRIES {
        errors.add(
            "entries",
            format!("A plan holds at most {MAX_ENTRIES} entries; split it."),
        );
        return Err(errors.into());
    }
    let suppliers: HashMap<i64, service::Model> = service::Entity::find()
        .filter(service::Column::Direction.eq("supplier"))
        .all(db)
        .await?
        .into_iter()
        .map(|s| (s.id, s))
        .collect();
    let mut valid = Vec::with_capacity(forms.len());
    let mut seen = HashSet::new();
    for (i, form) in forms.iter().enumerate() {
        let n = i + 1;
        match validate_routing_entry(form) {
            Ok(entry) => {
                if !suppliers.contains_key(&entry.supplier_service_id) {
                    errors.add(
                        format!("entries.{n}.supplier_service_id"),
                        format!("Row {n}: choose a supplier service from the list."),
                    );
                } else if !seen.insert((entry.prefix.clone(), entry.supplier_service_id)) {
                    errors.add(
                        format!("entries.{n}.prefix"),
                        format!(
                            "Row {n}: {} already has this supplier service; keep one row.",
                            if entry.prefix.is_empty() {
                                "“every destination”".to_owned()
                            } else {
                                format!("prefix {}", entry.prefix)
                            }
                        ),
                    );
                }
                valid.push(entry);
            }
            Err(row) => {
                for e in row.0 {
                    errors.add(
                        format!("entries.{n}.{}", e.field),
                        format!("Row {n}: {}", e.message),
                    );
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let txn = crate::db::begin_write(db).await?;
    let plan = routing_plan::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound("routing plan"))?;
    let before: Vec<RoutingEntry> = routing_plan_entry::Entity::find()
        .filter(routing_plan_entry::Column::RoutingPlanId.eq(id))
        .order_by_asc(routing_plan_entry::Column::Id)
        .all(&txn)
        .await?
        .iter()
        .map(entry_of)
        .collect();
    routing_plan_entry::Entity::delete_many()
        .filter(routing_plan_entry::Column::RoutingPlanId.eq(id))
        .exec(&txn)
        .await?;
    let now = Utc::now();
    let mut saved = Vec::with_capacity(valid.len());
    for entry in &valid {
        saved.push(
            routing_plan_entry::ActiveModel {
                routing_plan_id: Set(id),
                prefix: Set(entry.prefix.clone()),
                supplier_service_id: Set(entry.supplier_service_id),
                priority: Set(i64::from(entry.priority)),
                weight: Set(i64::from(entry.weight)),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await?,
        );
    }
    // The plan's own `updated_at` moves too, so the routing table sees a change even when
    // the new entries have the same count as the old.
    let mut touched: routing_plan::ActiveModel = plan.into();
    touched.updated_at = Set(now);
    touched.update(&txn).await?;
    audit::record_change(
        &txn,
        actor,
        "routing_plan",
        id,
        None,
        Some(&EntriesAudit { entries: &before }),
        Some(&EntriesAudit { entries: &valid }),
    )
    .await?;
    txn.commit().await?;
    Ok(saved)
}

/// Deletes a plan no service uses. Errors: `Conflict` naming the services; `NotFound`.
pub async fn delete_plan(db: &DatabaseConnection, actor: &Actor, id: i64) -> ServiceResult<()> {
    let txn = crate::db::begin_write(db).await?;
    let before = routing_plan::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound("routing plan"))?;
    let users = plan_users(&txn, id).await?;
    if !users.is_empty() {
        return Err(ServiceError::Conflict(format!(
            "{} is the routing plan of {}. Choose another plan for {} first.",
            before.name,
            users.join(", "),
            if users.len() == 1 { "it" } else { "them" }
        )));
    }
    routing_plan::Entity::delete_by_id(id).exec(&txn).await?;
    audit::record_change(&txn, actor, "routing_plan", id, None, Some(&before), None).await?;
    txn.commit().await?;
    Ok(())
}

/// Names of the services whose routing plan is `id`, by name.
pub async fn plan_users<C: ConnectionTrait>(db: &C, id: i64) -> ServiceResult<Vec<String>> {
    Ok(service::Entity::find()
        .filter(service::Column::RoutingPlanId.eq(id))
        .order_by_asc(service::Column::Name)
        .all(db)
        .await?
        .into_iter()
        .map(|s| s.name)
        .collect())
}

/// Every ingress interconnect as `(id, "Carrier — interconnect")`, by carrier and name:
/// the route simulation's pick list.
pub async fn ingress_choices(db: &DatabaseConnection) -> ServiceResult<Vec<(i64, String)>> {
    use crate::entity::{carrier, interconnect};
    let carriers: HashMap<i64, String> = carrier::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    let mut out: Vec<(i64, String)> = interconnect::Entity::find()
        .filter(interconnect::Column::Direction.eq("ingress"))
        .all(db)
        .await?
        .into_iter()
        .map(|ic| {
            let carrier = carriers.get(&ic.carrier_id).map_or("?", String::as_str);
            (ic.id, format!("{carrier} — {}", ic.name))
        })
        .collect();
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}

/// Checks that `plan_id` exists, for a customer service naming it. Errors: `Validation`
/// on `routing_plan_id`.
pub async fn check_plan_for_service<C: ConnectionTrait>(db: &C, plan_id: i64) -> ServiceResult<()> {
    if routing_plan::Entity::find_by_id(plan_id)
        .one(db)
        .await?
        .is_none()
    {
        let mut errors = FieldErrors::new();
        errors.add(
            "routing_plan_id",
            "That routing plan no longer exists. Choose one from the list.",
        );
        return Err(errors.into());
    }
    Ok(())
}

/// Strategy names and labels, for pick lists.
pub fn strategies() -> Vec<(&'static str, &'static str)> {
    [
        RouteStrategy::Lcr,
        RouteStrategy::Priority,
        RouteStrategy::Weighted,
        RouteStrategy::Quality,
    ]
    .into_iter()
    .map(|s| (s.as_str(), s.label()))
    .collect()
}
