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
    /// A job context on this backend (its database and store) with a fresh file store,
    /// and the file store's folder (remove it when done).
    pub fn job_context(&self) -> (crate::jobs::JobContext, std::path::PathBuf) {
        let (files, dir) = files();
        (
            crate::jobs::JobContext {
                db: self.db.clone(),
                files,
                kv: self.kv.clone(),
            },
            dir,
        )
    }

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

/// A priced world for CDR tests (see [`billing_world`] and [`airtel_world`]): ids of
/// what it created.
pub struct BillingWorld {
    /// The customer carrier (USD).
    pub customer: i64,
    /// The supplier carrier "Airtel" (`AIRTEL`, USD).
    pub supplier: i64,
    /// The customer's ingress interconnect.
    pub ingress: i64,
    /// The supplier's egress interconnect.
    pub egress: i64,
    /// The switch's API key (CDR source) "kamailio-1".
    pub source: i64,
    /// Its secret, for HTTP tests.
    pub source_key: String,
}

async fn carrier(db: &sea_orm::DatabaseConnection, name: &str, code: &str, kind: &str) -> i64 {
    crate::carriers::create_carrier(
        db,
        &fixture_actor(),
        crate::carriers::NewCarrier {
            name: name.into(),
            account_code: code.into(),
            carrier_type: kind.into(),
            currency: "USD".into(),
        },
    )
    .await
    .unwrap()
    .id
}

async fn interconnect(
    db: &sea_orm::DatabaseConnection,
    carrier_id: i64,
    direction: &str,
    address: &str,
    port: &str,
) -> i64 {
    let id = crate::carriers::interconnects::create_interconnect(
        db,
        &fixture_actor(),
        carrier_id,
        &domain::interconnect::InterconnectForm {
            name: format!("{direction} {address}"),
            direction: direction.into(),
            status: "active".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .id;
    crate::carriers::interconnects::add_address(
        db,
        &fixture_actor(),
        id,
        &domain::interconnect::AddressForm {
            address: address.into(),
            port: port.into(),
            transport: "udp".into(),
        },
    )
    .await
    .unwrap();
    id
}

/// A plan of `kind` with one published revision of `lines` (`Destination,Code,Rate`),
/// in force since 30 days ago, behind a service of the matching direction on
/// `interconnect`.
async fn priced_service(
    ctx: &crate::jobs::JobContext,
    kind: &str,
    name: &str,
    lines: &[&str],
    interconnect: i64,
) -> i64 {
    let since = (chrono::Utc::now() - chrono::Duration::days(30))
        .format("%Y-%m-%d")
        .to_string();
    let mut csv = String::from("Destination,Code,Rate,Valid From\n");
    for l in lines {
        csv.push_str(&format!("{l},{since}\n"));
    }
    let plan = plan(&ctx.db, kind, name).await;
    import_deck(ctx, plan, "deck.csv", csv.into_bytes()).await;
    serve_plan(&ctx.db, kind, name, plan, interconnect).await;
    plan
}

/// A new plan of `kind` (USD, 60/60, no notice period).
async fn plan(db: &sea_orm::DatabaseConnection, kind: &str, name: &str) -> i64 {
    let mut form = domain::rate_plans::RatePlanForm::new_plan();
    form.name = name.into();
    form.kind = kind.into();
    form.notice_days = "0".into();
    crate::rate_plans::save_plan(db, &fixture_actor(), None, &form)
        .await
        .unwrap()
        .id
}

/// Imports and publishes a whole deck file into `plan`, replacing what it had.
async fn import_deck(ctx: &crate::jobs::JobContext, plan: i64, file_name: &str, bytes: Vec<u8>) {
    let options = domain::rate_plans::ImportOptions {
        replace_all: true,
        ..domain::rate_plans::ImportOptions::default()
    };
    let done = crate::rate_plans::import::import_now(
        ctx,
        &fixture_actor(),
        plan,
        file_name,
        bytes,
        options,
    )
    .await
    .unwrap();
    assert_eq!(done.status, "published", "{}", done.error);
}

/// A service "`name` voice" of direction `kind` selling or buying at `plan`, on
/// `interconnect`.
async fn serve_plan(
    db: &sea_orm::DatabaseConnection,
    kind: &str,
    name: &str,
    plan: i64,
    interconnect: i64,
) {
    let service = crate::catalog::save_service(
        db,
        &fixture_actor(),
        None,
        &domain::catalog::ServiceForm {
            name: format!("{name} voice"),
            direction: kind.into(),
            status: "active".into(),
            rate_plan_id: plan.to_string(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    crate::carriers::interconnects::save_services(
        db,
        &fixture_actor(),
        interconnect,
        &[service.id],
    )
    .await
    .unwrap();
}

/// The world of these parties, with a new switch API key "kamailio-1".
async fn with_switch_key(
    db: &sea_orm::DatabaseConnection,
    customer: i64,
    supplier: i64,
    ingress: i64,
    egress: i64,
) -> BillingWorld {
    let key = crate::cdrs::api_keys::create(db, "kamailio-1", &fixture_actor())
        .await
        .unwrap();
    BillingWorld {
        customer,
        supplier,
        ingress,
        egress,
        source: key.key.id,
        source_key: key.secret,
    }
}

fn fixture_actor() -> crate::audit::Actor {
    crate::audit::Actor {
        user_id: None,
        email: "billing@didtron.test".into(),
    }
}

/// A priced world for CDR tests, on `ctx`'s database (panics on any failure):
/// customer Acme (ingress 203.0.113.10:5060, customer plan "Retail": India 91 at 0.02,
/// UK 44 at 0.01 per minute) and supplier Airtel (egress 198.51.100.7:5070, supplier deck
/// "Airtel deck": India 91 at 0.012, India Mobile 9198 at 0.015), all USD on 60/60,
/// in force since 30 days ago; and a switch API key "kamailio-1".
pub async fn billing_world(ctx: &crate::jobs::JobContext) -> BillingWorld {
    let db = &ctx.db;
    let customer = carrier(db, "Acme Telecom", "ACME", "customer").await;
    let supplier = carrier(db, "Airtel", "AIRTEL", "supplier").await;
    let ingress = interconnect(db, customer, "ingress", "203.0.113.10", "5060").await;
    let egress = interconnect(db, supplier, "egress", "198.51.100.7", "5070").await;
    priced_service(
        ctx,
        "customer",
        "Retail",
        &["India,91,0.02", "UK,44,0.01"],
        ingress,
    )
    .await;
    priced_service(
        ctx,
        "supplier",
        "Airtel deck",
        &["India,91,0.012", "India Mobile,9198,0.015"],
        egress,
    )
    .await;
    with_switch_key(db, customer, supplier, ingress, egress).await
}

/// The real Airtel workbook of `testdata/` (sheet "Pricing", 18 254 codes, USD, pulses
/// as the deck gives them).
pub const AIRTEL_WORKBOOK: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../testdata/rate-decks/airtel-wholesale-gold-plus-2023-05-09.xlsx"
);

/// Percent the customer plan of [`airtel_world`] adds to the Airtel deck.
pub const AIRTEL_WORLD_MARKUP_PERCENT: i64 = 10;

/// A world priced by the real Airtel deck, for calls through a real switch (panics on
/// any failure): customer "Orbit Voice" (`ORBIT`, USD) with an ingress interconnect at
/// `ingress_ip`, whose plan "Orbit retail" is derived from the deck with
/// [`AIRTEL_WORLD_MARKUP_PERCENT`] % added and rounded up to the micro-unit; supplier
/// "Airtel" (`AIRTEL`, USD) with an egress interconnect at `egress_ip:egress_port`,
/// buying at the deck ([`AIRTEL_WORKBOOK`]); and a switch API key "kamailio-1".
pub async fn airtel_world(
    ctx: &crate::jobs::JobContext,
    ingress_ip: &str,
    egress_ip: &str,
    egress_port: &str,
) -> BillingWorld {
    let db = &ctx.db;
    let customer = carrier(db, "Orbit Voice", "ORBIT", "customer").await;
    let supplier = carrier(db, "Airtel", "AIRTEL", "supplier").await;
    let ingress = interconnect(db, customer, "ingress", ingress_ip, "5060").await;
    let egress = interconnect(db, supplier, "egress", egress_ip, egress_port).await;
    let deck = plan(db, "supplier", "Airtel Wholesale Gold+").await;
    let bytes = std::fs::read(AIRTEL_WORKBOOK).expect("the Airtel workbook is in testdata/");
    import_deck(
        ctx,
        deck,
        "airtel-wholesale-gold-plus-2023-05-09.xlsx",
        bytes,
    )
    .await;
    serve_plan(db, "supplier", "Airtel Wholesale Gold+", deck, egress).await;
    let retail = plan(db, "customer", "Orbit retail").await;
    crate::rate_plans::derive::publish(
        db,
        &fixture_actor(),
        retail,
        &domain::rate_plans::derive::MarkupForm {
            sources: vec![deck],
            basis: "lowest".into(),
            percent: AIRTEL_WORLD_MARKUP_PERCENT.to_string(),
            decimals: "6".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    serve_plan(db, "customer", "Orbit retail", retail, ingress).await;
    with_switch_key(db, customer, supplier, ingress, egress).await
}

/// Sets `carrier`'s billing mode (`prepaid` or `postpaid`) and credit limit (decimal
/// text in its currency), as its Accounting tab saves them, by the system actor.
pub async fn set_billing(
    db: &sea_orm::DatabaseConnection,
    carrier: i64,
    mode: &str,
    credit_limit: &str,
) {
    let mut terms =
        crate::carriers::accounting_form(&crate::carriers::get_carrier(db, carrier).await.unwrap());
    terms.billing_mode = mode.into();
    terms.credit_limit = credit_limit.into();
    crate::carriers::update_accounting(db, &crate::audit::Actor::system(), carrier, &terms)
        .await
        .unwrap();
}

/// The service an interconnect carries (the first linked one), e.g. a world's customer or
/// supplier service.
pub async fn service_of(db: &sea_orm::DatabaseConnection, interconnect: i64) -> i64 {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    crate::entity::interconnect_service::Entity::find()
        .filter(crate::entity::interconnect_service::Column::InterconnectId.eq(interconnect))
        .order_by_asc(crate::entity::interconnect_service::Column::ServiceId)
        .one(db)
        .await
        .unwrap()
        .expect("the interconnect carries a service")
        .service_id
}

/// A routing plan `name` with `strategy` and `entries` (`(prefix, supplier service id)`,
/// priority in the order given), made the routing plan of `customer_service`. Returns
/// the plan's id.
pub async fn routing_plan(
    db: &sea_orm::DatabaseConnection,
    name: &str,
    strategy: &str,
    entries: &[(&str, i64)],
    customer_service: i64,
) -> i64 {
    let plan = crate::routing::plans::save_plan(
        db,
        &fixture_actor(),
        None,
        &domain::routing::RoutingPlanForm {
            name: name.into(),
            strategy: strategy.into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let forms: Vec<domain::routing::RoutingEntryForm> = entries
        .iter()
        .enumerate()
        .map(|(i, (prefix, service))| domain::routing::RoutingEntryForm {
            prefix: (*prefix).into(),
            supplier_service_id: service.to_string(),
            priority: (i + 1).to_string(),
            weight: String::new(),
        })
        .collect();
    crate::routing::plans::save_entries(db, &fixture_actor(), plan.id, &forms)
        .await
        .unwrap();
    let mut form = crate::catalog::get_service(db, customer_service)
        .await
        .map(|s| domain::catalog::ServiceForm {
            name: s.name,
            direction: s.direction,
            status: s.status,
            voice_tier_id: String::new(),
            rate_plan_id: s.rate_plan_id.map(|i| i.to_string()).unwrap_or_default(),
            routing_plan_id: String::new(),
            description: s.description,
        })
        .unwrap();
    form.routing_plan_id = plan.id.to_string();
    crate::catalog::save_service(db, &fixture_actor(), Some(customer_service), &form)
        .await
        .unwrap();
    plan.id
}

/// One more supplier: carrier `name` (`code`, USD) with an egress interconnect at
/// `address:port` selling a deck of `lines` (`Destination,Code,Rate`). Returns
/// `(carrier, egress interconnect, supplier service)`.
pub async fn supplier(
    ctx: &crate::jobs::JobContext,
    name: &str,
    code: &str,
    address: &str,
    port: &str,
    lines: &[&str],
) -> (i64, i64, i64) {
    let carrier = carrier(&ctx.db, name, code, "supplier").await;
    let egress = interconnect(&ctx.db, carrier, "egress", address, port).await;
    priced_service(ctx, "supplier", &format!("{name} deck"), lines, egress).await;
    (carrier, egress, service_of(&ctx.db, egress).await)
}
