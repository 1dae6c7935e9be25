//! Test helpers: a fresh, migrated database and an isolated key-value namespace per test,
//! on SQLite always and on PostgreSQL + Redis when `TEST_DATABASE_URL` and
//! `TEST_REDIS_URL` are set (the README's test command sets both).
//!
//! ```ignore
//! for env in service::testing::backends().await {
//!     let db = &env.db;        // migrated, empty
//!     // ... assertions, with env.name in messages ...
//!     env.cleanup().await;
//! }
//! ```

use sea_orm::{ConnectionTrait, DatabaseConnection};

use crate::kv::Kv;

/// One backend under test: a fresh database and its key-value store.
pub struct TestEnv {
    /// `"sqlite"` or `"postgres+redis"`, for assertion messages.
    pub name: &'static str,
    /// The database URL (pass it to a server under test).
    pub database_url: String,
    /// The Redis URL, for the PostgreSQL + Redis backend.
    pub redis_url: Option<String>,
    /// Key prefix that isolates this test in Redis.
    pub kv_prefix: String,
    pub db: DatabaseConnection,
    pub kv: Kv,
    drop_database: Option<(String, String)>,
    remove_file: Option<std::path::PathBuf>,
}

fn unique() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A fresh SQLite file database (in the temp folder) with an in-process store.
pub async fn sqlite() -> TestEnv {
    let path = std::env::temp_dir().join(format!("didtron-test-{}.db", unique()));
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let db = crate::db::connect(&url, 4).await.expect("sqlite connects");
    crate::db::migrate(&db).await.expect("sqlite migrates");
    TestEnv {
        name: "sqlite",
        database_url: url,
        redis_url: None,
        kv_prefix: String::new(),
        db,
        kv: Kv::local(),
        drop_database: None,
        remove_file: Some(path),
    }
}

/// A fresh PostgreSQL database and a Redis namespace, or `None` when
/// `TEST_DATABASE_URL` / `TEST_REDIS_URL` are unset. Under CI (`CI` set) their absence
/// is a failure, so the PostgreSQL half of a test can never be skipped silently there.
pub async fn postgres_redis() -> Option<TestEnv> {
    let (Ok(admin_url), Ok(redis_url)) = (
        std::env::var("TEST_DATABASE_URL"),
        std::env::var("TEST_REDIS_URL"),
    ) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must set TEST_DATABASE_URL and TEST_REDIS_URL"
        );
        eprintln!("TEST_DATABASE_URL/TEST_REDIS_URL unset: PostgreSQL + Redis half skipped");
        return None;
    };
    let name = format!("didtron_test_{}", unique());
    let admin = crate::db::connect(&admin_url, 1)
        .await
        .expect("TEST_DATABASE_URL connects");
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create test database");
    let _ = admin.close().await;
    let mut url = url::Url::parse(&admin_url).expect("TEST_DATABASE_URL is a URL");
    url.set_path(&format!("/{name}"));
    let db = crate::db::connect(url.as_str(), 8)
        .await
        .expect("test database connects");
    crate::db::migrate(&db).await.expect("postgres migrates");
    let kv_prefix = format!("didtron-test:{}:", unique());
    let kv = Kv::connect_redis(&redis_url, &kv_prefix, 2)
        .await
        .expect("TEST_REDIS_URL connects");
    Some(TestEnv {
        name: "postgres+redis",
        database_url: url.to_string(),
        redis_url: Some(redis_url),
        kv_prefix,
        db,
        kv,
        drop_database: Some((admin_url, name)),
        remove_file: None,
    })
}

/// SQLite, then PostgreSQL + Redis when configured.
pub async fn backends() -> Vec<TestEnv> {
    let mut all = vec![sqlite().await];
    all.extend(postgres_redis().await);
    all
}

impl TestEnv {
    /// Closes connections and removes the database.
    pub async fn cleanup(self) {
        self.kv.close().await;
        let _ = self.db.close().await;
        if let Some((admin_url, name)) = self.drop_database {
            if let Ok(admin) = crate::db::connect(&admin_url, 1).await {
                let _ = admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await;
                let _ = admin.close().await;
            }
        }
        if let Some(path) = self.remove_file {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
    }
}

/// A fresh file store in the temp folder, and its folder (remove it when done).
pub fn files() -> (crate::files::Files, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("didtron-files-{}", unique()));
    let files = crate::files::Files::local(&dir).expect("temp file store");
    (files, dir)
}
