//! SeaORM entities, one file per table, no behaviour in them (see DESIGN.md).

pub mod audit_entry;
pub mod carrier;
pub mod carrier_contact;
pub mod codec;
pub mod credit_alert;
pub mod interconnect;
pub mod interconnect_address;
pub mod interconnect_codec;
pub mod interconnect_service;
pub mod reference_item;
pub mod service;
pub mod session;
pub mod user;
