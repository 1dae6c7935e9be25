//! The one error type every server function returns, and what the browser shows for it.
//!
//! Details of internal failures never reach the browser: they are logged with a
//! correlation id, and only that id is sent (DESIGN.md, "Server functions").

use domain::FieldErrors;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// A server function's failure, as the browser sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// Input was refused; one message per form field.
    #[error("Check the highlighted fields.")]
    Validation(FieldErrors),
    /// E-mail or password wrong (never says which).
    #[error("The e-mail address or password is not right.")]
    InvalidCredentials,
    /// Sign-in refused after too many failures; try again after this many seconds.
    #[error("Too many failed sign-in attempts. Try again in {} minute(s).", retry_after_secs.div_ceil(60).max(1))]
    TooManyAttempts { retry_after_secs: u64 },
    /// No session, or it expired.
    #[error("Your session has ended. Sign in again.")]
    Unauthorized,
    /// Signed in, but this role may not do this.
    #[error("You do not have access to this.")]
    Forbidden,
    /// The thing asked for does not exist or is not visible to you.
    #[error("Not found.")]
    NotFound,
    /// The change clashes with existing data; the text says with what.
    #[error("{0}")]
    Conflict(String),
    /// Our fault; the id finds the details in the server log.
    #[error("Something went wrong on our side. Reference: {correlation_id}.")]
    Internal { correlation_id: String },
    /// The request did not reach the server or its answer could not be read.
    #[error("The server could not be reached ({0}). Check your connection and retry.")]
    Transport(String),
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Transport(value.to_string())
    }
}

impl AppError {
    /// The HTTP status a server function answers with for this error.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Validation(_) => 422,
            AppError::InvalidCredentials | AppError::Unauthorized => 401,
            AppError::TooManyAttempts { .. } => 429,
            AppError::Forbidden => 403,
            AppError::NotFound => 404,
            AppError::Conflict(_) => 409,
            AppError::Internal { .. } => 500,
            AppError::Transport(_) => 502,
        }
    }

    /// The message for one form field, when this is a validation error.
    pub fn field(&self, name: &str) -> Option<String> {
        match self {
            AppError::Validation(errors) => errors.get(name).map(str::to_owned),
            _ => None,
        }
    }
}

#[cfg(feature = "ssr")]
impl From<service::ServiceError> for AppError {
    fn from(err: service::ServiceError) -> Self {
        use service::ServiceError as E;
        match err {
            E::Validation(fields) => AppError::Validation(fields),
            E::NotFound(_) => AppError::NotFound,
            E::Conflict(text) => AppError::Conflict(text),
            E::Forbidden => AppError::Forbidden,
            other => AppError::internal(other),
        }
    }
}

#[cfg(feature = "ssr")]
impl AppError {
    /// Logs `err` with a fresh correlation id and returns the id-only error.
    pub fn internal(err: impl std::fmt::Display) -> Self {
        let correlation_id = uuid::Uuid::now_v7().to_string();
        tracing::error!(%correlation_id, error = %err, "internal error");
        AppError::Internal { correlation_id }
    }
}
