//! PostgreSQL's own bulk path, binary `COPY … FROM STDIN`, inside a transaction that
//! SeaORM queries run on too.
//!
//! SeaORM's [`sea_orm::DatabaseTransaction`] keeps its connection private, and `COPY`
//! is not a statement SeaORM can send. [`CopyTransaction`] holds the transaction on a
//! sqlx connection of the same pool instead: it implements [`ConnectionTrait`], so the
//! use cases' SeaORM code (balances, credit control, audit) runs on it unchanged, and
//! [`CopyTransaction::copy_rows`] streams models into a table in PostgreSQL's binary
//! copy format (PostgreSQL documentation, "COPY", section "Binary Format"), the
//! fastest way rows enter a table. Everything commits or rolls back together.

use std::sync::Arc;

use sea_orm::sea_query::Values;
use sea_orm::sqlx::{self, AssertSqlSafe, Postgres};
use sea_orm::{
    ActiveModelTrait, ActiveValue, ConnectionTrait, DatabaseConnection, DbBackend, DbErr,
    ExecResult, QueryResult, RuntimeErr, Statement, Value,
};
use sea_query_sqlx::SqlxValues;
use tokio::sync::Mutex;

/// Bytes buffered before they are sent to the server, so that PostgreSQL stores one
/// part while the next is encoded.
const SEND_EVERY: usize = 512 * 1024;

/// Microseconds from the Unix epoch to PostgreSQL's (2000-01-01 00:00:00 UTC).
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

fn exec_err(e: sqlx::Error) -> DbErr {
    DbErr::Exec(RuntimeErr::SqlxError(Arc::new(e)))
}

fn query_err(e: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(Arc::new(e)))
}

/// A PostgreSQL transaction on a sqlx connection of the application's pool, for use
/// cases that store many rows at once (CDR ingest). Dropped without
/// [`commit`](Self::commit), it rolls back.
pub struct CopyTransaction {
    txn: Mutex<sqlx::Transaction<'static, Postgres>>,
}

impl std::fmt::Debug for CopyTransaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CopyTransaction")
    }
}

impl CopyTransaction {
    /// Begins a transaction on a connection of `db`'s pool.
    ///
    /// Errors: the pool has no connection within its acquire timeout. Panics when `db`
    /// is not PostgreSQL (callers check the backend first).
    pub async fn begin(db: &DatabaseConnection) -> Result<Self, DbErr> {
        let txn = db
            .get_postgres_connection_pool()
            .begin()
            .await
            .map_err(|e| DbErr::Conn(RuntimeErr::SqlxError(Arc::new(e))))?;
        Ok(Self {
            txn: Mutex::new(txn),
        })
    }

    /// Commits everything done on the transaction.
    ///
    /// Errors: the database's (nothing is stored then).
    pub async fn commit(self) -> Result<(), DbErr> {
        self.txn.into_inner().commit().await.map_err(exec_err)
    }

    /// Inserts `rows` into their entity's table with one binary `COPY … FROM STDIN`,
    /// sent in parts of [`SEND_EVERY`] bytes as they are made and encoded (so a lazy
    /// iterator's work overlaps the server's). Returns the rows stored.
    ///
    /// Columns are those set on the first model (`NotSet` ones, like a defaulted `id`,
    /// are left to their default); every model must set the same ones. Supported
    /// values: 64-bit integers (`bigint`), text (`text`, `varchar`), booleans and UTC
    /// times (`timestamptz`); text longer than a `varchar` column fails the copy.
    ///
    /// Errors: `Custom` for a value of another type or a model with other columns; the
    /// database's otherwise, e.g. a unique violation (`DbErr::sql_err`), after which
    /// the transaction can only be dropped.
    pub async fn copy_rows<A, I>(&self, rows: I) -> Result<u64, DbErr>
    where
        A: ActiveModelTrait,
        I: IntoIterator<Item = A>,
    {
        let mut rows = rows.into_iter().peekable();
        let Some(first) = rows.peek() else {
            return Ok(0);
        };
        let (table, columns, names) = super::bulk_columns(first);
        let sql = format!("COPY \"{table}\" ({names}) FROM STDIN WITH (FORMAT binary)");
        let field_count = i16::try_from(columns.len())
            .map_err(|_| DbErr::Custom(format!("copy into {table}: too many columns")))?;

        let mut txn = self.txn.lock().await;
        let mut copy = txn.copy_in_raw(&sql).await.map_err(exec_err)?;
        let mut buf = Vec::with_capacity(SEND_EVERY + 64 * 1024);
        // Signature, flags, header extension length.
        buf.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
        buf.extend_from_slice(&0i32.to_be_bytes());
        buf.extend_from_slice(&0i32.to_be_bytes());
        let mut encoded = Ok(());
        for mut row in rows {
            buf.extend_from_slice(&field_count.to_be_bytes());
            for c in &columns {
                if let Err(e) = encode(&mut buf, row.take(*c), &table) {
                    encoded = Err(e);
                    break;
                }
            }
            if encoded.is_err() {
                break;
            }
            if buf.len() >= SEND_EVERY {
                if let Err(e) = copy.send(buf.as_slice()).await {
                    encoded = Err(exec_err(e));
                    break;
                }
                buf.clear();
            }
        }
        if let Err(e) = encoded {
            // The server must hear the copy is off, or the connection is left unusable.
            let _ = copy.abort(e.to_string()).await;
            return Err(e);
        }
        buf.extend_from_slice(&(-1i16).to_be_bytes());
        copy.send(buf.as_slice()).await.map_err(exec_err)?;
        copy.finish().await.map_err(exec_err)
    }
}

/// Appends one field in binary copy format: its length (-1 for NULL), then the value
/// as the type's binary `recv` function reads it (big-endian integers; `timestamptz`
/// as microseconds since 2000-01-01 UTC; text as UTF-8).
fn encode(buf: &mut Vec<u8>, value: ActiveValue<Value>, table: &str) -> Result<(), DbErr> {
    let value = match value {
        ActiveValue::Set(v) | ActiveValue::Unchanged(v) => v,
        ActiveValue::NotSet => {
            return Err(DbErr::Custom(format!(
                "copy into {table}: every row must set the same columns"
            )))
        }
    };
    match value {
        Value::BigInt(None)
        | Value::String(None)
        | Value::Bool(None)
        | Value::ChronoDateTimeUtc(None) => buf.extend_from_slice(&(-1i32).to_be_bytes()),
        Value::BigInt(Some(n)) => {
            buf.extend_from_slice(&8i32.to_be_bytes());
            buf.extend_from_slice(&n.to_be_bytes());
        }
        Value::String(Some(s)) => {
            let len = i32::try_from(s.len())
                .map_err(|_| DbErr::Custom(format!("copy into {table}: a text over 2 GB")))?;
            buf.extend_from_slice(&len.to_be_bytes());
            buf.extend_from_slice(s.as_bytes());
        }
        Value::Bool(Some(b)) => {
            buf.extend_from_slice(&1i32.to_be_bytes());
            buf.push(u8::from(b));
        }
        Value::ChronoDateTimeUtc(Some(t)) => {
            buf.extend_from_slice(&8i32.to_be_bytes());
            buf.extend_from_slice(&(t.timestamp_micros() - PG_EPOCH_MICROS).to_be_bytes());
        }
        other => {
            return Err(DbErr::Custom(format!(
                "copy into {table}: unsupported value {other:?}"
            )))
        }
    }
    Ok(())
}

/// `stmt` as a sqlx query, its values bound as SeaORM binds them.
fn bound(stmt: Statement) -> sqlx::query::Query<'static, Postgres, SqlxValues> {
    let values = SqlxValues(stmt.values.unwrap_or(Values(Vec::new())));
    sqlx::query_with(AssertSqlSafe(stmt.sql), values)
}

#[async_trait::async_trait]
impl ConnectionTrait for CopyTransaction {
    fn get_database_backend(&self) -> DbBackend {
        DbBackend::Postgres
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        let mut txn = self.txn.lock().await;
        bound(stmt)
            .execute(&mut **txn)
            .await
            .map(ExecResult::from)
            .map_err(exec_err)
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        let mut txn = self.txn.lock().await;
        sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
            .execute(&mut **txn)
            .await
            .map(ExecResult::from)
            .map_err(exec_err)
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        let mut txn = self.txn.lock().await;
        bound(stmt)
            .fetch_optional(&mut **txn)
            .await
            .map(|row| row.map(QueryResult::from))
            .map_err(query_err)
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        let mut txn = self.txn.lock().await;
        bound(stmt)
            .fetch_all(&mut **txn)
            .await
            .map(|rows| rows.into_iter().map(QueryResult::from).collect())
            .map_err(query_err)
    }
}
