//! SeaORM entities, one file per table, no behaviour in them (see DESIGN.md).

pub mod api_key;
pub mod audit_entry;
pub mod carrier;
pub mod carrier_balance;
pub mod carrier_contact;
pub mod cdr;
pub mod cdr_import;
pub mod cdr_pull_source;
pub mod codec;
pub mod credit_alert;
pub mod deck_mapping;
pub mod interconnect;
pub mod interconnect_address;
pub mod interconnect_codec;
pub mod interconnect_service;
pub mod job;
pub mod ledger_entry;
pub mod mail_outbox;
pub mod rate;
pub mod rate_import;
pub mod rate_plan;
pub mod rate_revision;
pub mod reference_item;
pub mod service;
pub mod session;
pub mod user;
