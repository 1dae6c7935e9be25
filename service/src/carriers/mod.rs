//! The carriers module: carriers (details, accounting), their contacts and credit
//! alerts, their interconnects, and the lists the carriers page shows.
//!
//! Every write validates with the same `domain` code the browser runs, runs in one
//! transaction, and writes an audit entry ([`crate::audit`]) in that transaction:
//! nothing is half-saved, nothing is unaudited.

pub mod contacts;
pub mod credit_alerts;
pub mod interconnects;
pub mod list;

use chrono::Utc;
use domain::carrier::{
    validate_accounting, validate_carrier_details, validate_new_carrier, AccountingForm,
    CarrierDetailsForm,
};
use domain::FieldErrors;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait,
    PaginatorTrait, QueryFilter, Set,
};

use crate::audit::{self, Actor};
use crate::catalog;
use crate::entity::{carrier, codec, interconnect, user};
use crate::{ServiceError, ServiceResult};
use domain::catalog::ReferenceKind;

/// Input for [`create_carrier`], raw as typed (`domain::carrier::NewCarrierForm`).
pub use domain::carrier::NewCarrierForm as NewCarrier;

/// The audit log's name for a carrier.
pub const ENTITY: &str = "carrier";

/// Creates an active carrier with default settings (timezone UTC, prepaid, no credit).
/// The customer/supplier flags follow the type.
///
/// Errors: `Validation` naming each bad field; `Conflict` when the account code is taken.
pub async fn create_carrier(
    db: &DatabaseConnection,
    actor: &Actor,
    new: NewCarrier,
) -> ServiceResult<carrier::Model> {
    let new = validate_new_carrier(&new)?;
    let txn = crate::db::begin_write(db).await?;
    ensure_account_code_free(&txn, &new.account_code, None).await?;
    let now = Utc::now();
    let kind = new.carrier_type;
    let model = carrier::ActiveModel {
        search_key: Set(search_key(&new.name, &new.account_code)),
        name: Set(new.name),
        account_code: Set(new.account_code),
        carrier_type: Set(kind.as_str().to_owned()),
        status: Set("active".into()),
        currency: Set(new.currency),
        timezone: Set("UTC".into()),
        customer_enabled: Set(kind != domain::carrier::CarrierType::Supplier),
        supplier_enabled: Set(kind != domain::carrier::CarrierType::Customer),
        default_codecs: Set(String::new()),
        billing_mode: Set("prepaid".into()),
        credit_limit_micros: Set(0),
        billing_cycle: Set("monthly".into()),
        payment_terms_days: Set(30),
        max_cps: Set(0),
        max_channels: Set(0),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    audit::record_change(
        &txn,
        actor,
        ENTITY,
        model.id,
        Some(model.id),
        None,
        Some(&model),
    )
    .await?;
    txn.commit().await?;
    Ok(model)
}

/// What the carriers list searches for a carrier: `lower(name) lower(account_code)`.
pub fn search_key(name: &str, account_code: &str) -> String {
    format!("{} {}", name.to_lowercase(), account_code.to_lowercase())
}

async fn ensure_account_code_free<C: ConnectionTrait>(
    db: &C,
    account_code: &str,
    except: Option<i64>,
) -> ServiceResult<()> {
    let mut query = carrier::Entity::find().filter(carrier::Column::AccountCode.eq(account_code));
    if let Some(id) = except {
        query = query.filter(carrier::Column::Id.ne(id));
    }
    match query.one(db).await? {
        Some(other) => Err(ServiceError::Validation({
            let mut e = FieldErrors::new();
            e.add(
                "account_code",
                format!(
                    "Account code {account_code} is already used by {}. Choose another.",
                    other.name
                ),
            );
            e
        })),
        None => Ok(()),
    }
}

/// Row `id` of `E` if its `owner` column is `carrier_id`; `NotFound(what)` otherwise (a
/// row of another carrier is as good as missing).
pub async fn find_owned<E, C>(
    db: &C,
    id: i64,
    owner: E::Column,
    carrier_id: i64,
    what: &'static str,
) -> ServiceResult<E::Model>
where
    E: EntityTrait,
    C: ConnectionTrait,
    <E::PrimaryKey as sea_orm::PrimaryKeyTrait>::ValueType: From<i64>,
{
    E::find_by_id(id)
        .filter(owner.eq(carrier_id))
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound(what))
}

/// The carrier with this id.
pub async fn get_carrier(db: &DatabaseConnection, id: i64) -> ServiceResult<carrier::Model> {
    get_carrier_in(db, id).await
}

/// The carrier with this id, read on `db` (a connection or the caller's transaction).
pub async fn get_carrier_in<C: ConnectionTrait>(db: &C, id: i64) -> ServiceResult<carrier::Model> {
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

/// The codec catalogue's names, in catalogue order (for validation and pick lists).
pub async fn codec_names<C: ConnectionTrait>(db: &C) -> ServiceResult<Vec<String>> {
    Ok(codec::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|c| c.name)
        .collect())
}

/// Saves the Carrier Details tab: identity, commercial and technical settings.
///
/// Errors: `Validation` (bad fields, an unknown codec, a category or group that does not
/// exist, an account code another carrier uses); `NotFound`.
pub async fn update_details(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    form: &CarrierDetailsForm,
) -> ServiceResult<carrier::Model> {
    let details = validate_carrier_details(form)?;
    let txn = crate::db::begin_write(db).await?;
    let before = get_carrier_in(&txn, id).await?;
    let mut errors = FieldErrors::new();
    let catalogue = codec_names(&txn).await?;
    let mut codecs = Vec::with_capacity(details.default_codecs.len());
    for name in &details.default_codecs {
        match catalogue.iter().find(|c| c.eq_ignore_ascii_case(name)) {
            Some(known) => codecs.push(known.clone()),
            None => errors.add(
                "default_codecs",
                format!("{name} is not in the codec catalogue. Add it under Reference data first."),
            ),
        }
    }
    if let Some(category) = details.category_id {
        if !catalog::reference_exists(&txn, ReferenceKind::CustomerCategory, category).await? {
            errors.add(
                "category_id",
                "That customer category no longer exists. Choose one from the list.",
            );
        }
    }
    if let Some(group) = details.group_id {
        if !catalog::reference_exists(&txn, ReferenceKind::CustomerGroup, group).await? {
            errors.add(
                "group_id",
                "That customer group no longer exists. Choose one from the list.",
            );
        }
    }
    if !errors.is_empty() {
        return Err(errors.into());
    }
    ensure_account_code_free(&txn, &details.account_code, Some(id)).await?;
    let mut active: carrier::ActiveModel = before.clone().into();
    active.search_key = Set(search_key(&details.name, &details.account_code));
    active.name = Set(details.name);
    active.account_code = Set(details.account_code);
    active.carrier_type = Set(details.carrier_type.as_str().to_owned());
    active.status = Set(details.status.as_str().to_owned());
    active.website = Set(details.website);
    active.address = Set(details.address);
    active.currency = Set(details.currency);
    active.timezone = Set(details.timezone);
    active.customer_enabled = Set(details.customer_enabled);
    active.supplier_enabled = Set(details.supplier_enabled);
    active.default_codecs = Set(codecs.join(","));
    active.noc_email = Set(details.noc_email);
    active.category_id = Set(details.category_id);
    active.group_id = Set(details.group_id);
    active.max_cps = Set(i64::from(details.max_cps));
    active.max_channels = Set(i64::from(details.max_channels));
    active.updated_at = Set(Utc::now());
    let after = audit::save(&txn, actor, ENTITY, Some(id), Some(&before), active).await?;
    txn.commit().await?;
    Ok(after)
}

/// Saves the Accounting Details tab.
///
/// Errors: `Validation` (e.g. a negative credit limit); `NotFound`.
pub async fn update_accounting(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    form: &AccountingForm,
) -> ServiceResult<carrier::Model> {
    let accounting = validate_accounting(form)?;
    let txn = crate::db::begin_write(db).await?;
    let before = get_carrier_in(&txn, id).await?;
    let mut active: carrier::ActiveModel = before.clone().into();
    active.billing_mode = Set(accounting.billing_mode.as_str().to_owned());
    active.credit_limit_micros = Set(accounting.credit_limit_micros);
    active.billing_cycle = Set(accounting.billing_cycle.as_str().to_owned());
    active.payment_terms_days = Set(i32::from(accounting.payment_terms_days));
    active.invoice_email = Set(accounting.invoice_email);
    active.tax_id = Set(accounting.tax_id);
    active.updated_at = Set(Utc::now());
    let after = audit::save(&txn, actor, ENTITY, Some(id), Some(&before), active).await?;
    txn.commit().await?;
    Ok(after)
}

/// Deletes a carrier that has never been used: no interconnects, no users, no ledger
/// entries (calls, payments, adjustments). Contacts and credit alerts go with it.
///
/// Errors: `Conflict` saying why and suggesting deactivation; `NotFound`.
pub async fn delete_carrier(db: &DatabaseConnection, actor: &Actor, id: i64) -> ServiceResult<()> {
    let txn = crate::db::begin_write(db).await?;
    let before = get_carrier_in(&txn, id).await?;
    let interconnects = interconnect::Entity::find()
        .filter(interconnect::Column::CarrierId.eq(id))
        .count(&txn)
        .await?;
    let users = user::Entity::find()
        .filter(user::Column::CarrierId.eq(id))
        .count(&txn)
        .await?;
    // The ledger's carrier is checked here, not by a foreign key (migration
    // `m20261122_000017_ledger_carrier_check`): the account's history is kept.
    let entries = crate::entity::ledger_entry::Entity::find()
        .filter(crate::entity::ledger_entry::Column::CarrierId.eq(id))
        .count(&txn)
        .await?;
    if interconnects > 0 || users > 0 || entries > 0 {
        let mut reasons = Vec::new();
        if interconnects > 0 {
            reasons.push(format!("{interconnects} interconnect(s)"));
        }
        if users > 0 {
            reasons.push(format!("{users} portal user(s)"));
        }
        if entries > 0 {
            reasons.push(match entries {
                1 => "1 ledger entry".to_owned(),
                n => format!("{n} ledger entries"),
            });
        }
        return Err(ServiceError::Conflict(format!(
            "{} has {} and cannot be deleted. Set its status to Inactive instead.",
            before.name,
            reasons.join(" and ")
        )));
    }
    carrier::Entity::delete_by_id(id).exec(&txn).await?;
    audit::record_change(&txn, actor, ENTITY, id, Some(id), Some(&before), None).await?;
    txn.commit().await?;
    Ok(())
}

/// An amount as the forms show it: 2 decimals when exact to the cent, else all 6.
pub fn amount_text(micros: i64) -> String {
    if micros % 10_000 == 0 {
        domain::money::format_micros(micros, 2)
    } else {
        domain::money::format_micros(micros, 6)
    }
}

fn id_text(id: Option<i64>) -> String {
    id.map(|i| i.to_string()).unwrap_or_default()
}

/// The saved Carrier Details of `m`, in the shape of its form.
pub fn details_form(m: &carrier::Model) -> CarrierDetailsForm {
    CarrierDetailsForm {
        name: m.name.clone(),
        account_code: m.account_code.clone(),
        carrier_type: m.carrier_type.clone(),
        status: m.status.clone(),
        website: m.website.clone().unwrap_or_default(),
        address: m.address.clone().unwrap_or_default(),
        currency: m.currency.clone(),
        timezone: m.timezone.clone(),
        customer_enabled: m.customer_enabled,
        supplier_enabled: m.supplier_enabled,
        default_codecs: m
            .default_codecs
            .split(',')
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect(),
        noc_email: m.noc_email.clone().unwrap_or_default(),
        category_id: id_text(m.category_id),
        group_id: id_text(m.group_id),
        max_cps: m.max_cps.to_string(),
        max_channels: m.max_channels.to_string(),
    }
}

/// The saved Accounting Details of `m`, in the shape of its form.
pub fn accounting_form(m: &carrier::Model) -> AccountingForm {
    AccountingForm {
        billing_mode: m.billing_mode.clone(),
        credit_limit: amount_text(m.credit_limit_micros),
        billing_cycle: m.billing_cycle.clone(),
        payment_terms_days: m.payment_terms_days.to_string(),
        invoice_email: m.invoice_email.clone().unwrap_or_default(),
        tax_id: m.tax_id.clone().unwrap_or_default(),
    }
}

/// The billing term of `m` as carriers write it, e.g. "weekly 7/3"
/// (`domain::carrier::Accounting::billing_term`).
pub fn billing_term(m: &carrier::Model) -> String {
    validate_accounting(&accounting_form(m))
        .map(|a| a.billing_term())
        .unwrap_or_default()
}

/// Number of carriers (the sidebar badge).
pub async fn count_carriers(db: &DatabaseConnection) -> ServiceResult<u64> {
    Ok(carrier::Entity::find().count(db).await?)
}
