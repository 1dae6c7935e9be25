//! Form fields with a label above, help text under, and the inline error under that —
//! all tied together with `aria-describedby`. Each field is bound to one `String` (or
//! `bool`) field of a form struct held in a [`RwSignal`], with [`bind!`](crate::bind)
//! or [`bind_bool!`](crate::bind_bool), and reads its error from the form's
//! [`FormErrors`] by its `name` (the same name `domain` validation reports).
//!
//! ```ignore
//! let form = RwSignal::new(ContactForm::default());
//! let errors = FormErrors::new();
//! view! {
//!     <TextField label="Name" name="name" bind=bind!(form.name) errors/>
//!     <SelectField label="Role" name="role" bind=bind!(form.role) errors
//!         options=ContactRole::ALL.iter().map(|r| (r.as_str().into(), r.label().into())).collect()/>
//!     <CheckboxField label="Enabled" name="enabled" bind=bind_bool!(form.enabled)/>
//! }
//! ```

use domain::FieldErrors;
use leptos::prelude::*;

use crate::error::AppError;

/// The errors of one form: field-level ones (shown under their fields) and a general
/// one (shown above the form's buttons).
#[derive(Clone, Copy)]
pub struct FormErrors {
    pub fields: RwSignal<FieldErrors>,
    pub general: RwSignal<Option<String>>,
}

impl Default for FormErrors {
    fn default() -> Self {
        Self::new()
    }
}

impl FormErrors {
    /// No errors.
    pub fn new() -> Self {
        FormErrors {
            fields: RwSignal::new(FieldErrors::new()),
            general: RwSignal::new(None),
        }
    }

    /// The message for `field`, reactive.
    pub fn get(&self, field: &str) -> Option<String> {
        self.fields.with(|e| e.get(field).map(str::to_owned))
    }

    /// Clears everything.
    pub fn clear(&self) {
        self.fields.set(FieldErrors::new());
        self.general.set(None);
    }

    /// Shows an error: field errors under their fields, anything else as general.
    pub fn show(&self, error: &AppError) {
        match error {
            AppError::Validation(fields) => {
                self.fields.set(fields.clone());
                self.general.set(Some(error.to_string()));
            }
            other => {
                self.fields.set(FieldErrors::new());
                self.general.set(Some(other.to_string()));
            }
        }
    }
}

/// A `String` field of a form struct in a `RwSignal`: its value and a setter.
pub type Binding = (Signal<String>, Callback<String>);
/// A `bool` field of a form struct in a `RwSignal`: its value and a setter.
pub type BoolBinding = (Signal<bool>, Callback<bool>);

/// Binds a `String` field: `bind!(form.name)` → [`Binding`].
#[macro_export]
macro_rules! bind {
    ($form:ident . $field:ident) => {
        (
            ::leptos::prelude::Signal::derive(move || {
                ::leptos::prelude::With::with(&$form, |f| f.$field.clone())
            }),
            ::leptos::prelude::Callback::new(move |v: String| {
                ::leptos::prelude::Update::update(&$form, |f| f.$field = v)
            }),
        )
    };
}

/// Binds a `bool` field: `bind_bool!(form.enabled)` → [`BoolBinding`].
#[macro_export]
macro_rules! bind_bool {
    ($form:ident . $field:ident) => {
        (
            ::leptos::prelude::Signal::derive(move || {
                ::leptos::prelude::With::with(&$form, |f| f.$field)
            }),
            ::leptos::prelude::Callback::new(move |v: bool| {
                ::leptos::prelude::Update::update(&$form, |f| f.$field = v)
            }),
        )
    };
}

fn ids(prefix: &str, name: &str) -> (String, String) {
    let id = format!("{prefix}-{}", name.replace('.', "-"));
    (id.clone(), format!("{id}-error"))
}

/// The label, help and error around an input; `input` gets the id and described-by.
#[component]
fn FieldShell(
    label: String,
    name: String,
    id: String,
    error_id: String,
    help: Option<String>,
    errors: Option<FormErrors>,
    children: Children,
) -> impl IntoView {
    let help_id = format!("{id}-help");
    let name = StoredValue::new(name);
    let message = move || errors.and_then(|e| name.with_value(|n| e.get(n)));
    view! {
        <div class="field" class:field--invalid=move || message().is_some()>
            <label class="field__label" for=id>{label}</label>
            {children()}
            {help.map(|h| view! { <p class="field__help" id=help_id>{h}</p> })}
            <p class="field__error" id=error_id aria-live="polite">{message}</p>
        </div>
    }
}

/// A one-line text input.
#[component]
pub fn TextField(
    /// Visible label.
    #[prop(into)]
    label: String,
    /// The form field's name, as validation reports it (e.g. `account_code`).
    #[prop(into)]
    name: String,
    /// The bound value ([`bind!`](crate::bind)).
    bind: Binding,
    /// The form's errors; the one for `name` shows under the field.
    #[prop(optional)]
    errors: Option<FormErrors>,
    /// Help text under the field.
    #[prop(optional, into)]
    help: Option<String>,
    /// `text` (default), `email`, `url`, `tel`, `number`.
    #[prop(default = "text")]
    kind: &'static str,
    /// Id prefix, to keep ids unique when one page holds several forms.
    #[prop(default = "f")]
    prefix: &'static str,
    /// Placeholder (an example, never the label).
    #[prop(optional, into)]
    placeholder: Option<String>,
    /// Extra class on the input, e.g. `num`.
    #[prop(optional, into)]
    input_class: Option<String>,
) -> impl IntoView {
    let (id, error_id) = ids(prefix, &name);
    let described = match &help {
        Some(_) => format!("{id}-help {error_id}"),
        None => error_id.clone(),
    };
    let (value, set) = bind;
    let invalid = {
        let name = name.clone();
        move || errors.and_then(|e| e.get(&name)).is_some().to_string()
    };
    view! {
        <FieldShell label name=name.clone() id=id.clone() error_id help errors>
            <input class=format!("input {}", input_class.unwrap_or_default()) type=kind id=id name=name.clone()
                aria-describedby=described aria-invalid=invalid placeholder=placeholder
                prop:value=value on:input=move |ev| set.run(event_target_value(&ev))/>
        </FieldShell>
    }
}

/// A multi-line text input.
#[component]
pub fn TextAreaField(
    #[prop(into)] label: String,
    #[prop(into)] name: String,
    bind: Binding,
    #[prop(optional)] errors: Option<FormErrors>,
    #[prop(optional, into)] help: Option<String>,
    #[prop(default = "f")] prefix: &'static str,
    /// Visible lines.
    #[prop(default = 3)]
    rows: u32,
) -> impl IntoView {
    let (id, error_id) = ids(prefix, &name);
    let described = match &help {
        Some(_) => format!("{id}-help {error_id}"),
        None => error_id.clone(),
    };
    let (value, set) = bind;
    view! {
        <FieldShell label name=name.clone() id=id.clone() error_id help errors>
            <textarea class="input" id=id name=name.clone() rows=rows aria-describedby=described
                prop:value=value on:input=move |ev| set.run(event_target_value(&ev))></textarea>
        </FieldShell>
    }
}

/// A select from fixed options `(value, label)`; an empty first option when `empty` is
/// given (e.g. "None").
#[component]
pub fn SelectField(
    #[prop(into)] label: String,
    #[prop(into)] name: String,
    bind: Binding,
    /// `(value, label)` pairs.
    #[prop(into)]
    options: Signal<Vec<(String, String)>>,
    #[prop(optional)] errors: Option<FormErrors>,
    #[prop(optional, into)] help: Option<String>,
    #[prop(optional, into)] empty: Option<String>,
    #[prop(default = "f")] prefix: &'static str,
) -> impl IntoView {
    let (id, error_id) = ids(prefix, &name);
    let described = match &help {
        Some(_) => format!("{id}-help {error_id}"),
        None => error_id.clone(),
    };
    let (value, set) = bind;
    view! {
        <FieldShell label name=name.clone() id=id.clone() error_id help errors>
            <select class="input" id=id name=name.clone() aria-describedby=described
                on:change=move |ev| set.run(event_target_value(&ev))>
                {empty.map(|e| view! { <option value="" selected=move || value.get().is_empty()>{e}</option> })}
                {move || options.get().into_iter().map(|(v, l)| {
                    let selected = v == value.get();
                    view! { <option value=v.clone() selected=selected>{l}</option> }
                }).collect_view()}
            </select>
        </FieldShell>
    }
}

/// A checkbox with its label to the right.
#[component]
pub fn CheckboxField(
    #[prop(into)] label: String,
    #[prop(into)] name: String,
    bind: BoolBinding,
    #[prop(optional)] errors: Option<FormErrors>,
    #[prop(default = "f")] prefix: &'static str,
) -> impl IntoView {
    let (id, error_id) = ids(prefix, &name);
    let (value, set) = bind;
    let message = {
        let name = name.clone();
        move || errors.and_then(|e| e.get(&name))
    };
    view! {
        <div class="field field--check">
            <input type="checkbox" id=id.clone() name=name aria-describedby=error_id.clone()
                checked=value prop:checked=value on:change=move |ev| set.run(event_target_checked(&ev))/>
            <label for=id>{label}</label>
            <p class="field__error" id=error_id aria-live="polite">{message}</p>
        </div>
    }
}

/// The buttons row of a form: the general error, then the submit button that shows
/// progress while `pending`.
#[component]
pub fn FormActions(
    /// The button's words ("Save details").
    #[prop(into)]
    label: String,
    /// True while the save runs.
    #[prop(into)]
    pending: Signal<bool>,
    errors: FormErrors,
    /// Other buttons, after the submit one.
    #[prop(optional)]
    children: Option<Children>,
) -> impl IntoView {
    view! {
        <div class="form__actions">
            {move || errors.general.get().map(|m| view! { <p class="form__error" role="alert">{m}</p> })}
            <button type="submit" class="button button--primary" disabled=pending aria-busy=move || pending.get().to_string()>
                {move || if pending.get() { "Saving…".to_owned() } else { label.clone() }}
            </button>
            {children.map(|c| c())}
        </div>
    }
}

/// A form's save: one [`Action`] that calls the server, then shows the outcome — field
/// errors under their fields and one toast (`done` on success, `failed: <reason>`
/// otherwise) — and hands the server's answer to `on_saved`. Pair it with [`submit`].
///
/// ```ignore
/// let save = save_action(errors, "Contact saved", "Contact not saved",
///     move |f: ContactForm| save_contact(carrier_id, id, f), move |c| on_saved.run(c));
/// view! { <form on:submit=move |ev| { ev.prevent_default(); submit(form, errors, validate_contact, save) }>…</form> }
/// ```
pub fn save_action<T, O, Fut>(
    errors: FormErrors,
    done: &'static str,
    failed: &'static str,
    call: impl Fn(T) -> Fut + Send + Sync + 'static,
    on_saved: impl Fn(O) + 'static,
) -> Action<T, Result<O, AppError>>
where
    T: Clone + Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<O, AppError>> + Send + 'static,
{
    let toaster = super::use_toaster();
    let action = Action::new(move |input: &T| call(input.clone()));
    Effect::new(move |_| match action.value().get() {
        Some(Ok(saved)) => {
            toaster.success(done);
            on_saved(saved);
        }
        Some(Err(e)) => {
            errors.show(&e);
            toaster.error(format!("{failed}: {e}"));
        }
        None => {}
    });
    action
}

/// Validates the form with `validate` — the same `domain` function the server runs — and
/// dispatches `action` when it passes; otherwise shows the field errors, no request made.
pub fn submit<T, O, V>(
    form: RwSignal<T>,
    errors: FormErrors,
    validate: impl Fn(&T) -> Result<V, FieldErrors>,
    action: Action<T, O>,
) where
    T: Clone + Send + Sync + 'static,
    O: Send + Sync + 'static,
{
    let value = form.get_untracked();
    match validate(&value) {
        Ok(_) => {
            errors.clear();
            action.dispatch(value);
        }
        Err(e) => errors.show(&AppError::Validation(e)),
    }
}
