//! `/api/v1`: the switch-facing API. Authenticated by an API key (`Authorization:
//! Bearer dtk_…`, `X-API-Key: dtk_…`, or HTTP Basic (RFC 7617) with the key as the
//! password and any user name, for clients such as Kamailio's `http_client` that can
//! send only Basic credentials), not by a session; answers are JSON.
//!
//! - `POST /api/v1/cdrs`: one JSON CDR, a JSON array of them, or NDJSON, in the Kamailio
//!   `acc_json` shape or DIDTron's own ([`domain::cdr`]). `200` with the
//!   [`service::cdrs::IngestReport`] once every record is stored (replays included, which
//!   change nothing); `400` with every unreadable record (nothing stored); `401` without
//!   a valid key; `503` when the database failed (nothing stored: send again).

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::json;

use crate::web::RouterState;

/// Largest CDR request body: 32 MiB (10 000 records of about 3 KB).
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// The `/api/v1` routes.
pub fn routes() -> Router<RouterState> {
    Router::new().route(
        "/api/v1/cdrs",
        post(post_cdrs).layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
    )
}

fn problem(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
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

/// Checks the key; the source's id, or the response to send.
async fn source(state: &RouterState, headers: &HeaderMap) -> Result<i64, Response> {
    let Some(key) = presented_key(headers) else {
        return Err(unauthorized(
            "send the source's API key as `Authorization: Bearer dtk_…`, `X-API-Key`, or \
             as the password of HTTP Basic authentication",
        ));
    };
    match service::cdrs::api_keys::authenticate(&state.app.db, &key).await {
        Ok(Some(k)) => Ok(k.id),
        Ok(None) => Err(unauthorized("the API key is unknown or revoked")),
        Err(e) => {
            tracing::error!(error = %e, "API key lookup failed");
            Err(problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "the database is unavailable; send again",
            ))
        }
    }
}

async fn post_cdrs(State(state): State<RouterState>, headers: HeaderMap, body: Bytes) -> Response {
    let source_id = match source(&state, &headers).await {
        Ok(id) => id,
        Err(response) => return response,
    };
    let records = match service::cdrs::parse_body(&body) {
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
    match service::cdrs::ingest(&state.app.db, &state.app.decks, source_id, records).await {
        Ok(report) => (StatusCode::OK, Json(report)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, source_id, "CDR ingest failed");
            problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "the CDRs could not be stored; nothing was stored, send again",
            )
        }
    }
}
