//! Sign-in, sign-out and "who am I": server functions and the sign-in page.

use domain::Role;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::components::FieldMessage;
use crate::error::AppError;

/// The signed-in user as pages see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub id: i64,
    pub email: String,
    pub role: Role,
    pub carrier_id: Option<i64>,
}

#[cfg(feature = "ssr")]
impl From<service::users::SessionUser> for Me {
    fn from(u: service::users::SessionUser) -> Self {
        Me {
            id: u.id,
            email: u.email,
            role: u.role,
            carrier_id: u.carrier_id,
        }
    }
}

/// The signed-in user, or `None` when signed out (GET `/fn/me`).
#[server(prefix = "/fn", endpoint = "me", input = leptos::server_fn::codec::GetUrl)]
pub async fn who_am_i() -> Result<Option<Me>, AppError> {
    crate::server::respond(
        async move { Ok(crate::server::current_user().await?.map(Me::from)) }.await,
    )
}

/// Signs in with `email` and `password` and answers with where to go next: `next` when it
/// is a safe local path (see [`domain::safe_next_path`]), else the role's home page.
///
/// Errors: `Validation` (empty fields), `InvalidCredentials`, `TooManyAttempts` (10
/// failures per account or IP in 15 minutes, by default). The session id is rotated.
#[server(prefix = "/fn", endpoint = "sign-in")]
pub async fn sign_in(
    email: String,
    password: String,
    next: Option<String>,
) -> Result<String, AppError> {
    crate::server::respond(
        async move {
            use crate::server::{auth_session, client_ip, state, AuthedUser, Credentials};
            use axum_login::AuthnBackend as _;

            let mut fields = domain::FieldErrors::new();
            if email.trim().is_empty() {
                fields.add("email", "Enter your e-mail address.");
            }
            if password.is_empty() {
                fields.add("password", "Enter your password.");
            }
            if !fields.is_empty() {
                return Err(AppError::Validation(fields));
            }
            let state = state()?;
            let started = std::time::Instant::now();
            let ip = client_ip().await;
            let limiter = &state.signin_limiter;
            if let Err(locked) = limiter
                .check(&email, ip)
                .await
                .map_err(AppError::internal)?
            {
                tracing::warn!(email = %email.trim(), ?ip, "sign-in refused: too many failures");
                return Err(AppError::TooManyAttempts {
                    retry_after_secs: locked.retry_after.as_secs().max(1),
                });
            }
            let mut session = auth_session().await?;
            let user = session
                .backend
                .authenticate(Credentials {
                    email: email.clone(),
                    password,
                })
                .await?;
            let Some(AuthedUser(user)) = user else {
                limiter
                    .record_failure(&email, ip)
                    .await
                    .map_err(AppError::internal)?;
                tracing::info!(email = %email.trim(), ?ip, "sign-in failed");
                state
                    .status
                    .record("auth", "sign_in", started.elapsed(), false, None);
                return Err(AppError::InvalidCredentials);
            };
            limiter
                .record_success(&email)
                .await
                .map_err(AppError::internal)?;
            // A new session id at every sign-in, even over an authenticated session (axum-login
            // rotates only anonymous ones): no session id outlives a sign-in (session fixation).
            session
                .session
                .cycle_id()
                .await
                .map_err(|e| AppError::internal(format!("session: {e}")))?;
            session
                .login(&AuthedUser(user.clone()))
                .await
                .map_err(|e| AppError::internal(format!("login: {e}")))?;
            tracing::info!(user_id = user.id, role = %user.role, "signed in");
            state
                .status
                .record("auth", "sign_in", started.elapsed(), true, None);
            let home = user.role.home_path();
            let target = next
                .as_deref()
                .and_then(domain::safe_next_path)
                .filter(|p| user.role.is_staff() || !p.starts_with("/admin"))
                .unwrap_or(home);
            Ok(target.to_owned())
        }
        .await,
    )
}

/// Ends the session (its data is deleted from the store).
#[server(prefix = "/fn", endpoint = "sign-out")]
pub async fn sign_out() -> Result<(), AppError> {
    crate::server::respond(
        async move {
            let mut session = crate::server::auth_session().await?;
            if let Some(user) = session
                .logout()
                .await
                .map_err(|e| AppError::internal(format!("logout: {e}")))?
            {
                tracing::info!(user_id = user.0.id, "signed out");
            }
            Ok(())
        }
        .await,
    )
}

/// Sends the browser to `path` with a full page load (a fresh session-aware render).
pub fn go_to(path: &str) {
    #[cfg(feature = "hydrate")]
    {
        let _ = window().location().assign(path);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = path;
}

/// `/sign-in`: e-mail and password; after success, back to `?next=` or the role's home.
#[component]
pub fn SignInPage() -> impl IntoView {
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_default();
    let action = ServerAction::<SignIn>::new();
    let value = action.value();
    Effect::new(move |_| {
        if let Some(Ok(target)) = value.get() {
            go_to(&target);
        }
    });
    let error = move || value.get().and_then(Result::err);
    let field =
        move |name: &'static str| Signal::derive(move || error().and_then(|e| e.field(name)));
    let form_error = move || {
        error()
            .filter(|e| !matches!(e, AppError::Validation(_)))
            .map(|e| e.to_string())
    };
    let pending = action.pending();

    view! {
        <leptos_meta::Title text="Sign in · DIDTron"/>
        <main class="signin" id="main">
            <section class="signin__card" aria-labelledby="signin-title">
                <div class="brand brand--large" aria-hidden="true">
                    <span class="brand__mark">"D"</span>
                    <span class="brand__name">"DIDTron"</span>
                </div>
                <h1 id="signin-title" class="signin__title">"Sign in"</h1>
                <p class="signin__lead">"Carrier operations: rating, routing, balances."</p>
                <ActionForm action=action attr:class="form" attr:novalidate=true>
                    <input type="hidden" name="next" prop:value=next/>
                    <Show when=move || form_error().is_some()>
                        <div class="alert alert--crit" role="alert">
                            <strong>"Not signed in. "</strong>
                            {form_error}
                        </div>
                    </Show>
                    <div class="field">
                        <label for="email">"E-mail address"</label>
                        <input
                            id="email"
                            name="email"
                            type="email"
                            autocomplete="username"
                            required=true
                            autofocus=true
                            aria-describedby="email-error"
                            aria-invalid=move || field("email").get().is_some().to_string()
                        />
                        <FieldMessage id="email-error" message=field("email")/>
                    </div>
                    <div class="field">
                        <label for="password">"Password"</label>
                        <input
                            id="password"
                            name="password"
                            type="password"
                            autocomplete="current-password"
                            required=true
                            aria-describedby="password-error"
                            aria-invalid=move || field("password").get().is_some().to_string()
                        />
                        <FieldMessage id="password-error" message=field("password")/>
                    </div>
                    <button type="submit" class="button button--primary button--block" disabled=pending>
                        {move || if pending.get() { "Signing in…" } else { "Sign in" }}
                    </button>
                </ActionForm>
            </section>
        </main>
    }
}

/// The top bar's sign-out button.
#[component]
pub fn SignOutButton() -> impl IntoView {
    let action = ServerAction::<SignOut>::new();
    let value = action.value();
    Effect::new(move |_| {
        if let Some(Ok(())) = value.get() {
            go_to("/sign-in");
        }
    });
    view! {
        <ActionForm action=action attr:class="signout">
            <button type="submit" class="button button--quiet">"Sign out"</button>
        </ActionForm>
    }
}
