//! The one write path. Every channel turns its request into [`Entry`]s and calls
//! [`Engine::commit`]: each resource is validated before the database is touched, then all
//! entries run in one database transaction, where preconditions are checked, ids and versions
//! assigned, `meta` stamped and the versions stored. Any error rolls the whole commit back.

use crate::body::{BodyParts, strip_server_meta};
use crate::references::Links;
use crate::safety::SafetyReport;
use crate::{Caller, Engine, EngineError, clock, compartment};
use std::collections::HashMap;
use salus_search::{IndexTerms, Query};
use salus_store::{NewVersion, SearchRequest, StoredVersion, WriteTx};
use serde_json::Value;

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

    /// Prepares the entries of each group. A large commit (an import chunk) is split across the
    /// cores: validation and indexing are pure CPU work per entry, and they bound the import
    /// rate. A group's result is its first failing entry (by position), or all its entries.
    fn prepare_groups(
        &self,
        groups: Vec<(usize, Vec<Entry>, Links)>,
    ) -> Vec<(usize, Result<PreparedGroup, EngineError>)> {
        const PARALLEL_FROM: usize = 64;
        // The fewest entries a thread takes at once (a few milliseconds of work).
        const PARALLEL_PIECE: usize = 16;
        let total: usize = groups.iter().map(|(_, e, _)| e.len()).sum();
        let several: Vec<bool> = groups.iter().map(|(_, e, _)| e.len() > 1).collect();
        let sizes: Vec<(usize, usize)> = groups.iter().map(|(g, e, _)| (*g, e.len())).collect();
        let mut links: Vec<Links> = Vec::with_capacity(groups.len());
        // Every entry, tagged with its group and position in it, and whether its preparation
        // waits for the transaction (its references are resolved there).
        let mut flat: Vec<(usize, usize, Entry, bool)> = Vec::with_capacity(total);
        for (k, (_, entries, group_links)) in groups.into_iter().enumerate() {
            flat.extend(entries.into_iter().enumerate().map(|(i, e)| (k, i, e, group_links.deferred.contains(&i))));
            links.push(group_links);
        }
        let prepare = |(k, i, e, deferred): (usize, usize, Entry, bool)| {
            (k, i, if deferred { Ok(Prepared::Deferred(e)) } else { self.prepare(e) })
        };
        let done: Vec<(usize, usize, Result<Prepared, EngineError>)> = if total < PARALLEL_FROM {
            flat.into_iter().map(prepare).collect()
        } else {
            // On rayon's long-lived threads (see `preparation_pool` in the salus binary), split
            // as they go: halves fixed in advance left one thread idle whenever the other was
            // interrupted (by the writer, which goes first), and threads started per batch also
            // started heaps of their own, on fresh pages the kernel had to zero.
            use rayon::prelude::*;
            let prepared: Vec<std::thread::Result<_>> = flat
                .into_par_iter()
                .with_min_len(PARALLEL_PIECE)
                .map(|entry| std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| prepare(entry))))
                .collect();
            match prepared.into_iter().collect::<std::thread::Result<Vec<_>>>() {
                Ok(done) => done,
                Err(_) => {
                    // A panicked entry's group is unknown here, so every group fails.
                    let failed =
                        || Err(EngineError::Store(salus_store::StoreError::Task("an entry's preparation panicked".into())));
                    return sizes.iter().map(|(g, _)| (*g, failed())).collect();
                }
            }
        };
        let mut out: Vec<(usize, Result<Vec<Prepared>, EngineError>)> =
            sizes.iter().map(|(g, n)| (*g, Ok(Vec::with_capacity(*n)))).collect();
        for (k, i, result) in done {
            let Some((_, slot)) = out.get_mut(k) else { continue };
            match (slot.as_mut(), result) {
                (Ok(list), Ok(p)) => list.push(p),
                (Ok(_), Err(e)) => *slot = Err(if several[k] { EngineError::in_entry(i, e) } else { e }),
                (Err(_), _) => {} // the group's first error (by position) stays
            }
        }
        out.into_iter().zip(links).map(|((g, prepared), links)| (g, prepared.map(|p| (p, links)))).collect()
    }

    /// Applies a group's entries in order. An entry whose id is decided here publishes what it
    /// became under its fullUrl, for the deferred entries after it (see references.rs).
    fn apply_group(
        &self,
        tx: &mut dyn WriteTx,
        group: Vec<Prepared>,
        links: &Links,
        leftovers: &mut Leftovers,
    ) -> Result<Vec<Committed>, EngineError> {
        let several = group.len() > 1;
        let mut decided: HashMap<String, String> = HashMap::new();
        let mut done = Vec::with_capacity(group.len());
        for (i, prepared) in group.into_iter().enumerate() {
            let in_entry = |e| if several { EngineError::in_entry(i, e) } else { e };
            let prepared = match prepared {
                Prepared::Deferred(entry) => self.resolve_and_prepare(tx, entry, &decided).map_err(in_entry)?,
                prepared => prepared,
            };
            let committed = self.apply(tx, prepared, leftovers).map_err(in_entry)?;
            if let Some(full_url) = links.published.get(&i) {
                decided.insert(full_url.clone(), format!("{}/{}", committed.resource_type, committed.id));
            }
            done.push(committed);
        }
        Ok(done)
    }

    pub(crate) fn prepare(&self, entry: Entry) -> Result<Prepared, EngineError> {
        match entry {
            Entry::Create { resource, id, if_none_exist } => {
                let resource_type = self.known_type(&resource)?;
                let if_none_exist = match if_none_exist {
                    Some(criteria) => Some(self.criteria(&resource_type, &criteria)?),
                    None => None,
                };
                let checked = self.checked(resource)?;
                Ok(Prepared::Write { resource_type, id, checked, if_match: None, create_only: true, if_none_exist })
            }
            Entry::ConditionalUpdate { resource_type, criteria, resource } => {
                let body_type = self.known_type(&resource)?;
                if body_type != resource_type {
                    return Err(EngineError::bad_request(
                        format!("the body is a {body_type} but the URL names {resource_type}"),
                        Some("resourceType"),
                    ));
                }
                let criteria = self.criteria(&resource_type, &criteria)?;
                let body_id = salus_fhir::resource::id(&resource).map(str::to_string);
                if let Some(id) = body_id.as_deref().filter(|id| !salus_fhir::resource::is_valid_id(id)) {
                    return Err(invalid_id(&resource_type, id));
                }
                let checked = self.checked(resource)?;
                Ok(Prepared::ConditionalUpdate { resource_type, body_id, checked, criteria })
            }
            Entry::ConditionalDelete { resource_type, criteria } => {
                self.known_type_name(&resource_type)?;
                let criteria = self.criteria(&resource_type, &criteria)?;
                Ok(Prepared::ConditionalDelete { resource_type, criteria })
            }
            Entry::Update { resource_type, id, resource, if_match } => {
                let body_type = self.known_type(&resource)?;
                if body_type != resource_type {
                    return Err(EngineError::bad_request(
                        format!("the body is a {body_type} but the URL names {resource_type}"),
                        Some("resourceType"),
                    ));
                }
                match salus_fhir::resource::id(&resource) {
                    Some(body_id) if body_id == id => {}
                    Some(body_id) => {
                        return Err(EngineError::bad_request(
                            format!("the body has id `{body_id}` but the URL names `{id}`: they must be the same"),
                            Some(&format!("{resource_type}.id")),
                        ));
                    }
                    None => {
                        return Err(EngineError::bad_request(
                            format!("an update must carry the id in the body: add \"id\": \"{id}\""),
                            Some(&format!("{resource_type}.id")),
                        ));
                    }
                }
                if !salus_fhir::resource::is_valid_id(&id) {
                    return Err(invalid_id(&resource_type, &id));
                }
                let checked = self.checked(resource)?;
                Ok(Prepared::Write { resource_type, id: Some(id), checked, if_match, create_only: false, if_none_exist: None })
            }
            Entry::Delete { resource_type, id, if_match } => {
                self.known_type_name(&resource_type)?;
                Ok(Prepared::Delete { resource_type, id, if_match })
            }
            Entry::Patch { resource_type, id, patch, if_match } => {
                self.known_type_name(&resource_type)?;
                let patch: json_patch::Patch = serde_json::from_value(patch).map_err(|e| {
                    EngineError::bad_request(format!("not a JSON Patch document (RFC 6902): {e}"), None)
                })?;
                Ok(Prepared::Patch { resource_type, id, patch, if_match })
            }
        }
    }

    /// Validates a resource to be stored, hashes its content (without server meta), serializes
    /// it and extracts its index terms: all the work of a write that needs no database.
    fn checked(&self, mut resource: Value) -> Result<Checked, EngineError> {
        self.require_valid(&resource)?;
        if salus_fhir::resource::resource_type(&resource) == Some("SearchParameter") {
            self.check_search_parameter(&resource)?;
        }
        strip_server_meta(&mut resource);
        let (body, hash) = BodyParts::hashed(&resource).map_err(|e| EngineError::bad_request(e.to_string(), None))?;
        let terms = self.index_terms(&resource);
        Ok(Checked { body, hash, terms })
    }

    fn apply(&self, tx: &mut dyn WriteTx, entry: Prepared, leftovers: &mut Leftovers) -> Result<Committed, EngineError> {
        match entry {
            Prepared::Write { resource_type, id, checked, if_match, create_only, if_none_exist } => {
                if let Some(criteria) = if_none_exist {
                    match matching(tx, criteria)?.as_slice() {
                        [] => {}
                        [existing] => return Ok(committed(Effect::Unchanged, existing)),
                        several => return Err(several_match("If-None-Exist", &resource_type, several.len())),
                    }
                }
                let id = id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
                let current = tx.current(&resource_type, &id)?;
                if create_only && current.is_some() {
                    return Err(EngineError::bad_request(
                        format!("{resource_type}/{id} already exists"),
                        Some(&format!("{resource_type}.id")),
                    ));
                }
                check_if_match(&resource_type, &id, if_match.as_deref(), current.as_ref())?;
                write_version(tx, resource_type, id, checked, current.as_ref(), leftovers)
            }
            Prepared::ConditionalUpdate { resource_type, body_id, checked, criteria } => {
                let id = match matching(tx, criteria)?.as_slice() {
                    [] => body_id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
                    [found] => match body_id {
                        Some(body_id) if body_id != found.id => {
                            return Err(EngineError::bad_request(
                                format!(
                                    "the criteria match {resource_type}/{} but the body has id `{body_id}`: they must be the same",
                                    found.id
                                ),
                                Some(&format!("{resource_type}.id")),
                            ));
                        }
                        _ => found.id.clone(),
                    },
                    several => return Err(several_match("the conditional update", &resource_type, several.len())),
                };
                let current = tx.current(&resource_type, &id)?;
                write_version(tx, resource_type, id, checked, current.as_ref(), leftovers)
            }
            Prepared::ConditionalDelete { resource_type, criteria } => match matching(tx, criteria)?.as_slice() {
                [] => Ok(Committed {
                    effect: Effect::AlreadyDeleted,
                    resource_type,
                    id: String::new(),
                    version: 0,
                    last_updated_ms: clock::now_ms(),
                    body: None,
                    findings: Vec::new(),
                }),
                [found] => {
                    let id = found.id.clone();
                    self.apply(tx, Prepared::Delete { resource_type, id, if_match: None }, leftovers)
                }
                several => Err(several_match("the conditional delete", &resource_type, several.len())),
            },
            Prepared::Delete { resource_type, id, if_match } => {
                let current = tx.current(&resource_type, &id)?;
                check_if_match(&resource_type, &id, if_match.as_deref(), current.as_ref())?;
                let Some(current) = current else {
                    return Err(EngineError::NotFound { resource_type, id });
                };
                if current.deleted {
                    return Ok(committed(Effect::AlreadyDeleted, &current));
                }
                let version = NewVersion {
                    resource_type,
                    id,
                    version: current.version + 1,
                    patient_key: None,
                    last_updated_ms: next_timestamp(Some(&current)),
                    deleted: true,
                    body: None,
                    sha256: None,
                    terms: IndexTerms::default(),
                };
                tx.put(&version)?;
                Ok(from_new(Effect::Deleted, version))
            }
            // `apply_group` resolves these before applying them, knowing the group's decided
            // fullUrls; here none are known, so only conditional references can resolve.
            Prepared::Deferred(entry) => {
                let prepared = self.resolve_and_prepare(tx, entry, &HashMap::new())?;
                self.apply(tx, prepared, leftovers)
            }
            Prepared::Patch { resource_type, id, patch, if_match } => {
                let current = tx.current(&resource_type, &id)?;
                check_if_match(&resource_type, &id, if_match.as_deref(), current.as_ref())?;
                let current = live(&resource_type, &id, current)?;
                let mut resource: Value = serde_json::from_slice(current.body.as_deref().unwrap_or_default())
                    .map_err(|e| salus_store::StoreError::Corrupt(format!("{resource_type}/{id}: {e}")))?;
                json_patch::patch(&mut resource, &patch).map_err(|e| {
                    EngineError::bad_request(format!("the patch cannot be applied: {e}"), None)
                })?;
                if salus_fhir::resource::resource_type(&resource) != Some(resource_type.as_str())
                    || salus_fhir::resource::id(&resource) != Some(id.as_str())
                {
                    return Err(EngineError::bad_request(
                        "a patch may not change resourceType or id",
                        Some(&format!("{resource_type}.id")),
                    ));
                }
                let checked = self.checked(resource)?;
                write_version(tx, resource_type, id, checked, Some(&current), leftovers)
            }
        }
    }

    fn known_type(&self, resource: &Value) -> Result<String, EngineError> {
        match salus_fhir::resource::resource_type(resource) {
            Some(t) => self.known_type_name(t).map(|()| t.to_string()),
            None => Err(EngineError::bad_request(
                "the body is not a FHIR resource: it has no \"resourceType\"",
                Some("resourceType"),
            )),
        }
    }

    pub(crate) fn known_type_name(&self, resource_type: &str) -> Result<(), EngineError> {
        if salus_fhir::r4().is_resource_type(resource_type) {
            Ok(())
        } else {
            Err(EngineError::UnknownResourceType(resource_type.to_string()))
        }
    }
}

/// Stores a new version of `resource_type/id` (or nothing, when its content equals the
/// current version's).
fn write_version(
    tx: &mut dyn WriteTx,
    resource_type: String,
    id: String,
    checked: Checked,
    current: Option<&StoredVersion>,
    leftovers: &mut Leftovers,
) -> Result<Committed, EngineError> {
    let Checked { body, hash, terms } = checked;
    if let Some(current) = current.filter(|c| !c.deleted)
        && current.sha256 == Some(hash)
    {
        leftovers.0.push((body, terms));
        return Ok(committed(Effect::Unchanged, current));
    }
    let version = current.map_or(1, |c| c.version + 1);
    let last_updated_ms = next_timestamp(current);
    let mut new = NewVersion {
        patient_key: compartment::patient_key(&resource_type, &id, &terms),
        body: Some(body.stamped(&id, version, last_updated_ms)),
        resource_type,
        id,
        version,
        last_updated_ms,
        deleted: false,
        sha256: Some(hash),
        terms,
    };
    tx.put(&new)?;
    leftovers.0.push((body, std::mem::take(&mut new.terms)));
    let effect = if current.is_some_and(|c| !c.deleted) { Effect::Updated } else { Effect::Created };
    Ok(from_new(effect, new))
}

/// What applied writes leave to free, kept until the write transaction has ended: a batch's
/// index terms are tens of thousands of small strings, and freeing them inside the
/// transaction was a fortieth of the single writer's time.
#[derive(Default)]
struct Leftovers(Vec<(BodyParts, IndexTerms)>);

/// The current resources a conditional interaction's criteria match (two at most: enough to
/// tell none, one and several apart).
pub(crate) fn matching(tx: &mut dyn WriteTx, criteria: Query) -> Result<Vec<StoredVersion>, EngineError> {
    let hits = tx.search(&SearchRequest { query: criteria, after: None, limit: 2 })?;
    Ok(hits.into_iter().map(|h| h.version).collect())
}

fn several_match(what: &str, resource_type: &str, n: usize) -> EngineError {
    let n = if n > 1 { "several".to_string() } else { n.to_string() };
    EngineError::PreconditionFailed(format!(
        "{what} matches {n} {resource_type} resources: make the criteria more selective"
    ))
}

fn invalid_id(resource_type: &str, id: &str) -> EngineError {
    EngineError::bad_request(
        format!("`{id}` is not a valid id: use 1 to 64 letters, digits, `-` or `.`"),
        Some(&format!("{resource_type}.id")),
    )
}

/// A resource that exists and is not deleted, or the error that says which it is not.
pub(crate) fn live(resource_type: &str, id: &str, current: Option<StoredVersion>) -> Result<StoredVersion, EngineError> {
    match current {
        None => Err(EngineError::NotFound { resource_type: resource_type.into(), id: id.into() }),
        Some(c) if c.deleted => {
            Err(EngineError::Gone { resource_type: resource_type.into(), id: id.into(), version: c.version })
        }
        Some(c) => Ok(c),
    }
}

fn check_if_match(
    resource_type: &str,
    id: &str,
    if_match: Option<&str>,
    current: Option<&StoredVersion>,
) -> Result<(), EngineError> {
    let Some(expected) = if_match else { return Ok(()) };
    let actual = current.filter(|c| !c.deleted).map(|c| c.version.to_string());
    if actual.as_deref() == Some(expected) {
        return Ok(());
    }
    Err(EngineError::VersionConflict {
        resource_type: resource_type.into(),
        id: id.into(),
        expected: expected.into(),
        current: actual.unwrap_or_else(|| "none (it does not exist)".into()),
    })
}

/// Now, but never earlier than the previous version: history order and `_since` stay true
/// even if the system clock steps back.
fn next_timestamp(previous: Option<&StoredVersion>) -> i64 {
    let now = clock::now_ms();
    previous.map_or(now, |p| now.max(p.last_updated_ms + 1))
}

fn committed(effect: Effect, v: &StoredVersion) -> Committed {
    Committed {
        effect,
        resource_type: v.resource_type.clone(),
        id: v.id.clone(),
        version: v.version,
        last_updated_ms: v.last_updated_ms,
        body: v.body.clone(),
        findings: Vec::new(),
    }
}

fn from_new(effect: Effect, v: NewVersion) -> Committed {
    Committed {
        effect,
        resource_type: v.resource_type,
        id: v.id,
        version: v.version,
        last_updated_ms: v.last_updated_ms,
        body: v.body,
        findings: Vec::new(),
    }
}
