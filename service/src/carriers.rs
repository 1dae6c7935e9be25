//! Carriers: the companies we trade traffic with. This file holds the identity every
//! other module needs (create, look up, count); the carriers module adds its settings.

use chrono::Utc;
use domain::FieldErrors;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    Set,
};

use crate::entity::{carrier, user};
use crate::{ServiceError, ServiceResult};

/// Input for [`create_carrier`], raw as typed.
#[derive(Clone, Debug)]
pub struct NewCarrier {
    pub name: String,
    /// 1–64 characters of `A–Z 0–9 _ -`; stored upper-case; unique.
    pub account_code: String,
    /// `customer`, `supplier` or `both`.
    pub carrier_type: String,
    /// ISO 4217 alphabetic code, e.g. `USD`.
    pub currency: String,
}

/// Creates an active carrier.
///
/// Errors: `Validation` naming each bad field; `Conflict` when the account code is taken.
pub async fn create_carrier(
    db: &DatabaseConnection,
    new: NewCarrier,
) -> ServiceResult<carrier::Model> {
    let mut errors = FieldErrors::new();
    let name = new.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 200 {
        errors.add("name", "Enter the carrier's name (at most 200 characters).");
    }
    let account_code = new.account_code.trim().to_uppercase();
    if account_code.is_empty()
        || account_code.len() > 64
        || !account_code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        errors.add(
            "account_code",
            "An account code is 1–64 letters, digits, '_' or '-'.",
        );
    }
    let carrier_type = new.carrier_type.trim().to_lowercase();
    if !matches!(carrier_type.as_str(), "customer" | "supplier" | "both") {
        errors.add("carrier_type", "Choose customer, supplier or both.");
    }
    let currency = match domain::money::Currency::parse(&new.currency) {
        Ok(code) => code.to_string(),
        Err(_) => {
            errors.add(
                "currency",
                "A currency is a 3-letter ISO 4217 code, e.g. USD.",
            );
            String::new()
        }
    };
    if !errors.is_empty() {
        return Err(errors.into());
    }
    if carrier::Entity::find()
        .filter(carrier::Column::AccountCode.eq(account_code.as_str()))
        .one(db)
        .await?
        .is_some()
    {
        return Err(ServiceError::Conflict(format!(
            "account code {account_code} is already used by another carrier"
        )));
    }
    let now = Utc::now();
    Ok(carrier::ActiveModel {
        name: Set(name),
        account_code: Set(account_code),
        carrier_type: Set(carrier_type),
        status: Set("active".into()),
        currency: Set(currency),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// The carrier with this id.
pub async fn get_carrier(db: &DatabaseConnection, id: i64) -> ServiceResult<carrier::Model> {
    carrier::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound("carrier"))
}

/// Number of customer users of this carrier.
pub async fn count_users(db: &DatabaseConnection, carrier_id: i64) -> ServiceResult<u64> {
    Ok(user::Entity::find()
        .filter(user::Column::CarrierId.eq(carrier_id))
        .count(db)
        .await?)
}
