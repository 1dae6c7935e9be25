//! `/admin/users`: everyone who can sign in.

use domain::Role;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::components::{ErrorPanel, Loading, PageHeader};
use crate::error::AppError;

/// One row of the users table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserListRow {
    pub id: i64,
    pub email: String,
    pub role: Role,
    pub carrier: Option<String>,
    /// RFC 3339, UTC.
    pub last_sign_in_at: Option<String>,
    /// RFC 3339, UTC.
    pub created_at: String,
}

/// Every user (GET `/fn/admin/users`). Staff only.
#[server(prefix = "/fn", endpoint = "admin/users", input = leptos::server_fn::codec::GetUrl)]
pub async fn list_users() -> Result<Vec<UserListRow>, AppError> {
    crate::server::respond(
        async move {
            crate::server::require(Role::Admin).await?;
            let rows = service::users::list_users(&crate::server::state()?.db).await?;
            Ok(rows
                .into_iter()
                .map(|u| UserListRow {
                    id: u.id,
                    email: u.email,
                    role: u.role,
                    carrier: u.carrier_name,
                    last_sign_in_at: u.last_sign_in_at.map(|t| t.to_rfc3339()),
                    created_at: u.created_at.to_rfc3339(),
                })
                .collect())
        }
        .await,
    )
}

/// Formats an RFC 3339 UTC time as `YYYY-MM-DD HH:MM UTC`; the full value is the hover.
fn short_utc(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| {
            t.with_timezone(&chrono::Utc)
                .format("%Y-%m-%d %H:%M UTC")
                .to_string()
        })
        .unwrap_or_else(|_| rfc3339.to_owned())
}

/// The users page.
#[component]
pub fn UsersPage() -> impl IntoView {
    let users = Resource::new(|| (), |_| list_users());
    view! {
        <PageHeader title="Users"
            description="Everyone who can sign in. Create users with `didtron user create`."/>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match users.await {
                    Ok(rows) if rows.is_empty() => view! {
                        <p class="empty">"No users yet. Create one with `didtron user create`."</p>
                    }.into_any(),
                    Ok(rows) => view! {
                        <div class="table-wrap">
                            <table class="table" data-testid="users-table">
                                <caption class="visually-hidden">"Users"</caption>
                                <thead>
                                    <tr>
                                        <th scope="col">"E-mail"</th>
                                        <th scope="col">"Role"</th>
                                        <th scope="col">"Carrier"</th>
                                        <th scope="col">"Last sign-in (UTC)"</th>
                                        <th scope="col">"Created (UTC)"</th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {rows.into_iter().map(|u| view! {
                                        <tr>
                                            <td>{u.email}</td>
                                            <td><span class="tag">{u.role.label()}</span></td>
                                            <td>{u.carrier.unwrap_or_else(|| "—".into())}</td>
                                            <td class="num" title=u.last_sign_in_at.clone().unwrap_or_default()>
                                                {u.last_sign_in_at.as_deref().map(short_utc).unwrap_or_else(|| "never".into())}
                                            </td>
                                            <td class="num" title=u.created_at.clone()>{short_utc(&u.created_at)}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any(),
                    Err(error) => view! {
                        <ErrorPanel error on_retry=Callback::new(move |_| users.refetch())/>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}
