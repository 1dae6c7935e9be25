//! System status: the shape of a collector snapshot (what System Status shows), and the
//! rules that turn measurements into a verdict — performance budgets, the global level
//! (green / yellow / red), snapshot staleness and the alert rules' open/resolve cycle.
//!
//! Everything here is pure: the collector (`service::status`) measures and stores, the
//! portal shows; both read these types. Times are RFC 3339 UTC strings, latencies are
//! microseconds, rates are per minute × 1000 and shares are basis points (1 % = 100), so
//! every figure is an integer and compares exactly.

use serde::{Deserialize, Serialize};

use crate::validation::{string_enum, FieldErrors};

string_enum! {
    /// The verdict: green (all well), yellow (a warning threshold is breached), red (a
    /// critical alert is open or a core dependency is down).
    pub enum Level {
        Green = ("green", "Green"),
        Yellow = ("yellow", "Yellow"),
        Red = ("red", "Red"),
    }
}

impl Level {
    /// A sentence for people, e.g. on the sidebar dot's label.
    pub fn meaning(self) -> &'static str {
        match self {
            Level::Green => "All systems normal",
            Level::Yellow => "Warning",
            Level::Red => "Critical",
        }
    }
}

string_enum! {
    /// How bad an alert is.
    pub enum Severity {
        Warning = ("warning", "Warning"),
        Critical = ("critical", "Critical"),
    }
}

string_enum! {
    /// What kind of operation a measurement is of. Pages are named by their module's
    /// route (`/admin/carriers`), server functions by their endpoint
    /// (`/fn/admin/carriers`), API endpoints by method and route
    /// (`POST /api/v1/route`), jobs by their kind (`cdr_import`), job start by the kind
    /// whose start was waited for, integrations by name (`smtp`, `cdr_pull:{source id}`).
    pub enum OperationKind {
        Page = ("page", "Page"),
        ServerFn = ("fn", "Server function"),
        Api = ("api", "API endpoint"),
        Job = ("job", "Job"),
        JobStart = ("job_start", "Job start"),
        Integration = ("integration", "Integration"),
    }
}

string_enum! {
    /// Which percentile a budget holds.
    pub enum Percentile {
        P50 = ("p50", "p50"),
        P95 = ("p95", "p95"),
        P99 = ("p99", "p99"),
    }
}

string_enum! {
    /// How an alert rule compares its metric with the threshold.
    pub enum Comparison {
        Above = ("above", "above"),
        Below = ("below", "below"),
    }
}

string_enum! {
    /// Where an alert is in its life.
    pub enum AlertStatus {
        Open = ("open", "Open"),
        Acknowledged = ("acknowledged", "Acknowledged"),
        Resolved = ("resolved", "Resolved"),
    }
}

string_enum! {
    /// A dependency's state in a health check.
    pub enum Health {
        Ok = ("ok", "OK"),
        Degraded = ("degraded", "Degraded"),
        Down = ("down", "Down"),
        NotConfigured = ("not_configured", "Not configured"),
    }
}

/// A performance budget: `percentile` of the latency must stay at or under `budget_us`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Budget {
    pub percentile: Percentile,
    /// Microseconds.
    pub budget_us: i64,
    /// `default` (DIDTron's), `kind` (set for every operation of the kind) or `own`
    /// (set for this operation).
    pub source: String,
}

/// DIDTron's default budgets (issue "System Status"): pages p95 ≤ 300 ms, server
/// functions p95 ≤ 200 ms, `POST /api/v1/route` p99 ≤ 5 ms, job start p95 ≤ 5 s. Other
/// operations have none until someone sets one.
pub fn default_budget(kind: OperationKind, name: &str) -> Option<Budget> {
    let (percentile, ms) = match kind {
        OperationKind::Page => (Percentile::P95, 300),
        OperationKind::ServerFn => (Percentile::P95, 200),
        OperationKind::Api if name == ROUTE_API => (Percentile::P99, 5),
        OperationKind::JobStart => (Percentile::P95, 5_000),
        _ => return None,
    };
    Some(Budget {
        percentile,
        budget_us: ms * 1000,
        source: "default".into(),
    })
}

/// The routing API's operation name.
pub const ROUTE_API: &str = "POST /api/v1/route";
/// The CDR ingest API's operation name.
pub const CDR_API: &str = "POST /api/v1/cdrs";

/// One operation's figures over the collector's window.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationStats {
    /// An [`OperationKind`] spelling.
    pub kind: String,
    pub name: String,
    /// Requests (runs) in the window.
    pub count: i64,
    /// Per minute × 1000.
    pub per_min_milli: i64,
    pub errors: i64,
    /// Errors in basis points of `count`.
    pub error_bp: i64,
    pub p50_us: i64,
    pub p95_us: i64,
    pub p99_us: i64,
    /// `(counter, n)`: HTTP status codes for requests, `ok`/`failed` for runs.
    pub counters: Vec<(String, i64)>,
    pub budget: Option<Budget>,
    /// The budget's percentile is over its budget.
    pub breached: bool,
}

impl OperationStats {
    /// The latency of `percentile`, in microseconds.
    pub fn at(&self, percentile: Percentile) -> i64 {
        match percentile {
            Percentile::P50 => self.p50_us,
            Percentile::P95 => self.p95_us,
            Percentile::P99 => self.p99_us,
        }
    }

    /// Sets `budget` and whether the figures breach it (over the budget, with at least
    /// one request measured).
    pub fn judge(&mut self, budget: Option<Budget>) {
        self.breached = budget
            .as_ref()
            .is_some_and(|b| self.count > 0 && self.at(b.percentile) > b.budget_us);
        self.budget = budget;
    }
}

/// Basis points of `part` in `whole` (0 when `whole` is 0), rounded half up.
pub fn basis_points(part: i64, whole: i64) -> i64 {
    if whole <= 0 {
        return 0;
    }
    ((part as i128 * 20_000 / whole as i128 + 1) / 2) as i64
}

/// A health check of one dependency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCheck {
    /// `database`, `redis`, `storage`, `mail`, `jobs`, `switch`.
    pub name: String,
    pub label: String,
    pub health: Health,
    /// How long the check took, when it ran.
    pub latency_us: Option<i64>,
    /// What it found, in words (e.g. "3 queued, oldest 4 s").
    pub detail: String,
    /// The last failure seen (carried from snapshot to snapshot).
    pub last_error: Option<String>,
    /// RFC 3339 UTC.
    pub last_error_at: Option<String>,
}

/// One table's size.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSize {
    pub name: String,
    /// The database's estimate (PostgreSQL `reltuples`; SQLite the largest row id).
    pub rows_estimate: i64,
    /// Bytes with indexes, when the database tells.
    pub bytes: Option<i64>,
}

/// The Database tab.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseInfo {
    /// `sqlite` or `postgres`.
    pub backend: String,
    pub size_bytes: i64,
    /// Largest first.
    pub tables: Vec<TableSize>,
    /// Connections of this instance's pool in use / idle, and its maximum.
    pub pool_in_use: i64,
    pub pool_idle: i64,
    pub pool_max: i64,
    /// Connections to this database on the server (PostgreSQL's `pg_stat_activity`).
    pub server_connections: Option<i64>,
    /// The newest migration applied, and how many are.
    pub migration: String,
    pub migrations_applied: i64,
    /// Statements over the slow-query threshold in the last 24 hours.
    pub slow_queries_24h: i64,
}

/// One job kind's counts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobCounts {
    pub kind: String,
    pub queued: i64,
    pub running: i64,
    pub failed: i64,
    pub done: i64,
}

/// A running job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunningJob {
    pub id: i64,
    pub kind: String,
    pub worker: String,
    /// Seconds since its worker's last heartbeat.
    pub heartbeat_age_s: i64,
    /// Seconds since it was claimed (its last update).
    pub running_s: i64,
    /// e.g. "12 000 of 40 000", when the job reports it.
    pub progress: Option<String>,
}

/// A process that runs job workers, and when it last showed life.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerHeartbeat {
    pub instance: String,
    pub host: String,
    pub workers: i64,
    pub last_seen_age_s: i64,
    pub alive: bool,
}

/// The Jobs tab.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobsInfo {
    pub by_kind: Vec<JobCounts>,
    pub queued: i64,
    /// Seconds the oldest runnable queued job has waited.
    pub oldest_queued_s: Option<i64>,
    pub running: Vec<RunningJob>,
    pub failed_1h: i64,
    pub workers: Vec<WorkerHeartbeat>,
}

/// One in-process cache's use.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheStat {
    pub name: String,
    pub label: String,
    pub hits: i64,
    pub misses: i64,
    /// Hits in basis points of lookups.
    pub hit_bp: i64,
}

/// Redis, when configured.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedisInfo {
    pub used_memory_bytes: i64,
    /// 0: no limit.
    pub maxmemory_bytes: i64,
    /// Keys in the Redis database (every tenant of it).
    pub keys: i64,
}

/// The file store.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageInfo {
    /// e.g. `local folder ./data/files`.
    pub location: String,
    pub objects: i64,
    pub bytes: i64,
    /// True when listing stopped at the cap (figures are at least these).
    pub truncated: bool,
}

/// The Cache & Storage tab.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CacheInfo {
    pub caches: Vec<CacheStat>,
    pub redis: Option<RedisInfo>,
    pub storage: StorageInfo,
}

/// An external integration's record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Integration {
    pub name: String,
    pub label: String,
    /// False when it is not set up (e.g. SMTP without `SMTP_URL`).
    pub configured: bool,
    /// RFC 3339 UTC.
    pub last_ok_at: Option<String>,
    pub last_error_at: Option<String>,
    pub last_error: Option<String>,
    /// Calls and failed calls in the window.
    pub calls: i64,
    pub errors: i64,
    pub error_bp: i64,
    pub detail: String,
}

/// The Portals tab.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalsInfo {
    pub sign_ins_24h: i64,
    pub sign_in_failures_24h: i64,
    /// Sessions not yet expired.
    pub active_sessions: i64,
}

/// One layer on the Overview: a part of DIDTron and its state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerStatus {
    pub name: String,
    pub level: Level,
    pub detail: String,
}

/// Unresolved alerts by severity.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertCounts {
    pub critical: i64,
    pub warning: i64,
}

/// What the collector found in one cycle: everything the tabs show that is measured.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// RFC 3339 UTC.
    pub taken_at: String,
    /// The collector's period.
    pub period_secs: i64,
    /// The window the operation figures cover.
    pub window_secs: i64,
    pub level: Option<Level>,
    /// Why the level is what it is, one sentence each.
    pub reasons: Vec<String>,
    pub layers: Vec<LayerStatus>,
    pub health: Vec<HealthCheck>,
    pub operations: Vec<OperationStats>,
    pub database: DatabaseInfo,
    pub jobs: JobsInfo,
    pub cache: CacheInfo,
    pub integrations: Vec<Integration>,
    pub portals: PortalsInfo,
    pub alerts: AlertCounts,
    /// Values of the [`METRICS`] this cycle (absent: not measured, e.g. Redis unset).
    pub metrics: Vec<(String, f64)>,
    /// How long this cycle took (wall clock, and CPU of the collecting thread), ms.
    pub collect_ms: i64,
}

impl Snapshot {
    /// The value of metric `key`, when measured.
    pub fn metric(&self, key: &str) -> Option<f64> {
        self.metrics.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    /// The health check named `name`.
    pub fn check(&self, name: &str) -> Option<&HealthCheck> {
        self.health.iter().find(|h| h.name == name)
    }
}

/// A metric alert rules can watch: `(key, label, unit)`.
pub const METRICS: [(&str, &str, &str); 16] = [
    ("database.up", "Database answers (1 yes, 0 no)", ""),
    (
        "redis.up",
        "Redis answers (1 yes, 0 no; only when configured)",
        "",
    ),
    ("storage.up", "File store answers (1 yes, 0 no)", ""),
    (
        "mail.up",
        "SMTP relay answers (1 yes, 0 no; only when configured)",
        "",
    ),
    ("jobs.queued", "Jobs waiting", "jobs"),
    ("jobs.oldest_queued_s", "Oldest waiting job", "s"),
    ("jobs.failed_1h", "Jobs failed in the last hour", "jobs"),
    (
        "jobs.workers_alive",
        "Processes with live job workers",
        "processes",
    ),
    ("switch.last_cdr_age_s", "Time since the last CDR", "s"),
    ("route.error_pct", "Routing API errors", "%"),
    ("route.p99_ms", "Routing API p99", "ms"),
    ("http.error_pct", "Server errors (5xx) of all requests", "%"),
    (
        "budgets.breached",
        "Performance budgets breached",
        "budgets",
    ),
    ("mail.failed_1h", "Mail failed in the last hour", "messages"),
    (
        "db.connections_in_use",
        "Database connections in use",
        "connections",
    ),
    (
        "collector.age_periods",
        "Age of the newest snapshot, in collector periods",
        "periods",
    ),
];

/// The label and unit of metric `key`.
pub fn metric_label(key: &str) -> Option<(&'static str, &'static str)> {
    METRICS
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, l, u)| (*l, *u))
}

/// How old the newest snapshot is, in collector cycles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Staleness {
    /// Within two cycles (two minutes at the default period).
    Fresh,
    /// Older than two cycles: a yellow banner.
    Stale,
    /// Older than five cycles (five minutes): a red banner and a critical alert.
    Stopped,
    /// No snapshot yet.
    Missing,
}

/// The age of a snapshot `age_secs` old in collector periods of `period_secs` (below 1
/// while the collector keeps up; above 5 is the "collector stopped" alert's default).
pub fn age_periods(age_secs: i64, period_secs: i64) -> f64 {
    age_secs.max(0) as f64 / period_secs.max(1) as f64
}

/// The staleness of a snapshot `age_secs` old (`None`: there is none).
pub fn staleness(age_secs: Option<i64>, period_secs: i64) -> Staleness {
    let period = period_secs.max(1);
    match age_secs {
        None => Staleness::Missing,
        Some(age) if age > 5 * period => Staleness::Stopped,
        Some(age) if age > 2 * period => Staleness::Stale,
        Some(_) => Staleness::Fresh,
    }
}

/// What the level is made from.
#[derive(Clone, Debug, Default)]
pub struct LevelInputs<'a> {
    /// Names of unresolved critical alerts.
    pub critical_alerts: Vec<&'a str>,
    /// Names of unresolved warning alerts.
    pub warning_alerts: Vec<&'a str>,
    /// Core dependencies that are down: database, Redis (when configured), job queue.
    pub core_down: Vec<&'a str>,
    /// Operations over their budget (`kind name`).
    pub breached: Vec<String>,
}

/// The global level and its reasons: red when a critical alert is open or a core
/// dependency is down; yellow when a warning alert is open or a budget is breached;
/// green otherwise.
pub fn level(inputs: &LevelInputs<'_>) -> (Level, Vec<String>) {
    let mut reasons = Vec::new();
    for dep in &inputs.core_down {
        reasons.push(format!("{dep} is down"));
    }
    for name in &inputs.critical_alerts {
        reasons.push(format!("critical alert open: {name}"));
    }
    let red = !reasons.is_empty();
    for name in &inputs.warning_alerts {
        reasons.push(format!("warning alert open: {name}"));
    }
    match inputs.breached.len() {
        0 => {}
        1 => reasons.push(format!("over its budget: {}", inputs.breached[0])),
        n => reasons.push(format!(
            "{n} operations over their budgets: {}",
            inputs.breached.join(", ")
        )),
    }
    let level = if red {
        Level::Red
    } else if reasons.is_empty() {
        Level::Green
    } else {
        Level::Yellow
    };
    if reasons.is_empty() {
        reasons.push("every dependency answers, no alert is open and every budget is met".into());
    }
    (level, reasons)
}

/// True when `value` breaks a rule comparing `comparison` with `threshold_milli` / 1000
/// (strictly above, or strictly below).
pub fn breaks(comparison: Comparison, threshold_milli: i64, value: f64) -> bool {
    let threshold = threshold_milli as f64 / 1000.0;
    match comparison {
        Comparison::Above => value > threshold,
        Comparison::Below => value < threshold,
    }
}

/// What a rule's evaluation does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleStep {
    /// Nothing changes.
    Hold,
    /// The condition started now: remember when (no alert yet, `for` not over).
    StartBreaching,
    /// Open an alert (the condition has held for the rule's `for`).
    Open,
    /// The condition cleared: forget when it started and resolve an unresolved alert.
    Clear,
}

/// The step for a rule whose condition is `breaking` now, `breaching_secs` after it
/// started (`None`: it was not breaking), with `unresolved` telling whether it has an
/// unresolved alert, and `for_secs` how long it must hold.
pub fn rule_step(
    breaking: bool,
    breaching_secs: Option<i64>,
    unresolved: bool,
    for_secs: i64,
) -> RuleStep {
    match (breaking, breaching_secs) {
        (false, None) if !unresolved => RuleStep::Hold,
        (false, _) => RuleStep::Clear,
        (true, _) if unresolved => RuleStep::Hold,
        (true, None) if for_secs <= 0 => RuleStep::Open,
        (true, None) => RuleStep::StartBreaching,
        (true, Some(held)) if held >= for_secs => RuleStep::Open,
        (true, Some(_)) => RuleStep::Hold,
    }
}

/// An alert rule as the Alerts tab edits it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertRuleForm {
    pub name: String,
    /// A [`METRICS`] key.
    pub metric: String,
    /// `above` or `below`.
    pub comparison: String,
    /// Decimal, up to three places.
    pub threshold: String,
    /// `warning` or `critical`.
    pub severity: String,
    /// Whole seconds the condition must hold, 0 to 86 400.
    pub for_secs: String,
    /// Comma-separated e-mail addresses (may be empty).
    pub recipients: String,
    pub enabled: bool,
}

/// A valid [`AlertRuleForm`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertRuleSpec {
    pub name: String,
    pub metric: String,
    pub comparison: Comparison,
    pub threshold_milli: i64,
    pub severity: Severity,
    pub for_secs: i64,
    /// Normalised: `a@x, b@y`.
    pub recipients: String,
    pub enabled: bool,
}

/// Parses a decimal with at most three places into thousandths (`"2.5"` → 2500).
pub fn parse_milli(text: &str) -> Result<i64, String> {
    let micros = crate::money::parse_micros(text.trim())
        .map_err(|_| "Enter a number, e.g. 5 or 2.5.".to_string())?;
    if micros % 1000 != 0 {
        return Err("Use at most three decimals.".into());
    }
    Ok(micros / 1000)
}

/// Text of thousandths (`2500` → `"2.5"`).
pub fn format_milli(milli: i64) -> String {
    let text = crate::money::format_micros(milli * 1000, 3);
    let text = text.trim_end_matches('0');
    text.trim_end_matches('.').to_owned()
}

/// Comma- or space-separated addresses, each checked, joined by `, `.
pub fn parse_recipients(text: &str) -> Result<String, String> {
    let mut out = Vec::new();
    for part in text
        .split([',', ';', ' ', '\n'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        match crate::EmailAddress::parse(part) {
            Ok(e) => out.push(e.as_str().to_owned()),
            Err(m) => return Err(format!("{part}: {m}")),
        }
    }
    Ok(out.join(", "))
}

/// Checks every field; errors name the form's fields.
pub fn validate_alert_rule(form: &AlertRuleForm) -> Result<AlertRuleSpec, FieldErrors> {
    let mut errors = FieldErrors::new();
    let name = form.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 120 {
        errors.add("name", "Give the rule a name of 1 to 120 characters.");
    }
    if metric_label(form.metric.trim()).is_none() {
        errors.add("metric", "Choose a metric from the list.");
    }
    let comparison = Comparison::parse(&form.comparison);
    if comparison.is_none() {
        errors.add("comparison", "Choose above or below.");
    }
    let threshold = parse_milli(&form.threshold);
    if let Err(m) = &threshold {
        errors.add("threshold", m.clone());
    }
    let severity = Severity::parse(&form.severity);
    if severity.is_none() {
        errors.add("severity", "Choose warning or critical.");
    }
    let for_secs = match form.for_secs.trim() {
        "" => Ok(0),
        t => t
            .parse::<i64>()
            .ok()
            .filter(|n| (0..=86_400).contains(n))
            .ok_or(()),
    };
    if for_secs.is_err() {
        errors.add(
            "for_secs",
            "Enter whole seconds from 0 (at once) to 86400 (a day).",
        );
    }
    let recipients = parse_recipients(&form.recipients);
    if let Err(m) = &recipients {
        errors.add("recipients", m.clone());
    }
    errors.into_result(())?;
    Ok(AlertRuleSpec {
        name,
        metric: form.metric.trim().to_owned(),
        comparison: comparison.expect("checked"),
        threshold_milli: threshold.expect("checked"),
        severity: severity.expect("checked"),
        for_secs: for_secs.expect("checked"),
        recipients: recipients.expect("checked"),
        enabled: form.enabled,
    })
}

/// A budget as the Performance Budgets tab sets it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetForm {
    /// An [`OperationKind`] spelling.
    pub kind: String,
    /// The operation, or `*` for every operation of the kind.
    pub name: String,
    /// `p50`, `p95` or `p99`.
    pub percentile: String,
    /// Milliseconds, up to three decimals (0.5 = 500 µs).
    pub budget_ms: String,
}

/// A budget set by people, as the Performance Budgets tab lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetRow {
    pub id: i64,
    pub form: BudgetForm,
    /// RFC 3339 UTC.
    pub updated_at: String,
}

/// A valid [`BudgetForm`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BudgetSpec {
    pub kind: OperationKind,
    pub name: String,
    pub percentile: Percentile,
    pub budget_us: i64,
}

/// Checks every field; errors name the form's fields. A budget is 1 µs to 10 minutes.
pub fn validate_budget(form: &BudgetForm) -> Result<BudgetSpec, FieldErrors> {
    let mut errors = FieldErrors::new();
    let kind = OperationKind::parse(&form.kind);
    if kind.is_none() {
        errors.add("kind", "Choose what kind of operation the budget is for.");
    }
    let name = form.name.trim().to_owned();
    if name.is_empty() || name.len() > 255 {
        errors.add(
            "name",
            "Name the operation, or * for every operation of the kind.",
        );
    }
    let percentile = Percentile::parse(&form.percentile);
    if percentile.is_none() {
        errors.add("percentile", "Choose p50, p95 or p99.");
    }
    let budget = parse_milli(&form.budget_ms).and_then(|us| {
        if (1..=600_000_000).contains(&us) {
            Ok(us)
        } else {
            Err("Enter a budget from 0.001 ms to 600000 ms (10 minutes).".into())
        }
    });
    if let Err(m) = &budget {
        errors.add("budget_ms", m.clone());
    }
    errors.into_result(())?;
    Ok(BudgetSpec {
        kind: kind.expect("checked"),
        name,
        percentile: percentile.expect("checked"),
        budget_us: budget.expect("checked"),
    })
}

/// Microseconds as people read latency: `850 µs`, `12.4 ms`, `3.2 s`.
pub fn format_latency(us: i64) -> String {
    if us < 1_000 {
        format!("{us} µs")
    } else if us < 10_000 {
        format!("{:.2} ms", us as f64 / 1000.0)
    } else if us < 1_000_000 {
        format!("{:.1} ms", us as f64 / 1000.0)
    } else {
        format!("{:.2} s", us as f64 / 1_000_000.0)
    }
}

/// Basis points as a percentage with two decimals (`1234` → `12.34 %`).
pub fn format_bp(bp: i64) -> String {
    format!("{}.{:02} %", bp / 100, (bp % 100).abs())
}

/// Bytes in binary units (`1.5 MiB`).
pub fn format_bytes(bytes: i64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes.max(0) as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// The Overview's and sidebar's summary: the newest snapshot's level and its age.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusBadge {
    /// `None` when no snapshot exists yet.
    pub level: Option<Level>,
    /// Unresolved alerts (open or acknowledged).
    pub unresolved_alerts: i64,
    pub staleness: Staleness,
    /// RFC 3339 UTC of the newest snapshot.
    pub taken_at: Option<String>,
}

/// The newest snapshot and how old it is, as the tabs read it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatusView {
    pub snapshot: Option<Snapshot>,
    pub age_secs: Option<i64>,
    pub staleness: Staleness,
    pub period_secs: i64,
    /// RFC 3339 UTC: when the server answered.
    pub read_at: String,
}

/// One alert as the Alerts tab and Overview list it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertRow {
    pub id: i64,
    pub name: String,
    pub severity: Severity,
    pub status: AlertStatus,
    pub message: String,
    pub value: String,
    pub opened_at: String,
    pub acknowledged_at: Option<String>,
    pub acknowledged_by: Option<String>,
    pub resolved_at: Option<String>,
}

/// One alert rule as the Alerts tab lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertRuleRow {
    pub id: i64,
    pub form: AlertRuleForm,
    /// RFC 3339 UTC, while the condition holds.
    pub breaching_since: Option<String>,
}

/// A point of a trend: `(RFC 3339 UTC, value)`.
pub type TrendPoint = (String, i64);

/// One operation's latency and rate over time.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trend {
    pub kind: String,
    pub name: String,
    /// Microseconds.
    pub p50: Vec<TrendPoint>,
    pub p95: Vec<TrendPoint>,
    pub p99: Vec<TrendPoint>,
    /// Per minute × 1000.
    pub per_min: Vec<TrendPoint>,
    /// Error basis points.
    pub errors: Vec<TrendPoint>,
    pub budget: Option<Budget>,
}

/// A recent failed request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorRow {
    pub occurred_at: String,
    pub kind: String,
    pub name: String,
    pub status_code: i64,
    pub correlation_id: String,
    pub instance: String,
}

/// A slow statement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlowQueryRow {
    pub id: i64,
    pub occurred_at: String,
    pub elapsed_us: i64,
    pub statement: String,
    pub plan: String,
}

/// A failed job, with its error (the Jobs tab's retry list).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedJobRow {
    pub id: i64,
    pub kind: String,
    pub attempts: i64,
    pub error: String,
    pub finished_at: Option<String>,
}

/// An instance start (a deploy).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeployRow {
    pub instance: String,
    pub host: String,
    pub pid: i64,
    pub version: String,
    pub started_at: String,
    pub last_seen_at: String,
    pub workers: i64,
    pub database: String,
    pub kv: String,
}

/// A filtered page of the audit log.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuery {
    /// Entity kind (`carrier`, `status_budget`…), empty for all.
    #[serde(default)]
    pub entity: String,
    /// Part of the actor's e-mail, empty for all.
    #[serde(default)]
    pub actor: String,
    /// `YYYY-MM-DD` (UTC), inclusive; empty for no bound.
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    /// The `next` cursor of the previous page.
    #[serde(default)]
    pub after: String,
    #[serde(default)]
    pub limit: u32,
}

impl crate::listing::Keyset for AuditQuery {
    fn set_after(&mut self, after: String) {
        self.after = after;
    }
}

/// One audit log entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRow {
    pub id: i64,
    pub occurred_at: String,
    pub actor: String,
    pub entity: String,
    pub entity_id: i64,
    pub action: String,
    /// `field: before → after`, one per change.
    pub changes: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_is_red_for_critical_or_core_down_yellow_for_warnings_and_budgets() {
        let (l, r) = level(&LevelInputs::default());
        assert_eq!(l, Level::Green);
        assert_eq!(r.len(), 1);
        let (l, r) = level(&LevelInputs {
            breached: vec!["fn /fn/admin/dashboard".into()],
            ..Default::default()
        });
        assert_eq!(l, Level::Yellow);
        assert_eq!(r, ["over its budget: fn /fn/admin/dashboard"]);
        let (l, _) = level(&LevelInputs {
            warning_alerts: vec!["Mail failing"],
            ..Default::default()
        });
        assert_eq!(l, Level::Yellow);
        let (l, r) = level(&LevelInputs {
            core_down: vec!["Redis"],
            warning_alerts: vec!["Mail failing"],
            ..Default::default()
        });
        assert_eq!(l, Level::Red);
        assert_eq!(r[0], "Redis is down");
        let (l, _) = level(&LevelInputs {
            critical_alerts: vec!["Routing API failing"],
            ..Default::default()
        });
        assert_eq!(l, Level::Red);
    }

    #[test]
    fn staleness_counts_collector_periods() {
        assert_eq!(staleness(None, 60), Staleness::Missing);
        assert_eq!(staleness(Some(0), 60), Staleness::Fresh);
        assert_eq!(staleness(Some(120), 60), Staleness::Fresh);
        assert_eq!(staleness(Some(121), 60), Staleness::Stale);
        assert_eq!(staleness(Some(300), 60), Staleness::Stale);
        assert_eq!(staleness(Some(301), 60), Staleness::Stopped);
        assert_eq!(age_periods(30, 60), 0.5);
        assert_eq!(age_periods(300, 60), 5.0);
        assert!(breaks(Comparison::Above, 5_000, age_periods(301, 60)));
        assert!(!breaks(Comparison::Above, 5_000, age_periods(300, 60)));
    }

    #[test]
    fn a_rule_opens_after_holding_for_its_duration_and_clears_once() {
        // At once.
        assert_eq!(rule_step(true, None, false, 0), RuleStep::Open);
        // With a duration: start, hold, then open.
        assert_eq!(rule_step(true, None, false, 60), RuleStep::StartBreaching);
        assert_eq!(rule_step(true, Some(30), false, 60), RuleStep::Hold);
        assert_eq!(rule_step(true, Some(60), false, 60), RuleStep::Open);
        // Already open: nothing more (no second alert).
        assert_eq!(rule_step(true, Some(600), true, 60), RuleStep::Hold);
        // Cleared: resolve; then nothing.
        assert_eq!(rule_step(false, Some(600), true, 60), RuleStep::Clear);
        assert_eq!(rule_step(false, Some(5), false, 60), RuleStep::Clear);
        assert_eq!(rule_step(false, None, false, 60), RuleStep::Hold);
        assert!(breaks(Comparison::Below, 1000, 0.0));
        assert!(!breaks(Comparison::Below, 1000, 1.0));
        assert!(breaks(Comparison::Above, 0, 1.0));
        assert!(!breaks(Comparison::Above, 300_000, 300.0));
    }

    #[test]
    fn budgets_default_per_kind_and_judge_with_their_percentile() {
        let b = default_budget(OperationKind::Api, ROUTE_API).unwrap();
        assert_eq!((b.percentile, b.budget_us), (Percentile::P99, 5_000));
        assert!(default_budget(OperationKind::Api, CDR_API).is_none());
        assert_eq!(
            default_budget(OperationKind::ServerFn, "/fn/x")
                .unwrap()
                .budget_us,
            200_000
        );
        let mut s = OperationStats {
            count: 10,
            p95_us: 250_000,
            p99_us: 900_000,
            ..Default::default()
        };
        s.judge(default_budget(OperationKind::ServerFn, "/fn/x"));
        assert!(s.breached, "p95 250 ms > 200 ms");
        s.p95_us = 200_000;
        s.judge(default_budget(OperationKind::ServerFn, "/fn/x"));
        assert!(!s.breached, "at the budget is within it");
        s.count = 0;
        s.p95_us = 999_999;
        s.judge(default_budget(OperationKind::ServerFn, "/fn/x"));
        assert!(!s.breached, "nothing measured breaches nothing");
    }

    #[test]
    fn forms_name_their_bad_fields() {
        let bad = validate_alert_rule(&AlertRuleForm {
            name: " ".into(),
            metric: "nope".into(),
            comparison: "sideways".into(),
            threshold: "1.2345".into(),
            severity: "meh".into(),
            for_secs: "-1".into(),
            recipients: "ops@x.example, not-an-address".into(),
            enabled: true,
        })
        .unwrap_err();
        for field in [
            "name",
            "metric",
            "comparison",
            "threshold",
            "severity",
            "for_secs",
            "recipients",
        ] {
            assert!(bad.get(field).is_some(), "{field} named");
        }
        let ok = validate_alert_rule(&AlertRuleForm {
            name: "Queue".into(),
            metric: "jobs.queued".into(),
            comparison: "above".into(),
            threshold: "2.5".into(),
            severity: "warning".into(),
            for_secs: "".into(),
            recipients: "ops@x.example; noc@y.example".into(),
            enabled: true,
        })
        .unwrap();
        assert_eq!(ok.threshold_milli, 2500);
        assert_eq!(ok.recipients, "ops@x.example, noc@y.example");
        assert_eq!(format_milli(2500), "2.5");
        assert_eq!(format_milli(300_000), "300");
        let b = validate_budget(&BudgetForm {
            kind: "api".into(),
            name: ROUTE_API.into(),
            percentile: "p99".into(),
            budget_ms: "0.5".into(),
        })
        .unwrap();
        assert_eq!(b.budget_us, 500);
        let bad = validate_budget(&BudgetForm {
            kind: "x".into(),
            name: "".into(),
            percentile: "p90".into(),
            budget_ms: "0".into(),
        })
        .unwrap_err();
        assert_eq!(bad.0.len(), 4);
    }

    #[test]
    fn figures_format_for_people() {
        assert_eq!(format_latency(850), "850 µs");
        assert_eq!(format_latency(4_560), "4.56 ms");
        assert_eq!(format_latency(12_400), "12.4 ms");
        assert_eq!(format_latency(3_200_000), "3.20 s");
        assert_eq!(format_bp(1234), "12.34 %");
        assert_eq!(format_bp(5), "0.05 %");
        assert_eq!(basis_points(1, 3), 3333);
        assert_eq!(basis_points(2, 3), 6667);
        assert_eq!(basis_points(1, 0), 0);
        assert_eq!(format_bytes(512), "512 B");
        assert_eq!(format_bytes(1536), "1.5 KiB");
    }
}
