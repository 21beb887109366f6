//! The one write path. Every channel turns its request into [`Entry`]s and calls
//! [`Engine::commit`]: each resource is validated before the database is touched, then all
//! entries run in one database transaction, where preconditions are checked, ids and versions
//! assigned, `meta` stamped and the versions stored. Any error rolls the whole commit back.

use crate::body::BodyParts;
use crate::references::Links;
use crate::safety::SafetyReport;
use crate::{Caller, Engine, EngineError};
use std::collections::HashMap;
use salus_search::{IndexTerms, Query};
use serde_json::Value;

mod apply;
mod prepare;

use apply::Leftovers;
pub(crate) use apply::{live, matching};

/// One change, as every channel expresses it.
#[derive(Debug, Clone)]
pub enum Entry {
    /// Create with a server-assigned id. `id` is only set by an internal translator that has
    /// already chosen the id (a transaction bundle rewriting `urn:uuid:` references); any id
    /// in the resource itself is ignored, as FHIR's create requires.
    Create { resource: Value, id: Option<String>, if_none_exist: Option<String> },
    /// Update, or create with the client's id when the resource does not exist yet.
    Update { resource_type: String, id: String, resource: Value, if_match: Option<String> },
    Delete { resource_type: String, id: String, if_match: Option<String> },
    /// A JSON Patch document (RFC 6902) applied to the current version.
    Patch { resource_type: String, id: String, patch: Value, if_match: Option<String> },
    /// Conditional update (`PUT /Type?criteria`). The criteria (a query string) are matched
    /// inside the write transaction: no match creates the resource (with the body's id, if it
    /// has one), one match updates that resource, several fail with `PreconditionFailed`.
    ConditionalUpdate { resource_type: String, criteria: String, resource: Value },
    /// Conditional delete (`DELETE /Type?criteria`): one match is deleted, several fail with
    /// `PreconditionFailed`, none changes nothing (reported as `AlreadyDeleted` with an empty
    /// id and version 0).
    ConditionalDelete { resource_type: String, criteria: String },
}

impl Entry {
    /// An update (or create with its id) of `resource`, at the type and id it carries: how a
    /// resource that already has its identity (an NDJSON line, a test fixture) is written. A
    /// resource without `resourceType` or `id` is refused by the commit with the reason.
    pub fn update_as_is(resource: Value) -> Entry {
        let resource_type = salus_fhir::resource::resource_type(&resource).unwrap_or_default().to_string();
        let id = salus_fhir::resource::id(&resource).unwrap_or_default().to_string();
        Entry::Update { resource_type, id, resource, if_match: None }
    }
}

/// What a committed entry did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Created,
    Updated,
    /// The update carried the same content as the current version: no new version was made.
    Unchanged,
    Deleted,
    /// The resource was already deleted: nothing changed.
    AlreadyDeleted,
}

/// The result of one entry: the version now current.
#[derive(Debug, Clone)]
pub struct Committed {
    pub effect: Effect,
    pub resource_type: String,
    pub id: String,
    pub version: u64,
    pub last_updated_ms: i64,
    /// The stored JSON (with `meta`), absent for deletions.
    pub body: Option<Vec<u8>>,
    /// Medication-safety findings on a MedicationRequest that was stored anyway (lower
    /// severity, or overridden): warnings for the client.
    pub findings: Vec<salus_clinical::Finding>,
}

/// An entry after the checks that need no database: validated, hashed, with its type.
pub(crate) enum Prepared {
    Write {
        resource_type: String,
        id: Option<String>,
        checked: Checked,
        if_match: Option<String>,
        create_only: bool,
        /// If-None-Exist: create only when nothing matches.
        if_none_exist: Option<Query>,
    },
    ConditionalUpdate { resource_type: String, body_id: Option<String>, checked: Checked, criteria: Query },
    ConditionalDelete { resource_type: String, criteria: Query },
    Delete { resource_type: String, id: String, if_match: Option<String> },
    Patch { resource_type: String, id: String, patch: json_patch::Patch, if_match: Option<String> },
    /// An entry whose references are resolved inside the transaction, and only then prepared
    /// (see references.rs).
    Deferred(Entry),
}

/// A valid resource as its write needs it: serialized without what the server sets, the hash
/// of its content (without server meta, so an update that changes nothing can be recognised),
/// its index terms. The JSON value itself is gone by the time the write transaction runs.
pub(crate) struct Checked {
    body: BodyParts,
    hash: [u8; 32],
    terms: IndexTerms,
}

impl Prepared {
    /// Whether applying this entry can fail a check inside the transaction, after earlier
    /// entries were written: anything but a plain update (or create with the client's id).
    fn may_fail_in_transaction(&self) -> bool {
        !matches!(self, Prepared::Write { create_only: false, if_match: None, if_none_exist: None, .. })
    }
}

/// A group's entries ready for the write transaction, with what its plan says of their references.
type PreparedGroup = (Vec<Prepared>, Links);

/// Groups of entries prepared for one write transaction (see [`Engine::prepare_each`]).
pub struct PreparedGroups {
    /// Each group's result, where it is already known (refused before the write).
    results: Vec<Option<Result<Vec<Committed>, EngineError>>>,
    writes: Vec<(usize, Vec<Prepared>, Links)>,
    safety: HashMap<usize, SafetyReport>,
}

/// A group that failed outside a savepoint: the whole write is rolled back.
struct WriteFailure {
    /// The group whose entry failed; none when the database itself failed.
    group: Option<usize>,
    error: EngineError,
}

impl From<salus_store::StoreError> for WriteFailure {
    fn from(e: salus_store::StoreError) -> Self {
        WriteFailure { group: None, error: EngineError::Store(e) }
    }
}

impl Engine {
    /// Commits `entries` atomically, in order, on behalf of `caller`.
    pub async fn commit(&self, caller: &Caller, entries: Vec<Entry>) -> Result<Vec<Committed>, EngineError> {
        self.commit_each(caller, vec![entries]).await.pop().unwrap_or_else(|| Ok(Vec::new()))
    }

    /// Commits several independent groups of entries, each atomically and in order, in one
    /// database transaction: one COMMIT (and one fsync) for all of them. A group that fails
    /// leaves nothing behind and does not stop the others; the result of each group is in its
    /// position. This is how a bulk load writes many bundles at once (see `import_bundles`).
    ///
    /// A group whose entries can fail a check inside the transaction (a conditional, an
    /// If-Match, a create that may collide, a delete or patch) runs inside its own savepoint;
    /// a group of plain updates, which can only fail with the database itself, runs without
    /// one: a savepoint copies every page it touches, and a bulk load is mostly plain updates.
    /// If such a group does fail, the whole transaction is undone and every group reports it.
    pub async fn commit_each(&self, caller: &Caller, groups: Vec<Vec<Entry>>) -> Vec<Result<Vec<Committed>, EngineError>> {
        let prepared = self.prepare_each(caller, groups).await;
        self.write_each(caller, prepared).await
    }

    /// The first half of [`Engine::commit_each`]: everything that needs no write transaction
    /// (medication safety, validation, serialization, indexing). A bulk load prepares the next
    /// batch while the previous one is written.
    pub async fn prepare_each(&self, caller: &Caller, groups: Vec<Vec<Entry>>) -> PreparedGroups {
        self.prepare_linked(caller, groups.into_iter().map(|g| (g, Links::default())).collect()).await
    }

    /// Commits the writes of a Bundle (see [`Engine::commit`]), with what its plan says about
    /// the references to resolve inside the transaction.
    pub(crate) async fn commit_linked(&self, caller: &Caller, entries: Vec<Entry>, links: Links) -> Result<Vec<Committed>, EngineError> {
        let prepared = self.prepare_linked(caller, vec![(entries, links)]).await;
        self.write_each(caller, prepared).await.pop().unwrap_or_else(|| Ok(Vec::new()))
    }

    /// [`Engine::prepare_each`] of groups that come with their [`Links`].
    pub(crate) async fn prepare_linked(&self, caller: &Caller, groups: Vec<(Vec<Entry>, Links)>) -> PreparedGroups {
        let count = groups.len();
        let mut results: Vec<Option<Result<Vec<Committed>, EngineError>>> = (0..count).map(|_| None).collect();
        if self.authorize_write(caller).is_err() {
            // Each group is refused with its own copy of the same verdict.
            for slot in &mut results {
                *slot = Some(self.authorize_write(caller).map(|()| Vec::new()));
            }
            return PreparedGroups { results, writes: Vec::new(), safety: HashMap::new() };
        }
        // Medication safety reads the patient's chart before the write transaction (see safety.rs).
        let mut checked = Vec::with_capacity(count);
        for (g, (entries, mut links)) in groups.into_iter().enumerate() {
            let several = entries.len() > 1;
            match self.medication_safety(caller, entries, several, &mut links).await {
                Ok((entries, safety)) => checked.push((g, entries, links, safety)),
                Err(e) => results[g] = Some(Err(e)),
            }
        }
        let entries: usize = checked.iter().map(|(_, e, _, _)| e.len()).sum();
        let mut safety = HashMap::new();
        let mut groups = Vec::with_capacity(checked.len());
        for (g, entries, links, report) in checked {
            safety.insert(g, report);
            groups.push((g, entries, links));
        }
        let prepare = {
            let engine = self.clone();
            move || engine.prepare_groups(groups)
        };
        // Validation and indexing are CPU work: a large commit (a bundle, an import chunk) runs
        // them on blocking threads so interactive requests keep their executor threads.
        let prepared = if entries > 1 {
            match tokio::task::spawn_blocking(prepare).await {
                Ok(prepared) => prepared,
                Err(e) => {
                    for (g, slot) in results.iter_mut().enumerate() {
                        if slot.is_none() && safety.contains_key(&g) {
                            *slot = Some(Err(EngineError::Store(salus_store::StoreError::Task(e.to_string()))));
                        }
                    }
                    return PreparedGroups { results, writes: Vec::new(), safety };
                }
            }
        } else {
            prepare()
        };
        let mut writes = Vec::new();
        for (g, group) in prepared {
            match group {
                Ok((group, links)) => writes.push((g, group, links)),
                Err(e) => results[g] = Some(Err(e)),
            }
        }
        PreparedGroups { results, writes, safety }
    }

    /// The second half of [`Engine::commit_each`]: one write transaction for every prepared group.
    pub async fn write_each(&self, caller: &Caller, prepared: PreparedGroups) -> Vec<Result<Vec<Committed>, EngineError>> {
        let PreparedGroups { mut results, writes, mut safety } = prepared;
        let pending: Vec<usize> = writes.iter().map(|(g, _, _)| *g).collect();
        let several_groups = writes.len() > 1;
        let engine = self.clone();
        let written = if writes.is_empty() {
            // Everything was refused before the write: no transaction to open.
            Ok((Vec::new(), Leftovers::default()))
        } else {
            self.store.write(move |tx| {
                let mut done = Vec::with_capacity(writes.len());
                let mut leftovers = Leftovers::default();
                for (g, group, links) in writes {
                    let isolated = several_groups && group.iter().any(Prepared::may_fail_in_transaction);
                    if isolated {
                        tx.savepoint()?;
                    }
                    let result = engine.apply_group(tx, group, &links, &mut leftovers);
                    match result {
                        Ok(committed) => {
                            if isolated {
                                tx.end_savepoint(true)?;
                            }
                            done.push((g, Ok(committed)));
                        }
                        Err(e) if isolated => {
                            tx.end_savepoint(false)?;
                            done.push((g, Err(e)));
                        }
                        // Alone in the write or not isolated: the transaction is rolled back.
                        Err(e) => return Err(WriteFailure { group: Some(g), error: e }),
                    }
                }
                Ok((done, leftovers))
            })
            .await
        };
        match written {
            // The leftovers are freed here, after the transaction.
            Ok((done, _leftovers)) => {
                for (g, result) in done {
                    results[g] = Some(result.and_then(|committed| {
                        self.after_commit(&committed)?;
                        Ok(committed)
                    }));
                }
            }
            Err(WriteFailure { group, error }) => {
                // Nothing of the transaction was kept: each group that was in it says so, the
                // failing one (or the only one) with its own error.
                let owner = match (group, pending.as_slice()) {
                    (Some(g), _) => Some(g),
                    (None, [only]) => Some(*only),
                    (None, _) => None,
                };
                let message = error.to_string();
                let mut error = Some(error);
                for g in pending {
                    results[g] = Some(Err(match error.take_if(|_| Some(g) == owner) {
                        Some(own) => own,
                        None => EngineError::Store(salus_store::StoreError::Database(format!(
                            "not stored: the transaction it shared with other bundles was rolled back ({message})"
                        ))),
                    }));
                }
            }
        }
        results
            .into_iter()
            .enumerate()
            .map(|(g, r)| {
                let r = r.unwrap_or_else(|| Ok(Vec::new()));
                match safety.remove(&g) {
                    Some(report) => r.map(|committed| report.finish(committed, caller)),
                    None => r,
                }
            })
            .collect()
    }
}
