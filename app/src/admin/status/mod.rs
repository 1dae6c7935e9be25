//! System Status (`/admin/status?tab=…`): the single pane of glass. Eleven tabs read the
//! collector's newest snapshot (and, for lists that change between snapshots — alerts,
//! errors, jobs, the audit log — their own light queries). Live by default: everything
//! refreshes every 30 s while the browser tab is visible and pauses while it is hidden;
//! each panel says when its figures were taken. Banners say when the collector is late
//! (over two periods) or stopped (over five).

pub mod api;

use domain::status::{
    format_bp, format_bytes, format_latency, format_milli, metric_label, AlertRow, AlertRuleForm,
    AlertRuleRow, AlertStatus, AuditQuery, AuditRow, BudgetForm, BudgetRow, Comparison, Health,
    Level, OperationKind, OperationStats, Percentile, Severity, Snapshot, Staleness, StatusView,
    METRICS,
};
use leptos::prelude::*;

use crate::admin::cdrs::utc;
use crate::components::{
    save_action, submit, use_live_refresh, use_pages, use_tab, use_toaster, ChartSeries,
    CheckboxField, Column, ConfirmDelete, DataTable, Dialog, ErrorPanel, FormActions, FormErrors,
    LineChart, Loading, PageHeader, SelectField, StatTile, TabPanel, Tabs, TextField,
};
use crate::error::AppError;
use crate::{bind, bind_bool};
use api::*;

/// The tabs, in order: `(key, label)`.
pub const TABS: [(&str, &str); 11] = [
    ("overview", "Overview"),
    ("budgets", "Performance Budgets"),
    ("health", "Health Checks"),
    ("api", "API & Errors"),
    ("database", "Database"),
    ("jobs", "Jobs"),
    ("cache", "Cache & Storage"),
    ("integrations", "Integrations"),
    ("portals", "Portals"),
    ("alerts", "Alerts"),
    ("audit", "Audit / Changes"),
];

/// The page's live data, shared by the tabs.
#[derive(Clone, Copy)]
struct Live {
    view: RwSignal<Option<Result<StatusView, AppError>>>,
    /// Bumped at every refresh: tabs with lists of their own reload on it.
    tick: RwSignal<u64>,
    /// When the page last read the server (RFC 3339 UTC).
    read_at: RwSignal<String>,
}

impl Live {
    fn refresh(self) {
        self.tick.update(|t| *t += 1);
        leptos::task::spawn_local(async move {
            let fresh = fetch_status().await;
            if let Ok(v) = &fresh {
                self.read_at.try_set(v.read_at.clone());
            }
            self.view.try_set(Some(fresh));
        });
    }
}

fn level_class(level: Level) -> &'static str {
    match level {
        Level::Green => "level level--green",
        Level::Yellow => "level level--yellow",
        Level::Red => "level level--red",
    }
}

fn health_tag(h: Health) -> &'static str {
    match h {
        Health::Ok => "tag tag--ok",
        Health::Degraded => "tag tag--warn",
        Health::Down => "tag tag--crit",
        Health::NotConfigured => "tag tag--muted",
    }
}

fn severity_tag(s: Severity) -> &'static str {
    match s {
        Severity::Warning => "tag tag--warn",
        Severity::Critical => "tag tag--crit",
    }
}

fn time_or_dash(t: &Option<String>) -> String {
    t.as_deref().map(utc).unwrap_or_else(|| "—".into())
}

fn per_min(milli: i64) -> String {
    format_milli(milli)
}

/// `/admin/status`.
#[component]
pub fn StatusModule() -> impl IntoView {
    let tab = use_tab("overview");
    let live = Live {
        view: RwSignal::new(None),
        tick: RwSignal::new(0),
        read_at: RwSignal::new(String::new()),
    };
    provide_context(live);
    Effect::new(move |_| live.refresh());
    let enabled = RwSignal::new(true);
    let mode = use_live_refresh(enabled.into(), Callback::new(move |_| live.refresh()));
    view! {
        <PageHeader title="System status" description="Is it up, is it fast, which layer is failing, what changed: from the collector's snapshots (every instance's figures, merged).">
            <label class="live-switch" data-testid="live-switch">
                <input type="checkbox" prop:checked=move || enabled.get()
                    on:change=move |ev| enabled.set(event_target_checked(&ev))/>
                " Live"
            </label>
            <span class="muted live-state" data-testid="live-state" data-live=move || mode.get().as_str()
                aria-live="polite">{move || mode.get().label()}</span>
            <button type="button" class="button" data-testid="refresh-status" on:click=move |_| live.refresh()>"Refresh now"</button>
        </PageHeader>
        <Summary/>
        <Tabs label="System status" tabs=TABS.to_vec() active=tab/>
        <TabPanel active=tab>
            {move || match tab.get().as_str() {
                "budgets" => view! { <BudgetsTab/> }.into_any(),
                "health" => view! { <HealthTab/> }.into_any(),
                "api" => view! { <ApiTab/> }.into_any(),
                "database" => view! { <DatabaseTab/> }.into_any(),
                "jobs" => view! { <JobsTab/> }.into_any(),
                "cache" => view! { <CacheTab/> }.into_any(),
                "integrations" => view! { <IntegrationsTab/> }.into_any(),
                "portals" => view! { <PortalsTab/> }.into_any(),
                "alerts" => view! { <AlertsTab/> }.into_any(),
                "audit" => view! { <AuditTab/> }.into_any(),
                _ => view! { <OverviewTab/> }.into_any(),
            }}
        </TabPanel>
    }
}

/// The staleness banner and the global level with its reasons.
#[component]
fn Summary() -> impl IntoView {
    let live = expect_context::<Live>();
    move || match live.view.get() {
        None => view! { <Loading/> }.into_any(),
        Some(Err(error)) => {
            view! { <ErrorPanel error on_retry=Callback::new(move |_| live.refresh())/> }.into_any()
        }
        Some(Ok(v)) => {
            let minutes = v.age_secs.unwrap_or(0) / 60;
            let banner = match v.staleness {
                Staleness::Fresh => None,
                Staleness::Missing => Some(("alert alert--info", "No snapshot yet: the collector writes the first one within a period of the server's start.".to_owned())),
                Staleness::Stale => Some(("alert alert--warn", format!(
                    "The newest snapshot is {} s old (over two collector periods of {} s): the collector is late. The figures below may be out of date.",
                    v.age_secs.unwrap_or(0), v.period_secs))),
                Staleness::Stopped => Some(("alert alert--crit", format!(
                    "The newest snapshot is {minutes} min old (over five collector periods): the collector has stopped. Check that a didtron serve instance runs and reaches the database; a critical alert is open."))),
            };
            let level = v.snapshot.as_ref().and_then(|s| s.level);
            let reasons = v
                .snapshot
                .as_ref()
                .map(|s| s.reasons.clone())
                .unwrap_or_default();
            let taken = v.snapshot.as_ref().map(|s| utc(&s.taken_at));
            view! {
                {banner.map(|(class, text)| view! {
                    <p class=class role="alert" data-testid="stale-banner" data-staleness=format!("{:?}", v.staleness).to_lowercase()>{text}</p>
                })}
                {level.map(|l| view! {
                    <section class="status-summary" aria-label="Global status">
                        <span class=level_class(l) data-testid="status-level" data-level=l.as_str()>
                            <span class="level__dot" aria-hidden="true"></span>
                            {format!("{} — {}", l.label(), l.meaning())}
                        </span>
                        <ul class="status-summary__reasons" data-testid="status-reasons">
                            {reasons.into_iter().map(|r| view! { <li>{r}</li> }).collect_view()}
                        </ul>
                        <span class="muted">{taken.map(|t| format!("Snapshot taken {t} UTC"))}</span>
                    </section>
                })}
            }
            .into_any()
        }
    }
}

/// A panel with its title and when its figures were taken.
#[component]
fn Panel(
    #[prop(into)] title: String,
    /// RFC 3339 UTC of the figures.
    #[prop(into)]
    updated: Signal<String>,
    #[prop(optional)] testid: &'static str,
    children: Children,
) -> impl IntoView {
    let label = title.clone();
    view! {
        <section class="panel" aria-label=label data-testid=testid>
            <div class="panel__head">
                <h2 class="panel__title">{title}</h2>
                <span class="panel__updated muted" data-testid="panel-updated">
                    {move || { let u = updated.get(); if u.is_empty() { String::new() } else { format!("Updated {} UTC", utc(&u)) } }}
                </span>
            </div>
            {children()}
        </section>
    }
}

/// Renders `f` with the newest snapshot, or what stands in its place.
fn with_snapshot(f: impl Fn(Snapshot) -> AnyView + Send + Sync + 'static) -> impl IntoView {
    let live = expect_context::<Live>();
    move || {
        match live.view.get() {
        None => view! { <Loading/> }.into_any(),
        Some(Err(_)) => view! { <p class="empty">"The status could not be read; see above."</p> }.into_any(),
        Some(Ok(v)) => match v.snapshot {
            Some(s) => f(s),
            None => view! { <p class="empty">"No snapshot yet. The collector runs every period; this page fills in by itself."</p> }.into_any(),
        },
    }
    }
}

/// Data of a tab's own query, loaded in the browser and again at every live refresh
/// (the old figures stay on screen while the new ones load).
fn load_live<T, Fut>(
    fetch: impl Fn() -> Fut + Copy + Send + Sync + 'static,
) -> (RwSignal<Option<Result<T, AppError>>>, Callback<()>)
where
    T: Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<T, AppError>> + 'static,
{
    let live = expect_context::<Live>();
    let data = RwSignal::new(None);
    let load = move || {
        leptos::task::spawn_local(async move {
            let fresh = fetch().await;
            data.try_set(Some(fresh));
        })
    };
    Effect::new(move |_| {
        live.tick.track();
        load();
    });
    (data, Callback::new(move |_| load()))
}

/// What a loaded list shows: loading, its error, or `f` of its rows.
fn loaded<T: Clone + Send + Sync + 'static>(
    data: RwSignal<Option<Result<T, AppError>>>,
    retry: Callback<()>,
    f: impl Fn(T) -> AnyView + Send + Sync + 'static,
) -> impl IntoView {
    move || match data.get() {
        None => view! { <Loading/> }.into_any(),
        Some(Err(error)) => view! { <ErrorPanel error on_retry=retry/> }.into_any(),
        Some(Ok(rows)) => f(rows),
    }
}

fn snapshot_time() -> Signal<String> {
    let live = expect_context::<Live>();
    Signal::derive(move || {
        live.view
            .get()
            .and_then(Result::ok)
            .and_then(|v| v.snapshot.map(|s| s.taken_at))
            .unwrap_or_default()
    })
}

fn read_time() -> Signal<String> {
    let live = expect_context::<Live>();
    Signal::derive(move || live.read_at.get())
}

// ---------- 1. Overview ----------

#[component]
fn OverviewTab() -> impl IntoView {
    let (alerts, retry_alerts) = load_live(|| fetch_alerts(false));
    let (changes, retry_changes) = load_live(|| {
        audit_page(AuditQuery {
            limit: 10,
            ..Default::default()
        })
    });
    let (deploys, retry_deploys) = load_live(fetch_deploys);
    view! {
        <div class="panels">
            <Panel title="Layers" updated=snapshot_time() testid="layers">
                {with_snapshot(|s| view! {
                    <table class="table" data-testid="layers-table">
                        <caption class="visually-hidden">"State of each layer"</caption>
                        <thead><tr><th scope="col">"Layer"</th><th scope="col">"State"</th><th scope="col">"Detail"</th></tr></thead>
                        <tbody>
                            {s.layers.into_iter().map(|l| view! {
                                <tr><td>{l.name}</td><td><span class=level_class(l.level)><span class="level__dot" aria-hidden="true"></span>{l.level.label()}</span></td><td>{l.detail}</td></tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    <p class="muted">{format!("Collector cycle took {} ms; figures cover the last {} s.", s.collect_ms, s.window_secs)}</p>
                }.into_any())}
            </Panel>
            <Panel title="Open alerts" updated=read_time() testid="overview-alerts">
                {loaded(alerts, retry_alerts, |rows: Vec<AlertRow>| if rows.is_empty() {
                    view! { <p class="empty">"No alert is open."</p> }.into_any()
                } else {
                    view! { <ul class="alert-list">{rows.into_iter().map(|a| view! {
                        <li><span class=severity_tag(a.severity)>{a.severity.label()}</span>" "<strong>{a.name}</strong>" — "{a.message}
                            <span class="muted">{format!(" since {} UTC ({})", utc(&a.opened_at), a.status.label())}</span></li>
                    }).collect_view()}</ul>
                    <p><a href="/admin/status?tab=alerts">"Manage alerts"</a></p> }.into_any()
                })}
            </Panel>
        </div>
        <div class="panels">
            <Panel title="Recent changes" updated=read_time() testid="recent-changes">
                {loaded(changes, retry_changes, |page: domain::listing::Page<AuditRow>| if page.rows.is_empty() {
                    view! { <p class="empty">"Nothing changed yet."</p> }.into_any()
                } else {
                    view! { <ul class="change-list">{page.rows.into_iter().map(|r| view! {
                        <li><span class="num">{utc(&r.occurred_at)}</span>" "{r.actor}" "{r.action}" "<code>{format!("{} {}", r.entity, r.entity_id)}</code></li>
                    }).collect_view()}</ul>
                    <p><a href="/admin/status?tab=audit">"Whole audit log"</a></p> }.into_any()
                })}
            </Panel>
            <Panel title="Deploys" updated=read_time()>
                {loaded(deploys, retry_deploys, |rows: Vec<domain::status::DeployRow>| view! {
                    <ul class="change-list">{rows.into_iter().take(5).map(|d| view! {
                        <li><span class="num">{utc(&d.started_at)}</span>{format!(" version {} on {} (pid {})", d.version, d.host, d.pid)}</li>
                    }).collect_view()}</ul>
                }.into_any())}
            </Panel>
        </div>
    }
}

// ---------- 2. Performance Budgets ----------

fn budget_text(o: &OperationStats) -> String {
    match &o.budget {
        Some(b) => format!(
            "{} ≤ {}{}",
            b.percentile.label(),
            format_latency(b.budget_us),
            match b.source.as_str() {
                "default" => " (default)",
                "kind" => " (kind)",
                _ => "",
            }
        ),
        None => "none".into(),
    }
}

fn budget_state(o: &OperationStats) -> AnyView {
    match (&o.budget, o.breached) {
        (None, _) => view! { <span class="tag tag--muted">"No budget"</span> }.into_any(),
        (Some(_), true) => view! { <span class="tag tag--crit">"Over budget"</span> }.into_any(),
        (Some(_), false) => view! { <span class="tag tag--ok">"Within"</span> }.into_any(),
    }
}

/// Operations of the kinds budgets apply to.
fn budgeted(s: &Snapshot) -> Vec<OperationStats> {
    s.operations
        .iter()
        .filter(|o| OperationKind::parse(&o.kind).is_some())
        .cloned()
        .collect()
}

/// An operation `(kind, name)`.
type OperationKey = (String, String);
/// The budget table's row buttons: the operation to chart, and "Set budget".
type RowActions = (RwSignal<Option<OperationKey>>, Callback<BudgetForm>);

#[component]
fn OperationsTable(
    rows: Vec<OperationStats>,
    #[prop(into)] caption: String,
    testid: &'static str,
    /// Shows the Trend and Set budget buttons.
    #[prop(optional)]
    actions: Option<RowActions>,
) -> impl IntoView {
    if rows.is_empty() {
        return view! { <p class="empty">"Nothing was measured in the window yet: figures appear as requests are served."</p> }.into_any();
    }
    view! {
        <div class="table-wrap" tabindex="0">
            <table class="table" data-testid=testid>
                <caption class="visually-hidden">{caption}</caption>
                <thead><tr>
                    <th scope="col">"Kind"</th><th scope="col">"Operation"</th>
                    <th scope="col" class="num">"Per minute"</th><th scope="col" class="num">"Errors"</th>
                    <th scope="col" class="num">"p50"</th><th scope="col" class="num">"p95"</th><th scope="col" class="num">"p99"</th>
                    <th scope="col">"Budget"</th><th scope="col">"State"</th>
                    {actions.is_some().then(|| view! { <th scope="col"><span class="visually-hidden">"Actions"</span></th> })}
                </tr></thead>
                <tbody>
                    {rows.into_iter().map(|o| {
                        let kind_label = OperationKind::parse(&o.kind).map_or(o.kind.clone(), |k| k.label().to_owned());
                        let row_class = if o.breached { "row--breach" } else { "" };
                        let state = budget_state(&o);
                        let budget = budget_text(&o);
                        let key = (o.kind.clone(), o.name.clone());
                        let form = BudgetForm {
                            kind: o.kind.clone(),
                            name: o.name.clone(),
                            percentile: o.budget.as_ref().map_or("p95", |b| b.percentile.as_str()).to_owned(),
                            budget_ms: o.budget.as_ref().map(|b| format_milli(b.budget_us)).unwrap_or_default(),
                        };
                        let name = o.name.clone();
                        view! {
                            <tr class=row_class>
                                <td>{kind_label}</td>
                                <td><code>{o.name.clone()}</code></td>
                                <td class="num">{per_min(o.per_min_milli)}</td>
                                <td class="num">{format!("{} ({})", o.errors, format_bp(o.error_bp))}</td>
                                <td class="num">{format_latency(o.p50_us)}</td>
                                <td class="num">{format_latency(o.p95_us)}</td>
                                <td class="num">{format_latency(o.p99_us)}</td>
                                <td>{budget}</td>
                                <td>{state}</td>
                                {actions.map(|(selected, set_budget)| view! {
                                    <td class="actions">
                                        <button type="button" class="button button--small" aria-label=format!("Trend of {name}")
                                            on:click={ let key = key.clone(); move |_| selected.set(Some(key.clone())) }>"Trend"</button>
                                        <button type="button" class="button button--small" aria-label=format!("Set budget of {name}")
                                            on:click={ let form = form.clone(); move |_| set_budget.run(form.clone()) }>"Set budget"</button>
                                    </td>
                                })}
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
fn BudgetsTab() -> impl IntoView {
    let live = expect_context::<Live>();
    let selected = RwSignal::new(None::<(String, String)>);
    let dialog = RwSignal::new(false);
    let form = RwSignal::new(BudgetForm::default());
    let (budgets, retry_budgets) = load_live(fetch_budgets);
    let open_dialog = Callback::new(move |f: BudgetForm| {
        form.set(f);
        dialog.set(true);
    });
    // The first breached operation (else the first) is charted until one is picked.
    let chosen = Memo::new(move |_| {
        selected.get().or_else(|| {
            live.view
                .get()
                .and_then(Result::ok)
                .and_then(|v| v.snapshot)
                .and_then(|s| {
                    let ops = budgeted(&s);
                    ops.iter()
                        .find(|o| o.breached)
                        .or(ops.first())
                        .map(|o| (o.kind.clone(), o.name.clone()))
                })
        })
    });
    let trend = RwSignal::new(None::<Result<domain::status::Trend, AppError>>);
    Effect::new(move |_| {
        live.tick.track();
        if let Some((kind, name)) = chosen.get() {
            leptos::task::spawn_local(async move {
                let t = fetch_trend(kind, name, 24).await;
                trend.try_set(Some(t));
            });
        }
    });
    let toaster = use_toaster();
    let remove = Action::new(move |id: &i64| {
        let id = *id;
        async move { delete_budget(id).await }
    });
    Effect::new(move |_| match remove.value().get() {
        Some(Ok(())) => {
            toaster.success("Budget removed: the default applies again");
            retry_budgets.run(());
            live.refresh();
        }
        Some(Err(e)) => toaster.error(format!("Not removed: {e}")),
        None => {}
    });
    view! {
        <Panel title="Operations against their budgets" updated=snapshot_time() testid="budgets-panel">
            <p class="panel__help">"p50 / p95 / p99 over the collector's window, every instance merged. Defaults: pages p95 ≤ 300 ms, server functions p95 ≤ 200 ms, POST /api/v1/route p99 ≤ 5 ms, job start p95 ≤ 5 s. Rows over budget are marked."</p>
            {with_snapshot(move |s| view! {
                <OperationsTable rows=budgeted(&s) caption="Operations and budgets" testid="budgets-table"
                    actions=(selected, open_dialog)/>
            }.into_any())}
        </Panel>
        <Panel title="Trend, last 24 hours" updated=snapshot_time() testid="trend-panel">
            {move || match trend.get() {
                None => view! { <p class="empty">"Pick an operation's Trend to chart it."</p> }.into_any(),
                Some(Err(error)) => view! { <ErrorPanel error/> }.into_any(),
                Some(Ok(t)) => {
                    let threshold = t.budget.as_ref().map(|b| (format!("budget {}", b.percentile.label()), b.budget_us));
                    view! {
                        <LineChart caption=format!("Latency of {}, last 24 hours", t.name) axis="latency"
                            format=format_latency threshold=threshold testid="trend-chart"
                            series=vec![
                                ChartSeries::new("p50", "p50", t.p50.clone()),
                                ChartSeries::new("p95", "p95", t.p95.clone()),
                                ChartSeries::new("p99", "p99", t.p99.clone()),
                            ]/>
                        <LineChart caption=format!("Requests per minute of {}, last 24 hours", t.name) axis="per minute"
                            format=per_min series=vec![ChartSeries::new("per minute", "rate", t.per_min.clone())]/>
                    }.into_any()
                }
            }}
        </Panel>
        <Panel title="Budgets you set" updated=read_time() testid="budget-overrides">
            <p class="panel__help">"A budget for one operation beats its kind's (operation *), which beats DIDTron's default. Every change is audited."</p>
            <button type="button" class="button" data-testid="new-budget"
                on:click=move |_| open_dialog.run(BudgetForm { kind: "fn".into(), name: "*".into(), percentile: "p95".into(), budget_ms: String::new() })>"Set a budget"</button>
            {loaded(budgets, retry_budgets, move |rows: Vec<BudgetRow>| if rows.is_empty() {
                view! { <p class="empty">"None: DIDTron's defaults apply."</p> }.into_any()
            } else {
                view! {
                    <table class="table" data-testid="budget-rows">
                        <caption class="visually-hidden">"Budgets set"</caption>
                        <thead><tr><th scope="col">"Kind"</th><th scope="col">"Operation"</th><th scope="col">"Budget"</th><th scope="col">"Set (UTC)"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th></tr></thead>
                        <tbody>{rows.into_iter().map(|b| {
                            let id = b.id;
                            let what = format!("budget of {} {}", b.form.kind, b.form.name);
                            view! { <tr>
                                <td>{OperationKind::parse(&b.form.kind).map_or(b.form.kind.clone(), |k| k.label().to_owned())}</td>
                                <td><code>{b.form.name.clone()}</code></td>
                                <td class="num">{format!("{} ≤ {} ms", b.form.percentile, b.form.budget_ms)}</td>
                                <td class="num">{utc(&b.updated_at)}</td>
                                <td class="actions"><ConfirmDelete what label="Remove" on_confirm=Callback::new(move |_| { remove.dispatch(id); })/></td>
                            </tr> }
                        }).collect_view()}</tbody>
                    </table>
                }.into_any()
            })}
        </Panel>
        <Dialog title="Performance budget" open=dialog>
            <BudgetEditor form on_done=Callback::new(move |_| { dialog.set(false); retry_budgets.run(()); live.refresh(); })/>
        </Dialog>
    }
}

#[component]
fn BudgetEditor(form: RwSignal<BudgetForm>, on_done: Callback<()>) -> impl IntoView {
    let errors = FormErrors::new();
    let save = save_action(
        errors,
        "Budget saved",
        "Budget not saved",
        move |f: BudgetForm| save_budget(f),
        move |_| on_done.run(()),
    );
    let kinds: Vec<(String, String)> = OperationKind::ALL
        .iter()
        .map(|k| (k.as_str().into(), k.label().into()))
        .collect();
    let percentiles: Vec<(String, String)> = Percentile::ALL
        .iter()
        .map(|p| (p.as_str().into(), p.label().into()))
        .collect();
    view! {
        <form class="form" on:submit=move |ev| { ev.prevent_default(); submit(form, errors, domain::status::validate_budget, save) }>
            <SelectField label="Kind" name="kind" bind=bind!(form.kind) options=kinds errors prefix="budget"/>
            <TextField label="Operation" name="name" bind=bind!(form.name) errors prefix="budget"
                help="As System Status names it (e.g. /fn/admin/carriers), or * for every operation of the kind."/>
            <SelectField label="Percentile" name="percentile" bind=bind!(form.percentile) options=percentiles errors prefix="budget"/>
            <TextField label="Budget (ms)" name="budget_ms" bind=bind!(form.budget_ms) errors prefix="budget"
                input_class="num" help="Milliseconds, up to three decimals (0.5 = 500 µs)."/>
            <FormActions label="Save budget" pending=save.pending() errors/>
        </form>
    }
}

// ---------- 3. Health Checks ----------

#[component]
fn HealthTab() -> impl IntoView {
    view! {
        <Panel title="Health checks" updated=snapshot_time() testid="health-panel">
            {with_snapshot(|s| view! {
                <div class="table-wrap" tabindex="0">
                    <table class="table" data-testid="health-table">
                        <caption class="visually-hidden">"Health of each dependency"</caption>
                        <thead><tr>
                            <th scope="col">"Dependency"</th><th scope="col">"State"</th><th scope="col" class="num">"Latency"</th>
                            <th scope="col">"Detail"</th><th scope="col">"Last error"</th><th scope="col">"Last error at (UTC)"</th>
                        </tr></thead>
                        <tbody>{s.health.into_iter().map(|h| view! {
                            <tr data-check=h.name.clone()>
                                <td>{h.label}</td>
                                <td><span class=health_tag(h.health)>{h.health.label()}</span></td>
                                <td class="num">{h.latency_us.map(format_latency).unwrap_or_else(|| "—".into())}</td>
                                <td>{h.detail}</td>
                                <td>{h.last_error.unwrap_or_else(|| "—".into())}</td>
                                <td class="num">{time_or_dash(&h.last_error_at)}</td>
                            </tr>
                        }).collect_view()}</tbody>
                    </table>
                </div>
                <h3 class="section-title">"Job workers"</h3>
                {if s.jobs.workers.is_empty() {
                    view! { <p class="empty">"No process runs job workers (DIDTRON_WORKERS=0 everywhere): imports, exports and re-rating wait."</p> }.into_any()
                } else {
                    view! { <WorkersTable workers=s.jobs.workers/> }.into_any()
                }}
            }.into_any())}
        </Panel>
    }
}

#[component]
fn WorkersTable(workers: Vec<domain::status::WorkerHeartbeat>) -> impl IntoView {
    view! {
        <table class="table" data-testid="workers-table">
            <caption class="visually-hidden">"Worker heartbeats"</caption>
            <thead><tr><th scope="col">"Host"</th><th scope="col">"Instance"</th><th scope="col" class="num">"Workers"</th><th scope="col" class="num">"Last heartbeat"</th><th scope="col">"State"</th></tr></thead>
            <tbody>{workers.into_iter().map(|w| view! {
                <tr><td>{w.host}</td><td><code>{w.instance}</code></td><td class="num">{w.workers}</td>
                    <td class="num">{format!("{} s ago", w.last_seen_age_s)}</td>
                    <td>{if w.alive { view! { <span class="tag tag--ok">"alive"</span> }.into_any() } else { view! { <span class="tag tag--crit">"silent"</span> }.into_any() }}</td></tr>
            }).collect_view()}</tbody>
        </table>
    }
}

// ---------- 4. API & Errors ----------

#[component]
fn ApiTab() -> impl IntoView {
    let (errors, retry) = load_live(fetch_recent_errors);
    view! {
        <Panel title="Requests and errors by endpoint" updated=snapshot_time() testid="api-panel">
            {with_snapshot(|s| {
                let rows: Vec<OperationStats> = s.operations.into_iter().filter(|o| matches!(o.kind.as_str(), "api" | "fn" | "page")).collect();
                if rows.is_empty() {
                    return view! { <p class="empty">"No request in the window yet."</p> }.into_any();
                }
                view! {
                    <div class="table-wrap" tabindex="0"><table class="table" data-testid="endpoints-table">
                        <caption class="visually-hidden">"Requests by endpoint"</caption>
                        <thead><tr><th scope="col">"Endpoint"</th><th scope="col" class="num">"Requests"</th><th scope="col" class="num">"Per minute"</th>
                            <th scope="col" class="num">"5xx"</th><th scope="col" class="num">"Error rate"</th><th scope="col">"By status"</th></tr></thead>
                        <tbody>{rows.into_iter().map(|o| view! {
                            <tr class={if o.errors > 0 { "row--breach" } else { "" }}>
                                <td><code>{o.name.clone()}</code></td>
                                <td class="num">{o.count}</td>
                                <td class="num">{per_min(o.per_min_milli)}</td>
                                <td class="num">{o.errors}</td>
                                <td class="num">{format_bp(o.error_bp)}</td>
                                <td>{o.counters.iter().map(|(code, n)| format!("{code}: {n}")).collect::<Vec<_>>().join(", ")}</td>
                            </tr>
                        }).collect_view()}</tbody>
                    </table></div>
                }.into_any()
            })}
        </Panel>
        <Panel title="Recent errors" updated=read_time() testid="recent-errors">
            <p class="panel__help">"Failed answers (5xx). The correlation id finds the details in the server log; nothing else is kept here."</p>
            {loaded(errors, retry, |rows: Vec<domain::status::ErrorRow>| if rows.is_empty() {
                view! { <p class="empty">"No failed request in the last 7 days."</p> }.into_any()
            } else {
                view! { <div class="table-wrap" tabindex="0"><table class="table" data-testid="errors-table">
                    <caption class="visually-hidden">"Recent errors"</caption>
                    <thead><tr><th scope="col">"Time (UTC)"</th><th scope="col">"Endpoint"</th><th scope="col" class="num">"Status"</th><th scope="col">"Correlation id"</th><th scope="col">"Instance"</th></tr></thead>
                    <tbody>{rows.into_iter().map(|e| view! {
                        <tr><td class="num">{utc(&e.occurred_at)}</td><td><code>{e.name}</code></td><td class="num">{e.status_code}</td>
                            <td><code>{if e.correlation_id.is_empty() { "—".to_owned() } else { e.correlation_id }}</code></td><td><code>{e.instance}</code></td></tr>
                    }).collect_view()}</tbody>
                </table></div> }.into_any()
            })}
        </Panel>
    }
}

// ---------- 5. Database ----------

#[component]
fn DatabaseTab() -> impl IntoView {
    let (slow, retry) = load_live(fetch_slow_queries);
    view! {
        <Panel title="Database" updated=snapshot_time() testid="database-panel">
            {with_snapshot(|s| {
                let d = s.database.clone();
                let statements = s.operations.iter().find(|o| o.kind == "db").cloned();
                view! {
                    <dl class="facts" data-testid="database-facts">
                        <dt>"Backend"</dt><dd>{if d.backend == "postgres" { "PostgreSQL" } else { "SQLite" }}</dd>
                        <dt>"Size"</dt><dd class="num">{format_bytes(d.size_bytes)}</dd>
                        <dt>"Connections (this instance)"</dt><dd class="num">{format!("{} in use, {} idle, at most {}", d.pool_in_use, d.pool_idle, d.pool_max)}</dd>
                        <dt>"Connections (server)"</dt><dd class="num">{d.server_connections.map(|n| n.to_string()).unwrap_or_else(|| "—".into())}</dd>
                        <dt>"Migration"</dt><dd><code>{d.migration.clone()}</code>{format!(" ({} applied)", d.migrations_applied)}</dd>
                        <dt>"Statements"</dt><dd class="num">{statements.map(|o| format!("{} per minute, p95 {}, p99 {}", per_min(o.per_min_milli), format_latency(o.p95_us), format_latency(o.p99_us))).unwrap_or_else(|| "not measured in the window".into())}</dd>
                        <dt>"Slow statements (24 h)"</dt><dd class="num">{d.slow_queries_24h}</dd>
                    </dl>
                    <h3 class="section-title">"Largest tables"</h3>
                    <table class="table" data-testid="tables-table">
                        <caption class="visually-hidden">"Largest tables"</caption>
                        <thead><tr><th scope="col">"Table"</th><th scope="col" class="num">"Rows (estimate)"</th><th scope="col" class="num">"Size with indexes"</th></tr></thead>
                        <tbody>{d.tables.into_iter().map(|t| view! {
                            <tr><td><code>{t.name}</code></td><td class="num">{t.rows_estimate}</td><td class="num">{t.bytes.map(format_bytes).unwrap_or_else(|| "—".into())}</td></tr>
                        }).collect_view()}</tbody>
                    </table>
                }.into_any()
            })}
        </Panel>
        <Panel title="Slow statements (over 500 ms)" updated=read_time() testid="slow-queries">
            {loaded(slow, retry, |rows: Vec<domain::status::SlowQueryRow>| if rows.is_empty() {
                view! { <p class="empty">"No statement took over 500 ms in the last 7 days."</p> }.into_any()
            } else {
                view! { <ul class="slow-list">{rows.into_iter().map(|q| view! {
                    <li>
                        <p><span class="num">{utc(&q.occurred_at)}</span>" — "<strong class="num">{format_latency(q.elapsed_us)}</strong></p>
                        <pre class="raw" tabindex="0">{q.statement}</pre>
                        {(!q.plan.is_empty()).then(|| view! { <details><summary>"Plan"</summary><pre class="raw" tabindex="0">{q.plan.clone()}</pre></details> })}
                    </li>
                }).collect_view()}</ul> }.into_any()
            })}
        </Panel>
    }
}

// ---------- 6. Jobs ----------

#[component]
fn JobsTab() -> impl IntoView {
    let live = expect_context::<Live>();
    let (failed, retry_failed) = load_live(fetch_failed_jobs);
    let toaster = use_toaster();
    let again = Action::new(move |id: &i64| {
        let id = *id;
        async move { retry_job(id).await }
    });
    Effect::new(move |_| match again.value().get() {
        Some(Ok(())) => {
            toaster.success("Queued again: a worker picks it up");
            retry_failed.run(());
            live.refresh();
        }
        Some(Err(e)) => toaster.error(format!("Not queued: {e}")),
        None => {}
    });
    view! {
        <Panel title="Jobs by type" updated=snapshot_time() testid="jobs-panel">
            {with_snapshot(|s| {
                let j = s.jobs.clone();
                view! {
                    <div class="stats">
                        <StatTile label="Queued" value=j.queued.to_string() detail=j.oldest_queued_s.map(|s| format!("oldest waits {s} s")).unwrap_or_else(|| "none waiting".into())/>
                        <StatTile label="Running" value=j.running.len().to_string()/>
                        <StatTile label="Failed (1 h)" value=j.failed_1h.to_string()/>
                    </div>
                    {if j.by_kind.is_empty() {
                        view! { <p class="empty">"No job in the last 24 hours."</p> }.into_any()
                    } else {
                        view! { <table class="table" data-testid="job-counts">
                            <caption class="visually-hidden">"Jobs by type"</caption>
                            <thead><tr><th scope="col">"Type"</th><th scope="col" class="num">"Queued"</th><th scope="col" class="num">"Running"</th><th scope="col" class="num">"Failed (24 h)"</th><th scope="col" class="num">"Done (24 h)"</th></tr></thead>
                            <tbody>{j.by_kind.into_iter().map(|c| view! {
                                <tr><td><code>{c.kind}</code></td><td class="num">{c.queued}</td><td class="num">{c.running}</td><td class="num">{c.failed}</td><td class="num">{c.done}</td></tr>
                            }).collect_view()}</tbody>
                        </table> }.into_any()
                    }}
                    <h3 class="section-title">"Running"</h3>
                    {if j.running.is_empty() {
                        view! { <p class="empty">"Nothing runs now."</p> }.into_any()
                    } else {
                        view! { <table class="table" data-testid="running-jobs">
                            <caption class="visually-hidden">"Running jobs"</caption>
                            <thead><tr><th scope="col" class="num">"Job"</th><th scope="col">"Type"</th><th scope="col">"Worker"</th><th scope="col" class="num">"Running for"</th><th scope="col" class="num">"Heartbeat"</th><th scope="col">"Progress"</th></tr></thead>
                            <tbody>{j.running.into_iter().map(|r| view! {
                                <tr><td class="num">{r.id}</td><td><code>{r.kind}</code></td><td><code>{r.worker}</code></td><td class="num">{format!("{} s", r.running_s)}</td>
                                    <td class="num">{if r.heartbeat_age_s < 0 { "—".to_owned() } else { format!("{} s ago", r.heartbeat_age_s) }}</td><td>{r.progress.unwrap_or_else(|| "—".into())}</td></tr>
                            }).collect_view()}</tbody>
                        </table> }.into_any()
                    }}
                    <h3 class="section-title">"Worker heartbeats"</h3>
                    <WorkersTable workers=j.workers/>
                }.into_any()
            })}
        </Panel>
        <Panel title="Failed jobs" updated=read_time() testid="failed-jobs">
            {loaded(failed, retry_failed, move |rows: Vec<domain::status::FailedJobRow>| if rows.is_empty() {
                view! { <p class="empty">"No failed job."</p> }.into_any()
            } else {
                view! { <div class="table-wrap" tabindex="0"><table class="table" data-testid="failed-jobs-table">
                    <caption class="visually-hidden">"Failed jobs"</caption>
                    <thead><tr><th scope="col" class="num">"Job"</th><th scope="col">"Type"</th><th scope="col" class="num">"Attempts"</th><th scope="col">"Error"</th><th scope="col">"Failed (UTC)"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th></tr></thead>
                    <tbody>{rows.into_iter().map(|f| {
                        let id = f.id;
                        view! { <tr><td class="num">{f.id}</td><td><code>{f.kind}</code></td><td class="num">{f.attempts}</td><td>{f.error}</td><td class="num">{time_or_dash(&f.finished_at)}</td>
                            <td class="actions"><button type="button" class="button button--small" aria-label=format!("Retry job {id}")
                                disabled=move || again.pending().get() on:click=move |_| { again.dispatch(id); }>"Retry"</button></td></tr> }
                    }).collect_view()}</tbody>
                </table></div> }.into_any()
            })}
        </Panel>
    }
}

// ---------- 7. Cache & Storage ----------

#[component]
fn CacheTab() -> impl IntoView {
    view! {
        <Panel title="Cache and storage" updated=snapshot_time() testid="cache-panel">
            {with_snapshot(|s| {
                let c = s.cache.clone();
                view! {
                    <h3 class="section-title">"In-process caches"</h3>
                    {if c.caches.is_empty() {
                        view! { <p class="empty">"No cache lookup in the window."</p> }.into_any()
                    } else {
                        view! { <table class="table" data-testid="caches-table">
                            <caption class="visually-hidden">"Cache hit ratio"</caption>
                            <thead><tr><th scope="col">"Cache"</th><th scope="col" class="num">"Hits"</th><th scope="col" class="num">"Misses"</th><th scope="col" class="num">"Hit ratio"</th></tr></thead>
                            <tbody>{c.caches.into_iter().map(|k| view! {
                                <tr><td>{k.label}</td><td class="num">{k.hits}</td><td class="num">{k.misses}</td><td class="num">{format_bp(k.hit_bp)}</td></tr>
                            }).collect_view()}</tbody>
                        </table> }.into_any()
                    }}
                    <h3 class="section-title">"Redis"</h3>
                    {match c.redis {
                        Some(r) => view! { <dl class="facts" data-testid="redis-facts">
                            <dt>"Memory used"</dt><dd class="num">{format_bytes(r.used_memory_bytes)}</dd>
                            <dt>"Memory limit"</dt><dd class="num">{if r.maxmemory_bytes == 0 { "none".to_owned() } else { format_bytes(r.maxmemory_bytes) }}</dd>
                            <dt>"Keys (whole database)"</dt><dd class="num">{r.keys}</dd>
                        </dl> }.into_any(),
                        None => view! { <p class="empty" data-testid="redis-facts">{match s.check("redis").map(|h| h.health) {
                            Some(Health::Down) => "Redis is configured but does not answer.",
                            _ => "Not configured (REDIS_URL unset): cache, locks and counters are in-process.",
                        }}</p> }.into_any(),
                    }}
                    <h3 class="section-title">"File store"</h3>
                    <dl class="facts" data-testid="storage-facts">
                        <dt>"Where"</dt><dd>{c.storage.location.clone()}</dd>
                        <dt>"Objects"</dt><dd class="num">{format!("{}{}", c.storage.objects, if c.storage.truncated { " or more" } else { "" })}</dd>
                        <dt>"Size"</dt><dd class="num">{format_bytes(c.storage.bytes)}</dd>
                    </dl>
                }.into_any()
            })}
        </Panel>
    }
}

// ---------- 8. Integrations ----------

#[component]
fn IntegrationsTab() -> impl IntoView {
    view! {
        <Panel title="Integrations" updated=snapshot_time() testid="integrations-panel">
            {with_snapshot(|s| view! {
                <div class="table-wrap" tabindex="0"><table class="table" data-testid="integrations-table">
                    <caption class="visually-hidden">"Integrations"</caption>
                    <thead><tr><th scope="col">"Integration"</th><th scope="col">"Set up"</th><th scope="col">"Last success (UTC)"</th><th scope="col">"Last failure (UTC)"</th>
                        <th scope="col">"Last error"</th><th scope="col" class="num">"Calls"</th><th scope="col" class="num">"Error rate"</th><th scope="col">"Detail"</th></tr></thead>
                    <tbody>{s.integrations.into_iter().map(|i| view! {
                        <tr data-integration=i.name.clone()><td>{i.label}</td>
                            <td>{if i.configured { view! { <span class="tag tag--ok">"yes"</span> }.into_any() } else { view! { <span class="tag tag--muted">"no"</span> }.into_any() }}</td>
                            <td class="num">{time_or_dash(&i.last_ok_at)}</td><td class="num">{time_or_dash(&i.last_error_at)}</td>
                            <td>{i.last_error.unwrap_or_else(|| "—".into())}</td><td class="num">{i.calls}</td><td class="num">{format_bp(i.error_bp)}</td><td>{i.detail}</td></tr>
                    }).collect_view()}</tbody>
                </table></div>
            }.into_any())}
        </Panel>
    }
}

// ---------- 9. Portals ----------

#[component]
fn PortalsTab() -> impl IntoView {
    view! {
        <Panel title="Portals" updated=snapshot_time() testid="portals-panel">
            {with_snapshot(|s| {
                let p = s.portals.clone();
                let admin: Vec<OperationStats> = s.operations.iter().filter(|o| (o.kind == "page" && o.name.starts_with("/admin")) || (o.kind == "fn" && o.name.starts_with("/fn/admin"))).cloned().collect();
                let customer: Vec<OperationStats> = s.operations.iter().filter(|o| (o.kind == "page" && (o.name.starts_with("/portal") || o.name == "/sign-in")) || (o.kind == "fn" && !o.name.starts_with("/fn/admin"))).cloned().collect();
                view! {
                    <div class="stats">
                        <StatTile label="Sign-ins (24 h)" value=p.sign_ins_24h.to_string()/>
                        <StatTile label="Failed sign-ins (24 h)" value=p.sign_in_failures_24h.to_string()/>
                        <StatTile label="Active sessions" value=p.active_sessions.to_string() detail="not yet expired"/>
                    </div>
                    <h3 class="section-title">"Admin portal: pages and server functions"</h3>
                    <OperationsTable rows=admin caption="Admin portal budgets" testid="admin-portal-table"/>
                    <h3 class="section-title">"Customer portal and sign-in"</h3>
                    <OperationsTable rows=customer caption="Customer portal budgets" testid="customer-portal-table"/>
                }.into_any()
            })}
        </Panel>
    }
}

// ---------- 10. Alerts ----------

fn rule_condition(f: &AlertRuleForm) -> String {
    let (label, unit) = metric_label(&f.metric).unwrap_or((f.metric.as_str(), ""));
    let unit = if unit.is_empty() {
        String::new()
    } else {
        format!(" {unit}")
    };
    let held = match f.for_secs.as_str() {
        "" | "0" => String::new(),
        s => format!(" for {s} s"),
    };
    format!("{label} {} {}{unit}{held}", f.comparison, f.threshold)
}

#[component]
fn AlertsTab() -> impl IntoView {
    let live = expect_context::<Live>();
    let (open, retry_open) = load_live(|| fetch_alerts(false));
    let (history, retry_history) = load_live(|| fetch_alerts(true));
    let (rules, retry_rules) = load_live(fetch_alert_rules);
    let editing = RwSignal::new(None::<i64>);
    let form = RwSignal::new(AlertRuleForm::default());
    let dialog = RwSignal::new(false);
    let toaster = use_toaster();
    let ack = Action::new(move |id: &i64| {
        let id = *id;
        async move { acknowledge_alert(id).await }
    });
    Effect::new(move |_| match ack.value().get() {
        Some(Ok(())) => {
            toaster.success("Alert acknowledged");
            retry_open.run(());
        }
        Some(Err(e)) => toaster.error(format!("Not acknowledged: {e}")),
        None => {}
    });
    let remove = Action::new(move |id: &i64| {
        let id = *id;
        async move { delete_alert_rule(id).await }
    });
    Effect::new(move |_| match remove.value().get() {
        Some(Ok(())) => {
            toaster.success("Alert rule deleted");
            retry_rules.run(());
        }
        Some(Err(e)) => toaster.error(format!("Not deleted: {e}")),
        None => {}
    });
    let edit = move |id: Option<i64>, f: AlertRuleForm| {
        editing.set(id);
        form.set(f);
        dialog.set(true);
    };
    view! {
        <Panel title="Open and acknowledged alerts" updated=read_time() testid="open-alerts">
            {loaded(open, retry_open, move |rows: Vec<AlertRow>| if rows.is_empty() {
                view! { <p class="empty">"No alert is open."</p> }.into_any()
            } else {
                view! { <AlertTable rows testid="open-alerts-table" ack=Some(ack)/> }.into_any()
            })}
        </Panel>
        <Panel title="Rules" updated=read_time() testid="alert-rules">
            <p class="panel__help">"Each rule watches one metric of every snapshot. When its condition has held for its duration an alert opens (once) and its recipients are mailed; it resolves by itself when the condition clears."</p>
            <button type="button" class="button button--primary" data-testid="new-rule"
                on:click=move |_| edit(None, AlertRuleForm { metric: "jobs.queued".into(), comparison: "above".into(), severity: "warning".into(), for_secs: "0".into(), enabled: true, ..Default::default() })>"New rule"</button>
            {loaded(rules, retry_rules, move |rows: Vec<AlertRuleRow>| view! {
                <div class="table-wrap" tabindex="0"><table class="table" data-testid="rules-table">
                    <caption class="visually-hidden">"Alert rules"</caption>
                    <thead><tr><th scope="col">"Rule"</th><th scope="col">"Condition"</th><th scope="col">"Severity"</th><th scope="col">"Recipients"</th><th scope="col">"State"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th></tr></thead>
                    <tbody>{rows.into_iter().map(|r| {
                        let id = r.id;
                        let f = r.form.clone();
                        let name = r.form.name.clone();
                        let severity = Severity::parse(&r.form.severity).unwrap_or(Severity::Warning);
                        view! { <tr>
                            <td>{r.form.name.clone()}</td>
                            <td>{rule_condition(&r.form)}</td>
                            <td><span class=severity_tag(severity)>{severity.label()}</span></td>
                            <td>{if r.form.recipients.is_empty() { "—".to_owned() } else { r.form.recipients.clone() }}</td>
                            <td>{match (r.form.enabled, &r.breaching_since) {
                                (false, _) => view! { <span class="tag tag--muted">"off"</span> }.into_any(),
                                (true, Some(since)) => view! { <span class="tag tag--warn">{format!("breaching since {} UTC", utc(since))}</span> }.into_any(),
                                (true, None) => view! { <span class="tag tag--ok">"watching"</span> }.into_any(),
                            }}</td>
                            <td class="actions">
                                <button type="button" class="button button--small" aria-label=format!("Edit rule {name}")
                                    on:click=move |_| edit(Some(id), f.clone())>"Edit"</button>
                                <ConfirmDelete what=format!("rule {name}") on_confirm=Callback::new(move |_| { remove.dispatch(id); })/>
                            </td>
                        </tr> }
                    }).collect_view()}</tbody>
                </table></div>
            }.into_any())}
        </Panel>
        <Panel title="History" updated=read_time() testid="alert-history">
            {loaded(history, retry_history, |rows: Vec<AlertRow>| if rows.is_empty() {
                view! { <p class="empty">"No alert has resolved yet."</p> }.into_any()
            } else {
                view! { <AlertTable rows testid="alert-history-table" ack=None/> }.into_any()
            })}
        </Panel>
        <Dialog title="Alert rule" open=dialog>
            <RuleEditor id=editing form on_done=Callback::new(move |_| { dialog.set(false); retry_rules.run(()); live.refresh(); })/>
        </Dialog>
    }
}

#[component]
fn AlertTable(
    rows: Vec<AlertRow>,
    testid: &'static str,
    ack: Option<Action<i64, Result<(), AppError>>>,
) -> impl IntoView {
    view! {
        <div class="table-wrap" tabindex="0"><table class="table" data-testid=testid>
            <caption class="visually-hidden">"Alerts"</caption>
            <thead><tr><th scope="col">"Alert"</th><th scope="col">"Severity"</th><th scope="col">"State"</th><th scope="col">"What"</th>
                <th scope="col">"Opened (UTC)"</th><th scope="col">"Acknowledged"</th><th scope="col">"Resolved (UTC)"</th>
                {ack.is_some().then(|| view! { <th scope="col"><span class="visually-hidden">"Actions"</span></th> })}</tr></thead>
            <tbody>{rows.into_iter().map(|a| {
                let id = a.id;
                let name = a.name.clone();
                let can_ack = a.status == AlertStatus::Open;
                view! { <tr>
                    <td>{a.name.clone()}</td>
                    <td><span class=severity_tag(a.severity)>{a.severity.label()}</span></td>
                    <td>{a.status.label()}</td>
                    <td>{a.message.clone()}</td>
                    <td class="num">{utc(&a.opened_at)}</td>
                    <td>{match (&a.acknowledged_by, &a.acknowledged_at) {
                        (Some(by), Some(at)) => format!("{by}, {} UTC", utc(at)),
                        _ => "—".into(),
                    }}</td>
                    <td class="num">{time_or_dash(&a.resolved_at)}</td>
                    {ack.map(|ack| view! { <td class="actions">{can_ack.then(|| view! {
                        <button type="button" class="button button--small" aria-label=format!("Acknowledge {name}")
                            disabled=move || ack.pending().get() on:click=move |_| { ack.dispatch(id); }>"Acknowledge"</button>
                    })}</td> })}
                </tr> }
            }).collect_view()}</tbody>
        </table></div>
    }
}

#[component]
fn RuleEditor(
    id: RwSignal<Option<i64>>,
    form: RwSignal<AlertRuleForm>,
    on_done: Callback<()>,
) -> impl IntoView {
    let errors = FormErrors::new();
    let save = save_action(
        errors,
        "Alert rule saved",
        "Alert rule not saved",
        move |f: AlertRuleForm| save_alert_rule(id.get_untracked(), f),
        move |_| on_done.run(()),
    );
    let metrics: Vec<(String, String)> = METRICS
        .iter()
        .map(|(k, l, u)| {
            (
                k.to_string(),
                if u.is_empty() {
                    l.to_string()
                } else {
                    format!("{l} ({u})")
                },
            )
        })
        .collect();
    let comparisons: Vec<(String, String)> = Comparison::ALL
        .iter()
        .map(|c| (c.as_str().into(), c.label().into()))
        .collect();
    let severities: Vec<(String, String)> = Severity::ALL
        .iter()
        .map(|s| (s.as_str().into(), s.label().into()))
        .collect();
    view! {
        <form class="form" on:submit=move |ev| { ev.prevent_default(); submit(form, errors, domain::status::validate_alert_rule, save) }>
            <TextField label="Name" name="name" bind=bind!(form.name) errors prefix="rule"/>
            <SelectField label="Metric" name="metric" bind=bind!(form.metric) options=metrics errors prefix="rule"/>
            <SelectField label="Comparison" name="comparison" bind=bind!(form.comparison) options=comparisons errors prefix="rule"/>
            <TextField label="Threshold" name="threshold" bind=bind!(form.threshold) errors prefix="rule" input_class="num"
                help="In the metric's unit; up to three decimals."/>
            <SelectField label="Severity" name="severity" bind=bind!(form.severity) options=severities errors prefix="rule"
                help="Critical alerts turn the status red; warnings yellow."/>
            <TextField label="For (seconds)" name="for_secs" bind=bind!(form.for_secs) errors prefix="rule" input_class="num"
                help="How long the condition must hold before the alert opens; 0 opens it at once."/>
            <TextField label="Recipients" name="recipients" bind=bind!(form.recipients) errors prefix="rule"
                help="E-mail addresses, separated by commas; empty sends no mail."/>
            <CheckboxField label="Enabled" name="enabled" bind=bind_bool!(form.enabled) errors prefix="rule"/>
            <FormActions label="Save rule" pending=save.pending() errors/>
        </form>
    }
}

// ---------- 11. Audit / Changes ----------

/// Where an audit entry's thing is shown, when it has a page.
fn audit_href(r: &AuditRow) -> String {
    match r.entity.as_str() {
        "carrier" => format!("/admin/carriers/{}", r.entity_id),
        "status_alert_rule" | "status_alert" => "/admin/status?tab=alerts".into(),
        "status_budget" => "/admin/status?tab=budgets".into(),
        "job" => "/admin/status?tab=jobs".into(),
        _ => String::new(),
    }
}

#[component]
fn AuditTab() -> impl IntoView {
    let entity = RwSignal::new(String::new());
    let actor_filter = RwSignal::new(String::new());
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let query = Memo::new(move |_| AuditQuery {
        entity: entity.get(),
        actor: actor_filter.get(),
        from: from.get(),
        to: to.get(),
        ..Default::default()
    });
    let pages = use_pages(query, audit_page);
    let (entities, _) = crate::components::load_in_browser(fetch_audit_entities);
    let (deploys, retry_deploys) = load_live(fetch_deploys);
    let columns = vec![
        Column::new("when", "When (UTC)", |r: &AuditRow| {
            utc(&r.occurred_at).into_any()
        }),
        Column::new("who", "Who", |r: &AuditRow| r.actor.clone().into_any()),
        Column::new("what", "What", |r: &AuditRow| {
            view! { <code>{format!("{} {}", r.entity, r.entity_id)}</code> }.into_any()
        }),
        Column::new("action", "Action", |r: &AuditRow| {
            r.action.clone().into_any()
        }),
        Column::new("changes", "Changes", |r: &AuditRow| {
            view! { <ul class="changes">{r.changes.iter().map(|c| view! { <li>{c.clone()}</li> }).collect_view()}</ul> }.into_any()
        }),
    ];
    view! {
        <Panel title="Audit log" updated=read_time() testid="audit-panel">
            <form class="filters" role="search" on:submit=|ev| ev.prevent_default()>
                <div class="field">
                    <label class="field__label" for="audit-entity">"What"</label>
                    <select class="input" id="audit-entity" prop:value=entity on:change=move |ev| entity.set(event_target_value(&ev))>
                        <option value="">"Everything"</option>
                        {move || entities.get().and_then(Result::ok).unwrap_or_default().into_iter().map(|e| view! { <option value=e.clone()>{e.replace('_', " ")}</option> }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label class="field__label" for="audit-actor">"Who (part of the e-mail)"</label>
                    <input class="input" id="audit-actor" prop:value=actor_filter on:change=move |ev| actor_filter.set(event_target_value(&ev))/>
                </div>
                <div class="field">
                    <label class="field__label" for="audit-from">"From (UTC)"</label>
                    <input class="input" type="date" id="audit-from" prop:value=from on:change=move |ev| from.set(event_target_value(&ev))/>
                </div>
                <div class="field">
                    <label class="field__label" for="audit-to">"To (UTC)"</label>
                    <input class="input" type="date" id="audit-to" prop:value=to on:change=move |ev| to.set(event_target_value(&ev))/>
                </div>
            </form>
            <DataTable caption="Audit log" columns rows=pages.rows state=pages.state row_href=audit_href
                empty="No change matches. Widen the dates or clear the filters."
                has_more=pages.has_more() on_more=pages.more on_retry=pages.reload testid="audit-table"/>
        </Panel>
        <Panel title="Deploys" updated=read_time() testid="deploys">
            <p class="panel__help">"Every start of a didtron serve instance, with its version."</p>
            {loaded(deploys, retry_deploys, |rows: Vec<domain::status::DeployRow>| view! {
                <div class="table-wrap" tabindex="0"><table class="table" data-testid="deploys-table">
                    <caption class="visually-hidden">"Deploys"</caption>
                    <thead><tr><th scope="col">"Started (UTC)"</th><th scope="col">"Version"</th><th scope="col">"Host"</th><th scope="col" class="num">"PID"</th><th scope="col" class="num">"Workers"</th><th scope="col">"Backends"</th><th scope="col">"Last seen (UTC)"</th></tr></thead>
                    <tbody>{rows.into_iter().map(|d| view! {
                        <tr><td class="num">{utc(&d.started_at)}</td><td>{d.version}</td><td>{d.host}</td><td class="num">{d.pid}</td><td class="num">{d.workers}</td>
                            <td>{format!("{}, {}", d.database, d.kv)}</td><td class="num">{utc(&d.last_seen_at)}</td></tr>
                    }).collect_view()}</tbody>
                </table></div>
            }.into_any())}
        </Panel>
    }
}

/// The sidebar's status dot with the unresolved-alert count, on every admin page:
/// refreshed every 30 s while the tab is visible.
#[component]
pub fn StatusDot() -> impl IntoView {
    let badge = RwSignal::new(None::<Result<domain::status::StatusBadge, AppError>>);
    let load = move || {
        leptos::task::spawn_local(async move {
            let b = fetch_status_badge().await;
            badge.try_set(Some(b));
        })
    };
    Effect::new(move |_| load());
    use_live_refresh(Signal::derive(|| true), Callback::new(move |_| load()));
    move || {
        let (class, text, count) = match badge.get() {
            Some(Ok(b)) => {
                let level = match b.staleness {
                    Staleness::Stopped => Some(Level::Red),
                    _ => b.level,
                };
                let text = match (level, b.staleness) {
                    (_, Staleness::Stopped) => "Collector stopped".to_owned(),
                    (Some(l), Staleness::Stale) => format!("{} (late)", l.meaning()),
                    (Some(l), _) => l.meaning().to_owned(),
                    (None, _) => "Status not collected yet".to_owned(),
                };
                (
                    level.map_or("status-dot status-dot--unknown", |l| match l {
                        Level::Green => "status-dot status-dot--green",
                        Level::Yellow => "status-dot status-dot--yellow",
                        Level::Red => "status-dot status-dot--red",
                    }),
                    text,
                    b.unresolved_alerts,
                )
            }
            Some(Err(_)) => (
                "status-dot status-dot--unknown",
                "Status unavailable".to_owned(),
                0,
            ),
            None => (
                "status-dot status-dot--unknown",
                "Status loading".to_owned(),
                0,
            ),
        };
        let alerts = match count {
            0 => "no open alert".to_owned(),
            1 => "1 open alert".to_owned(),
            n => format!("{n} open alerts"),
        };
        view! {
            // Named by its text (not aria-label): "System status" is hidden text, not a label.
            <a class="sidebar__status" href="/admin/status" data-testid="status-dot">
                <span class=class aria-hidden="true"></span>
                <span class="visually-hidden">"System status: "</span>
                <span class="sidebar__status-text">{text}</span>
                <span class="nav__badge num" data-testid="status-alert-count" aria-hidden="true">{count}</span>
                <span class="visually-hidden">{format!(", {alerts}")}</span>
            </a>
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_conditions_read_as_sentences() {
        let f = AlertRuleForm {
            metric: "jobs.oldest_queued_s".into(),
            comparison: "above".into(),
            threshold: "300".into(),
            for_secs: "60".into(),
            ..Default::default()
        };
        assert_eq!(
            rule_condition(&f),
            "Oldest waiting job above 300 s for 60 s"
        );
        let f = AlertRuleForm {
            metric: "redis.up".into(),
            comparison: "below".into(),
            threshold: "1".into(),
            for_secs: "0".into(),
            ..Default::default()
        };
        assert_eq!(
            rule_condition(&f),
            "Redis answers (1 yes, 0 no; only when configured) below 1"
        );
        assert_eq!(TABS.len(), 11);
    }
}
