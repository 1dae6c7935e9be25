//! Reference data the carriers module picks from — codecs, POPs, customer categories and
//! groups, voice tiers, channel plans — and services (what is sold or bought over an
//! interconnect: GLOSSARY "service"). Forms and their validation, shared by the browser
//! and the server.

use serde::{Deserialize, Serialize};

use crate::validation::string_enum;
use crate::FieldErrors;

string_enum! {
    /// A kind of reference item. Stored as [`ReferenceKind::as_str`]; the label is the
    /// plural heading.
    pub enum ReferenceKind {
        /// Point of presence: a site where our switches and interconnects live.
        Pop = ("pop", "POPs"),
        /// A commercial category of customers (e.g. "Retail", "Wholesale").
        CustomerCategory = ("customer_category", "Customer categories"),
        /// A group of customers handled together (e.g. by one account manager).
        CustomerGroup = ("customer_group", "Customer groups"),
        /// A quality tier of voice services (e.g. "Premium CLI", "Standard").
        VoiceTier = ("voice_tier", "Voice tiers"),
        /// A limit of concurrent channels and calls per second an interconnect may use.
        ChannelPlan = ("channel_plan", "Channel plans"),
    }
}

/// A reference item as typed. `max_channels` and `max_cps` apply to channel plans only.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferenceForm {
    pub name: String,
    pub description: String,
    pub max_channels: String,
    pub max_cps: String,
}

/// A valid reference item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferenceItem {
    /// 1–100 characters, trimmed.
    pub name: String,
    /// At most 500 characters.
    pub description: String,
    /// Channel plans: concurrent calls, 1–100 000.
    pub max_channels: Option<i64>,
    /// Channel plans: call attempts per second, 1–10 000.
    pub max_cps: Option<i64>,
}

fn name_field(errors: &mut FieldErrors, text: &str, max: usize) -> String {
    let name = text.trim().to_owned();
    if name.is_empty() || name.chars().count() > max {
        errors.add("name", format!("Enter a name (at most {max} characters)."));
    }
    name
}

fn description_field(errors: &mut FieldErrors, text: &str) -> String {
    let description = text.trim().to_owned();
    if description.chars().count() > 500 {
        errors.add("description", "Keep the description under 500 characters.");
    }
    description
}

fn bounded(errors: &mut FieldErrors, field: &str, text: &str, max: i64) -> Option<i64> {
    match text.trim().parse::<i64>() {
        Ok(n) if (1..=max).contains(&n) => Some(n),
        _ => {
            errors.add(field, format!("Enter a whole number from 1 to {max}."));
            None
        }
    }
}

/// Validates a reference item of `kind`. Channel plans need both limits; other kinds
/// ignore them.
///
/// Errors: `name`, `description`, `max_channels`, `max_cps`.
pub fn validate_reference(
    kind: ReferenceKind,
    form: &ReferenceForm,
) -> Result<ReferenceItem, FieldErrors> {
    let mut errors = FieldErrors::new();
    let name = name_field(&mut errors, &form.name, 100);
    let description = description_field(&mut errors, &form.description);
    let (max_channels, max_cps) = if kind == ReferenceKind::ChannelPlan {
        (
            bounded(&mut errors, "max_channels", &form.max_channels, 100_000),
            bounded(&mut errors, "max_cps", &form.max_cps, 10_000),
        )
    } else {
        (None, None)
    };
    errors.into_result(ReferenceItem {
        name,
        description,
        max_channels,
        max_cps,
    })
}

/// A codec as typed for the catalogue.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodecForm {
    pub name: String,
    /// Static RTP payload type 0–95 (RFC 3551), or empty for a dynamic one.
    pub payload_type: String,
    /// Hz, e.g. 8000.
    pub clock_rate: String,
    pub description: String,
}

/// A valid catalogue codec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Codec {
    /// The SDP encoding name (RFC 4566 `a=rtpmap`), 1–32 of letters, digits, `-`, `.`, `_`.
    pub name: String,
    pub payload_type: Option<i64>,
    pub clock_rate: i64,
    pub description: String,
}

/// Validates a codec. Errors: `name`, `payload_type`, `clock_rate`, `description`.
pub fn validate_codec(form: &CodecForm) -> Result<Codec, FieldErrors> {
    let mut errors = FieldErrors::new();
    let name = form.name.trim().to_owned();
    if name.is_empty()
        || name.len() > 32
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
    {
        errors.add(
            "name",
            "Enter the codec's SDP name: 1–32 letters, digits, '-', '.' or '_' (e.g. PCMA).",
        );
    }
    let payload_type = match form.payload_type.trim() {
        "" => None,
        text => match text.parse::<i64>() {
            Ok(n) if (0..=95).contains(&n) => Some(n),
            _ => {
                errors.add(
                    "payload_type",
                    "A static payload type is 0–95 (RFC 3551); leave it empty for a dynamic one.",
                );
                None
            }
        },
    };
    let clock_rate = match form.clock_rate.trim().parse::<i64>() {
        Ok(n) if (1000..=192_000).contains(&n) => n,
        _ => {
            errors.add("clock_rate", "Enter the clock rate in Hz, e.g. 8000.");
            0
        }
    };
    let description = description_field(&mut errors, &form.description);
    errors.into_result(Codec {
        name,
        payload_type,
        clock_rate,
        description,
    })
}

string_enum! {
    /// Who a service is for.
    pub enum ServiceDirection {
        /// Sold to customers over ingress interconnects.
        Customer = ("customer", "Customer (sold)"),
        /// Bought from suppliers over egress interconnects.
        Supplier = ("supplier", "Supplier (bought)"),
    }
}

/// A service as typed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceForm {
    pub name: String,
    pub direction: String,
    /// `active` or `inactive`.
    pub status: String,
    /// A voice tier id, or empty.
    pub voice_tier_id: String,
    /// The service's rate plan id (customer services: a customer plan; supplier
    /// services: a supplier deck), or empty.
    #[serde(default)]
    pub rate_plan_id: String,
    /// Customer services: the routing plan id of their calls, or empty.
    #[serde(default)]
    pub routing_plan_id: String,
    pub description: String,
}

/// A valid service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    pub name: String,
    pub direction: ServiceDirection,
    pub active: bool,
    pub voice_tier_id: Option<i64>,
    pub rate_plan_id: Option<i64>,
    /// Customer services only.
    pub routing_plan_id: Option<i64>,
    pub description: String,
}

/// Validates a service. Errors: `name`, `direction`, `status`, `voice_tier_id`,
/// `rate_plan_id`, `routing_plan_id` (also when set on a supplier service: suppliers
/// are routed to, not from), `description`.
pub fn validate_service(form: &ServiceForm) -> Result<Service, FieldErrors> {
    let mut errors = FieldErrors::new();
    let name = name_field(&mut errors, &form.name, 100);
    let direction = ServiceDirection::parse(&form.direction);
    if direction.is_none() {
        errors.add("direction", "Choose customer (sold) or supplier (bought).");
    }
    let active = match form.status.trim() {
        "active" | "" => true,
        "inactive" => false,
        _ => {
            errors.add("status", "Choose active or inactive.");
            true
        }
    };
    let voice_tier_id = match form.voice_tier_id.trim() {
        "" => None,
        text => match text.parse::<i64>() {
            Ok(n) if n > 0 => Some(n),
            _ => {
                errors.add("voice_tier_id", "Choose one from the list.");
                None
            }
        },
    };
    let rate_plan_id = crate::validation::take(
        &mut errors,
        "rate_plan_id",
        crate::validation::optional_id(&form.rate_plan_id),
    )
    .flatten();
    let routing_plan_id = crate::validation::take(
        &mut errors,
        "routing_plan_id",
        crate::validation::optional_id(&form.routing_plan_id),
    )
    .flatten();
    if routing_plan_id.is_some() && direction == Some(ServiceDirection::Supplier) {
        errors.add(
            "routing_plan_id",
            "A supplier service is routed to, not from: leave its routing plan empty.",
        );
    }
    let description = description_field(&mut errors, &form.description);
    errors.into_result(Service {
        name,
        direction: direction.unwrap_or(ServiceDirection::Customer),
        active,
        voice_tier_id,
        rate_plan_id,
        routing_plan_id,
        description,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_plans_need_both_limits() {
        let form = ReferenceForm {
            name: "Gold 100".into(),
            max_channels: "100".into(),
            max_cps: "0".into(),
            ..Default::default()
        };
        let errors = validate_reference(ReferenceKind::ChannelPlan, &form).unwrap_err();
        assert_eq!(
            errors.get("max_cps"),
            Some("Enter a whole number from 1 to 10000.")
        );
        assert!(errors.get("max_channels").is_none());
        let pop = validate_reference(ReferenceKind::Pop, &form).unwrap();
        assert_eq!((pop.name.as_str(), pop.max_channels), ("Gold 100", None));
    }

    #[test]
    fn codecs_are_checked_against_rfc_3551() {
        let form = CodecForm {
            name: "G.726-32".into(),
            payload_type: "96".into(),
            clock_rate: "8000".into(),
            description: String::new(),
        };
        let errors = validate_codec(&form).unwrap_err();
        assert!(errors.get("payload_type").unwrap().contains("RFC 3551"));
        assert!(errors.get("name").is_none());
    }

    #[test]
    fn services_need_a_direction() {
        let errors = validate_service(&ServiceForm {
            name: "Premium".into(),
            direction: "both".into(),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(
            errors.get("direction"),
            Some("Choose customer (sold) or supplier (bought).")
        );
    }
}
