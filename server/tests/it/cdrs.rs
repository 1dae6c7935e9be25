//! `POST /api/v1/cdrs` over real HTTP, on SQLite and on PostgreSQL + Redis: API keys
//! (no key, a wrong or revoked key → 401 with its challenge; Bearer, X-API-Key or Basic), unreadable bodies (400 naming the record and
//! field, nothing stored; or, with `?unreadable=store`, kept as rejected records), and
//! storing with replays accepted and counted.

use crate::support::*;
use service::audit::Actor;

const ACC_JSON: &str = r#"{"start_time":"1795253545.221","end_time":"1795253548.224","duration":"3.003","callid":"1-29770@127.0.0.1","caller":"44207000000","callee":"1555000","src_ip":"127.0.0.1","route":"sip:127.0.0.1:5070","sip_code":"200","sip_reason":"OK","setup_time":"1795253545.164945"}"#;

async fn post(b: &Browser, key: Option<&str>, body: &str) -> (u16, serde_json::Value) {
    let mut req = b
        .http
        .post(format!("{}/api/v1/cdrs", b.base))
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(key) = key {
        req = req.header("authorization", format!("Bearer {key}"));
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(serde_json::Value::Null))
}

#[tokio::test]
async fn the_switch_posts_cdrs_with_its_key_and_replays_change_nothing() {
    for env in service::testing::backends().await {
        let server = spawn(env, &[]).await;
        let db = &server.env.db;
        let key = service::cdrs::api_keys::create(db, "kamailio", &Actor::system())
            .await
            .unwrap();
        let b = server.browser();

        let (status, body) = post(&b, None, ACC_JSON).await;
        assert_eq!(status, 401, "{}", server.name());
        assert!(body["error"].as_str().unwrap().contains("API key"));
        let (status, _) = post(&b, Some("dtk_0000000000000000000000000000"), ACC_JSON).await;
        assert_eq!(status, 401);

        let bad = format!("{ACC_JSON}\n{{\"callid\":\"x\",\"src_ip\":\"127.0.0.1\"}}");
        let (status, body) = post(&b, Some(&key.secret), &bad).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(
            body["messages"][0].as_str().unwrap(),
            "record 2 (line 2), field callee: is missing"
        );

        // A switch's queue asks to keep what cannot be read: the readable record is
        // stored, the other kept as it came (rejected, `unreadable`), and the answer
        // names it; sent again, nothing changes.
        let other = ACC_JSON.replace("1-29770@", "2-29770@");
        let kept = format!("{other}\n{{\"callid\":\"x\",\"src_ip\":\"127.0.0.1\"}}");
        let store = |query: &str| {
            b.http
                .post(format!("{}/api/v1/cdrs?unreadable={query}", b.base))
                .bearer_auth(&key.secret)
                .body(kept.clone())
                .send()
        };
        for (round, (stored, duplicates)) in [(2, 0), (0, 2)].into_iter().enumerate() {
            let res = store("store").await.unwrap();
            assert_eq!(res.status(), 200, "{}", server.name());
            let body: serde_json::Value = res.json().await.unwrap();
            assert_eq!(
                (body["stored"].as_u64(), body["duplicates"].as_u64()),
                (Some(stored), Some(duplicates)),
                "{}: round {round}: {body}",
                server.name()
            );
            if round == 0 {
                assert_eq!(body["unreadable"].as_u64(), Some(1));
                assert_eq!(
                    body["unreadable_records"][0].as_str().unwrap(),
                    "record 2 (line 2), field callee: is missing"
                );
            }
        }
        let res = store("maybe").await.unwrap();
        assert_eq!(res.status(), 400);
        let body: serde_json::Value = res.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().contains("`unreadable`"));

        // Stored even though nothing here knows 127.0.0.1 (rejected, with its reason).
        let (status, body) = post(&b, Some(&key.secret), ACC_JSON).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            (body["stored"].as_u64(), body["rejected"].as_u64()),
            (Some(1), Some(1))
        );
        let replay = b
            .http
            .post(format!("{}/api/v1/cdrs", b.base))
            .header("x-api-key", &key.secret)
            .body(format!("[{ACC_JSON}]"))
            .send()
            .await
            .unwrap();
        assert_eq!(replay.status(), 200);
        let body: serde_json::Value = replay.json().await.unwrap();
        assert_eq!(
            (body["stored"].as_u64(), body["duplicates"].as_u64()),
            (Some(0), Some(1))
        );

        // Kamailio's http_client can send only Basic credentials: the key is the password.
        let basic = |password: &str| {
            b.http
                .post(format!("{}/api/v1/cdrs", b.base))
                .basic_auth("kamailio", Some(password))
                .body(ACC_JSON)
                .send()
        };
        let res = basic(&key.secret).await.unwrap();
        assert_eq!(res.status(), 200);
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["duplicates"].as_u64(), Some(1));
        let res = basic("dtk_wrong").await.unwrap();
        assert_eq!(res.status(), 401);
        assert!(
            res.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .contains("Basic realm=\"DIDTron API\""),
            "a 401 says how to authenticate"
        );

        service::cdrs::api_keys::revoke(db, key.key.id, &Actor::system())
            .await
            .unwrap();
        assert_eq!(
            post(&b, Some(&key.secret), ACC_JSON).await.0,
            401,
            "revoked"
        );
        server.stop().await;
    }
}
