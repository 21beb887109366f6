//! Batch and transaction Bundles (`POST /fhir`), translated into the one write path.
//!
//! A transaction becomes one [`Engine::commit`]: its entries are put in the spec's processing
//! order (DELETE, POST, PUT/PATCH, then GET), POSTs get their ids before anything runs so that
//! `urn:uuid:` (or any fullUrl) references between entries can be rewritten to `Type/id`, and
//! any failure rolls everything back with an error naming the entry. A batch runs each entry as
//! its own commit and reports each outcome in its own response entry.

use crate::{Caller, Committed, Effect, Engine, EngineError, Entry, clock};
use base64::Engine as _;
use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// Most entries accepted in one Bundle, unless configured otherwise.
pub const DEFAULT_MAX_BUNDLE_ENTRIES: usize = 10_000;

/// A committed transaction: each write's result with its entry position, and the reads still
/// to run.
pub(crate) struct Transaction {
    pub(crate) committed: Vec<(usize, Committed)>,
    reads: Vec<(usize, Request)>,
}

/// What one request entry asks for, parsed from `entry.request`.
#[derive(Debug, Clone)]
enum Request {
    Write(Entry),
    Read { resource_type: String, id: String, version: Option<String> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Delete,
    Post,
    PutOrPatch,
    Get,
}

impl Engine {
    /// Processes a `transaction` or `batch` Bundle and returns the response Bundle.
    pub async fn process_bundle(&self, caller: &Caller, bundle: Value) -> Result<Value, EngineError> {
        if salus_fhir::resource::resource_type(&bundle) != Some("Bundle") {
            return Err(EngineError::bad_request("POST to the base URL takes a Bundle", Some("resourceType")));
        }
        let mut bundle = bundle;
        let entries = match bundle.get_mut("entry").map(Value::take) {
            None => Vec::new(),
            Some(Value::Array(entries)) => entries,
            Some(_) => return Err(EngineError::bad_request("Bundle.entry must be an array", Some("Bundle.entry"))),
        };
        if entries.len() > self.max_bundle_entries {
            return Err(EngineError::bad_request(
                format!(
                    "the Bundle has {} entries; this server takes at most {} per Bundle: split it",
                    entries.len(),
                    self.max_bundle_entries
                ),
                Some("Bundle.entry"),
            ));
        }
        match bundle.get("type").and_then(Value::as_str) {
            Some("transaction") => self.transaction(caller, entries).await,
            Some("batch") => Ok(self.batch(caller, entries).await),
            other => Err(EngineError::bad_request(
                format!(
                    "Bundle.type is {}: POST to the base URL takes a `transaction` or `batch` Bundle",
                    other.map_or("missing".to_string(), |t| format!("`{t}`"))
                ),
                Some("Bundle.type"),
            )),
        }
    }

    async fn transaction(&self, caller: &Caller, entries: Vec<Value>) -> Result<Value, EngineError> {
        let count = entries.len();
        let done = self.commit_transaction(caller, entries).await?;
        let mut responses: Vec<Value> = vec![Value::Null; count];
        for (i, c) in &done.committed {
            responses[*i] = write_entry(c);
        }
        for (i, request) in done.reads {
            if let Request::Read { resource_type, id, version } = request {
                responses[i] = self.read_entry(caller, &resource_type, &id, version.as_deref()).await;
            }
        }
        Ok(response_bundle("transaction-response", responses))
    }

    /// Runs the writes of a transaction's entries as one commit; the reads are returned, with
    /// their positions, to run afterwards (GETs come last in the processing order).
    pub(crate) async fn commit_transaction(&self, caller: &Caller, entries: Vec<Value>) -> Result<Transaction, EngineError> {
        let plan = plan_transaction(entries)?;
        let committed = self.commit(caller, plan.writes).await.map_err(|e| plan.order.entry_error(e))?;
        Ok(Transaction { committed: plan.order.0.into_iter().zip(committed).collect(), reads: plan.reads })
    }
    async fn batch(&self, caller: &Caller, entries: Vec<Value>) -> Value {
        let mut responses = Vec::with_capacity(entries.len());
        for entry in entries {
            let response = match parse_request(entry) {
                Err(e) => error_entry(&e),
                Ok((_, Request::Read { resource_type, id, version })) => {
                    self.read_entry(caller, &resource_type, &id, version.as_deref()).await
                }
                Ok((_, Request::Write(write))) => match self.commit(caller, vec![write]).await {
                    Ok(committed) => committed.first().map_or(Value::Null, write_entry),
                    Err(e) => error_entry(&e),
                },
            };
            responses.push(response);
        }
        response_bundle("batch-response", responses)
    }

    async fn read_entry(&self, caller: &Caller, resource_type: &str, id: &str, version: Option<&str>) -> Value {
        let read = match version {
            Some(v) => self.vread(caller, resource_type, id, v).await,
            None => self.read(caller, resource_type, id).await,
        };
        match read {
            Ok(v) => {
                let resource: Value = v.body.as_deref().and_then(|b| serde_json::from_slice(b).ok()).unwrap_or(Value::Null);
                json!({
                    "resource": resource,
                    "response": {
                        "status": "200 OK",
                        "etag": format!("W/\"{}\"", v.version),
                        "lastModified": clock::format_instant(v.last_updated_ms),
                    }
                })
            }
            Err(e) => error_entry(&e),
        }
    }
}

/// A transaction's writes in processing order, ready for one commit.
pub(crate) struct TransactionPlan {
    pub(crate) writes: Vec<Entry>,
    /// Each write's position in the Bundle.
    pub(crate) order: EntryOrder,
    reads: Vec<(usize, Request)>,
}

/// The Bundle position of each write of a [`TransactionPlan`], in processing order.
pub(crate) struct EntryOrder(Vec<usize>);

impl EntryOrder {
    /// An error of the commit, naming the entry by its position in the Bundle rather than in
    /// the processing order.
    pub(crate) fn entry_error(&self, e: EngineError) -> EngineError {
        match e {
            EngineError::InEntry { index, error } => {
                EngineError::InEntry { index: self.0.get(index).copied().unwrap_or(index), error }
            }
            e => e,
        }
    }
}

/// Puts a transaction's entries in the spec's processing order, gives POSTs their ids and
/// rewrites references between entries (fullUrl) to those ids. Nothing is read or written.
pub(crate) fn plan_transaction(entries: Vec<Value>) -> Result<TransactionPlan, EngineError> {
    let mut requests = Vec::with_capacity(entries.len());
    for (i, entry) in entries.into_iter().enumerate() {
        let full_url = entry.get("fullUrl").and_then(Value::as_str).map(str::to_string);
        let (phase, request) = parse_request(entry).map_err(|e| EngineError::in_entry(i, e))?;
        requests.push((i, phase, request, full_url));
    }
    // Ids for POSTs, and the map from each fullUrl to the reference that now names it.
    let mut targets: HashMap<String, String> = HashMap::new();
    for (_, _, request, full_url) in &mut requests {
        let Request::Write(entry) = request else { continue };
        let reference = match entry {
            Entry::Create { resource, id, .. } => {
                let new_id = uuid::Uuid::new_v4().to_string();
                *id = Some(new_id.clone());
                salus_fhir::resource::resource_type(resource).map(|t| format!("{t}/{new_id}"))
            }
            Entry::Update { resource_type, id, .. } => Some(format!("{resource_type}/{id}")),
            _ => None,
        };
        if let (Some(url), Some(reference)) = (full_url.as_ref(), reference)
            && targets.insert(url.clone(), reference).is_some()
        {
            return Err(EngineError::bad_request(
                format!("the fullUrl {url} appears on more than one entry: each must be unique"),
                Some("Bundle.entry.fullUrl"),
            ));
        }
    }
    for (_, _, request, _) in &mut requests {
        if let Request::Write(
            Entry::Create { resource, .. } | Entry::Update { resource, .. } | Entry::ConditionalUpdate { resource, .. },
        ) = request
        {
            rewrite_references(resource, &targets);
        }
    }
    requests.sort_by_key(|(i, phase, ..)| (*phase, *i));

    let mut writes = Vec::new();
    let mut order = Vec::new();
    let mut reads = Vec::new();
    for (i, _, request, _) in requests {
        match request {
            Request::Write(entry) => {
                writes.push(entry);
                order.push(i);
            }
            read => reads.push((i, read)),
        }
    }
    Ok(TransactionPlan { writes, order: EntryOrder(order), reads })
}

/// Reads `entry.request` (and `entry.resource`) into what it asks for.
fn parse_request(mut entry: Value) -> Result<(Phase, Request), EngineError> {
    // The resource is moved out, not copied: a bulk load's bundles are most of its memory.
    let mut resource = entry.as_object_mut().and_then(|o| o.shift_remove("resource"));
    let request = entry.get("request").ok_or_else(|| {
        EngineError::bad_request("the entry has no `request`: say what to do (method and url)", Some("Bundle.entry.request"))
    })?;
    let method = request.get("method").and_then(Value::as_str).unwrap_or_default();
    let url = request.get("url").and_then(Value::as_str).unwrap_or_default();
    let if_match = request.get("ifMatch").and_then(Value::as_str).map(etag_version);
    let mut resource = || {
        resource.take().ok_or_else(|| {
            EngineError::bad_request(format!("a {method} entry needs a `resource`"), Some("Bundle.entry.resource"))
        })
    };
    let (path, query) = match url.split_once('?') {
        Some((p, q)) => (p.trim_matches('/'), Some(q)),
        None => (url.trim_matches('/'), None),
    };
    let segments: Vec<&str> = if path.is_empty() { Vec::new() } else { path.split('/').collect() };
    match (method, segments.as_slice(), query) {
        ("POST", [resource_type], None) => {
            let resource = resource()?;
            if salus_fhir::resource::resource_type(&resource) != Some(*resource_type) {
                return Err(EngineError::bad_request(
                    format!("request.url names {resource_type} but the resource is not one"),
                    Some("Bundle.entry.request.url"),
                ));
            }
            let if_none_exist = request.get("ifNoneExist").and_then(Value::as_str).map(str::to_string);
            Ok((Phase::Post, Request::Write(Entry::Create { resource, id: None, if_none_exist })))
        }
        ("PUT", [resource_type, id], None) => Ok((
            Phase::PutOrPatch,
            Request::Write(Entry::Update {
                resource_type: (*resource_type).into(),
                id: (*id).into(),
                resource: resource()?,
                if_match,
            }),
        )),
        ("PATCH", [resource_type, id], None) => {
            let patch = patch_document(&resource()?)?;
            Ok((
                Phase::PutOrPatch,
                Request::Write(Entry::Patch { resource_type: (*resource_type).into(), id: (*id).into(), patch, if_match }),
            ))
        }
        ("DELETE", [resource_type, id], None) => Ok((
            Phase::Delete,
            Request::Write(Entry::Delete { resource_type: (*resource_type).into(), id: (*id).into(), if_match }),
        )),
        ("GET", [resource_type, id], None) => {
            Ok((Phase::Get, Request::Read { resource_type: (*resource_type).into(), id: (*id).into(), version: None }))
        }
        ("GET", [resource_type, id, "_history", version], None) => Ok((
            Phase::Get,
            Request::Read {
                resource_type: (*resource_type).into(),
                id: (*id).into(),
                version: Some((*version).into()),
            },
        )),
        ("PUT", [resource_type], Some(criteria)) => Ok((
            Phase::PutOrPatch,
            Request::Write(Entry::ConditionalUpdate {
                resource_type: (*resource_type).into(),
                criteria: criteria.into(),
                resource: resource()?,
            }),
        )),
        ("DELETE", [resource_type], Some(criteria)) => Ok((
            Phase::Delete,
            Request::Write(Entry::ConditionalDelete { resource_type: (*resource_type).into(), criteria: criteria.into() }),
        )),
        ("GET", [_] | [], _) => Err(EngineError::NotSupported(
            "a search inside a Bundle is not supported yet: search with GET /fhir/Type?... instead".into(),
        )),
        ("GET" | "POST" | "PUT" | "PATCH" | "DELETE", _, _) => Err(EngineError::bad_request(
            format!("{method} {url}: this request url is not one this method takes in a Bundle"),
            Some("Bundle.entry.request.url"),
        )),
        _ => Err(EngineError::bad_request(
            format!("request.method `{method}` is not one of GET, POST, PUT, PATCH, DELETE"),
            Some("Bundle.entry.request.method"),
        )),
    }
}

/// A PATCH entry carries its JSON Patch as a Binary (base64 data), as the spec describes.
fn patch_document(resource: &Value) -> Result<Value, EngineError> {
    let not_a_patch = || {
        EngineError::bad_request(
            "a PATCH entry's resource must be a Binary holding a JSON Patch document (application/json-patch+json)",
            Some("Bundle.entry.resource"),
        )
    };
    if salus_fhir::resource::resource_type(resource) != Some("Binary") {
        return Err(not_a_patch());
    }
    let data = resource.get("data").and_then(Value::as_str).ok_or_else(not_a_patch)?;
    let bytes = base64::engine::general_purpose::STANDARD.decode(data.trim()).map_err(|_| not_a_patch())?;
    serde_json::from_slice(&bytes).map_err(|_| not_a_patch())
}

fn etag_version(value: &str) -> String {
    let v = value.trim();
    v.strip_prefix("W/").unwrap_or(v).trim_matches('"').to_string()
}

/// Replaces every `reference` that names another entry's fullUrl with that entry's `Type/id`.
fn rewrite_references(value: &mut Value, targets: &HashMap<String, String>) {
    match value {
        // One pass over the members, not a lookup of `reference` in every object: hashing the
        // key for each object of every resource was a fortieth of a bulk load's preparation.
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if key != "reference" {
                    rewrite_references(child, targets);
                } else if let Value::String(reference) = child
                    && let Some(target) = targets.get(reference.as_str())
                {
                    *reference = target.clone();
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite_references(v, targets)),
        _ => {}
    }
}

fn write_entry(c: &Committed) -> Value {
    let status = match c.effect {
        Effect::Created => "201 Created",
        Effect::Updated | Effect::Unchanged => "200 OK",
        Effect::Deleted | Effect::AlreadyDeleted => "204 No Content",
    };
    let mut response = Map::new();
    response.insert("status".into(), json!(status));
    if !matches!(c.effect, Effect::Deleted | Effect::AlreadyDeleted) {
        response.insert("location".into(), json!(format!("{}/{}/_history/{}", c.resource_type, c.id, c.version)));
    }
    response.insert("etag".into(), json!(format!("W/\"{}\"", c.version)));
    response.insert("lastModified".into(), json!(clock::format_instant(c.last_updated_ms)));
    if !c.findings.is_empty() {
        // Medication-safety warnings on an order that was stored (see safety.rs).
        let issues: Vec<Value> = c.findings.iter().map(|f| crate::finding_issue(f, "warning")).collect();
        response.insert("outcome".into(), json!({"resourceType": "OperationOutcome", "issue": issues}));
    }
    let mut entry = Map::new();
    if let Some(resource) = c.body.as_deref().and_then(|b| serde_json::from_slice::<Value>(b).ok()) {
        entry.insert("fullUrl".into(), json!(format!("{}/{}", c.resource_type, c.id)));
        entry.insert("resource".into(), resource);
    }
    entry.insert("response".into(), Value::Object(response));
    Value::Object(entry)
}

/// A batch entry that failed: its status and an OperationOutcome.
fn error_entry(e: &EngineError) -> Value {
    let (status, code) = match e.root() {
        EngineError::NotFound { .. } | EngineError::VersionNotFound { .. } | EngineError::UnknownResourceType(_) => {
            ("404 Not Found", "not-found")
        }
        EngineError::Gone { .. } => ("410 Gone", "deleted"),
        EngineError::VersionConflict { .. } | EngineError::PreconditionFailed(_) => ("412 Precondition Failed", "conflict"),
        EngineError::NotSupported(_) => ("501 Not Implemented", "not-supported"),
        EngineError::Store(_) => ("500 Internal Server Error", "exception"),
        EngineError::MedicationSafety { .. } => ("409 Conflict", "business-rule"),
        _ => ("400 Bad Request", "invalid"),
    };
    let outcome = match e.root() {
        EngineError::Invalid(outcome) => outcome.clone(),
        root @ EngineError::MedicationSafety { .. } => crate::safety::refusal_outcome(root),
        root => json!({
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": code, "diagnostics": root.to_string()}]
        }),
    };
    json!({ "response": { "status": status, "outcome": outcome } })
}

fn response_bundle(bundle_type: &str, entries: Vec<Value>) -> Value {
    json!({
        "resourceType": "Bundle",
        "id": uuid::Uuid::new_v4().to_string(),
        "type": bundle_type,
        "entry": entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_to_other_entries_are_rewritten() {
        let targets = HashMap::from([("urn:uuid:1".to_string(), "Patient/abc".to_string())]);
        let mut obs = json!({"subject": {"reference": "urn:uuid:1"}, "performer": [{"reference": "urn:uuid:2"}]});
        rewrite_references(&mut obs, &targets);
        assert_eq!(obs["subject"]["reference"], "Patient/abc");
        assert_eq!(obs["performer"][0]["reference"], "urn:uuid:2");
    }

    #[test]
    fn processing_order_is_delete_post_put_get() {
        assert!(Phase::Delete < Phase::Post && Phase::Post < Phase::PutOrPatch && Phase::PutOrPatch < Phase::Get);
    }
}
