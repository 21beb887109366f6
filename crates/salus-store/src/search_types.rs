//! The values a search crosses the store boundary with. The query itself is
//! `salus_search::Query` (typed and resolved, no FHIR knowledge needed to compile it); the
//! store adds the page position, so that paging is by key (after the last row seen), never
//! by offset, and stays correct while resources are written between pages.

use crate::StoredVersion;
pub use salus_search::query::{Include, Query};

/// One sort key's value for a row, as the page position records it.
#[derive(Debug, Clone, PartialEq)]
pub enum SortValue {
    Int(i64),
    Real(f64),
    Text(String),
}

/// Where a page ended: the sort keys of its last row, then that row's type and id (the
/// tie-breakers that make the order total).
#[derive(Debug, Clone, PartialEq)]
pub struct SearchPosition {
    pub keys: Vec<SortValue>,
    pub resource_type: String,
    pub id: String,
}

#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub query: Query,
    /// Continue after this row (the previous page's last).
    pub after: Option<SearchPosition>,
    /// Rows to return at most.
    pub limit: usize,
}

#[derive(Debug, Clone)]
pub struct SearchHit {
    pub version: StoredVersion,
    pub position: SearchPosition,
}
