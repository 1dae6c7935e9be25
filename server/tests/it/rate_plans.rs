//! Rate-deck upload and export over real HTTP, on SQLite and on PostgreSQL + Redis: the
//! plain form POST stores the file and the server's own job worker reads it; only staff
//! may upload or download; a revision downloads as CSV and XLSX.

use std::time::Duration;

use crate::support::*;
use domain::rate_plans::RatePlanForm;

async fn upload(b: &Browser, plan: i64, name: &str, bytes: Vec<u8>) -> reqwest::Response {
    let form = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()),
        )
        .text("mode", "full");
    b.http
        .post(format!("{}/admin/rate-plans/{plan}/upload", b.base))
        .header("Origin", "http://didtron.test")
        .multipart(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_deck_uploaded_over_http_is_read_by_the_worker_and_exported() {
    for env in service::testing::backends().await {
        let server = spawn(env, &[]).await;
        let db = &server.env.db;
        let mut form = RatePlanForm::new_plan();
        form.name = "HTTP deck".into();
        let plan =
            service::rate_plans::save_plan(db, &service::audit::Actor::system(), None, &form)
                .await
                .unwrap()
                .id;
        let deck = b"Destination,Code,Rate\nUK,44,0.01\nFrance,33,0.02\n".to_vec();

        // Signed out: sent to sign-in, nothing stored.
        let b = server.browser();
        let res = upload(&b, plan, "deck.csv", deck.clone()).await;
        assert_eq!(res.status(), 303, "{}", server.name());
        assert_eq!(location(&res), "/sign-in");

        // A customer may not.
        let customer = server.browser();
        customer
            .sign_in(CUSTOMER_EMAIL, CUSTOMER_PASSWORD, "")
            .await;
        assert_eq!(
            upload(&customer, plan, "deck.csv", deck.clone())
                .await
                .status(),
            403
        );

        // Staff: 303 to the import's page; the worker reads it within seconds.
        b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD, "").await;
        let empty = upload(&b, plan, "empty.csv", Vec::new()).await;
        assert_eq!(empty.status(), 303);
        assert!(
            location(&empty).contains("upload_error=The%20file%20is%20empty"),
            "{}",
            location(&empty)
        );
        let res = upload(&b, plan, "deck.csv", deck).await;
        assert_eq!(res.status(), 303);
        let page = location(&res);
        let import: i64 = page.rsplit('/').next().unwrap().parse().unwrap();
        assert_eq!(page, format!("/admin/rate-plans/{plan}/imports/{import}"));
        let mut view = None;
        for _ in 0..100 {
            let v = service::rate_plans::import::import_view(db, import)
                .await
                .unwrap();
            if v.status == "previewed" {
                view = Some(v);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let view = view.expect("the server's worker reads the upload");
        assert_eq!(view.preview.unwrap().counts.new, 2);
        assert_eq!(b.get(&page).await.status(), 200, "the import page renders");

        service::rate_plans::import::publish(db, &service::audit::Actor::system(), import, false)
            .await
            .unwrap();
        let mut published = false;
        for _ in 0..100 {
            if service::rate_plans::import::import_view(db, import)
                .await
                .unwrap()
                .status
                == "published"
            {
                published = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(published, "{}", server.name());
        let csv = b
            .get(&format!("/admin/rate-plans/{plan}/revisions/1/export.csv"))
            .await;
        assert_eq!(csv.status(), 200);
        let text = csv.text().await.unwrap();
        assert!(text.starts_with("prefix,destination,rate"), "{text}");
        assert!(text.contains("44,UK,0.010000"), "{text}");
        let xlsx = b
            .get(&format!("/admin/rate-plans/{plan}/revisions/1/export.xlsx"))
            .await;
        assert_eq!(xlsx.status(), 200);
        assert!(xlsx.bytes().await.unwrap().starts_with(b"PK"));
        assert_eq!(
            b.get(&format!("/admin/rate-plans/{plan}/revisions/9/export.csv"))
                .await
                .status(),
            404
        );
        assert_eq!(
            customer
                .get(&format!("/admin/rate-plans/{plan}/revisions/1/export.csv"))
                .await
                .status(),
            403
        );
        server.stop().await;
    }
}
