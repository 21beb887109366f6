//! Preventive care on the read path: `$care-gaps` for one patient and the practice-wide
//! worklist. The chart is read through the engine's search (the patient's compartment, by the
//! resource types the rules look at) and evaluated by `salus_clinical::preventive`; this module
//! owns the reading and the counting, the rules and their sources stay in salus-clinical.

use crate::{Caller, Engine, EngineError, MAX_PAGE, SearchRequest};
use salus_clinical::{CareGap, PatientRecord};
use salus_fhir::date::Date;
use serde_json::Value;
use std::collections::BTreeMap;

/// The resource types the preventive rules read (evidence, exclusions, BMI).
const CHART_TYPES: &[&str] = &["Condition", "Observation", "Procedure", "Immunization", "DiagnosticReport", "ImagingStudy"];

/// One patient's result for one rule, as a worklist row.
#[derive(Debug, Clone)]
pub struct CareGapRow {
    pub patient_id: String,
    /// The patient's name as written first (`given family`), for a person reading the list.
    pub name: String,
    pub birth_date: Option<String>,
    pub gender: Option<String>,
    pub gap: CareGap,
}

/// The worklist: the rows asked for, and per rule the count of patients in each status (over
/// every patient, whatever the status filter).
#[derive(Debug, Clone, Default)]
pub struct Worklist {
    pub as_of: Option<Date>,
    pub patients: usize,
    pub rows: Vec<CareGapRow>,
    /// rule id → status label (`due`, `overdue`, `satisfied`, `not-applicable`) → patients.
    pub counts: BTreeMap<String, BTreeMap<String, usize>>,
}

fn body(v: &salus_store::StoredVersion) -> Option<Value> {
    v.body.as_deref().and_then(|b| serde_json::from_slice(b).ok())
}

fn display_name(patient: &Value) -> String {
    let Some(name) = patient.get("name").and_then(Value::as_array).and_then(|n| n.first()) else { return String::new() };
    if let Some(text) = name.get("text").and_then(Value::as_str) {
        return text.to_string();
    }
    let mut parts: Vec<&str> = name.get("given").and_then(Value::as_array).map(|g| g.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    if let Some(family) = name.get("family").and_then(Value::as_str) {
        parts.push(family);
    }
    parts.join(" ")
}

/// Today's date (UTC), the default as-of date.
pub fn today() -> Date {
    Date::from_days(crate::clock::now_ms().div_euclid(86_400_000))
}

impl Engine {
    /// Every matching resource of a search, following the pages.
    async fn search_all(&self, caller: &Caller, mut request: SearchRequest) -> Result<Vec<Value>, EngineError> {
        request.params.push(("_count".into(), MAX_PAGE.to_string()));
        let mut out = Vec::new();
        loop {
            let page = self.search(caller, request.clone()).await?;
            out.extend(page.matches.iter().filter_map(body));
            match page.next {
                Some(token) => request.params = vec![("_cursor".into(), token)],
                None => return Ok(out),
            }
        }
    }

    /// The chart of one patient as the preventive rules need it.
    async fn patient_record(&self, caller: &Caller, patient: Value) -> Result<PatientRecord, EngineError> {
        let id = patient.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
        let mut resources = vec![patient];
        for t in CHART_TYPES {
            let request = SearchRequest { resource_type: Some((*t).into()), compartment: Some(("Patient".into(), id.clone())), ..Default::default() };
            resources.extend(self.search_all(caller, request).await?);
        }
        PatientRecord::from_resources(&resources).map_err(crate::safety::clinical_error)
    }

    /// `Patient/{id}/$care-gaps`: every rule's result for the patient on `as_of` (today when
    /// `None`), in rule order, each carrying its source.
    pub async fn care_gaps(&self, caller: &Caller, patient_id: &str, as_of: Option<Date>) -> Result<(Value, Vec<CareGap>), EngineError> {
        let stored = self.read(caller, "Patient", patient_id).await?;
        let patient = body(&stored).ok_or_else(|| salus_store::StoreError::Corrupt(format!("Patient/{patient_id}: body is not JSON")))?;
        let record = self.patient_record(caller, patient.clone()).await?;
        let gaps = salus_clinical::preventive::evaluate(&record, as_of.unwrap_or_else(today)).map_err(crate::safety::clinical_error)?;
        Ok((patient, gaps))
    }

    /// The practice-wide worklist: every patient evaluated, rows kept for the rules and statuses
    /// asked (empty = all), counts per rule over every patient.
    pub async fn care_gaps_worklist(&self, caller: &Caller, rules: &[String], statuses: &[String], as_of: Option<Date>) -> Result<Worklist, EngineError> {
        if let Ok(known) = salus_clinical::preventive::rules()
            && let Some(unknown) = rules.iter().find(|r| !known.iter().any(|k| &k.id == *r))
        {
            let ids: Vec<&str> = known.iter().map(|k| k.id.as_str()).collect();
            return Err(EngineError::bad_request(format!("`{unknown}` is not a preventive rule: use one of {}", ids.join(", ")), Some("rule")));
        }
        const STATUSES: &[&str] = &["due", "overdue", "satisfied", "not-applicable"];
        if let Some(bad) = statuses.iter().find(|s| !STATUSES.contains(&s.as_str())) {
            return Err(EngineError::bad_request(format!("`{bad}` is not a care-gap status: use {}", STATUSES.join(", ")), Some("status")));
        }
        let as_of = as_of.unwrap_or_else(today);
        let patients = self.search_all(caller, SearchRequest { resource_type: Some("Patient".into()), ..Default::default() }).await?;
        let mut list = Worklist { as_of: Some(as_of), patients: patients.len(), ..Default::default() };
        for patient in patients {
            let id = patient.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
            let (name, birth_date, gender) = (
                display_name(&patient),
                patient.get("birthDate").and_then(Value::as_str).map(str::to_string),
                patient.get("gender").and_then(Value::as_str).map(str::to_string),
            );
            let record = self.patient_record(caller, patient).await?;
            let gaps = salus_clinical::preventive::evaluate(&record, as_of).map_err(crate::safety::clinical_error)?;
            for gap in gaps {
                if !rules.is_empty() && !rules.contains(&gap.rule_id) {
                    continue;
                }
                let label = gap.status.label().to_string();
                *list.counts.entry(gap.rule_id.clone()).or_default().entry(label.clone()).or_default() += 1;
                if statuses.is_empty() || statuses.contains(&label) {
                    list.rows.push(CareGapRow { patient_id: id.clone(), name: name.clone(), birth_date: birth_date.clone(), gender: gender.clone(), gap });
                }
            }
        }
        Ok(list)
    }
}
