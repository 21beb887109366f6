//! A resource in the compartments of several exported patients (an Encounter or a Provenance
//! naming two patients, an Observation whose performer is another patient) is found once per
//! compartment, and must be written once. The rule that decides it needs no memory of what
//! was written: such a resource belongs to the exported patient with the smallest id whose
//! compartment holds it, and only that patient's walk writes it. So a patient's page keeps a
//! resource unless a smaller exported patient also has it: the same answer whatever the order
//! of the walk, and after a restart.
//!
//! Compartment membership comes from `Patient/[id]` references (the index reads the target
//! type from the reference text), so the ids following `Patient/` in the stored body are a
//! superset of the patients whose compartments hold it. Most resources name one patient: they
//! are kept on that scan alone, and the store is asked only about resources naming a smaller
//! patient, in one compartment search per such patient per page.

use crate::{Caller, Engine, EngineError, MAX_PAGE, SearchRequest};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// Who is exported, for the rule above.
pub(crate) enum Exported<'a> {
    /// Every Patient that existed when the export began (`started` is that instant).
    All { started: String },
    /// A Group's members or the `patient` parameter's patients, sorted.
    Listed(&'a [String]),
}

impl<'a> Exported<'a> {
    pub(crate) fn new(listed: Option<&'a [String]>, started_ms: i64) -> Exported<'a> {
        match listed {
            Some(ids) => Exported::Listed(ids),
            None => Exported::All { started: crate::clock::format_instant(started_ms) },
        }
    }
}

/// The ids following `Patient/` in a stored body, once each.
pub(crate) fn named_patients(body: &[u8]) -> BTreeSet<&str> {
    const NEEDLE: &[u8] = b"Patient/";
    let mut out = BTreeSet::new();
    let mut from = 0;
    while let Some(at) = body[from..].windows(NEEDLE.len()).position(|w| w == NEEDLE) {
        let start = from + at + NEEDLE.len();
        let len = body[start..].iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'-' || **b == b'.').count();
        if let Ok(id) = std::str::from_utf8(&body[start..start + len])
            && salus_fhir::resource::is_valid_id(id)
        {
            out.insert(id);
        }
        from = start;
    }
    out
}

impl Engine {
    /// Of a page read from `patient`'s compartment, the (type, id) of the resources a smaller
    /// exported patient's compartment also holds: that patient writes them, this one skips them.
    pub(crate) async fn owned_by_smaller_patients(
        &self,
        caller: &Caller,
        patient: &str,
        exported: &Exported<'_>,
        page: &[(String, String, Vec<u8>)],
    ) -> Result<HashSet<(String, String)>, EngineError> {
        // Candidate owner -> the resources naming it.
        let mut by_candidate: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        for (t, id, body) in page {
            let mut named = named_patients(body);
            if t == "Patient" {
                named.insert(id.as_str()); // a Patient is in its own compartment without naming itself
            }
            for q in named.into_iter().filter(|q| *q < patient) {
                by_candidate.entry(q.to_string()).or_default().push((t.clone(), id.clone()));
            }
        }
        if by_candidate.is_empty() {
            return Ok(HashSet::new());
        }
        let candidates: Vec<String> = by_candidate.keys().cloned().collect();
        let exported_candidates: Vec<String> = match exported {
            Exported::Listed(ids) => candidates.into_iter().filter(|q| ids.binary_search(q).is_ok()).collect(),
            Exported::All { started } => self.patients_existing_since_before(caller, &candidates, started).await?,
        };
        let mut owned = HashSet::new();
        for q in exported_candidates {
            let Some(resources) = by_candidate.get(&q) else { continue };
            let pending: Vec<&(String, String)> = resources.iter().filter(|r| !owned.contains(*r)).collect();
            if pending.is_empty() {
                continue;
            }
            let types: BTreeSet<&str> = pending.iter().map(|(t, _)| t.as_str()).collect();
            let ids: BTreeSet<&str> = pending.iter().map(|(_, id)| id.as_str()).collect();
            let params = vec![
                ("_type".to_string(), types.into_iter().collect::<Vec<_>>().join(",")),
                ("_id".to_string(), ids.into_iter().collect::<Vec<_>>().join(",")),
            ];
            let request = SearchRequest { resource_type: None, compartment: Some(("Patient".into(), q.clone())), params, lenient: false };
            // Ids are per type: only the (type, id) pairs asked about count.
            for key in self.matching_keys(caller, request).await? {
                if pending.contains(&&key) {
                    owned.insert(key);
                }
            }
        }
        Ok(owned)
    }

    /// Which of `ids` are Patients that already existed when the export began, so that the
    /// walk (in id order, begun after that instant) has visited or will visit them. A Patient
    /// created or changed since is not counted on: the resource is then written by the later
    /// patient too rather than risk being written by none.
    async fn patients_existing_since_before(&self, caller: &Caller, ids: &[String], started: &str) -> Result<Vec<String>, EngineError> {
        let mut out = Vec::new();
        for chunk in ids.chunks(MAX_PAGE) {
            let params = vec![("_id".to_string(), chunk.join(",")), ("_lastUpdated".to_string(), format!("le{started}"))];
            let request = SearchRequest { resource_type: Some("Patient".into()), params, ..Default::default() };
            out.extend(self.matching_keys(caller, request).await?.into_iter().map(|(_, id)| id));
        }
        out.sort();
        Ok(out)
    }

    /// The (type, id) of every match of a search, page by page.
    pub(crate) async fn matching_keys(&self, caller: &Caller, mut request: SearchRequest) -> Result<Vec<(String, String)>, EngineError> {
        request.params.extend([
            ("_elements".to_string(), "id".to_string()),
            ("_count".to_string(), MAX_PAGE.to_string()),
            ("_total".to_string(), "none".to_string()),
        ]);
        let mut out = Vec::new();
        loop {
            let page = self.search(caller, request.clone()).await?;
            out.extend(page.matches.into_iter().map(|v| (v.resource_type, v.id)));
            match page.next {
                Some(token) => request.params = vec![("_cursor".to_string(), token)],
                None => return Ok(out),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_patients_a_body_names_are_read_from_its_references() {
        let body = br#"{"resourceType":"Provenance","target":[{"reference":"Patient/p2"},{"reference":"http://x.org/fhir/Patient/p1"},{"reference":"Patient/p2"}],"agent":[{"who":{"reference":"Practitioner/d"}}]}"#;
        assert_eq!(named_patients(body).into_iter().collect::<Vec<_>>(), ["p1", "p2"]);
        assert!(named_patients(br#"{"resourceType":"Patient","id":"p1"}"#).is_empty());
        assert!(named_patients(br#"{"note":"Patient/"}"#).is_empty(), "no id, no patient");
    }
}
