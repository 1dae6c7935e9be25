//! SeaORM entities, one file per table, no behaviour in them (see DESIGN.md).

pub mod carrier;
pub mod session;
pub mod user;
