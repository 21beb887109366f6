//! The entries of a `transaction-response` or `batch-response` Bundle.

use crate::{Committed, Effect, EngineError, bundle_element, clock};
use serde_json::{Map, Value, json};

pub(super) fn write_entry(c: &Committed) -> Value {
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

/// Entry `index` of a batch (or a read of a transaction) that failed: its status and an
/// OperationOutcome pointing at the entry, or at the element of it at fault.
pub(super) fn error_entry(index: usize, e: &EngineError) -> Value {
    let (status, code) = match e.root() {
        EngineError::NotFound { .. } | EngineError::VersionNotFound { .. } | EngineError::UnknownResourceType(_) => {
            ("404 Not Found", "not-found")
        }
        EngineError::Gone { .. } => ("410 Gone", "deleted"),
        EngineError::VersionConflict { .. } | EngineError::PreconditionFailed(_) => ("412 Precondition Failed", "conflict"),
        EngineError::UnresolvedReference { several: true, .. } => ("412 Precondition Failed", "multiple-matches"),
        EngineError::UnresolvedReference { .. } => ("404 Not Found", "not-found"),
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
            "issue": [{
                "severity": "error",
                "code": code,
                "diagnostics": root.to_string(),
                "expression": [bundle_element(index, root.expression())],
            }]
        }),
    };
    json!({ "response": { "status": status, "outcome": outcome } })
}

pub(super) fn response_bundle(bundle_type: &str, entries: Vec<Value>) -> Value {
    json!({
        "resourceType": "Bundle",
        "id": uuid::Uuid::new_v4().to_string(),
        "type": bundle_type,
        "entry": entries,
    })
}
