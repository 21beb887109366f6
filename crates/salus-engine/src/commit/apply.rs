//! Application: each prepared entry inside the write transaction (preconditions, conditional
//! matches, ids and versions, the stored version and its index rows).

use super::{Checked, Committed, Effect, Prepared};
use crate::body::BodyParts;
use crate::references::Links;
use crate::{Engine, EngineError, clock, compartment};
use salus_search::{IndexTerms, Query};
use salus_store::{NewVersion, SearchRequest, StoredVersion, WriteTx};
use serde_json::Value;
use std::collections::HashMap;

impl Engine {
    /// Applies a group's entries in order. An entry whose id is decided here publishes what it
    /// became under its fullUrl, for the deferred entries after it (see references.rs).
    pub(super) fn apply_group(
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
pub(super) struct Leftovers(Vec<(BodyParts, IndexTerms)>);

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

pub(super) fn invalid_id(resource_type: &str, id: &str) -> EngineError {
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
