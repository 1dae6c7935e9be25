//! `/admin/carriers`: the carriers module. The list (with its Carriers / Interconnects /
//! Services views), the carrier page (`/admin/carriers/{id}`, five settings tabs and
//! History) and the interconnect page (`/admin/carriers/{id}/interconnects/{id}`).

pub mod api;
mod detail;
mod interconnect;

use domain::carrier::{validate_new_carrier, CarrierStatus, CarrierType, NewCarrierForm};
use domain::catalog::{validate_service, ServiceDirection, ServiceForm};
use domain::listing::{CarrierRow, InterconnectRow, ListQuery, ServiceRow};
use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate, use_query_map};

use crate::bind;
use crate::components::{
    load_in_browser, save_action, submit, use_pages, Column, ConfirmDelete, DataTable, Dialog,
    FormActions, FormErrors, NotFound, PageHeader, SelectField, Sort, TextAreaField, TextField,
};
use api::*;

/// `(value, label)` options for a select, from a string enum's `ALL`.
pub fn options_of<T: domain::StringEnum>() -> Vec<(String, String)> {
    T::ALL
        .iter()
        .map(|v| (v.as_str().to_owned(), v.label().to_owned()))
        .collect()
}

/// `(value, label)` options from `(id, name)` choices.
pub fn choice_options(choices: &[(i64, String)]) -> Vec<(String, String)> {
    choices
        .iter()
        .map(|(id, name)| (id.to_string(), name.clone()))
        .collect()
}

/// A status tag with its word (never colour alone).
#[component]
pub fn StatusTag(#[prop(into)] status: String) -> impl IntoView {
    let ok = status == "active";
    view! {
        <span class="tag" class:tag--ok=ok class:tag--muted=!ok>
            {if ok { "Active" } else { "Inactive" }}
        </span>
    }
}

/// The module: list, carrier page or interconnect page by path.
#[component]
pub fn CarriersModule() -> impl IntoView {
    let location = use_location();
    let path = Memo::new(move |_| location.pathname.get());
    move || {
        let path = path.get();
        let rest: Vec<&str> = path
            .trim_start_matches("/admin/carriers")
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        match rest.as_slice() {
            [] => view! { <CarriersList/> }.into_any(),
            [id] => match id.parse::<i64>() {
                Ok(id) => view! { <detail::CarrierPage id/> }.into_any(),
                Err(_) => view! { <NotFound/> }.into_any(),
            },
            [carrier, "interconnects", id] => match (carrier.parse::<i64>(), id.parse::<i64>()) {
                (Ok(_), Ok(id)) => view! { <interconnect::InterconnectPage id/> }.into_any(),
                _ => view! { <NotFound/> }.into_any(),
            },
            _ => view! { <NotFound/> }.into_any(),
        }
    }
}

fn short_date(rfc3339: &str) -> String {
    rfc3339.get(..10).unwrap_or(rfc3339).to_owned()
}

/// The list page with its View selector.
#[component]
fn CarriersList() -> impl IntoView {
    let query = use_query_map();
    let view_name =
        Memo::new(move |_| query.get().get("view").unwrap_or_else(|| "carriers".into()));
    let views = [
        ("carriers", "Carriers"),
        ("interconnects", "Interconnects"),
        ("services", "Services"),
    ];
    let create_open = RwSignal::new(false);
    view! {
        <PageHeader title="Carriers" description="Customers and suppliers, their interconnects, and the services they buy and sell.">
            <button type="button" class="button button--primary" data-testid="create-carrier"
                on:click=move |_| create_open.set(true)>"Create carrier"</button>
        </PageHeader>
        <nav class="segmented" aria-label="View">
            {views.into_iter().map(|(key, label)| view! {
                <a class="segmented__item" href=format!("/admin/carriers?view={key}")
                    aria-current=move || (view_name.get() == key).then_some("page")>{label}</a>
            }).collect_view()}
        </nav>
        {move || match view_name.get().as_str() {
            "interconnects" => view! { <InterconnectsView/> }.into_any(),
            "services" => view! { <ServicesView/> }.into_any(),
            _ => view! { <CarriersView/> }.into_any(),
        }}
        <Dialog title="Create carrier" open=create_open>
            <CreateCarrierForm/>
        </Dialog>
    }
}

/// The list controls every view has: search text, status and kind filters, currency
/// (carriers only) and the sort; [`ListControls::query`] turns them into the list query.
#[derive(Clone, Copy)]
struct ListControls {
    q: RwSignal<String>,
    status: RwSignal<String>,
    kind: RwSignal<String>,
    currency: RwSignal<String>,
    sort: RwSignal<Sort>,
}

impl ListControls {
    /// Empty filters, sorted by name.
    fn new() -> Self {
        ListControls {
            q: RwSignal::new(String::new()),
            status: RwSignal::new(String::new()),
            kind: RwSignal::new(String::new()),
            currency: RwSignal::new(String::new()),
            sort: RwSignal::new(Sort {
                key: "name".into(),
                desc: false,
            }),
        }
    }

    /// The list query, recomputed when a control changes.
    fn query(self) -> Memo<ListQuery> {
        Memo::new(move |_| ListQuery {
            q: self.q.get(),
            status: self.status.get(),
            kind: self.kind.get(),
            currency: self.currency.get().trim().to_owned(),
            sort: self.sort.get().key,
            desc: self.sort.get().desc,
            ..Default::default()
        })
    }
}

/// The filter bar fields every view shares: search, status, and a kind select.
#[component]
fn Filters(
    search_label: &'static str,
    q: RwSignal<String>,
    status: RwSignal<String>,
    kind: RwSignal<String>,
    kind_label: &'static str,
    kind_options: Vec<(String, String)>,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    view! {
        <form class="filters" role="search" on:submit=|ev| ev.prevent_default()>
            <div class="field">
                <label class="field__label" for="filter-q">{search_label}</label>
                <input class="input" id="filter-q" type="search" prop:value=q
                    on:input=move |ev| q.set(event_target_value(&ev))/>
            </div>
            <div class="field">
                <label class="field__label" for="filter-status">"Status"</label>
                <select class="input" id="filter-status" on:change=move |ev| status.set(event_target_value(&ev))>
                    <option value="">"All"</option>
                    {CarrierStatus::ALL.iter().map(|s| view! { <option value=s.as_str()>{s.label()}</option> }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label class="field__label" for="filter-kind">{kind_label}</label>
                <select class="input" id="filter-kind" on:change=move |ev| kind.set(event_target_value(&ev))>
                    <option value="">"All"</option>
                    {kind_options.into_iter().map(|(v, l)| view! { <option value=v>{l}</option> }).collect_view()}
                </select>
            </div>
            {children.map(|c| c())}
        </form>
    }
}

#[component]
fn CarriersView() -> impl IntoView {
    let controls = ListControls::new();
    let ListControls {
        q,
        status,
        kind,
        currency,
        sort,
    } = controls;
    let query = controls.query();
    let pages = use_pages(query, carriers_page);
    let columns = vec![
        Column::new("name", "Name", |r: &CarrierRow| {
            view! { <a href=format!("/admin/carriers/{}", r.id)>{r.name.clone()}</a> }.into_any()
        })
        .sortable(),
        Column::new("account_code", "Account code", |r: &CarrierRow| {
            view! { <code>{r.account_code.clone()}</code> }.into_any()
        })
        .sortable(),
        Column::new("type", "Type", |r: &CarrierRow| {
            CarrierType::parse(&r.carrier_type)
                .map(|t| t.label())
                .unwrap_or("—")
                .into_any()
        }),
        Column::new("status", "Status", |r: &CarrierRow| {
            view! { <StatusTag status=r.status.clone()/> }.into_any()
        }),
        Column::new("currency", "Currency", |r: &CarrierRow| {
            r.currency.clone().into_any()
        }),
        Column::new("created", "Created (UTC)", |r: &CarrierRow| {
            short_date(&r.created_at).into_any()
        })
        .sortable()
        .numeric(),
    ];
    view! {
        <Filters search_label="Search name or account code" q status kind kind_label="Type"
            kind_options={options_of::<CarrierType>()}>
            <div class="field">
                <label class="field__label" for="filter-currency">"Currency"</label>
                <input class="input input--short" id="filter-currency" maxlength="3" placeholder="USD"
                    prop:value=currency on:change=move |ev| currency.set(event_target_value(&ev))/>
            </div>
        </Filters>
        <DataTable caption="Carriers" columns rows=pages.rows state=pages.state sort
            row_href=|r: &CarrierRow| format!("/admin/carriers/{}", r.id)
            empty="No carrier matches. Clear the filters, or create a carrier."
            has_more=pages.has_more() on_more=pages.more on_retry=pages.reload testid="carriers-table"/>
    }
}

#[component]
fn InterconnectsView() -> impl IntoView {
    let controls = ListControls::new();
    let ListControls {
        q,
        status,
        kind,
        currency: _,
        sort,
    } = controls;
    let query = controls.query();
    let pages = use_pages(query, interconnects_page);
    view! {
        <Filters search_label="Search interconnect name" q status kind kind_label="Direction"
            kind_options={options_of::<domain::interconnect::Direction>()}/>
        <DataTable caption="Interconnects" columns=interconnect_columns(true) rows=pages.rows state=pages.state sort
            row_href=interconnect_href
            empty="No interconnect matches. Add interconnects from a carrier's Interconnects tab."
            has_more=pages.has_more() on_more=pages.more on_retry=pages.reload testid="interconnects-table"/>
    }
}

/// The interconnect page of a row.
pub fn interconnect_href(r: &InterconnectRow) -> String {
    format!("/admin/carriers/{}/interconnects/{}", r.carrier_id, r.id)
}

/// Columns of an interconnects table (with the carrier column when `with_carrier`).
pub fn interconnect_columns(with_carrier: bool) -> Vec<Column<InterconnectRow>> {
    let mut columns = vec![Column::new("name", "Name", |r: &InterconnectRow| {
        view! { <a href=interconnect_href(r)>{r.name.clone()}</a> }.into_any()
    })
    .sortable()];
    if with_carrier {
        columns.push(Column::new("carrier", "Carrier", |r: &InterconnectRow| {
            view! { <a href=format!("/admin/carriers/{}", r.carrier_id)>{r.carrier_name.clone()}</a> }.into_any()
        }));
    }
    columns.extend([
        Column::new("direction", "Direction", |r: &InterconnectRow| {
            domain::interconnect::Direction::parse(&r.direction)
                .map(|d| d.label())
                .unwrap_or("—")
                .into_any()
        }),
        Column::new("status", "Status", |r: &InterconnectRow| {
            view! { <StatusTag status=r.status.clone()/> }.into_any()
        }),
        Column::new("tech_prefix", "Tech prefix", |r: &InterconnectRow| {
            r.tech_prefix
                .clone()
                .unwrap_or_else(|| "—".into())
                .into_any()
        }),
        Column::new("created", "Created (UTC)", |r: &InterconnectRow| {
            short_date(&r.created_at).into_any()
        })
        .sortable()
        .numeric(),
    ]);
    columns
}

#[component]
fn ServicesView() -> impl IntoView {
    let controls = ListControls::new();
    let ListControls {
        q,
        status,
        kind,
        currency: _,
        sort,
    } = controls;
    let query = controls.query();
    let pages = use_pages(query, services_page);
    let params = use_query_map();
    let editing = Memo::new(move |_| params.get().get("edit").and_then(|e| e.parse::<i64>().ok()));
    let add_open = RwSignal::new(false);
    let edit_open = RwSignal::new(false);
    Effect::new(move |_| edit_open.set(editing.get().is_some()));
    let navigate = use_navigate();
    Effect::new(move |prev: Option<bool>| {
        let open = edit_open.get();
        if prev == Some(true) && !open && editing.get_untracked().is_some() {
            navigate("/admin/carriers?view=services", Default::default());
        }
        open
    });
    let reload = pages.reload;
    let columns = vec![
        Column::new("name", "Name", |r: &ServiceRow| {
            view! { <a href=format!("/admin/carriers?view=services&edit={}", r.id)>{r.name.clone()}</a> }.into_any()
        })
        .sortable(),
        Column::new("direction", "Direction", |r: &ServiceRow| {
            ServiceDirection::parse(&r.direction).map(|d| d.label()).unwrap_or("—").into_any()
        }),
        Column::new("status", "Status", |r: &ServiceRow| view! { <StatusTag status=r.status.clone()/> }.into_any()),
        Column::new("description", "Description", |r: &ServiceRow| r.description.clone().into_any()),
        Column::new("created", "Created (UTC)", |r: &ServiceRow| short_date(&r.created_at).into_any())
            .sortable()
            .numeric(),
    ];
    view! {
        <Filters search_label="Search service name" q status kind kind_label="Direction"
            kind_options={options_of::<ServiceDirection>()}>
            <div class="filters__action">
                <button type="button" class="button" data-testid="add-service" on:click=move |_| add_open.set(true)>"Add service"</button>
            </div>
        </Filters>
        <DataTable caption="Services" columns rows=pages.rows state=pages.state sort
            row_href=|r: &ServiceRow| format!("/admin/carriers?view=services&edit={}", r.id)
            empty="No service yet. Add one: services are what customers buy and suppliers sell."
            has_more=pages.has_more() on_more=pages.more on_retry=pages.reload testid="services-table"/>
        <Dialog title="Add service" open=add_open>
            <ServiceEditor id=None on_done=Callback::new(move |_| { add_open.set(false); reload.run(()) })/>
        </Dialog>
        <Dialog title="Edit service" open=edit_open>
            {move || editing.get().map(|id| view! {
                <ServiceEditor id=Some(id) on_done=Callback::new(move |_| { edit_open.set(false); reload.run(()) })/>
            })}
        </Dialog>
    }
}

/// The add/edit service form.
#[component]
fn ServiceEditor(id: Option<i64>, on_done: Callback<()>) -> impl IntoView {
    let form = RwSignal::new(ServiceForm {
        direction: "customer".into(),
        status: "active".into(),
        ..Default::default()
    });
    let errors = FormErrors::new();
    let (picks, _) = load_in_browser(fetch_pick_lists);
    if let Some(id) = id {
        leptos::task::spawn_local(async move {
            match fetch_service_form(id).await {
                Ok(saved) => form.set(saved),
                Err(e) => errors.show(&e),
            }
        });
    }
    let save = save_action(
        errors,
        "Service saved",
        "Service not saved",
        move |f: ServiceForm| save_service(id, f),
        move |_| on_done.run(()),
    );
    let remove = save_action(
        errors,
        "Service deleted",
        "Service not deleted",
        move |_: ()| async move {
            match id {
                Some(id) => delete_service(id).await,
                None => Ok(()),
            }
        },
        move |()| on_done.run(()),
    );
    let tiers = Signal::derive(move || {
        picks
            .get()
            .and_then(Result::ok)
            .map(|p| choice_options(&p.voice_tiers))
            .unwrap_or_default()
    });
    // Customer services take customer plans, supplier services supplier decks.
    let plans = Signal::derive(move || {
        let direction = form.with(|f| f.direction.clone());
        picks
            .get()
            .and_then(Result::ok)
            .map(|p| {
                p.rate_plans
                    .iter()
                    .filter(|(_, _, kind)| *kind == direction)
                    .map(|(id, name, _)| (id.to_string(), name.clone()))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    });
    let routing_plans = Signal::derive(move || {
        picks
            .get()
            .and_then(Result::ok)
            .map(|p| choice_options(&p.routing_plans))
            .unwrap_or_default()
    });
    let is_customer = move || form.with(|f| f.direction == "customer");
    view! {
        <form class="form" on:submit=move |ev| { ev.prevent_default(); submit(form, errors, validate_service, save); }>
            <TextField label="Name" name="name" prefix="svc" bind=bind!(form.name) errors/>
            <SelectField label="Direction" name="direction" prefix="svc" bind=bind!(form.direction) errors
                options={options_of::<ServiceDirection>()}/>
            <SelectField label="Status" name="status" prefix="svc" bind=bind!(form.status) errors
                options={options_of::<CarrierStatus>()}/>
            <SelectField label="Voice tier" name="voice_tier_id" prefix="svc" bind=bind!(form.voice_tier_id) errors
                options=tiers empty="None"/>
            <SelectField label="Rate plan" name="rate_plan_id" prefix="svc" bind=bind!(form.rate_plan_id) errors
                options=plans empty="None"
                help="Customer services are priced by a customer plan; supplier services by the supplier's deck."/>
            <Show when=is_customer>
                <SelectField label="Routing plan" name="routing_plan_id" prefix="svc" bind=bind!(form.routing_plan_id) errors
                    options=routing_plans empty="None"
                    help="Which suppliers carry this service's calls, and in what order (Routing → Routing plans). Without one, calls are refused with 404."/>
            </Show>
            <TextAreaField label="Description" name="description" prefix="svc" bind=bind!(form.description) errors/>
            <FormActions label="Save service" pending=save.pending() errors>
                {id.map(|_| view! {
                    <ConfirmDelete what="this service" on_confirm=Callback::new(move |_| { remove.dispatch(()); })/>
                })}
            </FormActions>
        </form>
    }
}

/// The create-carrier form (dialog on the list page).
#[component]
fn CreateCarrierForm() -> impl IntoView {
    let form = RwSignal::new(NewCarrierForm {
        carrier_type: "customer".into(),
        currency: "USD".into(),
        ..Default::default()
    });
    let errors = FormErrors::new();
    let navigate = use_navigate();
    let create = save_action(
        errors,
        "Carrier created",
        "Carrier not created",
        move |f: NewCarrierForm| create_carrier(f),
        move |id| {
            navigate(
                &format!("/admin/carriers/{id}?tab=details"),
                Default::default(),
            );
        },
    );
    view! {
        <form class="form" on:submit=move |ev| { ev.prevent_default(); submit(form, errors, validate_new_carrier, create); }>
            <TextField label="Name" name="name" prefix="new" bind=bind!(form.name) errors/>
            <TextField label="Account code" name="account_code" prefix="new" bind=bind!(form.account_code) errors
                help="Letters, digits, '-' or '_'; unique; used on invoices and in the switch."/>
            <SelectField label="Type" name="carrier_type" prefix="new" bind=bind!(form.carrier_type) errors
                options={options_of::<CarrierType>()}/>
            <TextField label="Currency" name="currency" prefix="new" bind=bind!(form.currency) errors
                help="ISO 4217 code of its rates and invoices, e.g. USD."/>
            <FormActions label="Create carrier" pending=create.pending() errors/>
        </form>
    }
}
