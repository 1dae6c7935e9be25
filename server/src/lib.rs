//! The `didtron` server: start-up (configuration, database, Redis, first super admin),
//! the HTTP application ([`web::router`]) and graceful shutdown.

pub mod api;
pub mod cdr_files;
pub mod config;
pub mod rate_command;
pub mod rate_plans;
pub mod sessions;
pub mod telemetry;
pub mod web;

use std::net::SocketAddr;
use std::time::Duration;

use app::server::AppState;
use sea_orm::DatabaseConnection;
use service::kv::Kv;
use service::signin_limit::SignInLimiter;
use service::users::InitialAdmin;
use tower_sessions::session_store::ExpiredDeletion;

use crate::config::Config;
use crate::sessions::{AnySessionStore, DbSessionStore};

/// A started DIDTron: its state and HTTP router, ready to serve.
pub struct Didtron {
    pub config: Config,
    pub db: DatabaseConnection,
    pub kv: Kv,
    pub router: axum::Router,
    /// Tells the job workers to stop (after their current job).
    pub stop_workers: tokio::sync::watch::Sender<bool>,
}

/// Connects the database (and Redis), migrates, creates the first super admin when no
/// user exists, and builds the router.
///
/// Errors: the database or Redis cannot be reached, a migration fails, or the configured
/// first admin is invalid.
pub async fn start(config: Config) -> anyhow::Result<Didtron> {
    let mut db = service::db::connect(&config.database_url, config.database_max_connections)
        .await
        .map_err(|e| anyhow::anyhow!("database {}: {e}", config::redact(&config.database_url)))?;
    // This instance's figures for System Status; every statement is timed (before the
    // connection is cloned, so every clone reports).
    let recorder = service::status::Recorder::new(&uuid::Uuid::now_v7().to_string());
    db.set_metric_callback(recorder.statement_callback());
    // Calls to other systems (pull sources, the SMTP relay) are timed into it too.
    recorder.install();
    service::db::migrate(&db)
        .await
        .map_err(|e| anyhow::anyhow!("migrating the database: {e}"))?;
    announce_initial_admin(&db, &config).await?;

    let kv = match &config.redis_url {
        Some(url) => Kv::connect_redis(url, &config.redis_key_prefix, 4)
            .await
            .map_err(|e| anyhow::anyhow!("redis {}: {e}", config::redact(url)))?,
        None => Kv::local(),
    };
    // Sessions live in the database, and in Redis first when it is configured (the
    // database copy keeps people signed in while Redis is away).
    let database_sessions = DbSessionStore::new(db.clone());
    let store = match kv.redis_pool() {
        Some(pool) => AnySessionStore::redis(
            tower_sessions_redis_store::RedisStore::new(pool.clone()),
            database_sessions.clone(),
        ),
        None => AnySessionStore::Database(database_sessions.clone()),
    };
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(300));
        loop {
            every.tick().await;
            if let Err(e) = database_sessions.delete_expired().await {
                tracing::warn!(error = %e, "deleting expired sessions");
            }
        }
    });
    let files = service::files::Files::local(&config.files_dir)
        .map_err(|e| anyhow::anyhow!("file store {}: {e}", config.files_dir.display()))?;
    let (stop_workers, stop) = tokio::sync::watch::channel(false);
    for n in 0..config.workers {
        let ctx = service::jobs::JobContext {
            db: db.clone(),
            files: files.clone(),
            kv: kv.clone(),
        };
        let name = format!("{}-{}-{n}", hostname(), std::process::id());
        tokio::spawn(service::jobs::work(
            ctx,
            name,
            Duration::from_millis(500),
            stop.clone(),
        ));
    }
    let decks = service::cdrs::DeckCache::new();
    if config.workers > 0 {
        // CDR pull sources: every few seconds, the ones whose interval has passed (each
        // under its distributed lock, so one instance pulls a source at a time).
        let client = service::cdrs::pull::client().map_err(|e| anyhow::anyhow!("{e}"))?;
        let (db, kv, decks, mut stop) = (db.clone(), kv.clone(), decks.clone(), stop.clone());
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(5));
            loop {
                tokio::select! {
                    _ = every.tick() => {}
                    _ = stop.changed() => return,
                }
                if let Err(e) = service::cdrs::pull::pull_due(&db, &kv, &decks, &client).await {
                    tracing::warn!(error = %e, "CDR pull");
                }
            }
        });
    }
    if config.workers > 0 {
        // The ledger check: every running balance against its ledger, repaired and
        // recorded (one instance at a time, under its lock).
        let (db, kv, mut stop, period) =
            (db.clone(), kv.clone(), stop.clone(), config.ledger_check);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(period);
            loop {
                tokio::select! {
                    _ = every.tick() => {}
                    _ = stop.changed() => return,
                }
                match service::cdrs::ledger::check_ledger(&db, &kv).await {
                    Ok(Some(c)) if !c.mismatches.is_empty() => tracing::warn!(
                        differed = c.mismatches.len(),
                        "ledger check: running balances set to their ledger"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "ledger check"),
                }
            }
        });
    }
    // The routing table: compiled now, then kept current by every instance (a change in
    // the database is picked up within a second; see service::routing).
    let routing = service::routing::Router::load(&db, kv.clone(), decks.clone())
        .await
        .map_err(|e| anyhow::anyhow!("routing table: {e}"))?;
    {
        let (db, routing, mut stop) = (db.clone(), routing.clone(), stop.clone());
        tokio::spawn(async move {
            let mut every = tokio::time::interval(service::routing::REFRESH_EVERY);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = every.tick() => {}
                    _ = stop.changed() => return,
                }
                match routing.refresh(&db).await {
                    Ok(true) => tracing::info!(status = ?routing.status(), "routing table rebuilt"),
                    Ok(false) => {}
                    Err(e) => tracing::warn!(error = %e, "routing table refresh"),
                }
            }
        });
    }
    let mailer = match &config.smtp_url {
        Some(url) => Some(
            service::mail::Mailer::new(&url.0, &config.mail_from)
                .map_err(|e| anyhow::anyhow!("{e}"))?,
        ),
        None => None,
    };
    if let (Some(mailer), true) = (mailer.clone(), config.workers > 0) {
        // The mail outbox: every few seconds, the queued messages that are due (one
        // instance at a time, under the delivery lock).
        let (db, kv, mut stop) = (db.clone(), kv.clone(), stop.clone());
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(5));
            loop {
                tokio::select! {
                    _ = every.tick() => {}
                    _ = stop.changed() => return,
                }
                match service::mail::deliver_due(&db, &kv, &mailer, chrono::Utc::now()).await {
                    Ok(r) if r.sent + r.deferred + r.failed > 0 => tracing::info!(
                        sent = r.sent,
                        deferred = r.deferred,
                        failed = r.failed,
                        "mail outbox"
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "mail outbox"),
                }
            }
        });
    }
    // System Status: this instance's flush and heartbeat, and the collector when it
    // holds the lease (service::status).
    let api_keys = service::cdrs::api_keys::KeyCache::default();
    let status_ctx = service::status::StatusContext {
        db: db.clone(),
        kv: kv.clone(),
        files: files.clone(),
        mailer: mailer.clone(),
        recorder: recorder.clone(),
        period: config.status_period,
        caches: vec![
            ("decks", decks.counter().clone()),
            ("api_keys", api_keys.counter().clone()),
        ],
    };
    service::status::register(
        &status_ctx,
        &service::status::InstanceInfo {
            host: hostname(),
            pid: std::process::id(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            workers: config.workers,
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("registering this instance: {e}"))?;
    tokio::spawn(service::status::run(status_ctx, stop.clone()));
    let app_state = AppState {
        db: db.clone(),
        kv: kv.clone(),
        files: files.clone(),
        decks,
        router: routing,
        signin_limiter: SignInLimiter::new(
            kv.clone(),
            config.signin_max_failures,
            config.signin_window,
        ),
        session_idle_timeout: config.session_idle_timeout,
        mail_relay: mailer.as_ref().map(|m| m.relay().to_owned()),
        status: recorder,
        status_period: config.status_period,
    };
    let router = web::router(&config, app_state, store, api_keys);
    tracing::info!(
        database = %config::redact(&config.database_url),
        kv = kv.kind(),
        mail = mailer.as_ref().map_or("outbox only (SMTP_URL unset)", |m| m.relay()),
        "DIDTron ready"
    );
    Ok(Didtron {
        config,
        db,
        kv,
        router,
        stop_workers,
    })
}

/// This machine's name, for naming job workers (`HOSTNAME`, else `localhost`).
fn hostname() -> String {
    std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".into())
}

async fn announce_initial_admin(db: &DatabaseConnection, config: &Config) -> anyhow::Result<()> {
    let outcome = service::users::ensure_initial_admin(
        db,
        config.admin_email.as_deref(),
        config.admin_password.as_ref().map(|s| s.0.as_str()),
    )
    .await
    .map_err(|e| anyhow::anyhow!("creating the first super admin: {e}"))?;
    match outcome {
        InitialAdmin::AlreadyPresent => {}
        InitialAdmin::Created { email } => {
            tracing::info!(%email, "created the first super admin with DIDTRON_ADMIN_PASSWORD")
        }
        InitialAdmin::CreatedWithGeneratedPassword { email, password } => {
            // Printed once, on the first start only; change it after signing in.
            tracing::warn!(%email, %password, "created the first super admin with a generated password (shown only this once)");
        }
    }
    Ok(())
}

impl Didtron {
    /// Serves on `listener` until `shutdown` resolves, then lets in-flight requests finish
    /// for up to `SHUTDOWN_GRACE_SECS` and closes the database and Redis connections.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let grace = self.config.shutdown_grace;
        let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
        let stop_workers = self.stop_workers.clone();
        let signal = async move {
            shutdown.await;
            tracing::info!("shutting down: draining requests");
            let _ = stop_workers.send(true);
            let _ = stopping_tx.send(());
        };
        let app = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let server = axum::serve(listener, app).with_graceful_shutdown(signal);
        let deadline = async move {
            if stopping_rx.await.is_ok() {
                tokio::time::sleep(grace).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            result = server => result?,
            () = deadline => tracing::warn!("grace period over: closing remaining connections"),
        }
        self.kv.close().await;
        let _ = self.db.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
