//! A transaction Bundle's plan: its entries parsed, put in the spec's processing order
//! (DELETE, POST, PUT/PATCH, then GET), and the references between them rewritten. A POST gets
//! its id before anything runs, so that `urn:uuid:` (or any fullUrl) references to it can be
//! rewritten to `Type/id` up front. Two kinds of reference cannot be: a conditional reference
//! (`Patient?identifier=...`), and one to the fullUrl of a conditional create or update, whose
//! id is decided by its match inside the transaction. Their entries are marked in the plan's
//! [`Links`] and resolved in the write transaction (see `references.rs`); an entry that names
//! another's decided id is written after it. Nothing is read or written here.

use crate::references::{Links, conditional_reference};
use crate::search::query_pairs;
use crate::{EngineError, Entry, SearchRequest};
use base64::Engine as _;
use serde_json::Value;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

/// What one request entry asks for, parsed from `entry.request`.
#[derive(Debug, Clone)]
enum Request {
    Write(Entry),
    Read(Read),
}

/// A GET entry.
#[derive(Debug, Clone)]
pub(super) enum Read {
    Instance { resource_type: String, id: String, version: Option<String> },
    /// A search; `path` is its url without the query (`Patient`, empty for the system level).
    Search { request: SearchRequest, path: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Delete,
    Post,
    PutOrPatch,
    Get,
}

/// A transaction's writes in processing order, ready for one commit.
pub(crate) struct TransactionPlan {
    pub(crate) writes: Vec<Entry>,
    /// Each write's position in the Bundle.
    pub(crate) order: EntryOrder,
    /// The writes (by position in `writes`) whose references the transaction resolves.
    pub(crate) links: Links,
    pub(super) reads: Vec<(usize, Read)>,
}

/// The Bundle position of each write of a [`TransactionPlan`], in processing order.
pub(crate) struct EntryOrder(Vec<usize>);

impl EntryOrder {
    /// An error of the commit, naming the entry by its position in the Bundle rather than in
    /// the processing order (a commit of one entry does not name it: the plan does).
    pub(crate) fn entry_error(&self, e: EngineError) -> EngineError {
        match (e, self.0.as_slice()) {
            (EngineError::InEntry { index, error }, _) => {
                EngineError::InEntry { index: self.0.get(index).copied().unwrap_or(index), error }
            }
            (e, [only]) => EngineError::in_entry(*only, e),
            (e, _) => e,
        }
    }

    /// The Bundle positions, in processing order.
    pub(super) fn positions(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().copied()
    }
}

/// What a fullUrl names once the plan is made.
enum Target {
    /// A reference known before the transaction (`Type/id`).
    Known(String),
    /// The entry at this position, whose id is decided by its match inside the transaction.
    Decided(usize),
}

/// One entry on its way into the plan.
struct Planned {
    phase: Phase,
    request: Request,
    full_url: Option<String>,
    /// Whether its id is decided inside the transaction (a conditional create or update).
    decided: bool,
    /// The references found in its resource that the transaction resolves.
    found: Found,
}

/// What the reference walk found that cannot be rewritten up front.
#[derive(Default)]
struct Found {
    conditional: bool,
    /// The positions of the entries whose decided id it names.
    depends_on: Vec<usize>,
}

impl Found {
    fn deferred(&self) -> bool {
        self.conditional || !self.depends_on.is_empty()
    }
}

/// Plans a transaction's entries (see the module's comment). `base` is the server's base URL,
/// under which absolute `request.url`s are accepted.
pub(crate) fn plan_transaction(entries: Vec<Value>, base: Option<&str>) -> Result<TransactionPlan, EngineError> {
    let mut planned = Vec::with_capacity(entries.len());
    for (i, entry) in entries.into_iter().enumerate() {
        let full_url = entry.get("fullUrl").and_then(Value::as_str).map(str::to_string);
        let (phase, request) = parse_request(entry, base).map_err(|e| EngineError::in_entry(i, e))?;
        planned.push(Planned { phase, request, full_url, decided: false, found: Found::default() });
    }
    // Ids for POSTs, and what each fullUrl names.
    let mut targets: HashMap<String, Target> = HashMap::new();
    for (i, p) in planned.iter_mut().enumerate() {
        let Request::Write(entry) = &mut p.request else { continue };
        let target = match entry {
            Entry::Create { resource, id, if_none_exist } => {
                let new_id = uuid::Uuid::new_v4().to_string();
                *id = Some(new_id.clone());
                if if_none_exist.is_some() {
                    // The new id only if nothing matches.
                    Some(Target::Decided(i))
                } else {
                    salus_fhir::resource::resource_type(resource).map(|t| Target::Known(format!("{t}/{new_id}")))
                }
            }
            Entry::Update { resource_type, id, .. } => Some(Target::Known(format!("{resource_type}/{id}"))),
            Entry::ConditionalUpdate { .. } => Some(Target::Decided(i)),
            _ => None,
        };
        p.decided = matches!(target, Some(Target::Decided(_)));
        if let (Some(url), Some(target)) = (p.full_url.as_ref(), target)
            && targets.insert(url.clone(), target).is_some()
        {
            return Err(EngineError::bad_request(
                format!("the fullUrl {url} appears on more than one entry: each must be unique"),
                Some("Bundle.entry.fullUrl"),
            ));
        }
    }
    let mut dependencies = false;
    for p in &mut planned {
        if let Request::Write(
            Entry::Create { resource, .. } | Entry::Update { resource, .. } | Entry::ConditionalUpdate { resource, .. },
        ) = &mut p.request
        {
            rewrite_references(resource, &targets, &mut p.found);
            dependencies |= !p.found.depends_on.is_empty();
        }
    }
    let order = if dependencies {
        dependency_order(&planned)?
    } else {
        let mut order: Vec<usize> = (0..planned.len()).collect();
        order.sort_by_key(|&i| (planned[i].phase, i));
        order
    };

    let mut slots: Vec<Option<Planned>> = planned.into_iter().map(Some).collect();
    let mut writes = Vec::new();
    let mut positions = Vec::new();
    let mut links = Links::default();
    let mut reads = Vec::new();
    for i in order {
        let Some(p) = slots.get_mut(i).and_then(Option::take) else { continue };
        match p.request {
            Request::Write(entry) => {
                if p.found.deferred() {
                    links.deferred.insert(writes.len());
                }
                if let Some(url) = p.full_url.filter(|_| p.decided) {
                    links.published.insert(writes.len(), url);
                }
                writes.push(entry);
                positions.push(i);
            }
            Request::Read(read) => reads.push((i, read)),
        }
    }
    Ok(TransactionPlan { writes, order: EntryOrder(positions), links, reads })
}

/// The processing order when some entries name another's decided id: phase order, except
/// that an entry comes after every entry it names (moving, if need be, into a later phase: a
/// POST that names a conditional update's outcome is written after that update).
fn dependency_order(planned: &[Planned]) -> Result<Vec<usize>, EngineError> {
    let n = planned.len();
    let mut waiting_for = vec![0usize; n];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, p) in planned.iter().enumerate() {
        for &d in &p.found.depends_on {
            waiting_for[i] += 1;
            if let Some(list) = dependents.get_mut(d) {
                list.push(i);
            }
        }
    }
    let mut phase: Vec<Phase> = planned.iter().map(|p| p.phase).collect();
    let mut ready: BinaryHeap<Reverse<(Phase, usize)>> =
        (0..n).filter(|&i| waiting_for[i] == 0).map(|i| Reverse((phase[i], i))).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(Reverse((at, i))) = ready.pop() {
        order.push(i);
        for &j in &dependents[i] {
            phase[j] = phase[j].max(at);
            waiting_for[j] -= 1;
            if waiting_for[j] == 0 {
                ready.push(Reverse((phase[j], j)));
            }
        }
    }
    match (0..n).find(|&i| waiting_for[i] > 0) {
        None => Ok(order),
        Some(i) => Err(EngineError::in_entry(
            i,
            EngineError::bad_request(
                "this entry and others name each other's fullUrl in a cycle, while the id of each is decided by its own \
                 conditional create or update: none can be written first. Break the cycle: use a plain create for one \
                 of them, or drop one of the references",
                Some("Bundle.entry.fullUrl"),
            ),
        )),
    }
}

/// Reads `entry.request` (and `entry.resource`) into what it asks for.
fn parse_request(mut entry: Value, base: Option<&str>) -> Result<(Phase, Request), EngineError> {
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
    // An absolute url under this server's base is the relative url after it.
    let url = match base.and_then(|b| url.strip_prefix(b)) {
        Some(rest) if rest.is_empty() || rest.starts_with(['/', '?']) => rest,
        _ => url,
    };
    let (path, query) = match url.split_once('?') {
        Some((p, q)) => (p.trim_matches('/'), Some(q)),
        None => (url.trim_matches('/'), None),
    };
    if path.contains("://") {
        return Err(EngineError::bad_request(
            format!(
                "request.url {url} is not on this server: use a url relative to the base ({})",
                base.map_or_else(|| "`Type/id`".to_string(), |b| format!("{b}, e.g. `Type/id`"))
            ),
            Some("Bundle.entry.request.url"),
        ));
    }
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
        ("GET", [resource_type, id], None) => Ok((
            Phase::Get,
            Request::Read(Read::Instance { resource_type: (*resource_type).into(), id: (*id).into(), version: None }),
        )),
        ("GET", [resource_type, id, "_history", version], None) => Ok((
            Phase::Get,
            Request::Read(Read::Instance {
                resource_type: (*resource_type).into(),
                id: (*id).into(),
                version: Some((*version).into()),
            }),
        )),
        ("GET", [] | [_], _) | ("GET", [_, _, _], _) if !path.ends_with("/_history") => {
            let (resource_type, compartment) = match segments.as_slice() {
                [t] => (Some((*t).to_string()), None),
                [c, id, t] => ((*t != "*").then(|| (*t).to_string()), Some(((*c).to_string(), (*id).to_string()))),
                _ => (None, None),
            };
            let params = query.map(query_pairs).unwrap_or_default();
            let request = SearchRequest { resource_type, compartment, params, lenient: false };
            Ok((Phase::Get, Request::Read(Read::Search { request, path: path.to_string() })))
        }
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

/// Rewrites every `reference` that names another entry's fullUrl to that entry's `Type/id`,
/// and notes in `found` what cannot be rewritten yet: a conditional reference, or the fullUrl
/// of an entry whose id the transaction decides.
fn rewrite_references(value: &mut Value, targets: &HashMap<String, Target>, found: &mut Found) {
    match value {
        // One pass over the members, not a lookup of `reference` in every object: hashing the
        // key for each object of every resource was a fortieth of a bulk load's preparation.
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if key != "reference" {
                    rewrite_references(child, targets, found);
                } else if let Value::String(reference) = child {
                    match targets.get(reference.as_str()) {
                        Some(Target::Known(target)) => *reference = target.clone(),
                        Some(Target::Decided(entry)) => found.depends_on.push(*entry),
                        None => found.conditional |= conditional_reference(reference).is_some(),
                    }
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite_references(v, targets, found)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn references_to_other_entries_are_rewritten() {
        let targets = HashMap::from([("urn:uuid:1".to_string(), Target::Known("Patient/abc".to_string()))]);
        let mut obs = json!({"subject": {"reference": "urn:uuid:1"}, "performer": [{"reference": "urn:uuid:2"}]});
        let mut found = Found::default();
        rewrite_references(&mut obs, &targets, &mut found);
        assert_eq!(obs["subject"]["reference"], "Patient/abc");
        assert_eq!(obs["performer"][0]["reference"], "urn:uuid:2");
        assert!(!found.deferred());
    }

    #[test]
    fn conditional_references_and_decided_targets_defer_the_entry() {
        let targets = HashMap::from([("urn:uuid:p".to_string(), Target::Decided(3))]);
        let mut found = Found::default();
        rewrite_references(&mut json!({"subject": {"reference": "urn:uuid:p"}}), &targets, &mut found);
        assert_eq!(found.depends_on, [3]);
        let mut found = Found::default();
        rewrite_references(&mut json!({"subject": {"reference": "Patient?identifier=a|b"}}), &targets, &mut found);
        assert!(found.conditional);
    }

    #[test]
    fn processing_order_is_delete_post_put_get() {
        assert!(Phase::Delete < Phase::Post && Phase::Post < Phase::PutOrPatch && Phase::PutOrPatch < Phase::Get);
    }
}
