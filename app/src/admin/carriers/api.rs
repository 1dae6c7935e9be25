//! The carriers module's server functions and the types they exchange. Every function
//! is staff-only (`Role::Admin`): a customer session gets `Forbidden`. Writes take the
//! signed-in user as the audit actor. Validation is `domain`'s, run again here.

use domain::carrier::{
    AccountingForm, CarrierDetailsForm, ContactForm, CreditAlertForm, NewCarrierForm,
};
use domain::catalog::{CodecForm, ReferenceForm, ServiceForm};
use domain::interconnect::{
    AddressForm, CodecChoice, InterconnectForm, MediaForm, MonitoringForm, NumberRulesForm,
    SignallingForm, TranslationRuleForm,
};
use domain::listing::{CarrierRow, InterconnectRow, ListQuery, Page, ServiceRow};
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

#[cfg(feature = "ssr")]
use {
    crate::server::{actor, require, respond, state},
    domain::Role,
    service::carriers::{self as carriers, contacts, credit_alerts, interconnects, list},
    service::catalog,
};

/// `(id, name)` choices for a select.
pub type Choices = Vec<(i64, String)>;

/// Everything the carriers module's selects offer, in one request.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PickLists {
    /// Codec catalogue names, by name.
    pub codecs: Vec<String>,
    pub pops: Choices,
    pub categories: Choices,
    pub groups: Choices,
    pub voice_tiers: Choices,
    pub channel_plans: Choices,
    /// `(id, name, direction)` of every service.
    pub services: Vec<(i64, String, String)>,
    /// `(id, name, kind)` of every rate plan (services pick one of their kind).
    pub rate_plans: Vec<(i64, String, String)>,
    /// Routing plans (customer services pick one).
    pub routing_plans: Choices,
}

/// The carrier page's header and its two settings forms.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CarrierOverview {
    pub id: i64,
    pub details: CarrierDetailsForm,
    pub accounting: AccountingForm,
    /// e.g. "monthly 30/30".
    pub billing_term: String,
}

/// A saved contact.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedContact {
    pub id: i64,
    pub form: ContactForm,
}

/// A saved credit alert.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedCreditAlert {
    pub id: i64,
    pub form: CreditAlertForm,
    /// When it last fired (RFC 3339, UTC), if ever.
    pub last_fired_at: Option<String>,
    /// False after firing, until the available credit recovers to the threshold.
    pub armed: bool,
}

#[cfg(feature = "ssr")]
fn saved_credit_alert(a: &service::entity::credit_alert::Model) -> SavedCreditAlert {
    SavedCreditAlert {
        id: a.id,
        form: credit_alerts::credit_alert_form(a),
        last_fired_at: a.last_fired_at.map(|t| t.to_rfc3339()),
        armed: a.armed,
    }
}

/// One change in a carrier's History.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub id: i64,
    /// RFC 3339, UTC.
    pub occurred_at: String,
    pub actor: String,
    pub entity: String,
    pub entity_id: i64,
    pub action: String,
    /// `(field, before, after)`.
    pub changes: Vec<(String, Option<String>, Option<String>)>,
}

/// One address of an interconnect.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedAddress {
    pub id: i64,
    pub address: String,
    pub port: i64,
    pub transport: String,
}

/// The interconnect page: every tab's saved values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterconnectSettings {
    pub id: i64,
    pub carrier_id: i64,
    pub carrier_name: String,
    /// `ingress` or `egress`.
    pub direction: String,
    pub general: InterconnectForm,
    pub addresses: Vec<SavedAddress>,
    pub codecs: Vec<CodecChoice>,
    pub service_ids: Vec<i64>,
    pub number_rules: NumberRulesForm,
    pub translation: Vec<TranslationRuleForm>,
    pub media: MediaForm,
    pub signalling: SignallingForm,
    pub monitoring: MonitoringForm,
}

/// A reference data table: codecs, or one [`domain::catalog::ReferenceKind`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferenceRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    /// Codecs: payload type; channel plans: "100 channels, 10 CPS"; else empty.
    pub detail: String,
    /// Channel plans only.
    pub max_channels: Option<i64>,
    /// Channel plans only.
    pub max_cps: Option<i64>,
}

// ------------------------------------------------------------------ lists

/// A page of carriers (GET `/fn/admin/carriers`).
#[server(prefix = "/fn", endpoint = "admin/carriers", input = GetUrl)]
pub async fn carriers_page(
    #[server(default)] query: ListQuery,
) -> Result<Page<CarrierRow>, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            Ok(list::list_carriers(&state()?.db, &query).await?)
        }
        .await,
    )
}

/// A page of interconnects (GET `/fn/admin/interconnects`).
#[server(prefix = "/fn", endpoint = "admin/interconnects", input = GetUrl)]
pub async fn interconnects_page(
    #[server(default)] query: ListQuery,
) -> Result<Page<InterconnectRow>, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            Ok(list::list_interconnects(&state()?.db, &query).await?)
        }
        .await,
    )
}

/// A page of services (GET `/fn/admin/services`).
#[server(prefix = "/fn", endpoint = "admin/services", input = GetUrl)]
pub async fn services_page(
    #[server(default)] query: ListQuery,
) -> Result<Page<ServiceRow>, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            Ok(list::list_services(&state()?.db, &query).await?)
        }
        .await,
    )
}

/// The selects' choices (GET `/fn/admin/pick-lists`).
#[server(prefix = "/fn", endpoint = "admin/pick-lists", input = GetUrl)]
pub async fn fetch_pick_lists() -> Result<PickLists, AppError> {
    respond(
        async move {
            use domain::catalog::ReferenceKind as K;
            require(Role::Admin).await?;
            let db = &state()?.db;
            let choices = |rows: Vec<service::entity::reference_item::Model>| -> Choices {
                rows.into_iter().map(|r| (r.id, r.name)).collect()
            };
            Ok(PickLists {
                codecs: catalog::list_codecs(db)
                    .await?
                    .into_iter()
                    .map(|c| c.name)
                    .collect(),
                pops: choices(catalog::list_reference(db, K::Pop).await?),
                categories: choices(catalog::list_reference(db, K::CustomerCategory).await?),
                groups: choices(catalog::list_reference(db, K::CustomerGroup).await?),
                voice_tiers: choices(catalog::list_reference(db, K::VoiceTier).await?),
                channel_plans: choices(catalog::list_reference(db, K::ChannelPlan).await?),
                services: catalog::all_services(db)
                    .await?
                    .into_iter()
                    .map(|s| (s.id, s.name, s.direction))
                    .collect(),
                rate_plans: service::rate_plans::all_plans(db, None)
                    .await?
                    .into_iter()
                    .map(|p| (p.id, p.name, p.kind))
                    .collect(),
                routing_plans: service::routing::plans::list_plans(db)
                    .await?
                    .into_iter()
                    .map(|p| (p.plan.id, p.plan.name))
                    .collect(),
            })
        }
        .await,
    )
}

// ------------------------------------------------------------------ carriers

/// Creates a carrier; returns its id (POST `/fn/admin/carriers/create`).
#[server(prefix = "/fn", endpoint = "admin/carriers/create")]
pub async fn create_carrier(form: NewCarrierForm) -> Result<i64, AppError> {
    respond(
        async move {
            let actor = actor(Role::Admin).await?;
            Ok(carriers::create_carrier(&state()?.db, &actor, form)
                .await?
                .id)
        }
        .await,
    )
}

#[cfg(feature = "ssr")]
fn overview(m: &service::entity::carrier::Model) -> CarrierOverview {
    CarrierOverview {
        id: m.id,
        details: carriers::details_form(m),
        accounting: carriers::accounting_form(m),
        billing_term: carriers::billing_term(m),
    }
}

/// The carrier's header and settings (GET `/fn/admin/carrier`).
#[server(prefix = "/fn", endpoint = "admin/carrier", input = GetUrl)]
pub async fn fetch_carrier_overview(id: i64) -> Result<CarrierOverview, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            Ok(overview(&carriers::get_carrier(&state()?.db, id).await?))
        }
        .await,
    )
}

/// Saves the Carrier Details tab; returns the saved values.
#[server(prefix = "/fn", endpoint = "admin/carrier/details")]
pub async fn save_carrier_details(
    id: i64,
    form: CarrierDetailsForm,
) -> Result<CarrierOverview, AppError> {
    respond(
        async move {
            let actor = actor(Role::Admin).await?;
            Ok(overview(
                &carriers::update_details(&state()?.db, &actor, id, &form).await?,
            ))
        }
        .await,
    )
}

/// Saves the Accounting Details tab; returns the saved values.
#[server(prefix = "/fn", endpoint = "admin/carrier/accounting")]
pub async fn save_carrier_accounting(
    id: i64,
    form: AccountingForm,
) -> Result<CarrierOverview, AppError> {
    respond(
        async move {
            let actor = actor(Role::Admin).await?;
            Ok(overview(
                &carriers::update_accounting(&state()?.db, &actor, id, &form).await?,
            ))
        }
        .await,
    )
}

/// Deletes a never-used carrier (refused with a reason otherwise).
#[server(prefix = "/fn", endpoint = "admin/carrier/delete")]
pub async fn delete_carrier(id: i64) -> Result<(), AppError> {
    respond(
        async move {
            let actor = actor(Role::Admin).await?;
            Ok(carriers::delete_carrier(&state()?.db, &actor, id).await?)
        }
        .await,
    )
}

/// The carrier's interconnects (GET `/fn/admin/carrier/interconnects`).
#[server(prefix = "/fn", endpoint = "admin/carrier/interconnects", input = GetUrl)]
pub async fn carrier_interconnects(carrier_id: i64) -> Result<Vec<InterconnectRow>, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            let db = &state()?.db;
            let owner = carriers::get_carrier(db, carrier_id).await?;
            Ok(interconnects::list_for_carrier(db, carrier_id)
                .await?
                .into_iter()
                .map(|i| InterconnectRow {
                    id: i.id,
                    name: i.name,
                    carrier_id,
                    carrier_name: owner.name.clone(),
                    direction: i.direction,
                    status: i.status,
                    tech_prefix: i.tech_prefix,
                    created_at: i.created_at.to_rfc3339(),
                })
                .collect())
        }
        .await,
    )
}

/// Adds an interconnect to a carrier; returns its id.
#[server(prefix = "/fn", endpoint = "admin/carrier/interconnects/create")]
pub async fn create_interconnect(carrier_id: i64, form: InterconnectForm) -> Result<i64, AppError> {
    respond(
        async move {
            let actor = actor(Role::Admin).await?;
            Ok(
                interconnects::create_interconnect(&state()?.db, &actor, carrier_id, &form)
                    .await?
                    .id,
            )
        }
        .await,
    )
}

/// The carrier's contacts (GET `/fn/admin/carrier/contacts`).
#[server(prefix = "/fn", endpoint = "admin/carrier/contacts", input = GetUrl)]
pub async fn carrier_contacts(carrier_id: i64) -> Result<Vec<SavedContact>, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            Ok(contacts::list_contacts(&state()?.db, carrier_id)
                .await?
                .iter()
                .map(|c| SavedContact {
                    id: c.id,
                    form: contacts::contact_form(c),
                })
                .collect())
        }
        .await,
    )
}

/// Adds (`id: None`) or edits a contact.
#[server(prefix = "/fn", endpoint = "admin/carrier/contacts/save")]
pub async fn save_contact(
    carrier_id: i64,
    id: Option<i64>,
    form: ContactForm,
) -> Result<SavedContact, AppError> {
    respond(
        async move {
            let actor = actor(Role::Admin).await?;
            let c = contacts::save_contact(&state()?.db, &actor, carrier_id, id, &form).await?;
            Ok(SavedContact {
                id: c.id,
                form: contacts::contact_form(&c),
            })
        }
        .await,
    )
}

/// Deletes a contact.
#[server(prefix = "/fn", endpoint = "admin/carrier/contacts/delete")]
pub async fn delete_contact(carrier_id: i64, id: i64) -> Result<(), AppError> {
    respond(
        async move {
            let actor = actor(Role::Admin).await?;
            Ok(contacts::delete_contact(&state()?.db, &actor, carrier_id, id).await?)
        }
        .await,
    )
}

/// The carrier's credit alerts (GET `/fn/admin/carrier/credit-alerts`).
#[server(prefix = "/fn", endpoint = "admin/carrier/credit-alerts", input = GetUrl)]
pub async fn carrier_credit_alerts(carrier_id: i64) -> Result<Vec<SavedCreditAlert>, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            Ok(credit_alerts::list_credit_alerts(&state()?.db, carrier_id)
                .await?
                .iter()
                .map(saved_credit_alert)
                .collect())
        }
        .await,
    )
}

/// Adds (`id: None`) or edits a credit alert.
#[server(prefix = "/fn", endpoint = "admin/carrier/credit-alerts/save")]
pub async fn save_credit_alert(
    carrier_id: i64,
    id: Option<i64>,
    form: CreditAlertForm,
) -> Result<SavedCreditAlert, AppError> {
    respond(
        async move {
            let actor = actor(Role::Admin).await?;
            let a = credit_alerts::save_credit_alert(&state()?.db, &actor, carrier_id, id, &form)
                .await?;
            Ok(saved_credit_alert(&a))
        }
        .await,
    )
}

/// Deletes a credit alert.
#[server(prefix = "/fn", endpoint = "admin/carrier/credit-alerts/delete")]
pub async fn delete_credit_alert(carrier_id: i64, id: i64) -> Result<(), AppError> {
    respond(
        async move {
            let actor = actor(Role::Admin).await?;
            Ok(credit_alerts::delete_credit_alert(&state()?.db, &actor, carrier_id, id).await?)
        }
        .await,
    )
}

/// The carrier's History, newest first, 50 entries older than `before` (GET).
#[server(prefix = "/fn", endpoint = "admin/carrier/history", input = GetUrl)]
pub async fn carrier_history(
    carrier_id: i64,
    before: Option<i64>,
) -> Result<Vec<HistoryEntry>, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            Ok(
                service::audit::carrier_history(&state()?.db, carrier_id, before, 50)
                    .await?
                    .into_iter()
                    .map(|e| HistoryEntry {
                        id: e.id,
                        occurred_at: e.occurred_at.to_rfc3339(),
                        actor: e.actor_email,
                        entity: e.entity,
                        entity_id: e.entity_id,
                        action: e.action,
                        changes: e
                            .changes
                            .into_iter()
                            .map(|c| (c.field, c.before, c.after))
                            .collect(),
                    })
                    .collect(),
            )
        }
        .await,
    )
}

// ------------------------------------------------------------------ interconnects

/// Every tab of an interconnect (GET `/fn/admin/interconnect`).
#[server(prefix = "/fn", endpoint = "admin/interconnect", input = GetUrl)]
pub async fn fetch_interconnect_settings(id: i64) -> Result<InterconnectSettings, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            let d = interconnects::get_interconnect(&state()?.db, id).await?;
            let m = &d.interconnect;
            Ok(InterconnectSettings {
                id: m.id,
                carrier_id: d.carrier.id,
                carrier_name: d.carrier.name.clone(),
                direction: m.direction.clone(),
                general: interconnects::general_form(m),
                addresses: d
                    .addresses
                    .iter()
                    .map(|a| SavedAddress {
                        id: a.id,
                        address: a.address.clone(),
                        port: a.port,
                        transport: a.transport.clone(),
                    })
                    .collect(),
                codecs: d.codecs.clone(),
                service_ids: d.service_ids.clone(),
                number_rules: interconnects::number_rules_form(m),
                translation: interconnects::translation_forms(m),
                media: interconnects::media_form(m),
                signalling: interconnects::signalling_form(m),
                monitoring: interconnects::monitoring_form(m),
            })
        }
        .await,
    )
}

/// Saves name, status, tech prefix, POP and channel plan.
#[server(prefix = "/fn", endpoint = "admin/interconnect/general")]
pub async fn save_interconnect_general(id: i64, form: InterconnectForm) -> Result<(), AppError> {
    respond(
        async move {
            let actor = actor(Role::Admin).await?;
            interconnects::update_general(&state()?.db, &actor, id, &form).await?;
            Ok(())
        }
        .await,
    )
}

/// Saves the services the interconnect buys or sells.
#[server(prefix = "/fn", endpoint = "admin/interconnect/services")]
pub async fn save_interconnect_services(
    id: i64,
    service_ids: Vec<i64>,
) -> Result<Vec<i64>, AppError> {
    respond(
        async move {
            let actor = actor(Role::Admin).await?;
            Ok(interconnects::save_services(&state()?.db, &actor, id, &service_ids).await?)
        }
        .await,
    )
}

/// Saves the Validation tab.
#[server(prefix = "/fn", endpoint = "admin/interconnect/validation")]
pub async fn save_number_rules(
    id: i64,
    form: NumberRulesForm,
) -> Result<NumberRulesForm, AppError> {
    respond(
        async move {
            let actor = actor(Role::Admin).await?;
            let m = interconnects::save_number_rules(&state()?.db, &actor, id, &form).await?;
            Ok(interconnects::number_rules_form(&m))
        }
        .await,
    )
}

/// Saves the Translation tab (the whole ordered list).
#[server(prefix = "/fn", endpoint = "admin/interconnect/translation")]
pub async fn save_translation(
    id: i64,
    rules: Vec<TranslationRuleForm>,
) -> Result<Vec<TranslationRuleForm>, AppError> {
    respond(
        async move {
            let actor = actor(Role::Admin).await?;
            let m = interconnects::save_translation_rules(&state()?.db, &actor, id, &rules).await?;
            Ok(interconnects::translation_forms(&m))
        }
        .await,
    )
}

/// Saves the Media tab with the ordered codec list.
#[server(prefix = "/fn", endpoint = "admin/interconnect/media")]
pub async fn save_media(
    id: i64,
    form: MediaForm,
    codecs: Vec<CodecChoice>,
) -> Result<(), AppError> {
    respond(
        async move {
            let actor = actor(Role::Admin).await?;
            interconnects::save_media(&state()?.db, &actor, id, &form, &codecs).await?;
            Ok(())
        }
        .await,
    )
}

/// Saves the Signalling tab.
#[server(prefix = "/fn", endpoint = "admin/interconnect/signalling")]
pub async fn save_signalling(id: i64, form: SignallingForm) -> Result<(), AppError> {
    respond(
        async move {
            let actor = actor(Role::Admin).await?;
            interconnects::save_signalling(&state()?.db, &actor, id, &form).await?;
            Ok(())
        }
        .await,
    )
}

/// Saves the Monitoring tab (egress).
#[server(prefix = "/fn", endpoint = "admin/interconnect/monitoring")]
pub async fn save_monitoring(id: i64, form: MonitoringForm) -> Result<(), AppError> {
    respond(
        async move {
            let actor = actor(Role::Admin).await?;
            interconnects::save_monitoring(&state()?.db, &actor, id, &form).await?;
            Ok(())
        }
        .await,
    )
}

/// Adds an address (an ingress IP another carrier holds is refused, naming it).
#[server(prefix = "/fn", endpoint = "admin/interconnect/addresses/add")]
pub async fn add_address(id: i64, form: AddressForm) -> Result<SavedAddress, AppError> {
    respond(
        async move {
            let actor = actor(Role::Admin).await?;
            let a = interconnects::add_address(&state()?.db, &actor, id, &form).await?;
            Ok(SavedAddress {
                id: a.id,
                address: a.address,
                port: a.port,
                transport: a.transport,
            })
        }
        .await,
    )
}

/// Removes an address.
#[server(prefix = "/fn", endpoint = "admin/interconnect/addresses/delete")]
pub async fn delete_address(id: i64, address_id: i64) -> Result<(), AppError> {
    respond(
        async move {
            let actor = actor(Role::Admin).await?;
            Ok(interconnects::delete_address(&state()?.db, &actor, id, address_id).await?)
        }
        .await,
    )
}

// ------------------------------------------------------------------ services and reference data

/// Creates (`id: None`) or updates a service; returns its id.
#[server(prefix = "/fn", endpoint = "admin/services/save")]
pub async fn save_service(id: Option<i64>, form: ServiceForm) -> Result<i64, AppError> {
    respond(
        async move {
            let actor = actor(Role::Admin).await?;
            Ok(catalog::save_service(&state()?.db, &actor, id, &form)
                .await?
                .id)
        }
        .await,
    )
}

/// A reference table: `kind` is `codec` or a `ReferenceKind` value (GET).
#[server(prefix = "/fn", endpoint = "admin/reference", input = GetUrl)]
pub async fn reference_rows(kind: String) -> Result<Vec<ReferenceRow>, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            let db = &state()?.db;
            if kind == "codec" {
                return Ok(catalog::list_codecs(db)
                    .await?
                    .into_iter()
                    .map(|c| ReferenceRow {
                        id: c.id,
                        name: c.name,
                        description: c.description,
                        detail: match c.payload_type {
                            Some(pt) => format!("PT {pt}, {} Hz", c.clock_rate),
                            None => format!("dynamic PT, {} Hz", c.clock_rate),
                        },
                        max_channels: None,
                        max_cps: None,
                    })
                    .collect());
            }
            let kind = domain::catalog::ReferenceKind::parse(&kind).ok_or(AppError::NotFound)?;
            Ok(catalog::list_reference(db, kind)
                .await?
                .into_iter()
                .map(|r| ReferenceRow {
                    id: r.id,
                    name: r.name,
                    description: r.description,
                    detail: match (r.max_channels, r.max_cps) {
                        (Some(ch), Some(cps)) => format!("{ch} channels, {cps} CPS"),
                        _ => String::new(),
                    },
                    max_channels: r.max_channels,
                    max_cps: r.max_cps,
                })
                .collect())
        }
        .await,
    )
}

/// Adds a reference item of `kind` (a `ReferenceKind` value).
#[server(prefix = "/fn", endpoint = "admin/reference/save")]
pub async fn save_reference(
    kind: String,
    id: Option<i64>,
    form: ReferenceForm,
) -> Result<i64, AppError> {
    respond(
        async move {
            let actor = actor(Role::Admin).await?;
            let kind = domain::catalog::ReferenceKind::parse(&kind).ok_or(AppError::NotFound)?;
            Ok(
                catalog::save_reference(&state()?.db, &actor, kind, id, &form)
                    .await?
                    .id,
            )
        }
        .await,
    )
}

/// Adds a codec to the catalogue.
#[server(prefix = "/fn", endpoint = "admin/reference/codecs/save")]
pub async fn save_codec(form: CodecForm) -> Result<i64, AppError> {
    respond(
        async move {
            let actor = actor(Role::Admin).await?;
            Ok(catalog::create_codec(&state()?.db, &actor, &form).await?.id)
        }
        .await,
    )
}

/// Deletes a reference item (`kind` = `codec` or a `ReferenceKind` value) nothing uses.
#[server(prefix = "/fn", endpoint = "admin/reference/delete")]
pub async fn delete_reference(kind: String, id: i64) -> Result<(), AppError> {
    respond(
        async move {
            let actor = actor(Role::Admin).await?;
            let db = &state()?.db;
            if kind == "codec" {
                Ok(catalog::delete_codec(db, &actor, id).await?)
            } else {
                Ok(catalog::delete_reference(db, &actor, id).await?)
            }
        }
        .await,
    )
}

/// Deletes a service no interconnect uses.
#[server(prefix = "/fn", endpoint = "admin/services/delete")]
pub async fn delete_service(id: i64) -> Result<(), AppError> {
    respond(
        async move {
            let actor = actor(Role::Admin).await?;
            Ok(catalog::delete_service(&state()?.db, &actor, id).await?)
        }
        .await,
    )
}

/// A service's saved values, for its edit dialog (GET).
#[server(prefix = "/fn", endpoint = "admin/service", input = GetUrl)]
pub async fn fetch_service_form(id: i64) -> Result<ServiceForm, AppError> {
    respond(
        async move {
            require(Role::Admin).await?;
            let s = catalog::get_service(&state()?.db, id).await?;
            Ok(ServiceForm {
                name: s.name,
                direction: s.direction,
                status: s.status,
                voice_tier_id: s.voice_tier_id.map(|i| i.to_string()).unwrap_or_default(),
                rate_plan_id: s.rate_plan_id.map(|i| i.to_string()).unwrap_or_default(),
                routing_plan_id: s.routing_plan_id.map(|i| i.to_string()).unwrap_or_default(),
                description: s.description,
            })
        }
        .await,
    )
}

/// Deletes an inactive interconnect (an active one is refused: deactivate it first).
#[server(prefix = "/fn", endpoint = "admin/interconnect/delete")]
pub async fn delete_interconnect(id: i64) -> Result<(), AppError> {
    respond(
        async move {
            let actor = actor(Role::Admin).await?;
            Ok(interconnects::delete_interconnect(&state()?.db, &actor, id).await?)
        }
        .await,
    )
}
