//! DIDTron's web application: the Leptos UI (admin portal, customer portal, sign-in) and
//! the typed server functions it calls. Server-only code is behind the `ssr` feature;
//! the browser build (`hydrate`) shares every type and validation rule.
//!
//! Server functions live under `/fn/...` with stable endpoints; `/api/v1` is reserved for
//! machines (switch, CDR ingest).

// Deep view types (the admin shell) exceed the default limit without type erasure.
#![recursion_limit = "256"]

pub mod admin;
pub mod auth;
pub mod components;
pub mod error;
pub mod portal;
#[cfg(feature = "ssr")]
pub mod server;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{path, SsrMode};

use crate::auth::{Me, SignInPage};
use crate::components::NotFound;
use crate::error::AppError;

/// The signed-in user of this page load, fetched once (blocking, so the server render
/// knows it before sending headers: redirects and 403s are real HTTP answers).
#[derive(Clone, Copy)]
pub struct CurrentUser(pub Resource<Result<Option<Me>, AppError>>);

/// The HTML document around the app (server render).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light"/>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The app: routes for sign-in, the admin portal and the customer portal.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let me = Resource::new_blocking(|| (), |_| auth::who_am_i());
    provide_context(CurrentUser(me));
    // Marks the page as interactive, for people's scripts and the browser tests.
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });

    view! {
        <Stylesheet id="leptos" href="/pkg/didtron.css"/>
        <Title text="DIDTron"/>
        <Router>
            <Routes fallback=|| view! { <main class="bare" id="main"><NotFound/></main> }>
                <Route path=path!("/sign-in") view=SignInPage/>
                <ParentRoute path=path!("/admin") view=admin::AdminLayout ssr=SsrMode::Async>
                    <Route path=path!("") view=admin::AdminModuleOutlet/>
                    <Route path=path!("/*any") view=admin::AdminModuleOutlet/>
                </ParentRoute>
                <ParentRoute path=path!("/portal") view=portal::PortalLayout ssr=SsrMode::Async>
                    <Route path=path!("") view=portal::PortalHome/>
                    <Route path=path!("/*any") view=|| view! { <NotFound/> }/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}
