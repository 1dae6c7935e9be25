//! `/admin/rate-plans`: the rate plans module. The list, the plan page
//! (`/admin/rate-plans/{id}`: Rates, Rate a number, Revisions, Imports, Settings) and an
//! import's page (`/admin/rate-plans/{id}/imports/{import}`: progress, preview with the
//! column mapping, publish or cancel, report).

pub mod api;

use domain::listing::ListQuery;
use domain::rate_plans::import::{ColumnMapping, DeckField};
use domain::rate_plans::{
    validate_rate_plan, ImportOptions, ImportView, NoticeAction, PlanKind, RatePlanForm,
    RatePlanRow, RateRow, RevisionRow, RoundingChoice,
};
use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate, use_query_map};

use super::carriers::{choice_options, options_of};
use crate::bind;
use crate::components::{
    load_in_browser, provide_unsaved_changes, save_action, submit, use_pages, use_tab, use_toaster,
    Column, ConfirmDelete, DataTable, Dialog, ErrorPanel, FormActions, FormErrors, Loading,
    NotFound, PageHeader, SelectField, StatTile, TabPanel, Tabs, TextAreaField, TextField,
};
use crate::error::AppError;
use api::*;

/// The module: list, plan page or import page by path.
#[component]
pub fn RatePlansModule() -> impl IntoView {
    let location = use_location();
    let path = Memo::new(move |_| location.pathname.get());
    move || {
        let path = path.get();
        let rest: Vec<&str> = path
            .trim_start_matches("/admin/rate-plans")
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        match rest.as_slice() {
            [] => view! { <RatePlansList/> }.into_any(),
            [id] => match id.parse::<i64>() {
                Ok(id) => view! { <PlanPage id/> }.into_any(),
                Err(_) => view! { <NotFound/> }.into_any(),
            },
            [plan, "imports", id] => match (plan.parse::<i64>(), id.parse::<i64>()) {
                (Ok(plan), Ok(id)) => view! { <ImportPage plan id/> }.into_any(),
                _ => view! { <NotFound/> }.into_any(),
            },
            _ => view! { <NotFound/> }.into_any(),
        }
    }
}

/// `2023-05-16T00:00:00Z` → `2023-05-16 00:00` (UTC).
fn utc(rfc3339: &str) -> String {
    rfc3339.get(..16).unwrap_or(rfc3339).replace('T', " ")
}

fn kind_label(kind: &str) -> &'static str {
    PlanKind::parse(kind).map(|k| k.label()).unwrap_or("—")
}

#[component]
fn RatePlansList() -> impl IntoView {
    let q = RwSignal::new(String::new());
    let kind = RwSignal::new(String::new());
    let query = Memo::new(move |_| ListQuery {
        q: q.get(),
        kind: kind.get(),
        ..ListQuery::default()
    });
    let pages = use_pages(query, rate_plans_page);
    let create_open = RwSignal::new(false);
    let columns = vec![
        Column::new("name", "Name", |r: &RatePlanRow| {
            view! { <a href=format!("/admin/rate-plans/{}", r.id)>{r.name.clone()}</a> }.into_any()
        }),
        Column::new("kind", "Kind", |r: &RatePlanRow| {
            kind_label(&r.kind).into_any()
        }),
        Column::new("carrier", "Supplier / customer", |r: &RatePlanRow| {
            r.carrier.clone().unwrap_or_else(|| "—".into()).into_any()
        }),
        Column::new("currency", "Currency", |r: &RatePlanRow| {
            r.currency.clone().into_any()
        }),
        Column::new("revision", "Live revision", |r: &RatePlanRow| {
            r.revision
                .map(|n| n.to_string())
                .unwrap_or_else(|| "none yet".into())
                .into_any()
        })
        .numeric(),
        Column::new("updated", "Updated (UTC)", |r: &RatePlanRow| {
            utc(&r.updated_at).into_any()
        })
        .numeric(),
    ];
    view! {
        <PageHeader title="Rate plans" description="Supplier decks (what we buy) and customer plans (what we sell): revisions, imports and rates.">
            <button type="button" class="button button--primary" data-testid="create-rate-plan"
                on:click=move |_| create_open.set(true)>"Create rate plan"</button>
        </PageHeader>
        <form class="filters" role="search" on:submit=|ev| ev.prevent_default()>
            <div class="field">
                <label class="field__label" for="plans-q">"Search name"</label>
                <input class="input" id="plans-q" type="search" prop:value=q
                    on:input=move |ev| q.set(event_target_value(&ev))/>
            </div>
            <div class="field">
                <label class="field__label" for="plans-kind">"Kind"</label>
                <select class="input" id="plans-kind" on:change=move |ev| kind.set(event_target_value(&ev))>
                    <option value="">"All"</option>
                    {PlanKind::ALL.iter().map(|k| view! { <option value=k.as_str()>{k.label()}</option> }).collect_view()}
                </select>
            </div>
        </form>
        <DataTable caption="Rate plans" columns rows=pages.rows state=pages.state
            row_href=|r: &RatePlanRow| format!("/admin/rate-plans/{}", r.id)
            empty="No rate plan yet. Create one, then import a supplier's rate notice into it."
            has_more=pages.has_more() on_more=pages.more on_retry=pages.reload testid="rate-plans-table"/>
        <Dialog title="Create rate plan" open=create_open>
            <CreatePlan/>
        </Dialog>
    }
}

/// The create dialog's content: the plan form with the carriers to choose from.
#[component]
fn CreatePlan() -> impl IntoView {
    let (carriers, _) = load_in_browser(rate_plan_carriers);
    let navigate = use_navigate();
    let choices = Signal::derive(move || {
        carriers
            .get()
            .and_then(Result::ok)
            .map(|c| choice_options(&c))
            .unwrap_or_default()
    });
    view! {
        <PlanForm id=None initial=RatePlanForm::new_plan() carriers=choices locked=false
            on_saved=Callback::new(move |id: i64| navigate(&format!("/admin/rate-plans/{id}?tab=imports"), Default::default()))/>
    }
}

/// The plan settings form (create and Settings tab).
#[component]
fn PlanForm(
    id: Option<i64>,
    initial: RatePlanForm,
    #[prop(into)] carriers: Signal<Vec<(String, String)>>,
    /// Kind and currency are fixed once rates are published.
    locked: bool,
    on_saved: Callback<i64>,
) -> impl IntoView {
    let form = RwSignal::new(initial);
    let errors = FormErrors::new();
    let save = save_action(
        errors,
        "Rate plan saved",
        "Rate plan not saved",
        move |f: RatePlanForm| save_rate_plan(id, f),
        move |saved| on_saved.run(saved),
    );
    let prefix = if id.is_some() { "plan" } else { "new-plan" };
    view! {
        <form class="form form--narrow" on:submit=move |ev| { ev.prevent_default(); submit(form, errors, validate_rate_plan, save); }>
            <TextField label="Name" name="name" prefix bind=bind!(form.name) errors/>
            <div class="form__row">
                {if locked {
                    view! {
                        <p class="field__help">{move || format!("{} in {} (fixed once rates are published).",
                            kind_label(&form.with(|f| f.kind.clone())), form.with(|f| f.currency.clone()))}</p>
                    }.into_any()
                } else {
                    view! {
                        <SelectField label="Kind" name="kind" prefix bind=bind!(form.kind) errors
                            options={options_of::<PlanKind>()}/>
                        <TextField label="Currency" name="currency" prefix bind=bind!(form.currency) errors
                            help="ISO 4217, e.g. USD."/>
                    }.into_any()
                }}
            </div>
            <SelectField label="Supplier or customer" name="carrier_id" prefix bind=bind!(form.carrier_id) errors
                options=carriers empty="None (shared plan)"
                help="Whose files are imported here; the column mapping is remembered per supplier."/>
            <fieldset class="form__group">
                <legend>"Defaults for rows that do not say"</legend>
                <div class="form__row">
                    <TextField label="Increment" name="increment" prefix bind=bind!(form.increment) errors help="a/b seconds, e.g. 60/60, 30/6, 1/1."/>
                    <TextField label="Minimum (s)" name="minimum_s" prefix bind=bind!(form.minimum_s) errors/>
                    <TextField label="Grace (s)" name="grace_s" prefix bind=bind!(form.grace_s) errors/>
                    <TextField label="Connection fee" name="connection_fee" prefix bind=bind!(form.connection_fee) errors/>
                </div>
            </fieldset>
            <fieldset class="form__group">
                <legend>"Rounding and notice"</legend>
                <div class="form__row">
                    <TextField label="Decimals" name="rounding_decimals" prefix bind=bind!(form.rounding_decimals) errors help="0 to 6, per call."/>
                    <SelectField label="Rounding" name="rounding" prefix bind=bind!(form.rounding) errors
                        options={options_of::<RoundingChoice>()}/>
                </div>
                <div class="form__row">
                    <TextField label="Notice for increases (days)" name="notice_days" prefix bind=bind!(form.notice_days) errors
                        help="Customer plans: an increase needs this many days' notice."/>
                    <SelectField label="An increase inside the notice period" name="notice_action" prefix bind=bind!(form.notice_action) errors
                        options={options_of::<NoticeAction>()}/>
                </div>
            </fieldset>
            <TextAreaField label="Description" name="description" prefix bind=bind!(form.description) errors/>
            <FormActions label="Save rate plan" pending=save.pending() errors/>
        </form>
    }
}

const TABS: [(&str, &str); 6] = [
    ("rates", "Rates"),
    ("rate-number", "Rate a number"),
    ("revisions", "Revisions"),
    ("imports", "Imports"),
    ("derive", "Derive"),
    ("settings", "Settings"),
];

/// The plan's tabs: Derive only on customer plans.
fn tabs_for(kind: &str) -> Vec<(&'static str, &'static str)> {
    TABS.iter()
        .copied()
        .filter(|(key, _)| *key != "derive" || kind == "customer")
        .collect()
}

/// The plan page.
#[component]
fn PlanPage(id: i64) -> impl IntoView {
    let overview = Resource::new(move || id, fetch_plan_overview);
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(data) => view! { <PlanLoaded data reload=Callback::new(move |_| overview.refetch())/> }.into_any(),
                    Err(AppError::NotFound) => view! { <NotFound/> }.into_any(),
                    Err(error) => view! { <ErrorPanel error on_retry=Callback::new(move |_| overview.refetch())/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn PlanLoaded(data: PlanOverview, reload: Callback<()>) -> impl IntoView {
    let id = data.id;
    let tab = use_tab("rates");
    provide_unsaved_changes();
    let toaster = use_toaster();
    let navigate = use_navigate();
    let remove = Action::new(move |_: &()| async move { delete_rate_plan(id).await });
    Effect::new(move |_| match remove.value().get() {
        Some(Ok(())) => {
            toaster.success("Rate plan deleted");
            navigate("/admin/rate-plans", Default::default());
        }
        Some(Err(e)) => toaster.error(format!("Rate plan not deleted: {e}")),
        None => {}
    });
    let description = format!(
        "{} · {}{} · {} · {} codes",
        kind_label(&data.form.kind),
        data.form.currency,
        data.carrier
            .as_ref()
            .map(|c| format!(" · {c}"))
            .unwrap_or_default(),
        data.revision
            .map(|n| format!("revision {n}"))
            .unwrap_or_else(|| "no revision yet".into()),
        data.codes,
    );
    let name = data.form.name.clone();
    let carriers = Signal::stored(choice_options(&data.carriers));
    let locked = data.revision.is_some();
    let form = data.form.clone();
    view! {
        <PageHeader title=name.clone() description>
            <ConfirmDelete what=format!("rate plan {name}") label="Delete rate plan"
                on_confirm=Callback::new(move |_| { remove.dispatch(()); })/>
        </PageHeader>
        <p class="breadcrumb"><a href="/admin/rate-plans">"← All rate plans"</a></p>
        <Tabs label="Rate plan" tabs=tabs_for(&form.kind) active=tab/>
        <TabPanel active=tab>
            {move || match tab.get().as_str() {
                "rate-number" => view! { <RateNumberTab id/> }.into_any(),
                "revisions" => view! { <RevisionsTab id/> }.into_any(),
                "imports" => view! { <ImportsTab id/> }.into_any(),
                "derive" => view! { <DeriveTab id/> }.into_any(),
                "settings" => view! {
                    <PlanForm id=Some(id) initial=form.clone() carriers locked
                        on_saved=Callback::new(move |_| reload.run(()))/>
                }.into_any(),
                _ => view! { <RatesTab id/> }.into_any(),
            }}
        </TabPanel>
    }
}

#[component]
fn RatesTab(id: i64) -> impl IntoView {
    let q = RwSignal::new(String::new());
    let scope = RwSignal::new(String::new());
    let query = Memo::new(move |_| ListQuery {
        q: q.get(),
        status: scope.get(),
        ..ListQuery::default()
    });
    let pages = use_pages(query, move |query| rate_plan_rates(id, query));
    let columns = vec![
        Column::new("prefix", "Code", |r: &RateRow| {
            view! { <code>{r.prefix.clone()}</code> }.into_any()
        }),
        Column::new("destination", "Destination", |r: &RateRow| {
            r.destination.clone().into_any()
        }),
        Column::new("rate", "Rate / min", |r: &RateRow| {
            r.rate.clone().into_any()
        })
        .numeric(),
        Column::new("fee", "Connection fee", |r: &RateRow| {
            r.connection_fee.clone().into_any()
        })
        .numeric(),
        Column::new("increment", "Increment", |r: &RateRow| {
            r.increment.clone().into_any()
        })
        .numeric(),
        Column::new("from", "Effective from (UTC)", |r: &RateRow| {
            utc(&r.effective_from).into_any()
        })
        .numeric(),
        Column::new("to", "Effective to (UTC)", |r: &RateRow| {
            r.effective_to
                .as_deref()
                .map(utc)
                .unwrap_or_else(|| "open".into())
                .into_any()
        })
        .numeric(),
        Column::new("change", "Change", |r: &RateRow| {
            r.change.clone().into_any()
        }),
        Column::new("revision", "Revision", |r: &RateRow| {
            r.revision.to_string().into_any()
        })
        .numeric(),
    ];
    view! {
        <form class="filters" role="search" on:submit=|ev| ev.prevent_default()>
            <div class="field">
                <label class="field__label" for="rates-q">"Code or destination"</label>
                <input class="input" id="rates-q" type="search" placeholder="e.g. 4477 or Afghanistan" prop:value=q
                    on:input=move |ev| q.set(event_target_value(&ev))/>
            </div>
            <div class="field">
                <label class="field__label" for="rates-scope">"Show"</label>
                <select class="input" id="rates-scope" on:change=move |ev| scope.set(event_target_value(&ev))>
                    <option value="">"In force now and scheduled"</option>
                    <option value="history">"Every row ever published"</option>
                </select>
            </div>
        </form>
        <DataTable caption="Rates" columns rows=pages.rows state=pages.state
            row_href=|_: &RateRow| String::new()
            empty="No rate matches. Import a rate deck on the Imports tab, or search for another code."
            has_more=pages.has_more() on_more=pages.more on_retry=pages.reload testid="rates-table"/>
    }
}

#[component]
fn RateNumberTab(id: i64) -> impl IntoView {
    let number = RwSignal::new(String::new());
    let at = RwSignal::new(String::new());
    let errors = FormErrors::new();
    let rate = Action::new(move |(n, t): &(String, String)| {
        let (n, t) = (n.clone(), t.clone());
        async move { rate_a_number(id, n, t).await }
    });
    Effect::new(move |_| {
        if let Some(Err(e)) = rate.value().get() {
            errors.show(&e);
        }
    });
    view! {
        <form class="form form--narrow" on:submit=move |ev| {
            ev.prevent_default();
            errors.clear();
            rate.dispatch((number.get_untracked(), at.get_untracked()));
        }>
            <div class="form__row">
                <TextField label="Number" name="number" prefix="rn" bind=(number.into(), Callback::new(move |v| number.set(v))) errors
                    help="E.164, + or 00 allowed."/>
                <TextField label="Date and time (UTC)" name="at" prefix="rn" kind="datetime-local" bind=(at.into(), Callback::new(move |v| at.set(v))) errors
                    help="Empty: now."/>
            </div>
            <FormActions label="Rate number" pending=rate.pending() errors/>
        </form>
        {move || rate.value().get().and_then(Result::ok).map(|r| match &r.prefix {
            Some(prefix) => view! {
                <dl class="facts" data-testid="rating">
                    <dt>"Matched code"</dt><dd><code>{prefix.clone()}</code></dd>
                    <dt>"Destination"</dt><dd>{r.destination.clone()}</dd>
                    <dt>"Rate / min"</dt><dd class="num">{r.rate.clone()}</dd>
                    <dt>"Connection fee"</dt><dd class="num">{r.connection_fee.clone()}</dd>
                    <dt>"Increment"</dt><dd class="num">{r.increment.clone()}</dd>
                    <dt>"Minimum / grace"</dt><dd class="num">{format!("{} s / {} s", r.minimum_s, r.grace_s)}</dd>
                    <dt>"In force"</dt><dd>{format!("{} → {}", utc(&r.effective_from), r.effective_to.as_deref().map(utc).unwrap_or_else(|| "open".into()))}</dd>
                    <dt>"Revision"</dt><dd class="num">{r.revision.map(|n| n.to_string()).unwrap_or_default()}</dd>
                </dl>
            }.into_any(),
            None => view! { <p class="alert alert--info" data-testid="rating">{format!("No rate: {}.", r.reason)}</p> }.into_any(),
        })}
    }
}

#[component]
fn RevisionsTab(id: i64) -> impl IntoView {
    let (revisions, retry) = load_in_browser(move || rate_plan_revisions(id));
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let diff = Action::new(move |(a, b): &(i64, i64)| {
        let (a, b) = (*a, *b);
        async move { revision_diff(id, a, b).await }
    });
    let table = move |rows: Vec<RevisionRow>| {
        let options: Vec<(String, String)> = rows
            .iter()
            .map(|r| (r.number.to_string(), format!("Revision {}", r.number)))
            .collect();
        if rows.len() >= 2 && from.get_untracked().is_empty() {
            from.set(rows[1].number.to_string());
            to.set(rows[0].number.to_string());
        }
        view! {
            <div class="table-wrap">
                <table class="table" data-testid="revisions-table">
                    <caption class="visually-hidden">"Revisions"</caption>
                    <thead><tr>
                        <th class="num">"Revision"</th><th>"Published (UTC)"</th><th>"By"</th><th>"Source"</th>
                        <th class="num">"New"</th><th class="num">"Increase"</th><th class="num">"Decrease"</th>
                        <th class="num">"Unchanged"</th><th class="num">"Removed"</th><th>"Export"</th>
                    </tr></thead>
                    <tbody>
                        {rows.into_iter().map(|r| view! {
                            <tr>
                                <td class="num">{r.number}</td>
                                <td>{utc(&r.published_at)}</td>
                                <td>{r.published_by.clone()}</td>
                                <td>{match r.import_id {
                                    Some(i) => view! { <a href=format!("/admin/rate-plans/{id}/imports/{i}")>"Import"</a> }.into_any(),
                                    None => r.source.clone().into_any(),
                                }}</td>
                                <td class="num">{r.counts.new}</td>
                                <td class="num">{r.counts.increase}</td>
                                <td class="num">{r.counts.decrease}</td>
                                <td class="num">{r.counts.unchanged}</td>
                                <td class="num">{r.counts.removed}</td>
                                <td class="actions">
                                    <a href=format!("/admin/rate-plans/{id}/revisions/{}/export.csv", r.number) download>"CSV"</a>
                                    " · "
                                    <a href=format!("/admin/rate-plans/{id}/revisions/{}/export.xlsx", r.number) download>"XLSX"</a>
                                </td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            <form class="filters" on:submit=move |ev| {
                ev.prevent_default();
                if let (Ok(a), Ok(b)) = (from.get_untracked().parse(), to.get_untracked().parse()) {
                    diff.dispatch((a, b));
                }
            }>
                <SelectField label="Compare" name="from" prefix="diff" bind=(from.into(), Callback::new(move |v| from.set(v))) options=Signal::stored(options.clone())/>
                <SelectField label="with" name="to" prefix="diff" bind=(to.into(), Callback::new(move |v| to.set(v))) options=Signal::stored(options)/>
                <button type="submit" class="button">"Compare revisions"</button>
            </form>
        }
    };
    view! {
        {move || match revisions.get() {
            None => view! { <Loading/> }.into_any(),
            Some(Err(error)) => view! { <ErrorPanel error on_retry=retry/> }.into_any(),
            Some(Ok(rows)) if rows.is_empty() => view! {
                <p class="empty">"No revision yet. Import a rate deck on the Imports tab to publish the first."</p>
            }.into_any(),
            Some(Ok(rows)) => table(rows).into_any(),
        }}
        {move || diff.value().get().map(|result| match result {
            Err(error) => view! { <ErrorPanel error/> }.into_any(),
            Ok(rows) if rows.is_empty() => view! { <p class="empty">"The two revisions price every code the same."</p> }.into_any(),
            Ok(rows) => view! {
                <div class="table-wrap">
                    <table class="table" data-testid="diff-table">
                        <caption class="visually-hidden">"Differences between the revisions"</caption>
                        <thead><tr><th>"Code"</th><th>"Destination"</th><th>"Change"</th><th class="num">"Before"</th><th class="num">"After"</th></tr></thead>
                        <tbody>
                            {rows.into_iter().map(|d| view! {
                                <tr><td><code>{d.prefix}</code></td><td>{d.destination}</td><td>{d.change}</td>
                                <td class="num">{d.before.unwrap_or_default()}</td><td class="num">{d.after.unwrap_or_default()}</td></tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            }.into_any(),
        })}
    }
}

fn status_label(status: &str) -> &'static str {
    match status {
        "queued" => "Queued",
        "reading" => "Reading",
        "previewed" => "Ready to publish",
        "publishing" => "Publishing",
        "published" => "Published",
        "failed" => "Failed",
        "cancelled" => "Cancelled",
        _ => "Unknown",
    }
}

#[component]
fn ImportStatus(#[prop(into)] status: String) -> impl IntoView {
    let ok = status == "published";
    let bad = status == "failed";
    view! {
        <span class="tag" class:tag--ok=ok class:tag--crit=bad class:tag--muted={!ok && !bad}>
            {status_label(&status)}
        </span>
    }
}

#[component]
fn ImportsTab(id: i64) -> impl IntoView {
    let (imports, retry) = load_in_browser(move || rate_plan_imports(id));
    let query = use_query_map();
    let upload_error = move || query.with(|q| q.get("upload_error"));
    view! {
        <form class="form form--narrow upload" method="post" enctype="multipart/form-data"
            action=format!("/admin/rate-plans/{id}/upload") data-testid="upload-form">
            <div class="field">
                <label class="field__label" for="deck-file">"Rate deck file"</label>
                <input class="input" id="deck-file" name="file" type="file" required
                    accept=".csv,.txt,.xlsx,.xlsm,.xls,.ods" aria-describedby="deck-file-help deck-file-error"/>
                <p class="field__help" id="deck-file-help">"CSV or Excel, as the carrier sent it: the header row is found under any letterhead, and the columns are mapped from their names."</p>
                <p class="field__error" id="deck-file-error" role="alert">{upload_error}</p>
            </div>
            <fieldset class="form__group">
                <legend>"The file is"</legend>
                <label class="check"><input type="radio" name="mode" value="full" checked/>" A full deck: codes not in it are removed"</label>
                <label class="check"><input type="radio" name="mode" value="partial"/>" Changes only: codes not in it stay as they are"</label>
            </fieldset>
            <div class="form__actions">
                <button type="submit" class="button button--primary">"Upload and preview"</button>
            </div>
        </form>
        <h2 class="section-title">"Imports"</h2>
        {move || match imports.get() {
            None => view! { <Loading/> }.into_any(),
            Some(Err(error)) => view! { <ErrorPanel error on_retry=retry/> }.into_any(),
            Some(Ok(rows)) if rows.is_empty() => view! { <p class="empty">"No import yet."</p> }.into_any(),
            Some(Ok(rows)) => view! {
                <div class="table-wrap">
                    <table class="table" data-testid="imports-table">
                        <caption class="visually-hidden">"Imports"</caption>
                        <thead><tr><th>"File"</th><th>"Status"</th><th>"By"</th><th>"Uploaded (UTC)"</th><th class="num">"Revision"</th></tr></thead>
                        <tbody>
                            {rows.into_iter().map(|r| view! {
                                <tr>
                                    <td><a href=format!("/admin/rate-plans/{id}/imports/{}", r.id)>{r.file_name.clone()}</a></td>
                                    <td><ImportStatus status=r.status.clone()/></td>
                                    <td>{r.created_by.clone()}</td>
                                    <td>{utc(&r.created_at)}</td>
                                    <td class="num">{r.report.as_ref().map(|rep| rep.revision.to_string()).unwrap_or_default()}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            }.into_any(),
        }}
    }
}

/// An import: progress while a job works on it (refreshed every second), then the
/// preview with the mapping, or the report.
#[component]
fn ImportPage(plan: i64, id: i64) -> impl IntoView {
    let (import, retry) = load_in_browser(move || fetch_import(id));
    // Poll while a job works on it.
    Effect::new(move |_| {
        if let Some(Ok(view)) = import.get() {
            if view.busy() {
                set_timeout(
                    move || {
                        leptos::task::spawn_local(async move {
                            let fresh = fetch_import(id).await;
                            // The page may be gone by now: then nothing is set.
                            import.try_set(Some(fresh));
                        })
                    },
                    std::time::Duration::from_millis(1000),
                );
            }
        }
    });
    view! {
        <p class="breadcrumb"><a href=format!("/admin/rate-plans/{plan}?tab=imports")>"← Rate plan"</a></p>
        {move || match import.get() {
            None => view! { <Loading/> }.into_any(),
            Some(Err(AppError::NotFound)) => view! { <NotFound/> }.into_any(),
            Some(Err(error)) => view! { <ErrorPanel error on_retry=retry/> }.into_any(),
            Some(Ok(view)) => view! { <ImportLoaded plan data=view refresh=retry/> }.into_any(),
        }}
    }
}

#[component]
fn ImportLoaded(plan: i64, data: ImportView, refresh: Callback<()>) -> impl IntoView {
    let id = data.id;
    let toaster = use_toaster();
    let navigate = use_navigate();
    let skip = RwSignal::new(false);
    let publish = Action::new(move |skip: &bool| {
        let skip = *skip;
        async move { publish_import(id, skip).await }
    });
    let cancel = Action::new(move |_: &()| async move { cancel_import(id).await });
    Effect::new(move |_| match publish.value().get() {
        Some(Ok(())) => {
            toaster.success("Publishing the revision");
            refresh.run(());
        }
        Some(Err(e)) => toaster.error(format!("Not published: {e}")),
        None => {}
    });
    Effect::new(move |_| match cancel.value().get() {
        Some(Ok(())) => {
            toaster.success("Import cancelled");
            navigate(
                &format!("/admin/rate-plans/{plan}?tab=imports"),
                Default::default(),
            );
        }
        Some(Err(e)) => toaster.error(format!("Not cancelled: {e}")),
        None => {}
    });
    let title = format!("Import of {}", data.file_name);
    let description = format!(
        "{} KB · uploaded by {} on {} UTC",
        (data.file_size + 1023) / 1024,
        data.created_by,
        utc(&data.created_at)
    );
    let progress = data.busy().then(|| {
        let label = format!(
            "{} — {} of {} rows read ({} %), {} rows/s",
            status_label(&data.status),
            data.rows_done,
            data.rows_total,
            data.percent(),
            data.rows_per_s
        );
        view! {
            <div class="progress" data-testid="import-progress">
                <progress max="100" value=data.percent() aria-label="Import progress"></progress>
                <p>{label}</p>
            </div>
        }
    });
    let error = (!data.error.is_empty())
        .then(|| view! { <p class="alert alert--crit" role="alert">{data.error.clone()}</p> });
    let can_publish = data.status == "previewed";
    let can_cancel = matches!(data.status.as_str(), "previewed" | "failed" | "queued");
    let errors_count = data.preview.as_ref().map(|p| p.errors.len()).unwrap_or(0);
    let whole_file_error = data
        .preview
        .as_ref()
        .is_some_and(|p| p.errors.iter().any(|e| e.line == 0));
    let report = data.report.clone().map(|r| {
        view! {
            <section aria-labelledby="report-title" data-testid="import-report">
                <h2 class="section-title" id="report-title">{format!("Published as revision {}", r.revision)}</h2>
                <div class="stats">
                    <StatTile label="Lines in the file" value=r.lines_in.to_string()/>
                    <StatTile label="Lines published" value=r.lines_published.to_string()/>
                    <StatTile label="Lines skipped" value=r.skipped.len().to_string()/>
                    <StatTile label="Rows stored" value=r.rows_stored.to_string() detail="Unchanged codes are not stored again"/>
                    <StatTile label="Took" value=format!("{:.1} s", r.milliseconds as f64 / 1000.0)/>
                </div>
                {(!r.skipped.is_empty()).then(|| view! { <LineErrors errors=r.skipped.clone() caption="Skipped lines"/> })}
            </section>
        }
    });
    let preview = data.preview.clone().filter(|_| data.report.is_none()).map(|p| {
        view! { <Preview import=id preview=p options=data.options.clone() status=data.status.clone() refresh/> }
    });
    view! {
        <PageHeader title description>
            <ImportStatus status=data.status.clone()/>
        </PageHeader>
        {progress}
        {error}
        {report}
        {preview}
        {(can_publish || can_cancel).then(|| view! {
            <div class="form__actions import-actions">
                {(can_publish && errors_count > 0 && !whole_file_error).then(|| view! {
                    <label class="check">
                        <input type="checkbox" prop:checked=skip checked=skip
                            on:change=move |ev| skip.set(event_target_checked(&ev))/>
                        {format!(" Skip the {errors_count} bad lines (they are listed in the report)")}
                    </label>
                })}
                {can_publish.then(|| view! {
                    <button type="button" class="button button--primary" data-testid="publish"
                        disabled={move || publish.pending().get() || whole_file_error || (errors_count > 0 && !skip.get())}
                        on:click=move |_| { publish.dispatch(skip.get_untracked()); }>"Publish revision"</button>
                })}
                {can_cancel.then(|| view! {
                    <button type="button" class="button" on:click=move |_| { cancel.dispatch(()); }>"Cancel import"</button>
                })}
            </div>
        })}
    }
}

#[component]
fn LineErrors(
    errors: Vec<domain::rate_plans::import::LineError>,
    caption: &'static str,
) -> impl IntoView {
    const SHOWN: usize = 500;
    let total = errors.len();
    view! {
        <div class="table-wrap">
            <table class="table" data-testid="line-errors">
                <caption class="table__caption">{if total > SHOWN { format!("{caption}: the first {SHOWN} of {total}") } else { format!("{caption}: {total}") }}</caption>
                <thead><tr><th class="num">"Line"</th><th>"What is wrong"</th></tr></thead>
                <tbody>
                    {errors.into_iter().take(SHOWN).map(|e| view! {
                        <tr><td class="num">{if e.line == 0 { "file".to_owned() } else { e.line.to_string() }}</td><td>{e.reason}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// The preview: what the file says, how it was read, what would change, and the
/// mapping the user may correct.
#[component]
fn Preview(
    import: i64,
    preview: domain::rate_plans::ImportPreview,
    options: ImportOptions,
    status: String,
    refresh: Callback<()>,
) -> impl IntoView {
    let toaster = use_toaster();
    let headers = preview.headers.clone();
    // One select per column: which field it holds ("" = not used).
    let fields: Vec<RwSignal<String>> = (0..headers.len())
        .map(|i| {
            RwSignal::new(
                preview
                    .mapping
                    .columns
                    .iter()
                    .find(|(_, c)| *c == i)
                    .map(|(f, _)| f.as_str().to_owned())
                    .unwrap_or_default(),
            )
        })
        .collect();
    let header_line = RwSignal::new(
        preview
            .header_line
            .map(|l| l.to_string())
            .unwrap_or_default(),
    );
    let read_again = Action::new(move |options: &ImportOptions| {
        let options = options.clone();
        async move { read_import_again(import, options).await }
    });
    Effect::new(move |_| match read_again.value().get() {
        Some(Ok(())) => {
            toaster.success("Reading the file again");
            refresh.run(());
        }
        Some(Err(e)) => toaster.error(format!("Not read again: {e}")),
        None => {}
    });
    let field_options: Vec<(String, String)> = options_of::<DeckField>();
    let m = &preview.metadata;
    let facts = vec![
        (
            "Sheet",
            preview.sheet.clone().unwrap_or_else(|| "— (CSV)".into()),
        ),
        (
            "Header row",
            preview
                .header_line
                .map(|l| format!("line {l}"))
                .unwrap_or_else(|| "not found".into()),
        ),
        (
            "Currency",
            m.currency
                .map(|c| c.to_string())
                .unwrap_or_else(|| "not stated".into()),
        ),
        (
            "Date issued",
            m.issued
                .map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_else(|| "not stated".into()),
        ),
        (
            "Increases valid from",
            m.increases_from
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_else(|| "not stated".into()),
        ),
        (
            "Decreases valid from",
            m.decreases_from
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_else(|| "not stated".into()),
        ),
    ];
    let c = preview.counts;
    let editable = status == "previewed" || status == "failed";
    let submit_mapping = {
        let fields = fields.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let mut mapping = ColumnMapping::default();
            for (i, f) in fields.iter().enumerate() {
                if let Some(field) = DeckField::parse(&f.get_untracked()) {
                    if mapping.column(field).is_none() {
                        mapping.set(field, Some(i));
                    }
                }
            }
            let mut next = options.clone();
            next.read.header_line = header_line.get_untracked().trim().parse().ok();
            next.read.mapping = Some(mapping);
            read_again.dispatch(next);
        }
    };
    view! {
        <section aria-labelledby="preview-title" data-testid="import-preview">
            <h2 class="section-title" id="preview-title">"Preview"</h2>
            <dl class="facts">
                {facts.into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> }).collect_view()}
                {m.other.iter().map(|(k, v)| view! { <dt>{k.clone()}</dt><dd>{v.clone()}</dd> }).collect_view()}
            </dl>
            <ul class="notes">
                {preview.conventions.iter().map(|s| view! { <li>{s.clone()}</li> }).collect_view()}
            </ul>
            <div class="stats" data-testid="change-counts">
                <StatTile label="Lines read" value=preview.data_lines.to_string() detail=format!("{} good, {} with errors", preview.good_lines, preview.errors.len())/>
                <StatTile label="New" value=c.new.to_string()/>
                <StatTile label="Increase" value=c.increase.to_string()/>
                <StatTile label="Decrease" value=c.decrease.to_string()/>
                <StatTile label="Unchanged" value=c.unchanged.to_string()/>
                <StatTile label="Removed" value=c.removed.to_string()/>
            </div>
            {(!preview.notices.is_empty()).then(|| view! {
                <p class="alert alert--info">{format!(
                    "{} increases fall inside the notice period: {}.",
                    preview.notices.len(),
                    match preview.notices[0].action { NoticeAction::Refuse => "they are refused (listed below)", NoticeAction::Defer => "they are moved to the earliest allowed date" }
                )}</p>
            })}
            {(!preview.errors.is_empty()).then(|| view! { <LineErrors errors=preview.errors.clone() caption="Lines with errors"/> })}
            <h3 class="section-title">"First rows as read"</h3>
            <div class="table-wrap">
                <table class="table" data-testid="preview-rows">
                    <caption class="visually-hidden">"First rows as read"</caption>
                    <thead><tr><th class="num">"Line"</th><th>"Code"</th><th>"Destination"</th><th class="num">"Rate / min"</th>
                        <th class="num">"Before"</th><th class="num">"Increment"</th><th>"Effective from (UTC)"</th><th>"Change"</th><th>"Note"</th></tr></thead>
                    <tbody>
                        {preview.first_rows.iter().map(|r| view! {
                            <tr>
                                <td class="num">{r.line}</td><td><code>{r.prefix.clone()}</code></td><td>{r.destination.clone()}</td>
                                <td class="num">{r.rate.clone()}</td><td class="num">{r.previous_rate.clone().unwrap_or_default()}</td>
                                <td class="num">{r.increment.clone()}</td><td>{utc(&r.effective_from)}</td><td>{r.change.clone()}</td><td>{r.note.clone()}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            {editable.then(|| view! {
                <form class="form mapping" on:submit=submit_mapping data-testid="mapping-form">
                    <h3 class="section-title">"Column mapping"</h3>
                    <p class="field__help">"Correct what a column holds, then read the file again. The mapping is remembered for this supplier's next file."</p>
                    <div class="form__row">
                        <TextField label="Header row (line)" name="header_line" prefix="map"
                            bind=(header_line.into(), Callback::new(move |v| header_line.set(v)))/>
                    </div>
                    <div class="mapping__columns">
                        {headers.iter().enumerate().map(|(i, h)| {
                            let signal = fields[i];
                            let label = if h.is_empty() { format!("Column {}", i + 1) } else { h.clone() };
                            view! {
                                <SelectField label name=format!("column-{i}") prefix="map"
                                    bind=(signal.into(), Callback::new(move |v| signal.set(v)))
                                    options=Signal::stored(field_options.clone()) empty="Not used"/>
                            }
                        }).collect_view()}
                    </div>
                    <div class="form__actions">
                        <button type="submit" class="button">"Read again with this mapping"</button>
                    </div>
                </form>
            })}
        </section>
    }
}

/// Derive (customer plans): the markup rule, a preview of what it changes, and publishing.
#[component]
fn DeriveTab(id: i64) -> impl IntoView {
    let (setup, retry) = load_in_browser(move || fetch_derive_setup(id));
    view! {
        {move || match setup.get() {
            None => view! { <Loading/> }.into_any(),
            Some(Err(error)) => view! { <ErrorPanel error on_retry=retry/> }.into_any(),
            Some(Ok(data)) => view! { <DeriveForm id data/> }.into_any(),
        }}
    }
}

#[component]
fn DeriveForm(id: i64, data: DeriveSetup) -> impl IntoView {
    use domain::rate_plans::derive::{validate_markup, DeriveBasis, MarkupForm};
    let form = RwSignal::new(data.rule.clone());
    let errors = FormErrors::new();
    let toaster = use_toaster();
    let preview = Action::new(move |rule: &MarkupForm| {
        let rule = rule.clone();
        async move { preview_derivation(id, rule).await }
    });
    let publish = Action::new(move |rule: &MarkupForm| {
        let rule = rule.clone();
        async move { publish_derivation(id, rule).await }
    });
    let result = RwSignal::new(None::<domain::rate_plans::derive::DerivationPreview>);
    Effect::new(move |_| match preview.value().get() {
        Some(Ok(p)) => result.set(Some(p)),
        Some(Err(e)) => errors.show(&e),
        None => {}
    });
    Effect::new(move |_| match publish.value().get() {
        Some(Ok(p)) => {
            toaster.success(format!(
                "Published revision {}",
                p.revision.unwrap_or_default()
            ));
            result.set(Some(p));
        }
        Some(Err(e)) => {
            errors.show(&e);
            toaster.error(format!("Not published: {e}"));
        }
        None => {}
    });
    let run = move |publish_it: bool| {
        let value = form.get_untracked();
        match validate_markup(&value) {
            Ok(_) => {
                errors.clear();
                if publish_it {
                    publish.dispatch(value);
                } else {
                    preview.dispatch(value);
                }
            }
            Err(e) => errors.show(&AppError::Validation(e)),
        }
    };
    let decks = data.decks.clone();
    view! {
        <form class="form form--narrow" on:submit=move |ev| { ev.prevent_default(); run(false); }>
            <fieldset class="form__group">
                <legend>"Supplier decks to derive from"</legend>
                <div class="checks checks--column">
                    {decks.into_iter().map(|(deck, name, currency)| {
                        let checked = move || form.with(|f| f.sources.contains(&deck));
                        view! {
                            <label class="check">
                                <input type="checkbox" checked=checked prop:checked=checked
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        form.update(|f| {
                                            f.sources.retain(|s| *s != deck);
                                            if on { f.sources.push(deck); }
                                        });
                                    }/>
                                {format!(" {name} ({currency})")}
                            </label>
                        }
                    }).collect_view()}
                </div>
                <p class="field__error" role="alert">{move || errors.get("sources")}</p>
            </fieldset>
            <SelectField label="Based on" name="basis" prefix="derive" bind=bind!(form.basis) errors
                options={options_of::<DeriveBasis>()}/>
            <div class="form__row">
                <TextField label="Markup (%)" name="percent" prefix="derive" bind=bind!(form.percent) errors/>
                <TextField label="Plus per minute" name="absolute" prefix="derive" bind=bind!(form.absolute) errors/>
                <TextField label="Minimum margin per minute" name="minimum_margin" prefix="derive" bind=bind!(form.minimum_margin) errors/>
                <TextField label="Round up to decimals" name="decimals" prefix="derive" bind=bind!(form.decimals) errors help="0 to 6."/>
            </div>
            <div class="form__actions">
                <button type="submit" class="button" disabled=move || preview.pending().get()>"Preview derivation"</button>
                <button type="button" class="button button--primary" data-testid="publish-derivation"
                    disabled=move || publish.pending().get() on:click=move |_| run(true)>"Publish revision"</button>
                <p class="form__error" role="alert">{move || errors.general.get()}</p>
            </div>
        </form>
        {move || result.get().map(|p| {
            let c = p.counts;
            view! {
                <section aria-labelledby="derive-result" data-testid="derive-result">
                    <h2 class="section-title" id="derive-result">{match p.revision {
                        Some(n) => format!("Published as revision {n}"),
                        None => "What deriving would change".to_owned(),
                    }}</h2>
                    <div class="stats">
                        <StatTile label="Codes" value=p.codes.to_string()/>
                        <StatTile label="New" value=c.new.to_string()/>
                        <StatTile label="Increase" value=c.increase.to_string() detail=format!("{} moved by the notice period", p.deferred)/>
                        <StatTile label="Decrease" value=c.decrease.to_string()/>
                        <StatTile label="Unchanged" value=c.unchanged.to_string()/>
                        <StatTile label="Removed" value=c.removed.to_string()/>
                    </div>
                    {(!p.refused.is_empty()).then(|| view! { <LineErrors errors=p.refused.clone() caption="Increases refused by the notice period (they keep their rate)"/> })}
                    <div class="table-wrap">
                        <table class="table">
                            <caption class="visually-hidden">"Derived rates"</caption>
                            <thead><tr><th>"Code"</th><th>"Destination"</th><th class="num">"Sell rate / min"</th><th class="num">"Before"</th>
                                <th class="num">"Increment"</th><th>"Effective from (UTC)"</th><th>"Change"</th><th>"Note"</th></tr></thead>
                            <tbody>
                                {p.first_rows.into_iter().map(|r| view! {
                                    <tr><td><code>{r.prefix}</code></td><td>{r.destination}</td><td class="num">{r.rate}</td>
                                    <td class="num">{r.previous_rate.unwrap_or_default()}</td><td class="num">{r.increment}</td>
                                    <td>{utc(&r.effective_from)}</td><td>{r.change}</td><td>{r.note}</td></tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                </section>
            }
        })}
    }
}
