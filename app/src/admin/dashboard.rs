//! `/admin`: what exists, at a glance.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::components::{ErrorPanel, Loading, PageHeader, StatTile};
use crate::error::AppError;

/// Counts for the admin dashboard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminCounts {
    pub carriers: u64,
    pub active_carriers: u64,
    pub customer_carriers: u64,
    pub supplier_carriers: u64,
    pub staff_users: u64,
    pub customer_users: u64,
}

/// Dashboard counts (GET `/fn/admin/dashboard`). Staff only.
#[server(prefix = "/fn", endpoint = "admin/dashboard", input = leptos::server_fn::codec::GetUrl)]
pub async fn admin_dashboard() -> Result<AdminCounts, AppError> {
    crate::server::respond(
        async move {
            crate::server::require(domain::Role::Admin).await?;
            let c = service::dashboard::admin_counts(&crate::server::state()?.db).await?;
            Ok(AdminCounts {
                carriers: c.carriers,
                active_carriers: c.active_carriers,
                customer_carriers: c.customer_carriers,
                supplier_carriers: c.supplier_carriers,
                staff_users: c.staff_users,
                customer_users: c.customer_users,
            })
        }
        .await,
    )
}

/// The dashboard page.
#[component]
pub fn DashboardPage() -> impl IntoView {
    let counts = Resource::new(|| (), |_| admin_dashboard());
    view! {
        <PageHeader title="Dashboard" description="What exists in DIDTron right now."/>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match counts.await {
                    Ok(c) => view! {
                        <section class="stats" aria-label="Counts" data-testid="dashboard-counts">
                            <StatTile label="Carriers" value=c.carriers.to_string()
                                detail=format!("{} active", c.active_carriers)/>
                            <StatTile label="Customer carriers" value=c.customer_carriers.to_string()
                                detail="buy from us"/>
                            <StatTile label="Supplier carriers" value=c.supplier_carriers.to_string()
                                detail="sell to us"/>
                            <StatTile label="Staff users" value=c.staff_users.to_string()
                                detail="admins and super admins" href="/admin/users"/>
                            <StatTile label="Customer users" value=c.customer_users.to_string()
                                detail="customer portal accounts" href="/admin/users"/>
                        </section>
                    }.into_any(),
                    Err(error) => view! {
                        <ErrorPanel error on_retry=Callback::new(move |_| counts.refetch())/>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}
