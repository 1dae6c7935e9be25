//! Rate plans and rate-deck imports, on SQLite and on PostgreSQL: the real Airtel
//! workbook, bad lines, re-imports, notice periods, the job queue path, "rate a number",
//! revisions, exports, and services taking plans.

use chrono::{DateTime, Duration, TimeZone, Utc};
use domain::catalog::ServiceForm;
use domain::rate_plans::import::{DeckField, ReadOptions};
use domain::rate_plans::{ImportOptions, RatePlanForm};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};
use service::audit::Actor;
use service::entity::rate;
use service::jobs;
use service::rate_plans::{self, import, RateScope};
use service::{catalog, testing, ServiceError};

const AIRTEL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../testdata/rate-decks/airtel-wholesale-gold-plus-2023-05-09.xlsx"
);

fn admin() -> Actor {
    Actor {
        user_id: None,
        email: "rates@didtron.test".into(),
    }
}

fn day(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap()
}

async fn plan(db: &DatabaseConnection, name: &str, kind: &str) -> i64 {
    let mut form = RatePlanForm::new_plan();
    form.name = name.into();
    form.kind = kind.into();
    rate_plans::save_plan(db, &admin(), None, &form)
        .await
        .unwrap()
        .id
}

async fn rows(db: &DatabaseConnection, plan_id: i64) -> u64 {
    rate::Entity::find()
        .filter(rate::Column::RatePlanId.eq(plan_id))
        .count(db)
        .await
        .unwrap()
}

fn full() -> ImportOptions {
    ImportOptions {
        replace_all: true,
        ..ImportOptions::default()
    }
}

#[tokio::test]
async fn the_airtel_workbook_imports_as_it_is_and_a_reimport_changes_nothing() {
    let bytes = std::fs::read(AIRTEL).expect("the Airtel workbook is in testdata/");
    for env in testing::backends().await {
        let (ctx, dir) = env.job_context();
        let db = &env.db;
        let id = plan(db, "Airtel Wholesale Gold+", "supplier").await;
        let name = "airtel-wholesale-gold-plus-2023-05-09.xlsx";
        let done = import::import_now(&ctx, &admin(), id, name, bytes.clone(), full())
            .await
            .unwrap();
        assert_eq!(done.status, "published", "{}: {}", env.name, done.error);
        let preview = done.preview.as_ref().unwrap();
        assert_eq!(preview.sheet.as_deref(), Some("Pricing"));
        assert_eq!(preview.header_line, Some(15));
        assert_eq!(preview.metadata.currency.unwrap().as_str(), "USD");
        assert_eq!(preview.metadata.increases_from, Some(day(2023, 5, 16)));
        assert_eq!(preview.metadata.decreases_from, Some(day(2023, 5, 10)));
        assert_eq!(
            preview.metadata.issued.unwrap().date_naive(),
            day(2023, 5, 9).date_naive()
        );
        assert_eq!(
            preview.mapping.column(DeckField::Code),
            Some(3),
            "Complete Code"
        );
        assert_eq!(preview.mapping.column(DeckField::Rate), Some(4));
        assert!(
            preview.errors.is_empty(),
            "{:?}",
            &preview.errors[..3.min(preview.errors.len())]
        );
        let report = done.report.unwrap();
        assert_eq!(report.lines_in, 18_254);
        assert_eq!(report.lines_published, 18_254);
        assert!(report.skipped.is_empty());
        assert_eq!(report.counts.new, 18_254);
        assert_eq!(rows(db, id).await, 18_254, "{}", env.name);

        // Pulses as the notice gives them, and increases from the notice's date.
        let all = rate::Entity::find()
            .filter(rate::Column::RatePlanId.eq(id))
            .all(db)
            .await
            .unwrap();
        let count = |first: i64, next: i64| {
            all.iter()
                .filter(|r| r.increment_first == first && r.increment_next == next)
                .count()
        };
        assert_eq!(
            (count(1, 1), count(60, 60), count(30, 6), count(60, 1)),
            (17_267, 600, 342, 45)
        );
        let cameroon = all.iter().find(|r| r.prefix == "237681").unwrap();
        assert_eq!(cameroon.effective_from, day(2023, 5, 16));
        assert_eq!(cameroon.rate_micros, 231_000);
        let abkhazia = all.iter().find(|r| r.prefix == "79409").unwrap();
        assert_eq!(
            abkhazia.rate_micros, 285_000,
            "0.28499999999999998 is 0.285"
        );

        // Rate a number against what was published.
        let rated = rate_plans::rate_number(db, id, "+237 681 234567", day(2023, 6, 1))
            .await
            .unwrap();
        assert_eq!(rated.prefix.as_deref(), Some("237681"));
        assert_eq!(rated.rate, "0.2310");
        assert_eq!(rated.revision, Some(1));
        let before = rate_plans::rate_number(db, id, "237681234567", day(2023, 5, 1))
            .await
            .unwrap();
        assert!(before.prefix.is_none() || before.prefix.as_deref() != Some("237681"));

        // The same file again: every code Unchanged, no new rows.
        let again = import::import_now(&ctx, &admin(), id, name, bytes.clone(), full())
            .await
            .unwrap();
        assert_eq!(again.status, "published");
        let counts = again.report.unwrap().counts;
        assert_eq!(
            (counts.unchanged, counts.changed()),
            (18_254, 0),
            "{}",
            env.name
        );
        assert_eq!(rows(db, id).await, 18_254);
        let revisions = rate_plans::list_revisions(db, id).await.unwrap();
        assert_eq!(revisions.len(), 2);
        assert_eq!(revisions[0].counts.unchanged, 18_254);

        // Search by code prefix and by destination, a page at a time.
        let page = rate_plans::list_rates(db, id, "+9370", RateScope::Current, "", 50)
            .await
            .unwrap();
        assert_eq!(page.rows.len(), 1);
        assert_eq!(page.rows[0].destination, "Afghanistan-AWCC-Mobile");
        let afghan = rate_plans::list_rates(db, id, "afghanistan", RateScope::Current, "", 5)
            .await
            .unwrap();
        assert_eq!(afghan.rows.len(), 5);
        let next = rate_plans::list_rates(
            db,
            id,
            "afghanistan",
            RateScope::Current,
            afghan.next.as_deref().unwrap(),
            5,
        )
        .await
        .unwrap();
        assert!(next.rows[0].prefix > afghan.rows[4].prefix);

        let csv = rate_plans::export_csv(db, id, 1).await.unwrap();
        assert_eq!(
            String::from_utf8(csv).unwrap().lines().count(),
            18_255,
            "header + one line per code"
        );
        env.cleanup().await;
        let _ = std::fs::remove_dir_all(dir);
    }
}

fn csv_deck(lines: &[&str]) -> Vec<u8> {
    let mut text = String::from("Destination,Code,Rate,Valid From\n");
    for l in lines {
        text.push_str(l);
        text.push('\n');
    }
    text.into_bytes()
}

#[tokio::test]
async fn bad_lines_publish_nothing_unless_skipped_and_then_are_reported() {
    for env in testing::backends().await {
        let (ctx, dir) = env.job_context();
        let db = &env.db;
        let id = plan(db, "Acme", "supplier").await;
        let file = csv_deck(&[
            "UK,44,0.01,2026-01-01",
            "France,33-6,0.02,01/01/2026",
            "Bad code,44a,0.01,2026-01-01",
            "Bad rate,49,cheap,2026-01-01",
            "Lists,\"4477, 4478; 4479\",0.05,01-Jan-26",
        ]);
        // Through the job queue, as the browser does.
        let import = import::upload(
            &ctx,
            &admin(),
            id,
            "acme.csv",
            file.clone(),
            Some(full()),
            true,
        )
        .await
        .unwrap();
        jobs::run_until_idle(&ctx, "test").await.unwrap();
        let view = import::import_view(db, import.id).await.unwrap();
        assert_eq!(view.status, "previewed", "{}", env.name);
        let preview = view.preview.unwrap();
        let lines: Vec<u32> = preview.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![4, 5]);
        assert!(preview.errors[0]
            .reason
            .contains("code: `44a` is not digits"));
        assert!(preview.errors[1].reason.contains("rate: `cheap`"));
        assert_eq!(
            (preview.data_lines, preview.good_lines, preview.codes),
            (5, 3, 5)
        );

        match import::publish(db, &admin(), import.id, false).await {
            Err(ServiceError::Conflict(m)) => assert!(m.contains("2 bad lines"), "{m}"),
            other => panic!("expected a conflict, got {other:?}"),
        }
        assert_eq!(rows(db, id).await, 0, "nothing is published");

        import::publish(db, &admin(), import.id, true)
            .await
            .unwrap();
        jobs::run_until_idle(&ctx, "test").await.unwrap();
        let view = import::import_view(db, import.id).await.unwrap();
        assert_eq!(view.status, "published", "{}", view.error);
        let report = view.report.unwrap();
        assert_eq!(
            report.lines_in,
            report.lines_published + report.skipped.len() as u64
        );
        assert_eq!(report.skipped.len(), 2);
        assert_eq!(rows(db, id).await, 5, "44, 336 and the three listed codes");
        env.cleanup().await;
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[tokio::test]
async fn customer_increases_inside_the_notice_period_are_refused_or_moved() {
    for env in testing::backends().await {
        let (ctx, dir) = env.job_context();
        let db = &env.db;
        let id = plan(db, "Retail A-Z", "customer").await;
        let today = Utc::now().date_naive();
        let start = (today - Duration::days(30)).format("%Y-%m-%d").to_string();
        let first = csv_deck(&[
            &format!("UK,44,0.10,{start}"),
            &format!("US,1,0.01,{start}"),
        ]);
        let done = import::import_now(&ctx, &admin(), id, "a.csv", first, full())
            .await
            .unwrap();
        assert_eq!(done.status, "published", "{}", done.error);

        let soon = (today + Duration::days(2)).format("%Y-%m-%d").to_string();
        let raise = csv_deck(&[&format!("UK,44,0.12,{soon}"), &format!("US,1,0.005,{soon}")]);
        let refused = import::import_now(&ctx, &admin(), id, "b.csv", raise.clone(), full())
            .await
            .unwrap();
        assert_eq!(refused.status, "previewed", "not published");
        let preview = refused.preview.unwrap();
        assert_eq!(preview.errors.len(), 1);
        assert_eq!(preview.errors[0].line, 2);
        assert!(
            preview.errors[0].reason.contains("7-day notice period"),
            "{}",
            preview.errors[0].reason
        );
        assert_eq!(preview.counts.decrease, 1, "the decrease is fine");

        let mut form = RatePlanForm::of(
            &rate_plans::plan_of(&rate_plans::get_plan(db, id).await.unwrap()).unwrap(),
        );
        form.notice_action = "defer".into();
        rate_plans::save_plan(db, &admin(), Some(id), &form)
            .await
            .unwrap();
        let moved = import::import_now(&ctx, &admin(), id, "c.csv", raise, full())
            .await
            .unwrap();
        assert_eq!(moved.status, "published", "{}", moved.error);
        let preview = moved.preview.unwrap();
        assert_eq!(preview.notices.len(), 1);
        assert!(preview.first_rows[0].note.contains("notice period"));
        let uk = rate_plans::rate_number(db, id, "447700900123", Utc::now() + Duration::days(3))
            .await
            .unwrap();
        assert_eq!(
            uk.rate, "0.1000",
            "still the old rate before the notice ends"
        );
        let later = rate_plans::rate_number(db, id, "447700900123", Utc::now() + Duration::days(8))
            .await
            .unwrap();
        assert_eq!(later.rate, "0.1200");
        let diff = rate_plans::diff_revisions(db, id, 1, 2, 0).await.unwrap();
        let changes: Vec<(&str, &str)> = diff
            .iter()
            .map(|d| (d.prefix.as_str(), d.change.as_str()))
            .collect();
        assert_eq!(changes, vec![("1", "decrease"), ("44", "increase")]);
        env.cleanup().await;
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[tokio::test]
async fn a_mapping_corrected_once_is_remembered_for_the_supplier() {
    for env in testing::backends().await {
        let (ctx, dir) = env.job_context();
        let db = &env.db;
        let carrier = service::carriers::create_carrier(
            db,
            &admin(),
            service::carriers::NewCarrier {
                name: "Odd Telecom".into(),
                account_code: "ODD".into(),
                carrier_type: "supplier".into(),
                currency: "USD".into(),
            },
        )
        .await
        .unwrap();
        let mut form = RatePlanForm::new_plan();
        form.name = "Odd deck".into();
        form.carrier_id = carrier.id.to_string();
        let id = rate_plans::save_plan(db, &admin(), None, &form)
            .await
            .unwrap()
            .id;
        let file = b"Dst,Num,Cost\nUK,44,0.02\n".to_vec();
        let unknown = import::import_now(&ctx, &admin(), id, "odd.csv", file.clone(), full())
            .await
            .unwrap();
        assert!(unknown.preview.unwrap().errors[0]
            .reason
            .contains("no header row"));

        let mut mapping = domain::rate_plans::import::ColumnMapping::default();
        mapping.set(DeckField::Destination, Some(0));
        mapping.set(DeckField::Code, Some(1));
        mapping.set(DeckField::Rate, Some(2));
        let corrected = ImportOptions {
            read: ReadOptions {
                header_line: Some(1),
                mapping: Some(mapping),
                remembered: Vec::new(),
            },
            replace_all: true,
            skip_bad_rows: false,
        };
        let done = import::import_now(&ctx, &admin(), id, "odd.csv", file.clone(), corrected)
            .await
            .unwrap();
        assert_eq!(done.status, "published", "{}", done.error);
        // Next file from the same supplier: no mapping given, the remembered one is used.
        let next = import::upload(
            &ctx,
            &admin(),
            id,
            "odd2.csv",
            b"Num,Dst,Cost\n44,UK,0.03\n".to_vec(),
            None,
            true,
        )
        .await
        .unwrap();
        jobs::run_until_idle(&ctx, "test").await.unwrap();
        let view = import::import_view(db, next.id).await.unwrap();
        let preview = view.preview.unwrap();
        assert!(preview.errors.is_empty(), "{:?}", preview.errors);
        assert_eq!(preview.counts.increase, 1);
        env.cleanup().await;
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[tokio::test]
async fn services_take_plans_of_their_own_kind_and_keep_them_from_deletion() {
    for env in testing::backends().await {
        let db = &env.db;
        let supplier_deck = plan(db, "Deck", "supplier").await;
        let customer_plan = plan(db, "Retail", "customer").await;
        let mut form = ServiceForm {
            name: "Retail voice".into(),
            direction: "customer".into(),
            status: "active".into(),
            rate_plan_id: supplier_deck.to_string(),
            ..Default::default()
        };
        match catalog::save_service(db, &admin(), None, &form).await {
            Err(ServiceError::Validation(e)) => {
                assert!(e
                    .get("rate_plan_id")
                    .unwrap()
                    .contains("takes a customer plan"))
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
        form.rate_plan_id = customer_plan.to_string();
        let saved = catalog::save_service(db, &admin(), None, &form)
            .await
            .unwrap();
        assert_eq!(saved.rate_plan_id, Some(customer_plan));
        match rate_plans::delete_plan(db, &admin(), customer_plan).await {
            Err(ServiceError::Conflict(m)) => assert!(m.contains("Retail voice"), "{m}"),
            other => panic!("expected a conflict, got {other:?}"),
        }
        rate_plans::delete_plan(db, &admin(), supplier_deck)
            .await
            .unwrap();
        env.cleanup().await;
    }
}

#[tokio::test]
async fn destinations_with_quotes_commas_and_backslashes_are_stored_as_written() {
    for env in testing::backends().await {
        let (ctx, dir) = env.job_context();
        let db = &env.db;
        let id = plan(db, "Odd names", "supplier").await;
        let name = r#"Côte d'Ivoire "Orange", mobile \ NULL {1}"#;
        let file = format!(
            "Destination,Code,Rate,Valid To\n\"{}\",225,0.1,2030-01-01\nNULL,226,0.2,\n",
            name.replace('"', "\"\"")
        );
        let done = import::import_now(&ctx, &admin(), id, "odd.csv", file.into_bytes(), full())
            .await
            .unwrap();
        assert_eq!(done.status, "published", "{}", done.error);
        let page = rate_plans::list_rates(db, id, "", RateScope::History, "", 10)
            .await
            .unwrap();
        assert_eq!(page.rows[0].destination, name, "{}", env.name);
        assert_eq!(
            page.rows[0].effective_to.as_deref(),
            Some("2030-01-01T00:00:00Z")
        );
        assert_eq!(
            page.rows[1].destination, "NULL",
            "the text NULL is not a null"
        );
        assert_eq!(page.rows[1].effective_to, None);
        env.cleanup().await;
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[tokio::test]
async fn a_customer_plan_is_derived_by_markup_and_rederived_with_notice() {
    use domain::rate_plans::derive::MarkupForm;
    use service::rate_plans::derive;
    for env in testing::backends().await {
        let (ctx, dir) = env.job_context();
        let db = &env.db;
        let a = plan(db, "Supplier A", "supplier").await;
        let b = plan(db, "Supplier B", "supplier").await;
        let deck = |rows: &str| format!("Destination,Code,Rate,Pulse\n{rows}").into_bytes();
        for (id, rows) in [
            (a, "UK,44,0.10,60/60\nFrance,33,0.05,1/1\n"),
            (b, "UK,44,0.08,1/1\n"),
        ] {
            let done = import::import_now(&ctx, &admin(), id, "d.csv", deck(rows), full())
                .await
                .unwrap();
            assert_eq!(done.status, "published", "{}", done.error);
        }
        let retail = plan(db, "Retail derived", "customer").await;
        let mut settings = RatePlanForm::of(
            &rate_plans::plan_of(&rate_plans::get_plan(db, retail).await.unwrap()).unwrap(),
        );
        settings.notice_action = "defer".into();
        rate_plans::save_plan(db, &admin(), Some(retail), &settings)
            .await
            .unwrap();
        let rule = MarkupForm {
            sources: vec![a, b],
            basis: "lowest".into(),
            percent: "10".into(),
            decimals: "4".into(),
            ..MarkupForm::default()
        };
        let preview = derive::preview(db, retail, &rule).await.unwrap();
        assert_eq!((preview.codes, preview.counts.new), (2, 2), "{}", env.name);
        let done = derive::publish(db, &admin(), retail, &rule).await.unwrap();
        assert_eq!(done.revision, Some(1));
        let now = Utc::now() + Duration::seconds(1);
        let uk = rate_plans::rate_number(db, retail, "447700", now)
            .await
            .unwrap();
        assert_eq!(
            (uk.rate.as_str(), uk.increment.as_str()),
            ("0.0880", "1/1"),
            "B is cheaper"
        );
        let fr = rate_plans::rate_number(db, retail, "33612", now)
            .await
            .unwrap();
        assert_eq!(fr.rate, "0.0550");
        assert_eq!(derive::saved_rule(db, retail).await.unwrap().percent, "10");

        // Supplier B raises the UK: re-deriving raises the sell rate after the notice.
        let raised = import::import_now(
            &ctx,
            &admin(),
            b,
            "d2.csv",
            deck("UK,44,0.09,1/1\n"),
            full(),
        )
        .await
        .unwrap();
        assert_eq!(raised.status, "published", "{}", raised.error);
        let again = derive::publish(db, &admin(), retail, &rule).await.unwrap();
        assert_eq!((again.counts.increase, again.deferred), (1, 1));
        let uk_now =
            rate_plans::rate_number(db, retail, "447700", Utc::now() + Duration::seconds(1))
                .await
                .unwrap();
        assert_eq!(
            uk_now.rate, "0.0880",
            "the old sell rate until the notice ends"
        );
        let uk_later =
            rate_plans::rate_number(db, retail, "447700", Utc::now() + Duration::days(8))
                .await
                .unwrap();
        assert_eq!(uk_later.rate, "0.0990");
        match derive::publish(db, &admin(), retail, &rule).await {
            Err(ServiceError::Conflict(m)) => assert!(m.contains("changes no rate"), "{m}"),
            other => panic!("expected a conflict, got {other:?}"),
        }
        match derive::preview(db, a, &rule).await {
            Err(ServiceError::Validation(e)) => assert!(e.get("sources").is_some()),
            other => panic!("expected a validation error, got {other:?}"),
        }
        env.cleanup().await;
        let _ = std::fs::remove_dir_all(dir);
    }
}
