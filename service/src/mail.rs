//! The mail outbox and its delivery over SMTP.
//!
//! **Writing.** Every message DIDTron sends is first written to `mail_outbox`, in the
//! same transaction that decides it (a credit alert now, invoices later). So a message
//! is never lost, and a retried transaction never writes it twice.
//!
//! **Delivery.** Without `SMTP_URL` the messages stay in the outbox, where the admin
//! portal shows them. With it, [`deliver_due`] sends the queued messages through the
//! relay, oldest first, in batches of [`BATCH`]:
//! - **accepted** → `sent`;
//! - **permanently refused** (a 5xx reply, RFC 5321 §4.2.1) or an unusable address →
//!   `failed`, with the reason;
//! - **anything else** (a 4xx reply, the relay unreachable) → stays `queued`, and is
//!   tried again after [`backoff`]. After [`MAX_ATTEMPTS`] tries it is `failed`.
//!
//! One instance delivers at a time: the `mail-outbox` lock (`Kv::try_lock`, Redis when
//! configured). Delivery is at least once: a crash after the relay accepted a message
//! but before it was marked `sent` sends it again. Every message carries the Message-ID
//! `<didtron-mail-{id}@{host of MAIL_FROM}>`, so receivers can tell a repeat.

use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::listing::{page_size, Page};
use domain::mail::{MailDetail, MailQuery, MailRow, MailSummary, MAIL_STATUSES};
use domain::FieldErrors;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use crate::audit::{self, Actor};
use crate::cdrs::views::rfc3339;
use crate::entity::mail_outbox;
use crate::kv::Kv;
use crate::{ServiceError, ServiceResult};

/// Messages sent per run of [`deliver_due`].
pub const BATCH: u64 = 50;
/// Tries before a message that keeps failing transiently is given up as `failed`.
pub const MAX_ATTEMPTS: i64 = 8;
/// How long the delivery lock is held at most (a run renews nothing: a batch of
/// [`BATCH`] messages at the relay's 60 s command timeout fits well within it).
pub const LOCK_TTL: Duration = Duration::from_secs(300);
const LOCK_KEY: &str = "mail-outbox";
/// The name System Status files SMTP deliveries under (kind `integration`).
pub const SMTP_INTEGRATION: &str = "smtp";

/// The wait before try `attempts + 1` after `attempts` failed tries: 1, 2, 4, …
/// minutes, at most 60.
pub fn backoff(attempts: i64) -> chrono::Duration {
    let minutes = 1i64 << attempts.clamp(1, 7).saturating_sub(1);
    chrono::Duration::minutes(minutes.min(60))
}

/// An SMTP relay and the sender address, from `SMTP_URL` and `MAIL_FROM`.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    relay: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("relay", &self.relay)
            .field("from", &self.from.to_string())
            .finish()
    }
}

impl Mailer {
    /// A mailer for `url`, in lettre's form:
    /// - `smtps://user:pass@host[:465]`: TLS from the start;
    /// - `smtp://user:pass@host[:587]?tls=required`: STARTTLS, required;
    /// - `smtp://host:port`: no TLS, for a relay on the same host or network only.
    ///
    /// `from` is `Name <address>` or a bare address. Call it within the Tokio runtime
    /// (the relay's connection pool lives there).
    ///
    /// Errors: a message naming `SMTP_URL` or `MAIL_FROM`.
    pub fn new(url: &str, from: &str) -> Result<Mailer, String> {
        let parsed = url::Url::parse(url).map_err(|e| format!("SMTP_URL: {e}"))?;
        let tls = match (
            parsed.scheme(),
            parsed.query_pairs().find(|(k, _)| k == "tls"),
        ) {
            ("smtps", _) => "TLS",
            ("smtp", Some((_, mode))) if mode == "required" => "STARTTLS",
            ("smtp", Some((_, mode))) if mode == "opportunistic" => "STARTTLS if offered",
            ("smtp", _) => "no TLS",
            (other, _) => {
                return Err(format!(
                    "SMTP_URL: the scheme is `{other}`; use smtp:// or smtps://"
                ))
            }
        };
        let host = parsed
            .host_str()
            .ok_or_else(|| "SMTP_URL: names no host".to_owned())?;
        let port = parsed
            .port()
            .unwrap_or(if parsed.scheme() == "smtps" { 465 } else { 587 });
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| format!("SMTP_URL: {e}"))?
            .timeout(Some(Duration::from_secs(30)))
            .build();
        let from: Mailbox = from
            .parse()
            .map_err(|e| format!("MAIL_FROM: `{from}` is not an address ({e})"))?;
        Ok(Mailer {
            transport,
            from,
            relay: format!("{host}:{port} ({tls})"),
        })
    }

    /// Connects to the relay and checks that it answers (the status health check).
    ///
    /// Errors: why not, in words (unreachable, refused, TLS).
    pub async fn check(&self) -> Result<(), String> {
        match self.transport.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) => Err("the relay did not answer".into()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// `host:port (TLS mode)`, for the portal; never the credentials.
    pub fn relay(&self) -> &str {
        &self.relay
    }

    /// The RFC 5322 message for outbox row `m`. Errors: an address that is not one.
    fn message(&self, m: &mail_outbox::Model) -> Result<Message, String> {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(m.subject.clone())
            .message_id(Some(format!(
                "<didtron-mail-{}@{}>",
                m.id,
                self.from.email.domain()
            )))
            .header(ContentType::TEXT_PLAIN);
        let mut any = false;
        for address in m
            .recipients
            .split([',', ';'])
            .map(str::trim)
            .filter(|a| !a.is_empty())
        {
            let to: Mailbox = address
                .parse()
                .map_err(|_| format!("recipient `{address}` is not an e-mail address"))?;
            builder = builder.to(to);
            any = true;
        }
        if !any {
            return Err("the message has no recipient".into());
        }
        builder.body(m.body.clone()).map_err(|e| e.to_string())
    }
}

/// What one run of [`deliver_due`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Accepted by the relay.
    pub sent: u64,
    /// Failed transiently: tried again later.
    pub deferred: u64,
    /// Refused for good (or out of attempts).
    pub failed: u64,
}

/// Sends the queued messages that are due at `now` (at most [`BATCH`]), under the
/// delivery lock; another instance holding it makes this a no-op. Each outcome is
/// written as soon as the relay answers.
///
/// Errors: the database or the lock store failed (a message's own failure is recorded
/// on it, not returned).
pub async fn deliver_due(
    db: &DatabaseConnection,
    kv: &Kv,
    mailer: &Mailer,
    now: DateTime<Utc>,
) -> ServiceResult<DeliveryReport> {
    let Some(token) = kv.try_lock(LOCK_KEY, LOCK_TTL).await? else {
        return Ok(DeliveryReport::default());
    };
    let result = deliver_locked(db, mailer, now).await;
    let _ = kv.unlock(LOCK_KEY, &token).await;
    result
}

async fn deliver_locked(
    db: &DatabaseConnection,
    mailer: &Mailer,
    now: DateTime<Utc>,
) -> ServiceResult<DeliveryReport> {
    let due = mail_outbox::Entity::find()
        .filter(mail_outbox::Column::Status.eq("queued"))
        .filter(
            Condition::any()
                .add(mail_outbox::Column::NextAttemptAt.is_null())
                .add(mail_outbox::Column::NextAttemptAt.lte(now)),
        )
        .order_by_asc(mail_outbox::Column::Id)
        .limit(BATCH)
        .all(db)
        .await?;
    let mut report = DeliveryReport::default();
    for m in due {
        let outcome = match mailer.message(&m) {
            Err(reason) => Err((true, reason)),
            Ok(message) => match crate::status::observe(
                "integration",
                SMTP_INTEGRATION,
                mailer.transport.send(message),
            )
            .await
            {
                Ok(_) => Ok(()),
                Err(e) => Err((e.is_permanent(), e.to_string())),
            },
        };
        let attempts = m.attempts + 1;
        let update = mail_outbox::Entity::update_many()
            .col_expr(mail_outbox::Column::Attempts, Expr::value(attempts))
            .col_expr(mail_outbox::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(mail_outbox::Column::Id.eq(m.id))
            .filter(mail_outbox::Column::Status.eq("queued"));
        let update = match outcome {
            Ok(()) => {
                report.sent += 1;
                update
                    .col_expr(mail_outbox::Column::Status, Expr::value("sent"))
                    .col_expr(mail_outbox::Column::SentAt, Expr::value(Utc::now()))
                    .col_expr(
                        mail_outbox::Column::NextAttemptAt,
                        Expr::value(None::<DateTime<Utc>>),
                    )
                    .col_expr(mail_outbox::Column::LastError, Expr::value(None::<String>))
            }
            Err((permanent, reason)) => {
                let reason: String = reason.chars().take(480).collect();
                tracing::warn!(mail = m.id, attempts, permanent, %reason, "mail not delivered");
                if permanent || attempts >= MAX_ATTEMPTS {
                    report.failed += 1;
                    update
                        .col_expr(mail_outbox::Column::Status, Expr::value("failed"))
                        .col_expr(
                            mail_outbox::Column::NextAttemptAt,
                            Expr::value(None::<DateTime<Utc>>),
                        )
                } else {
                    report.deferred += 1;
                    update.col_expr(
                        mail_outbox::Column::NextAttemptAt,
                        Expr::value(now + backoff(attempts)),
                    )
                }
                .col_expr(mail_outbox::Column::LastError, Expr::value(reason))
            }
        };
        update.exec(db).await?;
    }
    Ok(report)
}

fn row_of(m: &mail_outbox::Model) -> MailRow {
    MailRow {
        id: m.id,
        created_at: rfc3339(m.created_at),
        kind: m.kind.clone(),
        recipients: m.recipients.clone(),
        subject: m.subject.clone(),
        status: m.status.clone(),
        attempts: m.attempts,
        sent_at: m.sent_at.map(rfc3339),
        next_attempt_at: m.next_attempt_at.map(rfc3339),
        last_error: m.last_error.clone(),
    }
}

/// A page of the outbox, newest first (keyset on the id).
///
/// Errors: `Validation` on `status` or `after`.
pub async fn outbox_page(db: &DatabaseConnection, q: &MailQuery) -> ServiceResult<Page<MailRow>> {
    let mut errors = FieldErrors::default();
    let mut query = mail_outbox::Entity::find().order_by_desc(mail_outbox::Column::Id);
    if !q.status.is_empty() {
        if MAIL_STATUSES.contains(&q.status.as_str()) {
            query = query.filter(mail_outbox::Column::Status.eq(q.status.as_str()));
        } else {
            errors.add("status", "must be queued, sent or failed");
        }
    }
    if !q.after.is_empty() {
        match q.after.parse::<i64>() {
            Ok(after) => query = query.filter(mail_outbox::Column::Id.lt(after)),
            Err(_) => errors.add("after", "is not a page cursor"),
        }
    }
    errors.into_result(())?;
    let size = page_size(q.limit) as u64;
    let mut rows = query.limit(size + 1).all(db).await?;
    let more = rows.len() as u64 > size;
    rows.truncate(size as usize);
    Ok(Page {
        next: more
            .then(|| rows.last().map(|r| r.id.to_string()))
            .flatten(),
        rows: rows.iter().map(row_of).collect(),
    })
}

/// Message `id`, whole. Errors: `NotFound`.
pub async fn message(db: &DatabaseConnection, id: i64) -> ServiceResult<MailDetail> {
    let m = mail_outbox::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(ServiceError::NotFound("message"))?;
    let carrier = match m.carrier_id {
        Some(c) => crate::cdrs::views::carrier_names(db, vec![c])
            .await?
            .remove(&c),
        None => None,
    };
    Ok(MailDetail {
        row: row_of(&m),
        body: m.body,
        carrier,
    })
}

/// Messages per status; `relay` as [`Mailer::relay`] gives it, or `None`.
pub async fn summary(db: &DatabaseConnection, relay: Option<String>) -> ServiceResult<MailSummary> {
    let count = |status: &'static str| {
        mail_outbox::Entity::find()
            .filter(mail_outbox::Column::Status.eq(status))
            .count(db)
    };
    Ok(MailSummary {
        queued: count("queued").await?,
        sent: count("sent").await?,
        failed: count("failed").await?,
        relay,
    })
}

/// Queues failed message `id` again, as new: its attempts start over. Audited.
///
/// Errors: `NotFound`; `Conflict` when the message is not `failed`.
pub async fn send_again(db: &DatabaseConnection, actor: &Actor, id: i64) -> ServiceResult<()> {
    let txn = crate::db::begin_write(db).await?;
    let m = mail_outbox::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound("message"))?;
    if m.status != "failed" {
        return Err(ServiceError::Conflict(format!(
            "the message is {}; only a failed message is sent again",
            m.status
        )));
    }
    mail_outbox::Entity::update_many()
        .col_expr(mail_outbox::Column::Status, Expr::value("queued"))
        .col_expr(mail_outbox::Column::Attempts, Expr::value(0i64))
        .col_expr(
            mail_outbox::Column::NextAttemptAt,
            Expr::value(None::<DateTime<Utc>>),
        )
        .col_expr(mail_outbox::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(mail_outbox::Column::Id.eq(id))
        .exec(&txn)
        .await?;
    audit::record(
        &txn,
        actor,
        "mail",
        id,
        m.carrier_id,
        audit::Action::Update,
        vec![audit::FieldChange {
            field: "status".into(),
            before: Some("failed".into()),
            after: Some("queued".into()),
        }],
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_a_minute_up_to_an_hour() {
        let minutes: Vec<i64> = (1..=9).map(|a| backoff(a).num_minutes()).collect();
        assert_eq!(minutes, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }

    /// The connection pool lives on the Tokio runtime: a mailer is made within one.
    #[tokio::test]
    async fn a_bad_smtp_url_or_sender_names_the_setting() {
        assert!(Mailer::new("http://mail.example.net", "a@b.test")
            .unwrap_err()
            .starts_with("SMTP_URL"));
        assert!(Mailer::new("smtp://mail.example.net:25", "not an address")
            .unwrap_err()
            .starts_with("MAIL_FROM"));
        let m = Mailer::new(
            "smtp://user:secret@mail.example.net?tls=required",
            "DIDTron <billing@example.net>",
        )
        .unwrap();
        assert_eq!(m.relay(), "mail.example.net:587 (STARTTLS)");
        assert!(!format!("{m:?}").contains("secret"));
    }
}
