//! `cdrs` table: every call leg a switch reported, kept whatever became of it:
//! `rated` (both legs priced and posted to the ledger; unanswered calls price at zero),
//! `unrated` (mediated, but a leg has no rate: `reason_code` is the engine's
//! [`domain::rating::NoRate::code`]) or `rejected` (not mediated: `reason_code` is
//! [`domain::cdr::mediation::Rejection::code`]). Money in micro-units of `currency`
//! (the customer's); `explain` is the JSON of both legs' ratings and the translation.

use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "cdrs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The API key (CDR source) that sent it.
    pub source_id: i64,
    pub call_id: String,
    pub leg: String,
    pub status: String,
    pub reason_code: Option<String>,
    pub reason: Option<String>,
    pub source_ip: String,
    pub a_number: String,
    /// B-number as dialled.
    pub b_dialled: String,
    /// B-number after mediation: E.164 digits.
    pub b_number: Option<String>,
    pub setup_at: DateTimeUtc,
    pub answer_at: Option<DateTimeUtc>,
    pub end_at: DateTimeUtc,
    pub duration_ms: i64,
    pub pdd_ms: Option<i64>,
    pub sip_code: i64,
    pub sip_reason: String,
    /// [`domain::cdr::Disposition`].
    pub disposition: String,
    pub route: Option<String>,
    pub customer_carrier_id: Option<i64>,
    pub customer_interconnect_id: Option<i64>,
    pub customer_service_id: Option<i64>,
    pub customer_plan_id: Option<i64>,
    pub customer_prefix: Option<String>,
    pub customer_destination: Option<String>,
    pub sell_rate_micros: Option<i64>,
    pub customer_billed_s: i64,
    pub revenue_micros: i64,
    pub supplier_carrier_id: Option<i64>,
    pub supplier_interconnect_id: Option<i64>,
    pub supplier_service_id: Option<i64>,
    pub supplier_plan_id: Option<i64>,
    pub supplier_prefix: Option<String>,
    pub supplier_destination: Option<String>,
    pub buy_rate_micros: Option<i64>,
    pub supplier_billed_s: i64,
    pub cost_micros: i64,
    pub currency: Option<String>,
    pub explain: String,
    /// The record as received (JSON), for re-processing.
    pub raw: String,
    pub received_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
