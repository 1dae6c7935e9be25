//! A modal dialog and the confirm-delete button built on it.
//!
//! ```ignore
//! let open = RwSignal::new(false);
//! view! {
//!     <button on:click=move |_| open.set(true)>"Add contact"</button>
//!     <Dialog title="Add contact" open>
//!         <ContactForm on_done=move || open.set(false)/>
//!     </Dialog>
//!     <ConfirmDelete what="contact Jane Roe" on_confirm=Callback::new(move |_| delete.dispatch(id))/>
//! }
//! ```

use leptos::prelude::*;

/// A modal dialog (`role="dialog"`, `aria-modal`), closed by its Close button or Escape.
/// Its content is rendered only while it is open.
#[component]
pub fn Dialog(
    /// The dialog's heading (also its accessible name).
    #[prop(into)]
    title: String,
    /// Open while true; set false to close.
    open: RwSignal<bool>,
    children: ChildrenFn,
) -> impl IntoView {
    let title_id = format!(
        "dialog-{}",
        title
            .to_lowercase()
            .replace(|c: char| !c.is_ascii_alphanumeric(), "-")
    );
    let children = StoredValue::new(children);
    view! {
        <Show when=move || open.get()>
            <div class="dialog-backdrop" on:click=move |_| open.set(false)></div>
            <div class="dialog" role="dialog" aria-modal="true" aria-labelledby=title_id.clone()
                on:keydown=move |ev| if ev.key() == "Escape" { open.set(false) }>
                <header class="dialog__header">
                    <h2 id=title_id.clone()>{title.clone()}</h2>
                    <button type="button" class="button button--quiet button--small" on:click=move |_| open.set(false)>"Close"</button>
                </header>
                <div class="dialog__body">{children.with_value(|c| c())}</div>
            </div>
        </Show>
    }
}

/// A "Delete" button (or `label`: "Revoke"…) that asks first: "{label} {what}? This
/// cannot be undone."
#[component]
pub fn ConfirmDelete(
    /// What is deleted, e.g. "contact Jane Roe".
    #[prop(into)]
    what: String,
    /// Runs when the person confirms.
    on_confirm: Callback<()>,
    /// The button's words; "Delete" by default.
    #[prop(default = "Delete")]
    label: &'static str,
) -> impl IntoView {
    let open = RwSignal::new(false);
    let question = format!("{label} {what}? This cannot be undone.");
    let title = format!("Confirm {}", label.to_lowercase());
    view! {
        <button type="button" class="button button--small button--danger" on:click=move |_| open.set(true)
            aria-label=format!("{label} {what}")>{label}</button>
        <Dialog title=title.clone() open>
            <p>{question.clone()}</p>
            <div class="form__actions">
                <button type="button" class="button button--danger" on:click=move |_| { open.set(false); on_confirm.run(()) }>
                    {label}
                </button>
                <button type="button" class="button" on:click=move |_| open.set(false)>"Keep it"</button>
            </div>
        </Dialog>
    }
}
