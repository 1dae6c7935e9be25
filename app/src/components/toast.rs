//! Toasts: one short message per save ("Details saved", "Could not save: …"), shown at
//! the bottom right for 5 s in a polite live region.
//!
//! ```ignore
//! // once, in a layout:
//! provide_toaster();
//! view! { <ToastRegion/> }
//! // anywhere below it:
//! use_toaster().success("Contact added");
//! ```

use leptos::prelude::*;

/// How a toast looks (always with words; colour is never the only signal).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ToastKind {
    Success,
    Error,
}

#[derive(Clone, Debug)]
struct Toast {
    id: u64,
    kind: ToastKind,
    message: String,
}

/// The toasts of a page; get it with [`use_toaster`].
#[derive(Clone, Copy)]
pub struct Toaster {
    toasts: RwSignal<Vec<Toast>>,
    next: StoredValue<u64>,
}

impl Toaster {
    /// Shows `message` for 5 seconds.
    pub fn show(&self, kind: ToastKind, message: impl Into<String>) {
        let id = self.next.get_value();
        self.next.set_value(id + 1);
        self.toasts.update(|t| {
            t.push(Toast {
                id,
                kind,
                message: message.into(),
            })
        });
        let toasts = self.toasts;
        set_timeout(
            move || toasts.update(|t| t.retain(|x| x.id != id)),
            std::time::Duration::from_secs(5),
        );
    }

    /// A success toast.
    pub fn success(&self, message: impl Into<String>) {
        self.show(ToastKind::Success, message)
    }

    /// An error toast.
    pub fn error(&self, message: impl Into<String>) {
        self.show(ToastKind::Error, message)
    }
}

/// Makes a [`Toaster`] available to everything below.
pub fn provide_toaster() -> Toaster {
    let toaster = Toaster {
        toasts: RwSignal::new(Vec::new()),
        next: StoredValue::new(0),
    };
    provide_context(toaster);
    toaster
}

/// The page's [`Toaster`] (a detached one when no layout provided it).
pub fn use_toaster() -> Toaster {
    use_context::<Toaster>().unwrap_or_else(provide_toaster)
}

/// Where toasts appear; place once per layout.
#[component]
pub fn ToastRegion() -> impl IntoView {
    let toaster = use_toaster();
    view! {
        <div class="toasts" role="status" aria-live="polite" data-testid="toasts">
            <For each=move || toaster.toasts.get() key=|t| t.id let:toast>
                <div class="toast" class:toast--error=toast.kind == ToastKind::Error>
                    <strong>{if toast.kind == ToastKind::Error { "Error: " } else { "Done: " }}</strong>
                    {toast.message}
                </div>
            </For>
        </div>
    }
}
