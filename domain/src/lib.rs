//! DIDTron's pure logic: no I/O, no clock, no database. Everything here builds for the
//! server and for `wasm32-unknown-unknown`, so the browser validates forms with the same
//! code the server runs.
//!
//! Modules:
//! - [`identity`]: user roles, e-mail addresses, password policy, the sign-in `next` rule;
//! - [`validation`]: the field-error shape every form and server function shares;
//! - [`money`]: exact micro-unit amounts and currency codes;
//! - [`carrier`]: carriers, their contacts, accounting terms and credit alerts (forms
//!   and their validation);
//! - [`interconnect`]: SIP interconnects: addresses, codecs, number validation and
//!   translation, media, signalling and monitoring;
//! - [`rate_plans`]: rate plans, reading carriers' rate notices, revisions and change
//!   codes;
//! - [`cdr`]: call detail records as switches send them, and their mediation;
//! - [`rating`]: the rating engine (prefix trie, rate decks, billing increments, costs);
//! - [`catalog`]: reference data (codecs, POPs, categories, groups, voice tiers, channel
//!   plans) and services;
//! - [`listing`]: list queries and pages (keyset pagination) of the admin lists;
//! - [`status`]: System Status: snapshot shapes, budgets, the global level, staleness
//!   and the alert rules' cycle.

pub mod carrier;
pub mod catalog;
pub mod cdr;
pub mod identity;
pub mod interconnect;
pub mod listing;
pub mod mail;
pub mod money;
pub mod rate_plans;
pub mod rating;
pub mod routing;
pub mod status;
pub mod validation;

pub use identity::{safe_next_path, EmailAddress, Password, Role};
pub use validation::{FieldError, FieldErrors, StringEnum};
