//! `/admin/reference`: reference data the carriers module picks from — the codec
//! catalogue, POPs, customer categories and groups, voice tiers and channel plans.
//! One tab per kind; add and delete (refused, with the reason, while something uses it).

use domain::catalog::{
    validate_codec, validate_reference, CodecForm, ReferenceForm, ReferenceKind,
};
use leptos::prelude::*;

use super::carriers::api::{
    delete_reference, reference_rows, save_codec, save_reference, ReferenceRow,
};
use crate::bind;
use crate::components::{
    save_action, submit, use_tab, use_toaster, ConfirmDelete, ErrorPanel, FormActions, FormErrors,
    Loading, PageHeader, TabPanel, Tabs, TextField,
};
use crate::error::AppError;

const TABS: [(&str, &str); 6] = [
    ("codec", "Codecs"),
    ("pop", "POPs"),
    ("customer_category", "Customer categories"),
    ("customer_group", "Customer groups"),
    ("voice_tier", "Voice tiers"),
    ("channel_plan", "Channel plans"),
];

/// The reference data page.
#[component]
pub fn ReferencePage() -> impl IntoView {
    let tab = use_tab("codec");
    view! {
        <PageHeader title="Reference data" description="Codecs, POPs, customer categories and groups, voice tiers and channel plans used by carriers and interconnects."/>
        <Tabs label="Reference data" tabs=TABS.to_vec() active=tab/>
        <TabPanel active=tab>
            {move || { let kind = tab.get(); view! { <ReferenceTable kind/> } }}
        </TabPanel>
    }
}

#[component]
fn ReferenceTable(kind: String) -> impl IntoView {
    let k = kind.clone();
    let rows = Resource::new(move || k.clone(), reference_rows);
    let toaster = use_toaster();
    let kind_for_delete = kind.clone();
    let remove = Action::new(move |id: &i64| {
        let (kind, id) = (kind_for_delete.clone(), *id);
        async move { delete_reference(kind, id).await }
    });
    Effect::new(move |_| match remove.value().get() {
        Some(Ok(())) => {
            toaster.success("Deleted");
            rows.refetch();
        }
        Some(Err(e)) => toaster.error(e.to_string()),
        None => {}
    });
    let is_codec = kind == "codec";
    // The item being edited in the form below the table (reference kinds, not codecs).
    let editing = RwSignal::new(None::<(i64, ReferenceForm)>);
    let detail_label = match kind.as_str() {
        "codec" => "Payload",
        "channel_plan" => "Limits",
        _ => "",
    };
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match rows.await {
                    Err(error) => view! { <ErrorPanel error on_retry=Callback::new(move |_| rows.refetch())/> }.into_any(),
                    Ok(list) if list.is_empty() => view! { <p class="empty">"None yet. Add the first one below."</p> }.into_any(),
                    Ok(list) => view! {
                        <div class="table-wrap">
                            <table class="table" data-testid="reference-table">
                                <caption class="visually-hidden">"Reference items"</caption>
                                <thead><tr>
                                    <th scope="col">"Name"</th><th scope="col">"Description"</th>
                                    {(!detail_label.is_empty()).then(|| view! { <th scope="col">{detail_label}</th> })}
                                    <th scope="col">"Actions"</th>
                                </tr></thead>
                                <tbody>
                                    {list.into_iter().map(|r: ReferenceRow| {
                                        let edit = (r.id, ReferenceForm {
                                            name: r.name.clone(),
                                            description: r.description.clone(),
                                            max_channels: r.max_channels.map(|n| n.to_string()).unwrap_or_default(),
                                            max_cps: r.max_cps.map(|n| n.to_string()).unwrap_or_default(),
                                        });
                                        view! {
                                            <tr>
                                                <td>{r.name.clone()}</td>
                                                <td>{r.description.clone()}</td>
                                                {(!detail_label.is_empty()).then(|| view! { <td>{r.detail.clone()}</td> })}
                                                <td class="actions">
                                                    {(!is_codec).then(|| view! {
                                                        <button type="button" class="button button--small" aria-label=format!("Edit {}", r.name)
                                                            on:click=move |_| editing.set(Some(edit.clone()))>"Edit"</button>
                                                    })}
                                                    <ConfirmDelete what=r.name.clone() on_confirm=Callback::new(move |_| { remove.dispatch(r.id); })/>
                                                </td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any(),
                }
            })}
        </Suspense>
        {if is_codec {
            view! { <CodecEditor on_saved=Callback::new(move |_| rows.refetch())/> }.into_any()
        } else {
            view! { <ReferenceEditor kind=kind.clone() editing on_saved=Callback::new(move |_| rows.refetch())/> }.into_any()
        }}
    }
}

#[component]
fn CodecEditor(on_saved: Callback<()>) -> impl IntoView {
    let form = RwSignal::new(CodecForm {
        clock_rate: "8000".into(),
        ..Default::default()
    });
    let errors = FormErrors::new();
    let save = save_action(
        errors,
        "Codec added",
        "Codec not added",
        move |f: CodecForm| save_codec(f),
        move |_| {
            form.set(CodecForm {
                clock_rate: "8000".into(),
                ..Default::default()
            });
            on_saved.run(());
        },
    );
    view! {
        <form class="form form__row" on:submit=move |ev| { ev.prevent_default(); submit(form, errors, validate_codec, save); }>
            <TextField label="Codec name" name="name" prefix="codec" bind=bind!(form.name) errors placeholder="G726-32"/>
            <TextField label="Payload type" name="payload_type" prefix="codec" bind=bind!(form.payload_type) errors/>
            <TextField label="Clock rate (Hz)" name="clock_rate" prefix="codec" bind=bind!(form.clock_rate) errors/>
            <TextField label="Description" name="description" prefix="codec" bind=bind!(form.description) errors/>
            <FormActions label="Add codec" pending=save.pending() errors/>
        </form>
    }
}

#[component]
fn ReferenceEditor(
    kind: String,
    editing: RwSignal<Option<(i64, ReferenceForm)>>,
    on_saved: Callback<()>,
) -> impl IntoView {
    let parsed = ReferenceKind::parse(&kind);
    let form = RwSignal::new(ReferenceForm::default());
    let errors = FormErrors::new();
    // "Edit" on a row loads it here; saving then updates it instead of adding.
    Effect::new(move |_| {
        if let Some((_, values)) = editing.get() {
            errors.clear();
            form.set(values);
        }
    });
    let save = save_action(
        errors,
        "Saved",
        "Not saved",
        move |f: ReferenceForm| {
            let kind = kind.clone();
            let id = editing.get_untracked().map(|e| e.0);
            async move { save_reference(kind, id, f).await }
        },
        move |_| {
            editing.set(None);
            form.set(ReferenceForm::default());
            on_saved.run(());
        },
    );
    let label = parsed.map(|k| k.label()).unwrap_or("");
    let plan = parsed == Some(ReferenceKind::ChannelPlan);
    view! {
        <form class="form form__row" on:submit=move |ev| {
            ev.prevent_default();
            let f = form.get_untracked();
            let Some(kind) = parsed else { return };
            match validate_reference(kind, &f) {
                Ok(_) => { errors.clear(); save.dispatch(f); }
                Err(e) => errors.show(&AppError::Validation(e)),
            }
        }>
            <TextField label="Name" name="name" prefix="ref" bind=bind!(form.name) errors/>
            <TextField label="Description" name="description" prefix="ref" bind=bind!(form.description) errors/>
            {plan.then(|| view! {
                <TextField label="Max channels" name="max_channels" prefix="ref" kind="number" bind=bind!(form.max_channels) errors/>
                <TextField label="Max CPS" name="max_cps" prefix="ref" kind="number" bind=bind!(form.max_cps) errors/>
            })}
            {move || {
                let label = match editing.get() {
                    Some((_, f)) => format!("Save changes to {}", f.name),
                    None => format!("Add to {label}"),
                };
                view! {
                    <FormActions label pending=save.pending() errors>
                        <Show when=move || editing.with(Option::is_some)>
                            <button type="button" class="button" on:click=move |_| {
                                editing.set(None);
                                form.set(ReferenceForm::default());
                            }>"Cancel"</button>
                        </Show>
                    </FormActions>
                }
            }}
        </form>
    }
}
