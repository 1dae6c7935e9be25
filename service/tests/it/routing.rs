//! The routing engine against a real database (SQLite, and PostgreSQL + Redis): routing
//! plans saved all or nothing, the table rebuilt when the configuration changes (two
//! routers on one database, as two instances), credit read from the ledger, and channel
//! and CPS caps shared through the key-value store.

use chrono::Utc;
use domain::cdr::PostingForm;
use domain::interconnect::SignallingForm;
use domain::routing::{RouteQuery, RoutingEntryForm, RoutingPlanForm};
use service::audit::Actor;
use service::cdrs::DeckCache;
use service::routing::{capacity, plans, Router};
use service::{testing, ServiceError};

fn actor() -> Actor {
    Actor {
        user_id: None,
        email: "noc@didtron.test".into(),
    }
}

fn query<'a>(b: &'a str, call_id: &'a str) -> RouteQuery<'a> {
    RouteQuery {
        source_ip: "203.0.113.10".parse().unwrap(),
        a_number: "442070000000",
        b_number: b,
        call_id,
        at: Utc::now(),
        ingress_interconnect_id: None,
        explain: true,
    }
}

async fn pay(db: &sea_orm::DatabaseConnection, carrier: i64, amount: &str) {
    service::cdrs::post_adjustment(
        db,
        &actor(),
        carrier,
        &PostingForm {
            kind: "payment".into(),
            amount: amount.into(),
            memo: "prepayment".into(),
        },
    )
    .await
    .unwrap();
}

/// Saves the trunk's Signalling tab with these caps (empty = none), the rest default.
async fn trunk_caps(
    db: &sea_orm::DatabaseConnection,
    interconnect: i64,
    max_cps: &str,
    max_channels: &str,
) {
    service::carriers::interconnects::save_signalling(
        db,
        &actor(),
        interconnect,
        &SignallingForm {
            max_cps: max_cps.into(),
            max_channels: max_channels.into(),
            pai_mode: "pass".into(),
            privacy_mode: "pass".into(),
            sip_transport: "udp".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn routes_follow_the_configuration_credit_and_caps() {
    for env in testing::backends().await {
        let (ctx, dir) = env.job_context();
        let db = &env.db;
        // Acme sells India 91 at 0.02 and UK 44 at 0.01; Airtel buys 91 at 0.012 and
        // 9198 at 0.015; a second supplier, Tata, buys 91 at 0.010 and 44 at 0.02.
        let world = testing::billing_world(&ctx).await;
        let (tata_carrier, tata_egress, tata) = testing::supplier(
            &ctx,
            "Tata",
            "TATA",
            "198.51.100.9",
            "5060",
            &["India,91,0.010", "UK,44,0.02"],
        )
        .await;
        let airtel = testing::service_of(db, world.egress).await;
        let retail = testing::service_of(db, world.ingress).await;

        let one = Router::load(db, env.kv.clone(), DeckCache::new())
            .await
            .unwrap();
        let two = Router::load(db, env.kv.clone(), DeckCache::new())
            .await
            .unwrap();
        let d = one.decide(&query("912212345678", "c0")).await;
        assert_eq!(
            d.refusal.as_ref().map(|r| r.code),
            Some(402),
            "{}: no credit yet",
            env.name
        );

        pay(db, world.customer, "1").await;
        one.refresh(db).await.unwrap();
        let d = one.decide(&query("912212345678", "c1")).await;
        assert_eq!(
            d.refusal.as_ref().map(|r| (r.code, r.reason.as_str())),
            Some((404, "no route: the customer service has no routing plan")),
            "{}",
            env.name
        );

        // A least-cost plan: any destination to Airtel or Tata.
        let plan =
            testing::routing_plan(db, "Standard", "lcr", &[("", airtel), ("", tata)], retail).await;
        assert!(
            one.refresh(db).await.unwrap(),
            "{}: the change is seen",
            env.name
        );
        assert!(
            two.refresh(db).await.unwrap(),
            "{}: by every instance",
            env.name
        );
        assert!(
            !one.refresh(db).await.unwrap(),
            "{}: and only once",
            env.name
        );
        for router in [&one, &two] {
            let d = router.decide(&query("912212345678", "c2")).await;
            assert_eq!(d.refusal, None, "{}", env.name);
            let order: Vec<(i64, i64)> = d
                .routes
                .iter()
                .map(|r| (r.supplier_interconnect, r.buy.rate_micros))
                .collect();
            assert_eq!(order, vec![(tata_egress, 10_000), (world.egress, 12_000)]);
            assert_eq!(d.routes[0].uri, "sip:198.51.100.9:5060");
            assert_eq!(d.routes[1].uri, "sip:198.51.100.7:5070");
            // 1.00 of credit at 0.02/min on 60/60: 50 minutes.
            assert_eq!(d.max_duration_s, 3000, "{}", env.name);
        }
        // c2, in progress, holds the whole credit: a call beside it finds none left.
        let d = two.decide(&query("912212345678", "c2-beside")).await;
        let refusal = d.refusal.expect("no credit beside c2");
        assert_eq!(refusal.code, 402, "{}", env.name);
        assert!(
            refusal
                .reason
                .contains("1.0000 available, 1.0000 of it held by 1 call in progress"),
            "{}: {}",
            env.name,
            refusal.reason
        );
        assert_eq!(capacity::release(&env.kv, &["c2"]).await.unwrap(), 1);

        // Calls in progress share the credit. With 3.00, the first call may last the
        // trunk's longest call (7200 s: 2.40 at 0.02/min), the second what is left
        // (0.60: 1800 s), a third nothing; on the other instance too.
        pay(db, world.customer, "2").await;
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        one.refresh(db).await.unwrap();
        two.refresh(db).await.unwrap();
        let first = one.decide(&query("912212345678", "share-1")).await;
        assert_eq!(
            (first.refusal, first.max_duration_s),
            (None, 7200),
            "{}",
            env.name
        );
        let second = two.decide(&query("912212345678", "share-2")).await;
        assert_eq!(second.refusal, None, "{}", env.name);
        assert_eq!(
            second
                .routes
                .iter()
                .map(|r| r.max_duration_s)
                .collect::<Vec<_>>(),
            vec![1800, 1800],
            "{}: the second call is cut to the 0.60 left",
            env.name
        );
        let credit_step = second.steps.iter().find(|s| s.step == "credit").unwrap();
        assert_eq!(
            credit_step.detail,
            "3.0000 available, 2.4000 of it held by 1 call in progress: calls up to 1800 s",
            "{}",
            env.name
        );
        let third = one.decide(&query("912212345678", "share-3")).await;
        let refusal = third.refusal.expect("nothing left for a third call");
        assert_eq!(refusal.code, 402, "{}", env.name);
        assert!(
            refusal
                .reason
                .contains("3.0000 of it held by 2 calls in progress"),
            "{}: {}",
            env.name,
            refusal.reason
        );
        // The balances page shows what the calls in progress hold.
        let held = capacity::held_credit(&env.kv, &[world.customer, tata_carrier])
            .await
            .unwrap();
        assert_eq!(
            held.get(&world.customer).map(|r| (r.amount, r.holders)),
            Some((3_000_000, 2)),
            "{}",
            env.name
        );
        assert!(
            !held.contains_key(&tata_carrier),
            "{}: no call, no entry",
            env.name
        );
        // Both calls end and their CDRs cost 0.50 together. Until the router has read
        // the balance that shows it, their credit still counts as held.
        assert_eq!(
            capacity::release(&env.kv, &["share-1", "share-2"])
                .await
                .unwrap(),
            2
        );
        pay(db, world.customer, "-0.50").await;
        let early = one.decide(&query("912212345678", "share-4")).await;
        assert_eq!(
            early.refusal.map(|r| r.code),
            Some(402),
            "{}: the router's credit does not show the calls' cost yet",
            env.name
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        one.refresh(db).await.unwrap();
        let later = one.decide(&query("912212345678", "share-4")).await;
        assert_eq!(
            (later.refusal, later.max_duration_s),
            (None, 7200),
            "{}: 2.50 available again",
            env.name
        );
        capacity::release(&env.kv, &["share-4"]).await.unwrap();
        // Ample credit for the caps below (each call holds 2.40).
        pay(db, world.customer, "98.50").await;

        // A call's CDR that comes in a CDR file gives back the credit the call held, as
        // one that comes over the API does.
        let filed = one.decide(&query("912212345678", "filed-1")).await;
        assert_eq!(filed.refusal, None, "{}", env.name);
        let holders = || async {
            capacity::held_credit(&env.kv, &[world.customer])
                .await
                .unwrap()
                .get(&world.customer)
                .map(|r| r.holders)
        };
        assert_eq!(holders().await, Some(1), "{}", env.name);
        let setup = Utc::now() - chrono::Duration::seconds(30);
        let cdr = serde_json::json!({
            "call_id": "filed-1", "source_ip": "203.0.113.10", "a_number": "442070000000",
            "b_number": "912212345678", "setup_time": setup.to_rfc3339(),
            "end_time": (setup + chrono::Duration::seconds(3)).to_rfc3339(), "sip_code": 487,
        });
        let imported = service::cdrs::files::import_now(
            &ctx,
            &actor(),
            "calls.json",
            cdr.to_string().into_bytes(),
            domain::cdr::views::CdrFileOptions::default(),
        )
        .await
        .unwrap();
        assert_eq!(imported.status, "done", "{}: {}", env.name, imported.error);
        assert_eq!(holders().await, None, "{}: the file gave it back", env.name);
        // UK: Tata buys above the sell price, Airtel has no rate.
        let d = one.decide(&query("447700900123", "c3")).await;
        let refusal = d.refusal.clone().unwrap();
        assert_eq!(refusal.code, 503, "{}", env.name);
        assert!(
            refusal.reason.contains("margin guard"),
            "{}",
            refusal.reason
        );

        // Entries are saved all or nothing; every bad row is named.
        let bad = plans::save_entries(
            db,
            &actor(),
            plan,
            &[
                RoutingEntryForm {
                    prefix: "9198".into(),
                    supplier_service_id: airtel.to_string(),
                    ..Default::default()
                },
                RoutingEntryForm {
                    prefix: "91x".into(),
                    supplier_service_id: retail.to_string(),
                    ..Default::default()
                },
            ],
        )
        .await
        .unwrap_err();
        let ServiceError::Validation(errors) = bad else {
            panic!("{bad:?}")
        };
        assert!(errors.get("entries.2.prefix").is_some(), "{errors:?}");
        assert_eq!(
            errors.get("entries.2.supplier_service_id"),
            None,
            "a bad row's service is checked once the row reads"
        );
        assert_eq!(
            plans::get_plan(db, plan).await.unwrap().1.len(),
            2,
            "unchanged"
        );
        // A customer service is not a supplier service.
        let bad = plans::save_entries(
            db,
            &actor(),
            plan,
            &[RoutingEntryForm {
                prefix: "91".into(),
                supplier_service_id: retail.to_string(),
                ..Default::default()
            }],
        )
        .await
        .unwrap_err();
        assert!(
            matches!(bad, ServiceError::Validation(ref e) if e.get("entries.1.supplier_service_id").is_some())
        );
        // A used plan cannot be deleted.
        let used = plans::delete_plan(db, &actor(), plan).await.unwrap_err();
        assert!(
            matches!(&used, ServiceError::Conflict(m) if m.contains("Acme") || m.contains("Retail")),
            "{used:?}"
        );
        // Renaming to a taken name is refused on the field.
        plans::save_plan(
            db,
            &actor(),
            None,
            &RoutingPlanForm {
                name: "Premium".into(),
                strategy: "priority".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let taken = plans::save_plan(
            db,
            &actor(),
            Some(plan),
            &RoutingPlanForm {
                name: "Premium".into(),
                strategy: "lcr".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
        assert!(matches!(taken, ServiceError::Validation(ref e) if e.get("name").is_some()));

        // One channel on the customer's trunk: a second call waits for the first's CDR.
        trunk_caps(db, world.ingress, "", "1").await;
        one.refresh(db).await.unwrap();
        let first = one.decide(&query("912212345678", "call-a")).await;
        assert_eq!(first.refusal, None, "{}", env.name);
        let again = one.decide(&query("912212345678", "call-a")).await;
        assert_eq!(
            again.refusal, None,
            "{}: a retransmission keeps its channel",
            env.name
        );
        two.refresh(db).await.unwrap();
        let second = two.decide(&query("912212345678", "call-b")).await;
        let refusal = second.refusal.unwrap();
        assert_eq!(
            refusal.code, 503,
            "{}: the other instance sees the channel",
            env.name
        );
        assert!(
            refusal.reason.contains("all 1 channels"),
            "{}",
            refusal.reason
        );
        assert_eq!(
            capacity::release(&env.kv, &["call-a", "never-routed"])
                .await
                .unwrap(),
            2,
            "{}: call-a's channel and its credit",
            env.name
        );
        let third = two.decide(&query("912212345678", "call-c")).await;
        assert_eq!(
            third.refusal, None,
            "{}: the channel is free again",
            env.name
        );
        capacity::release(&env.kv, &["call-c"]).await.unwrap();

        // Two calls per second on the trunk: the third in the same second is refused.
        trunk_caps(db, world.ingress, "2", "").await;
        one.refresh(db).await.unwrap();
        // Start right after a second boundary so all three calls share a second.
        let ms = Utc::now().timestamp_subsec_millis();
        if ms > 500 {
            tokio::time::sleep(std::time::Duration::from_millis(u64::from(1010 - ms))).await;
        }
        let (q1, q2, q3) = (
            query("912212345678", "p1"),
            query("912212345678", "p2"),
            query("912212345678", "p3"),
        );
        let (d1, d2, d3) = tokio::join!(one.decide(&q1), one.decide(&q2), one.decide(&q3));
        let codes: Vec<Option<u16>> = [d1, d2, d3]
            .into_iter()
            .map(|d| d.refusal.map(|r| r.code))
            .collect();
        assert_eq!(
            codes.iter().filter(|c| **c == Some(503)).count(),
            1,
            "{}: {codes:?}",
            env.name
        );
        capacity::release(&env.kv, &["p1", "p2", "p3"])
            .await
            .unwrap();

        // The customer carrier's own limit, over all of its ingress interconnects: one
        // concurrent call (the trunk's caps off again).
        trunk_caps(db, world.ingress, "", "").await;
        let customer = service::carriers::get_carrier(db, world.customer)
            .await
            .unwrap();
        let details = service::carriers::details_form(&customer);
        service::carriers::update_details(
            db,
            &actor(),
            world.customer,
            &domain::carrier::CarrierDetailsForm {
                max_channels: "1".into(),
                ..details.clone()
            },
        )
        .await
        .unwrap();
        one.refresh(db).await.unwrap();
        let held = one.decide(&query("912212345678", "carrier-1")).await;
        assert_eq!(held.refusal, None, "{}", env.name);
        let refusal = one
            .decide(&query("912212345678", "carrier-2"))
            .await
            .refusal
            .expect("the carrier's one channel is taken");
        assert_eq!(refusal.code, 503, "{}", env.name);
        assert!(
            refusal.reason == format!("all 1 channels of {} are in use", customer.name),
            "{}: {}",
            env.name,
            refusal.reason
        );
        capacity::release(&env.kv, &["carrier-1"]).await.unwrap();
        let freed = one.decide(&query("912212345678", "carrier-3")).await;
        assert_eq!(freed.refusal, None, "{}: released by the CDR", env.name);
        capacity::release(&env.kv, &["carrier-3"]).await.unwrap();
        service::carriers::update_details(db, &actor(), world.customer, &details)
            .await
            .unwrap();

        // A channel plan from Reference data limits the trunk it is chosen for.
        let plan = service::catalog::save_reference(
            db,
            &actor(),
            domain::catalog::ReferenceKind::ChannelPlan,
            None,
            &domain::catalog::ReferenceForm {
                name: "One line".into(),
                description: "".into(),
                max_channels: "1".into(),
                max_cps: "100".into(),
            },
        )
        .await
        .unwrap();
        let trunk = service::carriers::interconnects::get_interconnect(db, world.ingress)
            .await
            .unwrap()
            .interconnect;
        service::carriers::interconnects::update_general(
            db,
            &actor(),
            world.ingress,
            &domain::interconnect::InterconnectForm {
                channel_plan_id: plan.id.to_string(),
                ..service::carriers::interconnects::general_form(&trunk)
            },
        )
        .await
        .unwrap();
        one.refresh(db).await.unwrap();
        assert_eq!(
            one.decide(&query("912212345678", "plan-1")).await.refusal,
            None
        );
        let refusal = one
            .decide(&query("912212345678", "plan-2"))
            .await
            .refusal
            .expect("the channel plan's one line is taken");
        assert!(
            refusal.code == 503 && refusal.reason.contains("all 1 channels"),
            "{}: {refusal:?}",
            env.name
        );
        capacity::release(&env.kv, &["plan-1"]).await.unwrap();
        service::carriers::interconnects::update_general(
            db,
            &actor(),
            world.ingress,
            &service::carriers::interconnects::general_form(&trunk),
        )
        .await
        .unwrap();

        // Spending the credit: the ledger moves the router's credit.
        pay(db, world.customer, "-100.99").await;
        one.refresh(db).await.unwrap();
        let d = one.decide(&query("912212345678", "c4")).await;
        assert_eq!(
            d.refusal.map(|r| r.code),
            Some(402),
            "{}: 0.01 buys no minute at 0.02",
            env.name
        );

        // Changes made by hand in SQL, not through DIDTron, are seen too: the database's
        // own triggers raise the routing change counter the refresh reads.
        use sea_orm::ConnectionTrait;
        db.execute_unprepared(&format!(
            "UPDATE carriers SET credit_limit_micros = 5000000 WHERE id = {}",
            world.customer
        ))
        .await
        .unwrap();
        assert!(
            one.refresh(db).await.unwrap(),
            "{}: a credit limit raised in SQL is a change",
            env.name
        );
        let d = one.decide(&query("912212345678", "c5")).await;
        assert_eq!(
            (d.refusal.map(|r| r.code), d.routes.len()),
            (None, 2),
            "{}: 5.01 available now",
            env.name
        );
        assert!(!one.refresh(db).await.unwrap(), "{}", env.name);
        db.execute_unprepared("DELETE FROM routing_plan_entries")
            .await
            .unwrap();
        assert!(one.refresh(db).await.unwrap(), "{}", env.name);
        let d = one.decide(&query("912212345678", "c6")).await;
        assert_eq!(
            d.refusal.map(|r| r.code),
            Some(404),
            "{}: the plan's entries deleted in SQL",
            env.name
        );

        std::fs::remove_dir_all(dir).ok();
        env.cleanup().await;
    }
}

/// The routing change counter's value (raised by the database's own triggers).
async fn routing_version(db: &sea_orm::DatabaseConnection) -> i64 {
    use sea_orm::{ConnectionTrait, Statement};
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT version FROM change_counters WHERE name = 'routing'",
        ))
        .await
        .unwrap()
        .expect("the routing counter's row");
    row.try_get("", "version").unwrap()
}

/// Every table the routing table (and CDR mediation) is compiled from raises the change
/// counter when a row of it is written, after every migration has run: a later
/// migration that rebuilds one of them on SQLite (and so drops its triggers) fails
/// here instead of leaving every router on a stale table.
#[tokio::test]
async fn every_routing_table_raises_the_change_counter() {
    use domain::catalog::{ReferenceForm, ReferenceKind};
    use sea_orm::ConnectionTrait;
    for env in testing::backends().await {
        let (ctx, dir) = env.job_context();
        let db = &env.db;
        let world = testing::billing_world(&ctx).await;
        let airtel = testing::service_of(db, world.egress).await;
        let retail = testing::service_of(db, world.ingress).await;
        testing::routing_plan(db, "Standard", "lcr", &[("", airtel)], retail).await;
        let before = routing_version(db).await;
        let pop = service::catalog::save_reference(
            db,
            &actor(),
            ReferenceKind::Pop,
            None,
            &ReferenceForm {
                name: "London".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert!(
            routing_version(db).await > before,
            "{}: inserting a reference item",
            env.name
        );

        for table in migrations::ROUTING_TABLES {
            let before = routing_version(db).await;
            let touched = db
                .execute_unprepared(&format!(
                    "UPDATE {table} SET id = id WHERE id = (SELECT MIN(id) FROM {table})"
                ))
                .await
                .unwrap()
                .rows_affected();
            assert_eq!(touched, 1, "{}: {table} has a row to touch", env.name);
            assert!(
                routing_version(db).await > before,
                "{}: an update of {table} must raise the routing change counter",
                env.name
            );
        }

        let before = routing_version(db).await;
        service::catalog::delete_reference(db, &actor(), pop.id)
            .await
            .unwrap();
        assert!(
            routing_version(db).await > before,
            "{}: deleting a reference item",
            env.name
        );
        std::fs::remove_dir_all(dir).ok();
        env.cleanup().await;
    }
}
