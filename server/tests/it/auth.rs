//! Sign-in, sign-out, role guard, rate limit, Origin check and session expiry, over real
//! HTTP against a real server, on SQLite and on PostgreSQL + Redis.

use crate::support::*;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

async fn each_backend(overrides: &[(&str, &str)], test: impl AsyncFn(&TestServer)) {
    for env in service::testing::backends().await {
        let server = spawn(env, overrides).await;
        test(&server).await;
        server.stop().await;
    }
}

#[tokio::test]
async fn an_admin_signs_in_sees_the_dashboard_and_signs_out() {
    each_backend(&[], async |s| {
        let b = s.browser();
        let res = b.get("/admin/users?sort=email").await;
        assert_eq!(
            res.status(),
            303,
            "{}: signed out is sent to sign-in",
            s.name()
        );
        assert_eq!(location(&res), "/sign-in?next=/admin/users%3Fsort%3Demail");

        let (status, body) = b
            .sign_in(ADMIN_EMAIL, ADMIN_PASSWORD, "/admin/users?sort=email")
            .await;
        assert_eq!(
            (status, body.as_str()),
            (200, "\"/admin/users?sort=email\""),
            "{}: back to next",
            s.name()
        );

        let page = b.get("/admin").await;
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(
            html.contains(ADMIN_EMAIL),
            "{}: top bar names the user",
            s.name()
        );
        assert!(
            html.contains("Dashboard") && html.contains("Customer users"),
            "dashboard rendered"
        );
        assert!(
            html.contains("nav-users"),
            "sidebar built from the registry"
        );

        let counts: serde_json::Value = b.get("/fn/admin/dashboard").await.json().await.unwrap();
        assert_eq!(counts["carriers"], 1, "{}: {counts}", s.name());
        assert_eq!(counts["staff_users"], 1);
        assert_eq!(counts["customer_users"], 1);

        assert_eq!(b.sign_out().await, 200);
        let res = b.get("/admin").await;
        assert_eq!(res.status(), 303, "{}: signed out again", s.name());
        let res = b.get("/fn/admin/dashboard").await;
        assert_eq!(res.status(), 401);
        assert!(res.text().await.unwrap().contains("Unauthorized"));
    })
    .await;
}

#[tokio::test]
async fn a_wrong_password_is_refused_without_saying_which_field() {
    each_backend(&[], async |s| {
        let b = s.browser();
        let (status, body) = b.sign_in(ADMIN_EMAIL, "not the password", "").await;
        assert_eq!(status, 401, "{}", s.name());
        assert!(body.contains("InvalidCredentials"), "{}: {body}", s.name());
        let (_, unknown) = b.sign_in("nobody@didtron.test", ADMIN_PASSWORD, "").await;
        assert_eq!(
            unknown, body,
            "unknown e-mail answers exactly like a wrong password"
        );
        let (status, empty) = b.sign_in("", "", "").await;
        assert_eq!(status, 422);
        assert!(
            empty.contains("Validation") && empty.contains("email") && empty.contains("password"),
            "{empty}"
        );
        assert_eq!(b.get("/admin").await.status(), 303);
        // An unsafe `next` is ignored.
        let (status, body) = b
            .sign_in(ADMIN_EMAIL, ADMIN_PASSWORD, "https://evil.example/")
            .await;
        assert_eq!((status, body.as_str()), (200, "\"/admin\""));
    })
    .await;
}

#[tokio::test]
async fn repeated_failures_lock_the_account_even_for_the_right_password() {
    each_backend(&[("SIGNIN_MAX_FAILURES", "3")], async |s| {
        let b = s.browser();
        for _ in 0..3 {
            let (_, body) = b.sign_in(CUSTOMER_EMAIL, "guess guess guess", "").await;
            assert!(body.contains("InvalidCredentials"), "{}: {body}", s.name());
        }
        let (status, body) = b.sign_in(CUSTOMER_EMAIL, CUSTOMER_PASSWORD, "").await;
        assert_eq!(status, 429, "{}", s.name());
        assert!(body.contains("TooManyAttempts"), "{}: {body}", s.name());
        // Same IP, other account: the IP is locked too.
        let (_, body) = b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD, "").await;
        assert!(body.contains("TooManyAttempts"), "{}: {body}", s.name());
    })
    .await;
}

#[tokio::test]
async fn a_customer_gets_the_portal_and_a_403_in_the_admin_portal() {
    each_backend(&[], async |s| {
        let b = s.browser();
        let (status, body) = b.sign_in(CUSTOMER_EMAIL, CUSTOMER_PASSWORD, "/admin").await;
        assert_eq!(
            (status, body.as_str()),
            (200, "\"/portal\""),
            "{}: never sent to /admin",
            s.name()
        );

        let portal = b.get("/portal").await;
        assert_eq!(portal.status(), 200);
        let html = portal.text().await.unwrap();
        assert!(
            html.contains("Acme Telecom") && html.contains("ACME"),
            "{}: own carrier shown",
            s.name()
        );

        for path in ["/admin", "/admin/users", "/admin/anything"] {
            let res = b.get(path).await;
            assert_eq!(res.status(), 403, "{}: {path}", s.name());
            assert!(res.text().await.unwrap().contains("No access"));
        }
        let res = b.get("/fn/admin/users").await;
        assert!(
            res.text().await.unwrap().contains("Forbidden"),
            "server functions check the role too"
        );
        // The carriers module's server functions, reads and writes, refuse a customer.
        for path in [
            "/fn/admin/carriers",
            "/fn/admin/interconnects",
            "/fn/admin/services",
            "/fn/admin/pick-lists",
            "/fn/admin/carrier?id=1",
            "/fn/admin/carrier/contacts?carrier_id=1",
            "/fn/admin/carrier/history?carrier_id=1",
            "/fn/admin/reference?kind=codec",
        ] {
            assert_eq!(b.get(path).await.status(), 403, "{}: {path}", s.name());
        }
        let res = b
            .http
            .post(format!("{}/fn/admin/carrier/delete", b.base))
            .header("Origin", &b.base)
            .form(&[("id", "1")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{}: delete refused", s.name());
        let res = b.get("/").await;
        assert_eq!(location(&res), "/portal");
    })
    .await;
}

#[tokio::test]
async fn unknown_pages_answer_404() {
    each_backend(&[], async |s| {
        let b = s.browser();
        assert_eq!(b.get("/no-such-page").await.status(), 404, "{}", s.name());
        b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD, "").await;
        let res = b.get("/admin/no-such-module").await;
        assert_eq!(res.status(), 404, "{}", s.name());
        assert!(res.text().await.unwrap().contains("Page not found"));
        assert_eq!(b.get("/admin/users").await.status(), 200);
    })
    .await;
}

#[tokio::test]
async fn state_changes_from_another_site_are_refused() {
    each_backend(&[], async |s| {
        let b = s.browser();
        let res = b
            .post_admin_sign_in(&[("Origin", "https://evil.example")])
            .await;
        assert_eq!(res.status(), 403, "{}", s.name());
        assert!(res.text().await.unwrap().contains("another site"));
        let res = b
            .post_admin_sign_in(&[("Sec-Fetch-Site", "cross-site")])
            .await;
        assert_eq!(res.status(), 403);
        // The configured PUBLIC_URL origin is accepted.
        let res = b
            .post_admin_sign_in(&[("Origin", "http://didtron.test")])
            .await;
        assert_eq!(res.status(), 200, "{}", s.name());
    })
    .await;
}

#[tokio::test]
async fn an_idle_session_expires() {
    each_backend(&[("SESSION_IDLE_TIMEOUT_SECS", "2")], async |s| {
        let b = s.browser();
        b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD, "").await;
        assert_eq!(b.get("/admin").await.status(), 200, "{}", s.name());
        tokio::time::sleep(Duration::from_millis(3_000)).await;
        let res = b.get("/admin").await;
        assert_eq!(res.status(), 303, "{}: idle session ended", s.name());
        assert_eq!(location(&res), "/sign-in?next=/admin");
    })
    .await;
}

#[tokio::test]
async fn sign_in_sets_a_strict_session_cookie_and_rotates_it() {
    each_backend(&[], async |s| {
        let b = s.browser();
        let origin = [("Origin", b.base.as_str())];
        let set_cookie = |res: &reqwest::Response| {
            res.headers()
                .get("set-cookie")
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned()
        };
        let cookie = set_cookie(&b.post_admin_sign_in(&origin).await);
        assert!(cookie.starts_with("didtron_session="), "{cookie}");
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
            "{}: {cookie}",
            s.name()
        );
        assert!(!cookie.contains("Secure"), "PUBLIC_URL is http here");
        let rotated = set_cookie(&b.post_admin_sign_in(&origin).await);
        let id = |c: &str| c.split(';').next().unwrap().to_owned();
        assert_ne!(
            id(&cookie),
            id(&rotated),
            "{}: a new id at each sign-in",
            s.name()
        );
    })
    .await;
}

#[tokio::test]
async fn health_readiness_metrics_and_response_time() {
    each_backend(&[], async |s| {
        let b = s.browser();
        let res = b.get("/healthz").await;
        assert_eq!(res.status(), 200);
        let timing = res
            .headers()
            .get("x-response-time")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        assert!(timing.ends_with("ms"), "{timing}");
        let ready: serde_json::Value = b.get("/readyz").await.json().await.unwrap();
        assert_eq!(ready["ready"], true, "{}: {ready}", s.name());
        assert_eq!(ready["database"], "ok");
        if s.env.redis_url.is_some() {
            assert_eq!(ready["redis"], "ok");
        }
        b.get("/sign-in").await;
        let metrics = b.get("/metrics").await.text().await.unwrap();
        assert!(metrics.contains("http_requests_total"), "{metrics}");
        assert!(metrics.contains("http_request_duration_seconds_bucket"));
        let page = b.get("/sign-in").await;
        assert_eq!(page.status(), 200);
        assert!(page.text().await.unwrap().contains("name=\"password\""));
    })
    .await;
}

/// Every admin page a signed-in admin asks for is answered whole while the page routes
/// are asked for again and again in the same process, as every server start does: waves
/// of 8 concurrent `GET /admin`, each given 25 s, at least 20 waves and until the routes
/// were asked for 200 times (every 20 ms, on another thread).
///
/// Listing the routes renders the app with every resource's load suppressed by a
/// process-wide Leptos flag. When each router listed them, pages rendering meanwhile in
/// any other server of the process never finished: this test lost one page in 160 or
/// so, and the other HTTP tests (one server each, run side by side) about one in 400,
/// the CI hang of `an_idle_session_expires`. [`server::web::page_routes`] lists them
/// once per process.
#[tokio::test]
async fn admin_pages_rendered_together_all_finish() {
    each_backend(&[], async |s| {
        let b = s.browser();
        let (status, _) = b.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD, "").await;
        assert_eq!(status, 200, "{}: signed in", s.name());
        let asked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let listing = tokio::spawn({
            let asked = asked.clone();
            async move {
                while asked.load(Relaxed) < 200 {
                    tokio::task::spawn_blocking(|| server::web::page_routes().len())
                        .await
                        .unwrap();
                    asked.fetch_add(1, Relaxed);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        });
        let (mut whole, mut stalled, mut wave) = (0, Vec::new(), 0);
        while wave < 20 || asked.load(Relaxed) < 200 {
            let mut pages = tokio::task::JoinSet::new();
            for i in 0..8 {
                let (http, url) = (b.http.clone(), format!("{}/admin", b.base));
                pages.spawn(async move {
                    let page = async { http.get(&url).send().await?.text().await };
                    (
                        wave * 8 + i,
                        tokio::time::timeout(Duration::from_secs(25), page).await,
                    )
                });
            }
            while let Some(done) = pages.join_next().await {
                match done.unwrap() {
                    (_, Ok(Ok(html))) if html.contains(ADMIN_EMAIL) && html.contains("</html>") => {
                        whole += 1
                    }
                    (n, other) => stalled.push(format!("request {n}: {other:?}")),
                }
            }
            wave += 1;
        }
        listing.await.unwrap();
        assert!(
            stalled.is_empty(),
            "{}: {whole} of {} admin pages came whole while the page routes were listed; \
             not: {stalled:#?}",
            s.name(),
            wave * 8
        );
    })
    .await;
}
