//! A carrier's contacts (billing, technical, rates, NOC, sales).

use chrono::Utc;
use domain::carrier::{validate_contact, ContactForm};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set};

use super::{find_owned, get_carrier_in};
use crate::audit::{self, Actor};
use crate::entity::carrier_contact::{self, Column, Entity};
use crate::ServiceResult;

const ENTITY: &str = "contact";

/// The carrier's contacts, by role then name.
pub async fn list_contacts(
    db: &DatabaseConnection,
    carrier_id: i64,
) -> ServiceResult<Vec<carrier_contact::Model>> {
    Ok(Entity::find()
        .filter(Column::CarrierId.eq(carrier_id))
        .order_by_asc(Column::Role)
        .order_by_asc(Column::Name)
        .all(db)
        .await?)
}

/// Adds (`id: None`) or edits one of `carrier_id`'s contacts.
/// Errors: `Validation`; `NotFound` (carrier, or a contact of another carrier).
pub async fn save_contact(
    db: &DatabaseConnection,
    actor: &Actor,
    carrier_id: i64,
    id: Option<i64>,
    form: &ContactForm,
) -> ServiceResult<carrier_contact::Model> {
    let contact = validate_contact(form)?;
    let txn = crate::db::begin_write(db).await?;
    get_carrier_in(&txn, carrier_id).await?;
    let before = match id {
        Some(id) => {
            Some(find_owned::<Entity, _>(&txn, id, Column::CarrierId, carrier_id, "contact").await?)
        }
        None => None,
    };
    let now = Utc::now();
    let mut active: carrier_contact::ActiveModel = match &before {
        Some(model) => model.clone().into(),
        None => carrier_contact::ActiveModel {
            carrier_id: Set(carrier_id),
            created_at: Set(now),
            ..Default::default()
        },
    };
    active.role = Set(contact.role.as_str().to_owned());
    active.name = Set(contact.name);
    active.email = Set(contact.email);
    active.phone = Set(contact.phone);
    active.updated_at = Set(now);
    let after = audit::save(
        &txn,
        actor,
        ENTITY,
        Some(carrier_id),
        before.as_ref(),
        active,
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

/// Deletes one of `carrier_id`'s contacts. Errors: `NotFound`.
pub async fn delete_contact(
    db: &DatabaseConnection,
    actor: &Actor,
    carrier_id: i64,
    id: i64,
) -> ServiceResult<()> {
    let txn = crate::db::begin_write(db).await?;
    let before =
        find_owned::<Entity, _>(&txn, id, Column::CarrierId, carrier_id, "contact").await?;
    Entity::delete_by_id(id).exec(&txn).await?;
    audit::record_change(
        &txn,
        actor,
        ENTITY,
        id,
        Some(carrier_id),
        Some(&before),
        None,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// A saved contact in the shape of its form.
pub fn contact_form(m: &carrier_contact::Model) -> ContactForm {
    ContactForm {
        role: m.role.clone(),
        name: m.name.clone(),
        email: m.email.clone().unwrap_or_default(),
        phone: m.phone.clone().unwrap_or_default(),
    }
}
