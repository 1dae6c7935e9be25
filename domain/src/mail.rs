//! The mail outbox as the admin portal shows it: the list's query and rows, one message,
//! and the counts per status. Messages are plain text (RFC 5322); times are RFC 3339 UTC.

use serde::{Deserialize, Serialize};

use crate::listing::Keyset;

/// A message's state: `queued` (waiting, or retrying after a transient failure),
/// `sent` (the relay accepted it) or `failed` (refused for good, or out of attempts).
pub const MAIL_STATUSES: [&str; 3] = ["queued", "sent", "failed"];

/// One request for a page of the outbox, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailQuery {
    /// One of [`MAIL_STATUSES`], or empty for all.
    #[serde(default)]
    pub status: String,
    /// The `next` cursor of the previous page (a message id); empty for the first page.
    #[serde(default)]
    pub after: String,
    /// Rows wanted: 1..=[`crate::listing::MAX_PAGE_SIZE`]; 0 means the default.
    #[serde(default)]
    pub limit: u32,
}

impl Keyset for MailQuery {
    fn set_after(&mut self, after: String) {
        self.after = after;
    }
}

/// One row of the outbox list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailRow {
    pub id: i64,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// e.g. `credit_alert`.
    pub kind: String,
    /// Comma-separated addresses.
    pub recipients: String,
    pub subject: String,
    /// One of [`MAIL_STATUSES`].
    pub status: String,
    /// Delivery attempts made so far.
    pub attempts: i64,
    /// RFC 3339, UTC; when the relay accepted it.
    pub sent_at: Option<String>,
    /// RFC 3339, UTC; the next try of a queued message after a failure.
    pub next_attempt_at: Option<String>,
    /// The relay's (or the address check's) last refusal.
    pub last_error: Option<String>,
}

/// One message, whole.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailDetail {
    pub row: MailRow,
    /// Plain text.
    pub body: String,
    /// The carrier it concerns, by name.
    pub carrier: Option<String>,
}

/// Messages per status, and how they leave.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailSummary {
    pub queued: u64,
    pub sent: u64,
    pub failed: u64,
    /// The SMTP relay (`host:port`, with its TLS mode) when `SMTP_URL` is set; `None`:
    /// messages stay in the outbox.
    pub relay: Option<String>,
}
