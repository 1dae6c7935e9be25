//! Where browser sessions live: the `sessions` table (embedded default), or Redis when
//! `REDIS_URL` is set with the table as its copy and fallback ([`TieredStore`]).
//! tower-sessions does the cookie work; this file stores records.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use service::entity::session;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};
use tower_sessions_redis_store::RedisStore;

/// Sessions in the database (SQLite or PostgreSQL).
#[derive(Clone, Debug)]
pub struct DbSessionStore {
    db: DatabaseConnection,
}

impl DbSessionStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

fn backend(e: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

fn to_utc(t: time::OffsetDateTime) -> DateTime<Utc> {
    DateTime::from_timestamp(t.unix_timestamp(), t.nanosecond()).unwrap_or_default()
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // A fresh id that collides with a live one gets a new id (tower-sessions' contract).
        while session::Entity::find_by_id(record.id.to_string())
            .one(&self.db)
            .await
            .map_err(backend)?
            .is_some()
        {
            record.id = Id::default();
        }
        self.save(record).await
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let data = serde_json::to_string(&record.data)
            .map_err(|e| session_store::Error::Encode(e.to_string()))?;
        let now = Utc::now();
        let row = session::ActiveModel {
            id: Set(record.id.to_string()),
            data: Set(data),
            expires_at: Set(to_utc(record.expiry_date)),
            created_at: Set(now),
            updated_at: Set(now),
        };
        session::Entity::insert(row)
            .on_conflict(
                OnConflict::column(session::Column::Id)
                    .update_columns([
                        session::Column::Data,
                        session::Column::ExpiresAt,
                        session::Column::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec(&self.db)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let Some(row) = session::Entity::find_by_id(id.to_string())
            .filter(session::Column::ExpiresAt.gt(Utc::now()))
            .one(&self.db)
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        let data = serde_json::from_str(&row.data)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let expiry_date = time::OffsetDateTime::from_unix_timestamp(row.expires_at.timestamp())
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        session::Entity::delete_by_id(id.to_string())
            .exec(&self.db)
            .await
            .map_err(backend)?;
        Ok(())
    }
}

#[async_trait]
impl ExpiredDeletion for DbSessionStore {
    async fn delete_expired(&self) -> session_store::Result<()> {
        session::Entity::delete_many()
            .filter(session::Column::ExpiresAt.lte(Utc::now()))
            .exec(&self.db)
            .await
            .map_err(backend)?;
        Ok(())
    }
}

/// How often a session kept in Redis is copied to the database at most (the copy's
/// expiry lags by at most this, so it never outlives the Redis record).
const MIRROR_EVERY: std::time::Duration = std::time::Duration::from_secs(300);

/// Redis first, the database as its copy and fallback: sessions are created in both;
/// a save goes to Redis and, at most every [`MIRROR_EVERY`] per session, to the database;
/// when Redis fails (or does not know a session made while it was away) the database
/// answers. So a Redis outage neither signs people out nor stops the portals.
#[derive(Clone, Debug)]
pub struct TieredStore {
    redis: RedisStore<fred::clients::Pool>,
    db: DbSessionStore,
    mirrored: std::sync::Arc<std::sync::Mutex<HashMap<Id, std::time::Instant>>>,
}

impl TieredStore {
    fn mirror_due(&self, id: &Id) -> bool {
        let mut seen = self.mirrored.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() > 10_000 {
            seen.retain(|_, at| at.elapsed() < MIRROR_EVERY);
        }
        match seen.get(id) {
            Some(at) if at.elapsed() < MIRROR_EVERY => false,
            _ => {
                seen.insert(*id, std::time::Instant::now());
                true
            }
        }
    }

    async fn mirror(&self, record: &Record) {
        if let Err(e) = self.db.save(record).await {
            tracing::warn!(error = %e, "copying a session to the database");
        }
    }
}

#[async_trait]
impl SessionStore for TieredStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self.redis.create(record).await {
            Ok(()) => {
                self.mirror(record).await;
                self.mirror_due(&record.id);
                Ok(())
            }
            Err(e) => {
                tracing::warn!(error = %e, "Redis refused a new session; kept in the database");
                self.db.create(record).await
            }
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self.redis.save(record).await {
            Ok(()) => {
                if self.mirror_due(&record.id) {
                    self.mirror(record).await;
                }
                Ok(())
            }
            Err(e) => {
                tracing::warn!(error = %e, "Redis refused a session; kept in the database");
                self.db.save(record).await
            }
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self.redis.load(id).await {
            Ok(Some(record)) => Ok(Some(record)),
            Ok(None) => self.db.load(id).await,
            Err(e) => {
                tracing::warn!(error = %e, "Redis did not answer for a session; reading the database");
                self.db.load(id).await
            }
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        let redis = self.redis.delete(id).await;
        let db = self.db.delete(id).await;
        self.mirrored
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
        redis.or(db)
    }
}

/// The configured store: one type for the session layer whichever backend is in use.
#[derive(Clone, Debug)]
pub enum AnySessionStore {
    Database(DbSessionStore),
    Redis(TieredStore),
}

impl AnySessionStore {
    /// Redis first, with `db` as its copy and fallback ([`TieredStore`]).
    pub fn redis(redis: RedisStore<fred::clients::Pool>, db: DbSessionStore) -> Self {
        AnySessionStore::Redis(TieredStore {
            redis,
            db,
            mirrored: Default::default(),
        })
    }
}

#[async_trait]
impl SessionStore for AnySessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            Self::Database(s) => s.create(record).await,
            Self::Redis(s) => s.create(record).await,
        }
    }
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            Self::Database(s) => s.save(record).await,
            Self::Redis(s) => s.save(record).await,
        }
    }
    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            Self::Database(s) => s.load(id).await,
            Self::Redis(s) => s.load(id).await,
        }
    }
    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            Self::Database(s) => s.delete(id).await,
            Self::Redis(s) => s.delete(id).await,
        }
    }
}
