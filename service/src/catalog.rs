//! Reference data (codec catalogue; POPs, customer categories and groups, voice tiers,
//! channel plans) and services. Admins edit them; the carriers module picks from them.
//! Every write is validated by `domain::catalog`, runs in one transaction and is audited.
//! Anything still in use cannot be deleted; the error says where it is used.

use chrono::Utc;
use domain::catalog::{
    validate_codec, validate_reference, validate_service, CodecForm, ReferenceForm, ReferenceKind,
    ServiceForm,
};
use domain::FieldErrors;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};

use crate::audit::{self, Actor};
use crate::entity::{carrier, codec, interconnect, interconnect_codec, interconnect_service};
use crate::entity::{reference_item, service};
use crate::{ServiceError, ServiceResult};

fn taken(field: &str, what: &str, name: &str) -> ServiceError {
    let mut errors = FieldErrors::new();
    errors.add(field, format!("There is already a {what} called {name}."));
    errors.into()
}

// ---------------------------------------------------------------- codecs

/// The codec catalogue, by name.
pub async fn list_codecs(db: &DatabaseConnection) -> ServiceResult<Vec<codec::Model>> {
    Ok(codec::Entity::find()
        .order_by_asc(codec::Column::Name)
        .all(db)
        .await?)
}

/// Adds a codec to the catalogue. Errors: `Validation` (bad fields, a name in use).
pub async fn create_codec(
    db: &DatabaseConnection,
    actor: &Actor,
    form: &CodecForm,
) -> ServiceResult<codec::Model> {
    let valid = validate_codec(form)?;
    let txn = crate::db::begin_write(db).await?;
    let existing = codec::Entity::find().all(&txn).await?;
    if existing
        .iter()
        .any(|c| c.name.eq_ignore_ascii_case(&valid.name))
    {
        return Err(taken("name", "codec", &valid.name));
    }
    let now = Utc::now();
    let model = audit::save(
        &txn,
        actor,
        "codec",
        None,
        None,
        codec::ActiveModel {
            name: Set(valid.name),
            payload_type: Set(valid.payload_type),
            clock_rate: Set(valid.clock_rate),
            description: Set(valid.description),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        },
    )
    .await?;
    txn.commit().await?;
    Ok(model)
}

/// Removes a codec no interconnect and no carrier default uses.
/// Errors: `Conflict` naming how many use it; `NotFound`.
pub async fn delete_codec(db: &DatabaseConnection, actor: &Actor, id: i64) -> ServiceResult<()> {
    let txn = crate::db::begin_write(db).await?;
    let before = codec::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound("codec"))?;
    let interconnects = interconnect_codec::Entity::find()
        .filter(interconnect_codec::Column::CodecId.eq(id))
        .count(&txn)
        .await?;
    // Narrowed by the database, then matched exactly (names are comma-separated).
    let carriers = carrier::Entity::find()
        .filter(carrier::Column::DefaultCodecs.contains(before.name.as_str()))
        .all(&txn)
        .await?
        .into_iter()
        .filter(|c| {
            c.default_codecs
                .split(',')
                .any(|n| n.eq_ignore_ascii_case(&before.name))
        })
        .count();
    if interconnects > 0 || carriers > 0 {
        return Err(ServiceError::Conflict(format!(
            "{} is used by {interconnects} interconnect(s) and is a default codec of {carriers} carrier(s). Remove it there first.",
            before.name
        )));
    }
    codec::Entity::delete_by_id(id).exec(&txn).await?;
    audit::record_change(&txn, actor, "codec", id, None, Some(&before), None).await?;
    txn.commit().await?;
    Ok(())
}

// ---------------------------------------------------------------- reference items

/// Every item of `kind`, by name.
pub async fn list_reference(
    db: &DatabaseConnection,
    kind: ReferenceKind,
) -> ServiceResult<Vec<reference_item::Model>> {
    Ok(reference_item::Entity::find()
        .filter(reference_item::Column::Kind.eq(kind.as_str()))
        .order_by_asc(reference_item::Column::Name)
        .all(db)
        .await?)
}

/// True when an item of `kind` with this id exists.
pub async fn reference_exists<C: ConnectionTrait>(
    db: &C,
    kind: ReferenceKind,
    id: i64,
) -> ServiceResult<bool> {
    Ok(reference_item::Entity::find_by_id(id)
        .filter(reference_item::Column::Kind.eq(kind.as_str()))
        .count(db)
        .await?
        > 0)
}

/// Creates (`id: None`) or updates a reference item of `kind`.
/// Errors: `Validation` (bad fields, a name in use within the kind); `NotFound`.
pub async fn save_reference(
    db: &DatabaseConnection,
    actor: &Actor,
    kind: ReferenceKind,
    id: Option<i64>,
    form: &ReferenceForm,
) -> ServiceResult<reference_item::Model> {
    let valid = validate_reference(kind, form)?;
    let txn = crate::db::begin_write(db).await?;
    let mut clash = reference_item::Entity::find()
        .filter(reference_item::Column::Kind.eq(kind.as_str()))
        .filter(reference_item::Column::Name.eq(valid.name.as_str()));
    if let Some(id) = id {
        clash = clash.filter(reference_item::Column::Id.ne(id));
    }
    if clash.count(&txn).await? > 0 {
        return Err(taken("name", "reference item of this kind", &valid.name));
    }
    let now = Utc::now();
    let before = match id {
        Some(id) => Some(
            reference_item::Entity::find_by_id(id)
                .filter(reference_item::Column::Kind.eq(kind.as_str()))
                .one(&txn)
                .await?
                .ok_or(ServiceError::NotFound("reference item"))?,
        ),
        None => None,
    };
    let mut active = match &before {
        Some(model) => model.clone().into(),
        None => reference_item::ActiveModel {
            kind: Set(kind.as_str().to_owned()),
            created_at: Set(now),
            ..Default::default()
        },
    };
    active.name = Set(valid.name);
    active.description = Set(valid.description);
    active.max_channels = Set(valid.max_channels);
    active.max_cps = Set(valid.max_cps);
    active.updated_at = Set(now);
    let after = audit::save(&txn, actor, kind.as_str(), None, before.as_ref(), active).await?;
    txn.commit().await?;
    Ok(after)
}

/// Deletes a reference item nothing refers to.
/// Errors: `Conflict` saying what still uses it; `NotFound`.
pub async fn delete_reference(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
) -> ServiceResult<()> {
    let txn = crate::db::begin_write(db).await?;
    let before = reference_item::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound("reference item"))?;
    let uses = match ReferenceKind::parse(&before.kind) {
        Some(ReferenceKind::Pop) => interconnect::Entity::find()
            .filter(interconnect::Column::PopId.eq(id))
            .count(&txn)
            .await
            .map(|n| (n, "interconnect(s)"))?,
        Some(ReferenceKind::ChannelPlan) => interconnect::Entity::find()
            .filter(interconnect::Column::ChannelPlanId.eq(id))
            .count(&txn)
            .await
            .map(|n| (n, "interconnect(s)"))?,
        Some(ReferenceKind::CustomerCategory) => carrier::Entity::find()
            .filter(carrier::Column::CategoryId.eq(id))
            .count(&txn)
            .await
            .map(|n| (n, "carrier(s)"))?,
        Some(ReferenceKind::CustomerGroup) => carrier::Entity::find()
            .filter(carrier::Column::GroupId.eq(id))
            .count(&txn)
            .await
            .map(|n| (n, "carrier(s)"))?,
        Some(ReferenceKind::VoiceTier) => service::Entity::find()
            .filter(service::Column::VoiceTierId.eq(id))
            .count(&txn)
            .await
            .map(|n| (n, "service(s)"))?,
        None => (0, ""),
    };
    if uses.0 > 0 {
        return Err(ServiceError::Conflict(format!(
            "{} is used by {} {} and cannot be deleted.",
            before.name, uses.0, uses.1
        )));
    }
    reference_item::Entity::delete_by_id(id).exec(&txn).await?;
    audit::record_change(&txn, actor, &before.kind, id, None, Some(&before), None).await?;
    txn.commit().await?;
    Ok(())
}

// ---------------------------------------------------------------- services

/// Creates (`id: None`) or updates a service.
/// Errors: `Validation` (bad fields, a name in use, a voice tier that does not exist);
/// `NotFound`.
pub async fn save_service(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Option<i64>,
    form: &ServiceForm,
) -> ServiceResult<service::Model> {
    let valid = validate_service(form)?;
    let txn = crate::db::begin_write(db).await?;
    let mut clash = service::Entity::find().filter(service::Column::Name.eq(valid.name.as_str()));
    if let Some(id) = id {
        clash = clash.filter(service::Column::Id.ne(id));
    }
    if clash.count(&txn).await? > 0 {
        return Err(taken("name", "service", &valid.name));
    }
    if let Some(tier) = valid.voice_tier_id {
        if !reference_exists(&txn, ReferenceKind::VoiceTier, tier).await? {
            let mut errors = FieldErrors::new();
            errors.add(
                "voice_tier_id",
                "That voice tier no longer exists. Choose one from the list.",
            );
            return Err(errors.into());
        }
    }
    if let Some(plan_id) = valid.rate_plan_id {
        crate::rate_plans::check_plan_for_service(&txn, plan_id, valid.direction).await?;
    }
    if let Some(plan_id) = valid.routing_plan_id {
        crate::routing::plans::check_plan_for_service(&txn, plan_id).await?;
    }
    let now = Utc::now();
    let before = match id {
        Some(id) => Some(
            service::Entity::find_by_id(id)
                .one(&txn)
                .await?
                .ok_or(ServiceError::NotFound("service"))?,
        ),
        None => None,
    };
    let mut active = match &before {
        Some(model) => model.clone().into(),
        None => service::ActiveModel {
            created_at: Set(now),
            ..Default::default()
        },
    };
    active.name = Set(valid.name);
    active.direction = Set(valid.direction.as_str().to_owned());
    active.status = Set(if valid.active { "active" } else { "inactive" }.to_owned());
    active.voice_tier_id = Set(valid.voice_tier_id);
    active.rate_plan_id = Set(valid.rate_plan_id);
    active.routing_plan_id = Set(valid.routing_plan_id);
    active.description = Set(valid.description);
    active.updated_at = Set(now);
    let after = audit::save(&txn, actor, "service", None, before.as_ref(), active).await?;
    txn.commit().await?;
    Ok(after)
}

/// The service with this id.
pub async fn get_service(db: &DatabaseConnection, id: i64) -> ServiceResult<service::Model> {
    service::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound("service"))
}

/// Every service, by name (pick lists).
pub async fn all_services(db: &DatabaseConnection) -> ServiceResult<Vec<service::Model>> {
    Ok(service::Entity::find()
        .order_by_asc(service::Column::Name)
        .all(db)
        .await?)
}

/// Deletes a service no interconnect uses. Errors: `Conflict`; `NotFound`.
pub async fn delete_service(db: &DatabaseConnection, actor: &Actor, id: i64) -> ServiceResult<()> {
    let txn = crate::db::begin_write(db).await?;
    let before = service::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound("service"))?;
    let uses = interconnect_service::Entity::find()
        .filter(interconnect_service::Column::ServiceId.eq(id))
        .count(&txn)
        .await?;
    if uses > 0 {
        return Err(ServiceError::Conflict(format!(
            "{} is used by {uses} interconnect(s). Deactivate it instead, or remove it from them first.",
            before.name
        )));
    }
    service::Entity::delete_by_id(id).exec(&txn).await?;
    audit::record_change(&txn, actor, "service", id, None, Some(&before), None).await?;
    txn.commit().await?;
    Ok(())
}
