//! Connecting to the database and bringing its schema up to date.

use sea_orm::sqlx::sqlite::SqliteConnectOptions;
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DatabaseTransaction, DbErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use std::time::Duration;

pub use migrations::{Migrator, MigratorTrait};

/// The database kinds DIDTron runs on, read from the URL scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// `sqlite:` — the embedded default (`sqlite://./data/didtron.db?mode=rwc`).
    Sqlite,
    /// `postgres:` / `postgresql:`.
    Postgres,
}

impl Backend {
    /// The backend a `DATABASE_URL` names, or `None` for any other scheme.
    pub fn of_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

/// Opens a pool to `url`. For SQLite the file's folder is created, the journal is WAL
/// and foreign keys are enforced; for PostgreSQL the pool holds up to `max_connections`.
///
/// Errors: the database cannot be reached or the URL is malformed.
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    if Backend::of_url(url) == Some(Backend::Sqlite) {
        if let Some(dir) = sqlite_file(url).and_then(|p| p.parent().map(|d| d.to_path_buf())) {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(&dir)
                    .map_err(|e| DbErr::Custom(format!("cannot create {}: {e}", dir.display())))?;
            }
        }
    }
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(max_connections)
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    if Backend::of_url(url) == Some(Backend::Sqlite) {
        options.map_sqlx_sqlite_opts(|o: SqliteConnectOptions| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                .create_if_missing(true)
        });
    }
    Database::connect(options).await
}

/// Begins a transaction that will write. On SQLite it is `BEGIN IMMEDIATE`, which takes
/// the write lock at once and so waits (up to the busy timeout) for another writer; a
/// plain deferred `BEGIN` that reads first and writes later fails at once with
/// "database is locked" when another connection wrote in between (SQLite's documented
/// behaviour in WAL mode: a read transaction cannot be upgraded past a newer commit).
/// On PostgreSQL it is a plain `BEGIN`.
///
/// Every use case that changes data opens its transaction here, not with `begin()`.
///
/// Errors: the database cannot be reached, or the lock is not free within the busy timeout.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// The file a `sqlite:` URL points at (`sqlite://./data/x.db?mode=rwc` → `./data/x.db`);
/// `None` for in-memory databases.
fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or("");
    (!path.is_empty() && path != ":memory:").then(|| std::path::PathBuf::from(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_backend_and_file_from_url() {
        assert_eq!(
            Backend::of_url("sqlite://./data/didtron.db?mode=rwc"),
            Some(Backend::Sqlite)
        );
        assert_eq!(
            Backend::of_url("postgres://127.0.0.1/test"),
            Some(Backend::Postgres)
        );
        assert_eq!(Backend::of_url("mysql://x"), None);
        assert_eq!(
            sqlite_file("sqlite://./data/didtron.db?mode=rwc"),
            Some(std::path::PathBuf::from("./data/didtron.db"))
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
    }
}
