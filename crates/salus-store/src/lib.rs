//! `salus-store` owns persistence: the schema and its migrations, every version of every
//! resource, the index rows search reads, and the database transactions that make a commit
//! all-or-nothing. It knows nothing of HTTP or users: the engine decides *what* to write, the
//! store makes it durable and atomic.
//!
//! The shape: a [`Backend`] (SQLite today, PostgreSQL later) runs closures inside a database
//! transaction on a blocking thread. Writers get a [`WriteTx`], readers a [`ReadTx`]. The
//! [`Store`] facade moves that work off the async executor, so the engine's calls are plain
//! `async fn`s and a slow disk never stalls request handling.

mod search_sql;
mod search_types;
pub mod sqlite;
mod types;

pub use search_types::*;
pub use types::*;

use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(String),
    #[error("the stored data is inconsistent: {0}")]
    Corrupt(String),
    #[error("cannot open the database at {path}: {reason}")]
    Open { path: String, reason: String },
    /// The closure of a transaction returned its own error; the transaction was rolled back.
    #[error("transaction aborted")]
    Aborted,
    #[error("the database task stopped unexpectedly: {0}")]
    Task(String),
}

/// Operations available inside a read transaction (a consistent snapshot).
pub trait ReadTx {
    /// The current version of a resource (deleted or not), if it ever existed.
    fn current(&mut self, resource_type: &str, id: &str) -> Result<Option<StoredVersion>, StoreError>;
    fn version(&mut self, resource_type: &str, id: &str, version: u64)
    -> Result<Option<StoredVersion>, StoreError>;
    /// Versions newest first, as the `_history` interaction lists them.
    fn history(&mut self, query: &HistoryQuery) -> Result<Vec<StoredVersion>, StoreError>;
    fn history_count(&mut self, query: &HistoryQuery) -> Result<u64, StoreError>;
    /// A page of current, non-deleted resources matching a search, in its sort order.
    fn search(&mut self, request: &SearchRequest) -> Result<Vec<SearchHit>, StoreError>;
    /// How many resources match a search (all pages).
    fn search_count(&mut self, query: &Query) -> Result<u64, StoreError>;
    /// `_include` (`reverse = false`: what `from` refers to) and `_revinclude` (`reverse =
    /// true`: what refers to `from`), current and not deleted.
    fn included(&mut self, from: &[(String, String)], include: &Include, reverse: bool)
    -> Result<Vec<StoredVersion>, StoreError>;
    /// A background job by id.
    fn job(&mut self, id: &str) -> Result<Option<JobRecord>, StoreError>;
    /// Every job of a kind (`export`), oldest first.
    fn jobs(&mut self, kind: &str) -> Result<Vec<JobRecord>, StoreError>;
    /// Whether a maintenance flag is set: work the engine owes the database, such as
    /// [`REINDEX_FLAG`] after an upgrade changed how the index is stored.
    fn flag(&mut self, name: &str) -> Result<bool, StoreError>;
    /// The current, non-deleted versions of `resource_type` in id order, after `after_id` and
    /// updated at or after `since_ms`: hands each one's id and body to `each`, at most `limit`,
    /// and says whether more follow. A bulk read that copies nothing it does not need (a
    /// system-level export writes the bodies as they are stored).
    fn scan_bodies(&mut self, scan: &BodyScan<'_>, each: &mut BodySink<'_>) -> Result<bool, StoreError>;
    /// Which resource types of `Patient/{patient}`'s compartment hold a current resource: the
    /// types of the resources keyed to the patient (`patient_key`), and of `references`
    /// (resource type, reference search parameter) those with a resource that refers to
    /// `Patient/{patient}` through that parameter (a resource naming several patients is keyed
    /// to one only). A superset is harmless (a deleted resource may count); a type missing
    /// would lose matches, so every reference pair not settled by the key is probed.
    fn patient_compartment_types(&mut self, patient: &str, references: &[(String, String)])
    -> Result<Vec<String>, StoreError>;
}

/// Takes each (id, body) of a [`ReadTx::scan_bodies`]; its error ends the scan.
pub type BodySink<'a> = dyn FnMut(&str, &[u8]) -> Result<(), StoreError> + 'a;

/// What [`ReadTx::scan_bodies`] reads.
#[derive(Debug, Clone, Copy)]
pub struct BodyScan<'a> {
    pub resource_type: &'a str,
    /// Continue after this id (the previous page's last); `None` from the first.
    pub after_id: Option<&'a str>,
    /// Only versions updated at or after this instant (ms since the Unix epoch).
    pub since_ms: Option<i64>,
    pub limit: usize,
}

/// Set when the stored index rows are missing or stale: every current version must be
/// reindexed (`WriteTx::reindex`), after which the engine clears the flag.
pub const REINDEX_FLAG: &str = "reindex";

/// Operations available inside a write transaction; reads see the transaction's own writes.
pub trait WriteTx: ReadTx {
    /// Stores a new version and makes it current. The caller has checked preconditions and
    /// chosen `version` = previous + 1 (or 1) within this same transaction.
    fn put(&mut self, version: &NewVersion) -> Result<(), StoreError>;
    /// Replaces the index rows (and patient key) of a resource's current version without
    /// making a new version: a reindex after the search parameters changed.
    fn reindex(
        &mut self,
        resource_type: &str,
        id: &str,
        patient_key: Option<&str>,
        terms: &salus_search::IndexTerms,
    ) -> Result<(), StoreError>;
    /// Inserts or replaces a job (its status, request and state).
    fn put_job(&mut self, job: &JobRecord) -> Result<(), StoreError>;
    /// Removes a job; `false` when there was none.
    fn delete_job(&mut self, id: &str) -> Result<bool, StoreError>;
    /// Sets or clears a maintenance flag (see [`ReadTx::flag`]).
    fn set_flag(&mut self, name: &str, on: bool) -> Result<(), StoreError>;
    /// Opens a savepoint: the changes made until the matching [`WriteTx::end_savepoint`] can be
    /// undone without ending the transaction. Savepoints nest. For a write of several
    /// independent parts, each atomic on its own, in one transaction (a bulk load's bundles).
    fn savepoint(&mut self) -> Result<(), StoreError>;
    /// Closes the innermost savepoint, keeping its changes or (`keep = false`) undoing them.
    fn end_savepoint(&mut self, keep: bool) -> Result<(), StoreError>;
}

/// A database backend: runs a closure inside one transaction, committing if it returns `Ok`
/// and rolling back otherwise. Blocking: call through [`Store`].
pub trait Backend: Send + Sync + 'static {
    fn write(
        &self,
        work: &mut dyn FnMut(&mut dyn WriteTx) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;
    fn read(
        &self,
        work: &mut dyn FnMut(&mut dyn ReadTx) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;
}

/// Adapts a typed, fallible, run-once closure to the backend's object-safe callback: the
/// closure's error aborts (rolls back) the transaction and is handed back unchanged. A macro
/// rather than a generic function because `dyn ReadTx` and `dyn WriteTx` carry the callback's
/// own lifetime, which a type parameter cannot name.
macro_rules! drive {
    ($backend:ident . $method:ident, $work:ident) => {{
        let mut work = Some($work);
        let mut result = None;
        let outcome = $backend.$method(&mut |tx| {
            let Some(work) = work.take() else {
                return Err(StoreError::Corrupt("transaction closure ran twice".into()));
            };
            let r = work(tx);
            let failed = r.is_err();
            result = Some(r);
            if failed { Err(StoreError::Aborted) } else { Ok(()) }
        });
        finish(outcome, result)
    }};
}

/// The async face of a backend, shared by the engine's tasks.
#[derive(Clone)]
pub struct Store {
    backend: Arc<dyn Backend>,
}

impl Store {
    pub fn new(backend: impl Backend) -> Self {
        Store { backend: Arc::new(backend) }
    }

    /// Runs `work` in a write transaction on a blocking thread. `work`'s own error `E` rolls
    /// the transaction back and is returned as is.
    pub async fn write<T, E, F>(&self, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&mut dyn WriteTx) -> Result<T, E> + Send + 'static,
    {
        let backend = self.backend.clone();
        run_blocking(move || drive!(backend.write, work)).await
    }

    /// Runs `work` in a read transaction (one consistent snapshot) on a blocking thread.
    pub async fn read<T, E, F>(&self, work: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&mut dyn ReadTx) -> Result<T, E> + Send + 'static,
    {
        let backend = self.backend.clone();
        run_blocking(move || drive!(backend.read, work)).await
    }
}


fn finish<T, E: From<StoreError>>(
    outcome: Result<(), StoreError>,
    result: Option<Result<T, E>>,
) -> Result<T, E> {
    match (outcome, result) {
        (Ok(()), Some(r)) => r,
        (Err(StoreError::Aborted), Some(Err(e))) => Err(e),
        // The closure succeeded but the commit failed: report the database's error.
        (Err(e), _) => Err(e.into()),
        (Ok(()), None) => Err(StoreError::Corrupt("transaction closure did not run".into()).into()),
    }
}

async fn run_blocking<T, E, F>(f: F) -> Result<T, E>
where
    T: Send + 'static,
    E: From<StoreError> + Send + 'static,
    F: FnOnce() -> Result<T, E> + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) => Err(StoreError::Task(e.to_string()).into()),
    }
}
