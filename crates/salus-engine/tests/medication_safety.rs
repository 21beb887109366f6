//! Medication safety on the one write path: orders checked against the patient's chart in
//! `Engine::commit`, refused, overridden (DetectedIssue in the same commit) or stored with
//! warnings.

use salus_engine::{Caller, Effect, Engine, EngineError, Entry, MinimalValidator, OVERRIDE_EXTENSION, SearchRequest};
use salus_store::{Store, sqlite::SqliteStore};
use serde_json::{Value, json};
use std::sync::Arc;

const RX: &str = "http://www.nlm.nih.gov/research/umls/rxnorm";
const SIMVASTATIN_20: &str = "312961";
const CLARITHROMYCIN_500: &str = "197517";

fn engine() -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::new(SqliteStore::open(dir.path()).expect("open store"));
    (dir, Engine::new(store, Arc::new(MinimalValidator)))
}

fn order(patient: &str, code: &str, status: &str) -> Value {
    json!({"resourceType": "MedicationRequest", "status": status, "intent": "order",
           "subject": {"reference": format!("Patient/{patient}")},
           "medicationCodeableConcept": {"coding": [{"system": RX, "code": code}]}})
}

fn with_override(mut order: Value, code: &str) -> Value {
    order["extension"] = json!([{"url": OVERRIDE_EXTENSION, "valueCodeableConcept": {
        "coding": [{"system": salus_engine::salus_clinical::cds_cards::OVERRIDE_REASON_SYSTEM, "code": code}],
        "text": "short course, CK monitored"}}]);
    order
}

fn create(resource: Value) -> Entry {
    Entry::Create { resource, id: None, if_none_exist: None }
}

async fn patient_on_simvastatin(engine: &Engine) -> String {
    let p = engine.commit(&Caller::system(), vec![create(json!({"resourceType": "Patient"}))]).await.expect("patient").remove(0).id;
    engine.commit(&Caller::system(), vec![create(order(&p, SIMVASTATIN_20, "active"))]).await.expect("simvastatin");
    p
}

async fn count(engine: &Engine, resource_type: &str) -> u64 {
    let request = SearchRequest { resource_type: Some(resource_type.into()), params: vec![("_summary".into(), "count".into())], ..Default::default() };
    engine.search(&Caller::system(), request).await.expect("count").total.unwrap_or(0)
}

fn body(c: &salus_engine::Committed) -> Value {
    serde_json::from_slice(c.body.as_deref().expect("body")).expect("json")
}

#[tokio::test]
async fn contraindicated_order_is_refused_with_each_finding_and_nothing_is_stored() {
    let (_d, engine) = engine();
    let p = patient_on_simvastatin(&engine).await;
    let err = engine.commit(&Caller::system(), vec![create(order(&p, CLARITHROMYCIN_500, "active"))]).await.expect_err("refused");
    let EngineError::MedicationSafety { findings, .. } = &err else { panic!("not a safety refusal: {err}") };
    assert_eq!(findings[0].rule_id, "onc-high-25");
    assert!(findings[0].source.url.is_some());
    assert!(err.to_string().contains(OVERRIDE_EXTENSION), "the message says how to override");
    assert_eq!(count(&engine, "MedicationRequest").await, 1);
    assert_eq!(count(&engine, "DetectedIssue").await, 0);
}

#[tokio::test]
async fn override_stores_the_order_and_a_linked_detected_issue_in_the_same_commit() {
    let (_d, engine) = engine();
    let p = patient_on_simvastatin(&engine).await;
    let done = engine
        .commit(&Caller::system(), vec![create(with_override(order(&p, CLARITHROMYCIN_500, "active"), "benefit-outweighs-risk"))])
        .await
        .expect("overridden");
    assert_eq!(done.len(), 2, "the order and its DetectedIssue");
    let stored = body(&done[0]);
    assert!(stored.get("extension").is_none(), "the override extension is not kept on the order");
    assert_eq!(done[0].findings.iter().filter(|f| f.blocks()).count(), 1);
    let issue = body(&done[1]);
    assert_eq!(issue["resourceType"], "DetectedIssue");
    assert_eq!(issue["implicated"][0]["reference"], format!("MedicationRequest/{}", done[0].id));
    assert_eq!(issue["mitigation"][0]["action"]["coding"][0]["code"], "benefit-outweighs-risk");
    assert_eq!(issue["patient"]["reference"], format!("Patient/{p}"));
    assert_eq!(stored["detectedIssue"][0]["reference"], format!("DetectedIssue/{}", done[1].id));

    // Changing the overridden order later does not ask for the override again.
    let mut changed = stored.clone();
    changed["note"] = json!([{"text": "take with food"}]);
    let id = done[0].id.clone();
    let again = engine
        .commit(&Caller::system(), vec![Entry::Update { resource_type: "MedicationRequest".into(), id, resource: changed, if_match: None }])
        .await
        .expect("update of an overridden order");
    assert_eq!(again[0].effect, Effect::Updated);
}

#[tokio::test]
async fn unknown_override_reason_is_a_bad_request_naming_the_codes() {
    let (_d, engine) = engine();
    let p = patient_on_simvastatin(&engine).await;
    let err = engine.commit(&Caller::system(), vec![create(with_override(order(&p, CLARITHROMYCIN_500, "active"), "because"))]).await.expect_err("bad");
    assert!(matches!(err, EngineError::BadRequest { .. }), "{err}");
    assert!(err.to_string().contains("benefit-outweighs-risk"));
}

#[tokio::test]
async fn historic_orders_are_not_checked() {
    let (_d, engine) = engine();
    let p = patient_on_simvastatin(&engine).await;
    for status in ["completed", "stopped", "cancelled", "entered-in-error"] {
        engine.commit(&Caller::system(), vec![create(order(&p, CLARITHROMYCIN_500, status))]).await.expect(status);
    }
}

#[tokio::test]
async fn lower_findings_store_the_order_and_come_back_as_warnings() {
    let (_d, engine) = engine();
    let p = patient_on_simvastatin(&engine).await;
    // Simvastatin 10 mg while 20 mg is active: duplicate therapy, moderate.
    let done = engine.commit(&Caller::system(), vec![create(order(&p, "316672", "active"))]).await.expect("stored");
    assert_eq!(done[0].effect, Effect::Created);
    assert!(done[0].findings.iter().any(|f| f.rule_id.starts_with("duplicate-ingredient") && !f.blocks()), "{:?}", done[0].findings);
}

#[tokio::test]
async fn conflicting_orders_in_one_transaction_are_refused_together() {
    let (_d, engine) = engine();
    let p = engine.commit(&Caller::system(), vec![create(json!({"resourceType": "Patient"}))]).await.expect("patient").remove(0).id;
    let err = engine
        .commit(&Caller::system(), vec![create(order(&p, SIMVASTATIN_20, "active")), create(order(&p, CLARITHROMYCIN_500, "draft"))])
        .await
        .expect_err("refused");
    assert!(matches!(err.root(), EngineError::MedicationSafety { .. }), "{err}");
    assert!(matches!(err, EngineError::InEntry { .. }), "the entry is named");
    assert_eq!(count(&engine, "MedicationRequest").await, 0);
}

#[tokio::test]
async fn medication_reference_is_resolved_through_the_engine() {
    let (_d, engine) = engine();
    let p = patient_on_simvastatin(&engine).await;
    let med = engine
        .commit(&Caller::system(), vec![create(json!({"resourceType": "Medication", "code": {"coding": [{"system": RX, "code": CLARITHROMYCIN_500}]}}))])
        .await
        .expect("medication")
        .remove(0)
        .id;
    let mut o = order(&p, CLARITHROMYCIN_500, "active");
    o.as_object_mut().expect("object").remove("medicationCodeableConcept");
    o["medicationReference"] = json!({"reference": format!("Medication/{med}")});
    let err = engine.commit(&Caller::system(), vec![create(o)]).await.expect_err("refused");
    assert!(matches!(err, EngineError::MedicationSafety { .. }), "{err}");
}

#[tokio::test]
async fn allergy_to_the_ordered_class_is_refused() {
    let (_d, engine) = engine();
    let p = engine.commit(&Caller::system(), vec![create(json!({"resourceType": "Patient"}))]).await.expect("patient").remove(0).id;
    let allergy = json!({"resourceType": "AllergyIntolerance", "patient": {"reference": format!("Patient/{p}")},
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active"}]},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "91936005", "display": "Allergy to penicillin"}], "text": "Penicillin"}});
    engine.commit(&Caller::system(), vec![create(allergy)]).await.expect("allergy");
    // 308182 amoxicillin 250 MG Oral Capsule.
    let err = engine.commit(&Caller::system(), vec![create(order(&p, "308182", "active"))]).await.expect_err("refused");
    let EngineError::MedicationSafety { findings, .. } = &err else { panic!("{err}") };
    assert!(findings.iter().any(|f| f.kind == salus_engine::salus_clinical::FindingKind::Allergy));
}

#[tokio::test]
async fn an_order_whose_subject_is_a_conditional_reference_is_checked_against_the_patient_it_names() {
    let (_d, engine) = engine();
    let p = patient_on_simvastatin(&engine).await;
    let identified = json!({"resourceType": "Patient", "id": p, "identifier": [{"system": "http://hospital.example/mrn", "value": "42"}]});
    engine.commit(&Caller::system(), vec![Entry::update_as_is(identified)]).await.expect("identifier");
    let mut conditional = order(&p, CLARITHROMYCIN_500, "active");
    conditional["subject"]["reference"] = json!("Patient?identifier=http://hospital.example/mrn|42");
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:o", "resource": conditional, "request": {"method": "POST", "url": "MedicationRequest"}}]});
    let err = engine.process_bundle(&Caller::system(), bundle, "http://localhost/fhir").await.expect_err("refused");
    assert!(matches!(err.root(), EngineError::MedicationSafety { .. }), "{err}");
    assert_eq!(count(&engine, "MedicationRequest").await, 1);
}

/// A transaction that creates a patient on a condition (`ifNoneExist`), with the given entries
/// naming it by its fullUrl `urn:uuid:p`.
fn bundle_with_conditional_patient(mut entries: Vec<Value>) -> Value {
    let patient = json!({"fullUrl": "urn:uuid:p",
        "resource": {"resourceType": "Patient", "identifier": [{"system": "http://hospital.example/mrn", "value": "7"}]},
        "request": {"method": "POST", "url": "Patient", "ifNoneExist": "identifier=http://hospital.example/mrn|7"}});
    entries.insert(0, patient);
    json!({"resourceType": "Bundle", "type": "transaction", "entry": entries})
}

fn penicillin_allergy(patient_reference: &str) -> Value {
    json!({"resourceType": "AllergyIntolerance", "patient": {"reference": patient_reference},
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active"}]},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "91936005", "display": "Allergy to penicillin"}]}})
}

fn post(full_url: &str, resource: Value) -> Value {
    let resource_type = resource["resourceType"].clone();
    json!({"fullUrl": full_url, "resource": resource, "request": {"method": "POST", "url": resource_type}})
}

#[tokio::test]
async fn an_order_for_a_patient_created_on_a_condition_in_the_same_bundle_is_checked_against_that_bundle() {
    let (_d, engine) = engine();
    // 308182 amoxicillin 250 MG Oral Capsule, for a patient the Bundle creates with a penicillin allergy.
    let mut amoxicillin = order("x", "308182", "active");
    amoxicillin["subject"]["reference"] = json!("urn:uuid:p");
    let bundle = bundle_with_conditional_patient(vec![post("urn:uuid:a", penicillin_allergy("urn:uuid:p")), post("urn:uuid:o", amoxicillin)]);
    let err = engine.process_bundle(&Caller::system(), bundle, "http://localhost/fhir").await.expect_err("refused");
    let EngineError::MedicationSafety { findings, .. } = err.root() else { panic!("not a safety refusal: {err}") };
    assert!(findings.iter().any(|f| f.kind == salus_engine::salus_clinical::FindingKind::Allergy));
    assert_eq!((count(&engine, "Patient").await, count(&engine, "MedicationRequest").await), (0, 0));
}

#[tokio::test]
async fn an_order_for_a_stored_patient_matched_by_a_conditional_create_is_checked_against_the_stored_chart() {
    let (_d, engine) = engine();
    let p = patient_on_simvastatin(&engine).await;
    let identified = json!({"resourceType": "Patient", "id": p, "identifier": [{"system": "http://hospital.example/mrn", "value": "7"}]});
    engine.commit(&Caller::system(), vec![Entry::update_as_is(identified)]).await.expect("identifier");
    let mut clarithromycin = order("x", CLARITHROMYCIN_500, "active");
    clarithromycin["subject"]["reference"] = json!("urn:uuid:p");
    let bundle = bundle_with_conditional_patient(vec![post("urn:uuid:o", clarithromycin)]);
    let err = engine.process_bundle(&Caller::system(), bundle, "http://localhost/fhir").await.expect_err("refused");
    assert!(matches!(err.root(), EngineError::MedicationSafety { .. }), "{err}");
    assert_eq!(count(&engine, "MedicationRequest").await, 1, "only the simvastatin");
}

#[tokio::test]
async fn an_override_for_a_patient_created_in_the_same_bundle_names_that_patient() {
    let (_d, engine) = engine();
    let mut amoxicillin = with_override(order("x", "308182", "active"), "benefit-outweighs-risk");
    amoxicillin["subject"]["reference"] = json!("urn:uuid:p");
    let bundle = bundle_with_conditional_patient(vec![post("urn:uuid:a", penicillin_allergy("urn:uuid:p")), post("urn:uuid:o", amoxicillin)]);
    engine.process_bundle(&Caller::system(), bundle, "http://localhost/fhir").await.expect("overridden");
    let patients = engine
        .search(&Caller::system(), SearchRequest { resource_type: Some("Patient".into()), ..Default::default() })
        .await
        .expect("patients");
    let [patient] = patients.matches.as_slice() else { panic!("one patient") };
    let issues = engine
        .search(&Caller::system(), SearchRequest { resource_type: Some("DetectedIssue".into()), ..Default::default() })
        .await
        .expect("issues");
    let [issue] = issues.matches.as_slice() else { panic!("one DetectedIssue") };
    let issue: Value = serde_json::from_slice(issue.body.as_deref().expect("body")).expect("json");
    assert_eq!(issue["patient"]["reference"], format!("Patient/{}", patient.id));
}
