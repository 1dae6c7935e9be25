//! The plan of a slow statement, for the Database tab.
//!
//! A kept statement has placeholders (`$1`), never values, so PostgreSQL is asked for its
//! *generic* plan — the one that does not depend on values: `SET plan_cache_mode =
//! force_generic_plan`, `PREPARE` the statement, `EXPLAIN EXECUTE` it with NULLs
//! (PostgreSQL 12+; `EXPLAIN (GENERIC_PLAN)` needs 16). EXPLAIN without ANALYZE plans and
//! never runs the statement. It runs on a pooled connection that is closed afterwards, so
//! the prepared statement and the setting die with it.

use sea_orm::sqlx::{self, AssertSqlSafe, Row};
use sea_orm::{DatabaseBackend, DatabaseConnection};

/// The highest `$n` placeholder in `sql`.
fn placeholders(sql: &str) -> usize {
    let bytes = sql.as_bytes();
    let mut highest = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' {
            let start = i + 1;
            let mut end = start;
            while end < bytes.len() && bytes[end].is_ascii_digit() {
                end += 1;
            }
            if end > start {
                if let Ok(n) = sql[start..end].parse::<usize>() {
                    highest = highest.max(n);
                }
            }
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    highest
}

/// PostgreSQL's generic plan of `sql` as text, or why there is none (`(no plan: …)`).
/// Empty on SQLite.
pub async fn generic_plan(db: &DatabaseConnection, sql: &str) -> String {
    if db.get_database_backend() != DatabaseBackend::Postgres {
        return String::new();
    }
    match explain(db, sql).await {
        Ok(plan) => plan,
        Err(e) => format!("(no plan: {e})"),
    }
}

async fn explain(db: &DatabaseConnection, sql: &str) -> Result<String, sqlx::Error> {
    let trimmed = sql.trim().trim_end_matches(';');
    let first = trimmed
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_uppercase();
    if !matches!(
        first.as_str(),
        "SELECT" | "INSERT" | "UPDATE" | "DELETE" | "WITH" | "VALUES"
    ) {
        return Err(sqlx::Error::Protocol(format!(
            "{first} statements have no plan"
        )));
    }
    let mut conn = db.get_postgres_connection_pool().acquire().await?;
    let result = async {
        sqlx::raw_sql(AssertSqlSafe(
            "SET plan_cache_mode = force_generic_plan; SET statement_timeout = '5s'".to_owned(),
        ))
        .execute(&mut *conn)
        .await?;
        sqlx::raw_sql(AssertSqlSafe(format!(
            "PREPARE didtron_explain AS {trimmed}"
        )))
        .execute(&mut *conn)
        .await?;
        let args = vec!["NULL"; placeholders(trimmed)].join(", ");
        let call = if args.is_empty() {
            "EXPLAIN EXECUTE didtron_explain".to_owned()
        } else {
            format!("EXPLAIN EXECUTE didtron_explain({args})")
        };
        let rows = sqlx::raw_sql(AssertSqlSafe(call))
            .fetch_all(&mut *conn)
            .await?;
        let lines: Vec<String> = rows
            .iter()
            .filter_map(|r| r.try_get::<String, _>(0).ok())
            .collect();
        Ok::<_, sqlx::Error>(lines.join("\n"))
    }
    .await;
    // The prepared statement and the settings go with the connection.
    let _ = conn.close().await;
    result
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_are_counted_by_their_highest_number() {
        assert_eq!(super::placeholders("SELECT 1"), 0);
        assert_eq!(
            super::placeholders("SELECT * FROM t WHERE a = $2 AND b = $10 OR c = $1"),
            10
        );
        assert_eq!(super::placeholders("SELECT '$' || $3"), 3);
    }
}
