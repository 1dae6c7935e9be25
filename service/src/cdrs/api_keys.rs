//! API keys of switches and CDR sources.
//!
//! A key is `dtk_` followed by 48 lower-case hex digits (24 random bytes from the
//! operating system's generator). It is shown once, when created; only its SHA-256 is
//! stored. 192 random bits need no slow password hash: a hash lookup per request keeps
//! the switch's calls fast, and guessing is hopeless. The first 12 characters
//! (`dtk_` + 8 hex) find the row and are shown in lists.

use chrono::Utc;
use rand::RngCore;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
};
use std::collections::HashMap;

use crate::audit::Actor;
use crate::entity::api_key;
use crate::{ServiceError, ServiceResult};
use domain::FieldErrors;

/// Kind of a source that authenticates with its key.
pub const SWITCH: &str = "switch";
/// Kind of the source uploaded CDR files are filed under (its key can never match).
pub const FILE: &str = "file";
/// Name of the file source.
pub const FILE_SOURCE_NAME: &str = "File imports";

/// Characters of a key that identify it (`dtk_` + 8 hex digits).
pub const PREFIX_LEN: usize = 12;

/// Lower-case hex SHA-256 of `key`.
fn digest(key: &str) -> String {
    super::sha256_hex(key.as_bytes(), 32)
}

/// Equal-length comparison whose time does not depend on where the texts differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A key just created: the row, and the key itself, which is never shown again.
#[derive(Clone, Debug)]
pub struct CreatedKey {
    pub key: api_key::Model,
    pub secret: String,
}

/// Creates a key named `name` (1–100 characters, unique), audited as `actor`'s.
///
/// Errors: `Validation` on `name` (empty, too long, taken).
pub async fn create(
    db: &DatabaseConnection,
    name: &str,
    actor: &Actor,
) -> ServiceResult<CreatedKey> {
    let name = name.trim();
    let mut errors = FieldErrors::new();
    if name.is_empty() || name.chars().count() > 100 {
        errors.add(
            "name",
            "Give the key a name of 1 to 100 characters, e.g. the switch it is for.",
        );
        return Err(errors.into());
    }
    if api_key::Entity::find()
        .filter(api_key::Column::Name.eq(name))
        .one(db)
        .await?
        .is_some()
    {
        errors.add("name", "A key with this name exists; choose another name.");
        return Err(errors.into());
    }
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    let secret = format!(
        "dtk_{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await?;
    let key = api_key::ActiveModel {
        name: Set(name.to_owned()),
        kind: Set(SWITCH.into()),
        key_prefix: Set(secret[..PREFIX_LEN].to_owned()),
        key_hash: Set(digest(&secret)),
        created_by: Set(actor.email.clone()),
        last_used_at: Set(None),
        revoked_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    crate::audit::record_change(&txn, actor, "api_key", key.id, None, None, Some(&key)).await?;
    txn.commit().await?;
    Ok(CreatedKey { key, secret })
}

/// The key presented as `secret`, if it exists and is not revoked. Notes its use
/// (at most once a minute, so a busy switch does not write on every request).
///
/// Errors: only the database's.
pub async fn authenticate(
    db: &DatabaseConnection,
    secret: &str,
) -> ServiceResult<Option<api_key::Model>> {
    let secret = secret.trim();
    if secret.len() < PREFIX_LEN + 8 || !secret.starts_with("dtk_") || !secret.is_ascii() {
        return Ok(None);
    }
    let Some(key) = api_key::Entity::find()
        .filter(api_key::Column::KeyPrefix.eq(&secret[..PREFIX_LEN]))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if key.revoked_at.is_some() || key.kind != SWITCH || !same(&key.key_hash, &digest(secret)) {
        return Ok(None);
    }
    let now = Utc::now();
    if key
        .last_used_at
        .is_none_or(|t| now - t > chrono::Duration::seconds(60))
    {
        api_key::Entity::update_many()
            .col_expr(
                api_key::Column::LastUsedAt,
                sea_orm::sea_query::Expr::value(now),
            )
            .filter(api_key::Column::Id.eq(key.id))
            .exec(db)
            .await?;
    }
    Ok(Some(key))
}

/// How long [`KeyCache`] trusts a key it has checked: a revoked key stops working
/// within this time.
pub const KEY_CACHE_SECS: u64 = 10;

/// Keys that authenticated in the last [`KEY_CACHE_SECS`], so the routing API (every
/// INVITE) does not read the database per request. Cheap to clone (shared).
#[derive(Clone, Default)]
pub struct KeyCache {
    keys: std::sync::Arc<std::sync::Mutex<HashMap<String, (i64, std::time::Instant)>>>,
    /// Hits and misses, for System Status.
    counter: crate::status::CacheCounter,
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyCache")
    }
}

impl KeyCache {
    /// Its hits and misses.
    pub fn counter(&self) -> &crate::status::CacheCounter {
        &self.counter
    }

    /// The id of the switch key `secret`, from memory when it was checked less than
    /// [`KEY_CACHE_SECS`] ago, else as [`authenticate`] finds it. `None`: unknown or
    /// revoked (not remembered, so a key created a moment later works at once).
    ///
    /// Errors: only the database's.
    pub async fn authenticate(
        &self,
        db: &DatabaseConnection,
        secret: &str,
    ) -> ServiceResult<Option<i64>> {
        let ttl = std::time::Duration::from_secs(KEY_CACHE_SECS);
        if let Some((id, at)) = self.keys.lock().expect("key cache").get(secret) {
            if at.elapsed() < ttl {
                self.counter.hit();
                return Ok(Some(*id));
            }
        }
        self.counter.miss();
        let Some(key) = authenticate(db, secret).await? else {
            return Ok(None);
        };
        let mut keys = self.keys.lock().expect("key cache");
        if keys.len() >= 1024 {
            keys.retain(|_, (_, at)| at.elapsed() < ttl);
        }
        keys.insert(secret.to_owned(), (key.id, std::time::Instant::now()));
        Ok(Some(key.id))
    }
}

/// Every switch's key, newest first (revoked ones too, marked).
pub async fn list(db: &DatabaseConnection) -> ServiceResult<Vec<api_key::Model>> {
    Ok(api_key::Entity::find()
        .filter(api_key::Column::Kind.eq(SWITCH))
        .order_by_desc(api_key::Column::Id)
        .all(db)
        .await?)
}

/// Every CDR source (switch keys, revoked ones excepted, and the file source), by name:
/// what a CDR file can be filed under.
pub async fn sources(db: &DatabaseConnection) -> ServiceResult<Vec<api_key::Model>> {
    Ok(api_key::Entity::find()
        .filter(api_key::Column::RevokedAt.is_null())
        .order_by_asc(api_key::Column::Name)
        .all(db)
        .await?)
}

/// The source CDR files are filed under unless another is chosen, created the first
/// time it is needed. Its `key_hash` is not hex, so no presented key ever matches it.
pub async fn file_source(db: &DatabaseConnection) -> ServiceResult<api_key::Model> {
    let find = || {
        api_key::Entity::find()
            .filter(api_key::Column::Kind.eq(FILE))
            .order_by_asc(api_key::Column::Id)
            .one(db)
    };
    if let Some(source) = find().await? {
        return Ok(source);
    }
    let now = Utc::now();
    let txn = crate::db::begin_write(db).await?;
    let insert = api_key::Entity::insert(api_key::ActiveModel {
        name: Set(FILE_SOURCE_NAME.into()),
        kind: Set(FILE.into()),
        key_prefix: Set("file-imports".into()),
        key_hash: Set("-".into()),
        created_by: Set("system".into()),
        last_used_at: Set(None),
        revoked_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    })
    .on_conflict(
        sea_orm::sea_query::OnConflict::column(api_key::Column::KeyPrefix)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(&txn)
    .await;
    insert?;
    txn.commit().await?;
    find()
        .await?
        .ok_or_else(|| ServiceError::Internal("the file source was not created".into()))
}

/// Revokes key `id` (its CDRs stay); audited. Revoking twice changes nothing.
///
/// Errors: `NotFound`.
pub async fn revoke(
    db: &DatabaseConnection,
    id: i64,
    actor: &Actor,
) -> ServiceResult<api_key::Model> {
    let txn = crate::db::begin_write(db).await?;
    let before = api_key::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(ServiceError::NotFound("API key"))?;
    if before.revoked_at.is_some() {
        return Ok(before);
    }
    let now = Utc::now();
    let mut active: api_key::ActiveModel = before.clone().into();
    active.revoked_at = Set(Some(now));
    active.updated_at = Set(now);
    let after = active.update(&txn).await?;
    crate::audit::record_change(
        &txn,
        actor,
        "api_key",
        id,
        None,
        Some(&before),
        Some(&after),
    )
    .await?;
    txn.commit().await?;
    Ok(after)
}

#[cfg(test)]
mod tests {
    #[test]
    fn digests_are_hex_sha256() {
        assert_eq!(
            super::digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(super::same("ab", "ab") && !super::same("ab", "ac") && !super::same("a", "ab"));
    }
}
