//! Figures for the admin dashboard and the customer portal's home page. Each is a handful
//! of indexed `COUNT`s; nothing heavy runs in a page request.

use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};

use crate::entity::carrier;
use crate::{carriers, users, ServiceResult};

/// What exists, for the admin dashboard.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AdminCounts {
    pub carriers: u64,
    pub active_carriers: u64,
    /// Carriers that buy from us (`customer` or `both`).
    pub customer_carriers: u64,
    /// Carriers that sell to us (`supplier` or `both`).
    pub supplier_carriers: u64,
    pub staff_users: u64,
    pub customer_users: u64,
}

/// Counts carriers by status and type, and users by kind.
pub async fn admin_counts(db: &DatabaseConnection) -> ServiceResult<AdminCounts> {
    let carriers = carrier::Entity::find().count(db).await?;
    let active_carriers = carrier::Entity::find()
        .filter(carrier::Column::Status.eq("active"))
        .count(db)
        .await?;
    let customer_carriers = carrier::Entity::find()
        .filter(carrier::Column::CarrierType.is_in(["customer", "both"]))
        .count(db)
        .await?;
    let supplier_carriers = carrier::Entity::find()
        .filter(carrier::Column::CarrierType.is_in(["supplier", "both"]))
        .count(db)
        .await?;
    let (staff_users, customer_users) = users::count_by_kind(db).await?;
    Ok(AdminCounts {
        carriers,
        active_carriers,
        customer_carriers,
        supplier_carriers,
        staff_users,
        customer_users,
    })
}

/// The customer portal's home: the signed-in customer's own carrier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortalSummary {
    pub carrier_name: String,
    pub account_code: String,
    pub status: String,
    pub carrier_type: String,
    pub currency: String,
    pub portal_users: u64,
}

/// Summary of `carrier_id`, which the caller takes from the session, never the request
/// (DESIGN.md: tenancy is checked in `service`).
pub async fn portal_summary(
    db: &DatabaseConnection,
    carrier_id: i64,
) -> ServiceResult<PortalSummary> {
    let c = carriers::get_carrier(db, carrier_id).await?;
    Ok(PortalSummary {
        portal_users: carriers::count_users(db, carrier_id).await?,
        carrier_name: c.name,
        account_code: c.account_code,
        status: c.status,
        carrier_type: c.carrier_type,
        currency: c.currency,
    })
}
