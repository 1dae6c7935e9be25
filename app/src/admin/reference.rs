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
    use_tab, use_toaster, ConfirmDelete, ErrorPanel, FormActions, FormErrors, Loading, PageHeader,
    TabPanel, Tabs, TextField,
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
    let remove = Action::new_local(move |id: &i64| {
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
                                    {list.into_iter().map(|r: ReferenceRow| view! {
                                        <tr>
                                            <td>{r.name.clone()}</td>
                                            <td>{r.description.clone()}</td>
                                            {(!detail_label.is_empty()).then(|| view! { <td>{r.detail.clone()}</td> })}
                                            <td><ConfirmDelete what=r.name.clone() on_confirm=Callback::new(move |_| { remove.dispatch(r.id); })/></td>
                                        </tr>
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
            view! { <ReferenceEditor kind=kind.clone() on_saved=Callback::new(move |_| rows.refetch())/> }.into_any()
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
    let toaster = use_toaster();
    let save = Action::new_local(move |f: &CodecForm| {
        let f = f.clone();
        async move { save_codec(f).await }
    });
    Effect::new(move |_| match save.value().get() {
        Some(Ok(_)) => {
            toaster.success("Codec added");
            form.set(CodecForm {
                clock_rate: "8000".into(),
                ..Default::default()
            });
            on_saved.run(());
        }
        Some(Err(e)) => {
            errors.show(&e);
            toaster.error(format!("Codec not added: {e}"));
        }
        None => {}
    });
    view! {
        <form class="form form__row" on:submit=move |ev| {
            ev.prevent_default();
            let f = form.get_untracked();
            match validate_codec(&f) {
                Ok(_) => { errors.clear(); save.dispatch(f); }
                Err(e) => errors.show(&AppError::Validation(e)),
            }
        }>
            <TextField label="Codec name" name="name" prefix="codec" bind=bind!(form.name) errors placeholder="G726-32"/>
            <TextField label="Payload type" name="payload_type" prefix="codec" bind=bind!(form.payload_type) errors/>
            <TextField label="Clock rate (Hz)" name="clock_rate" prefix="codec" bind=bind!(form.clock_rate) errors/>
            <TextField label="Description" name="description" prefix="codec" bind=bind!(form.description) errors/>
            <FormActions label="Add codec" pending=save.pending() errors/>
        </form>
    }
}

#[component]
fn ReferenceEditor(kind: String, on_saved: Callback<()>) -> impl IntoView {
    let parsed = ReferenceKind::parse(&kind);
    let form = RwSignal::new(ReferenceForm::default());
    let errors = FormErrors::new();
    let toaster = use_toaster();
    let save = Action::new_local(move |f: &ReferenceForm| {
        let (f, kind) = (f.clone(), kind.clone());
        async move { save_reference(kind, None, f).await }
    });
    Effect::new(move |_| match save.value().get() {
        Some(Ok(_)) => {
            toaster.success("Added");
            form.set(ReferenceForm::default());
            on_saved.run(());
        }
        Some(Err(e)) => {
            errors.show(&e);
            toaster.error(format!("Not added: {e}"));
        }
        None => {}
    });
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
            <FormActions label=format!("Add to {}", parsed.map(|k| k.label()).unwrap_or("")) pending=save.pending() errors/>
        </form>
    }
}
