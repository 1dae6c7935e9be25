//! DIDTron's server-side use cases: SeaORM entities, queries and commands per module,
//! and the shared key-value interface ([`kv::Kv`]: Redis or in-process).
//!
//! Functions take a `&DatabaseConnection` (and a [`kv::Kv`] where they need one) and know
//! nothing of HTTP. Errors are [`ServiceError`]; the web layer maps them to what a
//! browser may see.

pub mod audit;
pub mod carriers;
pub mod catalog;
pub mod cdrs;
pub mod dashboard;
pub mod db;
pub mod entity;
pub mod error;
pub mod files;
pub mod jobs;
pub mod kv;
pub mod leases;
pub mod mail;
pub mod rate_plans;
pub mod rating_files;
pub mod routing;
pub mod signin_limit;
pub mod status;
pub mod users;

#[cfg(feature = "testing")]
pub mod testing;

pub use error::{ServiceError, ServiceResult};
