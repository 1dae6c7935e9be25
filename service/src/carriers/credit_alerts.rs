//! A carrier's credit alerts: notify recipients when the balance falls below a
//! threshold (the ledger fires them once balances exist).

use chrono::Utc;
use domain::carrier::{validate_credit_alert, CreditAlertForm};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
    TransactionTrait,
};

use crate::audit::{self, Actor};
use crate::entity::{carrier, credit_alert};
use crate::{ServiceError, ServiceResult};

const ENTITY: &str = "credit_alert";

/// The carrier's credit alerts, highest threshold first (the first to fire).
pub async fn list_credit_alerts(
    db: &DatabaseConnection,
    carrier_id: i64,
) -> ServiceResult<Vec<credit_alert::Model>> {
    Ok(credit_alert::Entity::find()
        .filter(credit_alert::Column::CarrierId.eq(carrier_id))
        .order_by_desc(credit_alert::Column::ThresholdMicros)
        .order_by_asc(credit_alert::Column::Id)
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
    let txn = db.begin().await?;
    carrier::Entity::find_by_id(carrier_id)
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound("carrier"))?;
    let now = Utc::now();
    let before = match id {
        Some(id) => Some(
            credit_alert::Entity::find_by_id(id)
                .filter(credit_alert::Column::CarrierId.eq(carrier_id))
                .one(&txn)
                .await?
                .ok_or(ServiceError::NotFound("credit alert"))?,
        ),
        None => None,
    };
    let mut active = match &before {
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
    active.updated_at = Set(now);
    let after = match before {
        Some(_) => active.update(&txn).await?,
        None => active.insert(&txn).await?,
    };
    audit::record_change(
        &txn,
        actor,
        ENTITY,
        after.id,
        Some(carrier_id),
        before.as_ref(),
        Some(&after),
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
    let txn = db.begin().await?;
    let before = credit_alert::Entity::find_by_id(id)
        .filter(credit_alert::Column::CarrierId.eq(carrier_id))
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound("credit alert"))?;
    credit_alert::Entity::delete_by_id(id).exec(&txn).await?;
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
