//! `/api/v1`: the switch-facing API. Authenticated by an API key (`Authorization:
//! Bearer dtk_…`, `X-API-Key: dtk_…`, or HTTP Basic (RFC 7617) with the key as the
//! password and any user name, for clients such as Kamailio's `http_client` that can
//! send only Basic credentials), not by a session; answers are JSON.
//!
//! - `POST /api/v1/route`: the call authorization and routing decision for one INVITE
//!   ([`RouteRequest`] → [`RouteAnswer`], see [`service::routing`]); `200` with
//!   `{"action":"route",…}` or `{"action":"reject","code":…}`; `400` naming the bad
//!   field; `401` without a valid key.
//! - `GET /api/v1/openapi.json`: the OpenAPI 3.1 document of this API (no key needed).
//! - `POST /api/v1/cdrs`: one JSON CDR, a JSON array of them, or NDJSON, in the Kamailio
//!   `acc_json` shape or DIDTron's own ([`domain::cdr`]). `200` with the
//!   [`service::cdrs::IngestReport`] once every record is stored (replays included, which
//!   change nothing); `400` with every unreadable record (nothing stored), unless the
//!   query says `?unreadable=store`: then such records are stored `rejected` as they
//!   came and counted in the report's `unreadable` ([`service::cdrs::Unreadable`]);
//!   `401` without a valid key; `503` when the database failed (nothing stored: send
//!   again). The calls' CDRs give back their channels and credit reservations.

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::web::RouterState;

/// Largest CDR request body: 32 MiB (10 000 records of about 3 KB).
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// The `/api/v1` routes.
pub fn routes() -> Router<RouterState> {
    Router::new()
        .route(
            "/api/v1/cdrs",
            post(post_cdrs).layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
        )
        .route(
            "/api/v1/route",
            post(post_route).layer(DefaultBodyLimit::max(64 * 1024)),
        )
        .route("/api/v1/openapi.json", get(openapi))
}

/// The OpenAPI 3.1 document of `/api/v1` (`server/openapi.json`).
pub const OPENAPI: &str = include_str!("../openapi.json");

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

fn problem(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// `503` for a failure of ours: the error is logged under a fresh correlation id, which
/// the answer carries (`correlation_id`, and the `x-correlation-id` header System Status
/// lists); the error itself is never sent.
fn unavailable(message: &str, error: &dyn std::fmt::Display) -> Response {
    let correlation_id = uuid::Uuid::now_v7().to_string();
    tracing::error!(%correlation_id, %error, "{message}");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(app::server::CORRELATION_HEADER, correlation_id.clone())],
        Json(json!({ "error": message, "correlation_id": correlation_id })),
    )
        .into_response()
}

/// `401` with the challenge RFC 9110 §11.6.1 requires: Bearer, or Basic with the key
/// as the password.
fn unauthorized(message: &str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(
            header::WWW_AUTHENTICATE,
            "Bearer realm=\"DIDTron API\", Basic realm=\"DIDTron API\"",
        )],
        Json(json!({ "error": message })),
    )
        .into_response()
}

/// The key the request presents: from `Authorization: Bearer KEY`, `Authorization:
/// Basic base64(user:KEY)` (RFC 7617; the user name is ignored) or `X-API-Key: KEY`.
fn presented_key(headers: &HeaderMap) -> Option<String> {
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let (scheme, credentials) = v.trim().split_once(' ')?;
        if scheme.eq_ignore_ascii_case("bearer") {
            return Some(credentials.trim().to_owned());
        }
        if scheme.eq_ignore_ascii_case("basic") {
            use base64::Engine as _;
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(credentials.trim())
                .ok()?;
            let pair = String::from_utf8(decoded).ok()?;
            let (_user, key) = pair.split_once(':')?;
            return Some(key.to_owned());
        }
        return None;
    }
    headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(|k| k.trim().to_owned())
}

/// Checks the key against the database (a revoked key is refused at once); the
/// source's id, or the response to send.
async fn source(state: &RouterState, headers: &HeaderMap) -> Result<i64, Response> {
    authenticate(state, headers, false).await
}

/// Checks the key, trusting a check of the last [`service::cdrs::api_keys::KEY_CACHE_SECS`]
/// when `cached` (the routing API: every INVITE; a revoked key stops within that time).
async fn authenticate(
    state: &RouterState,
    headers: &HeaderMap,
    cached: bool,
) -> Result<i64, Response> {
    let Some(key) = presented_key(headers) else {
        return Err(unauthorized(
            "send the source's API key as `Authorization: Bearer dtk_…`, `X-API-Key`, or \
             as the password of HTTP Basic authentication",
        ));
    };
    let checked = if cached {
        state.api_keys.authenticate(&state.app.db, &key).await
    } else {
        service::cdrs::api_keys::authenticate(&state.app.db, &key)
            .await
            .map(|k| k.map(|k| k.id))
    };
    match checked {
        Ok(Some(id)) => Ok(id),
        Ok(None) => Err(unauthorized("the API key is unknown or revoked")),
        Err(e) => Err(unavailable("the database is unavailable; send again", &e)),
    }
}

/// The query of `POST /api/v1/cdrs`: `?unreadable=store` keeps the records that cannot
/// be read (see [`service::cdrs::Unreadable`]); without it they refuse the request.
#[derive(Debug, Default, Deserialize)]
struct CdrQuery {
    #[serde(default)]
    unreadable: service::cdrs::Unreadable,
}

async fn post_cdrs(
    State(state): State<RouterState>,
    query: Result<Query<CdrQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let source_id = match source(&state, &headers).await {
        Ok(id) => id,
        Err(response) => return response,
    };
    let Ok(Query(query)) = query else {
        return problem(
            StatusCode::BAD_REQUEST,
            "the query parameter `unreadable` is `refuse` (the default) or `store`",
        );
    };
    let records = match service::cdrs::parse_body(&body, query.unreadable) {
        Ok(records) => records,
        Err(errors) => {
            let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({
                    "error": format!("{} record(s) cannot be read; nothing was stored", errors.len()),
                    "errors": errors,
                    "messages": text,
                })),
            )
                .into_response();
        }
    };
    let app = &state.app;
    match service::cdrs::ingest_and_release(&app.db, &app.kv, &app.decks, source_id, records).await
    {
        Ok(report) => (StatusCode::OK, Json(report)).into_response(),
        Err(e) => unavailable(
            "the CDRs could not be stored; nothing was stored, send again",
            &format!("CDR ingest of source {source_id}: {e}"),
        ),
    }
}

/// One INVITE to decide (`POST /api/v1/route`). The harness's names (`src_ip`,
/// `caller`, `callee`) are accepted too.
#[derive(Debug, Deserialize)]
pub struct RouteRequest {
    /// Where the INVITE came from: an IPv4 or IPv6 address.
    #[serde(alias = "src_ip")]
    pub source_ip: String,
    #[serde(default, alias = "src_port")]
    pub source_port: Option<u16>,
    /// The calling number (From user, may be empty or `anonymous`).
    #[serde(default, alias = "caller")]
    pub a_number: String,
    /// The called number as dialled (Request-URI user), tech prefix included.
    #[serde(alias = "callee")]
    pub b_number: String,
    #[serde(default)]
    pub call_id: String,
    /// SIP headers of interest: a `P-Asserted-Identity` (RFC 3325) gives the A-number
    /// when the From user is empty or anonymous.
    #[serde(default)]
    pub headers: std::collections::HashMap<String, String>,
    /// Whether the answer carries `explain` (default `true`). A switch that reads only
    /// the action, routes and reason sends `false`: the decision formats no text for
    /// the steps that passed and the answer is a tenth of the size.
    #[serde(default = "explain_by_default")]
    pub explain: bool,
}

fn explain_by_default() -> bool {
    true
}

/// The answer to a [`RouteRequest`].
#[derive(Debug, Serialize)]
pub struct RouteAnswer {
    /// `route` or `reject`.
    pub action: &'static str,
    /// `reject`: the SIP code to answer (403, 402, 404, 484, 503) and its reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `route`: best first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteOut>,
    pub customer_interconnect: Option<i64>,
    /// `route`: a regular expression of the final responses after which the switch
    /// tries the next route (for Kamailio's `t_check_status`), e.g. `^(5[0-9][0-9]|408)$`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failover_on: Option<String>,
    /// `route`: responses that end the call even when `failover_on` matches them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_failover: Option<String>,
    /// Every decision with its outcome, the sell and buy prices and margins, and the
    /// suppliers left out and why; left out when the request says `"explain": false`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explain: Option<Explain>,
}

/// One route in a [`RouteAnswer`].
#[derive(Debug, Serialize)]
pub struct RouteOut {
    pub uri: domain::routing::CompactString,
    pub b_number: domain::routing::CompactString,
    pub a_number: domain::routing::CompactString,
    pub supplier_interconnect: i64,
    pub max_duration_s: u32,
}

/// The explanation of a [`RouteAnswer`].
#[derive(Debug, Serialize)]
pub struct Explain {
    pub steps: Vec<domain::routing::Step>,
    pub a_number: String,
    pub b_number: String,
    pub sell: Option<domain::routing::Quote>,
    pub routes: Vec<domain::routing::Route>,
    pub excluded: Vec<domain::routing::Excluded>,
    pub max_duration_s: u32,
}

/// The answer for `decision` (shared by the API and its tests), with its explanation
/// when `explain`.
pub fn route_answer(decision: domain::routing::Decision, explain: bool) -> RouteAnswer {
    let regex =
        |items: Vec<String>| (!items.is_empty()).then(|| format!("^({})$", items.join("|")));
    let failover_on = regex(
        decision
            .failover_on
            .iter()
            .map(|c| match c {
                domain::routing::SipCodes::Code(c) => c.to_string(),
                domain::routing::SipCodes::Class(d) => format!("{d}[0-9][0-9]"),
            })
            .collect(),
    );
    let no_failover = regex(decision.no_failover.iter().map(u16::to_string).collect());
    let (action, code, reason) = match &decision.refusal {
        Some(r) => ("reject", Some(r.code), Some(r.reason.clone())),
        None => ("route", None, None),
    };
    let routes = decision
        .routes
        .iter()
        .map(|r| RouteOut {
            uri: r.uri.clone(),
            b_number: r.b_number.clone(),
            a_number: r.a_number.clone(),
            supplier_interconnect: r.supplier_interconnect,
            max_duration_s: r.max_duration_s,
        })
        .collect();
    let routed = decision.refusal.is_none();
    RouteAnswer {
        action,
        code,
        reason,
        routes,
        customer_interconnect: decision.customer_interconnect,
        failover_on: if routed { failover_on } else { None },
        no_failover: if routed { no_failover } else { None },
        explain: explain.then_some(Explain {
            steps: decision.steps,
            a_number: decision.a_number,
            b_number: decision.b_number,
            sell: decision.sell,
            routes: decision.routes,
            excluded: decision.excluded,
            max_duration_s: decision.max_duration_s,
        }),
    }
}

/// The user part of a SIP identity header value: `"Alice" <sip:+4420…@host>` → `+4420…`.
fn identity_user(value: &str) -> Option<&str> {
    let uri = match (value.find('<'), value.find('>')) {
        (Some(a), Some(b)) if a < b => &value[a + 1..b],
        _ => value.trim(),
    };
    let rest = uri
        .strip_prefix("sips:")
        .or_else(|| uri.strip_prefix("sip:"))
        .or_else(|| uri.strip_prefix("tel:"))?;
    let user = rest.split(['@', ';']).next()?;
    (!user.is_empty()).then_some(user)
}

async fn post_route(State(state): State<RouterState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(response) = authenticate(&state, &headers, true).await {
        return response;
    }
    let request: RouteRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return problem(
                StatusCode::BAD_REQUEST,
                &format!(
                    "the body is not a routing request: {e} (source_ip and b_number are required)"
                ),
            )
        }
    };
    let Ok(source_ip) = request.source_ip.trim().parse::<std::net::IpAddr>() else {
        return problem(
            StatusCode::BAD_REQUEST,
            &format!("source_ip `{}` is not an IP address", request.source_ip),
        );
    };
    if request.b_number.trim().is_empty() {
        return problem(StatusCode::BAD_REQUEST, "b_number is empty");
    }
    let from = request.a_number.trim();
    let a_number = if from.is_empty() || from.eq_ignore_ascii_case("anonymous") {
        request
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("p-asserted-identity"))
            .and_then(|(_, v)| identity_user(v))
            .unwrap_or(from)
    } else {
        from
    };
    let query = domain::routing::RouteQuery {
        source_ip,
        a_number,
        b_number: &request.b_number,
        call_id: &request.call_id,
        at: chrono::Utc::now(),
        ingress_interconnect_id: None,
        explain: request.explain,
    };
    let decision = state.app.router.decide(&query).await;
    (
        StatusCode::OK,
        Json(route_answer(decision, request.explain)),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_user_reads_the_uri_user() {
        assert_eq!(
            identity_user("\"Alice\" <sip:+442071234567@example.com>"),
            Some("+442071234567")
        );
        assert_eq!(
            identity_user("<tel:+15551234567;cpc=ordinary>"),
            Some("+15551234567")
        );
        assert_eq!(identity_user("sip:4420@h"), Some("4420"));
        assert_eq!(identity_user("nonsense"), None);
    }

    #[test]
    fn the_openapi_document_describes_both_endpoints() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        for path in ["/api/v1/route", "/api/v1/cdrs"] {
            assert!(doc["paths"][path]["post"].is_object(), "{path}");
        }
    }
}
