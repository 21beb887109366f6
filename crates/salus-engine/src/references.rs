//! References of a transaction Bundle that only the write transaction can resolve.
//!
//! Most references between entries are rewritten before the commit (see `bundle/plan.rs`):
//! a plain create's id is chosen up front. Two kinds cannot be: a conditional reference
//! (`Patient?identifier=system|value`, FHIR R4 http.html#trules), which names whatever the
//! search finds, and a reference to the fullUrl of a conditional create or update, whose id is
//! the matched resource's when one matches. Both are resolved here, inside the write
//! transaction, with the same criteria parsing and matching as conditional update: a resource
//! written earlier in the transaction is found, and no concurrent writer can slip between the
//! search and the write. Because resolving changes the resource (its body, hash and reference
//! index terms), such an entry is validated and indexed here, after resolving, instead of
//! before the transaction: these entries are rare, and every other entry keeps that fast path.

use crate::commit::{Prepared, matching};
use crate::{Engine, EngineError, Entry};
use salus_store::WriteTx;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

/// What a Bundle's plan tells the commit about the references of one group's entries, by
/// position in the group. Only the (rare) entries that need something are listed, so a bulk
/// load's groups carry two empty collections.
#[derive(Debug, Default, Clone)]
pub(crate) struct Links {
    /// Entries whose resource holds references resolved inside the transaction.
    pub(crate) deferred: HashSet<usize>,
    /// Entries whose id is decided inside the transaction (a conditional create or update),
    /// with the fullUrl other entries name them by.
    pub(crate) published: HashMap<usize, String>,
}

/// `Type?query` when `reference` is a conditional reference.
pub(crate) fn conditional_reference(reference: &str) -> Option<(&str, &str)> {
    let (resource_type, query) = reference.split_once('?')?;
    let is_type = !resource_type.is_empty() && resource_type.bytes().all(|b| b.is_ascii_alphanumeric());
    is_type.then_some((resource_type, query))
}

impl Engine {
    /// Resolves a deferred entry's references (`decided` maps the fullUrls of entries already
    /// written in this transaction to what they became) and prepares it.
    pub(crate) fn resolve_and_prepare(
        &self,
        tx: &mut dyn WriteTx,
        mut entry: Entry,
        decided: &HashMap<String, String>,
    ) -> Result<Prepared, EngineError> {
        if let Entry::Create { resource, .. } | Entry::Update { resource, .. } | Entry::ConditionalUpdate { resource, .. } =
            &mut entry
        {
            self.resolve_references(tx, resource, decided, &mut String::new())?;
        }
        self.prepare(entry)
    }

    /// Walks `value`, keeping the FHIRPath of where it is in `path` for the error messages.
    fn resolve_references(
        &self,
        tx: &mut dyn WriteTx,
        value: &mut Value,
        decided: &HashMap<String, String>,
        path: &mut String,
    ) -> Result<(), EngineError> {
        let len = path.len();
        match value {
            Value::Object(map) => {
                for (key, child) in map.iter_mut() {
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(key);
                    match child {
                        Value::String(reference) if key == "reference" => {
                            if let Some(target) = decided.get(reference.as_str()) {
                                *reference = target.clone();
                            } else if let Some((resource_type, query)) = conditional_reference(reference) {
                                *reference = self.resolve_conditional(tx, resource_type, query, reference, path)?;
                            }
                        }
                        child => self.resolve_references(tx, child, decided, path)?,
                    }
                    path.truncate(len);
                }
            }
            Value::Array(items) => {
                for (n, item) in items.iter_mut().enumerate() {
                    let _ = write!(path, "[{n}]");
                    self.resolve_references(tx, item, decided, path)?;
                    path.truncate(len);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The `Type/id` of the one resource a conditional reference's criteria match.
    fn resolve_conditional(
        &self,
        tx: &mut dyn WriteTx,
        resource_type: &str,
        query: &str,
        reference: &str,
        path: &str,
    ) -> Result<String, EngineError> {
        let criteria = self.criteria(resource_type, query).map_err(|e| {
            EngineError::bad_request(format!("the conditional reference `{reference}` cannot be resolved: {e}"), Some(path))
        })?;
        match matching(tx, criteria)?.as_slice() {
            [found] => Ok(format!("{}/{}", found.resource_type, found.id)),
            found => Err(EngineError::UnresolvedReference {
                element: path.to_string(),
                reference: reference.to_string(),
                resource_type: resource_type.to_string(),
                several: !found.is_empty(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditional_references_are_a_type_and_a_query() {
        assert_eq!(conditional_reference("Patient?identifier=a|b"), Some(("Patient", "identifier=a|b")));
        for other in ["Patient/1", "urn:uuid:1", "http://x.example/fhir/Patient?identifier=a", "?a=b", "#contained"] {
            assert_eq!(conditional_reference(other), None, "{other}");
        }
    }
}
