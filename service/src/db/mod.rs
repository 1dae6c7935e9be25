//! Connecting to the database and bringing its schema up to date.

use sea_orm::sqlx::sqlite::SqliteConnectOptions;
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DatabaseTransaction, DbErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use std::time::Duration;

pub use migrations::{Migrator, MigratorTrait};

mod copy;
pub use copy::CopyTransaction;

/// Rows per multi-row `INSERT` on SQLite (46 columns × 500 stays inside SQLite's
/// 32 766 parameters): [`InsertRows`] and CDR ingest's `ON CONFLICT` path.
pub(crate) const INSERT_CHUNK: usize = 500;

/// What the bulk paths ([`insert_json_rows`], [`CopyTransaction::copy_rows`]) write of
/// a batch of models: its entity's table and the columns set on `first` (`NotSet`
/// ones, like a defaulted `id`, are left to their default), with their quoted names
/// joined by commas.
pub(crate) fn bulk_columns<A: sea_orm::ActiveModelTrait>(
    first: &A,
) -> (
    String,
    Vec<<A::Entity as sea_orm::EntityTrait>::Column>,
    String,
) {
    use sea_orm::sea_query::Iden;
    use sea_orm::{ActiveValue, EntityName, Iterable};
    let columns: Vec<_> = <A::Entity as sea_orm::EntityTrait>::Column::iter()
        .filter(|c| !matches!(first.get(*c), ActiveValue::NotSet))
        .collect();
    let names = columns
        .iter()
        .map(|c| format!("\"{}\"", c.to_string()))
        .collect::<Vec<_>>()
        .join(", ");
    let table = <A::Entity as Default>::default().table_name().to_owned();
    (table, columns, names)
}

/// Many new rows into their entity's table, the fastest way the connection has:
/// binary `COPY` on a [`CopyTransaction`]; on a SeaORM transaction one
/// [`insert_json_rows`] statement on PostgreSQL and multi-row `INSERT`s of
/// [`INSERT_CHUNK`] rows on SQLite.
///
/// Errors: the database's (a unique violation among them); `Custom` for a value the
/// bulk paths do not carry (see [`insert_json_rows`]).
pub trait InsertRows: sea_orm::ConnectionTrait {
    /// Inserts `rows` (every model sets the same columns).
    fn insert_rows<A>(
        &self,
        rows: Vec<A>,
    ) -> impl std::future::Future<Output = Result<(), DbErr>> + Send
    where
        A: sea_orm::ActiveModelTrait + Clone + Send + Sync + 'static;
}

impl InsertRows for DatabaseTransaction {
    async fn insert_rows<A>(&self, rows: Vec<A>) -> Result<(), DbErr>
    where
        A: sea_orm::ActiveModelTrait + Clone + Send + Sync + 'static,
    {
        use sea_orm::ConnectionTrait;
        if rows.is_empty() {
            return Ok(());
        }
        if self.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            insert_json_rows(self, &rows, "").await?;
            return Ok(());
        }
        for chunk in rows.chunks(INSERT_CHUNK) {
            <A::Entity as sea_orm::EntityTrait>::insert_many(chunk.to_vec())
                .exec_without_returning(self)
                .await?;
        }
        Ok(())
    }
}

impl InsertRows for CopyTransaction {
    async fn insert_rows<A>(&self, rows: Vec<A>) -> Result<(), DbErr>
    where
        A: sea_orm::ActiveModelTrait + Clone + Send + Sync + 'static,
    {
        self.copy_rows(rows).await.map(|_| ())
    }
}

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

/// PostgreSQL's bulk path for many rows: one statement whose single parameter is the
/// rows as a JSON array, expanded by `json_to_recordset` —
/// `INSERT INTO t (cols) SELECT cols FROM json_to_recordset($1::json) AS r(col type, …)
/// [ON CONFLICT …] [RETURNING …]`. A multi-row `VALUES` list binds rows × columns
/// parameters and PostgreSQL parses and plans it again for every batch; here the plan
/// is one and small, and the rows travel as one text value.
///
/// Columns are those set on the first model (`NotSet` ones, like `id`, are left to
/// their default); every model must set the same ones. `suffix` is appended as is
/// (`ON CONFLICT … DO NOTHING RETURNING id`). Supported column values: 64-bit integers,
/// text, booleans, UTC times.
///
/// Errors: the database's; `Custom` when a model holds a value of another type.
pub async fn insert_json_rows<C, A>(
    db: &C,
    rows: &[A],
    suffix: &str,
) -> Result<Vec<sea_orm::QueryResult>, DbErr>
where
    C: sea_orm::ConnectionTrait,
    A: sea_orm::ActiveModelTrait,
{
    use sea_orm::sea_query::Iden;
    use sea_orm::Value;
    let Some(first) = rows.first() else {
        return Ok(Vec::new());
    };
    let (table, columns, list) = bulk_columns(first);
    let sql_type = |v: &Value| match v {
        Value::BigInt(_) => Ok("bigint"),
        Value::String(_) => Ok("text"),
        Value::Bool(_) => Ok("boolean"),
        Value::ChronoDateTimeUtc(_) => Ok("timestamptz"),
        other => Err(DbErr::Custom(format!(
            "bulk insert: unsupported value {other:?}"
        ))),
    };
    let mut definitions = Vec::with_capacity(columns.len());
    for c in &columns {
        let value = first.get(*c).into_value().unwrap_or(Value::BigInt(None));
        definitions.push(format!("\"{}\" {}", c.to_string(), sql_type(&value)?));
    }
    let mut json = Vec::with_capacity(rows.len());
    for row in rows {
        let mut object = serde_json::Map::with_capacity(columns.len());
        for c in &columns {
            let value = match row.get(*c).into_value() {
                None
                | Some(Value::BigInt(None))
                | Some(Value::String(None))
                | Some(Value::Bool(None))
                | Some(Value::ChronoDateTimeUtc(None)) => serde_json::Value::Null,
                Some(Value::BigInt(Some(n))) => n.into(),
                Some(Value::String(Some(s))) => (*s).into(),
                Some(Value::Bool(Some(b))) => b.into(),
                Some(Value::ChronoDateTimeUtc(Some(t))) => t
                    .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
                    .into(),
                Some(other) => {
                    return Err(DbErr::Custom(format!(
                        "bulk insert: unsupported value {other:?}"
                    )))
                }
            };
            object.insert(c.to_string(), value);
        }
        json.push(serde_json::Value::Object(object));
    }
    let sql = format!(
        "INSERT INTO \"{table}\" ({list}) SELECT {list} FROM json_to_recordset($1::json) AS r({}) {suffix}",
        definitions.join(", ")
    );
    let body = serde_json::Value::Array(json).to_string();
    db.query_all_raw(sea_orm::Statement::from_sql_and_values(
        sea_orm::DatabaseBackend::Postgres,
        sql,
        [Value::String(Some(body))],
    ))
    .await
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
