//! `salus-search` owns what FHIR search *means*, with no I/O: the registry of search parameters
//! (the specification's and custom ones), the extraction of typed index terms from a resource
//! on every write (through the FHIRPath engine, each expression compiled once, the simple ones
//! to a direct walk over the JSON: [`fastpath`]), the parsing of a query string into a typed
//! [`Query`], and an in-memory [`matcher`] that evaluates a query over index terms (the
//! reference the SQL backends are tested against). The store compiles a [`Query`] to SQL; the
//! engine ties both to its read and write paths.

pub mod canonical;
pub mod date;
mod error;
pub mod extract;
pub mod fastpath;
pub mod fhirpath;
pub mod fulltext;
mod index;
pub mod matcher;
pub mod path;
pub mod query;
mod registry;
pub mod subsumption;
pub mod terms;
pub mod text;
pub mod ucum;
pub mod unions;

pub use error::SearchError;
pub use index::Indexer;
pub use query::{Query, SearchContext, parse};
pub use registry::{Component, ParamType, Registry, SearchParam};
pub use subsumption::{CodeHierarchy, CodeSystems};
pub use terms::IndexTerms;

/// The code system of `Money.currency` when indexed as a quantity.
pub const CURRENCY_SYSTEM: &str = "urn:iso:std:iso:4217";
