//! The admin module registry: the sidebar, the page dispatch and the count badges are all
//! built from [`MODULES`]. Adding a module to the admin portal is one entry here (plus
//! its page component and, for a badge, one [`Badge`] variant).

use domain::Role;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::components::IconName;

/// A sidebar section, in display order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Section {
    Overview,
    Carriers,
    Traffic,
    Administration,
}

impl Section {
    /// Every section, in sidebar order.
    pub const ALL: [Section; 4] = [
        Section::Overview,
        Section::Carriers,
        Section::Traffic,
        Section::Administration,
    ];

    /// The heading shown above the section's links.
    pub fn label(self) -> &'static str {
        match self {
            Section::Overview => "Overview",
            Section::Carriers => "Carriers",
            Section::Traffic => "Traffic and billing",
            Section::Administration => "Administration",
        }
    }
}

/// A count shown beside a module's link, computed on the server by
/// `module_badges` (one request for all of them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Badge {
    /// Number of users.
    Users,
    /// Number of carriers.
    Carriers,
}

/// One admin module.
pub struct AdminModule {
    /// Stable identifier (used in test ids).
    pub id: &'static str,
    /// Link text and page title.
    pub title: &'static str,
    /// Absolute path; the module also owns every path below it.
    pub route: &'static str,
    pub section: Section,
    pub icon: IconName,
    /// The least role that sees and opens the module.
    pub required_role: Role,
    pub badge: Option<Badge>,
    /// The page.
    pub view: fn() -> AnyView,
}

/// Every admin module, in sidebar order within each section.
pub static MODULES: &[AdminModule] = &[
    AdminModule {
        id: "dashboard",
        title: "Dashboard",
        route: "/admin",
        section: Section::Overview,
        icon: IconName::Dashboard,
        required_role: Role::Admin,
        badge: None,
        view: || view! { <super::dashboard::DashboardPage/> }.into_any(),
    },
    AdminModule {
        id: "carriers",
        title: "Carriers",
        route: "/admin/carriers",
        section: Section::Carriers,
        icon: IconName::Carrier,
        required_role: Role::Admin,
        badge: Some(Badge::Carriers),
        view: || view! { <super::carriers::CarriersModule/> }.into_any(),
    },
    AdminModule {
        id: "rate-plans",
        title: "Rate plans",
        route: "/admin/rate-plans",
        section: Section::Carriers,
        icon: IconName::RatePlan,
        required_role: Role::Admin,
        badge: None,
        view: || view! { <super::rate_plans::RatePlansModule/> }.into_any(),
    },
    AdminModule {
        id: "routing-plans",
        title: "Routing plans",
        route: "/admin/routing-plans",
        section: Section::Carriers,
        icon: IconName::Route,
        required_role: Role::Admin,
        badge: None,
        view: || view! { <super::routing::RoutingPlansModule/> }.into_any(),
    },
    AdminModule {
        id: "route-simulation",
        title: "Route simulation",
        route: "/admin/route-simulation",
        section: Section::Carriers,
        icon: IconName::Route,
        required_role: Role::Admin,
        badge: None,
        view: || view! { <super::routing::RouteSimulationPage/> }.into_any(),
    },
    AdminModule {
        id: "cdrs",
        title: "CDRs",
        route: "/admin/cdrs",
        section: Section::Traffic,
        icon: IconName::Cdr,
        required_role: Role::Admin,
        badge: None,
        view: || view! { <super::cdrs::CdrsModule/> }.into_any(),
    },
    AdminModule {
        id: "cdr-files",
        title: "CDR files",
        route: "/admin/cdr-files",
        section: Section::Traffic,
        icon: IconName::Cdr,
        required_role: Role::Admin,
        badge: None,
        view: || view! { <super::cdrs::CdrFilesPage/> }.into_any(),
    },
    AdminModule {
        id: "rerate",
        title: "Re-rating",
        route: "/admin/rerate",
        section: Section::Traffic,
        icon: IconName::Spend,
        required_role: Role::Admin,
        badge: None,
        view: || view! { <super::cdrs::ReratePage/> }.into_any(),
    },
    AdminModule {
        id: "spend",
        title: "24 hour spend",
        route: "/admin/spend",
        section: Section::Traffic,
        icon: IconName::Spend,
        required_role: Role::Admin,
        badge: None,
        view: || view! { <super::cdrs::SpendPage/> }.into_any(),
    },
    AdminModule {
        id: "totals",
        title: "Balance and totals",
        route: "/admin/totals",
        section: Section::Traffic,
        icon: IconName::Spend,
        required_role: Role::Admin,
        badge: None,
        view: || view! { <super::cdrs::TotalsPage/> }.into_any(),
    },
    AdminModule {
        id: "balances",
        title: "Carrier balances",
        route: "/admin/balances",
        section: Section::Traffic,
        icon: IconName::Balance,
        required_role: Role::Admin,
        badge: None,
        view: || view! { <super::cdrs::BalancesPage/> }.into_any(),
    },
    AdminModule {
        id: "status",
        title: "System status",
        route: "/admin/status",
        section: Section::Administration,
        icon: IconName::Status,
        required_role: Role::Admin,
        badge: None,
        view: || view! { <super::status::StatusModule/> }.into_any(),
    },
    AdminModule {
        id: "users",
        title: "Users",
        route: "/admin/users",
        section: Section::Administration,
        icon: IconName::Users,
        required_role: Role::Admin,
        badge: Some(Badge::Users),
        view: || view! { <super::users::UsersPage/> }.into_any(),
    },
    AdminModule {
        id: "reference",
        title: "Reference data",
        route: "/admin/reference",
        section: Section::Administration,
        icon: IconName::Reference,
        required_role: Role::Admin,
        badge: None,
        view: || view! { <super::reference::ReferencePage/> }.into_any(),
    },
    AdminModule {
        id: "api-keys",
        title: "API keys",
        route: "/admin/api-keys",
        section: Section::Administration,
        icon: IconName::Key,
        required_role: Role::Admin,
        badge: None,
        view: || view! { <super::cdrs::ApiKeysPage/> }.into_any(),
    },
    AdminModule {
        id: "mail",
        title: "Mail outbox",
        route: "/admin/mail",
        section: Section::Administration,
        icon: IconName::Mail,
        required_role: Role::Admin,
        badge: None,
        view: || view! { <super::mail::MailModule/> }.into_any(),
    },
];

/// The module that owns `path`: the one with the longest route that equals `path` or is
/// followed in it by `/`. `None` means no page here (404).
pub fn module_for(path: &str) -> Option<&'static AdminModule> {
    let path = path.trim_end_matches('/');
    let path = if path.is_empty() { "/" } else { path };
    MODULES
        .iter()
        .filter(|m| {
            path == m.route
                || (m.route != "/admin"
                    && path
                        .strip_prefix(m.route)
                        .is_some_and(|rest| rest.starts_with('/')))
        })
        .max_by_key(|m| m.route.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_to_their_module() {
        assert_eq!(module_for("/admin").map(|m| m.id), Some("dashboard"));
        assert_eq!(module_for("/admin/").map(|m| m.id), Some("dashboard"));
        assert_eq!(module_for("/admin/users").map(|m| m.id), Some("users"));
        assert_eq!(module_for("/admin/users/7").map(|m| m.id), Some("users"));
        assert!(module_for("/admin/usersx").is_none());
        assert!(module_for("/admin/nothing-here").is_none());
    }

    #[test]
    fn every_module_has_a_unique_id_and_route() {
        let mut ids: Vec<_> = MODULES.iter().map(|m| m.id).collect();
        let mut routes: Vec<_> = MODULES.iter().map(|m| m.route).collect();
        ids.sort();
        ids.dedup();
        routes.sort();
        routes.dedup();
        assert_eq!(ids.len(), MODULES.len());
        assert_eq!(routes.len(), MODULES.len());
        assert!(MODULES.iter().all(|m| m.route.starts_with("/admin")));
    }
}
