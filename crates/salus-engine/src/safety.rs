//! Medication safety on the write path. Before a commit touches the database, every
//! MedicationRequest it writes with status `active`, `draft` or `on-hold` is checked by
//! `salus_clinical::medication_safety` against the patient's current medications and allergies
//! (what is stored, with this commit's own changes laid over it). A high-severity finding refuses
//! the commit ([`EngineError::MedicationSafety`]) unless the order carries an override reason in
//! the [`OVERRIDE_EXTENSION`]; an override becomes a `DetectedIssue` written in the same commit,
//! implicating the order, and an audit log line. Lower findings are returned on the order's
//! [`Committed`] as warnings.
//!
//! The reads happen before the write transaction (they hold no lock). A conflicting order
//! committed by someone else between those reads and this write is not seen: an accepted race,
//! since the next write of either order is checked again.
//!
//! Also the shared helpers the CDS Hooks services use: a patient's medication context and the
//! check of a draft order against it.

use crate::references::Links;
use crate::{Caller, Committed, Engine, EngineError, Entry, SearchRequest, clock};
use salus_clinical::cds_cards::{self, OVERRIDE_REASON_SYSTEM, Override};
use salus_clinical::{ClinicalError, Finding};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};

/// The extension on a MedicationRequest that overrides high-severity findings. Its value is a
/// `valueCodeableConcept` (a coding from `cds_cards::override_reasons()`, and free text), a
/// `valueCoding`, or a `valueString` (free text only). It is removed from the stored order: the
/// override lives on in the `DetectedIssue` that the commit writes.
pub const OVERRIDE_EXTENSION: &str = "https://salus-ehr.org/fhir/StructureDefinition/safety-override";

/// Order statuses that are checked: historic orders (stopped, completed, ...) never are, so
/// imports of past records do not trip on them.
const CHECKED_STATUSES: &[&str] = &["active", "draft", "on-hold"];

/// Search page used to gather a patient's context (more is ignored).
const CONTEXT_PAGE: &str = "1000";

/// The id under which a referenced Medication is inlined into a copy of the order for checking.
const INLINED_MEDICATION: &str = "salus-safety-medication";

/// A patient's current medications and allergies, with `medicationReference`s resolved (the
/// Medication inlined as a contained resource) so the clinical checks can read them.
#[derive(Debug, Clone, Default)]
pub struct MedicationContext {
    pub medications: Vec<Value>,
    pub allergies: Vec<Value>,
}

/// What the safety step decided for a commit, finished once the write has succeeded.
#[derive(Default)]
pub(crate) struct SafetyReport {
    /// Findings to return on the committed entry at this index.
    findings: Vec<(usize, Vec<Finding>)>,
    overrides: Vec<OverrideNote>,
}

struct OverrideNote {
    order: String,
    issues: Vec<String>,
    rules: Vec<String>,
    reason: String,
}

impl SafetyReport {
    /// Attaches the findings to the committed orders and writes the audit line of each override.
    pub(crate) fn finish(self, mut committed: Vec<Committed>, caller: &Caller) -> Vec<Committed> {
        for (index, findings) in self.findings {
            if let Some(c) = committed.get_mut(index) {
                c.findings = findings;
            }
        }
        for o in &self.overrides {
            // Ids and codes only, never clinical text: this line is the audit record until the
            // audit issue lands.
            tracing::info!(
                target: "salus::audit",
                event = "medication-safety-override",
                principal = ?caller.principal,
                order = %o.order,
                detected_issues = %o.issues.join(","),
                rules = %o.rules.join(","),
                reason = %o.reason,
                "high-severity medication safety findings overridden"
            );
        }
        committed
    }
}

/// One OperationOutcome issue for a finding: its message, its rule, and its source (label and
/// url), so a client can show why and where the knowledge comes from.
pub fn finding_issue(f: &Finding, severity: &str) -> Value {
    let source = match &f.source.url {
        Some(url) => format!("{} <{url}>", f.source.label),
        None => f.source.label.clone(),
    };
    json!({
        "severity": severity,
        "code": if f.blocks() { "business-rule" } else { "informational" },
        "details": {
            "coding": [{ "system": "https://salus-ehr.org/fhir/CodeSystem/medication-safety-rule", "code": f.rule_id }],
            "text": format!("{} {} finding; source: {source}", f.severity.as_str(), f.kind.as_str()),
        },
        "diagnostics": format!("{} (source: {source})", f.message),
        "expression": ["MedicationRequest.medication"],
    })
}

/// The OperationOutcome of a refusal: one error per blocking finding, one warning per lower
/// one, and how to override. Any other error gives an outcome with its message alone.
pub fn refusal_outcome(e: &EngineError) -> Value {
    let mut issues: Vec<Value> = Vec::new();
    if let EngineError::MedicationSafety { findings, also } = e.root() {
        issues.extend(findings.iter().map(|f| finding_issue(f, "error")));
        issues.extend(also.iter().map(|f| finding_issue(f, "warning")));
    }
    issues.push(json!({"severity": "information", "code": "business-rule", "diagnostics": e.root().to_string()}));
    json!({"resourceType": "OperationOutcome", "issue": issues})
}

/// The reason an order was overridden with, read from (and removed from) the order.
struct OverrideReason {
    coding: Option<Value>,
    text: Option<String>,
}

fn take_override(order: &mut Value) -> Result<Option<OverrideReason>, EngineError> {
    let Some(list) = order.get_mut("extension").and_then(Value::as_array_mut) else { return Ok(None) };
    let Some(pos) = list.iter().position(|e| e.get("url").and_then(Value::as_str) == Some(OVERRIDE_EXTENSION)) else {
        return Ok(None);
    };
    let ext = list.remove(pos);
    if list.is_empty()
        && let Some(obj) = order.as_object_mut()
    {
        obj.shift_remove("extension");
    }
    let (coding, text) = if let Some(cc) = ext.get("valueCodeableConcept") {
        (cc.get("coding").and_then(Value::as_array).and_then(|c| c.first()).cloned(), cc.get("text").and_then(Value::as_str).map(str::to_string))
    } else if let Some(c) = ext.get("valueCoding") {
        (Some(c.clone()), None)
    } else if let Some(s) = ext.get("valueString").and_then(Value::as_str) {
        (None, Some(s.to_string()))
    } else {
        return Err(override_error("the override extension needs a valueCodeableConcept, valueCoding or valueString"));
    };
    let coding = match coding {
        None => None,
        Some(c) => {
            let code = c.get("code").and_then(Value::as_str).unwrap_or_default();
            let system = c.get("system").and_then(Value::as_str).unwrap_or(OVERRIDE_REASON_SYSTEM);
            let known = cds_cards::override_reasons().into_iter().find(|r| r["code"] == code && system == OVERRIDE_REASON_SYSTEM);
            match known {
                Some(k) => Some(k),
                None => return Err(override_error(&format!("`{code}` is not an override reason of {OVERRIDE_REASON_SYSTEM}"))),
            }
        }
    };
    if coding.is_none() && text.as_deref().is_none_or(|t| t.trim().is_empty()) {
        return Err(override_error("an override needs a reason code or a justification text"));
    }
    Ok(Some(OverrideReason { coding, text }))
}

fn override_error(what: &str) -> EngineError {
    let codes: Vec<String> = cds_cards::override_reasons().iter().filter_map(|r| r["code"].as_str().map(str::to_string)).collect();
    EngineError::bad_request(
        format!("{what}: use {{\"url\": \"{OVERRIDE_EXTENSION}\", \"valueCodeableConcept\": {{\"coding\": [{{\"system\": \"{OVERRIDE_REASON_SYSTEM}\", \"code\": one of {}}}], \"text\": \"why\"}}}}", codes.join(", ")),
        Some("MedicationRequest.extension"),
    )
}

pub(crate) fn clinical_error(e: ClinicalError) -> EngineError {
    match e {
        ClinicalError::NotAResource(m) => EngineError::bad_request(format!("cannot check the order: {m}"), None),
        other => EngineError::NotSupported(format!("medication safety knowledge is unavailable ({other}); writes of active orders are refused until it is fixed")),
    }
}

/// `Patient/id` → `id`, for relative or absolute references.
fn patient_id(order: &Value) -> Option<String> {
    let reference = order.get("subject")?.get("reference")?.as_str()?;
    let mut parts = reference.trim_end_matches('/').rsplit('/');
    let id = parts.next()?;
    (parts.next()? == "Patient").then(|| id.to_string())
}

fn type_and_id(v: &Value) -> Option<(String, String)> {
    Some((v.get("resourceType")?.as_str()?.to_string(), v.get("id")?.as_str()?.to_string()))
}

fn is_checked(order: &Value) -> bool {
    order.get("resourceType").and_then(Value::as_str) == Some("MedicationRequest")
        && order.get("status").and_then(Value::as_str).is_some_and(|s| CHECKED_STATUSES.contains(&s))
}

/// The MedicationRequest an entry writes, if it can be known before the transaction.
fn written_order(entry: &mut Entry) -> Option<&mut Value> {
    match entry {
        Entry::Create { resource, .. } | Entry::Update { resource, .. } | Entry::ConditionalUpdate { resource, .. } => {
            (resource.get("resourceType").and_then(Value::as_str) == Some("MedicationRequest")).then_some(resource)
        }
        _ => None,
    }
}

fn order_reference(entry: &Entry, order: &Value) -> Option<String> {
    match entry {
        Entry::Create { id: Some(id), .. } | Entry::Update { id, .. } => Some(format!("MedicationRequest/{id}")),
        Entry::ConditionalUpdate { .. } => order.get("id").and_then(Value::as_str).map(|id| format!("MedicationRequest/{id}")),
        _ => None,
    }
}

impl Engine {
    /// The id of the patient an order is for. A conditional subject (`Patient?identifier=...`,
    /// in a Bundle) is looked up here, before the write transaction like the rest of the
    /// chart, so that the order is checked against the patient it names; the transaction
    /// resolves it again for the write (see references.rs). Unresolvable, it fails there.
    async fn order_patient(&self, caller: &Caller, order: &Value, bundle: &HashMap<String, String>) -> Option<String> {
        if let Some(patient) = patient_of(order, bundle) {
            return Some(patient);
        }
        let reference = order.get("subject")?.get("reference")?.as_str()?;
        let ("Patient", query) = crate::references::conditional_reference(reference)? else { return None };
        match self.patients_matching(caller, query).await?.as_slice() {
            [one] => Some(one.clone()),
            _ => None,
        }
    }

    /// The ids of the stored Patients that conditional criteria (`identifier=...`) match now;
    /// `None` when the criteria cannot be searched (the transaction then reports why).
    async fn patients_matching(&self, caller: &Caller, criteria: &str) -> Option<Vec<String>> {
        let params = crate::search::query_pairs(criteria);
        let request = SearchRequest { resource_type: Some("Patient".into()), params, ..Default::default() };
        Some(self.search(caller, request).await.ok()?.matches.into_iter().map(|m| m.id).collect())
    }

    /// The safety step of a commit: checks each order, strips override extensions, adds the
    /// DetectedIssue entries of overrides, or refuses. `several` says whether errors name the
    /// entry (as the rest of the commit does).
    pub(crate) async fn medication_safety(
        &self,
        caller: &Caller,
        mut entries: Vec<Entry>,
        several: bool,
        links: &mut Links,
    ) -> Result<(Vec<Entry>, SafetyReport), EngineError> {
        let mut report = SafetyReport::default();
        let wrap = |i: usize, e: EngineError| if several { EngineError::in_entry(i, e) } else { e };
        // A JSON Patch of an order: apply it to the current version to know what is written. A
        // patch that carries an override becomes an update of that version (If-Match), so the
        // extension can be stripped before the write.
        for (i, entry) in entries.iter_mut().enumerate() {
            if let Entry::Patch { resource_type, id, patch, if_match } = entry
                && resource_type == "MedicationRequest"
                && let Ok(current) = self.read(caller, resource_type, id).await
                && let Some(mut resource) = current.body.as_deref().and_then(|b| serde_json::from_slice::<Value>(b).ok())
                && let Ok(p) = serde_json::from_value::<json_patch::Patch>(patch.clone())
                && json_patch::patch(&mut resource, &p).is_ok()
                && resource.get("extension").and_then(Value::as_array).is_some_and(|l| l.iter().any(|e| e["url"] == OVERRIDE_EXTENSION))
            {
                if if_match.as_deref().is_some_and(|m| m != current.version.to_string()) {
                    return Err(wrap(i, EngineError::VersionConflict { resource_type: resource_type.clone(), id: id.clone(), expected: if_match.clone().unwrap_or_default(), current: current.version.to_string() }));
                }
                *entry = Entry::Update { resource_type: resource_type.clone(), id: id.clone(), resource, if_match: Some(current.version.to_string()) };
            }
        }
        let mut checked_orders: Vec<(usize, Option<OverrideReason>)> = Vec::new();
        for (i, entry) in entries.iter_mut().enumerate() {
            let Some(order) = written_order(entry) else { continue };
            let reason = take_override(order).map_err(|e| wrap(i, e))?;
            if is_checked(order) {
                checked_orders.push((i, reason));
            }
        }
        // (an order or an allergy of the commit may name such a patient by its fullUrl)
        let bundle = if !checked_orders.is_empty() && !links.published.is_empty() {
            self.bundle_patients(caller, &entries, &links.published).await
        } else {
            HashMap::new()
        };
        let mut plan: Vec<(usize, Option<OverrideReason>, String)> = Vec::new();
        for (i, reason) in checked_orders {
            if let Some(patient) = self.order_patient(caller, order_of(&entries[i]), &bundle).await {
                plan.push((i, reason, patient));
            }
        }
        if plan.is_empty() {
            return Ok((entries, report));
        }
        // What this commit itself writes or deletes, laid over what is stored.
        // Only the resources the checks read are copied: a bulk load's bundle with one order
        // holds hundreds of others.
        let read_by_checks = |r: &Value| {
            matches!(
                r.get("resourceType").and_then(Value::as_str),
                Some("MedicationRequest" | "MedicationStatement" | "AllergyIntolerance" | "Medication")
            )
        };
        let mut replaced: HashSet<(String, String)> = HashSet::new();
        let mut written: Vec<(usize, Value)> = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            match entry {
                Entry::Create { resource, id, .. } => {
                    if let (Some(t), Some(id)) = (resource.get("resourceType").and_then(Value::as_str), id) {
                        replaced.insert((t.to_string(), id.clone()));
                    }
                    if read_by_checks(resource) {
                        let mut r = resource.clone();
                        if let Some(obj) = r.as_object_mut() {
                            match id {
                                Some(id) => obj.insert("id".into(), json!(id)),
                                None => obj.shift_remove("id"),
                            };
                        }
                        written.push((i, r));
                    }
                }
                Entry::Update { resource, .. } | Entry::ConditionalUpdate { resource, .. } => {
                    replaced.extend(type_and_id(resource));
                    if read_by_checks(resource) {
                        written.push((i, resource.clone()));
                    }
                }
                Entry::Delete { resource_type, id, .. } => {
                    replaced.insert((resource_type.clone(), id.clone()));
                }
                _ => {}
            }
        }
        let written_values: Vec<Value> = written.iter().map(|(_, r)| r.clone()).collect();
        let mut stored: HashMap<String, MedicationContext> = HashMap::new();
        let mut added: Vec<Entry> = Vec::new();
        let now = clock::format_instant(clock::now_ms());
        for (i, reason, patient) in plan {
            let order = order_of(&entries[i]).clone();
            if !stored.contains_key(&patient) {
                // A patient this commit creates has nothing stored yet.
                let mut ctx = if is_created_here(&patient) {
                    MedicationContext::default()
                } else {
                    self.stored_context(caller, &patient, &replaced).await.map_err(|e| wrap(i, e))?
                };
                self.resolve_medications(caller, &mut ctx.medications, &written_values).await;
                stored.insert(patient.clone(), ctx);
            }
            let mut ctx = stored.get(&patient).cloned().unwrap_or_default();
            // The rest of this commit for the same patient (never the order itself).
            let mut pending: Vec<Value> = Vec::new();
            for (j, r) in &written {
                if *j == i || patient_of(r, &bundle).as_deref() != Some(patient.as_str()) {
                    continue;
                }
                match r.get("resourceType").and_then(Value::as_str) {
                    Some("MedicationRequest" | "MedicationStatement") => pending.push(r.clone()),
                    Some("AllergyIntolerance") => ctx.allergies.push(r.clone()),
                    _ => {}
                }
            }
            self.resolve_medications(caller, &mut pending, &written_values).await;
            ctx.medications.extend(pending);
            let mut checked = order.clone();
            self.resolve_medications(caller, std::slice::from_mut(&mut checked), &written_values).await;
            let findings = check_order(&checked, &ctx).map_err(|e| wrap(i, e))?;
            // Findings already overridden for this order (an earlier DetectedIssue) no longer block.
            let mut acknowledged: HashSet<String> = HashSet::new();
            let is_create = matches!(entries[i], Entry::Create { .. });
            if let Some(reference) = order_reference(&entries[i], &order).filter(|_| !is_create) {
                acknowledged = self.acknowledged_rules(caller, &reference).await.map_err(|e| wrap(i, e))?;
            }
            let blocking: Vec<&Finding> = findings.iter().filter(|f| f.blocks() && !acknowledged.contains(&f.rule_id)).collect();
            if !blocking.is_empty() {
                let Some(reason) = reason else {
                    let refused = blocking.into_iter().cloned().collect();
                    return Err(wrap(i, EngineError::MedicationSafety { findings: refused, also: findings.into_iter().filter(|f| !f.blocks()).collect() }));
                };
                let reference = match &mut entries[i] {
                    Entry::Create { id, .. } => {
                        // The DetectedIssue names the order: choose its id now.
                        let id = id.get_or_insert_with(|| uuid::Uuid::new_v4().to_string());
                        format!("MedicationRequest/{id}")
                    }
                    other => match order_reference(other, &order) {
                        Some(r) => r,
                        None => return Err(wrap(i, EngineError::bad_request("an overridden order must carry its id so the DetectedIssue can name it", Some("MedicationRequest.id")))),
                    },
                };
                let implicated = [reference.clone()];
                // (a patient created here is named by its fullUrl, resolved in the transaction)
                let patient_ref = if is_created_here(&patient) { patient.clone() } else { format!("Patient/{patient}") };
                let mut note = OverrideNote { order: reference.clone(), issues: Vec::new(), rules: Vec::new(), reason: String::new() };
                note.reason = reason.coding.as_ref().and_then(|c| c["code"].as_str()).unwrap_or("free-text").to_string();
                let mut issue_refs = Vec::new();
                for f in &blocking {
                    let o = Override { patient: &patient_ref, implicated: &implicated, reason: reason.coding.as_ref(), comment: reason.text.as_deref(), author: None, when: &now };
                    let issue_id = uuid::Uuid::new_v4().to_string();
                    note.issues.push(format!("DetectedIssue/{issue_id}"));
                    note.rules.push(f.rule_id.clone());
                    issue_refs.push(json!({"reference": format!("DetectedIssue/{issue_id}")}));
                    if is_created_here(&patient) {
                        links.deferred.insert(entries.len() + added.len());
                    }
                    added.push(Entry::Create { resource: cds_cards::detected_issue(f, &o), id: Some(issue_id), if_none_exist: None });
                }
                // The order points back at its DetectedIssues (MedicationRequest.detectedIssue).
                if let Some(order) = written_order(&mut entries[i])
                    && let Some(obj) = order.as_object_mut()
                {
                    let list = obj.entry("detectedIssue").or_insert_with(|| json!([]));
                    if let Some(list) = list.as_array_mut() {
                        list.extend(issue_refs);
                    }
                }
                report.overrides.push(note);
            }
            if !findings.is_empty() {
                report.findings.push((i, findings));
            }
        }
        entries.extend(added);
        Ok((entries, report))
    }

    /// The patients that the fullUrls of this commit's conditional creates and updates of a
    /// Patient stand for (`published`, see references.rs): the stored patient the criteria
    /// match now (the transaction matches again and writes to it), or, when none matches, the
    /// fullUrl itself: a patient the commit creates, with nothing stored yet. Several matches
    /// fail the commit in the transaction; they are left out here.
    async fn bundle_patients(&self, caller: &Caller, entries: &[Entry], published: &HashMap<usize, String>) -> HashMap<String, String> {
        let mut out = HashMap::new();
        for (i, full_url) in published {
            let criteria = match entries.get(*i) {
                Some(Entry::Create { resource, if_none_exist: Some(q), .. })
                    if resource.get("resourceType").and_then(Value::as_str) == Some("Patient") =>
                {
                    q
                }
                Some(Entry::ConditionalUpdate { resource_type, criteria, .. }) if resource_type == "Patient" => criteria,
                _ => continue,
            };
            let Some(found) = self.patients_matching(caller, criteria).await else { continue };
            match found.as_slice() {
                [one] => out.insert(full_url.clone(), one.clone()),
                [] => out.insert(full_url.clone(), full_url.clone()),
                _ => None,
            };
        }
        out
    }

    /// The rule ids of findings already overridden for an order (its DetectedIssues).
    async fn acknowledged_rules(&self, caller: &Caller, order: &str) -> Result<HashSet<String>, EngineError> {
        let request = SearchRequest {
            resource_type: Some("DetectedIssue".into()),
            params: vec![("implicated".into(), order.into()), ("_count".into(), CONTEXT_PAGE.into())],
            ..Default::default()
        };
        let found = self.search(caller, request).await?;
        Ok(found
            .matches
            .iter()
            .filter_map(|v| v.body.as_deref().and_then(|b| serde_json::from_slice::<Value>(b).ok()))
            .filter(|d| d["status"] != "entered-in-error" && d["status"] != "cancelled")
            .filter_map(|d| d["code"]["text"].as_str().map(str::to_string))
            .collect())
    }

    /// The patient's stored medications (MedicationRequest, MedicationStatement) and allergies,
    /// without those in `skip` (replaced or deleted by the commit under way).
    async fn stored_context(&self, caller: &Caller, patient: &str, skip: &HashSet<(String, String)>) -> Result<MedicationContext, EngineError> {
        let mut ctx = MedicationContext::default();
        for resource_type in ["MedicationRequest", "MedicationStatement", "AllergyIntolerance"] {
            let request = SearchRequest {
                resource_type: Some(resource_type.into()),
                params: vec![("patient".into(), format!("Patient/{patient}")), ("_count".into(), CONTEXT_PAGE.into())],
                ..Default::default()
            };
            let found = self.search(caller, request).await?;
            for v in found.matches {
                if skip.contains(&(v.resource_type.clone(), v.id.clone())) {
                    continue;
                }
                let Some(r) = v.body.as_deref().and_then(|b| serde_json::from_slice::<Value>(b).ok()) else { continue };
                if resource_type == "AllergyIntolerance" {
                    ctx.allergies.push(r);
                } else if salus_clinical::products::is_current(&r) {
                    ctx.medications.push(r);
                }
            }
        }
        Ok(ctx)
    }

    /// A patient's current medications and allergies as stored, with medication references
    /// resolved: the context a CDS service checks draft orders against.
    pub async fn medication_context(&self, caller: &Caller, patient: &str) -> Result<MedicationContext, EngineError> {
        let mut ctx = self.stored_context(caller, patient, &HashSet::new()).await?;
        self.resolve_medications(caller, &mut ctx.medications, &[]).await;
        Ok(ctx)
    }

    /// Inlines each `medicationReference` to `Medication/id` as a contained Medication (found
    /// among `extra`, else read through the engine) so the clinical checks see the product. An
    /// unresolvable reference is left as it is (the order is then checked by what is known).
    pub async fn resolve_medications(&self, caller: &Caller, resources: &mut [Value], extra: &[Value]) {
        for r in resources.iter_mut() {
            let Some(reference) = r.get("medicationReference").and_then(|m| m.get("reference")).and_then(Value::as_str) else { continue };
            if reference.starts_with('#') {
                continue;
            }
            let Some(id) = reference.trim_end_matches('/').rsplit('/').next().map(str::to_string) else { continue };
            if !reference.contains("Medication/") {
                continue;
            }
            let medication = match extra.iter().find(|m| m["resourceType"] == "Medication" && m["id"] == id.as_str()) {
                Some(m) => Some(m.clone()),
                None => match self.read(caller, "Medication", &id).await {
                    Ok(v) => v.body.as_deref().and_then(|b| serde_json::from_slice::<Value>(b).ok()),
                    Err(_) => None,
                },
            };
            let (Some(mut medication), Some(obj)) = (medication, r.as_object_mut()) else { continue };
            medication["id"] = json!(INLINED_MEDICATION);
            obj.insert("medicationReference".into(), json!({"reference": format!("#{INLINED_MEDICATION}")}));
            let contained = obj.entry("contained").or_insert_with(|| json!([]));
            if let Some(list) = contained.as_array_mut() {
                list.push(medication);
            }
        }
    }
}

/// Checks one draft order against a context (for CDS services; the write path does the same).
pub fn check_order(order: &Value, ctx: &MedicationContext) -> Result<Vec<Finding>, EngineError> {
    let others: Vec<Value> = ctx.medications.iter().filter(|m| !same_resource(m, order)).cloned().collect();
    salus_clinical::medication_safety::check(order, &others, &ctx.allergies).map_err(clinical_error)
}

fn same_resource(a: &Value, b: &Value) -> bool {
    match (type_and_id(a), type_and_id(b)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

fn order_of(entry: &Entry) -> &Value {
    match entry {
        Entry::Create { resource, .. } | Entry::Update { resource, .. } | Entry::ConditionalUpdate { resource, .. } => resource,
        _ => &Value::Null,
    }
}

/// The patient of a resource (as [`patient_id_of_any`]), or the one `bundle` (see
/// `Engine::bundle_patients`) says the fullUrl it names stands for.
fn patient_of(r: &Value, bundle: &HashMap<String, String>) -> Option<String> {
    patient_id_of_any(r).or_else(|| {
        let named = |k: &str| r.get(k)?.get("reference")?.as_str();
        ["subject", "patient"].into_iter().find_map(|k| bundle.get(named(k)?).cloned())
    })
}

/// Whether a patient key names a patient the commit creates (its fullUrl: a FHIR id has no `:`).
fn is_created_here(patient: &str) -> bool {
    patient.contains(':')
}

/// The patient of a MedicationRequest/MedicationStatement (`subject`) or AllergyIntolerance
/// (`patient`).
fn patient_id_of_any(r: &Value) -> Option<String> {
    patient_id(r).or_else(|| {
        let reference = r.get("patient")?.get("reference")?.as_str()?;
        let mut parts = reference.trim_end_matches('/').rsplit('/');
        let id = parts.next()?;
        (parts.next()? == "Patient").then(|| id.to_string())
    })
}
