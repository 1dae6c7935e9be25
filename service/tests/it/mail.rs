//! Mail delivery (`service::mail`) through a real SMTP server (Debian's aiosmtpd, writing
//! what it receives to a maildir), on SQLite and on PostgreSQL + Redis: a relay that is
//! down defers with a back-off, a relay that is up gets every due message exactly once
//! (two deliverers at once included), an unusable address fails for good with its
//! reason, and "send again" queues only a failed message.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use domain::mail::MailQuery;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, DatabaseConnection, EntityTrait};
use service::audit::Actor;
use service::entity::mail_outbox;
use service::mail::{self, Mailer};
use service::{testing, ServiceError};

/// aiosmtpd on `port`, storing each message it accepts as a file under `maildir/new`.
struct SmtpServer {
    child: Child,
    maildir: PathBuf,
}

impl SmtpServer {
    fn start(port: u16) -> SmtpServer {
        let maildir = std::env::temp_dir().join(format!("didtron-mail-{}", uuid::Uuid::new_v4()));
        let child = Command::new("/usr/bin/python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("`scripts/setup.sh --test` installs python3-aiosmtpd");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "aiosmtpd listens on {port} (is python3-aiosmtpd installed?)"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        SmtpServer { child, maildir }
    }

    /// The messages received, as text.
    fn received(&self) -> Vec<String> {
        let Ok(dir) = std::fs::read_dir(self.maildir.join("new")) else {
            return Vec::new();
        };
        dir.map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.maildir);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn queue(db: &DatabaseConnection, to: &str, subject: &str) -> i64 {
    let now = Utc::now();
    mail_outbox::ActiveModel {
        recipients: Set(to.into()),
        subject: Set(subject.into()),
        body: Set(format!(
            "{subject}\n\nThe available credit is below the threshold.\n"
        )),
        kind: Set("credit_alert".into()),
        carrier_id: Set(None),
        status: Set("queued".into()),
        sent_at: Set(None),
        last_error: Set(None),
        attempts: Set(0),
        next_attempt_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
    .unwrap()
    .id
}

async fn get(db: &DatabaseConnection, id: i64) -> mail_outbox::Model {
    mail_outbox::Entity::find_by_id(id)
        .one(db)
        .await
        .unwrap()
        .unwrap()
}

const FROM: &str = "DIDTron Billing <billing@didtron.test>";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_mail_reaches_a_real_smtp_server_once_and_failures_are_kept_with_their_reason() {
    for env in testing::backends().await {
        let db = &env.db;
        let port = free_port();
        let mailer = Mailer::new(&format!("smtp://127.0.0.1:{port}"), FROM).unwrap();
        let alert = queue(
            db,
            "noc@acme.test, finance@acme.test",
            "Credit alert: Acme below 100.00 USD",
        )
        .await;

        // The relay is down: the message waits, with the reason and a back-off.
        let now = Utc::now();
        let report = mail::deliver_due(db, &env.kv, &mailer, now).await.unwrap();
        assert_eq!(
            (report.sent, report.deferred, report.failed),
            (0, 1, 0),
            "{}",
            env.name
        );
        let m = get(db, alert).await;
        assert_eq!((m.status.as_str(), m.attempts), ("queued", 1));
        assert!(
            m.last_error
                .as_deref()
                .unwrap_or_default()
                .to_lowercase()
                .contains("connect"),
            "{:?}",
            m.last_error
        );
        assert_eq!(
            m.next_attempt_at.unwrap().timestamp(),
            (now + mail::backoff(1)).timestamp()
        );

        let smtp = SmtpServer::start(port);
        let bad = queue(db, "not an address", "Credit alert: Globex").await;
        let more: Vec<i64> = queue_many(db, 3).await;

        // Not due yet: only the new messages go; the bad address fails for good.
        let report = mail::deliver_due(db, &env.kv, &mailer, Utc::now())
            .await
            .unwrap();
        assert_eq!(
            (report.sent, report.deferred, report.failed),
            (3, 0, 1),
            "{}",
            env.name
        );
        let failed = get(db, bad).await;
        assert_eq!(failed.status, "failed");
        assert_eq!(
            failed.last_error.as_deref(),
            Some("recipient `not an address` is not an e-mail address")
        );
        assert_eq!(
            get(db, alert).await.status,
            "queued",
            "waits for its back-off"
        );

        // Two deliverers at once after the back-off: the alert goes exactly once.
        let later = Utc::now() + chrono::Duration::minutes(2);
        let (a, b) = tokio::join!(
            mail::deliver_due(db, &env.kv, &mailer, later),
            mail::deliver_due(db, &env.kv, &mailer, later)
        );
        assert_eq!(a.unwrap().sent + b.unwrap().sent, 1, "{}", env.name);
        let sent = get(db, alert).await;
        assert_eq!((sent.status.as_str(), sent.attempts), ("sent", 2));
        assert!(sent.sent_at.is_some() && sent.last_error.is_none());
        for id in &more {
            assert_eq!(get(db, *id).await.status, "sent");
        }

        let received = smtp.received();
        assert_eq!(
            received.len(),
            4,
            "{}: one message each, none twice",
            env.name
        );
        let message = received
            .iter()
            .find(|m| m.contains("Subject: Credit alert: Acme below 100.00 USD"))
            .expect("the alert arrived");
        assert!(
            message.contains("X-RcptTo: noc@acme.test, finance@acme.test"),
            "{message}"
        );
        assert!(
            message.contains("From: \"DIDTron Billing\" <billing@didtron.test>")
                && message.contains("X-MailFrom: billing@didtron.test"),
            "{message}"
        );
        assert!(
            message.contains(&format!("Message-ID: <didtron-mail-{alert}@didtron.test>")),
            "{message}"
        );
        assert!(message.contains("The available credit is below the threshold."));

        // The list and "send again".
        let page = mail::outbox_page(
            db,
            &MailQuery {
                status: "failed".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(page.rows.iter().map(|r| r.id).collect::<Vec<_>>(), [bad]);
        let summary = mail::summary(db, Some(mailer.relay().into()))
            .await
            .unwrap();
        assert_eq!((summary.queued, summary.sent, summary.failed), (0, 4, 1));
        assert!(matches!(
            mail::send_again(db, &Actor::system(), alert).await,
            Err(ServiceError::Conflict(_))
        ));
        mail::send_again(db, &Actor::system(), bad).await.unwrap();
        let again = get(db, bad).await;
        assert_eq!((again.status.as_str(), again.attempts), ("queued", 0));
        assert!(matches!(
            mail::outbox_page(db, &MailQuery { status: "lost".into(), ..Default::default() }).await,
            Err(ServiceError::Validation(e)) if e.get("status").is_some()
        ));
        drop(smtp);
        env.cleanup().await;
    }
}

async fn queue_many(db: &DatabaseConnection, n: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(
            queue(
                db,
                &format!("ops{i}@initech.test"),
                &format!("Credit alert: Initech {i}"),
            )
            .await,
        );
    }
    ids
}
