//! The routing API over HTTP (`POST /api/v1/route`), on SQLite and on PostgreSQL +
//! Redis, against the real Airtel deck: a call from the customer's address is routed to
//! Airtel with the whole explanation, or without it when the switch says
//! `"explain": false` (as DIDTron's Kamailio configuration does); an unknown address is
//! refused 403 with its reason either way; a body without `b_number` is a 400 naming
//! it, and a request without the switch's key a 401.

use serde_json::{json, Value};
use service::jobs::JobContext;

use crate::support::spawn;

#[tokio::test]
async fn the_switch_is_answered_with_routes_and_the_explanation_only_when_it_asks() {
    for env in service::testing::backends().await {
        let server = spawn(env, &[]).await;
        let n = server.name();
        let db = server.env.db.clone();
        let (files, files_dir) = service::testing::files();
        let ctx = JobContext {
            db: db.clone(),
            files,
            kv: service::kv::Kv::local(),
        };
        let world = service::testing::airtel_world(&ctx, "127.0.0.1", "127.0.0.1", "15070").await;
        service::testing::set_billing(&db, world.customer, "postpaid", "1000").await;
        let airtel = service::testing::service_of(&db, world.egress).await;
        let retail = service::testing::service_of(&db, world.ingress).await;
        service::testing::routing_plan(&db, "API", "lcr", &[("", airtel)], retail).await;

        let http = reqwest::Client::new();
        let url = format!("{}/api/v1/route", server.base);
        let ask = |body: Value| {
            http.post(&url)
                .bearer_auth(&world.source_key)
                .json(&body)
                .send()
        };
        // The routing table follows the configuration within a second.
        let call = json!({"source_ip": "127.0.0.1", "a_number": "442079000000",
                          "b_number": "917562929406", "call_id": "api-1"});
        let started = std::time::Instant::now();
        let explained: Value = loop {
            let answer: Value = ask(call.clone()).await.unwrap().json().await.unwrap();
            if answer["action"] == "route" {
                break answer;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(10),
                "{n}: {answer}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        };
        assert_eq!(explained["routes"][0]["uri"], "sip:127.0.0.1:15070", "{n}");
        assert_eq!(explained["routes"][0]["b_number"], "917562929406", "{n}");
        let steps: Vec<&str> = explained["explain"]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["step"].as_str().unwrap())
            .collect();
        assert_eq!(
            steps,
            [
                "ingress",
                "account",
                "validation",
                "translation",
                "sell_rate",
                "credit",
                "routes"
            ],
            "{n}"
        );
        assert!(
            explained["explain"]["sell"]["rate_micros"]
                .as_i64()
                .unwrap()
                > explained["explain"]["routes"][0]["buy"]["rate_micros"]
                    .as_i64()
                    .unwrap(),
            "{n}: sells above the buy rate: {explained}"
        );

        let mut terse_call = call.clone();
        terse_call["explain"] = json!(false);
        terse_call["call_id"] = json!("api-2");
        let terse: Value = ask(terse_call).await.unwrap().json().await.unwrap();
        assert_eq!(terse["action"], "route", "{n}");
        assert_eq!(terse["routes"], explained["routes"], "{n}: the same routes");
        assert!(terse.get("explain").is_none(), "{n}: {terse}");
        assert!(
            terse.to_string().len() * 4 < explained.to_string().len(),
            "{n}: the terse answer is much smaller"
        );

        for explain in [true, false] {
            let refused: Value = ask(
                json!({"source_ip": "198.51.100.99", "b_number": "917562929406",
                                            "call_id": "api-3", "explain": explain}),
            )
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
            assert_eq!(
                (refused["action"].as_str(), refused["code"].as_u64()),
                (Some("reject"), Some(403)),
                "{n}"
            );
            assert!(
                refused["reason"]
                    .as_str()
                    .unwrap()
                    .contains("no ingress interconnect has the address 198.51.100.99"),
                "{n}: {refused}"
            );
            assert_eq!(refused.get("explain").is_some(), explain, "{n}");
        }

        let bad = ask(json!({"source_ip": "127.0.0.1"})).await.unwrap();
        assert_eq!(bad.status(), 400, "{n}");
        assert!(bad.text().await.unwrap().contains("b_number"), "{n}");
        let anonymous = http.post(&url).json(&call).send().await.unwrap();
        assert_eq!(anonymous.status(), 401, "{n}");

        let _ = std::fs::remove_dir_all(files_dir);
        server.stop().await;
    }
}
