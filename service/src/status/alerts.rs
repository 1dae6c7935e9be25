//! Alert rules and alerts. A rule watches one metric of [`domain::status::METRICS`];
//! when its condition has held for the rule's duration an alert opens (one unresolved
//! alert per rule, whichever instance evaluates it), its recipients are mailed (the
//! outbox, then SMTP when configured), and it resolves by itself when the condition
//! clears (mailed too). People acknowledge alerts; rules and acknowledgements are
//! audited (`status_alert_rule`, `status_alert`).

use chrono::{DateTime, Utc};
use domain::status::{
    breaks, format_milli, metric_label, rule_step, validate_alert_rule, AlertRow, AlertRuleForm,
    AlertRuleRow, AlertStatus, Comparison, RuleStep, Severity,
};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::NotSet, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};

use crate::audit::{self, Actor};
use crate::entity::{mail_outbox, status_alert, status_alert_rule};
use crate::{ServiceError, ServiceResult};

/// The audit log's names.
pub const RULE_ENTITY: &str = "status_alert_rule";
pub const ALERT_ENTITY: &str = "status_alert";
/// The metric of the rule that watches the collector itself (snapshot age in periods).
pub const COLLECTOR_AGE: &str = "collector.age_periods";

fn rule_key(id: i64) -> String {
    format!("rule:{id}")
}

fn form(m: &status_alert_rule::Model) -> AlertRuleForm {
    AlertRuleForm {
        name: m.name.clone(),
        metric: m.metric.clone(),
        comparison: m.comparison.clone(),
        threshold: format_milli(m.threshold_milli),
        severity: m.severity.clone(),
        for_secs: m.for_secs.to_string(),
        recipients: m.recipients.clone(),
        enabled: m.enabled,
    }
}

/// Every rule, by name.
pub async fn rules(db: &DatabaseConnection) -> ServiceResult<Vec<AlertRuleRow>> {
    Ok(status_alert_rule::Entity::find()
        .order_by_asc(status_alert_rule::Column::Name)
        .all(db)
        .await?
        .iter()
        .map(|m| AlertRuleRow {
            id: m.id,
            form: form(m),
            breaching_since: m.breaching_since.map(|t| t.to_rfc3339()),
        })
        .collect())
}

/// Creates (`id: None`) or changes rule `id`, audited. A changed rule starts its
/// duration over.
///
/// Errors: `Validation` naming the form's fields (a taken name on `name`);
/// `NotFound("alert rule")`.
pub async fn save_rule(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Option<i64>,
    form: &AlertRuleForm,
) -> ServiceResult<i64> {
    let spec = validate_alert_rule(form)?;
    let txn = crate::db::begin_write(db).await?;
    let before = match id {
        Some(id) => Some(
            status_alert_rule::Entity::find_by_id(id)
                .one(&txn)
                .await?
                .ok_or(ServiceError::NotFound("alert rule"))?,
        ),
        None => None,
    };
    let clash = status_alert_rule::Entity::find()
        .filter(status_alert_rule::Column::Name.eq(&spec.name))
        .one(&txn)
        .await?;
    if clash.is_some_and(|c| Some(c.id) != id) {
        let mut errors = domain::FieldErrors::new();
        errors.add("name", "Another rule has this name. Choose another.");
        return Err(errors.into());
    }
    let now = Utc::now();
    let active = status_alert_rule::ActiveModel {
        id: before.as_ref().map_or(NotSet, |b| Set(b.id)),
        name: Set(spec.name),
        metric: Set(spec.metric),
        comparison: Set(spec.comparison.as_str().to_owned()),
        threshold_milli: Set(spec.threshold_milli),
        severity: Set(spec.severity.as_str().to_owned()),
        for_secs: Set(spec.for_secs),
        recipients: Set(spec.recipients),
        enabled: Set(spec.enabled),
        breaching_since: Set(None),
        created_at: before.as_ref().map_or(Set(now), |b| Set(b.created_at)),
        updated_at: Set(now),
    };
    let saved = audit::save(&txn, actor, RULE_ENTITY, None, before.as_ref(), active).await?;
    txn.commit().await?;
    Ok(saved.id)
}

/// Deletes rule `id`, audited; its alerts stay in the history (resolved now if open).
///
/// Errors: `NotFound("alert rule")`.
pub async fn delete_rule(db: &DatabaseConnection, actor: &Actor, id: i64) -> ServiceResult<()> {
    let txn = crate::db::begin_write(db).await?;
    let before = status_alert_rule::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound("alert rule"))?;
    resolve(&txn, &rule_key(id), Utc::now()).await?;
    status_alert_rule::Entity::delete_by_id(id)
        .exec(&txn)
        .await?;
    audit::record_change::<_, status_alert_rule::Model>(
        &txn,
        actor,
        RULE_ENTITY,
        id,
        None,
        Some(&before),
        None,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

fn row(m: status_alert::Model) -> AlertRow {
    AlertRow {
        id: m.id,
        name: m.name,
        severity: Severity::parse(&m.severity).unwrap_or(Severity::Warning),
        status: AlertStatus::parse(&m.status).unwrap_or(AlertStatus::Open),
        message: m.message,
        value: m.value,
        opened_at: m.opened_at.to_rfc3339(),
        acknowledged_at: m.acknowledged_at.map(|t| t.to_rfc3339()),
        acknowledged_by: m.acknowledged_by,
        resolved_at: m.resolved_at.map(|t| t.to_rfc3339()),
    }
}

/// Alerts newest first: the unresolved ones (`resolved: false`) or the history of
/// resolved ones, at most `limit` (1..=500).
pub async fn alerts(
    db: &DatabaseConnection,
    resolved: bool,
    limit: u64,
) -> ServiceResult<Vec<AlertRow>> {
    let query = status_alert::Entity::find();
    let query = if resolved {
        query.filter(status_alert::Column::ResolvedAt.is_not_null())
    } else {
        query.filter(status_alert::Column::ResolvedAt.is_null())
    };
    Ok(query
        .order_by_desc(status_alert::Column::Id)
        .limit(limit.clamp(1, 500))
        .all(db)
        .await?
        .into_iter()
        .map(row)
        .collect())
}

/// Unresolved alerts (open or acknowledged).
pub async fn unresolved(db: &DatabaseConnection) -> ServiceResult<Vec<status_alert::Model>> {
    Ok(status_alert::Entity::find()
        .filter(status_alert::Column::ResolvedAt.is_null())
        .all(db)
        .await?)
}

/// How many alerts are unresolved.
pub async fn unresolved_count(db: &DatabaseConnection) -> ServiceResult<i64> {
    use sea_orm::PaginatorTrait;
    Ok(status_alert::Entity::find()
        .filter(status_alert::Column::ResolvedAt.is_null())
        .count(db)
        .await? as i64)
}

/// Marks open alert `id` acknowledged by `actor` (someone is on it), audited.
///
/// Errors: `NotFound("alert")`; `Conflict` when it is not open.
pub async fn acknowledge(db: &DatabaseConnection, actor: &Actor, id: i64) -> ServiceResult<()> {
    let txn = crate::db::begin_write(db).await?;
    let before = status_alert::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound("alert"))?;
    if before.status != AlertStatus::Open.as_str() {
        return Err(ServiceError::Conflict(format!(
            "this alert is {}; only an open alert can be acknowledged",
            before.status
        )));
    }
    let now = Utc::now();
    let active = status_alert::ActiveModel {
        id: Set(id),
        status: Set(AlertStatus::Acknowledged.as_str().to_owned()),
        acknowledged_at: Set(Some(now)),
        acknowledged_by: Set(Some(actor.email.clone())),
        updated_at: Set(now),
        ..Default::default()
    };
    audit::save(&txn, actor, ALERT_ENTITY, None, Some(&before), active).await?;
    txn.commit().await?;
    Ok(())
}

/// Resolves the unresolved alert of `key`, if any; returns it.
async fn resolve<C: ConnectionTrait>(
    db: &C,
    key: &str,
    now: DateTime<Utc>,
) -> ServiceResult<Option<status_alert::Model>> {
    let Some(open) = status_alert::Entity::find()
        .filter(status_alert::Column::Key.eq(key))
        .filter(status_alert::Column::ResolvedAt.is_null())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let done = status_alert::Entity::update_many()
        .col_expr(
            status_alert::Column::Status,
            Expr::value(AlertStatus::Resolved.as_str()),
        )
        .col_expr(status_alert::Column::ResolvedAt, Expr::value(Some(now)))
        .col_expr(status_alert::Column::UpdatedAt, Expr::value(now))
        .filter(status_alert::Column::Id.eq(open.id))
        .filter(status_alert::Column::ResolvedAt.is_null())
        .exec(db)
        .await?;
    Ok((done.rows_affected == 1).then_some(open))
}

/// A metric's value as text with its unit.
fn shown(metric: &str, value: f64) -> String {
    let unit = metric_label(metric).map(|(_, u)| u).unwrap_or("");
    let number = if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    };
    match unit {
        "" => number,
        "%" => format!("{number} %"),
        u => format!("{number} {u}"),
    }
}

fn describe(rule: &status_alert_rule::Model, value: f64) -> String {
    let label = metric_label(&rule.metric).map_or(rule.metric.as_str(), |(l, _)| l);
    let threshold = shown(&rule.metric, rule.threshold_milli as f64 / 1000.0);
    format!(
        "{label} is {}, {} the threshold of {threshold}{}.",
        shown(&rule.metric, value),
        rule.comparison,
        if rule.for_secs > 0 {
            format!(" for at least {} s", rule.for_secs)
        } else {
            String::new()
        }
    )
}

async fn mail<C: ConnectionTrait>(
    db: &C,
    recipients: &str,
    subject: String,
    body: String,
    now: DateTime<Utc>,
) -> ServiceResult<()> {
    if recipients.trim().is_empty() {
        return Ok(());
    }
    mail_outbox::Entity::insert(mail_outbox::ActiveModel {
        id: NotSet,
        recipients: Set(recipients.to_owned()),
        subject: Set(subject),
        body: Set(body),
        kind: Set("status_alert".into()),
        carrier_id: Set(None),
        status: Set("queued".into()),
        sent_at: Set(None),
        last_error: Set(None),
        attempts: Set(0),
        next_attempt_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec(db)
    .await?;
    Ok(())
}

/// What one evaluation did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Evaluation {
    /// Names of the rules whose alert opened now.
    pub opened: Vec<String>,
    /// Names of the rules whose alert resolved now.
    pub resolved: Vec<String>,
}

/// Evaluates the enabled rules against `values` (metric → value; a metric absent is
/// not measured and leaves its rules as they are) at `now`. `only` limits it to the
/// rules of one metric (the instances' collector watch). Each rule's step is one
/// transaction: its bookkeeping, the alert and its mail commit together.
///
/// Errors: the database's.
pub async fn evaluate(
    db: &DatabaseConnection,
    values: &[(String, f64)],
    now: DateTime<Utc>,
    only: Option<&str>,
) -> ServiceResult<Evaluation> {
    let mut query =
        status_alert_rule::Entity::find().filter(status_alert_rule::Column::Enabled.eq(true));
    if let Some(metric) = only {
        query = query.filter(status_alert_rule::Column::Metric.eq(metric));
    }
    let rules = query.all(db).await?;
    let open: std::collections::HashSet<String> =
        unresolved(db).await?.into_iter().map(|a| a.key).collect();
    let mut done = Evaluation::default();
    for rule in rules {
        let Some(value) = values
            .iter()
            .find(|(k, _)| *k == rule.metric)
            .map(|(_, v)| *v)
        else {
            continue;
        };
        let comparison = Comparison::parse(&rule.comparison).unwrap_or(Comparison::Above);
        let breaking = breaks(comparison, rule.threshold_milli, value);
        let key = rule_key(rule.id);
        let held = rule.breaching_since.map(|t| (now - t).num_seconds());
        match rule_step(breaking, held, open.contains(&key), rule.for_secs) {
            RuleStep::Hold => {}
            RuleStep::StartBreaching => {
                status_alert_rule::Entity::update_many()
                    .col_expr(
                        status_alert_rule::Column::BreachingSince,
                        Expr::value(Some(now)),
                    )
                    .filter(status_alert_rule::Column::Id.eq(rule.id))
                    .exec(db)
                    .await?;
            }
            RuleStep::Open => {
                let txn = crate::db::begin_write(db).await?;
                let message = describe(&rule, value);
                let inserted = status_alert::Entity::insert(status_alert::ActiveModel {
                    id: NotSet,
                    rule_id: Set(Some(rule.id)),
                    key: Set(key.clone()),
                    name: Set(rule.name.clone()),
                    severity: Set(rule.severity.clone()),
                    status: Set(AlertStatus::Open.as_str().to_owned()),
                    message: Set(message.clone()),
                    value: Set(shown(&rule.metric, value)),
                    opened_at: Set(now),
                    acknowledged_at: Set(None),
                    acknowledged_by: Set(None),
                    resolved_at: Set(None),
                    created_at: Set(now),
                    updated_at: Set(now),
                })
                .on_conflict(
                    OnConflict::column(status_alert::Column::Key)
                        .target_and_where(Expr::col(status_alert::Column::ResolvedAt).is_null())
                        .do_nothing()
                        .to_owned(),
                )
                .exec_without_returning(&txn)
                .await?;
                status_alert_rule::Entity::update_many()
                    .col_expr(
                        status_alert_rule::Column::BreachingSince,
                        Expr::value(Some(rule.breaching_since.unwrap_or(now))),
                    )
                    .filter(status_alert_rule::Column::Id.eq(rule.id))
                    .exec(&txn)
                    .await?;
                if inserted == 1 {
                    let severity = Severity::parse(&rule.severity).unwrap_or(Severity::Warning);
                    mail(
                        &txn,
                        &rule.recipients,
                        format!("[DIDTron {}] {}", severity.label(), rule.name),
                        format!(
                            "{message}\n\nOpened: {} UTC\nSeverity: {}\n\nSee System Status → Alerts to acknowledge it.\n",
                            now.format("%Y-%m-%d %H:%M:%S"),
                            severity.label()
                        ),
                        now,
                    )
                    .await?;
                    done.opened.push(rule.name.clone());
                }
                txn.commit().await?;
            }
            RuleStep::Clear => {
                let txn = crate::db::begin_write(db).await?;
                status_alert_rule::Entity::update_many()
                    .col_expr(
                        status_alert_rule::Column::BreachingSince,
                        Expr::value(Option::<DateTime<Utc>>::None),
                    )
                    .filter(status_alert_rule::Column::Id.eq(rule.id))
                    .exec(&txn)
                    .await?;
                if let Some(alert) = resolve(&txn, &key, now).await? {
                    mail(
                        &txn,
                        &rule.recipients,
                        format!("[DIDTron resolved] {}", rule.name),
                        format!(
                            "Resolved at {} UTC: {} is {} now.\n\nIt opened at {} UTC: {}\n",
                            now.format("%Y-%m-%d %H:%M:%S"),
                            metric_label(&rule.metric).map_or(rule.metric.as_str(), |(l, _)| l),
                            shown(&rule.metric, value),
                            alert.opened_at.format("%Y-%m-%d %H:%M:%S"),
                            alert.message
                        ),
                        now,
                    )
                    .await?;
                    done.resolved.push(rule.name.clone());
                }
                txn.commit().await?;
            }
        }
    }
    Ok(done)
}
