//! `POST /admin/cdr-files/upload`: a CDR file uploaded from the CDR files page (a
//! multipart form POST, so it works before the WASM has loaded), and
//! `GET /admin/cdr-exports/{id}/cdrs.csv`: a finished CDR export. Both need an admin
//! session; the upload's `Origin` is checked by the router's origin middleware like
//! every other write. Imports and exports run as background jobs
//! (`service::cdrs::files`, `service::cdrs::export`).

use app::server::AuthSession;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use domain::cdr::views::{CdrFileFormat, CdrFileOptions};
use service::cdrs::files::{self, MAX_FILE_BYTES};
use service::ServiceError;

use crate::rate_plans::{staff, uuid_like};
use crate::web::RouterState;

/// `POST /admin/cdr-files/upload` and `GET /admin/cdr-exports/{id}/cdrs.csv`.
pub fn routes() -> Router<RouterState> {
    Router::new()
        .route(
            "/admin/cdr-files/upload",
            post(upload).layer(DefaultBodyLimit::max(MAX_FILE_BYTES + 64 * 1024)),
        )
        .route("/admin/cdr-exports/{id}/cdrs.csv", get(download))
}

/// A finished export's CSV, as an attachment.
async fn download(
    auth: AuthSession,
    State(state): State<RouterState>,
    Path(id): Path<i64>,
) -> Response {
    if let Err(r) = staff(&auth) {
        return r.into_response();
    }
    let ctx = service::jobs::JobContext {
        db: state.app.db.clone(),
        files: state.app.files.clone(),
        kv: state.app.kv.clone(),
    };
    match service::cdrs::export::file(&ctx, id).await {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"cdrs-export-{id}.csv\""),
                ),
            ],
            Body::from(bytes),
        )
            .into_response(),
        Err(ServiceError::NotFound(_)) => {
            (StatusCode::NOT_FOUND, "no such finished export").into_response()
        }
        Err(e) => {
            let reference = uuid_like();
            tracing::error!(correlation_id = %reference, error = %e, "CDR export download failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the download failed on our side (reference {reference})"),
            )
                .into_response()
        }
    }
}

fn back(query: &str) -> Response {
    Redirect::to(&format!("/admin/cdr-files?{query}")).into_response()
}

fn back_with_error(message: &str) -> Response {
    back(&format!(
        "upload_error={}",
        app::components::encode_query_value(message)
    ))
}

/// What a form field names, for an error message.
fn label(field: &str) -> &'static str {
    match field {
        "file" => "CDR file",
        "format" => "Format",
        "source_id" => "File the calls under",
        "customer_interconnect_id" => "Customer interconnect",
        "supplier_interconnect_id" => "Supplier interconnect",
        _ => "The form",
    }
}

fn id_field(text: &str) -> Option<i64> {
    text.trim().parse().ok()
}

/// Stores the file and queues its import, then sends the browser back to the CDR files
/// page (303), which follows the import; a refused upload goes back with the reason,
/// naming the field.
async fn upload(
    auth: AuthSession,
    State(state): State<RouterState>,
    mut multipart: Multipart,
) -> Response {
    let actor = match staff(&auth) {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    let mut file: Option<(String, Vec<u8>)> = None;
    let mut options = CdrFileOptions::default();
    loop {
        let field = match multipart.next_field().await {
            Ok(None) => break,
            Ok(Some(field)) => field,
            Err(e) => return back_with_error(&format!("The upload could not be read: {e}")),
        };
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            let file_name = field.file_name().unwrap_or("cdrs.csv").to_owned();
            match field.bytes().await {
                Ok(bytes) => file = Some((file_name, bytes.to_vec())),
                Err(e) => return back_with_error(&format!("The upload did not finish: {e}")),
            }
            continue;
        }
        let value = field.text().await.unwrap_or_default();
        match name.as_str() {
            "format" => options.format = CdrFileFormat::parse(value.trim()),
            "source_id" => options.source_id = id_field(&value),
            "customer_interconnect_id" => options.customer_interconnect_id = id_field(&value),
            "supplier_interconnect_id" => options.supplier_interconnect_id = id_field(&value),
            "by_account_code" => options.customer_by_account_code = value == "on",
            _ => {}
        }
    }
    let Some((name, bytes)) = file else {
        return back_with_error("Choose a CDR file (Master.csv, CSV or JSON lines).");
    };
    let ctx = service::jobs::JobContext {
        db: state.app.db.clone(),
        files: state.app.files.clone(),
        kv: state.app.kv.clone(),
    };
    match files::upload(&ctx, &actor, &name, bytes, options, true).await {
        Ok(model) => back(&format!("uploaded={}", model.id)),
        Err(ServiceError::Validation(errors)) => {
            let message = errors
                .0
                .iter()
                .map(|e| format!("{}: {}", label(&e.field), e.message))
                .collect::<Vec<_>>()
                .join(" ");
            back_with_error(&message)
        }
        Err(e) => {
            let id = uuid_like();
            tracing::error!(correlation_id = %id, error = %e, "CDR file upload failed");
            back_with_error(&format!("The upload failed on our side (reference {id})."))
        }
    }
}
