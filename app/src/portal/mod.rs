//! The customer portal (`/portal`): a customer user's view of its own carrier.
//! Every server function here takes the carrier id from the session, never the request.

use domain::Role;
use leptos::prelude::*;
use leptos_router::components::Outlet;
use serde::{Deserialize, Serialize};

use crate::auth::{Me, SignOutButton};
use crate::components::{
    ErrorPanel, Forbidden, Icon, IconName, Loading, PageHeader, RedirectToSignIn, StatTile,
};
use crate::error::AppError;

/// The portal's home figures for the signed-in customer's carrier.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalSummary {
    pub carrier_name: String,
    pub account_code: String,
    pub status: String,
    pub carrier_type: String,
    pub currency: String,
    pub portal_users: u64,
}

/// The customer's carrier summary (GET `/fn/portal/dashboard`). Customers only.
#[server(prefix = "/fn", endpoint = "portal/dashboard", input = leptos::server_fn::codec::GetUrl)]
pub async fn portal_dashboard() -> Result<PortalSummary, AppError> {
    crate::server::respond(
        async move {
            let user = crate::server::require(Role::Customer).await?;
            let carrier_id = user.carrier_id.ok_or(AppError::Forbidden)?;
            let s =
                service::dashboard::portal_summary(&crate::server::state()?.db, carrier_id).await?;
            Ok(PortalSummary {
                carrier_name: s.carrier_name,
                account_code: s.account_code,
                status: s.status,
                carrier_type: s.carrier_type,
                currency: s.currency,
                portal_users: s.portal_users,
            })
        }
        .await,
    )
}

/// `/portal/*`: customers only. Signed-out visitors go to sign-in; staff get 403 (they use
/// the admin portal).
#[component]
pub fn PortalLayout() -> impl IntoView {
    let me = expect_context::<crate::CurrentUser>().0;
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(user)) if user.role == Role::Customer => view! { <PortalShell user/> }.into_any(),
                    Ok(Some(_)) => view! { <main class="bare" id="main"><Forbidden/></main> }.into_any(),
                    Ok(None) => view! { <RedirectToSignIn/> }.into_any(),
                    Err(error) => view! { <main class="bare" id="main"><ErrorPanel error/></main> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn PortalShell(user: Me) -> impl IntoView {
    view! {
        <div class="portal">
            <a class="skip-link" href="#main">"Skip to content"</a>
            <header class="portal__top">
                <a class="brand" href="/portal">
                    <span class="brand__mark" aria-hidden="true">"D"</span>
                    <span class="brand__name">"Customer portal"</span>
                </a>
                <nav class="portal__nav" aria-label="Portal">
                    <a class="portal__link" href="/portal" aria-current="page">
                        <Icon name=IconName::Home/>"Home"
                    </a>
                </nav>
                <div class="topbar__user">
                    <span class="topbar__email" data-testid="signed-in-user">{user.email}</span>
                    <SignOutButton/>
                </div>
            </header>
            <main class="content content--portal" id="main">
                <Outlet/>
            </main>
        </div>
    }
}

/// The portal's home page.
#[component]
pub fn PortalHome() -> impl IntoView {
    let summary = Resource::new(|| (), |_| portal_dashboard());
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match summary.await {
                    Ok(s) => view! {
                        <PageHeader title=s.carrier_name.clone()
                            description=format!("Account {} · {}", s.account_code, s.currency)/>
                        <section class="stats" aria-label="Your account" data-testid="portal-summary">
                            <StatTile label="Account code" value=s.account_code/>
                            <StatTile label="Status" value=capitalise(&s.status)/>
                            <StatTile label="Relationship" value=capitalise(&s.carrier_type)/>
                            <StatTile label="Billing currency" value=s.currency/>
                            <StatTile label="Portal users" value=s.portal_users.to_string()/>
                        </section>
                    }.into_any(),
                    Err(AppError::NotFound) => view! { <Forbidden/> }.into_any(),
                    Err(error) => view! {
                        <ErrorPanel error on_retry=Callback::new(move |_| summary.refetch())/>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
