//! `/admin/carriers/{id}`: the carrier page — header, five settings tabs (Carrier
//! Details, Interconnects, Contact Details, Accounting Details, Credit Alerts) and
//! History. Each tab fetches only its own data when it is opened.

use domain::carrier::{
    timezones, validate_accounting, validate_carrier_details, validate_contact,
    validate_credit_alert, AccountingForm, BillingCycle, BillingMode, CarrierDetailsForm,
    CarrierStatus, CarrierType, ContactForm, ContactRole, CreditAlertForm,
};
use domain::interconnect::{validate_interconnect, Direction, InterconnectForm};
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use super::api::*;
use super::options_of;
use super::{choice_options, interconnect_columns, interconnect_href, StatusTag};
use crate::components::{
    load_in_browser, provide_unsaved_changes, save_action, submit, use_tab, use_toaster,
    CheckboxField, ConfirmDelete, DataTable, Dialog, ErrorPanel, FormActions, FormErrors, Loading,
    PageHeader, SelectField, TabPanel, TableState, Tabs, TextAreaField, TextField,
};
use crate::error::AppError;
use crate::{bind, bind_bool};

const TABS: [(&str, &str); 6] = [
    ("details", "Carrier Details"),
    ("interconnects", "Interconnects"),
    ("contacts", "Contact Details"),
    ("accounting", "Accounting Details"),
    ("alerts", "Credit Alerts"),
    ("history", "History"),
];

/// The carrier page.
#[component]
pub fn CarrierPage(id: i64) -> impl IntoView {
    let overview = Resource::new(move || id, fetch_carrier_overview);
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(data) => view! { <CarrierLoaded data/> }.into_any(),
                    Err(AppError::NotFound) => view! { <crate::components::NotFound/> }.into_any(),
                    Err(error) => view! { <ErrorPanel error on_retry=Callback::new(move |_| overview.refetch())/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn CarrierLoaded(data: CarrierOverview) -> impl IntoView {
    let id = data.id;
    // What the server last confirmed (optimistically ahead while a save runs).
    let saved = RwSignal::new(data);
    let tab = use_tab("details");
    provide_unsaved_changes();
    let toaster = use_toaster();
    let navigate = use_navigate();
    let remove = Action::new(move |_: &()| async move { delete_carrier(id).await });
    Effect::new(move |_| match remove.value().get() {
        Some(Ok(())) => {
            toaster.success("Carrier deleted");
            navigate("/admin/carriers", Default::default());
        }
        Some(Err(e)) => toaster.error(e.to_string()),
        None => {}
    });
    let title = Signal::derive(move || saved.with(|s| s.details.name.clone()));
    view! {
        {move || view! {
            <PageHeader title=title.get() description=saved.with(|s| format!(
                "{} · {} · {} · billing {}",
                s.details.account_code,
                CarrierType::parse(&s.details.carrier_type).map(|t| t.label()).unwrap_or(""),
                s.details.currency,
                s.billing_term,
            ))>
                <StatusTag status=saved.with(|s| s.details.status.clone())/>
                <ConfirmDelete what=format!("carrier {}", title.get()) label="Delete carrier"
                    on_confirm=Callback::new(move |_| { remove.dispatch(()); })/>
            </PageHeader>
        }}
        <p class="breadcrumb"><a href="/admin/carriers">"← All carriers"</a></p>
        <Tabs label="Carrier settings" tabs=TABS.to_vec() active=tab/>
        <TabPanel active=tab>
            {move || match tab.get().as_str() {
                "interconnects" => view! { <InterconnectsTab id/> }.into_any(),
                "contacts" => view! { <ContactsTab id/> }.into_any(),
                "accounting" => view! { <AccountingTab saved/> }.into_any(),
                "alerts" => view! { <CreditAlertsTab id currency=saved.with_untracked(|s| s.details.currency.clone())/> }.into_any(),
                "history" => view! { <HistoryTab id/> }.into_any(),
                _ => view! { <DetailsTab saved/> }.into_any(),
            }}
        </TabPanel>
    }
}

/// Runs a tab save optimistically: `saved` shows the new values at once; on error it
/// rolls back, the errors show under their fields, and one toast says what happened.
fn optimistic_save<F, Fut>(
    saved: RwSignal<CarrierOverview>,
    errors: FormErrors,
    what: &'static str,
    apply: impl Fn(&mut CarrierOverview) + 'static,
    on_confirmed: impl FnOnce(&CarrierOverview) + 'static,
    call: F,
) where
    F: FnOnce() -> Fut + 'static,
    Fut: std::future::Future<Output = Result<CarrierOverview, AppError>> + 'static,
{
    let toaster = use_toaster();
    let unsaved = use_context::<crate::components::UnsavedChanges>();
    let before = saved.get_untracked();
    saved.update(apply);
    errors.clear();
    leptos::task::spawn_local(async move {
        match call().await {
            Ok(confirmed) => {
                on_confirmed(&confirmed);
                saved.set(confirmed);
                if let Some(u) = unsaved {
                    u.0.set(false);
                }
                toaster.success(format!("{what} saved"));
            }
            Err(e) => {
                saved.set(before);
                errors.show(&e);
                toaster.error(format!("{what} not saved: {e}"));
            }
        }
    });
}

#[component]
fn DetailsTab(saved: RwSignal<CarrierOverview>) -> impl IntoView {
    let form = RwSignal::new(saved.get_untracked().details);
    let errors = FormErrors::new();
    let pending = RwSignal::new(false);
    let (picks, _) = load_in_browser(fetch_pick_lists);
    let unsaved = use_context::<crate::components::UnsavedChanges>();
    Effect::new(move |_| {
        let dirty = form.with(|f| saved.with(|s| *f != s.details));
        if let Some(u) = unsaved {
            u.0.set(dirty);
        }
    });
    let id = saved.get_untracked().id;
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let f: CarrierDetailsForm = form.get_untracked();
        if let Err(e) = validate_carrier_details(&f) {
            errors.show(&AppError::Validation(e));
            return;
        }
        pending.set(true);
        let applied = f.clone();
        optimistic_save(
            saved,
            errors,
            "Carrier details",
            move |s| s.details = applied.clone(),
            move |c| form.set(c.details.clone()),
            move || async move {
                let r = save_carrier_details(id, f).await;
                pending.set(false);
                r
            },
        );
    };
    let zones: Vec<(String, String)> = timezones().map(|z| (z.to_owned(), z.to_owned())).collect();
    let opts = move |f: fn(&PickLists) -> &Choices| {
        Signal::derive(move || {
            picks
                .get()
                .and_then(Result::ok)
                .map(|p| choice_options(f(&p)))
                .unwrap_or_default()
        })
    };
    let codecs = Signal::derive(move || {
        picks
            .get()
            .and_then(Result::ok)
            .map(|p| p.codecs)
            .unwrap_or_default()
    });
    view! {
        <form class="form" on:submit=submit data-testid="details-form">
            <div class="form__columns">
                <fieldset class="form__group">
                    <legend>"Identity"</legend>
                    <TextField label="Name" name="name" bind=bind!(form.name) errors/>
                    <TextField label="Account code" name="account_code" bind=bind!(form.account_code) errors/>
                    <SelectField label="Type" name="carrier_type" bind=bind!(form.carrier_type) errors options={options_of::<CarrierType>()}/>
                    <SelectField label="Status" name="status" bind=bind!(form.status) errors options={options_of::<CarrierStatus>()}
                        help="Inactive carriers keep their history but get no traffic."/>
                    <TextField label="Website" name="website" kind="url" bind=bind!(form.website) errors placeholder="https://example.net"/>
                    <TextAreaField label="Address" name="address" bind=bind!(form.address) errors/>
                </fieldset>
                <fieldset class="form__group">
                    <legend>"Commercial"</legend>
                    <TextField label="Currency" name="currency" bind=bind!(form.currency) errors help="ISO 4217, e.g. USD."/>
                    <SelectField label="Timezone for reports" name="timezone" bind=bind!(form.timezone) errors options=zones/>
                    <CheckboxField label="Trades as a customer (buys from us)" name="customer_enabled" bind=bind_bool!(form.customer_enabled) errors/>
                    <CheckboxField label="Trades as a supplier (sells to us)" name="supplier_enabled" bind=bind_bool!(form.supplier_enabled) errors/>
                    <SelectField label="Customer category" name="category_id" bind=bind!(form.category_id) errors
                        options=opts(|p| &p.categories) empty="None"/>
                    <SelectField label="Customer group" name="group_id" bind=bind!(form.group_id) errors
                        options=opts(|p| &p.groups) empty="None"/>
                </fieldset>
                <fieldset class="form__group">
                    <legend>"Technical"</legend>
                    <div class="field" role="group" aria-labelledby="codecs-label">
                        <span class="field__label" id="codecs-label">"Default codecs"</span>
                        <div class="checks">
                            {move || codecs.get().into_iter().map(|name| {
                                let id = format!("codec-{name}");
                                let for_id = id.clone();
                                let checked = { let name = name.clone(); move || form.with(|f| f.default_codecs.contains(&name)) };
                                let toggle = { let name = name.clone(); move |ev| {
                                    let on = event_target_checked(&ev);
                                    form.update(|f| {
                                        f.default_codecs.retain(|c| *c != name);
                                        if on { f.default_codecs.push(name.clone()) }
                                    })
                                }};
                                view! {
                                    <label class="check" for=for_id>
                                        <input type="checkbox" id=id checked=checked.clone() prop:checked=checked on:change=toggle/>
                                        {name.clone()}
                                    </label>
                                }
                            }).collect_view()}
                        </div>
                        <p class="field__help">"In the order ticked: the first is preferred."</p>
                        <p class="field__error" aria-live="polite">{move || errors.get("default_codecs")}</p>
                    </div>
                    <TextField label="NOC e-mail" name="noc_email" kind="email" bind=bind!(form.noc_email) errors/>
                    <TextField label="Max calls per second, all ingress interconnects (0 = unlimited)" name="max_cps" kind="number" bind=bind!(form.max_cps) errors
                        help="Calls over it are refused with 503, as each interconnect's own limit."/>
                    <TextField label="Max concurrent calls, all ingress interconnects (0 = unlimited)" name="max_channels" kind="number" bind=bind!(form.max_channels) errors/>
                </fieldset>
            </div>
            <FormActions label="Save details" pending errors/>
        </form>
    }
}

#[component]
fn AccountingTab(saved: RwSignal<CarrierOverview>) -> impl IntoView {
    let form = RwSignal::new(saved.get_untracked().accounting);
    let unsaved = use_context::<crate::components::UnsavedChanges>();
    Effect::new(move |_| {
        let dirty = form.with(|f| saved.with(|s| *f != s.accounting));
        if let Some(u) = unsaved {
            u.0.set(dirty);
        }
    });
    let errors = FormErrors::new();
    let pending = RwSignal::new(false);
    let id = saved.get_untracked().id;
    let currency = saved.get_untracked().details.currency;
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let f: AccountingForm = form.get_untracked();
        let term = match validate_accounting(&f) {
            Ok(a) => a.billing_term(),
            Err(e) => {
                errors.show(&AppError::Validation(e));
                return;
            }
        };
        pending.set(true);
        let applied = f.clone();
        optimistic_save(
            saved,
            errors,
            "Accounting details",
            move |s| {
                s.accounting = applied.clone();
                s.billing_term = term.clone();
            },
            move |c| form.set(c.accounting.clone()),
            move || async move {
                let r = save_carrier_accounting(id, f).await;
                pending.set(false);
                r
            },
        );
    };
    view! {
        <form class="form form--narrow" on:submit=submit data-testid="accounting-form">
            <SelectField label="Billing mode" name="billing_mode" bind=bind!(form.billing_mode) errors options={options_of::<BillingMode>()}
                help="Prepaid carriers are blocked at zero balance; postpaid ones at their credit limit."/>
            <TextField label=format!("Credit limit ({currency})") name="credit_limit" bind=bind!(form.credit_limit) errors input_class="num"/>
            <SelectField label="Billing cycle" name="billing_cycle" bind=bind!(form.billing_cycle) errors options={options_of::<BillingCycle>()}/>
            <TextField label="Payment terms (days)" name="payment_terms_days" kind="number" bind=bind!(form.payment_terms_days) errors
                help="Days after the invoice date; with the cycle this makes the billing term, e.g. weekly 7/3."/>
            <TextField label="Invoice e-mail" name="invoice_email" kind="email" bind=bind!(form.invoice_email) errors/>
            <TextField label="Tax id" name="tax_id" bind=bind!(form.tax_id) errors/>
            <p class="field__help">"Billing term: " <strong data-testid="billing-term">{move || saved.with(|s| s.billing_term.clone())}</strong></p>
            <FormActions label="Save accounting" pending errors/>
        </form>
    }
}

#[component]
fn InterconnectsTab(id: i64) -> impl IntoView {
    let (list, reload) = load_in_browser(move || carrier_interconnects(id));
    let open = RwSignal::new(false);
    view! {
        <div class="toolbar">
            <button type="button" class="button button--primary" data-testid="add-interconnect" on:click=move |_| open.set(true)>"Add interconnect"</button>
        </div>
        <DataTable caption="Interconnects of this carrier" columns=interconnect_columns(false)
            rows=Signal::derive(move || list.with(|l| l.as_ref().and_then(|r| r.as_ref().ok()).cloned().unwrap_or_default()))
            state=Signal::derive(move || match list.get() {
                None => TableState::Loading,
                Some(Ok(_)) => TableState::Ready,
                Some(Err(e)) => TableState::Failed(e),
            })
            row_href=interconnect_href empty="No interconnect yet. Add the customer (ingress) or supplier (egress) side."
            on_retry=reload testid="carrier-interconnects"/>
        <Dialog title="Add interconnect" open>
            <NewInterconnectForm carrier_id=id/>
        </Dialog>
    }
}

#[component]
fn NewInterconnectForm(carrier_id: i64) -> impl IntoView {
    let form = RwSignal::new(InterconnectForm {
        direction: "ingress".into(),
        status: "active".into(),
        ..Default::default()
    });
    let errors = FormErrors::new();
    let navigate = use_navigate();
    let (picks, _) = load_in_browser(fetch_pick_lists);
    let create = save_action(
        errors,
        "Interconnect added",
        "Interconnect not added",
        move |f: InterconnectForm| create_interconnect(carrier_id, f),
        move |id| {
            navigate(
                &format!("/admin/carriers/{carrier_id}/interconnects/{id}"),
                Default::default(),
            );
        },
    );
    let opts = move |f: fn(&PickLists) -> &Choices| {
        Signal::derive(move || {
            picks
                .get()
                .and_then(Result::ok)
                .map(|p| choice_options(f(&p)))
                .unwrap_or_default()
        })
    };
    view! {
        <form class="form" on:submit=move |ev| { ev.prevent_default(); submit(form, errors, validate_interconnect, create); }>
            <TextField label="Name" name="name" prefix="ic" bind=bind!(form.name) errors/>
            <SelectField label="Direction" name="direction" prefix="ic" bind=bind!(form.direction) errors options={options_of::<Direction>()}/>
            <TextField label="Tech prefix" name="tech_prefix" prefix="ic" bind=bind!(form.tech_prefix) errors
                help="Digits the carrier puts before the number to pick a service; stripped on ingress."/>
            <SelectField label="POP" name="pop_id" prefix="ic" bind=bind!(form.pop_id) errors options=opts(|p| &p.pops) empty="None"/>
            <SelectField label="Channel plan" name="channel_plan_id" prefix="ic" bind=bind!(form.channel_plan_id) errors
                options=opts(|p| &p.channel_plans) empty="None"/>
            <FormActions label="Add interconnect" pending=create.pending() errors/>
        </form>
    }
}

/// A list of saved items with add/edit in a dialog and ask-first delete: the shape the
/// Contact Details and Credit Alerts tabs share.
#[component]
fn ContactsTab(id: i64) -> impl IntoView {
    let (list, reload) = load_in_browser(move || carrier_contacts(id));
    move || match list.get() {
        None => view! { <Loading/> }.into_any(),
        Some(Ok(rows)) => view! { <ContactsLoaded id rows/> }.into_any(),
        Some(Err(error)) => view! { <ErrorPanel error on_retry=reload/> }.into_any(),
    }
}

#[component]
fn ContactsLoaded(id: i64, rows: Vec<SavedContact>) -> impl IntoView {
    let items = RwSignal::new(rows);
    let editing = RwSignal::new(None::<Option<SavedContact>>);
    let open = RwSignal::new(false);
    Effect::new(move |_| {
        if !open.get() {
            editing.set(None)
        }
    });
    let toaster = use_toaster();
    let remove = move |c: SavedContact| {
        // Optimistic: gone at once, back if the server refuses.
        let before = items.get_untracked();
        items.update(|v| v.retain(|x| x.id != c.id));
        leptos::task::spawn_local(async move {
            match delete_contact(id, c.id).await {
                Ok(()) => toaster.success("Contact deleted"),
                Err(e) => {
                    items.set(before);
                    toaster.error(format!("Contact not deleted: {e}"));
                }
            }
        });
    };
    view! {
        <div class="toolbar">
            <button type="button" class="button button--primary" data-testid="add-contact"
                on:click=move |_| { editing.set(Some(None)); open.set(true) }>"Add contact"</button>
        </div>
        {move || match items.with(Vec::is_empty) {
            true => view! { <p class="empty">"No contacts yet. Add who handles billing, rates and the NOC."</p> }.into_any(),
            false => view! {
                <div class="table-wrap">
                    <table class="table" data-testid="contacts-table">
                        <caption class="visually-hidden">"Contacts"</caption>
                        <thead><tr><th scope="col">"Role"</th><th scope="col">"Name"</th><th scope="col">"E-mail"</th><th scope="col">"Phone"</th><th scope="col">"Actions"</th></tr></thead>
                        <tbody>
                            <For each=move || items.get() key=|c| (c.id, format!("{:?}", c.form)) let:c>
                                {
                                    let edit = c.clone();
                                    let del = c.clone();
                                    view! {
                                        <tr>
                                            <td>{ContactRole::parse(&c.form.role).map(|r| r.label()).unwrap_or("")}</td>
                                            <td>{c.form.name.clone()}</td>
                                            <td>{c.form.email.clone()}</td>
                                            <td class="num">{c.form.phone.clone()}</td>
                                            <td class="actions">
                                                <button type="button" class="button button--small" aria-label=format!("Edit {}", c.form.name)
                                                    on:click=move |_| { editing.set(Some(Some(edit.clone()))); open.set(true) }>"Edit"</button>
                                                <ConfirmDelete what=format!("contact {}", c.form.name) on_confirm=Callback::new(move |_| remove(del.clone()))/>
                                            </td>
                                        </tr>
                                    }
                                }
                            </For>
                        </tbody>
                    </table>
                </div>
            }.into_any(),
        }}
        <Dialog title="Contact" open>
            {move || editing.get().map(|existing| view! {
                <ContactEditor carrier_id=id existing on_saved=Callback::new(move |c: SavedContact| {
                    items.update(|v| match v.iter_mut().find(|x| x.id == c.id) {
                        Some(slot) => *slot = c.clone(),
                        None => v.push(c.clone()),
                    });
                    open.set(false);
                })/>
            })}
        </Dialog>
    }
}

#[component]
fn ContactEditor(
    carrier_id: i64,
    existing: Option<SavedContact>,
    on_saved: Callback<SavedContact>,
) -> impl IntoView {
    let id = existing.as_ref().map(|c| c.id);
    let form = RwSignal::new(existing.map(|c| c.form).unwrap_or_else(|| ContactForm {
        role: "billing".into(),
        ..Default::default()
    }));
    let errors = FormErrors::new();
    let save = save_action(
        errors,
        "Contact saved",
        "Contact not saved",
        move |f: ContactForm| save_contact(carrier_id, id, f),
        move |c| {
            on_saved.run(c);
        },
    );
    view! {
        <form class="form" on:submit=move |ev| { ev.prevent_default(); submit(form, errors, validate_contact, save); }>
            <SelectField label="Role" name="role" prefix="contact" bind=bind!(form.role) errors options={options_of::<ContactRole>()}/>
            <TextField label="Name" name="name" prefix="contact" bind=bind!(form.name) errors/>
            <TextField label="E-mail" name="email" prefix="contact" kind="email" bind=bind!(form.email) errors/>
            <TextField label="Phone" name="phone" prefix="contact" kind="tel" bind=bind!(form.phone) errors placeholder="+44 20 7946 0000"/>
            <FormActions label="Save contact" pending=save.pending() errors/>
        </form>
    }
}

#[component]
fn CreditAlertsTab(id: i64, currency: String) -> impl IntoView {
    let (list, reload) = load_in_browser(move || carrier_credit_alerts(id));
    let currency = StoredValue::new(currency);
    move || match list.get() {
        None => view! { <Loading/> }.into_any(),
        Some(Ok(rows)) => {
            view! { <CreditAlertsLoaded id rows currency=currency.get_value()/> }.into_any()
        }
        Some(Err(error)) => view! { <ErrorPanel error on_retry=reload/> }.into_any(),
    }
}

#[component]
fn CreditAlertsLoaded(id: i64, rows: Vec<SavedCreditAlert>, currency: String) -> impl IntoView {
    let items = RwSignal::new(rows);
    let editing = RwSignal::new(None::<Option<SavedCreditAlert>>);
    let open = RwSignal::new(false);
    let toaster = use_toaster();
    let remove = move |a: SavedCreditAlert| {
        let before = items.get_untracked();
        items.update(|v| v.retain(|x| x.id != a.id));
        leptos::task::spawn_local(async move {
            match delete_credit_alert(id, a.id).await {
                Ok(()) => toaster.success("Credit alert deleted"),
                Err(e) => {
                    items.set(before);
                    toaster.error(format!("Credit alert not deleted: {e}"));
                }
            }
        });
    };
    let cur = currency.clone();
    let currency = StoredValue::new(currency);
    view! {
        <div class="toolbar">
            <button type="button" class="button button--primary" data-testid="add-credit-alert"
                on:click=move |_| { editing.set(Some(None)); open.set(true) }>"Add credit alert"</button>
        </div>
        {move || match items.with(Vec::is_empty) {
            true => view! { <p class="empty">"No credit alerts. Add one to hear before this carrier runs out of credit."</p> }.into_any(),
            false => {
                let cur = cur.clone();
                view! {
                <div class="table-wrap">
                    <table class="table" data-testid="alerts-table">
                        <caption class="visually-hidden">"Credit alerts"</caption>
                        <thead><tr>
                            <th scope="col" class="num">{format!("Falls below ({cur})")}</th>
                            <th scope="col">"Recipients"</th><th scope="col">"Repeat"</th><th scope="col">"Enabled"</th><th scope="col">"Last fired (UTC)"</th><th scope="col">"Actions"</th>
                        </tr></thead>
                        <tbody>
                            <For each=move || items.get() key=|a| (a.id, format!("{:?}", a.form)) let:a>
                                {
                                    let edit = a.clone();
                                    let del = a.clone();
                                    view! {
                                        <tr>
                                            <td class="num">{a.form.threshold.clone()}</td>
                                            <td>{a.form.recipients.replace('\n', ", ")}</td>
                                            <td>{if a.form.repeat_every_hours.is_empty() { "Once until it recovers".to_owned() } else { format!("Every {} h", a.form.repeat_every_hours) }}</td>
                                            <td>{if a.form.enabled { "Yes" } else { "No" }}</td>
                                            <td class="num">{match (&a.last_fired_at, a.armed) {
                                                (None, _) => "never".to_owned(),
                                                (Some(at), true) => at.get(..16).unwrap_or(at).replace('T', " "),
                                                (Some(at), false) => format!("{} — below; re-arms when the credit recovers", at.get(..16).unwrap_or(at).replace('T', " ")),
                                            }}</td>
                                            <td class="actions">
                                                <button type="button" class="button button--small" aria-label=format!("Edit alert at {}", a.form.threshold)
                                                    on:click=move |_| { editing.set(Some(Some(edit.clone()))); open.set(true) }>"Edit"</button>
                                                <ConfirmDelete what=format!("the alert at {}", a.form.threshold) on_confirm=Callback::new(move |_| remove(del.clone()))/>
                                            </td>
                                        </tr>
                                    }
                                }
                            </For>
                        </tbody>
                    </table>
                </div>
            }.into_any()},
        }}
        <Dialog title="Credit alert" open>
            {move || editing.get().map(|existing| view! {
                <CreditAlertEditor carrier_id=id currency=currency.get_value() existing on_saved=Callback::new(move |a: SavedCreditAlert| {
                    items.update(|v| match v.iter_mut().find(|x| x.id == a.id) {
                        Some(slot) => *slot = a.clone(),
                        None => v.push(a.clone()),
                    });
                    open.set(false);
                })/>
            })}
        </Dialog>
    }
}

#[component]
fn CreditAlertEditor(
    carrier_id: i64,
    currency: String,
    existing: Option<SavedCreditAlert>,
    on_saved: Callback<SavedCreditAlert>,
) -> impl IntoView {
    let id = existing.as_ref().map(|a| a.id);
    let form = RwSignal::new(existing.map(|a| a.form).unwrap_or_else(|| CreditAlertForm {
        enabled: true,
        ..Default::default()
    }));
    let errors = FormErrors::new();
    let save = save_action(
        errors,
        "Credit alert saved",
        "Credit alert not saved",
        move |f: CreditAlertForm| save_credit_alert(carrier_id, id, f),
        move |a| {
            on_saved.run(a);
        },
    );
    view! {
        <form class="form" on:submit=move |ev| { ev.prevent_default(); submit(form, errors, validate_credit_alert, save); }>
            <TextField label=format!("Alert when the balance falls below ({currency})") name="threshold" prefix="alert"
                bind=bind!(form.threshold) errors input_class="num"/>
            <TextAreaField label="Recipients" name="recipients" prefix="alert" bind=bind!(form.recipients) errors
                help="E-mail addresses, one per line or separated by commas."/>
            <TextField label="Repeat every (hours)" name="repeat_every_hours" prefix="alert" kind="number"
                bind=bind!(form.repeat_every_hours) errors help="Empty: alert once until the balance recovers."/>
            <CheckboxField label="Enabled" name="enabled" prefix="alert" bind=bind_bool!(form.enabled) errors/>
            <FormActions label="Save credit alert" pending=save.pending() errors/>
        </form>
    }
}

#[component]
fn HistoryTab(id: i64) -> impl IntoView {
    let entries = RwSignal::new(Vec::<HistoryEntry>::new());
    let state = RwSignal::new(TableState::Loading);
    let done = RwSignal::new(false);
    let load = move || {
        let before = entries.with_untracked(|e| e.last().map(|x| x.id));
        state.set(TableState::Loading);
        leptos::task::spawn_local(async move {
            match carrier_history(id, before).await {
                Ok(rows) => {
                    done.set(rows.len() < 50);
                    entries.update(|e| e.extend(rows));
                    state.set(TableState::Ready);
                }
                Err(e) => state.set(TableState::Failed(e)),
            }
        });
    };
    Effect::new(move |_| load());
    view! {
        <div class="table-wrap">
            <table class="table" data-testid="history-table">
                <caption class="visually-hidden">"History of changes"</caption>
                <thead><tr><th scope="col">"When (UTC)"</th><th scope="col">"Who"</th><th scope="col">"What"</th><th scope="col">"Changes"</th></tr></thead>
                <tbody>
                    <For each=move || entries.get() key=|e| e.id let:e>
                        <tr>
                            <td class="num" title=e.occurred_at.clone()>{e.occurred_at.get(..19).unwrap_or_default().replace('T', " ")}</td>
                            <td>{e.actor.clone()}</td>
                            <td>{format!("{} {} #{}", e.action, e.entity.replace('_', " "), e.entity_id)}</td>
                            <td>
                                <ul class="changes">
                                    {e.changes.iter().map(|(field, before, after)| view! {
                                        <li>
                                            <strong>{field.replace('_', " ")}</strong>": "
                                            <span class="changes__before">{before.clone().unwrap_or_else(|| "—".into())}</span>
                                            " → "
                                            <span class="changes__after">{after.clone().unwrap_or_else(|| "—".into())}</span>
                                        </li>
                                    }).collect_view()}
                                </ul>
                            </td>
                        </tr>
                    </For>
                </tbody>
            </table>
        </div>
        {move || match state.get() {
            TableState::Loading => view! { <Loading/> }.into_any(),
            TableState::Failed(error) => view! { <ErrorPanel error/> }.into_any(),
            TableState::Ready if entries.with(Vec::is_empty) => view! { <p class="empty">"Nothing recorded yet."</p> }.into_any(),
            TableState::Ready => view! {
                <Show when=move || !done.get()>
                    <button type="button" class="button" on:click=move |_| load()>"Load older changes"</button>
                </Show>
            }.into_any(),
        }}
    }
}
