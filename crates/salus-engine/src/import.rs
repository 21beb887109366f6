//! Bulk loading (`salus import`, the demo loader): transaction Bundles and NDJSON resources
//! turned into commits that are idempotent, so loading the same data twice creates nothing new.
//!
//! A `POST` entry whose fullUrl is `urn:uuid:X` (as Synthea and most exporters write them)
//! becomes `PUT Type/X`: the uuid is a stable identity chosen by the source, so a second
//! import updates the same resource, and the engine's unchanged-content check makes that a
//! no-op. Resources from NDJSON carry their own ids and are upserted the same way.

use crate::{Caller, Committed, Effect, Engine, EngineError, Entry};
use serde_json::{Value, json};

/// Bundles ready to be written (see [`Engine::prepare_import`]).
pub struct PreparedImport {
    /// Per Bundle: the error that refused it before anything was prepared.
    refused: Vec<Option<EngineError>>,
    /// The Bundles that were prepared, with each write's position in its Bundle.
    planned: Vec<(usize, crate::bundle::EntryOrder)>,
    prepared: crate::commit::PreparedGroups,
}

/// What an import commit did, by effect.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ImportCounts {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
}

impl ImportCounts {
    pub fn total(&self) -> u64 {
        self.created + self.updated + self.unchanged
    }

    fn add<'a>(&mut self, committed: impl IntoIterator<Item = &'a Committed>) {
        for c in committed {
            match c.effect {
                Effect::Created => self.created += 1,
                Effect::Updated => self.updated += 1,
                _ => self.unchanged += 1,
            }
        }
    }

    pub fn merge(&mut self, other: ImportCounts) {
        self.created += other.created;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
    }
}

impl Engine {
    /// Imports one transaction (or batch) Bundle as a single all-or-nothing transaction.
    pub async fn import_bundle(&self, caller: &Caller, bundle: Value) -> Result<ImportCounts, EngineError> {
        self.import_bundles(caller, vec![bundle]).await.pop().unwrap_or_else(|| Ok(ImportCounts::default()))
    }

    /// Imports several Bundles, each all-or-nothing on its own, in one database transaction
    /// (see [`Engine::commit_each`]): a bulk load pays one COMMIT for many files. The result of
    /// each Bundle is in its position; one that fails stores nothing and stops no other.
    pub async fn import_bundles(&self, caller: &Caller, bundles: Vec<Value>) -> Vec<Result<ImportCounts, EngineError>> {
        let prepared = self.prepare_import(caller, bundles).await;
        self.write_import(caller, prepared).await
    }

    /// The first half of [`Engine::import_bundles`]: translating, validating and indexing, so
    /// that a loader can prepare its next batch while this one is written.
    pub async fn prepare_import(&self, caller: &Caller, bundles: Vec<Value>) -> PreparedImport {
        let mut refused: Vec<Option<EngineError>> = Vec::with_capacity(bundles.len());
        let mut groups = Vec::new();
        let mut planned = Vec::new();
        for (b, bundle) in bundles.into_iter().enumerate() {
            match bundle_writes(bundle) {
                Ok(plan) => {
                    groups.push((plan.writes, plan.links));
                    planned.push((b, plan.order));
                    refused.push(None);
                }
                Err(e) => refused.push(Some(e)),
            }
        }
        let prepared = self.prepare_linked(caller, groups).await;
        PreparedImport { refused, planned, prepared }
    }

    /// The second half of [`Engine::import_bundles`]: the write transaction.
    pub async fn write_import(&self, caller: &Caller, prepared: PreparedImport) -> Vec<Result<ImportCounts, EngineError>> {
        let PreparedImport { refused, planned, prepared } = prepared;
        let mut results: Vec<Result<ImportCounts, EngineError>> =
            refused.into_iter().map(|r| r.map_or(Ok(ImportCounts::default()), Err)).collect();
        let committed = self.write_each(caller, prepared).await;
        for ((b, order), result) in planned.into_iter().zip(committed) {
            results[b] = result.map_err(|e| order.entry_error(e)).map(|committed| {
                let mut counts = ImportCounts::default();
                counts.add(&committed);
                counts
            });
        }
        results
    }

    /// Imports resources that carry their own ids (an NDJSON chunk) in one commit.
    pub async fn import_resources(&self, caller: &Caller, resources: Vec<Value>) -> Result<ImportCounts, EngineError> {
        let mut entries = Vec::with_capacity(resources.len());
        for (i, resource) in resources.into_iter().enumerate() {
            let resource_type = salus_fhir::resource::resource_type(&resource).map(str::to_string);
            let id = salus_fhir::resource::id(&resource).map(str::to_string);
            match (resource_type, id) {
                (Some(resource_type), Some(id)) => {
                    entries.push(Entry::Update { resource_type, id, resource, if_match: None })
                }
                (Some(_), None) => entries.push(Entry::Create { resource, id: None, if_none_exist: None }),
                (None, _) => {
                    return Err(EngineError::in_entry(
                        i,
                        EngineError::bad_request("the line is not a FHIR resource: it has no resourceType", None),
                    ));
                }
            }
        }
        let committed = self.commit(caller, entries).await?;
        let mut counts = ImportCounts::default();
        counts.add(&committed);
        Ok(counts)
    }
}

/// The writes of an import Bundle, made idempotent, in the transaction's processing order.
fn bundle_writes(bundle: Value) -> Result<crate::bundle::TransactionPlan, EngineError> {
    if salus_fhir::resource::resource_type(&bundle) != Some("Bundle") {
        return Err(EngineError::bad_request("an import file must hold a Bundle or NDJSON resources", Some("resourceType")));
    }
    let mut bundle = idempotent(bundle);
    let entries = match bundle.get_mut("entry").map(Value::take) {
        Some(Value::Array(entries)) => entries,
        None | Some(Value::Null) => Vec::new(),
        Some(_) => return Err(EngineError::bad_request("Bundle.entry must be an array", Some("Bundle.entry"))),
    };
    crate::bundle::plan_transaction(entries, None)
}

/// Rewrites `POST` entries with a `urn:uuid:` fullUrl into `PUT Type/uuid`.
fn idempotent(mut bundle: Value) -> Value {
    for entry in bundle["entry"].as_array_mut().into_iter().flatten() {
        if entry["request"]["method"] != "POST" || entry["request"].get("ifNoneExist").is_some() {
            continue;
        }
        let Some(uuid) = entry["fullUrl"].as_str().and_then(|u| u.strip_prefix("urn:uuid:")).map(str::to_string)
        else {
            continue;
        };
        let Some(resource_type) = salus_fhir::resource::resource_type(&entry["resource"]).map(str::to_string) else {
            continue;
        };
        if !salus_fhir::resource::is_valid_id(&uuid) {
            continue;
        }
        entry["resource"]["id"] = json!(uuid);
        entry["request"] = json!({"method": "PUT", "url": format!("{resource_type}/{uuid}")});
    }
    bundle
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_entries_with_urn_uuid_become_puts_with_that_id() {
        let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
            {"fullUrl": "urn:uuid:0b8f3c9e-1c7a-4d0e-9b9a-1f2e3d4c5b6a", "resource": {"resourceType": "Patient"},
             "request": {"method": "POST", "url": "Patient"}},
            {"fullUrl": "urn:uuid:x", "resource": {"resourceType": "Patient"},
             "request": {"method": "POST", "url": "Patient", "ifNoneExist": "identifier=a|b"}}
        ]});
        let out = idempotent(bundle);
        assert_eq!(out["entry"][0]["request"]["method"], "PUT");
        assert_eq!(out["entry"][0]["request"]["url"], "Patient/0b8f3c9e-1c7a-4d0e-9b9a-1f2e3d4c5b6a");
        assert_eq!(out["entry"][0]["resource"]["id"], "0b8f3c9e-1c7a-4d0e-9b9a-1f2e3d4c5b6a");
        assert_eq!(out["entry"][1]["request"]["method"], "POST", "conditional creates keep their own rule");
    }
}
