//! Shared components. Every page composes these instead of writing its own twin.
//!
//! - [`FieldMessage`]: the inline error under a form field;
//! - [`PageHeader`]: page title, short description and toolbar;
//! - [`StatTile`]: one labelled figure on a dashboard;
//! - [`ErrorPanel`]: a failed load, with the correlation id and a retry;
//! - [`Loading`]: the skeleton shown while data loads;
//! - [`StatusPage`], [`NotFound`], [`Forbidden`]: whole-page answers with their HTTP status;
//! - [`Icon`]: the inline SVG icon set;
//! - [`RedirectToSignIn`]: sends a signed-out visitor to sign-in and back afterwards;
//! - [`DataTable`]: lists with sorting, keyset "Load more", virtualisation and states;
//! - [`Tabs`], [`TabPanel`], [`use_tab`]: URL-synced tabs whose content loads lazily;
//! - [`TextField`], [`SelectField`], [`TextAreaField`], [`CheckboxField`],
//!   [`FormActions`], [`FormErrors`]: form fields with inline errors;
//! - [`Dialog`], [`ConfirmDelete`]: modal dialog and the ask-first delete button;
//! - [`Toaster`], [`use_toaster`]: one toast per save;
//! - [`LineChart`]: a time series in SVG with axes, legend, threshold and table view;
//! - [`use_live_refresh`], [`LiveMode`]: refresh every 30 s while the tab is visible.

mod chart;
mod data_table;
mod dialog;
mod form;
mod icon;
mod live;
mod tabs;
mod toast;
pub use chart::{ChartSeries, LineChart};
pub use data_table::{use_pages, Column, DataTable, Pages, Sort, TableState, VIRTUALISE_ABOVE};
pub use dialog::{ConfirmDelete, Dialog};
pub use form::{
    save_action, submit, Binding, BoolBinding, CheckboxField, FormActions, FormErrors, SelectField,
    TextAreaField, TextField,
};
pub use icon::{Icon, IconName};
pub use live::{page_hidden, use_live_refresh, LiveMode, LIVE_REFRESH_SECS};
pub use tabs::{provide_unsaved_changes, use_tab, TabPanel, Tabs, UnsavedChanges};
pub use toast::{provide_toaster, use_toaster, ToastKind, ToastRegion, Toaster};

use leptos::prelude::*;
use leptos_router::hooks::use_location;

use crate::error::AppError;

/// The inline error under a form field; renders nothing when `message` is `None`.
///
/// Give the field `aria-describedby` = `id`.
/// ```ignore
/// <FieldMessage id="email-error" message=Signal::derive(move || errors().get("email"))/>
/// ```
#[component]
pub fn FieldMessage(
    /// Element id, referenced by the input's `aria-describedby`.
    id: &'static str,
    /// The message; `None` hides it.
    #[prop(into)]
    message: Signal<Option<String>>,
) -> impl IntoView {
    view! {
        <p class="field__error" id=id aria-live="polite">
            {move || message.get()}
        </p>
    }
}

/// A page's title, a one-line description and a toolbar (primary action on the right).
/// ```ignore
/// <PageHeader title="Users" description="People who can sign in.">
///     <a class="button button--primary" href="/admin/users/new">"Add user"</a>
/// </PageHeader>
/// ```
#[component]
pub fn PageHeader(
    /// The `<h1>`.
    #[prop(into)]
    title: String,
    /// One sentence under the title.
    #[prop(optional, into)]
    description: Option<String>,
    /// Toolbar content, right-aligned.
    #[prop(optional)]
    children: Option<Children>,
) -> impl IntoView {
    view! {
        <header class="page-header">
            <div>
                <h1 class="page-header__title">{title.clone()}</h1>
                {description.map(|d| view! { <p class="page-header__description">{d}</p> })}
            </div>
            <div class="page-header__toolbar">{children.map(|c| c())}</div>
        </header>
        <leptos_meta::Title text=format!("{title} · DIDTron")/>
    }
}

/// One labelled figure on a dashboard; a link when `href` is given.
/// ```ignore
/// <StatTile label="Active carriers" value="12" detail="of 14" href="/admin/carriers"/>
/// ```
#[component]
pub fn StatTile(
    /// What the figure counts.
    #[prop(into)]
    label: String,
    /// The figure, already formatted.
    #[prop(into)]
    value: String,
    /// A short qualifier under the figure.
    #[prop(optional, into)]
    detail: Option<String>,
    /// Where a click goes.
    #[prop(optional, into)]
    href: Option<String>,
) -> impl IntoView {
    let body = view! {
        <span class="stat__label">{label}</span>
        <span class="stat__value num">{value}</span>
        {detail.map(|d| view! { <span class="stat__detail">{d}</span> })}
    };
    match href {
        Some(href) => view! { <a class="stat stat--link" href=href>{body}</a> }.into_any(),
        None => view! { <div class="stat">{body}</div> }.into_any(),
    }
}

/// A failed load: what happened (with the correlation id when the server gave one) and
/// a retry button that runs `on_retry`.
#[component]
pub fn ErrorPanel(
    /// The error to explain.
    error: AppError,
    /// Runs when "Retry" is pressed.
    #[prop(optional, into)]
    on_retry: Option<Callback<()>>,
) -> impl IntoView {
    view! {
        <div class="alert alert--crit" role="alert">
            <strong>"Could not load this. "</strong>
            {error.to_string()}
            {on_retry.map(|retry| view! {
                <button type="button" class="button button--small" on:click=move |_| retry.run(())>"Retry"</button>
            })}
        </div>
    }
}

/// The skeleton shown while data loads.
#[component]
pub fn Loading() -> impl IntoView {
    view! {
        <div class="skeleton" role="status" aria-live="polite">
            <span class="visually-hidden">"Loading…"</span>
            <span class="skeleton__bar"></span>
            <span class="skeleton__bar"></span>
            <span class="skeleton__bar skeleton__bar--short"></span>
        </div>
    }
}

/// A whole-page answer (404, 403…) that also sets the HTTP status of the server render.
#[component]
pub fn StatusPage(
    /// HTTP status code sent with the page.
    code: u16,
    /// Title, e.g. "Page not found".
    title: &'static str,
    /// What happened and what to do.
    message: &'static str,
) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        if let Ok(status) = http::StatusCode::from_u16(code) {
            response.set_status(status);
        }
    }
    view! {
        <leptos_meta::Title text=format!("{title} · DIDTron")/>
        <section class="status-page" aria-labelledby="status-title">
            <p class="status-page__code num">{code}</p>
            <h1 id="status-title">{title}</h1>
            <p>{message}</p>
            <p><a class="button" href="/">"Go to your home page"</a></p>
        </section>
    }
}

/// 404: no page at this address.
#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <StatusPage code=404 title="Page not found"
            message="There is no page at this address. Check the link, or use the navigation."/>
    }
}

/// 403: signed in, but this role may not open this page.
#[component]
pub fn Forbidden() -> impl IntoView {
    view! {
        <StatusPage code=403 title="No access"
            message="Your account cannot open this page. Ask an administrator if you need it."/>
    }
}

/// Sends a signed-out visitor to `/sign-in?next=<this page>`.
#[component]
pub fn RedirectToSignIn() -> impl IntoView {
    let location = use_location();
    let here = format!(
        "{}{}",
        location.pathname.get_untracked(),
        location.search.get_untracked()
    );
    let target = format!("/sign-in?next={}", encode_query_value(&here));
    view! { <leptos_router::components::Redirect path=target/> }
}

/// Percent-encodes `value` for a URL query (RFC 3986 §2.3: unreserved characters stay).
pub fn encode_query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Data a tab loads in the browser once it is shown: `None` while loading (the server
/// render shows the loading state too, so hydration always matches), then the result.
/// The callback loads it again (Retry).
///
/// ```ignore
/// let (contacts, reload) = load_in_browser(move || carrier_contacts(id));
/// move || match contacts.get() { None => Loading, Some(Ok(rows)) => …, Some(Err(e)) => … }
/// ```
pub fn load_in_browser<T, Fut>(
    fetch: impl Fn() -> Fut + Copy + Send + Sync + 'static,
) -> (RwSignal<Option<Result<T, AppError>>>, Callback<()>)
where
    T: Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<T, AppError>> + 'static,
{
    let data = RwSignal::new(None);
    let load = move || {
        data.set(None);
        leptos::task::spawn_local(async move { data.set(Some(fetch().await)) });
    };
    Effect::new(move |_| load());
    (data, Callback::new(move |_| load()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(
            super::encode_query_value("/admin/users?tab=a b&x=1"),
            "/admin/users%3Ftab%3Da%20b%26x%3D1"
        );
    }
}
