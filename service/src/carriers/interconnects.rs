//! Interconnects: a carrier's ingress (customer) and egress (supplier) SIP trunks, with
//! their addresses, codecs, services, number validation, translation, media, signalling
//! and (egress) monitoring settings. Each tab of the interconnect page saves through one
//! function here, in one transaction, audited.

use chrono::Utc;
use domain::carrier::{CarrierStatus, CarrierType};
use domain::catalog::{ReferenceKind, ServiceDirection};
use domain::interconnect::{
    validate_address, validate_codecs, validate_interconnect, validate_media, validate_monitoring,
    validate_number_rules, validate_signalling, validate_translation_rule, AddressForm,
    AddressSpec, CodecChoice, Direction, InterconnectForm, MediaForm, MonitoringForm, NumberRules,
    NumberRulesForm, SignallingForm, TranslationRule, TranslationRuleForm,
};
use domain::FieldErrors;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    EntityTrait, QueryFilter, QueryOrder, Set,
};

use crate::audit::{self, Action, Actor, FieldChange};
use crate::catalog::reference_exists;
use crate::entity::{
    carrier, codec, interconnect, interconnect_address, interconnect_codec, interconnect_service,
    service,
};
use crate::{ServiceError, ServiceResult};

const ENTITY: &str = "interconnect";

fn field_error(field: &str, message: impl Into<String>) -> ServiceError {
    let mut errors = FieldErrors::new();
    errors.add(field, message);
    errors.into()
}

/// Everything the interconnect page shows.
#[derive(Clone, Debug)]
pub struct InterconnectDetail {
    pub interconnect: interconnect::Model,
    pub carrier: carrier::Model,
    pub addresses: Vec<interconnect_address::Model>,
    /// In preference order: (catalogue codec, relay only).
    pub codecs: Vec<CodecChoice>,
    pub service_ids: Vec<i64>,
}

/// The carrier's interconnects, ingress first, then by name.
pub async fn list_for_carrier(
    db: &DatabaseConnection,
    carrier_id: i64,
) -> ServiceResult<Vec<interconnect::Model>> {
    Ok(interconnect::Entity::find()
        .filter(interconnect::Column::CarrierId.eq(carrier_id))
        .order_by_desc(interconnect::Column::Direction)
        .order_by_asc(interconnect::Column::Name)
        .all(db)
        .await?)
}

async fn pick_lists<C: ConnectionTrait>(
    db: &C,
    pop_id: Option<i64>,
    channel_plan_id: Option<i64>,
) -> ServiceResult<FieldErrors> {
    let mut errors = FieldErrors::new();
    if let Some(id) = pop_id {
        if !reference_exists(db, ReferenceKind::Pop, id).await? {
            errors.add(
                "pop_id",
                "That POP no longer exists. Choose one from the list.",
            );
        }
    }
    if let Some(id) = channel_plan_id {
        if !reference_exists(db, ReferenceKind::ChannelPlan, id).await? {
            errors.add(
                "channel_plan_id",
                "That channel plan no longer exists. Choose one from the list.",
            );
        }
    }
    Ok(errors)
}

/// Adds an interconnect to a carrier with default media and signalling settings
/// (RTP relay, RFC 2833 DTMF, no limits, session timers 1800 s, SIP 5060/UDP).
///
/// Errors: `Validation` (bad fields; an ingress interconnect on a supplier-only carrier
/// or egress on a customer-only one, on field `direction`); `NotFound`.
pub async fn create_interconnect(
    db: &DatabaseConnection,
    actor: &Actor,
    carrier_id: i64,
    form: &InterconnectForm,
) -> ServiceResult<interconnect::Model> {
    let valid = validate_interconnect(form)?;
    let txn = crate::db::begin_write(db).await?;
    let owner = carrier::Entity::find_by_id(carrier_id)
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound("carrier"))?;
    let mut errors = pick_lists(&txn, valid.pop_id, valid.channel_plan_id).await?;
    let kind = CarrierType::parse(&owner.carrier_type).unwrap_or(CarrierType::Both);
    match (valid.direction, kind) {
        (Direction::Ingress, CarrierType::Supplier) => errors.add(
            "direction",
            format!("{} is a supplier only; make it a customer (or both) to add an ingress interconnect.", owner.name),
        ),
        (Direction::Egress, CarrierType::Customer) => errors.add(
            "direction",
            format!("{} is a customer only; make it a supplier (or both) to add an egress interconnect.", owner.name),
        ),
        _ => {}
    }
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let now = Utc::now();
    let model = audit::save(
        &txn,
        actor,
        ENTITY,
        Some(carrier_id),
        None,
        interconnect::ActiveModel {
            carrier_id: Set(carrier_id),
            name: Set(valid.name),
            direction: Set(valid.direction.as_str().to_owned()),
            status: Set(valid.status.as_str().to_owned()),
            tech_prefix: Set(valid.tech_prefix),
            pop_id: Set(valid.pop_id),
            channel_plan_id: Set(valid.channel_plan_id),
            media_mode: Set("relay".into()),
            dtmf_mode: Set("rfc2833".into()),
            transcoding_allowed: Set(false),
            max_call_duration_secs: Set(7200),
            max_cps: Set(0),
            max_channels: Set(0),
            session_timers: Set(true),
            session_expires_secs: Set(1800),
            pai_mode: Set("pass".into()),
            privacy_mode: Set("honour".into()),
            sip_port: Set(5060),
            sip_transport: Set("udp".into()),
            number_rules: Set(serde_json::to_string(&NumberRules::default())
                .map_err(|e| ServiceError::Internal(e.to_string()))?),
            translation_rules: Set("[]".into()),
            alert_recipients: Set(String::new()),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        },
    )
    .await?;
    txn.commit().await?;
    Ok(model)
}

/// The interconnect with its carrier, addresses, codecs and services.
pub async fn get_interconnect(
    db: &DatabaseConnection,
    id: i64,
) -> ServiceResult<InterconnectDetail> {
    let interconnect = interconnect::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound("interconnect"))?;
    let carrier = carrier::Entity::find_by_id(interconnect.carrier_id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound("carrier"))?;
    let addresses = interconnect_address::Entity::find()
        .filter(interconnect_address::Column::InterconnectId.eq(id))
        .order_by_asc(interconnect_address::Column::Id)
        .all(db)
        .await?;
    let codecs = codec_choices(db, id).await?;
    let service_ids = interconnect_service::Entity::find()
        .filter(interconnect_service::Column::InterconnectId.eq(id))
        .order_by_asc(interconnect_service::Column::ServiceId)
        .all(db)
        .await?
        .into_iter()
        .map(|s| s.service_id)
        .collect();
    Ok(InterconnectDetail {
        interconnect,
        carrier,
        addresses,
        codecs,
        service_ids,
    })
}

async fn codec_choices<C: ConnectionTrait>(db: &C, id: i64) -> ServiceResult<Vec<CodecChoice>> {
    let rows = interconnect_codec::Entity::find()
        .filter(interconnect_codec::Column::InterconnectId.eq(id))
        .order_by_asc(interconnect_codec::Column::Position)
        .find_also_related(codec::Entity)
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(link, codec)| {
            codec.map(|c| CodecChoice {
                codec: c.name,
                relay_only: link.relay_only,
            })
        })
        .collect())
}

async fn load(txn: &DatabaseTransaction, id: i64) -> ServiceResult<interconnect::Model> {
    interconnect::Entity::find_by_id(id)
        .one(txn)
        .await?
        .ok_or(ServiceError::NotFound("interconnect"))
}

async fn finish(
    txn: DatabaseTransaction,
    actor: &Actor,
    before: interconnect::Model,
    active: interconnect::ActiveModel,
) -> ServiceResult<interconnect::Model> {
    let mut active = active;
    active.updated_at = Set(Utc::now());
    let carrier_id = Some(before.carrier_id);
    let after = audit::save(&txn, actor, ENTITY, carrier_id, Some(&before), active).await?;
    txn.commit().await?;
    Ok(after)
}

/// Saves the general settings: name, status, tech prefix, POP and channel plan. The
/// direction cannot change (an ingress trunk is not an egress one with other settings).
///
/// Errors: `Validation`; `NotFound`.
pub async fn update_general(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    form: &InterconnectForm,
) -> ServiceResult<interconnect::Model> {
    let valid = validate_interconnect(form)?;
    let txn = crate::db::begin_write(db).await?;
    let before = load(&txn, id).await?;
    let mut errors = pick_lists(&txn, valid.pop_id, valid.channel_plan_id).await?;
    if valid.direction.as_str() != before.direction {
        errors.add(
            "direction",
            "The direction of an interconnect cannot change; add a new interconnect instead.",
        );
    }
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let mut active: interconnect::ActiveModel = before.clone().into();
    active.name = Set(valid.name);
    active.status = Set(valid.status.as_str().to_owned());
    active.tech_prefix = Set(valid.tech_prefix);
    active.pop_id = Set(valid.pop_id);
    active.channel_plan_id = Set(valid.channel_plan_id);
    finish(txn, actor, before, active).await
}

/// Saves the Media tab: media settings and the ordered codec list.
///
/// Errors: `Validation` (bad fields; `codecs` names an unknown or repeated codec);
/// `NotFound`.
pub async fn save_media(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    form: &MediaForm,
    codecs: &[CodecChoice],
) -> ServiceResult<interconnect::Model> {
    let media = validate_media(form);
    let txn = crate::db::begin_write(db).await?;
    let catalogue = codec::Entity::find().all(&txn).await?;
    let names: Vec<&str> = catalogue.iter().map(|c| c.name.as_str()).collect();
    let chosen = validate_codecs(codecs, &names);
    let (media, chosen) = match (media, chosen) {
        (Ok(m), Ok(c)) => (m, c),
        (m, c) => {
            let mut errors = FieldErrors::new();
            for e in [m.err(), c.err()].into_iter().flatten() {
                errors.0.extend(e.0);
            }
            return Err(errors.into());
        }
    };
    let before = load(&txn, id).await?;
    let before_codecs = codec_choices(&txn, id).await?;
    interconnect_codec::Entity::delete_many()
        .filter(interconnect_codec::Column::InterconnectId.eq(id))
        .exec(&txn)
        .await?;
    let now = Utc::now();
    for (position, choice) in chosen.iter().enumerate() {
        let codec_id = catalogue
            .iter()
            .find(|c| c.name == choice.codec)
            .map(|c| c.id)
            .ok_or_else(|| {
                field_error(
                    "codecs",
                    format!("{} is not in the codec catalogue.", choice.codec),
                )
            })?;
        interconnect_codec::ActiveModel {
            interconnect_id: Set(id),
            codec_id: Set(codec_id),
            position: Set(position as i64),
            relay_only: Set(choice.relay_only),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
    }
    if before_codecs != chosen {
        let show = |list: &[CodecChoice]| {
            list.iter()
                .map(|c| {
                    if c.relay_only {
                        format!("{} (relay only)", c.codec)
                    } else {
                        c.codec.clone()
                    }
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        audit::record(
            &txn,
            actor,
            ENTITY,
            id,
            Some(before.carrier_id),
            Action::Update,
            vec![FieldChange {
                field: "codecs".into(),
                before: Some(show(&before_codecs)).filter(|s| !s.is_empty()),
                after: Some(show(&chosen)).filter(|s| !s.is_empty()),
            }],
        )
        .await?;
    }
    let mut active: interconnect::ActiveModel = before.clone().into();
    active.media_mode = Set(media.media_mode.as_str().to_owned());
    active.dtmf_mode = Set(media.dtmf_mode.as_str().to_owned());
    active.transcoding_allowed = Set(media.transcoding_allowed);
    active.max_call_duration_secs = Set(i64::from(media.max_call_duration_secs));
    finish(txn, actor, before, active).await
}

/// Saves the Signalling tab.
/// Errors: `Validation`; `NotFound`.
pub async fn save_signalling(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    form: &SignallingForm,
) -> ServiceResult<interconnect::Model> {
    let s = validate_signalling(form)?;
    let txn = crate::db::begin_write(db).await?;
    let before = load(&txn, id).await?;
    let mut active: interconnect::ActiveModel = before.clone().into();
    active.max_cps = Set(i64::from(s.max_cps));
    active.max_channels = Set(i64::from(s.max_channels));
    active.session_timers = Set(s.session_timers);
    active.session_expires_secs = Set(i64::from(s.session_expires_secs));
    active.pai_mode = Set(s.pai_mode.as_str().to_owned());
    active.privacy_mode = Set(s.privacy_mode.as_str().to_owned());
    active.sip_port = Set(i64::from(s.sip_port));
    active.sip_transport = Set(s.sip_transport.as_str().to_owned());
    finish(txn, actor, before, active).await
}

/// Saves the Validation tab (A/B-number rules).
/// Errors: `Validation` (a bad line names its number; an invalid CLI regex); `NotFound`.
pub async fn save_number_rules(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    form: &NumberRulesForm,
) -> ServiceResult<interconnect::Model> {
    let rules = validate_number_rules(form)?;
    let txn = crate::db::begin_write(db).await?;
    let before = load(&txn, id).await?;
    let mut active: interconnect::ActiveModel = before.clone().into();
    active.number_rules =
        Set(serde_json::to_string(&rules).map_err(|e| ServiceError::Internal(e.to_string()))?);
    finish(txn, actor, before, active).await
}

/// The saved number rules of an interconnect model.
pub fn number_rules(model: &interconnect::Model) -> NumberRules {
    serde_json::from_str(&model.number_rules).unwrap_or_default()
}

/// The saved translation rules of an interconnect model, in order.
pub fn translation_rules(model: &interconnect::Model) -> Vec<TranslationRule> {
    serde_json::from_str(&model.translation_rules).unwrap_or_default()
}

/// Saves the Translation tab: the whole ordered rule list at once. Errors name the rule
/// by position: field `rules.N.<field>` (N from 0).
///
/// Errors: `Validation`; `NotFound`.
pub async fn save_translation_rules(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    forms: &[TranslationRuleForm],
) -> ServiceResult<interconnect::Model> {
    let mut errors = FieldErrors::new();
    let mut rules = Vec::with_capacity(forms.len());
    for (i, form) in forms.iter().enumerate() {
        match validate_translation_rule(form) {
            Ok(rule) => rules.push(rule),
            Err(e) => {
                for err in e.0 {
                    errors.add(
                        format!("rules.{i}.{}", err.field),
                        format!("Rule {}: {}", i + 1, err.message),
                    );
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let txn = crate::db::begin_write(db).await?;
    let before = load(&txn, id).await?;
    let mut active: interconnect::ActiveModel = before.clone().into();
    active.translation_rules =
        Set(serde_json::to_string(&rules).map_err(|e| ServiceError::Internal(e.to_string()))?);
    finish(txn, actor, before, active).await
}

/// Saves the Monitoring tab (egress only).
/// Errors: `Validation` (also when the interconnect is ingress); `NotFound`.
pub async fn save_monitoring(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    form: &MonitoringForm,
) -> ServiceResult<interconnect::Model> {
    let m = validate_monitoring(form)?;
    let txn = crate::db::begin_write(db).await?;
    let before = load(&txn, id).await?;
    if before.direction != Direction::Egress.as_str() {
        return Err(field_error(
            "asr_min_percent",
            "Monitoring applies to egress (supplier) interconnects only.",
        ));
    }
    let mut active: interconnect::ActiveModel = before.clone().into();
    active.asr_min_percent = Set(m.asr_min_percent.map(i64::from));
    active.acd_min_seconds = Set(m.acd_min_seconds.map(i64::from));
    active.pdd_max_ms = Set(m.pdd_max_ms.map(i64::from));
    active.alert_recipients = Set(m.alert_recipients.join(","));
    finish(txn, actor, before, active).await
}

/// Saves the Services tab: the services an ingress interconnect buys (customer
/// services) or an egress one sells (supplier services).
///
/// Errors: `Validation` on `services` (an unknown service, or one of the wrong
/// direction); `NotFound`.
pub async fn save_services(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    service_ids: &[i64],
) -> ServiceResult<Vec<i64>> {
    let txn = crate::db::begin_write(db).await?;
    let before = load(&txn, id).await?;
    let wanted = if before.direction == Direction::Ingress.as_str() {
        ServiceDirection::Customer
    } else {
        ServiceDirection::Supplier
    };
    let mut ids: Vec<i64> = service_ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let found = service::Entity::find()
        .filter(service::Column::Id.is_in(ids.clone()))
        .all(&txn)
        .await?;
    if found.len() != ids.len() {
        return Err(field_error(
            "services",
            "One of these services no longer exists. Reload the page.",
        ));
    }
    if let Some(wrong) = found.iter().find(|s| s.direction != wanted.as_str()) {
        return Err(field_error(
            "services",
            format!(
                "{} is a {} service; this interconnect takes {} services.",
                wrong.name,
                wrong.direction,
                wanted.as_str()
            ),
        ));
    }
    let old: Vec<i64> = interconnect_service::Entity::find()
        .filter(interconnect_service::Column::InterconnectId.eq(id))
        .order_by_asc(interconnect_service::Column::ServiceId)
        .all(&txn)
        .await?
        .into_iter()
        .map(|s| s.service_id)
        .collect();
    if old != ids {
        interconnect_service::Entity::delete_many()
            .filter(interconnect_service::Column::InterconnectId.eq(id))
            .exec(&txn)
            .await?;
        let now = Utc::now();
        for service_id in &ids {
            interconnect_service::ActiveModel {
                interconnect_id: Set(id),
                service_id: Set(*service_id),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(&txn)
            .await?;
        }
        let all = service::Entity::find().all(&txn).await?;
        let names = |list: &[i64]| {
            let v: Vec<String> = list
                .iter()
                .filter_map(|i| all.iter().find(|s| s.id == *i).map(|s| s.name.clone()))
                .collect();
            Some(v.join(", ")).filter(|s| !s.is_empty())
        };
        audit::record(
            &txn,
            actor,
            ENTITY,
            id,
            Some(before.carrier_id),
            Action::Update,
            vec![FieldChange {
                field: "services".into(),
                before: names(&old),
                after: names(&ids),
            }],
        )
        .await?;
    }
    txn.commit().await?;
    Ok(ids)
}

/// First and last address of an IP or CIDR ([`AddressSpec::ip_range`]) as 32 hex
/// digits, so "overlaps" is a string range test on indexed columns. `None` for hosts.
pub fn address_range(spec: &AddressSpec) -> Option<(String, String)> {
    spec.ip_range()
        .map(|(start, end)| (format!("{start:032x}"), format!("{end:032x}")))
}

/// Adds an address. Ingress addresses (who may send us calls) must not overlap an
/// ingress address of another carrier — the switch could not tell whose call it is.
///
/// Errors: `Validation` (bad fields; the same address already on this interconnect);
/// `Conflict` naming the other carrier and its interconnect; `NotFound`.
pub async fn add_address(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    form: &AddressForm,
) -> ServiceResult<interconnect_address::Model> {
    let txn = crate::db::begin_write(db).await?;
    let owner = load(&txn, id).await?;
    let direction = Direction::parse(&owner.direction).unwrap_or(Direction::Ingress);
    let address = validate_address(form, direction)?;
    let canonical = address.spec.to_string();
    let range = address_range(&address.spec);
    let same = interconnect_address::Entity::find()
        .filter(interconnect_address::Column::InterconnectId.eq(id))
        .all(&txn)
        .await?;
    if same.iter().any(|a| {
        AddressSpec::parse(&a.address).is_ok_and(|s| s.overlaps(&address.spec))
            && a.port == i64::from(address.port)
    }) {
        return Err(field_error(
            "address",
            format!("{canonical} is already covered on this interconnect."),
        ));
    }
    if direction == Direction::Ingress {
        if let Some((start, end)) = &range {
            let clash = interconnect_address::Entity::find()
                .filter(interconnect_address::Column::Direction.eq(Direction::Ingress.as_str()))
                .filter(interconnect_address::Column::CarrierId.ne(owner.carrier_id))
                .filter(interconnect_address::Column::RangeStart.lte(end.as_str()))
                .filter(interconnect_address::Column::RangeEnd.gte(start.as_str()))
                .one(&txn)
                .await?;
            if let Some(other) = clash {
                let other_ic = load(&txn, other.interconnect_id).await?;
                let other_carrier = carrier::Entity::find_by_id(other.carrier_id)
                    .one(&txn)
                    .await?
                    .map(|c| c.name)
                    .unwrap_or_default();
                return Err(ServiceError::Conflict(format!(
                    "{canonical} overlaps {} on {other_carrier}'s interconnect {}: calls from it could not be told apart.",
                    other.address, other_ic.name
                )));
            }
        }
    }
    let now = Utc::now();
    let model = audit::save(
        &txn,
        actor,
        "interconnect_address",
        Some(owner.carrier_id),
        None,
        interconnect_address::ActiveModel {
            interconnect_id: Set(id),
            carrier_id: Set(owner.carrier_id),
            direction: Set(owner.direction.clone()),
            address: Set(canonical),
            port: Set(i64::from(address.port)),
            transport: Set(address.transport.as_str().to_owned()),
            range_start: Set(range.as_ref().map(|r| r.0.clone())),
            range_end: Set(range.map(|r| r.1)),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        },
    )
    .await?;
    txn.commit().await?;
    Ok(model)
}

/// Removes one address of interconnect `id`. Errors: `NotFound`.
pub async fn delete_address(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
    address_id: i64,
) -> ServiceResult<()> {
    let txn = crate::db::begin_write(db).await?;
    let before = interconnect_address::Entity::find_by_id(address_id)
        .filter(interconnect_address::Column::InterconnectId.eq(id))
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound("address"))?;
    interconnect_address::Entity::delete_by_id(address_id)
        .exec(&txn)
        .await?;
    audit::record_change(
        &txn,
        actor,
        "interconnect_address",
        address_id,
        Some(before.carrier_id),
        Some(&before),
        None,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Whether an interconnect may be deleted: only an inactive one (traffic checks join
/// once CDRs exist). Its addresses, codecs and services go with it.
///
/// Errors: `Conflict` while active; `NotFound`.
pub async fn delete_interconnect(
    db: &DatabaseConnection,
    actor: &Actor,
    id: i64,
) -> ServiceResult<()> {
    let txn = crate::db::begin_write(db).await?;
    let before = load(&txn, id).await?;
    if before.status == CarrierStatus::Active.as_str() {
        return Err(ServiceError::Conflict(format!(
            "{} is active. Set it to Inactive first, so no call is routed to it while it goes.",
            before.name
        )));
    }
    interconnect::Entity::delete_by_id(id).exec(&txn).await?;
    audit::record_change(
        &txn,
        actor,
        ENTITY,
        id,
        Some(before.carrier_id),
        Some(&before),
        None,
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

fn opt_text(v: Option<i64>) -> String {
    v.map(|n| n.to_string()).unwrap_or_default()
}

/// The general settings of `m` in the shape of their form.
pub fn general_form(m: &interconnect::Model) -> InterconnectForm {
    InterconnectForm {
        name: m.name.clone(),
        direction: m.direction.clone(),
        status: m.status.clone(),
        tech_prefix: m.tech_prefix.clone().unwrap_or_default(),
        pop_id: opt_text(m.pop_id),
        channel_plan_id: opt_text(m.channel_plan_id),
    }
}

/// The Media tab of `m` in the shape of its form.
pub fn media_form(m: &interconnect::Model) -> MediaForm {
    MediaForm {
        media_mode: m.media_mode.clone(),
        dtmf_mode: m.dtmf_mode.clone(),
        transcoding_allowed: m.transcoding_allowed,
        max_call_duration_secs: m.max_call_duration_secs.to_string(),
    }
}

/// The Signalling tab of `m` in the shape of its form.
pub fn signalling_form(m: &interconnect::Model) -> SignallingForm {
    SignallingForm {
        max_cps: m.max_cps.to_string(),
        max_channels: m.max_channels.to_string(),
        session_timers: m.session_timers,
        session_expires_secs: m.session_expires_secs.to_string(),
        pai_mode: m.pai_mode.clone(),
        privacy_mode: m.privacy_mode.clone(),
        sip_port: m.sip_port.to_string(),
        sip_transport: m.sip_transport.clone(),
    }
}

/// The Monitoring tab of `m` in the shape of its form.
pub fn monitoring_form(m: &interconnect::Model) -> MonitoringForm {
    MonitoringForm {
        asr_min_percent: opt_text(m.asr_min_percent),
        acd_min_seconds: opt_text(m.acd_min_seconds),
        pdd_max_ms: opt_text(m.pdd_max_ms),
        alert_recipients: m
            .alert_recipients
            .split(',')
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// The Validation tab of `m` in the shape of its form.
pub fn number_rules_form(m: &interconnect::Model) -> NumberRulesForm {
    NumberRulesForm::from(&number_rules(m))
}

/// The Translation tab of `m`: one form per rule, in order.
pub fn translation_forms(m: &interconnect::Model) -> Vec<TranslationRuleForm> {
    translation_rules(m)
        .iter()
        .map(TranslationRuleForm::from)
        .collect()
}
