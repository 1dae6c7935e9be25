//! The admin portal (`/admin`): layout, sidebar from the [`registry`], top bar, and the
//! pages of the foundation modules.

pub mod carriers;
pub mod cdrs;
pub mod dashboard;
pub mod mail;
pub mod rate_plans;
pub mod reference;
pub mod registry;
pub mod routing;
pub mod status;
pub mod users;

use std::collections::HashMap;

use leptos::prelude::*;
use leptos_router::components::Outlet;
use leptos_router::hooks::use_location;

use crate::auth::{Me, SignOutButton};
use crate::components::{
    ErrorPanel, Forbidden, Icon, Loading, NotFound, RedirectToSignIn, ToastRegion,
};
use crate::error::AppError;
use registry::{module_for, Badge, Section, MODULES};

/// Counts for every module badge, in one request (GET `/fn/admin/badges`).
#[server(prefix = "/fn", endpoint = "admin/badges", input = leptos::server_fn::codec::GetUrl)]
pub async fn module_badges() -> Result<HashMap<Badge, u64>, AppError> {
    crate::server::respond(
        async move {
            crate::server::require(domain::Role::Admin).await?;
            let state = crate::server::state()?;
            let mut counts = HashMap::new();
            for badge in MODULES.iter().filter_map(|m| m.badge) {
                let count = match badge {
                    Badge::Users => {
                        let (staff, customers) = service::users::count_by_kind(&state.db).await?;
                        staff + customers
                    }
                    Badge::Carriers => service::carriers::count_carriers(&state.db).await?,
                };
                counts.insert(badge, count);
            }
            Ok(counts)
        }
        .await,
    )
}

/// `/admin/*`: staff only. Signed-out visitors go to sign-in; customers get 403.
#[component]
pub fn AdminLayout() -> impl IntoView {
    let me = expect_context::<crate::CurrentUser>().0;
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(user)) if user.role.is_staff() => view! { <AdminShell user/> }.into_any(),
                    Ok(Some(_)) => view! { <main class="bare" id="main"><Forbidden/></main> }.into_any(),
                    Ok(None) => view! { <RedirectToSignIn/> }.into_any(),
                    Err(error) => view! { <main class="bare" id="main"><ErrorPanel error/></main> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn AdminShell(user: Me) -> impl IntoView {
    provide_context(user.clone());
    crate::components::provide_toaster();
    view! {
        <div class="admin">
            <a class="skip-link" href="#main">"Skip to content"</a>
            <Sidebar user=user.clone()/>
            <div class="admin__body">
                <header class="topbar">
                    <span class="topbar__context">"Admin portal"</span>
                    <div class="topbar__user">
                        <span class="topbar__email" data-testid="signed-in-user">{user.email.clone()}</span>
                        <span class="tag">{user.role.label()}</span>
                        <SignOutButton/>
                    </div>
                </header>
                <main class="content" id="main">
                    <Outlet/>
                </main>
                <ToastRegion/>
            </div>
        </div>
    }
}

#[component]
fn Sidebar(user: Me) -> impl IntoView {
    let location = use_location();
    let badges = Resource::new(|| (), |_| module_badges());
    let current = move || module_for(&location.pathname.get()).map(|m| m.id);
    let sections = Section::ALL
        .into_iter()
        .filter_map(|section| {
            let links: Vec<_> = MODULES
                .iter()
                .filter(|m| m.section == section && user.role.satisfies(m.required_role))
                .map(|m| {
                    let badge = m.badge.map(|b| {
                        view! {
                            <Transition fallback=|| ()>
                                {move || badges.get().and_then(Result::ok).and_then(|c| c.get(&b).copied()).map(|n| view! {
                                    <span class="nav__badge num" aria-label=format!("{n} total")>{n}</span>
                                })}
                            </Transition>
                        }
                    });
                    view! {
                        <li>
                            <a class="nav__link" href=m.route data-testid=format!("nav-{}", m.id)
                                aria-current=move || (current() == Some(m.id)).then_some("page")>
                                <Icon name=m.icon/>
                                <span class="nav__title">{m.title}</span>
                                {badge}
                            </a>
                        </li>
                    }
                })
                .collect();
            (!links.is_empty()).then(|| view! {
                <div class="nav__section">
                    <h2 class="nav__heading">{section.label()}</h2>
                    <ul class="nav__list">{links}</ul>
                </div>
            })
        })
        .collect::<Vec<_>>();
    view! {
        <nav class="sidebar" aria-label="Admin modules">
            <a class="brand" href="/admin">
                <span class="brand__mark" aria-hidden="true">"D"</span>
                <span class="brand__name">"DIDTron"</span>
            </a>
            {sections}
            <status::StatusDot/>
        </nav>
    }
    .into_any()
}

/// Renders the module that owns the current path, 403 when the role is too low, 404 when
/// no module owns it.
#[component]
pub fn AdminModuleOutlet() -> impl IntoView {
    let location = use_location();
    let user = expect_context::<Me>();
    move || match module_for(&location.pathname.get()) {
        Some(module) if user.role.satisfies(module.required_role) => (module.view)(),
        Some(_) => view! { <Forbidden/> }.into_any(),
        None => view! { <NotFound/> }.into_any(),
    }
}
