//! Pulling CDRs from an external softswitch API (`service::cdrs::pull`), against a local
//! HTTP server that pages its CDRs as the protocol says, on SQLite and on PostgreSQL +
//! Redis: every page stored once, the high-water mark kept and resumed from, one puller
//! at a time, and a bad page or a refused request stopping the pull with its reason.

use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::Utc;
use service::audit::Actor;
use service::cdrs::pull::{self, PullSourceForm};
use service::cdrs::DeckCache;
use service::entity::cdr_pull_source;
use service::jobs::JobContext;

/// The softswitch's CDRs, as JSON objects; the cursor is the count already sent.
#[derive(Clone, Default)]
struct Switch {
    records: Arc<Mutex<Vec<serde_json::Value>>>,
}

impl Switch {
    fn add(&self, n: usize) {
        let mut records = self.records.lock().unwrap();
        let setup = Utc::now() - chrono::Duration::hours(3);
        for _ in 0..n {
            let i = records.len();
            let start = setup + chrono::Duration::seconds(i as i64);
            records.push(serde_json::json!({
                "callid": format!("pull-{i}"), "caller": "442070000000", "callee": "919812345678",
                "src_ip": "203.0.113.10", "route": "sip:198.51.100.7:5070", "sip_code": "200",
                "sip_reason": "OK", "start_time": start.timestamp().to_string(), "duration": "60",
            }));
        }
    }
}

#[derive(serde::Deserialize)]
struct PageQuery {
    limit: usize,
    since: Option<usize>,
}

async fn page(
    State(switch): State<Switch>,
    headers: HeaderMap,
    Query(q): Query<PageQuery>,
) -> Response {
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer pull-secret") {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let records = switch.records.lock().unwrap();
    let from = q.since.unwrap_or(0).min(records.len());
    let to = (from + q.limit).min(records.len());
    Json(serde_json::json!({ "records": records[from..to], "cursor": to })).into_response()
}

async fn cursor(db: &sea_orm::DatabaseConnection, id: i64) -> cdr_pull_source::Model {
    use sea_orm::EntityTrait;
    cdr_pull_source::Entity::find_by_id(id)
        .one(db)
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn cdrs_are_pulled_in_pages_since_the_high_water_mark_exactly_once() {
    let switch = Switch::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/cdrs", listener.local_addr().unwrap());
    let app = Router::new()
        .route("/cdrs", get(page))
        .with_state(switch.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let client = pull::client().unwrap();

    for env in service::testing::backends().await {
        switch.records.lock().unwrap().clear();
        switch.add(1_234);
        let db = &env.db;
        let (files, dir) = service::testing::files();
        let ctx = JobContext {
            db: db.clone(),
            files,
            kv: service::kv::Kv::local(),
        };
        let world = service::testing::billing_world(&ctx).await;
        let decks = DeckCache::new();
        let mut form = PullSourceForm {
            name: "softswitch".into(),
            url: "ftp://example".into(),
            auth_header: "Bearer pull-secret".into(),
            interval_secs: 5,
        };
        let refused = pull::create_source(db, &Actor::system(), &form)
            .await
            .unwrap_err();
        let text = format!("{refused:?}");
        assert!(
            text.contains("url") && text.contains("interval_secs"),
            "{text}"
        );
        form.url = url.clone();
        form.interval_secs = 60;
        let source = pull::create_source(db, &Actor::system(), &form)
            .await
            .unwrap();

        // A bounded pull ("Pull now" takes at most NOW_PAGES) stops with more waiting.
        let bounded = pull::pull(db, &env.kv, &decks, &client, source.id, 2)
            .await
            .unwrap();
        assert!(
            bounded.ran && bounded.error.is_none(),
            "{}: {bounded:?}",
            env.name
        );
        assert_eq!(
            (bounded.pages, bounded.ingest.stored, bounded.caught_up),
            (2, 1_000, false)
        );
        let first = pull::pull(db, &env.kv, &decks, &client, source.id, pull::MAX_PAGES)
            .await
            .unwrap();
        assert_eq!(
            (
                first.pages,
                first.ingest.stored,
                first.ingest.rated,
                first.caught_up
            ),
            (1, 234, 234, true)
        );
        assert_eq!(first.cursor, "1234");
        let saved = cursor(db, source.id).await;
        assert_eq!((saved.cursor.as_str(), saved.pulled_total), ("1234", 1_234));
        let customer = service::cdrs::balance(db, world.customer)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(customer.balance_micros, -1_234 * 20_000, "{}", env.name);

        // Later: only what is new since the mark.
        switch.add(10);
        let second = pull::pull(db, &env.kv, &decks, &client, source.id, pull::MAX_PAGES)
            .await
            .unwrap();
        assert_eq!((second.pages, second.ingest.stored), (1, 10));

        // A crash after a page was stored but before its mark was: the page comes
        // again, and nothing is stored twice.
        {
            use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
            cdr_pull_source::Entity::update_many()
                .col_expr(cdr_pull_source::Column::Cursor, "1000".into())
                .filter(cdr_pull_source::Column::Id.eq(source.id))
                .exec(db)
                .await
                .unwrap();
        }
        let replay = pull::pull(db, &env.kv, &decks, &client, source.id, pull::MAX_PAGES)
            .await
            .unwrap();
        assert_eq!((replay.ingest.stored, replay.ingest.duplicates), (0, 244));
        assert_eq!(replay.cursor, "1244");
        let customer = service::cdrs::balance(db, world.customer)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(customer.balance_micros, -1_244 * 20_000, "{}", env.name);

        // Another instance holds the source: this one does not pull.
        let lock = env
            .kv
            .try_lock(&format!("cdr-pull:{}", source.id), pull::LOCK_TTL)
            .await
            .unwrap()
            .unwrap();
        let skipped = pull::pull(db, &env.kv, &decks, &client, source.id, pull::MAX_PAGES)
            .await
            .unwrap();
        assert!(!skipped.ran);
        env.kv
            .unlock(&format!("cdr-pull:{}", source.id), &lock)
            .await
            .unwrap();

        // A bad record stops the pull where it is, with the reason on the source.
        switch
            .records
            .lock()
            .unwrap()
            .push(serde_json::json!({"callid": "broken", "src_ip": "203.0.113.10"}));
        let stopped = pull::pull(db, &env.kv, &decks, &client, source.id, pull::MAX_PAGES)
            .await
            .unwrap();
        let why = stopped.error.unwrap();
        assert!(why.contains("field callee"), "{why}");
        let saved = cursor(db, source.id).await;
        assert_eq!(saved.cursor, "1244", "the mark stays before the bad page");
        assert!(saved.last_error.contains("callee"));
        switch.records.lock().unwrap().pop();

        // Refused by the source: said so, nothing moves.
        {
            use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
            cdr_pull_source::Entity::update_many()
                .col_expr(
                    cdr_pull_source::Column::AuthHeader,
                    Some("Bearer wrong".to_owned()).into(),
                )
                .filter(cdr_pull_source::Column::Id.eq(source.id))
                .exec(db)
                .await
                .unwrap();
        }
        let refused = pull::pull(db, &env.kv, &decks, &client, source.id, pull::MAX_PAGES)
            .await
            .unwrap();
        assert!(refused.error.unwrap().contains("401"));
        assert_eq!(cursor(db, source.id).await.cursor, "1244");
        env.cleanup().await;
        let _ = std::fs::remove_dir_all(dir);
    }
}
