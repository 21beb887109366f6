//! CDS Hooks cards and DetectedIssue resources, compared with the shapes of the spec's examples.

use salus_clinical::cds_cards::{card_for_care_gap, cards_for_findings, detected_issue, override_reasons, Override};
use salus_clinical::medication_safety::check;
use salus_clinical::preventive::{evaluate, PatientRecord};
use salus_fhir::date::Date;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::PathBuf;

const RX: &str = "http://www.nlm.nih.gov/research/umls/rxnorm";

fn spec_card_keys() -> BTreeSet<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/cds-hooks/spec-examples");
    let mut keys = BTreeSet::new();
    for f in ["22-response-cards-example-1.json", "23-response-cards-example-2.json"] {
        let v: Value = serde_json::from_slice(&std::fs::read(dir.join(f)).unwrap()).unwrap();
        for c in v["cards"].as_array().unwrap() {
            keys.extend(c.as_object().unwrap().keys().cloned());
        }
    }
    keys.extend(["suggestions", "selectionBehavior", "overrideReasons"].map(String::from));
    keys
}

fn assert_card(card: &Value, allowed: &BTreeSet<String>) {
    let obj = card.as_object().unwrap();
    for k in obj.keys() {
        assert!(allowed.contains(k), "unexpected card key {k}");
    }
    assert!(["info", "warning", "critical"].contains(&card["indicator"].as_str().unwrap()));
    let summary = card["summary"].as_str().unwrap();
    assert!(!summary.is_empty() && summary.chars().count() <= 140);
    assert!(!card["source"]["label"].as_str().unwrap().is_empty());
}

fn order() -> Value {
    json!({"resourceType": "MedicationRequest", "id": "draft-1", "status": "draft", "medicationCodeableConcept": {"coding": [{"system": RX, "code": "197517"}]}})
}

#[test]
fn contraindicated_interaction_card_is_critical_with_override_reasons_and_a_delete_suggestion() {
    let active = json!({"resourceType": "MedicationRequest", "id": "m1", "status": "active", "medicationCodeableConcept": {"coding": [{"system": RX, "code": "312961"}]}});
    let findings = check(&order(), &[active], &[]).unwrap();
    let cards = cards_for_findings(&findings, Some("draft-1"));
    let allowed = spec_card_keys();
    for c in &cards {
        assert_card(c, &allowed);
    }
    let critical = &cards[0];
    assert_eq!(critical["indicator"], "critical");
    assert_eq!(critical["overrideReasons"].as_array().unwrap().len(), override_reasons().len());
    assert_eq!(critical["suggestions"][0]["actions"][0]["type"], "delete");
    assert_eq!(critical["suggestions"][0]["actions"][0]["resourceId"][0], "MedicationRequest/draft-1");
    // Same shape as the spec's overrideReasons example: code, system, display.
    let spec: Value = serde_json::from_slice(&std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/cds-hooks/spec-examples/20-card-override-reasons.json")).unwrap()).unwrap();
    let spec_keys: BTreeSet<_> = spec["overrideReasons"][0].as_object().unwrap().keys().cloned().collect();
    let our_keys: BTreeSet<_> = critical["overrideReasons"][0].as_object().unwrap().keys().cloned().collect();
    assert_eq!(spec_keys, our_keys);
}

#[test]
fn care_gap_cards_only_for_open_gaps() {
    let record = PatientRecord::from_resources(&[json!({"resourceType": "Patient", "gender": "female", "birthDate": "1960-01-01"})]).unwrap();
    let gaps = evaluate(&record, Date::new(2020, 1, 1).expect("a real day")).unwrap();
    let allowed = spec_card_keys();
    let mut open = 0;
    for g in &gaps {
        match card_for_care_gap(g) {
            Some(c) => {
                open += 1;
                assert!(g.status.is_open());
                assert_card(&c, &allowed);
                assert!(c["source"]["url"].as_str().unwrap().starts_with("https://"));
            }
            None => assert!(!g.status.is_open()),
        }
    }
    assert!(open >= 5);
}

#[test]
fn overridden_finding_becomes_a_detected_issue() {
    let active = json!({"resourceType": "MedicationRequest", "id": "m1", "status": "active", "medicationCodeableConcept": {"coding": [{"system": RX, "code": "312961"}]}});
    let findings = check(&order(), &[active], &[]).unwrap();
    let reason = override_reasons().remove(0);
    let implicated = vec!["MedicationRequest/draft-1".to_string()];
    let issue = detected_issue(&findings[0], &Override { patient: "Patient/p1", implicated: &implicated, reason: Some(&reason), comment: Some("short course, statin held"), author: Some("Practitioner/dr"), when: "2020-01-01T10:00:00Z" });
    assert_eq!(issue["resourceType"], "DetectedIssue");
    assert_eq!(issue["status"], "final");
    assert_eq!(issue["severity"], "high");
    assert_eq!(issue["code"]["coding"][0]["code"], "DRG");
    assert_eq!(issue["implicated"].as_array().unwrap().len(), 2);
    assert_eq!(issue["mitigation"][0]["action"]["coding"][0]["code"], "benefit-outweighs-risk");
    assert_eq!(issue["patient"]["reference"], "Patient/p1");
}
