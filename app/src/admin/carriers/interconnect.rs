//! `/admin/carriers/{carrier}/interconnects/{id}`: an interconnect's settings. Ingress
//! (customer) interconnects have five tabs — Services, Validation, Translation, Media,
//! Signalling; egress (supplier) ones also Monitoring. Each tab saves on its own.

use domain::interconnect::{
    validate_address, validate_interconnect, validate_media, validate_monitoring,
    validate_number_rules, validate_signalling, validate_translation_rule, AddressForm,
    CodecChoice, Direction, DtmfMode, MediaMode, NumberTarget, PaiMode, PrivacyMode,
    TranslationKind, TranslationRuleForm, Translator, Transport,
};
use domain::FieldErrors;
use leptos::prelude::*;

use super::api::*;
use super::options_of;
use super::{choice_options, StatusTag};
use crate::components::{
    load_in_browser, use_tab, use_toaster, CheckboxField, ConfirmDelete, ErrorPanel, FormActions,
    FormErrors, Loading, PageHeader, SelectField, TabPanel, Tabs, TextAreaField, TextField,
};
use crate::error::AppError;
use crate::{bind, bind_bool};

/// The interconnect page.
#[component]
pub fn InterconnectPage(id: i64) -> impl IntoView {
    let settings = Resource::new(move || id, fetch_interconnect_settings);
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match settings.await {
                    Ok(s) => view! { <InterconnectLoaded s/> }.into_any(),
                    Err(AppError::NotFound) => view! { <crate::components::NotFound/> }.into_any(),
                    Err(error) => view! { <ErrorPanel error on_retry=Callback::new(move |_| settings.refetch())/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Saves a tab: validates in the browser first (same `domain` code as the server), then
/// calls the server; errors go under their fields, one toast either way.
fn save_tab<T, Fut>(
    errors: FormErrors,
    pending: RwSignal<bool>,
    what: &'static str,
    local: Result<(), FieldErrors>,
    call: impl FnOnce() -> Fut + 'static,
    on_ok: impl FnOnce(T) + 'static,
) where
    Fut: std::future::Future<Output = Result<T, AppError>> + 'static,
    T: 'static,
{
    if let Err(e) = local {
        errors.show(&AppError::Validation(e));
        return;
    }
    let toaster = use_toaster();
    errors.clear();
    pending.set(true);
    leptos::task::spawn_local(async move {
        let result = call().await;
        pending.set(false);
        match result {
            Ok(value) => {
                on_ok(value);
                toaster.success(format!("{what} saved"));
            }
            Err(e) => {
                errors.show(&e);
                toaster.error(format!("{what} not saved: {e}"));
            }
        }
    });
}

#[component]
fn InterconnectLoaded(s: InterconnectSettings) -> impl IntoView {
    let id = s.id;
    let egress = s.direction == Direction::Egress.as_str();
    let mut tabs = vec![
        ("services", "Services"),
        ("validation", "Validation"),
        ("translation", "Translation"),
        ("media", "Media"),
        ("signalling", "Signalling"),
    ];
    if egress {
        tabs.push(("monitoring", "Monitoring"));
    }
    let tab = use_tab("services");
    let name = RwSignal::new(s.general.name.clone());
    let status = RwSignal::new(s.general.status.clone());
    let s = StoredValue::new(s);
    let direction_label = Direction::parse(&s.with_value(|s| s.direction.clone()))
        .map(|d| d.label())
        .unwrap_or("");
    let toaster = use_toaster();
    let navigate = leptos_router::hooks::use_navigate();
    let carrier_id = s.with_value(|s| s.carrier_id);
    let remove = Action::new(move |_: &()| async move { delete_interconnect(id).await });
    Effect::new(move |_| match remove.value().get() {
        Some(Ok(())) => {
            toaster.success("Interconnect deleted");
            navigate(
                &format!("/admin/carriers/{carrier_id}?tab=interconnects"),
                Default::default(),
            );
        }
        Some(Err(e)) => toaster.error(e.to_string()),
        None => {}
    });
    view! {
        {move || view! {
            <PageHeader title=name.get() description=s.with_value(|s| format!("{} interconnect of {}", direction_label, s.carrier_name))>
                <StatusTag status=status.get()/>
                <ConfirmDelete what=format!("interconnect {}", name.get()) label="Delete interconnect"
                    on_confirm=Callback::new(move |_| { remove.dispatch(()); })/>
            </PageHeader>
        }}
        <p class="breadcrumb">
            <a href=s.with_value(|s| format!("/admin/carriers/{}?tab=interconnects", s.carrier_id))>
                {s.with_value(|s| format!("← {}", s.carrier_name))}
            </a>
        </p>
        <Tabs label="Interconnect settings" tabs active=tab/>
        <TabPanel active=tab>
            {move || match tab.get().as_str() {
                "validation" => view! { <ValidationTab id initial=s.with_value(|s| s.number_rules.clone())/> }.into_any(),
                "translation" => view! { <TranslationTab id initial=s.with_value(|s| s.translation.clone())/> }.into_any(),
                "media" => view! { <MediaTab id initial=s.with_value(|s| (s.media.clone(), s.codecs.clone()))/> }.into_any(),
                "signalling" => view! { <SignallingTab id s/> }.into_any(),
                "monitoring" if egress => view! { <MonitoringTab id initial=s.with_value(|s| s.monitoring.clone())/> }.into_any(),
                _ => view! { <ServicesTab id s name status/> }.into_any(),
            }}
        </TabPanel>
    }
}

#[component]
fn ServicesTab(
    id: i64,
    s: StoredValue<InterconnectSettings>,
    name: RwSignal<String>,
    status: RwSignal<String>,
) -> impl IntoView {
    let form = RwSignal::new(s.with_value(|s| s.general.clone()));
    let chosen = RwSignal::new(s.with_value(|s| s.service_ids.clone()));
    let errors = FormErrors::new();
    let service_errors = FormErrors::new();
    let pending = RwSignal::new(false);
    let services_pending = RwSignal::new(false);
    let (picks, _) = load_in_browser(fetch_pick_lists);
    let wanted = if s.with_value(|s| s.direction == "ingress") {
        "customer"
    } else {
        "supplier"
    };
    let opts = move |f: fn(&PickLists) -> &Choices| {
        Signal::derive(move || {
            picks
                .get()
                .and_then(Result::ok)
                .map(|p| choice_options(f(&p)))
                .unwrap_or_default()
        })
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let f = form.get_untracked();
        let local = validate_interconnect(&f).map(|_| ());
        // Optimistic: the header shows the new name and status at once, and goes back
        // if the server refuses.
        let before = (name.get_untracked(), status.get_untracked());
        if local.is_ok() {
            name.set(f.name.clone());
            status.set(f.status.clone());
        }
        save_tab(
            errors,
            pending,
            "Interconnect",
            local,
            move || async move {
                let result = save_interconnect_general(id, f).await;
                if result.is_err() {
                    name.set(before.0);
                    status.set(before.1);
                }
                result
            },
            |()| (),
        );
    };
    let submit_services = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let ids = chosen.get_untracked();
        save_tab(
            service_errors,
            services_pending,
            "Services",
            Ok(()),
            move || save_interconnect_services(id, ids),
            move |saved| chosen.set(saved),
        );
    };
    view! {
        <div class="form__columns">
            <form class="form form__group" on:submit=submit data-testid="general-form">
                <h2 class="form__title">"General"</h2>
                <TextField label="Name" name="name" bind=bind!(form.name) errors/>
                <SelectField label="Status" name="status" bind=bind!(form.status) errors options={options_of::<domain::carrier::CarrierStatus>()}/>
                <TextField label="Tech prefix" name="tech_prefix" bind=bind!(form.tech_prefix) errors
                    help="Digits before the dialled number that pick the service; stripped on ingress."/>
                <SelectField label="POP" name="pop_id" bind=bind!(form.pop_id) errors options=opts(|p| &p.pops) empty="None"/>
                <SelectField label="Channel plan" name="channel_plan_id" bind=bind!(form.channel_plan_id) errors options=opts(|p| &p.channel_plans) empty="None"/>
                <FormActions label="Save interconnect" pending errors/>
            </form>
            <form class="form form__group" on:submit=submit_services data-testid="services-form">
                <h2 class="form__title">{if wanted == "customer" { "Services it buys" } else { "Services it sells" }}</h2>
                <div class="checks checks--column" role="group" aria-label="Services">
                    {move || {
                        let list: Vec<_> = picks.get().and_then(Result::ok).map(|p| p.services).unwrap_or_default()
                            .into_iter().filter(|(_, _, d)| d == wanted).collect();
                        if list.is_empty() {
                            return view! { <p class="empty">"No " {wanted} " services yet. Add them under Carriers → Services."</p> }.into_any();
                        }
                        list.into_iter().map(|(sid, sname, _)| {
                            let input_id = format!("service-{sid}");
                            let for_id = input_id.clone();
                            view! {
                                <label class="check" for=for_id>
                                    <input type="checkbox" id=input_id checked=move || chosen.with(|c| c.contains(&sid)) prop:checked=move || chosen.with(|c| c.contains(&sid))
                                        on:change=move |ev| { let on = event_target_checked(&ev); chosen.update(|c| { c.retain(|x| *x != sid); if on { c.push(sid) } }) }/>
                                    {sname}
                                </label>
                            }
                        }).collect_view().into_any()
                    }}
                </div>
                <p class="field__help">"Rate plans attach to these services once rate plans exist."</p>
                <p class="field__error" aria-live="polite">{move || service_errors.get("services")}</p>
                <FormActions label="Save services" pending=services_pending errors=service_errors/>
            </form>
        </div>
    }
}

#[component]
fn ValidationTab(id: i64, initial: domain::interconnect::NumberRulesForm) -> impl IntoView {
    let form = RwSignal::new(initial);
    let errors = FormErrors::new();
    let pending = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let f = form.get_untracked();
        let local = validate_number_rules(&f).map(|_| ());
        save_tab(
            errors,
            pending,
            "Validation rules",
            local,
            move || save_number_rules(id, f),
            move |saved| form.set(saved),
        );
    };
    view! {
        <form class="form form--narrow" on:submit=submit data-testid="validation-form">
            <TextAreaField label="B-number length per country" name="length_rules" bind=bind!(form.length_rules) errors rows=4
                help="One rule per line: country code, then the E.164 length range including it, e.g. `44 12-13` or `1 11` (ITU-T E.164: at most 15 digits)."/>
            <TextAreaField label="Allowed B-number prefixes" name="allowed_prefixes" bind=bind!(form.allowed_prefixes) errors
                help="Empty allows every destination. Separate prefixes with commas or lines."/>
            <TextAreaField label="Blocked B-number prefixes" name="blocked_prefixes" bind=bind!(form.blocked_prefixes) errors
                help="Checked before the allowed list, e.g. premium-rate ranges."/>
            <CheckboxField label="A-number (CLI) required" name="cli_required" bind=bind_bool!(form.cli_required) errors/>
            <TextField label="CLI format (regular expression)" name="cli_format" bind=bind!(form.cli_format) errors placeholder="^[1-9][0-9]{7,14}$"/>
            <CheckboxField label="Reject anonymous callers" name="reject_anonymous" bind=bind_bool!(form.reject_anonymous) errors/>
            <FormActions label="Save validation" pending errors/>
        </form>
    }
}

#[component]
fn TranslationTab(id: i64, initial: Vec<TranslationRuleForm>) -> impl IntoView {
    let rules = RwSignal::new(initial);
    let errors = FormErrors::new();
    let pending = RwSignal::new(false);
    let try_a = RwSignal::new(String::new());
    let try_b = RwSignal::new(String::new());
    let validate_all = move |list: &[TranslationRuleForm]| {
        let mut all = FieldErrors::new();
        let mut valid = Vec::new();
        for (i, f) in list.iter().enumerate() {
            match validate_translation_rule(f) {
                Ok(r) => valid.push(r),
                Err(e) => {
                    for err in e.0 {
                        all.add(
                            format!("rules.{i}.{}", err.field),
                            format!("Rule {}: {}", i + 1, err.message),
                        );
                    }
                }
            }
        }
        all.into_result(valid)
    };
    // "Try it": the switch path's own Translator, run here on the rules as they stand.
    let outcome = Memo::new(move |_| {
        let list = rules.get();
        let (a, b) = (try_a.get(), try_b.get());
        if a.is_empty() && b.is_empty() {
            return None;
        }
        Some(match validate_all(&list) {
            Err(e) => Err(format!("Fix the rules first: {e}")),
            Ok(valid) => Translator::new(&valid)
                .map(|t| t.apply(&a, &b))
                .map_err(|e| e.to_string()),
        })
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let list = rules.get_untracked();
        let local = validate_all(&list).map(|_| ());
        save_tab(
            errors,
            pending,
            "Translation rules",
            local,
            move || save_translation(id, list),
            move |saved| rules.set(saved),
        );
    };
    let field = move |i: usize,
                      name: &'static str,
                      label: &'static str,
                      get: fn(&TranslationRuleForm) -> String,
                      set: fn(&mut TranslationRuleForm, String)| {
        let input_id = format!("rule-{i}-{name}");
        let error_id = format!("{input_id}-error");
        let key = format!("rules.{i}.{name}");
        view! {
            <div class="field">
                <label class="field__label" for=input_id.clone()>{label}</label>
                <input class="input" id=input_id aria-describedby=error_id.clone()
                    prop:value=move || rules.with(|r| r.get(i).map(get).unwrap_or_default())
                    on:input=move |ev| { let v = event_target_value(&ev); rules.update(|r| if let Some(x) = r.get_mut(i) { set(x, v) }) }/>
                <p class="field__error" id=error_id aria-live="polite">{move || errors.get(&key)}</p>
            </div>
        }
    };
    let select = move |i: usize,
                       name: &'static str,
                       label: &'static str,
                       options: Vec<(String, String)>,
                       get: fn(&TranslationRuleForm) -> String,
                       set: fn(&mut TranslationRuleForm, String)| {
        let input_id = format!("rule-{i}-{name}");
        view! {
            <div class="field">
                <label class="field__label" for=input_id.clone()>{label}</label>
                <select class="input" id=input_id on:change=move |ev| { let v = event_target_value(&ev); rules.update(|r| if let Some(x) = r.get_mut(i) { set(x, v) }) }>
                    {options.into_iter().map(|(v, l)| {
                        let v2 = v.clone();
                        view! { <option value=v selected=move || rules.with(|r| r.get(i).map(get).as_deref() == Some(v2.as_str()))>{l}</option> }
                    }).collect_view()}
                </select>
            </div>
        }
    };
    view! {
        <form class="form" on:submit=submit data-testid="translation-form">
            <p class="field__help">"Rules run top to bottom; each rewrites the A- or B-number the previous rules left."</p>
            <ol class="rules">
                {move || (0..rules.with(Vec::len)).map(|i| {
                    let kind = move || rules.with(|r| r.get(i).map(|x| x.kind.clone()).unwrap_or_default());
                    view! {
                        <li class="rules__rule" data-testid=format!("rule-{i}")>
                            {select(i, "target", "Number", options_of::<NumberTarget>(), |r| r.target.clone(), |r, v| r.target = v)}
                            {select(i, "kind", "Action", options_of::<TranslationKind>(), |r| r.kind.clone(), |r, v| r.kind = v)}
                            {move || match kind().as_str() {
                                "strip" => field(i, "digits", "Digits to strip", |r| r.digits.clone(), |r, v| r.digits = v).into_any(),
                                "prepend" => field(i, "value", "Digits to prepend", |r| r.value.clone(), |r, v| r.value = v).into_any(),
                                _ => view! {
                                    {field(i, "pattern", "Pattern (regex)", |r| r.pattern.clone(), |r, v| r.pattern = v)}
                                    {field(i, "replacement", "Replacement", |r| r.replacement.clone(), |r, v| r.replacement = v)}
                                }.into_any(),
                            }}
                            <div class="rules__actions">
                                <button type="button" class="button button--small" aria-label=format!("Move rule {} up", i + 1) disabled=i == 0
                                    on:click=move |_| rules.update(|r| r.swap(i - 1, i))>"↑"</button>
                                <button type="button" class="button button--small" aria-label=format!("Move rule {} down", i + 1)
                                    disabled={move || i + 1 >= rules.with(Vec::len)}
                                    on:click=move |_| rules.update(|r| r.swap(i, i + 1))>"↓"</button>
                                <button type="button" class="button button--small button--danger" aria-label=format!("Remove rule {}", i + 1)
                                    on:click=move |_| rules.update(|r| { r.remove(i); })>"Remove"</button>
                            </div>
                        </li>
                    }
                }).collect_view()}
            </ol>
            <div class="toolbar">
                <button type="button" class="button" data-testid="add-rule" on:click=move |_| rules.update(|r| r.push(TranslationRuleForm {
                    target: "b".into(), kind: "strip".into(), ..Default::default()
                }))>"Add rule"</button>
            </div>
            <FormActions label="Save translation" pending errors/>
        </form>
        <section class="try-it" aria-labelledby="try-it-title">
            <h2 id="try-it-title">"Try it"</h2>
            <p class="field__help">"Runs the rules above, saved or not, with the code the switch path uses."</p>
            <div class="form__row">
                <div class="field">
                    <label class="field__label" for="try-a">"A-number in"</label>
                    <input class="input" id="try-a" prop:value=try_a on:input=move |ev| try_a.set(event_target_value(&ev))/>
                </div>
                <div class="field">
                    <label class="field__label" for="try-b">"B-number in"</label>
                    <input class="input" id="try-b" prop:value=try_b on:input=move |ev| try_b.set(event_target_value(&ev))/>
                </div>
            </div>
            <output class="try-it__result" data-testid="try-it-result" for="try-a try-b">
                {move || match outcome.get() {
                    None => view! { <span>"Type a number to see what the switch would send."</span> }.into_any(),
                    Some(Err(e)) => view! { <span class="form__error">{e}</span> }.into_any(),
                    Some(Ok(t)) => view! {
                        <p><strong>"A: "</strong><code data-testid="try-a-out">{try_a.get()} " → " {t.a.clone()}</code></p>
                        <p><strong>"B: "</strong><code data-testid="try-b-out">{try_b.get()} " → " {t.b.clone()}</code></p>
                        <ol class="try-it__steps">
                            {t.steps.iter().map(|s| view! {
                                <li>{format!("Rule {} ({}): {} → {}", s.rule_index + 1, s.target.label(), s.before, s.after)}</li>
                            }).collect_view()}
                        </ol>
                    }.into_any(),
                }}
            </output>
        </section>
    }
}

#[component]
fn MediaTab(
    id: i64,
    initial: (domain::interconnect::MediaForm, Vec<CodecChoice>),
) -> impl IntoView {
    let form = RwSignal::new(initial.0);
    let codecs = RwSignal::new(initial.1);
    let errors = FormErrors::new();
    let pending = RwSignal::new(false);
    let (picks, _) = load_in_browser(fetch_pick_lists);
    let to_add = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let f = form.get_untracked();
        let list = codecs.get_untracked();
        let local = validate_media(&f).map(|_| ());
        save_tab(
            errors,
            pending,
            "Media settings",
            local,
            move || save_media(id, f, list),
            |()| (),
        );
    };
    let available = Signal::derive(move || {
        let have = codecs.get();
        picks
            .get()
            .and_then(Result::ok)
            .map(|p| p.codecs)
            .unwrap_or_default()
            .into_iter()
            .filter(|c| !have.iter().any(|h| h.codec == *c))
            .map(|c| (c.clone(), c))
            .collect::<Vec<_>>()
    });
    view! {
        <form class="form" on:submit=submit data-testid="media-form">
            <div class="form__columns">
                <fieldset class="form__group">
                    <legend>"Codecs, in preference order"</legend>
                    <ol class="codecs" data-testid="codec-list">
                        {move || (0..codecs.with(Vec::len)).map(|i| {
                            let name = codecs.with(|c| c[i].codec.clone());
                            let relay_id = format!("relay-{i}");
                            let relay_for = relay_id.clone();
                            view! {
                                <li class="codecs__item">
                                    <span class="codecs__name">{name.clone()}</span>
                                    <label class="check" for=relay_for>
                                        <input type="checkbox" id=relay_id checked=move || codecs.with(|c| c.get(i).is_some_and(|x| x.relay_only))
                                            prop:checked=move || codecs.with(|c| c.get(i).is_some_and(|x| x.relay_only))
                                            on:change=move |ev| { let on = event_target_checked(&ev); codecs.update(|c| if let Some(x) = c.get_mut(i) { x.relay_only = on }) }/>
                                        "Relay only (never transcode)"
                                    </label>
                                    <button type="button" class="button button--small" aria-label=format!("Move {name} up") disabled=i == 0
                                        on:click=move |_| codecs.update(|c| c.swap(i - 1, i))>"↑"</button>
                                    <button type="button" class="button button--small" aria-label=format!("Move {name} down")
                                        disabled={move || i + 1 >= codecs.with(Vec::len)}
                                        on:click=move |_| codecs.update(|c| c.swap(i, i + 1))>"↓"</button>
                                    <button type="button" class="button button--small button--danger" aria-label=format!("Remove {name}")
                                        on:click=move |_| codecs.update(|c| { c.remove(i); })>"Remove"</button>
                                </li>
                            }
                        }).collect_view()}
                    </ol>
                    <div class="form__row">
                        <div class="field">
                            <label class="field__label" for="codec-add">"Add codec"</label>
                            <select class="input" id="codec-add" on:change=move |ev| to_add.set(event_target_value(&ev))>
                                <option value="" selected=move || to_add.get().is_empty()>"Choose…"</option>
                                {move || available.get().into_iter().map(|(v, l)| view! { <option value=v>{l}</option> }).collect_view()}
                            </select>
                        </div>
                        <button type="button" class="button" data-testid="add-codec" on:click=move |_| {
                            let c = to_add.get_untracked();
                            if !c.is_empty() { codecs.update(|list| list.push(CodecChoice { codec: c, relay_only: false })); to_add.set(String::new()); }
                        }>"Add"</button>
                    </div>
                    <p class="field__error" aria-live="polite">{move || errors.get("codecs")}</p>
                </fieldset>
                <fieldset class="form__group">
                    <legend>"Media"</legend>
                    <SelectField label="RTP handling" name="media_mode" bind=bind!(form.media_mode) errors options={options_of::<MediaMode>()}/>
                    <SelectField label="DTMF" name="dtmf_mode" bind=bind!(form.dtmf_mode) errors options={options_of::<DtmfMode>()}/>
                    <CheckboxField label="Transcoding allowed" name="transcoding_allowed" bind=bind_bool!(form.transcoding_allowed) errors/>
                    <TextField label="Max call duration (seconds)" name="max_call_duration_secs" kind="number" bind=bind!(form.max_call_duration_secs) errors/>
                </fieldset>
            </div>
            <FormActions label="Save media" pending errors/>
        </form>
    }
}

#[component]
fn SignallingTab(id: i64, s: StoredValue<InterconnectSettings>) -> impl IntoView {
    let form = RwSignal::new(s.with_value(|s| s.signalling.clone()));
    let addresses = RwSignal::new(s.with_value(|s| s.addresses.clone()));
    let direction =
        Direction::parse(&s.with_value(|s| s.direction.clone())).unwrap_or(Direction::Ingress);
    let errors = FormErrors::new();
    let pending = RwSignal::new(false);
    let address = RwSignal::new(AddressForm {
        transport: "udp".into(),
        ..Default::default()
    });
    let address_errors = FormErrors::new();
    let adding = RwSignal::new(false);
    let toaster = use_toaster();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let f = form.get_untracked();
        let local = validate_signalling(&f).map(|_| ());
        save_tab(
            errors,
            pending,
            "Signalling",
            local,
            move || save_signalling(id, f),
            |()| (),
        );
    };
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let f = address.get_untracked();
        let local = validate_address(&f, direction).map(|_| ());
        save_tab(
            address_errors,
            adding,
            "Address",
            local,
            move || add_address(id, f),
            move |a: SavedAddress| {
                addresses.update(|list| list.push(a));
                address.set(AddressForm {
                    transport: "udp".into(),
                    ..Default::default()
                });
            },
        );
    };
    let remove = move |a: SavedAddress| {
        let before = addresses.get_untracked();
        addresses.update(|list| list.retain(|x| x.id != a.id));
        leptos::task::spawn_local(async move {
            match delete_address(id, a.id).await {
                Ok(()) => toaster.success("Address removed"),
                Err(e) => {
                    addresses.set(before);
                    toaster.error(format!("Address not removed: {e}"));
                }
            }
        });
    };
    let heading = if direction == Direction::Ingress {
        "Addresses that may send us calls (IP or CIDR)"
    } else {
        "Where we send calls (IP or host)"
    };
    view! {
        <section class="form__group" aria-labelledby="addresses-title">
            <h2 class="form__title" id="addresses-title">{heading}</h2>
            <div class="table-wrap">
                <table class="table" data-testid="addresses-table">
                    <caption class="visually-hidden">{heading}</caption>
                    <thead><tr><th scope="col">"Address"</th><th scope="col" class="num">"Port"</th><th scope="col">"Transport"</th><th scope="col">"Actions"</th></tr></thead>
                    <tbody>
                        <For each=move || addresses.get() key=|a| a.id let:a>
                            {
                                let del = a.clone();
                                view! {
                                    <tr>
                                        <td><code>{a.address.clone()}</code></td>
                                        <td class="num">{a.port}</td>
                                        <td>{a.transport.to_uppercase()}</td>
                                        <td><ConfirmDelete what=format!("address {}", a.address) label="Remove" on_confirm=Callback::new(move |_| remove(del.clone()))/></td>
                                    </tr>
                                }
                            }
                        </For>
                    </tbody>
                </table>
            </div>
            <form class="form form__row" on:submit=add data-testid="address-form">
                <TextField label="Address" name="address" prefix="addr" bind=bind!(address.address) errors=address_errors
                    placeholder=if direction == Direction::Ingress { "203.0.113.10 or 203.0.113.0/28" } else { "198.51.100.7 or sip.example.net" }/>
                <TextField label="Port" name="port" prefix="addr" kind="number" bind=bind!(address.port) errors=address_errors placeholder="5060"/>
                <SelectField label="Transport" name="transport" prefix="addr" bind=bind!(address.transport) errors=address_errors options={options_of::<Transport>()}/>
                <FormActions label="Add address" pending=adding errors=address_errors/>
            </form>
        </section>
        <form class="form form--narrow" on:submit=submit data-testid="signalling-form">
            <h2 class="form__title">"SIP"</h2>
            <TextField label="Max calls per second (0 = unlimited)" name="max_cps" kind="number" bind=bind!(form.max_cps) errors/>
            <TextField label="Max concurrent channels (0 = unlimited)" name="max_channels" kind="number" bind=bind!(form.max_channels) errors/>
            <CheckboxField label="Session timers (RFC 4028)" name="session_timers" bind=bind_bool!(form.session_timers) errors/>
            <TextField label="Session expires (seconds)" name="session_expires_secs" kind="number" bind=bind!(form.session_expires_secs) errors/>
            <SelectField label="P-Asserted-Identity" name="pai_mode" bind=bind!(form.pai_mode) errors options={options_of::<PaiMode>()}/>
            <SelectField label="Privacy" name="privacy_mode" bind=bind!(form.privacy_mode) errors options={options_of::<PrivacyMode>()}/>
            <TextField label="SIP port" name="sip_port" kind="number" bind=bind!(form.sip_port) errors/>
            <SelectField label="SIP transport" name="sip_transport" bind=bind!(form.sip_transport) errors options={options_of::<Transport>()}/>
            <FormActions label="Save signalling" pending errors/>
        </form>
    }
}

#[component]
fn MonitoringTab(id: i64, initial: domain::interconnect::MonitoringForm) -> impl IntoView {
    let form = RwSignal::new(initial);
    let errors = FormErrors::new();
    let pending = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let f = form.get_untracked();
        let local = validate_monitoring(&f).map(|_| ());
        save_tab(
            errors,
            pending,
            "Monitoring",
            local,
            move || save_monitoring(id, f),
            |()| (),
        );
    };
    view! {
        <form class="form form--narrow" on:submit=submit data-testid="monitoring-form">
            <p class="field__help">"Leave a threshold empty to not monitor it."</p>
            <TextField label="Alert when ASR falls below (%)" name="asr_min_percent" kind="number" bind=bind!(form.asr_min_percent) errors/>
            <TextField label="Alert when ACD falls below (seconds)" name="acd_min_seconds" kind="number" bind=bind!(form.acd_min_seconds) errors/>
            <TextField label="Alert when PDD rises above (ms)" name="pdd_max_ms" kind="number" bind=bind!(form.pdd_max_ms) errors/>
            <TextAreaField label="Alert recipients" name="alert_recipients" bind=bind!(form.alert_recipients) errors
                help="E-mail addresses, one per line or separated by commas."/>
            <FormActions label="Save monitoring" pending errors/>
        </form>
    }
}
