//! URL-synced tabs: each tab is a link to `?tab=<key>` (so reload, back and shared links
//! keep the tab), with `role="tablist"` semantics and arrow-key navigation. Only the
//! active tab's content is rendered — and so only it fetches its data.
//!
//! ```ignore
//! let tab = use_tab("details");
//! view! {
//!     <Tabs label="Carrier settings" tabs=vec![("details", "Carrier Details"), ("contacts", "Contact Details")] active=tab/>
//!     <TabPanel active=tab>
//!         {move || match tab.get().as_str() {
//!             "contacts" => view! { <Contacts/> }.into_any(),
//!             _ => view! { <Details/> }.into_any(),
//!         }}
//!     </TabPanel>
//! }
//! ```

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate, use_query_map};

/// The active tab key from `?tab=`, or `default`.
pub fn use_tab(default: &'static str) -> Memo<String> {
    let query = use_query_map();
    Memo::new(move |_| {
        query
            .get()
            .get("tab")
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| default.to_owned())
    })
}

/// Set by a tab's form while it has unsaved changes; [`Tabs`] asks before leaving.
#[derive(Clone, Copy)]
pub struct UnsavedChanges(pub RwSignal<bool>);

/// Provides an [`UnsavedChanges`] flag for the tabs below.
pub fn provide_unsaved_changes() -> UnsavedChanges {
    let flag = UnsavedChanges(RwSignal::new(false));
    provide_context(flag);
    flag
}

fn confirm_leave() -> bool {
    #[cfg(feature = "hydrate")]
    {
        window()
            .confirm_with_message("This tab has unsaved changes. Leave without saving?")
            .unwrap_or(true)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        true
    }
}

/// The tab strip. `tabs`: `(key, label)` in order; `active`: from [`use_tab`].
#[component]
pub fn Tabs(
    /// Accessible name of the tab list.
    #[prop(into)]
    label: String,
    tabs: Vec<(&'static str, &'static str)>,
    active: Memo<String>,
) -> impl IntoView {
    let location = use_location();
    let navigate = use_navigate();
    let unsaved = use_context::<UnsavedChanges>();
    let href = move |key: &str| {
        let mut params: Vec<(String, String)> = location
            .query
            .get()
            .into_iter()
            .filter(|(k, _)| k != "tab")
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        params.push(("tab".into(), key.to_owned()));
        let query: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{k}={}", super::encode_query_value(v)))
            .collect();
        format!("{}?{}", location.pathname.get(), query.join("&"))
    };
    let keys: Vec<&'static str> = tabs.iter().map(|t| t.0).collect();
    let on_keydown = {
        let navigate = navigate.clone();
        let keys = keys.clone();
        move |ev: leptos::ev::KeyboardEvent| {
            let current = keys.iter().position(|k| *k == active.get()).unwrap_or(0);
            let next = match ev.key().as_str() {
                "ArrowRight" => (current + 1) % keys.len(),
                "ArrowLeft" => (current + keys.len() - 1) % keys.len(),
                "Home" => 0,
                "End" => keys.len() - 1,
                _ => return,
            };
            ev.prevent_default();
            if unsaved.is_some_and(|u| u.0.get_untracked()) && !confirm_leave() {
                return;
            }
            navigate(&href(keys[next]), Default::default());
            #[cfg(feature = "hydrate")]
            {
                let id = format!("tab-{}", keys[next]);
                request_animation_frame(move || {
                    if let Some(el) = document().get_element_by_id(&id) {
                        use wasm_bindgen::JsCast;
                        if let Ok(el) = el.dyn_into::<web_sys::HtmlElement>() {
                            let _ = el.focus();
                        }
                    }
                });
            }
        }
    };
    view! {
        <div class="tabs" role="tablist" aria-label=label on:keydown=on_keydown>
            {tabs.into_iter().map(|(key, text)| {
                let selected = move || active.get() == key;
                view! {
                    <a class="tabs__tab" role="tab" id=format!("tab-{key}") href=move || href(key)
                        aria-selected=move || selected().to_string()
                        aria-controls="tab-panel"
                        tabindex=move || if selected() { "0" } else { "-1" }
                        data-testid=format!("tab-{key}")
                        on:click=move |ev| {
                            if unsaved.is_some_and(|u| u.0.get_untracked()) && !confirm_leave() {
                                ev.prevent_default();
                            } else if let Some(u) = unsaved {
                                u.0.set(false);
                            }
                        }>
                        {text}
                    </a>
                }
            }).collect_view()}
        </div>
    }
}

/// The panel of the active tab (`role="tabpanel"`, labelled by its tab).
#[component]
pub fn TabPanel(active: Memo<String>, children: Children) -> impl IntoView {
    view! {
        <div class="tabs__panel" role="tabpanel" id="tab-panel" tabindex="0"
            aria-labelledby=move || format!("tab-{}", active.get())>
            {children()}
        </div>
    }
}
