//! The rate plans module's plain HTTP routes: uploading a rate deck (a multipart form
//! POST, so it works before the WASM has loaded) and downloading a revision's export.
//! Both need an admin session; the upload's `Origin` is checked by the router's origin
//! middleware like every other write.

use app::server::AuthSession;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use domain::rate_plans::ImportOptions;
use domain::Role;
use service::rate_plans::import::{self, MAX_FILE_BYTES};
use service::ServiceError;

use crate::web::RouterState;

/// `POST /admin/rate-plans/{id}/upload` and
/// `GET /admin/rate-plans/{id}/revisions/{n}/export.{csv,xlsx}`.
pub fn routes() -> Router<RouterState> {
    Router::new()
        .route(
            "/admin/rate-plans/{id}/upload",
            post(upload).layer(DefaultBodyLimit::max(MAX_FILE_BYTES + 64 * 1024)),
        )
        .route(
            "/admin/rate-plans/{id}/revisions/{number}/{file}",
            get(export),
        )
}

/// Why a request without a staff session is refused.
pub(crate) enum Refused {
    SignIn,
    Forbidden,
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Refused::SignIn => Redirect::to("/sign-in").into_response(),
            Refused::Forbidden => (StatusCode::FORBIDDEN, "forbidden").into_response(),
        }
    }
}

/// The signed-in staff member as the audit actor, or why not.
pub(crate) fn staff(auth: &AuthSession) -> Result<service::audit::Actor, Refused> {
    match &auth.user {
        None => Err(Refused::SignIn),
        Some(user) if !user.0.role.satisfies(Role::Admin) => Err(Refused::Forbidden),
        Some(user) => Ok(service::audit::Actor {
            user_id: Some(user.0.id),
            email: user.0.email.clone(),
        }),
    }
}

fn back_with_error(plan_id: i64, message: &str) -> Response {
    Redirect::to(&format!(
        "/admin/rate-plans/{plan_id}?tab=imports&upload_error={}",
        app::components::encode_query_value(message)
    ))
    .into_response()
}

/// Stores the file, queues reading it, and sends the browser to the import's page
/// (303). A bad upload goes back to the Imports tab with the reason.
async fn upload(
    auth: AuthSession,
    State(state): State<RouterState>,
    Path(plan_id): Path<i64>,
    mut multipart: Multipart,
) -> Response {
    let actor = match staff(&auth) {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    let mut file: Option<(String, Vec<u8>)> = None;
    let mut options = ImportOptions {
        replace_all: true,
        ..ImportOptions::default()
    };
    loop {
        match multipart.next_field().await {
            Ok(None) => break,
            Ok(Some(field)) => match field.name() {
                Some("file") => {
                    let name = field.file_name().unwrap_or("deck").to_owned();
                    match field.bytes().await {
                        Ok(bytes) => file = Some((name, bytes.to_vec())),
                        Err(e) => {
                            return back_with_error(
                                plan_id,
                                &format!("The upload did not finish: {e}"),
                            )
                        }
                    }
                }
                Some("mode") => {
                    options.replace_all = field.text().await.unwrap_or_default() != "partial";
                }
                _ => {}
            },
            Err(e) => {
                return back_with_error(plan_id, &format!("The upload could not be read: {e}"))
            }
        }
    }
    let Some((name, bytes)) = file else {
        return back_with_error(plan_id, "Choose a rate deck file (CSV or Excel).");
    };
    let ctx = service::jobs::JobContext {
        db: state.app.db.clone(),
        files: state.app.files.clone(),
        kv: state.app.kv.clone(),
    };
    match import::upload(&ctx, &actor, plan_id, &name, bytes, Some(options), true).await {
        Ok(model) => Redirect::to(&format!("/admin/rate-plans/{plan_id}/imports/{}", model.id))
            .into_response(),
        Err(ServiceError::Validation(errors)) => back_with_error(
            plan_id,
            errors.get("file").unwrap_or("The file was refused."),
        ),
        Err(ServiceError::NotFound(_)) => {
            (StatusCode::NOT_FOUND, "no such rate plan").into_response()
        }
        Err(e) => {
            let id = uuid_like();
            tracing::error!(correlation_id = %id, error = %e, "rate deck upload failed");
            back_with_error(
                plan_id,
                &format!("The upload failed on our side (reference {id})."),
            )
        }
    }
}

/// A correlation id for the log line behind an error the browser sees.
pub(crate) fn uuid_like() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A revision as `export.csv` or `export.xlsx`.
async fn export(
    auth: AuthSession,
    State(state): State<RouterState>,
    Path((plan_id, number, file)): Path<(i64, i64, String)>,
) -> Response {
    if let Err(r) = staff(&auth) {
        return r.into_response();
    }
    let db = &state.app.db;
    let (bytes, content_type, ext) = match file.as_str() {
        "export.csv" => (
            service::rate_plans::export_csv(db, plan_id, number).await,
            "text/csv; charset=utf-8",
            "csv",
        ),
        "export.xlsx" => (
            service::rate_plans::export_xlsx(db, plan_id, number).await,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
        _ => return (StatusCode::NOT_FOUND, "no such export").into_response(),
    };
    match bytes {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, content_type.to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"rate-plan-{plan_id}-revision-{number}.{ext}\""),
                ),
            ],
            Body::from(bytes),
        )
            .into_response(),
        Err(ServiceError::NotFound(what)) => {
            (StatusCode::NOT_FOUND, format!("no such {what}")).into_response()
        }
        Err(e) => {
            let id = uuid_like();
            tracing::error!(correlation_id = %id, error = %e, "export failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("the export failed on our side (reference {id})"),
            )
                .into_response()
        }
    }
}
