//! `salus-engine` owns what Salus *does* with FHIR data, independent of any channel: the one
//! write path ([`Engine::commit`]), the one read path (read, vread, history, and search as it
//! lands), and the decisions around them (validation, access, audit). HTTP, the CLI importer,
//! HL7 v2 and the web app are translations into these calls; none of them reaches the store.
//!
//! Every call takes a [`Caller`] from the start, so access control and audit add policy here,
//! never new signatures at the edges.

mod body;
mod bundle;
mod caller;
pub mod clock;
mod commit;
mod compartment;
mod error;
mod everything;
mod export;
mod import;
mod read;
mod references;
mod safety;
mod care_gaps;
mod search;
mod searchset;
mod summary;
pub mod validation;

pub use bundle::DEFAULT_MAX_BUNDLE_ENTRIES;
pub use caller::{Caller, Principal};
pub use commit::{Committed, Effect, Entry, PreparedGroups};
pub use error::{EngineError, bundle_element};
pub use everything::EVERYTHING_PAGE;
pub use export::{
    EXPORT_PAGE, ExportJobs, ExportLevel, ExportOutput, ExportProgress, ExportRequest, ExportStatus, KickOffParameters,
    kick_off_parameters,
};
pub use import::{ImportCounts, PreparedImport};
pub use read::HistoryPage;
pub use safety::{MedicationContext, OVERRIDE_EXTENSION, check_order, finding_issue, refusal_outcome};
pub use care_gaps::{CareGapRow, Worklist, today};
pub use salus_clinical;
pub use searchset::{assemble, query_string, searchset};
pub use search::{DEFAULT_PAGE, MAX_PAGE, SearchParameterInfo, SearchRequest, SearchResult};
pub use salus_search::query::Summary;
pub use salus_store::{HistoryQuery, HistoryScope, StoredVersion};
pub use validation::{MinimalValidator, ResourceValidator, ValidationReport};

use salus_store::Store;
use std::sync::Arc;

/// The engine: cheap to clone, shared by every request.
#[derive(Clone)]
pub struct Engine {
    store: Store,
    validator: Arc<dyn ResourceValidator>,
    search_state: search::SearchState,
    max_bundle_entries: usize,
    /// Bulk export jobs and their files' directory (see `with_export_dir`).
    exports: Option<Arc<export::ExportJobs>>,
}

impl Engine {
    pub fn new(store: Store, validator: Arc<dyn ResourceValidator>) -> Self {
        Engine {
            store,
            validator,
            search_state: search::SearchState::new(),
            max_bundle_entries: bundle::DEFAULT_MAX_BUNDLE_ENTRIES,
            exports: None,
        }
    }

    /// An engine that validates every write against the R4 base specification.
    pub fn r4(store: Store) -> Self {
        Engine::new(store, Arc::new(salus_validator::Validator::new()))
    }

    /// Sets the most entries a batch or transaction Bundle may have.
    pub fn with_max_bundle_entries(mut self, max: usize) -> Self {
        self.max_bundle_entries = max;
        self
    }

    /// Access decisions. Until users and SMART scopes exist (the identity issue), the only
    /// caller is the system, which may do everything; the checks sit here so that policy
    /// arrives without new signatures.
    fn authorize_read(&self, _caller: &Caller) -> Result<(), EngineError> {
        Ok(())
    }

    fn authorize_write(&self, _caller: &Caller) -> Result<(), EngineError> {
        Ok(())
    }
}
