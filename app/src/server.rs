//! Server-only glue for server functions: the shared state, the axum-login backend and
//! the role guard every server function starts with.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum_login::{AuthUser, AuthnBackend, UserId};
use domain::Role;
use sea_orm::DatabaseConnection;
use service::kv::Kv;
use service::signin_limit::SignInLimiter;
use service::users::SessionUser;
use service::ServiceError;

use crate::error::AppError;

/// What server functions need, provided as Leptos context by the server.
#[derive(Clone, Debug)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub kv: Kv,
    /// The file store (uploaded rate decks).
    pub files: service::files::Files,
    /// Rate plans compiled for rating CDRs, shared by every request.
    pub decks: service::cdrs::DeckCache,
    /// The routing table in force (routing API, route simulation).
    pub router: service::routing::Router,
    pub signin_limiter: SignInLimiter,
    /// How long a session lives without a request.
    pub session_idle_timeout: Duration,
    /// The SMTP relay mail leaves through (`host:port (TLS mode)`), or `None` when
    /// `SMTP_URL` is unset and mail stays in the outbox.
    pub mail_relay: Option<String>,
    /// This instance's System Status recorder (sign-ins, errors).
    pub status: service::status::Recorder,
    /// How often the status collector runs (`STATUS_COLLECT_SECS`).
    pub status_period: Duration,
}

/// The signed-in user as axum-login keeps it in the session.
#[derive(Clone, Debug)]
pub struct AuthedUser(pub SessionUser);

impl AuthUser for AuthedUser {
    type Id = i64;

    fn id(&self) -> i64 {
        self.0.id
    }

    // Sessions made before a password change stop validating (axum-login compares it).
    fn session_auth_hash(&self) -> &[u8] {
        self.0.password_hash.as_bytes()
    }
}

/// E-mail and password as typed on the sign-in page.
#[derive(Clone)]
pub struct Credentials {
    pub email: String,
    pub password: String,
}

/// axum-login's backend over the `users` table.
#[derive(Clone, Debug)]
pub struct Backend {
    pub db: DatabaseConnection,
}

impl AuthnBackend for Backend {
    type User = AuthedUser;
    type Credentials = Credentials;
    type Error = ServiceError;

    async fn authenticate(&self, creds: Credentials) -> Result<Option<AuthedUser>, ServiceError> {
        Ok(
            service::users::authenticate(&self.db, &creds.email, &creds.password)
                .await?
                .map(AuthedUser),
        )
    }

    async fn get_user(&self, id: &UserId<Self>) -> Result<Option<AuthedUser>, ServiceError> {
        Ok(service::users::find_session_user(&self.db, *id)
            .await?
            .map(AuthedUser))
    }
}

/// The session extractor server functions and middleware use.
pub type AuthSession = axum_login::AuthSession<Backend>;

/// The application state from Leptos context.
pub fn state() -> Result<AppState, AppError> {
    leptos::prelude::use_context::<AppState>()
        .ok_or_else(|| AppError::internal("AppState missing from context"))
}

/// The session of the current request.
pub async fn auth_session() -> Result<AuthSession, AppError> {
    leptos_axum::extract::<AuthSession>()
        .await
        .map_err(|e| AppError::internal(format!("auth session: {e}")))
}

/// The signed-in user, if any.
pub async fn current_user() -> Result<Option<SessionUser>, AppError> {
    Ok(auth_session().await?.user.map(|u| u.0))
}

/// The signed-in user if their role satisfies `required`: `Unauthorized` without a
/// session, `Forbidden` with the wrong role. Every server function starts with this.
pub async fn require(required: Role) -> Result<SessionUser, AppError> {
    let user = current_user().await?.ok_or(AppError::Unauthorized)?;
    if user.role.satisfies(required) {
        Ok(user)
    } else {
        Err(AppError::Forbidden)
    }
}

/// The client's IP address (the TCP peer).
pub async fn client_ip() -> Option<IpAddr> {
    leptos_axum::extract::<axum::extract::ConnectInfo<SocketAddr>>()
        .await
        .ok()
        .map(|c| c.0.ip())
}

/// Sets the HTTP status of a server function's answer from its error (422, 401, 429,
/// 403, 404, 409, 500): every server function's body goes through this.
pub fn respond<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    if let Err(error) = &result {
        if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            if let Ok(status) = http::StatusCode::from_u16(error.status()) {
                response.set_status(status);
            }
            // System Status lists failed requests by this id (the details are logged).
            if let AppError::Internal { correlation_id } = error {
                if let Ok(value) = http::HeaderValue::from_str(correlation_id) {
                    response
                        .insert_header(http::HeaderName::from_static(CORRELATION_HEADER), value);
                }
            }
        }
    }
    result
}

/// The response header that carries an internal error's correlation id.
pub const CORRELATION_HEADER: &str = "x-correlation-id";

/// [`require`]s `required` and returns the user as the audit log's actor.
pub async fn actor(required: Role) -> Result<service::audit::Actor, AppError> {
    let user = require(required).await?;
    Ok(service::audit::Actor {
        user_id: Some(user.id),
        email: user.email,
    })
}
