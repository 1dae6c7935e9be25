//! Rate plans: supplier decks (buy rates) and customer plans (sell rates), their
//! settings, and importing carriers' rate notices into revisions.
//!
//! - [`import`]: reading a rate deck file (CSV or a workbook sheet) as carriers send it;
//! - [`derive`]: customer sell rates from supplier decks by a markup rule;
//! - [`revision`]: comparing what was read with the live rates (change codes, notice
//!   periods) to plan a revision;
//! - this module: the plan settings form and its validation.

pub mod derive;
pub mod import;
pub mod revision;

use serde::{Deserialize, Serialize};

use crate::money::{format_micros, parse_micros, Currency};
use crate::rating::{BillingIncrement, Rounding, RoundingMode};
use crate::validation::{choice, optional_id, optional_text, required_text, take, whole_number};
use crate::FieldErrors;
pub use revision::{ChangeCode, NoticeAction, PlanKind, PlanTerms};

crate::validation::string_enum! {
    /// How a call's cost is rounded (to the plan's decimals).
    pub enum RoundingChoice {
        HalfUp = ("half_up", "Half up (0.5 → 1)"),
        HalfEven = ("half_even", "Half to even"),
        Up = ("up", "Always up"),
        Down = ("down", "Always down"),
    }
}

impl RoundingChoice {
    /// The engine's rounding mode.
    pub fn mode(self) -> RoundingMode {
        match self {
            RoundingChoice::HalfUp => RoundingMode::HalfUp,
            RoundingChoice::HalfEven => RoundingMode::HalfEven,
            RoundingChoice::Up => RoundingMode::Up,
            RoundingChoice::Down => RoundingMode::Down,
        }
    }
}

/// The rate plan form as typed (every field text, as the browser sends it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatePlanForm {
    pub name: String,
    /// `supplier` or `customer`.
    pub kind: String,
    /// ISO 4217, e.g. `USD`.
    pub currency: String,
    /// The supplier (supplier decks) or the customer (customer plans) whose files are
    /// imported here, as a carrier id; empty for a plan shared by many customers.
    pub carrier_id: String,
    /// Default billing increment `a/b`.
    pub increment: String,
    /// Default minimum billed seconds.
    pub minimum_s: String,
    /// Default grace seconds.
    pub grace_s: String,
    /// Default connection fee, decimal.
    pub connection_fee: String,
    /// Decimals a call's cost is rounded to, 0–6.
    pub rounding_decimals: String,
    /// One of [`RoundingChoice`].
    pub rounding: String,
    /// Days of notice an increase needs (customer plans), 0–90.
    pub notice_days: String,
    /// One of [`NoticeAction`].
    pub notice_action: String,
    pub description: String,
}

/// A valid rate plan form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RatePlan {
    pub name: String,
    pub kind: PlanKind,
    pub currency: Currency,
    pub carrier_id: Option<i64>,
    pub increment: BillingIncrement,
    pub minimum_s: u32,
    pub grace_s: u32,
    pub connection_fee_micros: i64,
    pub rounding: Rounding,
    pub rounding_choice: RoundingChoice,
    pub notice_days: u32,
    pub notice_action: NoticeAction,
    pub description: Option<String>,
}

impl RatePlanForm {
    /// A new plan's form: USD, 60/60, no minimum or grace, no fee, 6 decimals half-up,
    /// 7 days' notice (the usual wholesale notice), increases inside it refused.
    pub fn new_plan() -> RatePlanForm {
        RatePlanForm {
            kind: "supplier".into(),
            currency: "USD".into(),
            increment: "60/60".into(),
            minimum_s: "0".into(),
            grace_s: "0".into(),
            connection_fee: "0".into(),
            rounding_decimals: "6".into(),
            rounding: "half_up".into(),
            notice_days: "7".into(),
            notice_action: "refuse".into(),
            ..RatePlanForm::default()
        }
    }

    /// The form showing `plan`.
    pub fn of(plan: &RatePlan) -> RatePlanForm {
        RatePlanForm {
            name: plan.name.clone(),
            kind: plan.kind.as_str().into(),
            currency: plan.currency.to_string(),
            carrier_id: plan.carrier_id.map(|i| i.to_string()).unwrap_or_default(),
            increment: plan.increment.to_string(),
            minimum_s: plan.minimum_s.to_string(),
            grace_s: plan.grace_s.to_string(),
            connection_fee: format_micros(plan.connection_fee_micros, 6)
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_owned(),
            rounding_decimals: plan.rounding.scale.to_string(),
            rounding: plan.rounding_choice.as_str().into(),
            notice_days: plan.notice_days.to_string(),
            notice_action: plan.notice_action.as_str().into(),
            description: plan.description.clone().unwrap_or_default(),
        }
    }
}

impl RatePlan {
    /// The terms a revision is planned with.
    pub fn terms(&self) -> PlanTerms {
        PlanTerms {
            kind: self.kind,
            currency: self.currency,
            default_increment: self.increment,
            default_minimum_s: self.minimum_s,
            default_grace_s: self.grace_s,
            default_connection_fee_micros: self.connection_fee_micros,
            notice_days: self.notice_days,
            notice_action: self.notice_action,
        }
    }
}

/// Validates a rate plan form. Errors name the fields: `name`, `kind`, `currency`,
/// `carrier_id`, `increment`, `minimum_s`, `grace_s`, `connection_fee`,
/// `rounding_decimals`, `rounding`, `notice_days`, `notice_action`, `description`.
pub fn validate_rate_plan(form: &RatePlanForm) -> Result<RatePlan, FieldErrors> {
    let mut e = FieldErrors::new();
    let name = take(
        &mut e,
        "name",
        required_text(&form.name, 100, "the plan's name"),
    );
    let kind = take(&mut e, "kind", choice::<PlanKind>(&form.kind));
    let currency = take(&mut e, "currency", Currency::parse(&form.currency));
    let carrier_id = take(&mut e, "carrier_id", optional_id(&form.carrier_id));
    let increment = take(
        &mut e,
        "increment",
        BillingIncrement::parse(&form.increment),
    );
    let seconds = |text: &str, what: &str| whole_number(text, 0, 3600, what).map(|n| n as u32);
    let minimum_s = take(&mut e, "minimum_s", seconds(&form.minimum_s, "the minimum"));
    let grace_s = take(
        &mut e,
        "grace_s",
        seconds(&form.grace_s, "the grace period"),
    );
    let fee = take(
        &mut e,
        "connection_fee",
        match form.connection_fee.trim() {
            "" => Ok(0),
            t => parse_micros(t)
                .map_err(|err| format!("Enter the connection fee as a decimal: {err}."))
                .and_then(|v| {
                    if v < 0 {
                        Err("The connection fee cannot be negative.".into())
                    } else {
                        Ok(v)
                    }
                }),
        },
    );
    let scale = take(
        &mut e,
        "rounding_decimals",
        whole_number(&form.rounding_decimals, 0, 6, "the decimals").map(|n| n as u8),
    );
    let rounding = take(&mut e, "rounding", choice::<RoundingChoice>(&form.rounding));
    let notice_days = take(
        &mut e,
        "notice_days",
        whole_number(&form.notice_days, 0, 90, "the notice period in days").map(|n| n as u32),
    );
    let notice_action = take(
        &mut e,
        "notice_action",
        choice::<NoticeAction>(&form.notice_action),
    );
    let description = take(
        &mut e,
        "description",
        optional_text(&form.description, 500, "the description"),
    );
    if !e.is_empty() {
        return Err(e);
    }
    let rounding_choice = rounding.expect("checked");
    Ok(RatePlan {
        name: name.expect("checked"),
        kind: kind.expect("checked"),
        currency: currency.expect("checked"),
        carrier_id: carrier_id.expect("checked"),
        increment: increment.expect("checked"),
        minimum_s: minimum_s.expect("checked"),
        grace_s: grace_s.expect("checked"),
        connection_fee_micros: fee.expect("checked"),
        rounding: Rounding {
            scale: scale.expect("checked"),
            mode: rounding_choice.mode(),
        },
        rounding_choice,
        notice_days: notice_days.expect("checked"),
        notice_action: notice_action.expect("checked"),
        description: description.expect("checked"),
    })
}

// ---------------------------------------------------------------------------------------
// What the pages show (shared by the server functions and the browser).
// ---------------------------------------------------------------------------------------

/// One row of the rate plans list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatePlanRow {
    pub id: i64,
    pub name: String,
    /// [`PlanKind`] as stored.
    pub kind: String,
    pub currency: String,
    /// The supplier or customer, by name.
    pub carrier: Option<String>,
    /// Number of the live revision.
    pub revision: Option<i64>,
    /// RFC 3339, UTC.
    pub updated_at: String,
}

/// One stored rate, for the Rates tab and exports. Amounts are decimal text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateRow {
    pub id: i64,
    pub prefix: String,
    pub destination: String,
    pub rate: String,
    pub connection_fee: String,
    pub increment: String,
    pub minimum_s: i64,
    pub grace_s: i64,
    /// RFC 3339, UTC.
    pub effective_from: String,
    pub effective_to: Option<String>,
    /// [`ChangeCode`] when published.
    pub change: String,
    /// Number of the revision that added it.
    pub revision: i64,
}

/// One revision in the Revisions tab.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevisionRow {
    pub id: i64,
    pub number: i64,
    /// `import`, `edit` or `derive`.
    pub source: String,
    pub import_id: Option<i64>,
    pub counts: revision::ChangeCounts,
    pub published_by: String,
    /// RFC 3339, UTC.
    pub published_at: String,
    pub note: String,
}

/// One code's difference between two revisions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevisionDiffRow {
    pub prefix: String,
    pub destination: String,
    /// [`ChangeCode`]: New (only in the later), Removed (only in the earlier),
    /// Increase / Decrease (both, different rate).
    pub change: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// What a user chooses for an import.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportOptions {
    pub read: import::ReadOptions,
    /// A full deck (codes missing from the file are Removed); false: a partial update.
    pub replace_all: bool,
    /// Publish the good lines and report the bad ones, instead of publishing nothing.
    pub skip_bad_rows: bool,
}

/// One row of the preview's sample.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewRow {
    pub line: u32,
    pub prefix: String,
    pub destination: String,
    pub rate: String,
    pub increment: String,
    /// RFC 3339, UTC.
    pub effective_from: String,
    /// [`ChangeCode`].
    pub change: String,
    pub previous_rate: Option<String>,
    /// E.g. "moved from 2023-05-12 by the 7-day notice period".
    pub note: String,
}

/// Most preview sample rows kept.
pub const PREVIEW_ROWS: usize = 50;

/// What an import would do, shown before the user commits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportPreview {
    /// The sheet read (workbooks), e.g. "Pricing".
    pub sheet: Option<String>,
    pub metadata: import::DeckMetadata,
    pub header_line: Option<u32>,
    pub headers: Vec<String>,
    pub mapping: import::ColumnMapping,
    /// How the file writes its codes, in sentences.
    pub conventions: Vec<String>,
    /// Non-blank lines under the header.
    pub data_lines: u64,
    /// Lines that would be published.
    pub good_lines: u64,
    /// Codes read (a line may hold several).
    pub codes: u64,
    pub counts: revision::ChangeCounts,
    pub first_rows: Vec<PreviewRow>,
    /// Every bad line, in line order (line 0: the whole file).
    pub errors: Vec<import::LineError>,
    pub notices: Vec<revision::NoticeFlag>,
    /// Whether the plan was compared with a live revision (else everything is New).
    pub base_revision: Option<i64>,
}

/// What a published import did, kept with the revision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    pub revision: i64,
    /// Non-blank lines under the header: `lines_published + skipped.len()`.
    pub lines_in: u64,
    pub lines_published: u64,
    /// Lines left out ("skip bad rows"), with why.
    pub skipped: Vec<import::LineError>,
    /// Rows stored (New, Increase, Decrease); Unchanged codes are not stored again.
    pub rows_stored: u64,
    pub counts: revision::ChangeCounts,
    pub milliseconds: u64,
}

/// An import as its page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportView {
    pub id: i64,
    pub rate_plan_id: i64,
    pub file_name: String,
    pub file_size: i64,
    /// `queued`, `reading`, `previewed`, `publishing`, `published`, `failed`,
    /// `cancelled`.
    pub status: String,
    pub rows_done: i64,
    pub rows_total: i64,
    pub rows_per_s: i64,
    pub error: String,
    pub options: ImportOptions,
    pub preview: Option<ImportPreview>,
    pub report: Option<ImportReport>,
    pub created_by: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub revision_id: Option<i64>,
}

impl ImportView {
    /// Progress, 0–100.
    pub fn percent(&self) -> i64 {
        if self.rows_total <= 0 {
            0
        } else {
            (self.rows_done * 100 / self.rows_total).clamp(0, 100)
        }
    }

    /// Whether a job is still working on it (the page keeps refreshing).
    pub fn busy(&self) -> bool {
        matches!(self.status.as_str(), "queued" | "reading" | "publishing")
    }
}

/// "Rate a number": the engine's answer for a number at an instant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberRating {
    pub number: String,
    /// RFC 3339, UTC.
    pub at: String,
    /// `None`: no rate (see `reason`).
    pub prefix: Option<String>,
    pub destination: String,
    pub rate: String,
    pub connection_fee: String,
    pub increment: String,
    pub minimum_s: u32,
    pub grace_s: u32,
    pub effective_from: String,
    pub effective_to: Option<String>,
    /// Number of the revision that published the rate.
    pub revision: Option<i64>,
    /// Why there is no rate, when there is none.
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validation::assert_string_enum;

    #[test]
    fn string_enums_keep_their_contract() {
        assert_string_enum::<PlanKind>();
        assert_string_enum::<NoticeAction>();
        assert_string_enum::<ChangeCode>();
        assert_string_enum::<RoundingChoice>();
        assert_string_enum::<import::DeckField>();
        assert_string_enum::<derive::DeriveBasis>();
    }

    #[test]
    fn a_new_plan_form_is_valid_and_round_trips() {
        let mut form = RatePlanForm::new_plan();
        form.name = "Airtel Gold+".into();
        form.connection_fee = "0.015".into();
        let plan = validate_rate_plan(&form).unwrap();
        assert_eq!(plan.connection_fee_micros, 15_000);
        assert_eq!(plan.notice_days, 7);
        assert_eq!(RatePlanForm::of(&plan), form);
    }

    #[test]
    fn every_bad_field_is_named() {
        let form = RatePlanForm {
            name: " ".into(),
            kind: "both".into(),
            currency: "dollars".into(),
            carrier_id: "x".into(),
            increment: "0/0".into(),
            minimum_s: "-1".into(),
            grace_s: "a".into(),
            connection_fee: "-0.1".into(),
            rounding_decimals: "7".into(),
            rounding: "".into(),
            notice_days: "365".into(),
            notice_action: "ignore".into(),
            description: "x".repeat(501),
        };
        let errors = validate_rate_plan(&form).unwrap_err();
        for field in [
            "name",
            "kind",
            "currency",
            "carrier_id",
            "increment",
            "minimum_s",
            "grace_s",
            "connection_fee",
            "rounding_decimals",
            "rounding",
            "notice_days",
            "notice_action",
            "description",
        ] {
            assert!(errors.get(field).is_some(), "{field}");
        }
    }
}
