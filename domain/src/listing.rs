//! The shapes of the admin lists (carriers, interconnects, services): the query a list
//! sends and the page it gets back. Keyset (cursor) pagination, never offsets: a page
//! starts after the last row of the previous one, so it costs the same at row 10 and at
//! row 100 000 (DESIGN.md, "Lists").

use serde::{Deserialize, Serialize};

/// Rows per page when the caller does not say.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// The most rows one page may hold; larger requests are cut to this.
pub const MAX_PAGE_SIZE: u32 = 200;

/// One request for a page of a list. Every field is optional in the URL.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListQuery {
    /// Search text: prefix of the name or account code on SQLite; any part of them,
    /// case-insensitive, on PostgreSQL (trigram index).
    #[serde(default)]
    pub q: String,
    /// `active` / `inactive`, or empty for all.
    #[serde(default)]
    pub status: String,
    /// Carriers: `customer` / `supplier` / `both`; interconnects: `ingress` / `egress`;
    /// services: `customer` / `supplier`. Empty for all.
    #[serde(default)]
    pub kind: String,
    /// Carriers: ISO 4217 code, or empty for all.
    #[serde(default)]
    pub currency: String,
    /// Column key to sort by (each list documents its keys); empty for its default.
    #[serde(default)]
    pub sort: String,
    /// Descending when true.
    #[serde(default)]
    pub desc: bool,
    /// The `next` cursor of the previous page; empty for the first page.
    #[serde(default)]
    pub after: String,
    /// Rows wanted: 1..=[`MAX_PAGE_SIZE`]; 0 means [`DEFAULT_PAGE_SIZE`].
    #[serde(default)]
    pub limit: u32,
}

/// A list query that pages by keyset cursor: what `use_pages` needs to ask for the
/// page after the last one.
pub trait Keyset {
    /// Sets the cursor (`Page::next` of the previous page; empty for the first page).
    fn set_after(&mut self, after: String);
}

impl Keyset for ListQuery {
    fn set_after(&mut self, after: String) {
        self.after = after;
    }
}

/// Page size of `limit`: clamped to 1..=[`MAX_PAGE_SIZE`], 0 → [`DEFAULT_PAGE_SIZE`].
pub fn page_size(limit: u32) -> u32 {
    match limit {
        0 => DEFAULT_PAGE_SIZE,
        n => n.min(MAX_PAGE_SIZE),
    }
}

impl ListQuery {
    /// The page size to use: `limit` clamped to 1..=[`MAX_PAGE_SIZE`], 0 → default.
    pub fn page_size(&self) -> u32 {
        page_size(self.limit)
    }
}

/// One page of a list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    pub rows: Vec<T>,
    /// Cursor for the next page (`ListQuery::after`); `None` on the last page.
    pub next: Option<String>,
}

/// One row of the carriers list: only the columns the table shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CarrierRow {
    pub id: i64,
    pub name: String,
    pub account_code: String,
    /// `customer`, `supplier` or `both`.
    pub carrier_type: String,
    /// `active` or `inactive`.
    pub status: String,
    /// ISO 4217.
    pub currency: String,
    /// RFC 3339, UTC.
    pub created_at: String,
}

/// One row of the interconnects list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterconnectRow {
    pub id: i64,
    pub name: String,
    pub carrier_id: i64,
    pub carrier_name: String,
    /// `ingress` or `egress`.
    pub direction: String,
    pub status: String,
    pub tech_prefix: Option<String>,
    /// RFC 3339, UTC.
    pub created_at: String,
}

/// One row of the services list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceRow {
    pub id: i64,
    pub name: String,
    /// `customer` or `supplier`.
    pub direction: String,
    pub status: String,
    pub description: String,
    /// RFC 3339, UTC.
    pub created_at: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_size_is_enforced() {
        let mut q = ListQuery::default();
        assert_eq!(q.page_size(), DEFAULT_PAGE_SIZE);
        q.limit = 10_000;
        assert_eq!(q.page_size(), MAX_PAGE_SIZE);
        q.limit = 7;
        assert_eq!(q.page_size(), 7);
    }
}
