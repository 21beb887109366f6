//! The one read path for single resources and history. Each call takes the caller, so access
//! checks and audit attach here when the identity issue lands.

use crate::commit::live;
use crate::{Caller, Engine, EngineError};
use salus_store::{HistoryQuery, StoreError, StoredVersion};

/// A page of history, newest first.
#[derive(Debug)]
pub struct HistoryPage {
    pub versions: Vec<StoredVersion>,
    /// All versions matching the query (not only this page).
    pub total: u64,
    /// The cursor for the next page, when there is one.
    pub next_before_seq: Option<i64>,
}

impl Engine {
    /// The current version of a resource: `NotFound` if it never existed, `Gone` if deleted.
    pub async fn read(&self, caller: &Caller, resource_type: &str, id: &str) -> Result<StoredVersion, EngineError> {
        self.authorize_read(caller)?;
        self.known_type_name(resource_type)?;
        let (t, i) = (resource_type.to_string(), id.to_string());
        let current = self.store.read(move |tx| tx.current(&t, &i).map_err(EngineError::from)).await?;
        live(resource_type, id, current)
    }

    /// One version of a resource. The version that records a deletion is `Gone`.
    pub async fn vread(
        &self,
        caller: &Caller,
        resource_type: &str,
        id: &str,
        version: &str,
    ) -> Result<StoredVersion, EngineError> {
        self.authorize_read(caller)?;
        self.known_type_name(resource_type)?;
        let not_found = || EngineError::VersionNotFound {
            resource_type: resource_type.into(),
            id: id.into(),
            version: version.into(),
        };
        let number: u64 = version.parse().map_err(|_| not_found())?;
        let (t, i) = (resource_type.to_string(), id.to_string());
        let found = self.store.read(move |tx| tx.version(&t, &i, number).map_err(EngineError::from)).await?;
        match found {
            None => Err(not_found()),
            Some(v) if v.deleted => {
                Err(EngineError::Gone { resource_type: resource_type.into(), id: id.into(), version: v.version })
            }
            Some(v) => Ok(v),
        }
    }

    /// A page of `_history` at system, type or instance level.
    pub async fn history(&self, caller: &Caller, query: HistoryQuery) -> Result<HistoryPage, EngineError> {
        self.authorize_read(caller)?;
        if let salus_store::HistoryScope::Type(t) | salus_store::HistoryScope::Instance { resource_type: t, .. } =
            &query.scope
        {
            self.known_type_name(t)?;
        }
        let page = self
            .store
            .read(move |tx| {
                // One more than the page, to know whether a next page exists.
                let mut probe = query.clone();
                probe.count = query.count + 1;
                let mut versions = tx.history(&probe)?;
                let total = tx.history_count(&query)?;
                let more = versions.len() > query.count;
                versions.truncate(query.count);
                let next_before_seq = if more { versions.last().map(|v| v.seq) } else { None };
                Ok::<_, StoreError>(HistoryPage { versions, total, next_before_seq })
            })
            .await?;
        Ok(page)
    }
}
