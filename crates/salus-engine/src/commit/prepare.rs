//! Preparation: what an entry needs before the write transaction (validation, the index
//! terms, the serialized body), for many entries at once on the preparing threads.

use super::apply::invalid_id;
use super::{Checked, Entry, Prepared, PreparedGroup};
use crate::body::{BodyParts, strip_server_meta};
use crate::references::Links;
use crate::{Engine, EngineError};
use serde_json::Value;

impl Engine {
    /// Prepares the entries of each group. A large commit (an import chunk) is split across the
    /// cores: validation and indexing are pure CPU work per entry, and they bound the import
    /// rate. A group's result is its first failing entry (by position), or all its entries.
    pub(super) fn prepare_groups(
        &self,
        groups: Vec<(usize, Vec<Entry>, Links)>,
    ) -> Vec<(usize, Result<PreparedGroup, EngineError>)> {
        const PARALLEL_FROM: usize = 64;
        // The fewest entries a thread takes at once (a few milliseconds of work).
        const PARALLEL_PIECE: usize = 16;
        let total: usize = groups.iter().map(|(_, e, _)| e.len()).sum();
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
                (Ok(_), Err(e)) => *slot = Err(if sizes[k].1 > 1 { EngineError::in_entry(i, e) } else { e }),
                (Err(_), _) => {} // the group's first error (by position) stays
            }
        }
        out.into_iter().zip(links).map(|((g, prepared), links)| (g, prepared.map(|p| (p, links)))).collect()
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
    pub(super) fn checked(&self, mut resource: Value) -> Result<Checked, EngineError> {
        self.require_valid(&resource)?;
        if salus_fhir::resource::resource_type(&resource) == Some("SearchParameter") {
            self.check_search_parameter(&resource)?;
        }
        strip_server_meta(&mut resource);
        let (body, hash) = BodyParts::hashed(&resource).map_err(|e| EngineError::bad_request(e.to_string(), None))?;
        let terms = self.index_terms(&resource);
        Ok(Checked { body, hash, terms })
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
