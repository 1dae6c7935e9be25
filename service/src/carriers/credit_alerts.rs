//! A carrier's credit alerts: notify recipients when the balance falls below a
//! threshold (the ledger fires them once balances exist).

use chrono::Utc;
use domain::carrier::{validate_credit_alert, CreditAlertForm};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set};

use super::{find_owned, get_carrier_in};
use crate::audit::{self, Actor};
use crate::entity::credit_alert::{self, Column, Entity};
use crate::ServiceResult;

const ENTITY: &str = "credit_alert";

/// The carrier's credit alerts, highest threshold first (the first to fire).
pub async fn list_credit_alerts(
    db: &DatabaseConnection,
    carrier_id: i64,
) -> ServiceResult<Vec<credit_alert::Model>> {
    Ok(Entity::find()
        .filter(Column::CarrierId.eq(carrier_id))
        .order_by_desc(Column::ThresholdMicros)
        .order_by_asc(Column::Id)
        .all(db)
        .await?)
}

/// Adds (`id: None`) or edits one of `carrier_id`'s credit alerts.
/// Errors: `Validation`; `NotFound`.
pub async fn save_credit_alert(
    db: &DatabaseConnection,
    actor: &Actor,
    carrier_id: i64,
    id: Option<i64>,
    form: &CreditAlertForm,
) -> ServiceResult<credit_alert::Model> {
    let alert = validate_credit_alert(form)?;
    let txn = crate::db::begin_write(db).await?;
    get_carrier_in(&txn, carrier_id).await?;
    let before = match id {
        Some(id) => Some(
            find_owned::<Entity, _>(&txn, id, Column::CarrierId, carrier_id, "credit alert")
                .await?,
        ),
        None => None,
    };
    let now = Utc::now();
    let mut active: credit_alert::ActiveModel = match &before {
        Some(model) => model.clone().into(),
        None => credit_alert::ActiveModel {
            carrier_id: Set(carrier_id),
            created_at: Set(now),
            ..Default::default()
        },
    };
    active.threshold_micros = Set(alert.threshold_micros);
    active.recipients = Set(alert.recipients.join(","));
    active.repeat_every_hours = Set(alert.repeat_every_hours.map(i64::from));
    active.enabled = Set(alert.enabled);
    // A changed alert is judged afresh at the next posting.
    active.armed = Set(true);
    active.updated_at = Set(now);
    let after = audit::save(
        &txn,
        actor,
        ENTITY,
        Some(carrier_id),
        before.as_ref(),
        active,
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

/// Deletes one of `carrier_id`'s credit alerts. Errors: `NotFound`.
pub async fn delete_credit_alert(
    db: &DatabaseConnection,
    actor: &Actor,
    carrier_id: i64,
    id: i64,
) -> ServiceResult<()> {
    let txn = crate::db::begin_write(db).await?;
    let before =
        find_owned::<Entity, _>(&txn, id, Column::CarrierId, carrier_id, "credit alert").await?;
    Entity::delete_by_id(id).exec(&txn).await?;
    audit::record_change(
        &txn,
        actor,
        ENTITY,
        id,
        Some(carrier_id),
        Some(&before),
        None,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// A saved credit alert in the shape of its form (recipients one per line).
pub fn credit_alert_form(m: &credit_alert::Model) -> CreditAlertForm {
    CreditAlertForm {
        threshold: super::amount_text(m.threshold_micros),
        recipients: m.recipients.split(',').collect::<Vec<_>>().join("\n"),
        repeat_every_hours: m
            .repeat_every_hours
            .map(|h| h.to_string())
            .unwrap_or_default(),
        enabled: m.enabled,
    }
}
