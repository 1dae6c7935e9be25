//! Routing: `/admin/routing-plans` (the plans, how each orders routes, which services
//! use it), `/admin/routing-plans/{id}` (its settings and its entries: which supplier
//! services may carry which destinations), and `/admin/route-simulation` ("where would a
//! call to N go, and at what cost and margin": every decision of the routing API with
//! its outcome, the routes with buy, sell and margin, and the suppliers left out and
//! why). Staff only.

use domain::routing::{
    validate_routing_plan, validate_simulation, Decision, RoutingEntryForm, RoutingPlanForm,
    SimulationForm,
};
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use leptos_router::hooks::{use_location, use_navigate};
use serde::{Deserialize, Serialize};

use crate::bind;
use crate::components::{
    load_in_browser, save_action, submit, use_toaster, Binding, ConfirmDelete, Dialog, ErrorPanel,
    FormActions, FormErrors, Loading, NotFound, PageHeader, SelectField, TextAreaField, TextField,
};
use crate::error::AppError;

#[cfg(feature = "ssr")]
use {
    crate::server::{actor, require, respond, state},
    domain::Role,
    service::routing::plans,
};

/// One plan in the list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingPlanRow {
    pub id: i64,
    pub name: String,
    /// The strategy's label.
    pub strategy: String,
    pub max_routes: i64,
    /// Percent, e.g. "2.5".
    pub min_margin: String,
    pub entries: u64,
    pub services: Vec<String>,
}

/// A plan as its page edits it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingPlanDetail {
    pub id: i64,
    pub form: RoutingPlanForm,
    pub entries: Vec<RoutingEntryForm>,
    /// Customer services using it.
    pub services: Vec<String>,
    /// `(id, name)` of every supplier service, for the entries' pick list.
    pub supplier_services: Vec<(i64, String)>,
}

/// A simulation's answer, with names for the ids.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimulationView {
    pub decision: Decision,
    /// The customer's interconnect, "Carrier — interconnect".
    pub customer: Option<String>,
    /// Names of the supplier interconnects of the routes, in route order.
    pub suppliers: Vec<String>,
    /// The instant simulated, RFC 3339 UTC.
    pub at: String,
}

/// Every routing plan, by name (GET).
#[server(prefix = "/fn", endpoint = "admin/routing-plans", input = GetUrl)]
pub async fn routing_plans() -> Result<Vec<RoutingPlanRow>, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            let db = &state()?.db;
            plans::list_plans(db)
                .await?
                .into_iter()
                .map(|p| {
                    let plan = plans::plan_of(&p.plan)?;
                    Ok(RoutingPlanRow {
                        id: p.plan.id,
                        name: p.plan.name,
                        strategy: plan.strategy.label().to_owned(),
                        max_routes: p.plan.max_routes,
                        min_margin: domain::routing::percent_text(plan.min_margin_bp),
                        entries: p.entries,
                        services: p.services,
                    })
                })
                .collect::<Result<Vec<_>, service::ServiceError>>()
                .map_err(Into::into)
        }
        .await,
    )
}

/// One plan with its entries (GET).
#[server(prefix = "/fn", endpoint = "admin/routing-plan", input = GetUrl)]
pub async fn fetch_routing_plan(id: i64) -> Result<RoutingPlanDetail, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            let db = &state()?.db;
            let (model, entries) = plans::get_plan(db, id).await?;
            let plan = plans::plan_of(&model)?;
            Ok(RoutingPlanDetail {
                id,
                form: RoutingPlanForm::from(&plan),
                entries: entries
                    .iter()
                    .map(|e| RoutingEntryForm::from(&plans::entry_of(e)))
                    .collect(),
                services: plans::plan_users(db, id).await?,
                supplier_services: service::catalog::all_services(db)
                    .await?
                    .into_iter()
                    .filter(|s| s.direction == "supplier")
                    .map(|s| (s.id, s.name))
                    .collect(),
            })
        }
        .await,
    )
}

/// Creates (`id: None`) or updates a plan's settings; returns its id.
#[server(prefix = "/fn", endpoint = "admin/routing-plan/save")]
pub async fn save_routing_plan(id: Option<i64>, form: RoutingPlanForm) -> Result<i64, AppError> {
    respond(
        async move {
            let actor = actor(Role::Admin).await?;
            Ok(plans::save_plan(&state()?.db, &actor, id, &form).await?.id)
        }
        .await,
    )
}

/// Replaces a plan's entries, all or nothing.
#[server(prefix = "/fn", endpoint = "admin/routing-plan/entries")]
pub async fn save_routing_entries(id: i64, entries: Vec<RoutingEntryForm>) -> Result<(), AppError> {
    respond(
        async move {
            let actor = actor(Role::Admin).await?;
            plans::save_entries(&state()?.db, &actor, id, &entries).await?;
            Ok(())
        }
        .await,
    )
}

/// Deletes a plan no service uses.
#[server(prefix = "/fn", endpoint = "admin/routing-plan/delete")]
pub async fn delete_routing_plan(id: i64) -> Result<(), AppError> {
    respond(
        async move {
            let actor = actor(Role::Admin).await?;
            plans::delete_plan(&state()?.db, &actor, id).await?;
            Ok(())
        }
        .await,
    )
}

/// Ingress interconnects for the simulation's pick list (GET).
#[server(prefix = "/fn", endpoint = "admin/route-simulation/ingress", input = GetUrl)]
pub async fn ingress_choices() -> Result<Vec<(i64, String)>, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            Ok(plans::ingress_choices(&state()?.db).await?)
        }
        .await,
    )
}

/// Decides a call as the routing API would, with the table in force now, without
/// placing it: no channel is held, no CPS counted and no credit reserved (the credit
/// the customer's calls in progress hold is subtracted).
#[server(prefix = "/fn", endpoint = "admin/route-simulation")]
pub async fn simulate_route(form: SimulationForm) -> Result<SimulationView, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            let sim = validate_simulation(&form).map_err(AppError::Validation)?;
            let at = sim.at.unwrap_or_else(chrono::Utc::now);
            let query = domain::routing::RouteQuery {
                source_ip: sim
                    .source_ip
                    .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
                a_number: &sim.a_number,
                b_number: &sim.b_number,
                call_id: "simulation",
                at,
                ingress_interconnect_id: sim.interconnect_id,
                explain: true,
            };
            let (mut decision, table) = state()?.router.simulate(&query).await;
            if decision.refusal.is_none() {
                let credit = decision.steps.iter().position(|s| s.step == "credit");
                decision.steps.insert(
                    credit.unwrap_or(decision.steps.len()),
                    domain::routing::Step {
                        step: "capacity".into(),
                        passed: true,
                        detail: "not checked: a simulation holds no channel and counts no call"
                            .into(),
                    },
                );
            }
            let names = plans::ingress_choices(&state()?.db).await?;
            let customer = decision
                .customer_interconnect
                .and_then(|id| names.iter().find(|(i, _)| *i == id))
                .map(|(_, n)| n.clone());
            let suppliers = decision
                .routes
                .iter()
                .map(|r| {
                    table
                        .party_name(r.supplier_interconnect)
                        .unwrap_or_default()
                })
                .collect();
            Ok(SimulationView {
                decision,
                customer,
                suppliers,
                at: at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            })
        }
        .await,
    )
}

/// The routing plans module: the list or one plan, by path.
#[component]
pub fn RoutingPlansModule() -> impl IntoView {
    let location = use_location();
    let path = Memo::new(move |_| location.pathname.get());
    move || {
        let path = path.get();
        let rest: Vec<&str> = path
            .trim_start_matches("/admin/routing-plans")
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        match rest.as_slice() {
            [] => view! { <PlanList/> }.into_any(),
            [id] => match id.parse::<i64>() {
                Ok(id) => view! { <PlanPage id/> }.into_any(),
                Err(_) => view! { <NotFound/> }.into_any(),
            },
            _ => view! { <NotFound/> }.into_any(),
        }
    }
}

fn strategy_options() -> Vec<(String, String)> {
    use domain::routing::RouteStrategy as S;
    [S::Lcr, S::Priority, S::Weighted, S::Quality]
        .iter()
        .map(|s| (s.as_str().to_owned(), s.label().to_owned()))
        .collect()
}

#[component]
fn PlanList() -> impl IntoView {
    let (rows, reload) = load_in_browser(routing_plans);
    let open = RwSignal::new(false);
    let navigate = use_navigate();
    let created = Callback::new(move |id: i64| {
        open.set(false);
        navigate(&format!("/admin/routing-plans/{id}"), Default::default());
    });
    view! {
        <PageHeader title="Routing plans" description="Which suppliers carry each customer service's calls, in what order, and never at a loss.">
            <button type="button" class="button button--primary" on:click=move |_| open.set(true)>"New routing plan"</button>
        </PageHeader>
        <Dialog title="New routing plan" open>
            <PlanSettings id=None initial=RoutingPlanForm { strategy: "lcr".into(), ..Default::default() }
                on_saved=created/>
        </Dialog>
        {move || match rows.get() {
            None => view! { <Loading/> }.into_any(),
            Some(Err(error)) => view! { <ErrorPanel error on_retry=reload/> }.into_any(),
            Some(Ok(list)) if list.is_empty() => view! {
                <p class="empty">"No routing plan yet. Create one, then choose it on a customer service (Carriers → a carrier → Services): without one, the service's calls are refused with 404."</p>
            }.into_any(),
            Some(Ok(list)) => view! {
                <div class="table-wrap">
                    <table class="table" data-testid="routing-plans-table">
                        <caption class="visually-hidden">"Routing plans"</caption>
                        <thead><tr>
                            <th scope="col">"Name"</th><th scope="col">"Strategy"</th>
                            <th scope="col" class="num">"Routes"</th><th scope="col" class="num">"Least margin"</th>
                            <th scope="col" class="num">"Entries"</th><th scope="col">"Used by"</th>
                        </tr></thead>
                        <tbody>
                            {list.into_iter().map(|r| view! {
                                <tr>
                                    <td><a href=format!("/admin/routing-plans/{}", r.id)>{r.name.clone()}</a></td>
                                    <td>{r.strategy.clone()}</td>
                                    <td class="num">{r.max_routes}</td>
                                    <td class="num">{format!("{} %", r.min_margin)}</td>
                                    <td class="num">{r.entries}</td>
                                    <td>{if r.services.is_empty() { "no service".to_owned() } else { r.services.join(", ") }}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            }.into_any(),
        }}
    }
}

/// A plan's settings form (new plan: `id` None).
#[component]
fn PlanSettings(
    id: Option<i64>,
    initial: RoutingPlanForm,
    on_saved: Callback<i64>,
) -> impl IntoView {
    let form = RwSignal::new(initial);
    let errors = FormErrors::new();
    let save = save_action(
        errors,
        "Routing plan saved",
        "Routing plan not saved",
        move |f: RoutingPlanForm| save_routing_plan(id, f),
        move |saved| on_saved.run(saved),
    );
    view! {
        <form class="form" on:submit=move |ev| { ev.prevent_default(); submit(form, errors, validate_routing_plan, save); }>
            <TextField label="Name" name="name" prefix="rp" bind=bind!(form.name) errors/>
            <SelectField label="Strategy" name="strategy" prefix="rp" bind=bind!(form.strategy) errors
                options=strategy_options()
                help="Least cost orders by the buy rate in force now; priority by the entries' priority; weighted shares calls by weight; quality by each supplier's answer-seizure ratio over the last hour."/>
            <TextField label="Most routes per call" name="max_routes" prefix="rp" kind="number" bind=bind!(form.max_routes) errors
                help="1 to 10; empty for 3. The switch tries them in order."/>
            <TextField label="Least margin (%)" name="min_margin_percent" prefix="rp" bind=bind!(form.min_margin_percent) errors
                help="Of the sell price; a supplier leaving less is never offered. 0 still never routes at a loss."/>
            <TextField label="Fail over on" name="failover_on" prefix="rp" bind=bind!(form.failover_on) errors
                placeholder="5xx, 408" help="SIP codes or classes after which the switch tries the next route; empty for 5xx, 408."/>
            <TextField label="Never fail over on" name="no_failover" prefix="rp" bind=bind!(form.no_failover) errors
                placeholder="486, 603" help="Codes that end the call even inside a class above."/>
            <TextAreaField label="Description" name="description" prefix="rp" bind=bind!(form.description) errors/>
            <FormActions label="Save plan" pending=save.pending() errors/>
        </form>
    }
}

#[component]
fn PlanPage(id: i64) -> impl IntoView {
    let (plan, reload) = load_in_browser(move || fetch_routing_plan(id));
    move || match plan.get() {
        None => view! { <Loading/> }.into_any(),
        Some(Ok(detail)) => view! { <PlanLoaded detail reload/> }.into_any(),
        Some(Err(AppError::NotFound)) => view! { <NotFound/> }.into_any(),
        Some(Err(error)) => view! { <ErrorPanel error on_retry=reload/> }.into_any(),
    }
}

/// The [`Binding`] of one field of entry `index`.
fn entry_bind(
    rows: RwSignal<Vec<RoutingEntryForm>>,
    index: usize,
    get: fn(&RoutingEntryForm) -> &String,
    set: fn(&mut RoutingEntryForm) -> &mut String,
) -> Binding {
    (
        Signal::derive(move || {
            rows.with(|r| r.get(index).map(|e| get(e).clone()).unwrap_or_default())
        }),
        Callback::new(move |v: String| {
            rows.update(|r| {
                if let Some(e) = r.get_mut(index) {
                    *set(e) = v;
                }
            })
        }),
    )
}

#[component]
fn PlanLoaded(detail: RoutingPlanDetail, reload: Callback<()>) -> impl IntoView {
    let id = detail.id;
    let toaster = use_toaster();
    let rows = RwSignal::new(detail.entries.clone());
    let count = Memo::new(move |_| rows.with(Vec::len));
    let errors = FormErrors::new();
    let save = save_action(
        errors,
        "Entries saved",
        "Entries not saved",
        move |entries: Vec<RoutingEntryForm>| save_routing_entries(id, entries),
        move |()| reload.run(()),
    );
    let remove = Action::new(move |_: &()| async move { delete_routing_plan(id).await });
    let navigate = use_navigate();
    Effect::new(move |_| match remove.value().get() {
        Some(Ok(())) => {
            toaster.success("Routing plan deleted");
            navigate("/admin/routing-plans", Default::default());
        }
        Some(Err(e)) => toaster.error(format!("Not deleted: {e}")),
        None => {}
    });
    let suppliers: Vec<(String, String)> = detail
        .supplier_services
        .iter()
        .map(|(id, name)| (id.to_string(), name.clone()))
        .collect();
    let used_by = if detail.services.is_empty() {
        "No service uses this plan yet: choose it on a customer service.".to_owned()
    } else {
        format!("Routes the calls of {}.", detail.services.join(", "))
    };
    let name = detail.form.name.clone();
    let settings = detail.form.clone();
    view! {
        <nav class="breadcrumb" aria-label="Breadcrumb"><a href="/admin/routing-plans">"Routing plans"</a>" / "{name.clone()}</nav>
        <PageHeader title=name.clone() description=used_by>
            <a class="button" href="/admin/route-simulation">"Simulate a call"</a>
            <ConfirmDelete what=format!("routing plan {name}") on_confirm=Callback::new(move |_| { remove.dispatch(()); })/>
        </PageHeader>
        <section class="panel" aria-labelledby="rp-settings">
            <h2 class="panel__title" id="rp-settings">"Settings"</h2>
            <PlanSettings id=Some(id) initial=settings on_saved=Callback::new(move |_| reload.run(()))/>
        </section>
        <section class="panel" aria-labelledby="rp-entries">
            <h2 class="panel__title" id="rp-entries">"Entries"</h2>
            <p class="panel__help">"Calls to numbers starting with a prefix may go to the supplier services listed for it; the longest matching prefix wins, and an empty prefix covers every other destination."</p>
            <form class="form" data-testid="routing-entries" on:submit=move |ev| {
                ev.prevent_default();
                errors.clear();
                save.dispatch(rows.get_untracked());
            }>
                {move || (0..count.get()).map(|i| {
                    let n = i + 1;
                    let suppliers = suppliers.clone();
                    view! {
                        <fieldset class="form__row entry-row">
                            <legend class="visually-hidden">{format!("Entry {n}")}</legend>
                            <TextField label=format!("Prefix (row {n})") name=format!("entries.{n}.prefix") prefix="rp"
                                bind=entry_bind(rows, i, |e| &e.prefix, |e| &mut e.prefix) errors placeholder="every destination"/>
                            <SelectField label=format!("Supplier service (row {n})") name=format!("entries.{n}.supplier_service_id") prefix="rp"
                                bind=entry_bind(rows, i, |e| &e.supplier_service_id, |e| &mut e.supplier_service_id) errors
                                options=suppliers empty="Choose…"/>
                            <TextField label=format!("Priority (row {n})") name=format!("entries.{n}.priority") prefix="rp" kind="number"
                                bind=entry_bind(rows, i, |e| &e.priority, |e| &mut e.priority) errors/>
                            <TextField label=format!("Weight (row {n})") name=format!("entries.{n}.weight") prefix="rp" kind="number"
                                bind=entry_bind(rows, i, |e| &e.weight, |e| &mut e.weight) errors/>
                            <button type="button" class="button button--small" aria-label=format!("Remove row {n}")
                                on:click=move |_| rows.update(|r| { if i < r.len() { r.remove(i); } })>"Remove"</button>
                        </fieldset>
                    }
                }).collect_view()}
                <FormActions label="Save entries" pending=save.pending() errors>
                    <button type="button" class="button" on:click=move |_| rows.update(|r| r.push(RoutingEntryForm {
                        priority: "1".into(),
                        weight: "100".into(),
                        ..Default::default()
                    }))>"Add entry"</button>
                </FormActions>
            </form>
        </section>
    }
}

fn money(micros: i64) -> String {
    domain::money::rate_text(micros)
}

/// `/admin/route-simulation`.
#[component]
pub fn RouteSimulationPage() -> impl IntoView {
    let form = RwSignal::new(SimulationForm::default());
    let errors = FormErrors::new();
    let (choices, _) = load_in_browser(ingress_choices);
    let options = Signal::derive(move || {
        choices
            .get()
            .and_then(Result::ok)
            .map(|c| {
                c.into_iter()
                    .map(|(id, n)| (id.to_string(), n))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    });
    let result = RwSignal::new(None::<SimulationView>);
    let run = save_action(
        errors,
        "Simulated",
        "Not simulated",
        move |f: SimulationForm| simulate_route(f),
        move |view: SimulationView| result.set(Some(view)),
    );
    view! {
        <PageHeader title="Route simulation" description="Where would a call go, at what cost and margin — decided as the switch's routing API would, without placing it."/>
        <form class="form form__row" data-testid="simulation-form" on:submit=move |ev| { ev.prevent_default(); submit(form, errors, validate_simulation, run); }>
            <SelectField label="Customer interconnect" name="interconnect_id" prefix="sim" bind=bind!(form.interconnect_id) errors
                options empty="By source address"/>
            <TextField label="Source address" name="source_ip" prefix="sim" bind=bind!(form.source_ip) errors placeholder="203.0.113.10"/>
            <TextField label="A-number" name="a_number" prefix="sim" bind=bind!(form.a_number) errors placeholder="442071234567"/>
            <TextField label="B-number as dialled" name="b_number" prefix="sim" bind=bind!(form.b_number) errors placeholder="919812345678"/>
            <TextField label="At (UTC)" name="at" prefix="sim" bind=bind!(form.at) errors placeholder="now"/>
            <FormActions label="Simulate" pending=run.pending() errors/>
        </form>
        {move || result.get().map(|view| view! { <SimulationResult view/> })}
    }
}

#[component]
fn SimulationResult(view: SimulationView) -> impl IntoView {
    let d = view.decision;
    let outcome = match &d.refusal {
        Some(r) => view! {
            <p class="alert alert--crit" role="status" data-testid="simulation-outcome">
                {format!("Refused with {}: {}", r.code, r.reason)}
            </p>
        }
        .into_any(),
        None => view! {
            <p class="alert alert--info" role="status" data-testid="simulation-outcome">
                {format!("Routed over {} route(s); calls last at most {} s.", d.routes.len(), d.max_duration_s)}
            </p>
        }
        .into_any(),
    };
    let sell = d.sell.clone();
    let routes = d.routes.clone();
    let suppliers = view.suppliers.clone();
    view! {
        {outcome}
        <section class="panel" aria-labelledby="sim-steps">
            <h2 class="panel__title" id="sim-steps">"Decisions"</h2>
            <dl class="facts">
                <dt>"Customer"</dt><dd>{view.customer.clone().unwrap_or_else(|| "not found".into())}</dd>
                <dt>"Numbers after translation"</dt><dd class="num">{format!("A {} · B {}", if d.a_number.is_empty() { "—" } else { &d.a_number }, if d.b_number.is_empty() { "—" } else { &d.b_number })}</dd>
                <dt>"Simulated at"</dt><dd class="num">{view.at.clone()}</dd>
            </dl>
            <ol class="steps" data-testid="simulation-steps">
                {d.steps.iter().map(|s| view! {
                    <li class=if s.passed { "step step--ok" } else { "step step--fail" }>
                        <strong>{format!("{} — {}", s.step.replace('_', " "), if s.passed { "passed" } else { "refused" })}</strong>
                        ": "{s.detail.clone()}
                    </li>
                }).collect_view()}
            </ol>
        </section>
        {(!routes.is_empty()).then(|| view! {
            <section class="panel" aria-labelledby="sim-routes">
                <h2 class="panel__title" id="sim-routes">"Routes, in order"</h2>
                <div class="table-wrap">
                    <table class="table" data-testid="simulation-routes">
                        <caption class="visually-hidden">"Routes in the order the switch tries them"</caption>
                        <thead><tr>
                            <th scope="col" class="num">"#"</th><th scope="col">"Supplier"</th><th scope="col">"Send to"</th>
                            <th scope="col">"Code"</th>
                            <th scope="col" class="num">"Buy / min"</th><th scope="col" class="num">"Sell / min"</th>
                            <th scope="col" class="num">"Margin / min"</th><th scope="col" class="num">"Longest call (s)"</th>
                        </tr></thead>
                        <tbody>
                            {routes.iter().zip(suppliers).enumerate().map(|(i, (r, name))| view! {
                                <tr>
                                    <td class="num">{i + 1}</td>
                                    <td>{name}</td>
                                    <td class="num">{format!("{} → {}", r.b_number, r.uri)}</td>
                                    <td>{format!("{} {}", r.buy.prefix, r.buy.destination)}</td>
                                    <td class="num">{format!("{} {}", money(r.buy.minute_cost_micros), r.buy.currency)}</td>
                                    <td class="num">{sell.as_ref().map(|s| format!("{} {}", money(s.minute_cost_micros), s.currency)).unwrap_or_default()}</td>
                                    <td class="num">{format!("{} {}", money(r.margin_micros), r.buy.currency)}</td>
                                    <td class="num">{r.max_duration_s}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
                <p class="panel__help">"Prices are what a one-minute answered call costs on each deck (connection fee, increments and minimum included)."</p>
            </section>
        })}
        {(!d.excluded.is_empty()).then(|| view! {
            <section class="panel" aria-labelledby="sim-excluded">
                <h2 class="panel__title" id="sim-excluded">"Left out"</h2>
                <ul data-testid="simulation-excluded">
                    {d.excluded.iter().map(|e| view! { <li><strong>{e.name.clone()}</strong>": "{e.reason.to_string()}</li> }).collect_view()}
                </ul>
            </section>
        })}
    }
}
