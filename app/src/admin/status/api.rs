//! System Status's server functions (staff only). Reads are GET and read what the
//! collector stored; changes (budgets, alert rules, acknowledgements, job retries) are
//! audited in `service`.

use domain::listing::Page;
use domain::status::{
    AlertRow, AlertRuleForm, AlertRuleRow, AuditQuery, AuditRow, BudgetForm, BudgetRow, DeployRow,
    ErrorRow, FailedJobRow, SlowQueryRow, StatusBadge, StatusView, Trend,
};
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

use crate::error::AppError;

#[cfg(feature = "ssr")]
use {
    crate::server::{actor, require, respond, state},
    domain::Role,
};

/// The newest snapshot, its age and staleness (GET).
#[server(prefix = "/fn", endpoint = "admin/status", input = GetUrl)]
pub async fn fetch_status() -> Result<StatusView, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            let s = state()?;
            Ok(service::status::views::view(&s.db, s.status_period.as_secs() as i64).await?)
        }
        .await,
    )
}

/// The sidebar's dot: level, unresolved alerts, staleness (GET).
#[server(prefix = "/fn", endpoint = "admin/status/badge", input = GetUrl)]
pub async fn fetch_status_badge() -> Result<StatusBadge, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            let s = state()?;
            Ok(service::status::views::badge(&s.db, s.status_period.as_secs() as i64).await?)
        }
        .await,
    )
}

/// Unresolved alerts (`resolved: false`) or the history of resolved ones (GET).
#[server(prefix = "/fn", endpoint = "admin/status/alerts", input = GetUrl)]
pub async fn fetch_alerts(resolved: bool) -> Result<Vec<AlertRow>, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            Ok(service::status::alerts::alerts(&state()?.db, resolved, 200).await?)
        }
        .await,
    )
}

/// Acknowledges open alert `id` (audited).
#[server(prefix = "/fn", endpoint = "admin/status/alerts/acknowledge")]
pub async fn acknowledge_alert(id: i64) -> Result<(), AppError> {
    respond(
        async move {
            let actor = actor(Role::Admin).await?;
            service::status::alerts::acknowledge(&state()?.db, &actor, id).await?;
            Ok(())
        }
        .await,
    )
}

/// Every alert rule (GET).
#[server(prefix = "/fn", endpoint = "admin/status/rules", input = GetUrl)]
pub async fn fetch_alert_rules() -> Result<Vec<AlertRuleRow>, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            Ok(service::status::alerts::rules(&state()?.db).await?)
        }
        .await,
    )
}

/// Creates (`id` absent) or changes an alert rule (audited); its id.
#[server(prefix = "/fn", endpoint = "admin/status/rules/save")]
pub async fn save_alert_rule(id: Option<i64>, form: AlertRuleForm) -> Result<i64, AppError> {
    respond(
        async move {
            let actor = actor(Role::Admin).await?;
            Ok(service::status::alerts::save_rule(&state()?.db, &actor, id, &form).await?)
        }
        .await,
    )
}

/// Deletes alert rule `id` (audited).
#[server(prefix = "/fn", endpoint = "admin/status/rules/delete")]
pub async fn delete_alert_rule(id: i64) -> Result<(), AppError> {
    respond(
        async move {
            let actor = actor(Role::Admin).await?;
            service::status::alerts::delete_rule(&state()?.db, &actor, id).await?;
            Ok(())
        }
        .await,
    )
}

/// The budgets people set (GET).
#[server(prefix = "/fn", endpoint = "admin/status/budgets", input = GetUrl)]
pub async fn fetch_budgets() -> Result<Vec<BudgetRow>, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            Ok(service::status::budgets::rows(&state()?.db).await?)
        }
        .await,
    )
}

/// Sets a budget (audited).
#[server(prefix = "/fn", endpoint = "admin/status/budgets/save")]
pub async fn save_budget(form: BudgetForm) -> Result<(), AppError> {
    respond(
        async move {
            let actor = actor(Role::Admin).await?;
            service::status::budgets::save(&state()?.db, &actor, &form).await?;
            Ok(())
        }
        .await,
    )
}

/// Removes budget `id`: the operation goes back to its kind's or DIDTron's (audited).
#[server(prefix = "/fn", endpoint = "admin/status/budgets/delete")]
pub async fn delete_budget(id: i64) -> Result<(), AppError> {
    respond(
        async move {
            let actor = actor(Role::Admin).await?;
            service::status::budgets::delete(&state()?.db, &actor, id).await?;
            Ok(())
        }
        .await,
    )
}

/// One operation's percentiles, rate and errors over the last `hours` (GET).
#[server(prefix = "/fn", endpoint = "admin/status/trend", input = GetUrl)]
pub async fn fetch_trend(kind: String, name: String, hours: i64) -> Result<Trend, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            Ok(service::status::views::trend(&state()?.db, &kind, &name, hours).await?)
        }
        .await,
    )
}

/// The newest failed requests (GET).
#[server(prefix = "/fn", endpoint = "admin/status/errors", input = GetUrl)]
pub async fn fetch_recent_errors() -> Result<Vec<ErrorRow>, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            Ok(service::status::views::recent_errors(&state()?.db, 100).await?)
        }
        .await,
    )
}

/// The newest slow statements with their plans (GET).
#[server(prefix = "/fn", endpoint = "admin/status/slow-queries", input = GetUrl)]
pub async fn fetch_slow_queries() -> Result<Vec<SlowQueryRow>, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            Ok(service::status::views::slow_queries(&state()?.db, 50).await?)
        }
        .await,
    )
}

/// The newest failed jobs (GET).
#[server(prefix = "/fn", endpoint = "admin/status/failed-jobs", input = GetUrl)]
pub async fn fetch_failed_jobs() -> Result<Vec<FailedJobRow>, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            Ok(service::status::views::failed_jobs(&state()?.db, 50).await?)
        }
        .await,
    )
}

/// Queues failed job `id` again (audited).
#[server(prefix = "/fn", endpoint = "admin/status/jobs/retry")]
pub async fn retry_job(id: i64) -> Result<(), AppError> {
    respond(
        async move {
            let actor = actor(Role::Admin).await?;
            service::jobs::retry(&state()?.db, &actor, id).await?;
            Ok(())
        }
        .await,
    )
}

/// Instance starts, newest first (GET).
#[server(prefix = "/fn", endpoint = "admin/status/deploys", input = GetUrl)]
pub async fn fetch_deploys() -> Result<Vec<DeployRow>, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            Ok(service::status::views::deploys(&state()?.db, 50).await?)
        }
        .await,
    )
}

/// A page of the audit log (GET).
#[server(prefix = "/fn", endpoint = "admin/status/audit", input = GetUrl)]
pub async fn audit_page(#[server(default)] query: AuditQuery) -> Result<Page<AuditRow>, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            Ok(service::audit::log_page(&state()?.db, &query).await?)
        }
        .await,
    )
}

/// The entity kinds in the audit log (GET).
#[server(prefix = "/fn", endpoint = "admin/status/audit/entities", input = GetUrl)]
pub async fn fetch_audit_entities() -> Result<Vec<String>, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            Ok(service::audit::log_entities(&state()?.db).await?)
        }
        .await,
    )
}
