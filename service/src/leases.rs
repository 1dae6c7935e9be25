//! Database leases: "one instance at a time" for scheduled work that must keep running
//! while Redis is away (the status collector, which must report that Redis is away).
//! [`crate::kv::Kv::try_lock`] is the lock for everything else.
//!
//! A lease is a row `(name, holder, expires_at)`. Taking it is one statement on both
//! backends: insert, or take over a row that has expired or is already ours
//! (`INSERT … ON CONFLICT (name) DO UPDATE … WHERE expires_at < now OR holder = me
//! RETURNING holder`); a row comes back only when we hold it. Times are the server's UTC.

use std::time::Duration;

use chrono::Utc;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter};
use sea_orm::{DatabaseBackend, Statement};

use crate::entity::lease;
use crate::ServiceResult;

/// Takes (or renews) lease `name` for `holder` until `ttl` from now. `true`: held.
///
/// Errors: the database's.
pub async fn try_take(
    db: &DatabaseConnection,
    name: &str,
    holder: &str,
    ttl: Duration,
) -> ServiceResult<bool> {
    let now = Utc::now();
    let until = now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::seconds(60));
    let backend = db.get_database_backend();
    let sql = "INSERT INTO leases (name, holder, expires_at, created_at, updated_at) \
               VALUES ($1, $2, $3, $4, $4) \
               ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
               expires_at = excluded.expires_at, updated_at = excluded.updated_at \
               WHERE leases.expires_at < $4 OR leases.holder = $2 \
               RETURNING holder";
    let sql = match backend {
        DatabaseBackend::Sqlite => sql.replace('$', "?"),
        _ => sql.to_owned(),
    };
    let stmt = Statement::from_sql_and_values(
        backend,
        sql,
        [name.into(), holder.into(), until.into(), now.into()],
    );
    Ok(db.query_one_raw(stmt).await?.is_some())
}

/// Gives lease `name` up if `holder` holds it (another instance may take it at once).
pub async fn release(db: &DatabaseConnection, name: &str, holder: &str) -> ServiceResult<()> {
    lease::Entity::delete_many()
        .filter(lease::Column::Name.eq(name))
        .filter(lease::Column::Holder.eq(holder))
        .exec(db)
        .await?;
    Ok(())
}

/// Who holds lease `name` now, if anyone.
pub async fn holder(db: &DatabaseConnection, name: &str) -> ServiceResult<Option<String>> {
    Ok(lease::Entity::find_by_id(name.to_owned())
        .filter(lease::Column::ExpiresAt.gt(Utc::now()))
        .one(db)
        .await?
        .map(|l| l.holder))
}
