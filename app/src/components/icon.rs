//! The icon set: 24×24 stroke icons drawn inline, decorative (`aria-hidden`): every icon
//! stands beside a text label.

use leptos::prelude::*;

/// Names of the icons a module may declare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IconName {
    Dashboard,
    Users,
    Carrier,
    Home,
    Reference,
    RatePlan,
    Cdr,
    Balance,
    Key,
    Spend,
    Mail,
    Route,
    Status,
}

impl IconName {
    fn path(self) -> &'static str {
        match self {
            IconName::Dashboard => "M3 3h8v10H3zM13 3h8v6h-8zM13 11h8v10h-8zM3 15h8v6H3z",
            IconName::Users => "M16 19v-1a4 4 0 0 0-4-4H6a4 4 0 0 0-4 4v1M9 10a3.5 3.5 0 1 0 0-7 3.5 3.5 0 0 0 0 7zM22 19v-1a4 4 0 0 0-3-3.9M16 3.1a3.5 3.5 0 0 1 0 6.8",
            IconName::Carrier => "M3 21V8l9-5 9 5v13M9 21v-6h6v6M3 21h18",
            IconName::Home => "M3 11l9-8 9 8M5 10v11h14V10",
            IconName::Reference => "M4 4h16v16H4zM4 9h16M4 14h16M9 4v16",
            IconName::RatePlan => "M4 3h12l4 4v14H4zM8 9h8M8 13h8M8 17h5",
            IconName::Cdr => "M5 4h3l2 5-2.5 1.5a11 11 0 0 0 6 6L15 14l5 2v3a2 2 0 0 1-2 2A16 16 0 0 1 3 6a2 2 0 0 1 2-2zM15 3h6M15 7h6",
            IconName::Balance => "M12 3v18M5 7h14M5 7l-3 7a4 4 0 0 0 6 0zM19 7l-3 7a4 4 0 0 0 6 0zM8 21h8",
            IconName::Spend => "M3 20h18M6 16v-4M11 16V8M16 16v-6M21 4l-5 5-4-3-5 5",
            IconName::Key => "M15 7a4 4 0 1 1-3.9 5H3v3h3v3h3v-3h2.1A4 4 0 0 1 15 7zM16 10h.01",
            IconName::Mail => "M3 5h18v14H3zM3 6l9 7 9-7",
            IconName::Route => "M3 17h5a4 4 0 0 0 4-4V9a4 4 0 0 1 4-4h5M18 2l3 3-3 3M12 13a4 4 0 0 0 4 4h5M18 14l3 3-3 3",
            IconName::Status => "M2 12h4l3-8 4 16 3-8h6",
        }
    }
}

/// An inline SVG icon, hidden from screen readers.
/// ```ignore
/// <Icon name=IconName::Users/>
/// ```
#[component]
pub fn Icon(
    /// Which icon.
    name: IconName,
) -> impl IntoView {
    view! {
        <svg class="icon" viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false"
            fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round">
            <path d=name.path()/>
        </svg>
    }
}
