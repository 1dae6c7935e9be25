//! `mail_outbox` table: mail DIDTron has to send (credit alerts now; invoices later).
//! Every message is kept here; with SMTP configured a sender delivers `queued` ones and
//! marks them `sent` (or `failed` with the error).

use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "mail_outbox")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Comma-separated addresses.
    pub recipients: String,
    pub subject: String,
    pub body: String,
    /// e.g. `credit_alert`.
    pub kind: String,
    pub carrier_id: Option<i64>,
    /// `queued`, `sent` or `failed`.
    pub status: String,
    pub sent_at: Option<DateTimeUtc>,
    pub last_error: Option<String>,
    /// Delivery attempts so far.
    pub attempts: i64,
    /// When a queued message that failed transiently is tried next.
    pub next_attempt_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
