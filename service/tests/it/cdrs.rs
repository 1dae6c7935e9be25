//! From CDR to balance, on SQLite and on PostgreSQL: a customer and a supplier set up
//! through the carriers and rate plans modules, CDRs ingested in the Kamailio shape,
//! both legs rated, the ledger and balances posted exactly once however often the
//! switch replays, and every record kept (rejected and unrated ones with their reason).

use chrono::{Duration, Utc};
use domain::interconnect::AddressForm;
use domain::rate_plans::ImportOptions;
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
};
use service::audit::Actor;
use service::carriers::{self, interconnects};
use service::cdrs::{self, api_keys, DeckCache};
use service::entity::{cdr, ledger_entry};
use service::jobs;
use service::rate_plans::{self, import};
use service::testing;

fn admin() -> Actor {
    Actor {
        user_id: None,
        email: "billing@didtron.test".into(),
    }
}

/// The shared priced world ([`testing::billing_world`]) and its file store's folder.
async fn world(env: &testing::TestEnv) -> (testing::BillingWorld, std::path::PathBuf) {
    let (ctx, dir) = env.job_context();
    (testing::billing_world(&ctx).await, dir)
}

/// A Kamailio acc_json record of a call set up an hour ago: answered after 1.5 s and
/// lasting `millis` when `code` is 200, else ended with `code`.
fn kamailio(call_id: &str, src: &str, callee: &str, code: u16, millis: i64) -> String {
    let setup = Utc::now() - Duration::hours(1);
    let answer = setup + Duration::milliseconds(1500);
    let end = answer + Duration::milliseconds(millis);
    let epoch =
        |t: chrono::DateTime<Utc>| format!("{}.{:03}", t.timestamp(), t.timestamp_subsec_millis());
    serde_json::json!({
        "callid": call_id, "caller": "442070000000", "callee": callee, "src_ip": src,
        "route": if code == 200 { "sip:198.51.100.7:5070" } else { "" },
        "sip_code": code.to_string(), "sip_reason": "x",
        "setup_time": epoch(setup), "start_time": epoch(answer), "end_time": epoch(end),
        "duration": format!("{:.3}", millis as f64 / 1000.0),
    })
    .to_string()
}

async fn balance(db: &DatabaseConnection, carrier_id: i64) -> i64 {
    let running = cdrs::balance(db, carrier_id)
        .await
        .unwrap()
        .map_or(0, |b| b.balance_micros);
    let ledger = cdrs::ledger_sum(db, carrier_id).await.unwrap();
    assert_eq!(
        running, ledger,
        "the running balance equals the ledger's sum"
    );
    running
}

#[tokio::test]
async fn cdrs_are_rated_on_both_legs_and_posted_exactly_once() {
    for env in testing::backends().await {
        let db = &env.db;
        let (w, dir) = world(&env).await;
        let decks = DeckCache::new();
        let body = [
            // 65.2 s to an Indian mobile: 60/60 bills 120 s. Customer 0.02/min (code 91)
            // → 0.04; supplier's longest code 9198 at 0.015/min → 0.03.
            kamailio("call-1", "203.0.113.10", "919812345678", 200, 65_200),
            kamailio("call-2", "203.0.113.10", "919812345678", 486, 0),
            kamailio("call-3", "192.0.2.1", "919812345678", 200, 10_000),
            kamailio("call-4", "203.0.113.10", "8812345678", 200, 10_000),
        ]
        .join("\n");
        let records = cdrs::parse_body(body.as_bytes(), cdrs::Unreadable::Refuse).unwrap();
        let report = cdrs::ingest(db, &decks, w.source, records).await.unwrap();
        assert_eq!(
            (report.received, report.stored, report.duplicates),
            (4, 4, 0),
            "{}",
            env.name
        );
        assert_eq!(
            (report.rated, report.unrated, report.rejected),
            (2, 1, 1),
            "{}",
            env.name
        );

        let call1 = cdr::Entity::find()
            .filter(cdr::Column::CallId.eq("call-1"))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(call1.status, "rated");
        assert_eq!(
            (call1.revenue_micros, call1.cost_micros),
            (40_000, 30_000),
            "{}",
            env.name
        );
        assert_eq!(
            (
                call1.customer_prefix.as_deref(),
                call1.supplier_prefix.as_deref()
            ),
            (Some("91"), Some("9198"))
        );
        assert_eq!(
            (call1.customer_billed_s, call1.duration_ms, call1.pdd_ms),
            (120, 65_200, Some(1500))
        );
        assert_eq!(call1.customer_interconnect_id, Some(w.ingress));
        let explain: domain::cdr::CdrExplanation = serde_json::from_str(&call1.explain).unwrap();
        assert_eq!(explain.supplier.unwrap().destination, "India Mobile");

        let reason = |id: &str| {
            let id = id.to_owned();
            async move {
                let row = cdr::Entity::find()
                    .filter(cdr::Column::CallId.eq(id))
                    .one(db)
                    .await
                    .unwrap()
                    .unwrap();
                (row.status, row.reason.unwrap_or_default())
            }
        };
        assert_eq!(
            reason("call-3").await,
            (
                "rejected".into(),
                "no ingress interconnect has the source address 192.0.2.1".into()
            )
        );
        let (status, why) = reason("call-4").await;
        assert_eq!(status, "unrated");
        assert!(
            why.starts_with("customer leg: no dial code matches"),
            "{why}"
        );
        assert_eq!(
            reason("call-2").await.0,
            "rated",
            "unanswered: priced at zero"
        );
        let problems = cdrs::views::problem_reasons(db).await.unwrap();
        let summary: Vec<(&str, &str, i64)> = problems
            .iter()
            .map(|p| (p.status.as_str(), p.reason_code.as_str(), p.count))
            .collect();
        assert_eq!(
            summary,
            [
                ("unrated", "no_prefix", 1),
                ("rejected", "unknown_source", 1)
            ],
            "{}",
            env.name
        );
        assert!(problems[1].example.contains("192.0.2.1"));
        let only = cdrs::views::cdr_page(
            db,
            &domain::cdr::views::CdrQuery {
                reason_code: "unknown_source".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(only.rows.len(), 1);
        // By interconnect: the calls in through the ingress, out through the egress.
        let through = |id: String| async move {
            let q = domain::cdr::views::CdrQuery {
                interconnect_id: id,
                ..Default::default()
            };
            cdrs::views::cdr_page(db, &q).await
        };
        let all = cdr::Entity::find().all(db).await.unwrap();
        for (id, side) in [(w.ingress, "ingress"), (w.egress, "egress")] {
            let expected: Vec<i64> = all
                .iter()
                .rev()
                .filter(|c| {
                    c.customer_interconnect_id == Some(id) || c.supplier_interconnect_id == Some(id)
                })
                .map(|c| c.id)
                .collect();
            let listed: Vec<i64> = through(id.to_string())
                .await
                .unwrap()
                .rows
                .iter()
                .map(|r| r.id)
                .collect();
            assert!(
                !listed.is_empty() && listed.len() < all.len(),
                "{side}: {listed:?}"
            );
            assert_eq!(listed, expected, "{}: {side}", env.name);
        }
        assert!(matches!(
            through("the big one".into()).await,
            Err(service::ServiceError::Validation(e)) if e.get("interconnect_id").is_some()
        ));

        assert_eq!(balance(db, w.customer).await, -40_000, "{}", env.name);
        assert_eq!(balance(db, w.supplier).await, 30_000, "{}", env.name);

        // The switch delivers at least once: the same body again changes nothing; a
        // request repeating a call and bringing a new one bills only the new one.
        let records = cdrs::parse_body(body.as_bytes(), cdrs::Unreadable::Refuse).unwrap();
        let again = cdrs::ingest(db, &decks, w.source, records).await.unwrap();
        assert_eq!((again.stored, again.duplicates), (0, 4));
        let mixed = [
            kamailio("call-1", "203.0.113.10", "919812345678", 200, 65_200),
            kamailio("call-5", "203.0.113.10", "447700900123", 200, 30_000),
            kamailio("call-5", "203.0.113.10", "447700900123", 200, 30_000),
        ]
        .join("\n");
        let report = cdrs::ingest(
            db,
            &decks,
            w.source,
            cdrs::parse_body(mixed.as_bytes(), cdrs::Unreadable::Refuse).unwrap(),
        )
        .await
        .unwrap();
        assert_eq!(
            (report.stored, report.duplicates, report.rated),
            (1, 2, 0),
            "UK has no supplier rate"
        );
        assert_eq!(cdr::Entity::find().count(db).await.unwrap(), 5);
        // A batch with one rated call posts it by name: its revenue and its cost.
        let call_1 = cdr::Entity::find()
            .filter(cdr::Column::CallId.eq("call-1"))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        let entries: Vec<(String, i64, Option<i64>, String)> = ledger_entry::Entity::find()
            .order_by_asc(ledger_entry::Column::Kind)
            .all(db)
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.kind, e.amount_micros, e.cdr_id, e.memo))
            .collect();
        assert_eq!(
            entries,
            vec![
                ("cost".into(), 30_000, Some(call_1.id), "call call-1".into()),
                (
                    "revenue".into(),
                    -40_000,
                    Some(call_1.id),
                    "call call-1".into()
                ),
            ],
            "{}",
            env.name
        );
        assert_eq!(balance(db, w.customer).await, -40_000);
        assert_eq!(balance(db, w.supplier).await, 30_000);

        // The customer's second address was missing: once added, the rejected call is
        // processed again and posted; the unrated ones stay unrated; a second run
        // changes nothing.
        interconnects::add_address(
            db,
            &admin(),
            w.ingress,
            &AddressForm {
                address: "192.0.2.1".into(),
                port: "5060".into(),
                transport: "udp".into(),
            },
        )
        .await
        .unwrap();
        let fixed = cdrs::reprocess(db, &decks, None, 1000).await.unwrap();
        assert_eq!(
            (fixed.received, fixed.rated, fixed.unrated, fixed.rejected),
            (3, 1, 2, 0),
            "{}",
            env.name
        );
        // 10 s bills 60 s: customer 0.02, supplier 0.015.
        assert_eq!(balance(db, w.customer).await, -60_000);
        assert_eq!(balance(db, w.supplier).await, 45_000);
        let again = cdrs::reprocess(db, &decks, None, 1000).await.unwrap();
        assert_eq!((again.received, again.rated), (2, 0));
        assert_eq!(balance(db, w.customer).await, -60_000);
        assert_eq!(ledger_entry::Entity::find().count(db).await.unwrap(), 4);

        // A carrier that is both customer and supplier shows its calls on each side
        // and their net; a one-way carrier does not.
        let rows = cdrs::views::balances(db).await.unwrap();
        assert!(rows.iter().all(|r| r.netted.is_none()));
        {
            use sea_orm::{ActiveModelTrait, Set};
            let airtel = service::entity::carrier::Entity::find_by_id(w.supplier)
                .one(db)
                .await
                .unwrap()
                .unwrap();
            let mut both: service::entity::carrier::ActiveModel = airtel.into();
            both.carrier_type = Set("both".into());
            both.update(db).await.unwrap();
        }
        let rows = cdrs::views::balances(db).await.unwrap();
        let airtel = rows.iter().find(|r| r.carrier_id == w.supplier).unwrap();
        let netted = airtel.netted.clone().unwrap();
        assert_eq!(
            (
                netted.as_customer.as_str(),
                netted.as_supplier.as_str(),
                netted.calls_net.as_str()
            ),
            ("0.0000", "0.0450", "0.0450"),
            "{}",
            env.name
        );

        // The running balances agree with the ledger; a balance damaged by hand is
        // found and repaired from the ledger.
        assert_eq!(cdrs::reconcile(db, false).await.unwrap(), vec![]);
        sea_orm::ConnectionTrait::execute_unprepared(
            db,
            "UPDATE carrier_balances SET balance_micros = balance_micros + 7",
        )
        .await
        .unwrap();
        let found = cdrs::reconcile(db, true).await.unwrap();
        assert_eq!(found.len(), 2, "{}", env.name);
        assert_eq!((found[0].running_micros - found[0].ledger_micros), 7);
        assert_eq!(cdrs::reconcile(db, false).await.unwrap(), vec![]);

        // The scheduled check does the same, records it for the balances page, and
        // audits each repair.
        assert_eq!(cdrs::ledger::last_check(db).await.unwrap(), None);
        sea_orm::ConnectionTrait::execute_unprepared(
            db,
            &format!(
                "UPDATE carrier_balances SET balance_micros = balance_micros - 5000 WHERE carrier_id = {}",
                w.supplier
            ),
        )
        .await
        .unwrap();
        let check = cdrs::ledger::check_ledger(db, &env.kv)
            .await
            .unwrap()
            .expect("the lock was free");
        assert_eq!(
            (check.carriers, check.repaired, check.mismatches.len()),
            (2, true, 1),
            "{}",
            env.name
        );
        assert_eq!(check.mismatches[0].0, "Airtel");
        assert_eq!(
            (
                check.mismatches[0].1.as_str(),
                check.mismatches[0].2.as_str()
            ),
            ("0.0400", "0.0450"),
            "running balance → its ledger sum"
        );
        balance(db, w.supplier).await;
        let audited = service::audit::carrier_history(db, w.supplier, None, 50)
            .await
            .unwrap();
        assert!(
            format!("{audited:?}").contains("carrier_balance"),
            "the repair is audited: {audited:?}"
        );
        let clean = cdrs::ledger::check_ledger(db, &env.kv)
            .await
            .unwrap()
            .unwrap();
        assert!(clean.mismatches.is_empty() && !clean.repaired);
        assert_eq!(cdrs::ledger::last_check(db).await.unwrap(), Some(clean));

        // The 24 hour spend: every mediated call counts as an attempt.
        let spend = cdrs::views::spend_24h(db, Utc::now()).await.unwrap();
        let acme = &spend.customers[0];
        assert_eq!(
            (
                acme.name.as_str(),
                acme.calls,
                acme.answered,
                acme.asr.as_str(),
                acme.minutes.as_str()
            ),
            ("Acme Telecom", 5, 4, "80.0", "1.9"),
            "{}",
            env.name
        );
        assert_eq!(
            (
                acme.revenue.as_str(),
                acme.cost.as_str(),
                acme.margin.as_str()
            ),
            ("0.0600", "0.0450", "0.0150")
        );
        assert_eq!(
            (spend.suppliers[0].name.as_str(), spend.suppliers[0].calls),
            ("Airtel", 4)
        );
        let (currency, hours) = &spend.hours[0];
        assert_eq!((currency.as_str(), hours.len()), ("USD", 25));
        assert_eq!(
            hours.iter().map(|h| h.revenue_micros).sum::<i64>(),
            60_000,
            "{}",
            env.name
        );

        // Balance and totals: per currency and by destination (the customer leg's).
        let week = cdrs::views::totals(db, "7d", Utc::now()).await.unwrap();
        let usd = &week.by_currency[0];
        assert_eq!(
            (usd.name.as_str(), usd.revenue.as_str(), usd.margin.as_str()),
            ("USD", "0.0600", "0.0150")
        );
        assert_eq!(
            (usd.acd.as_str(), usd.asr.as_str()),
            ("29", "80.0"),
            "115.2 s over 4 answered calls"
        );
        let india = &week.by_destination[0];
        assert_eq!(
            (india.name.as_str(), india.calls, india.revenue.as_str()),
            ("India", 2, "0.0600")
        );
        assert!(cdrs::views::totals(db, "year", Utc::now()).await.is_err());
        let _ = std::fs::remove_dir_all(dir);
        env.cleanup().await;
    }
}

/// Two requests bringing the same 300 calls at once (a switch retrying while the first
/// is still being stored): on PostgreSQL one stores them with binary COPY and the
/// other, refused by the unique index, falls back and finds them stored. Each call is
/// stored and billed once.
#[tokio::test]
async fn the_same_calls_posted_twice_at_once_are_stored_and_billed_once() {
    for env in testing::backends().await {
        let db = &env.db;
        let (w, dir) = world(&env).await;
        let decks = DeckCache::new();
        let body = (0..300)
            .map(|i| {
                kamailio(
                    &format!("race-{i}"),
                    "203.0.113.10",
                    "919812345678",
                    200,
                    65_200,
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        let records = cdrs::parse_body(body.as_bytes(), cdrs::Unreadable::Refuse).unwrap();
        let (a, b) = tokio::join!(
            cdrs::ingest(db, &decks, w.source, records.clone()),
            cdrs::ingest(db, &decks, w.source, records)
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!(
            (
                a.stored + b.stored,
                a.duplicates + b.duplicates,
                a.rated + b.rated
            ),
            (300, 300, 300),
            "{}: {a:?} {b:?}",
            env.name
        );
        assert_eq!(cdr::Entity::find().count(db).await.unwrap(), 300);
        // The calls post as usage: one revenue and one cost entry for the 300 calls
        // one request stored (or per request when both stored some), summing to the
        // calls' prices, each naming its calls and when their CDRs were posted.
        let entries = ledger_entry::Entity::find().all(db).await.unwrap();
        let calls_named: u64 = entries
            .iter()
            .map(|e| {
                let (calls, rest) = e
                    .memo
                    .split_once(" calls, CDRs posted ")
                    .unwrap_or_else(|| panic!("{}: a usage memo, not {:?}", env.name, e.memo));
                assert!(rest.ends_with(" UTC") && e.cdr_id.is_none(), "{:?}", e.memo);
                calls.parse::<u64>().unwrap()
            })
            .sum();
        assert_eq!(
            calls_named, 600,
            "{}: each call on each side once",
            env.name
        );
        assert!(entries.len() <= 4, "{}: {entries:?}", env.name);
        for (kind, total) in [("revenue", -300 * 40_000), ("cost", 300 * 30_000)] {
            let sum: i64 = entries
                .iter()
                .filter(|e| e.kind == kind)
                .map(|e| e.amount_micros)
                .sum();
            assert_eq!(sum, total, "{}: {kind}", env.name);
        }
        // 0.04 revenue and 0.03 cost per call (see the first test).
        assert_eq!(balance(db, w.customer).await, -300 * 40_000, "{}", env.name);
        assert_eq!(balance(db, w.supplier).await, 300 * 30_000, "{}", env.name);
        assert_eq!(cdrs::reconcile(db, false).await.unwrap(), vec![]);
        let _ = std::fs::remove_dir_all(dir);
        env.cleanup().await;
    }
}

/// A switch's queue asks for `Unreadable::Store`: a record that cannot be read is kept
/// as a rejected CDR with its text and why, and the records around it are billed.
#[tokio::test]
async fn a_switch_feed_keeps_unreadable_records_and_bills_the_rest() {
    for env in testing::backends().await {
        let db = &env.db;
        let (w, dir) = world(&env).await;
        let decks = DeckCache::new();
        let body = [
            kamailio("keep-1", "203.0.113.10", "919812345678", 200, 65_200),
            r#"{"callid":"keep-2","src_ip":"203.0.113.10"}"#.to_owned(),
            r#"{"callid":"keep-3", truncated"#.to_owned(),
            kamailio("keep-4", "203.0.113.10", "919812345678", 200, 30_000),
        ]
        .join("\n");
        let store = cdrs::Unreadable::Store;
        let records = cdrs::parse_body(body.as_bytes(), store).unwrap();
        assert_eq!(records.len(), 4, "{}", env.name);
        let report = cdrs::ingest(db, &decks, w.source, records).await.unwrap();
        assert_eq!(
            (
                report.stored,
                report.rated,
                report.rejected,
                report.unreadable
            ),
            (4, 2, 2, 2),
            "{}",
            env.name
        );
        assert_eq!(report.unreadable_records.len(), 2);
        assert_eq!(
            report.unreadable_records[0],
            "record 2 (line 2), field callee: is missing"
        );
        assert!(
            report.unreadable_records[1].starts_with("record 3 (line 3): not JSON"),
            "{}",
            report.unreadable_records[1]
        );
        // The two calls are billed: 0.04 + 0.02 to the customer.
        assert_eq!(balance(db, w.customer).await, -60_000, "{}", env.name);
        let kept = cdr::Entity::find()
            .filter(cdr::Column::ReasonCode.eq("unreadable"))
            .order_by_asc(cdr::Column::Id)
            .all(db)
            .await
            .unwrap();
        assert_eq!(kept.len(), 2);
        assert_eq!(kept[0].status, "rejected");
        assert_eq!(
            kept[0].reason.as_deref(),
            Some("the record cannot be read: record 2 (line 2), field callee: is missing")
        );
        assert!(kept[0].raw.contains("keep-2"), "{}", kept[0].raw);
        assert_eq!(kept[1].raw, r#"{"callid":"keep-3", truncated"#);
        assert!(kept[1].call_id.starts_with("unreadable-"));

        // The switch sends the batch again (its answer was lost): nothing changes.
        let again = cdrs::parse_body(body.as_bytes(), store).unwrap();
        let report = cdrs::ingest(db, &decks, w.source, again).await.unwrap();
        assert_eq!((report.stored, report.duplicates), (0, 4), "{}", env.name);
        assert!(report.unreadable_records.is_empty());
        assert_eq!(balance(db, w.customer).await, -60_000);

        // Processing again leaves them as they are (they still cannot be read).
        let ids: Vec<i64> = kept.iter().map(|c| c.id).collect();
        let again = cdrs::reprocess(db, &decks, Some(&ids), 100).await.unwrap();
        assert_eq!((again.received, again.stored), (2, 0), "{}", env.name);

        // A JSON array that does not parse is kept whole, as one record.
        let broken = format!(
            "[{},",
            kamailio("keep-5", "203.0.113.10", "4420", 200, 1000)
        );
        let records = cdrs::parse_body(broken.as_bytes(), store).unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].raw, broken);
        assert!(
            cdrs::parse_body(broken.as_bytes(), cdrs::Unreadable::Refuse).is_err(),
            "refused by default"
        );
        let _ = std::fs::remove_dir_all(dir);
        env.cleanup().await;
    }
}

#[test]
fn unreadable_records_are_named_and_nothing_is_accepted() {
    let good = kamailio("c1", "203.0.113.10", "4420", 200, 1000);
    let body = format!("{good}\n{{\"callid\":\"c2\",\"src_ip\":\"203.0.113.10\"}}\n[1]\n");
    let errors = cdrs::parse_body(body.as_bytes(), cdrs::Unreadable::Refuse).unwrap_err();
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "record 2 (line 2), field callee: is missing",
            "record 3 (line 3): is not a JSON object",
        ]
    );
    let own = r#"[{"call_id":"x","source_ip":"203.0.113.10","b_number":"4420","setup_time":"2026-11-21T10:00:00Z","end_time":"2026-11-21T09:00:00Z","sip_code":487}]"#;
    let errors = cdrs::parse_body(own.as_bytes(), cdrs::Unreadable::Refuse).unwrap_err();
    assert_eq!(
        errors[0].to_string(),
        "record 1, field end_time: is before setup_time"
    );
    assert!(
        cdrs::parse_body(b"  ", cdrs::Unreadable::Refuse).unwrap_err()[0]
            .message
            .contains("empty")
    );
    assert_eq!(
        cdrs::parse_body(good.as_bytes(), cdrs::Unreadable::Refuse)
            .unwrap()
            .len(),
        1,
        "one object"
    );
}

#[tokio::test]
async fn api_keys_are_shown_once_stored_hashed_and_revocable() {
    for env in testing::backends().await {
        let db = &env.db;
        let created = api_keys::create(db, "sbc-1", &admin()).await.unwrap();
        assert!(created.secret.starts_with("dtk_") && created.secret.len() == 52);
        assert!(
            !created.key.key_hash.contains(&created.secret[4..]),
            "only a hash is kept"
        );
        let found = api_keys::authenticate(db, &created.secret).await.unwrap();
        assert_eq!(found.map(|k| k.id), Some(created.key.id));
        let mut wrong = created.secret.clone();
        wrong.replace_range(40..41, if &wrong[40..41] == "0" { "1" } else { "0" });
        assert!(api_keys::authenticate(db, &wrong).await.unwrap().is_none());
        assert!(
            api_keys::create(db, "sbc-1", &admin()).await.is_err(),
            "names are unique"
        );
        api_keys::revoke(db, created.key.id, &admin())
            .await
            .unwrap();
        assert!(api_keys::authenticate(db, &created.secret)
            .await
            .unwrap()
            .is_none());
        env.cleanup().await;
    }
}

#[tokio::test]
async fn credit_alerts_fire_once_and_a_customer_out_of_credit_is_blocked_until_it_pays() {
    use domain::carrier::{AccountingForm, CreditAlertForm};
    use domain::cdr::PostingForm;
    use service::carriers::credit_alerts;
    use service::entity::{audit_entry, credit_alert, mail_outbox};
    for env in testing::backends().await {
        let db = &env.db;
        let (w, dir) = world(&env).await;
        let decks = DeckCache::new();
        carriers::update_accounting(
            db,
            &admin(),
            w.customer,
            &AccountingForm {
                billing_mode: "prepaid".into(),
                credit_limit: "0.05".into(),
                billing_cycle: "monthly".into(),
                payment_terms_days: "30".into(),
                invoice_email: String::new(),
                tax_id: String::new(),
            },
        )
        .await
        .unwrap();
        let alert = credit_alerts::save_credit_alert(
            db,
            &admin(),
            w.customer,
            None,
            &CreditAlertForm {
                threshold: "0.02".into(),
                recipients: "noc@acme.test".into(),
                repeat_every_hours: String::new(),
                enabled: true,
            },
        )
        .await
        .unwrap();
        let call = |id: &str, millis: i64| {
            let body = kamailio(id, "203.0.113.10", "919812345678", 200, millis);
            cdrs::parse_body(body.as_bytes(), cdrs::Unreadable::Refuse).unwrap()
        };
        let blocked = || async {
            cdrs::balance(db, w.customer)
                .await
                .unwrap()
                .is_some_and(|b| b.blocked)
        };
        let mails = || async { mail_outbox::Entity::find().all(db).await.unwrap() };

        // 0.04 spent of 0.05: 0.01 left, below the 0.02 alert: one mail, not blocked.
        cdrs::ingest(db, &decks, w.source, call("c1", 65_200))
            .await
            .unwrap();
        let sent = mails().await;
        assert_eq!(sent.len(), 1, "{}", env.name);
        assert_eq!(sent[0].recipients, "noc@acme.test");
        assert!(
            sent[0].subject.contains("Acme Telecom"),
            "{}",
            sent[0].subject
        );
        assert!(
            sent[0]
                .body
                .contains("available credit of Acme Telecom (ACME) is 0.0100 USD"),
            "{}",
            sent[0].body
        );
        assert!(!blocked().await);

        // 0.02 more: -0.01 left: blocked (audited); the alert does not fire twice.
        cdrs::ingest(db, &decks, w.source, call("c2", 10_000))
            .await
            .unwrap();
        assert!(blocked().await, "{}", env.name);
        assert_eq!(mails().await.len(), 1);
        let audits = audit_entry::Entity::find()
            .filter(audit_entry::Column::Entity.eq("carrier_credit"))
            .count(db)
            .await
            .unwrap();
        assert_eq!(audits, 1);

        // A payment of 0.10 lifts it to 0.09: unblocked, the alert re-armed.
        let changes = cdrs::post_adjustment(
            db,
            &admin(),
            w.customer,
            &PostingForm {
                kind: "payment".into(),
                amount: "0.10".into(),
                memo: "wire 123".into(),
            },
        )
        .await
        .unwrap();
        assert_eq!(changes.unblocked, vec![w.customer]);
        assert!(!blocked().await);
        assert_eq!(balance(db, w.customer).await, 40_000);
        let alert = credit_alert::Entity::find_by_id(alert.id)
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert!(alert.armed && alert.last_fired_at.is_some());
        assert!(cdrs::post_adjustment(
            db,
            &admin(),
            w.customer,
            &PostingForm {
                kind: "gift".into(),
                amount: "1".into(),
                memo: String::new()
            }
        )
        .await
        .is_err());
        let _ = std::fs::remove_dir_all(dir);
        env.cleanup().await;
    }
}

#[tokio::test]
async fn cdr_files_are_imported_all_or_nothing_and_never_twice() {
    for env in testing::backends().await {
        let db = &env.db;
        let (w, dir) = world(&env).await;
        let (ctx, _files_dir) = env.job_context();
        let day = (Utc::now() - Duration::days(1))
            .format("%Y-%m-%d")
            .to_string();
        // Asterisk Master.csv: 91 s to an Indian mobile (customer 0.02/min on 60/60 →
        // 0.04; supplier 0.015 on 9198 → 0.03), a busy call, and 30 s to India (0.02 →
        // 0.02; supplier 0.012 → 0.012).
        let master = format!(
            "\"ACME\",\"1001\",\"919812345678\",\"default\",\"\",\"SIP/1001-01\",\"SIP/trunk-02\",\"Dial\",\"\",\"{day} 10:00:00\",\"{day} 10:00:05\",\"{day} 10:01:36\",96,91,\"ANSWERED\",\"DOCUMENTATION\",\"u-1\",\"\"\n\
             \"ACME\",\"1001\",\"919812345679\",\"default\",\"\",\"SIP/1001-03\",\"\",\"Dial\",\"\",\"{day} 10:02:00\",\"\",\"{day} 10:02:20\",20,0,\"BUSY\",\"DOCUMENTATION\",\"u-2\",\"\"\n\
             \"ACME\",\"1001\",\"911112345678\",\"default\",\"\",\"SIP/1001-04\",\"SIP/trunk-05\",\"Dial\",\"\",\"{day} 11:00:00\",\"{day} 11:00:02\",\"{day} 11:00:32\",32,30,\"ANSWERED\",\"DOCUMENTATION\",\"u-3\",\"\"\n"
        );
        let options = domain::cdr::views::CdrFileOptions {
            customer_by_account_code: true,
            supplier_interconnect_id: Some(w.egress),
            ..Default::default()
        };

        // Without a customer, Master.csv is refused at upload, naming the field.
        let refused = cdrs::files::upload(
            &ctx,
            &admin(),
            "Master.csv",
            master.clone().into_bytes(),
            domain::cdr::views::CdrFileOptions::default(),
            true,
        )
        .await
        .unwrap_err();
        assert!(
            refused.to_string().contains("customer_interconnect_id")
                || format!("{refused:?}").contains("customer_interconnect_id"),
            "{refused:?}"
        );

        // Through the job queue, as the page does it.
        let queued = cdrs::files::upload(
            &ctx,
            &admin(),
            "Master.csv",
            master.clone().into_bytes(),
            options.clone(),
            true,
        )
        .await
        .unwrap();
        assert_eq!(queued.format, "asterisk");
        service::jobs::run_until_idle(&ctx, "test").await.unwrap();
        let done = cdrs::files::import_view(db, queued.id).await.unwrap();
        assert_eq!(done.status, "done", "{} {}", env.name, done.error);
        assert_eq!((done.rows_done, done.rows_total), (3, 3));
        let report = done.report.unwrap();
        assert_eq!(
            (
                report.ingest.stored,
                report.ingest.rated,
                report.ingest.rejected
            ),
            (3, 3, 0),
            "{}",
            env.name
        );
        assert_eq!(balance(db, w.customer).await, -60_000, "{}", env.name);
        assert_eq!(balance(db, w.supplier).await, 42_000, "{}", env.name);
        let u1 = cdr::Entity::find()
            .filter(cdr::Column::CallId.eq("u-1"))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (u1.customer_interconnect_id, u1.supplier_interconnect_id),
            (Some(w.ingress), Some(w.egress))
        );
        assert_eq!((u1.duration_ms, u1.pdd_ms), (91_000, Some(5_000)));

        // The same file again (from the command line): every call a duplicate.
        let again = cdrs::files::import_now(
            &ctx,
            &admin(),
            "Master.csv",
            master.clone().into_bytes(),
            options.clone(),
        )
        .await
        .unwrap();
        let report = again.report.unwrap();
        assert_eq!((report.ingest.stored, report.ingest.duplicates), (0, 3));
        assert_eq!(balance(db, w.customer).await, -60_000, "{}", env.name);

        // One bad line among good ones: nothing is stored, and the line is named.
        let bad = format!(
            "call_id,source_ip,b_number,start,billsec\n\
             csv-1,203.0.113.10,919812345678,{day} 12:00:00,60\n\
             csv-2,203.0.113.10,919812345678,{day} 12:05:00,sixty\n"
        );
        let failed = cdrs::files::import_now(
            &ctx,
            &admin(),
            "day.csv",
            bad.into_bytes(),
            Default::default(),
        )
        .await
        .unwrap();
        assert_eq!(failed.status, "failed");
        assert!(failed.error.contains("1 bad line"), "{}", failed.error);
        let errors = failed.report.unwrap().errors;
        assert_eq!(errors[0].line, 3);
        assert!(errors[0].message.contains("billsec `sixty`"), "{errors:?}");
        let stored = cdr::Entity::find()
            .filter(cdr::Column::CallId.eq("csv-1"))
            .count(db)
            .await
            .unwrap();
        assert_eq!(stored, 0, "all or nothing");
        assert_eq!(balance(db, w.customer).await, -60_000);

        let listed = cdrs::files::list_imports(db).await.unwrap();
        assert_eq!(listed.len(), 3);
        assert_eq!(listed[2].source, api_keys::FILE_SOURCE_NAME);
        env.cleanup().await;
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[tokio::test]
async fn rerating_shows_the_difference_then_posts_it_once_as_adjustments() {
    for env in testing::backends().await {
        let db = &env.db;
        let (w, dir) = world(&env).await;
        let (ctx, _files_dir) = env.job_context();
        let decks = DeckCache::new();
        let records = cdrs::parse_body(
            kamailio("rr-1", "203.0.113.10", "919812345678", 200, 65_200).as_bytes(),
            cdrs::Unreadable::Refuse,
        )
        .unwrap();
        cdrs::ingest(db, &decks, w.source, records).await.unwrap();
        assert_eq!(balance(db, w.supplier).await, 30_000);
        let today = Utc::now().format("%Y-%m-%d").to_string();
        let yesterday = (Utc::now() - Duration::days(1))
            .format("%Y-%m-%d")
            .to_string();
        let query = domain::cdr::views::RerateQuery {
            from: yesterday,
            to: today,
            carrier_id: Some(w.supplier),
        };
        let unchanged = cdrs::rerate::rerate(db, &decks, &admin(), &query, false)
            .await
            .unwrap();
        assert_eq!((unchanged.examined, unchanged.changed), (1, 0));

        // The supplier corrects its deck: India Mobile 0.018 since 29 days ago.
        let plan = rate_plans::find_plan_by_name(db, "Airtel deck")
            .await
            .unwrap();
        let since = (Utc::now() - Duration::days(29))
            .format("%Y-%m-%d")
            .to_string();
        let csv = format!(
            "Destination,Code,Rate,Valid From\nIndia,91,0.012,{since}\nIndia Mobile,9198,0.018,{since}\n"
        );
        let published = import::import_now(
            &ctx,
            &admin(),
            plan.id,
            "corrected.csv",
            csv.into_bytes(),
            ImportOptions {
                replace_all: true,
                ..ImportOptions::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(published.status, "published", "{}", published.error);
        // The cache a server keeps rates with the corrected deck at once: publishing
        // moved the change counter its configuration is kept under.
        let seen = cdrs::rerate::rerate(db, &decks, &admin(), &query, false)
            .await
            .unwrap();
        assert_eq!((seen.examined, seen.changed), (1, 1), "{}", env.name);

        // As the portal asks: a run, done by a background job.
        let asked = cdrs::rerate::request(db, &admin(), &query, false)
            .await
            .unwrap();
        assert_eq!((asked.status.as_str(), asked.total), ("queued", 1));
        jobs::run_until_idle(&ctx, "test-worker").await.unwrap();
        let done = cdrs::rerate::run(db, asked.id).await.unwrap();
        assert_eq!(
            (done.status.as_str(), done.examined, done.error.as_str()),
            ("done", 1, ""),
            "{}",
            env.name
        );
        let preview = done.result.unwrap();
        assert_eq!(
            (preview.changed, preview.applied),
            (1, false),
            "{}",
            env.name
        );
        let [line] = &preview.lines[..] else {
            panic!("one line: {:?}", preview.lines)
        };
        assert_eq!(
            (line.leg.as_str(), line.before.as_str(), line.after.as_str()),
            ("supplier", "0.0300", "0.0360")
        );
        assert_eq!(line.ledger_change_micros, 6_000, "we owe the supplier more");
        assert_eq!(
            balance(db, w.supplier).await,
            30_000,
            "a preview posts nothing"
        );

        let asked = cdrs::rerate::request(db, &admin(), &query, true)
            .await
            .unwrap();
        jobs::run_until_idle(&ctx, "test-worker").await.unwrap();
        let applied = cdrs::rerate::run(db, asked.id)
            .await
            .unwrap()
            .result
            .unwrap();
        assert!(applied.applied);
        assert_eq!(applied.lines, preview.lines);
        assert_eq!(balance(db, w.supplier).await, 36_000, "{}", env.name);
        assert_eq!(
            balance(db, w.customer).await,
            -40_000,
            "the customer's price is the same"
        );
        let call = cdr::Entity::find()
            .filter(cdr::Column::CallId.eq("rr-1"))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(call.cost_micros, 36_000);
        let explain: domain::cdr::CdrExplanation = serde_json::from_str(&call.explain).unwrap();
        assert_eq!(explain.rerated.len(), 1);
        assert_eq!(
            explain.rerated[0].cost_micros, 30_000,
            "the earlier price is kept"
        );
        let entries = ledger_entry::Entity::find()
            .filter(ledger_entry::Column::Kind.eq("rerate"))
            .all(db)
            .await
            .unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(
            (entries[0].carrier_id, entries[0].amount_micros),
            (w.supplier, 6_000)
        );

        let again = cdrs::rerate::rerate(db, &decks, &admin(), &query, true)
            .await
            .unwrap();
        assert_eq!(again.changed, 0, "applying twice posts nothing");
        assert_eq!(balance(db, w.supplier).await, 36_000);
        assert!(cdrs::reconcile(db, false).await.unwrap().is_empty());

        let bad = domain::cdr::views::RerateQuery {
            from: "2026-01-01".into(),
            to: "2025-12-01".into(),
            carrier_id: None,
        };
        let refused = cdrs::rerate::request(db, &admin(), &bad, false)
            .await
            .unwrap_err();
        assert!(
            format!("{refused:?}").contains("before the first"),
            "a bad period is refused at once: {refused:?}"
        );
        assert_eq!(
            jobs::run_until_idle(&ctx, "test-worker").await.unwrap(),
            0,
            "and nothing is queued"
        );
        env.cleanup().await;
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[tokio::test]
async fn cdr_exports_write_the_filtered_list_to_csv_in_the_background() {
    for env in testing::backends().await {
        let db = &env.db;
        let (w, dir) = world(&env).await;
        let (ctx, _files_dir) = env.job_context();
        let decks = DeckCache::new();
        let body = [
            kamailio("ex-1", "203.0.113.10", "919812345678", 200, 65_200),
            kamailio("ex-2", "203.0.113.10", "919812345678", 486, 0),
            kamailio("ex-3", "192.0.2.1", "919812345678", 200, 10_000),
        ]
        .join("\n");
        cdrs::ingest(
            db,
            &decks,
            w.source,
            cdrs::parse_body(body.as_bytes(), cdrs::Unreadable::Refuse).unwrap(),
        )
        .await
        .unwrap();
        let bad = domain::cdr::views::CdrQuery {
            from: "yesterday".into(),
            ..Default::default()
        };
        assert!(cdrs::export::request(db, &admin(), &bad).await.is_err());
        let query = domain::cdr::views::CdrQuery {
            carrier_id: w.customer.to_string(),
            ..Default::default()
        };
        let export = cdrs::export::request(db, &admin(), &query).await.unwrap();
        service::jobs::run_until_idle(&ctx, "test").await.unwrap();
        let listed = cdrs::export::list(db, &admin()).await.unwrap();
        assert_eq!(
            listed[0].status, "done",
            "{}: {}",
            env.name, listed[0].error
        );
        assert_eq!(listed[0].rows_done, 2, "the rejected call has no customer");
        assert!(listed[0].filters.starts_with("carrier "));
        let bytes = cdrs::export::file(&ctx, export.id).await.unwrap();
        let mut reader = csv::Reader::from_reader(bytes.as_slice());
        let header: Vec<String> = reader
            .headers()
            .unwrap()
            .iter()
            .map(str::to_owned)
            .collect();
        assert_eq!(header, cdrs::export::COLUMNS);
        let rows: Vec<Vec<String>> = reader
            .records()
            .map(|r| r.unwrap().iter().map(str::to_owned).collect())
            .collect();
        let col = |name: &str| header.iter().position(|h| h == name).unwrap();
        let answered = rows.iter().find(|r| r[col("call_id")] == "ex-1").unwrap();
        assert_eq!(
            (
                answered[col("customer")].as_str(),
                answered[col("revenue")].as_str(),
                answered[col("cost")].as_str(),
                answered[col("margin")].as_str(),
                answered[col("duration_s")].as_str(),
            ),
            ("Acme Telecom", "0.0400", "0.0300", "0.0100", "65.200")
        );
        env.cleanup().await;
        let _ = std::fs::remove_dir_all(dir);
    }
}
