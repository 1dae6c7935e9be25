//! The axum router: Leptos pages and server functions, health, metrics, and the
//! middleware every request passes (response time, metrics, Origin check, sessions,
//! the sign-in guard of the portals).

use std::time::Instant;

use app::server::{AppState, AuthSession, Backend};
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use axum_login::AuthManagerLayerBuilder;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::config::Config;
use crate::sessions::AnySessionStore;

/// Everything the router's own handlers need, behind one `Arc`: axum clones the state
/// for every extractor and middleware of every request (twice per routing request), so a
/// clone is one reference count, not a copy of the Leptos options' strings and of every
/// handle in [`AppState`] (measured: those copies were about 5 % of the routing API's
/// CPU, BENCHMARKS.md).
#[derive(Clone)]
pub struct RouterState(std::sync::Arc<RouterShared>);

impl std::ops::Deref for RouterState {
    type Target = RouterShared;

    fn deref(&self) -> &RouterShared {
        &self.0
    }
}

/// What [`RouterState`] shares.
pub struct RouterShared {
    pub leptos: LeptosOptions,
    pub app: AppState,
    pub allowed_origin: String,
    pub metrics: metrics_exporter_prometheus::PrometheusHandle,
    /// Switch API keys checked in the last seconds (`/api/v1`).
    pub api_keys: service::cdrs::api_keys::KeyCache,
    /// Test-only: a path whose requests wait first (`DIDTRON_TEST_DELAY`).
    pub test_delay: Option<(String, std::time::Duration)>,
}

impl axum::extract::FromRef<RouterState> for LeptosOptions {
    fn from_ref(s: &RouterState) -> Self {
        s.leptos.clone()
    }
}

/// Builds the whole HTTP application.
pub fn router(
    config: &Config,
    app_state: AppState,
    store: AnySessionStore,
    api_keys: service::cdrs::api_keys::KeyCache,
) -> Router {
    let leptos = LeptosOptions::builder()
        .output_name("didtron")
        .site_root(config.site_root.as_str())
        .site_pkg_dir("pkg")
        .site_addr(config.bind_addr)
        .build();
    let state = RouterState(std::sync::Arc::new(RouterShared {
        leptos: leptos.clone(),
        app: app_state.clone(),
        allowed_origin: config.public_url.origin().ascii_serialization(),
        metrics: crate::telemetry::prometheus(),
        api_keys,
        test_delay: config.test_delay.clone(),
    }));
    let routes = page_routes().to_vec();
    let context_state = app_state.clone();
    let session_layer = SessionManagerLayer::new(store)
        .with_name("didtron_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(config.is_https())
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(time::Duration::seconds(
            config.session_idle_timeout.as_secs() as i64,
        )));
    let auth_layer = AuthManagerLayerBuilder::new(
        Backend {
            db: app_state.db.clone(),
        },
        session_layer,
    )
    .build();

    // The switch-facing API: no session, no sign-in guard, no Origin check (keys, not
    // cookies, authenticate it); observed like every other request.
    let api = crate::api::routes()
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state.clone());

    Router::new()
        .route("/", get(home))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .merge(crate::rate_plans::routes())
        .merge(crate::cdr_files::routes())
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(context_state.clone()),
            {
                let leptos = leptos.clone();
                move || app::shell(leptos.clone())
            },
        )
        .fallback(leptos_axum::file_and_error_handler::<RouterState, _>(
            app::shell,
        ))
        .layer(middleware::from_fn(portal_guard))
        .layer(auth_layer)
        .layer(middleware::from_fn_with_state(state.clone(), origin_check))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
        .merge(api)
}

/// The Leptos pages' routes (what [`router`] serves with Leptos), listed once per
/// process and shared by every router built after.
///
/// Listing them renders the whole app with every resource's load suppressed, and that
/// suppression is a process-wide flag of Leptos (`leptos_server`'s
/// `SuppressResourceLoad`, a static `AtomicBool`): a page rendered anywhere in the
/// process while a listing runs gets resources that never load, and its response never
/// finishes. Listed per router, a process that built a second router while the first
/// served pages (every HTTP test: one server per test in one test binary) lost about one
/// page in 400 so. Listed once, before the first router exists, no page can render
/// during the listing; later calls only read the list. Upstream: leptos-rs/leptos#4773
/// (open).
pub fn page_routes() -> &'static [AxumRouteListing] {
    static ROUTES: std::sync::OnceLock<Vec<AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(app::App))
}

/// `/`: the signed-in user's home, else sign-in.
async fn home(auth: AuthSession) -> Redirect {
    match auth.user {
        Some(user) => Redirect::to(user.0.role.home_path()),
        None => Redirect::to("/sign-in"),
    }
}

/// `/healthz`: the process is up (no dependency is asked).
async fn healthz() -> &'static str {
    "ok"
}

/// `/readyz`: 200 when the database (and Redis, when configured) answer, else 503 with
/// what failed.
async fn readyz(State(state): State<RouterState>) -> Response {
    let database = match state.app.db.ping().await {
        Ok(()) => "ok".to_owned(),
        Err(e) => format!("error: {e}"),
    };
    let kv = match (&state.app.kv, state.app.kv.ping().await) {
        (service::kv::Kv::Local(_), _) => "not configured (in-process)".to_owned(),
        (_, Ok(_)) => "ok".to_owned(),
        (_, Err(e)) => format!("error: {e}"),
    };
    let ready = database == "ok" && !kv.starts_with("error");
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(serde_json::json!({ "ready": ready, "database": database, "redis": kv })),
    )
        .into_response()
}

/// `/metrics`: Prometheus text exposition.
async fn metrics_text(State(state): State<RouterState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response()
}

/// What System Status calls the operation a request is: `(kind, name)` — a page by its
/// admin module's route (the module registry, so a new module is monitored without
/// code of its own), a server function by its endpoint, an API call by method and
/// route. Static files, health and metrics are not operations.
pub fn operation(
    method: &Method,
    path: &str,
    matched: Option<&str>,
) -> Option<(&'static str, String)> {
    if path.starts_with("/fn/") {
        return Some(("fn", path.to_owned()));
    }
    if path.starts_with("/api/v1/") {
        return Some(("api", format!("{method} {}", matched.unwrap_or("other"))));
    }
    if *method != Method::GET {
        return None;
    }
    if path == "/admin" || path.starts_with("/admin/") {
        let name =
            app::admin::registry::module_for(path).map_or("/admin (no such page)", |m| m.route);
        return Some(("page", name.to_owned()));
    }
    if path == "/portal" || path.starts_with("/portal/") {
        return Some(("page", "/portal".to_owned()));
    }
    if path == "/sign-in" {
        return Some(("page", "/sign-in".to_owned()));
    }
    None
}

/// Times every request: `X-Response-Time` header, `http_requests_total` and
/// `http_request_duration_seconds` by method, route pattern and status; and records it
/// for System Status (count, 5xx errors with their correlation id, latency).
async fn observe(State(state): State<RouterState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let op = operation(
        req.method(),
        req.uri().path(),
        req.extensions().get::<MatchedPath>().map(|p| p.as_str()),
    );
    if let Some((path, delay)) = &state.test_delay {
        if req.uri().path() == path {
            tokio::time::sleep(*delay).await;
        }
    }
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| {
            if req.uri().path().starts_with("/pkg/") {
                "/pkg/*".into()
            } else {
                "other".into()
            }
        });
    let mut response = next.run(req).await;
    let elapsed = start.elapsed();
    let code = response.status().as_u16();
    if let Some((kind, name)) = &op {
        let failed = code >= 500;
        let status_text = code.to_string();
        state
            .app
            .status
            .record(kind, name, elapsed, !failed, Some(&status_text));
        if failed {
            let correlation = response
                .headers()
                .get(app::server::CORRELATION_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            state.app.status.error(kind, name, code, correlation);
        }
    }
    let status = code.to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels).record(elapsed.as_secs_f64());
    if let Ok(value) = HeaderValue::from_str(&format!("{:.3}ms", elapsed.as_secs_f64() * 1000.0)) {
        response.headers_mut().insert("x-response-time", value);
    }
    response
}

/// Refuses state-changing requests (anything but GET, HEAD, OPTIONS) that a browser sent
/// from another site: the `Origin` must be `PUBLIC_URL`'s origin or this request's own
/// host; without `Origin`, `Sec-Fetch-Site: cross-site` is refused. Machines that send
/// neither (the switch, scripts) pass. (OWASP CSRF Prevention, "Verifying Origin".)
async fn origin_check(State(state): State<RouterState>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return next.run(req).await;
    }
    let headers = req.headers();
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let allowed = match origin {
        Some(origin) => {
            let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
            origin == state.allowed_origin
                || host.is_some_and(|h| {
                    origin == format!("http://{h}") || origin == format!("https://{h}")
                })
        }
        None => headers
            .get("sec-fetch-site")
            .and_then(|v| v.to_str().ok())
            .is_none_or(|site| site != "cross-site"),
    };
    if allowed {
        next.run(req).await
    } else {
        tracing::warn!(origin = origin.unwrap_or("-"), path = %req.uri().path(), "cross-origin request refused");
        (
            StatusCode::FORBIDDEN,
            "Refused: this request came from another site. Open DIDTron directly and try again.",
        )
            .into_response()
    }
}

/// Page loads of `/admin…` and `/portal…` without a session go to
/// `/sign-in?next=<path>` (303), so a signed-out visitor comes back after signing in.
async fn portal_guard(auth: AuthSession, req: Request<Body>, next: Next) -> Response {
    let path = req.uri().path();
    let guarded = ["/admin", "/portal"]
        .iter()
        .any(|p| path == *p || path.starts_with(&format!("{p}/")));
    if guarded && auth.user.is_none() && req.method() == Method::GET {
        let here = req
            .uri()
            .path_and_query()
            .map(|pq| pq.as_str())
            .unwrap_or(path);
        let target = format!(
            "/sign-in?next={}",
            app::components::encode_query_value(here)
        );
        return Redirect::to(&target).into_response();
    }
    next.run(req).await
}
