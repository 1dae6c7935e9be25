//! The error every `service` function returns.

use domain::FieldErrors;

/// What went wrong in a use case.
///
/// `Validation`, `NotFound`, `Conflict` and `Forbidden` are the caller's to show;
/// `Database`, `Kv` and `Internal` are logged with a correlation id and never shown.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Input failed validation; one message per field.
    #[error("invalid input: {0}")]
    Validation(FieldErrors),
    /// The named thing does not exist (or is not visible to the caller).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The change clashes with existing data; the text says with what.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The caller may not do this.
    #[error("forbidden")]
    Forbidden,
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    /// Redis (or the in-process store) failed.
    #[error("kv: {0}")]
    Kv(#[from] crate::kv::KvError),
    /// Anything else that is our fault.
    #[error("internal: {0}")]
    Internal(String),
}

impl From<FieldErrors> for ServiceError {
    fn from(errors: FieldErrors) -> Self {
        ServiceError::Validation(errors)
    }
}

/// `Result` with [`ServiceError`].
pub type ServiceResult<T> = Result<T, ServiceError>;
