//! The service layer's integration tests, in one binary, each run on SQLite and on
//! PostgreSQL + Redis (`service::testing::backends`).

mod carriers;
mod catalog;
mod cdrs;
mod jobs;
mod kv;
mod mail;
mod rate_plans;
mod routing;
mod status;
mod users;
