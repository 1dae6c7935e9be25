//! Starts the real DIDTron HTTP server on a random port, exactly as `didtron serve` does,
//! on a fresh database of the backend under test.

use std::collections::HashMap;
use std::time::Duration;

use server::config::Config;
use service::testing::TestEnv;

pub const ADMIN_EMAIL: &str = "root@didtron.test";
pub const ADMIN_PASSWORD: &str = "admin password 123";
pub const CUSTOMER_EMAIL: &str = "noc@acme.test";
pub const CUSTOMER_PASSWORD: &str = "customer password 123";

pub struct TestServer {
    pub base: String,
    pub env: TestEnv,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// A server on `env` with `overrides` on top of the test configuration. It has a super
/// admin (`ADMIN_*`) and a customer user (`CUSTOMER_*`) of carrier "Acme Telecom".
pub async fn spawn(env: TestEnv, overrides: &[(&str, &str)]) -> TestServer {
    let mut vars: HashMap<String, String> = HashMap::from([
        ("DATABASE_URL".into(), env.database_url.clone()),
        ("DIDTRON_ADMIN_EMAIL".into(), ADMIN_EMAIL.into()),
        ("DIDTRON_ADMIN_PASSWORD".into(), ADMIN_PASSWORD.into()),
        ("BIND_ADDR".into(), "127.0.0.1:0".into()),
        ("PUBLIC_URL".into(), "http://didtron.test".into()),
        ("SHUTDOWN_GRACE_SECS".into(), "1".into()),
        (
            "DIDTRON_FILES_DIR".into(),
            std::env::temp_dir()
                .join(format!("didtron-files-{}", uuid::Uuid::new_v4().simple()))
                .to_string_lossy()
                .into_owned(),
        ),
    ]);
    if let Some(redis) = &env.redis_url {
        vars.insert("REDIS_URL".into(), redis.clone());
        vars.insert("REDIS_KEY_PREFIX".into(), env.kv_prefix.clone());
    }
    for (k, v) in overrides {
        vars.insert(k.to_string(), v.to_string());
    }
    let config =
        Config::from_lookup(|k| vars.get(k).cloned()).expect("test configuration is valid");
    let acme = service::carriers::create_carrier(
        &env.db,
        &service::audit::Actor::system(),
        service::carriers::NewCarrier {
            name: "Acme Telecom".into(),
            account_code: "ACME".into(),
            carrier_type: "customer".into(),
            currency: "EUR".into(),
        },
    )
    .await
    .unwrap();
    let didtron = server::start(config).await.expect("server starts");
    service::users::create_user(
        &env.db,
        service::users::NewUser {
            email: CUSTOMER_EMAIL.into(),
            password: CUSTOMER_PASSWORD.into(),
            role: domain::Role::Customer,
            carrier_id: Some(acme.id),
        },
    )
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        didtron
            .serve(listener, async move {
                let _ = rx.await;
            })
            .await
            .unwrap();
    });
    TestServer {
        base,
        env,
        shutdown: Some(tx),
        task: Some(task),
    }
}

impl TestServer {
    /// A browser-like client: its own cookie jar, no automatic redirects.
    pub fn browser(&self) -> Browser {
        Browser {
            base: self.base.clone(),
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
        }
    }

    pub fn name(&self) -> &'static str {
        self.env.name
    }

    /// Stops the server and removes its database.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
        self.env.cleanup().await;
    }
}

pub struct Browser {
    pub base: String,
    pub http: reqwest::Client,
}

impl Browser {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        let url = format!("{}{path}", self.base);
        match self.http.get(&url).send().await {
            Ok(res) => res,
            Err(e) => panic!("GET {url}: {e:?}"),
        }
    }

    /// Posts the admin's sign-in form with exactly `headers` (e.g. a foreign `Origin`).
    pub async fn post_admin_sign_in(&self, headers: &[(&str, &str)]) -> reqwest::Response {
        let mut req = self.http.post(format!("{}/fn/sign-in", self.base)).form(&[
            ("email", ADMIN_EMAIL),
            ("password", ADMIN_PASSWORD),
            ("next", ""),
        ]);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        req.send().await.unwrap()
    }

    /// Posts the sign-in form from our own origin; returns status and body.
    pub async fn sign_in(&self, email: &str, password: &str, next: &str) -> (u16, String) {
        let res = self
            .http
            .post(format!("{}/fn/sign-in", self.base))
            .header("Origin", &self.base)
            .header("Accept", "application/json")
            .form(&[("email", email), ("password", password), ("next", next)])
            .send()
            .await
            .unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }

    pub async fn sign_out(&self) -> u16 {
        self.http
            .post(format!("{}/fn/sign-out", self.base))
            .header("Origin", &self.base)
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

pub fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}
