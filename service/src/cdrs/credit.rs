//! Credit control, run in the transaction of every posting (rated CDRs, payments and
//! adjustments), for the carriers the posting touched.
//!
//! - **Available credit** = balance + credit limit (the balance is DIDTron's side:
//!   negative when the carrier owes us).
//! - **Blocking**: a carrier that buys from us (type customer or both) whose available
//!   credit reaches zero is blocked — prepaid at a zero balance, postpaid at its credit
//!   limit, as the Accounting tab says — and the routing API refuses its calls; a
//!   posting that lifts it above zero unblocks it. Every block and unblock is audited
//!   (entity `carrier_credit`, by `system`).
//! - **Credit alerts** fire once when the available credit falls below their threshold
//!   (a message to the recipients in the mail outbox, the alert's `last_fired_at`), and
//!   re-arm when it is at or above the threshold again. An alert with "repeat every N
//!   hours" fires again after N hours while the credit stays below.
//!
//! Every change is a conditional UPDATE (`… WHERE blocked = false`, `… WHERE armed =
//! true`) whose row count decides, so two postings racing on PostgreSQL never block,
//! audit or mail twice.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::NotSet, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::Serialize;

use crate::audit::{self, Actor};
use crate::entity::{carrier, carrier_balance, credit_alert, mail_outbox};
use crate::rate_plans::rate_text;
use crate::ServiceResult;

/// What one check changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CreditChanges {
    pub blocked: Vec<i64>,
    pub unblocked: Vec<i64>,
    /// Alert ids that fired.
    pub alerts_fired: Vec<i64>,
}

#[derive(Serialize)]
struct CreditState {
    blocked: bool,
    available: String,
}

/// Checks `carrier_ids` after a posting, on the posting's transaction `txn` (see the
/// module documentation).
///
/// Errors: the database's (the posting's transaction then fails as a whole).
pub async fn check<C: ConnectionTrait>(
    txn: &C,
    carrier_ids: &[i64],
    now: DateTime<Utc>,
) -> ServiceResult<CreditChanges> {
    let mut changes = CreditChanges::default();
    if carrier_ids.is_empty() {
        return Ok(changes);
    }
    let carriers: HashMap<i64, carrier::Model> = carrier::Entity::find()
        .filter(carrier::Column::Id.is_in(carrier_ids.iter().copied()))
        .all(txn)
        .await?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let balances = carrier_balance::Entity::find()
        .filter(carrier_balance::Column::CarrierId.is_in(carrier_ids.iter().copied()))
        .all(txn)
        .await?;
    let alerts = credit_alert::Entity::find()
        .filter(credit_alert::Column::CarrierId.is_in(carrier_ids.iter().copied()))
        .filter(credit_alert::Column::Enabled.eq(true))
        .all(txn)
        .await?;
    for balance in balances {
        let Some(c) = carriers.get(&balance.carrier_id) else {
            continue;
        };
        let available = balance.balance_micros.saturating_add(c.credit_limit_micros);
        let buys_from_us = c.carrier_type != "supplier";
        let state = |blocked| CreditState {
            blocked,
            available: format!("{} {}", rate_text(available), c.currency),
        };
        if buys_from_us && !balance.blocked && available <= 0 {
            if set_blocked(txn, c.id, true, now).await? {
                audit::record_change(
                    txn,
                    &Actor::system(),
                    "carrier_credit",
                    c.id,
                    Some(c.id),
                    Some(&state(false)),
                    Some(&state(true)),
                )
                .await?;
                tracing::info!(carrier = c.id, available, "carrier blocked: no credit left");
                changes.blocked.push(c.id);
            }
        } else if balance.blocked && available > 0 && set_blocked(txn, c.id, false, now).await? {
            audit::record_change(
                txn,
                &Actor::system(),
                "carrier_credit",
                c.id,
                Some(c.id),
                Some(&state(true)),
                Some(&state(false)),
            )
            .await?;
            tracing::info!(carrier = c.id, available, "carrier unblocked");
            changes.unblocked.push(c.id);
        }
        for alert in alerts.iter().filter(|a| a.carrier_id == c.id) {
            let below = available < alert.threshold_micros;
            let repeat_due = alert
                .repeat_every_hours
                .zip(alert.last_fired_at)
                .is_some_and(|(hours, last)| now - last >= Duration::hours(hours));
            if below && (alert.armed || repeat_due) {
                if fire(txn, alert, now).await? {
                    queue_alert_mail(txn, c, alert, available, balance.balance_micros, now).await?;
                    changes.alerts_fired.push(alert.id);
                }
            } else if !below && !alert.armed {
                credit_alert::Entity::update_many()
                    .col_expr(credit_alert::Column::Armed, Expr::value(true))
                    .filter(credit_alert::Column::Id.eq(alert.id))
                    .exec(txn)
                    .await?;
            }
        }
    }
    Ok(changes)
}

/// Sets `blocked` if it is not already so; true when this call changed it.
async fn set_blocked<C: ConnectionTrait>(
    txn: &C,
    carrier_id: i64,
    blocked: bool,
    now: DateTime<Utc>,
) -> ServiceResult<bool> {
    let done = carrier_balance::Entity::update_many()
        .col_expr(carrier_balance::Column::Blocked, Expr::value(blocked))
        .col_expr(
            carrier_balance::Column::BlockedAt,
            Expr::value(if blocked { Some(now) } else { None }),
        )
        .col_expr(carrier_balance::Column::UpdatedAt, Expr::value(now))
        .filter(carrier_balance::Column::CarrierId.eq(carrier_id))
        .filter(carrier_balance::Column::Blocked.eq(!blocked))
        .exec(txn)
        .await?;
    Ok(done.rows_affected == 1)
}

/// Marks `alert` fired (disarmed, fired now) unless another posting just did.
async fn fire<C: ConnectionTrait>(
    txn: &C,
    alert: &credit_alert::Model,
    now: DateTime<Utc>,
) -> ServiceResult<bool> {
    let mut update = credit_alert::Entity::update_many()
        .col_expr(credit_alert::Column::Armed, Expr::value(false))
        .col_expr(credit_alert::Column::LastFiredAt, Expr::value(Some(now)))
        .filter(credit_alert::Column::Id.eq(alert.id))
        .filter(credit_alert::Column::Armed.eq(alert.armed));
    update = match alert.last_fired_at {
        Some(last) => update.filter(credit_alert::Column::LastFiredAt.eq(last)),
        None => update.filter(credit_alert::Column::LastFiredAt.is_null()),
    };
    Ok(update.exec(txn).await?.rows_affected == 1)
}

async fn queue_alert_mail<C: ConnectionTrait>(
    txn: &C,
    c: &carrier::Model,
    alert: &credit_alert::Model,
    available: i64,
    balance: i64,
    now: DateTime<Utc>,
) -> ServiceResult<()> {
    let money = |m: i64| format!("{} {}", rate_text(m), c.currency);
    let body = format!(
        "The available credit of {name} ({code}) is {available}, below the alert threshold of {threshold}.\n\n\
         Balance: {balance} (negative: owed to us)\nCredit limit: {limit}\nBilling: {mode}\nTime: {time} UTC\n",
        name = c.name,
        code = c.account_code,
        available = money(available),
        threshold = money(alert.threshold_micros),
        balance = money(balance),
        limit = money(c.credit_limit_micros),
        mode = c.billing_mode,
        time = now.format("%Y-%m-%d %H:%M:%S"),
    );
    mail_outbox::Entity::insert(mail_outbox::ActiveModel {
        id: NotSet,
        recipients: Set(alert.recipients.clone()),
        subject: Set(format!(
            "Credit alert: {} below {}",
            c.name,
            money(alert.threshold_micros)
        )),
        body: Set(body),
        kind: Set("credit_alert".into()),
        carrier_id: Set(Some(c.id)),
        status: Set("queued".into()),
        sent_at: Set(None),
        last_error: Set(None),
        attempts: Set(0),
        next_attempt_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec(txn)
    .await?;
    Ok(())
}
