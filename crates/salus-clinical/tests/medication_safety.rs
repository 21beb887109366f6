//! Medication-safety behaviour on hand-made orders, active medications and allergies.

use salus_clinical::knowledge::knowledge;
use salus_clinical::medication_safety::{check, FindingKind, Severity};
use serde_json::{json, Value};

const RX: &str = "http://www.nlm.nih.gov/research/umls/rxnorm";

fn order(code: &str, display: &str) -> Value {
    json!({"resourceType": "MedicationRequest", "id": "new", "status": "draft", "intent": "order",
           "medicationCodeableConcept": {"coding": [{"system": RX, "code": code, "display": display}]}})
}

fn active(id: &str, code: &str, status: &str) -> Value {
    json!({"resourceType": "MedicationRequest", "id": id, "status": status, "intent": "order",
           "medicationCodeableConcept": {"coding": [{"system": RX, "code": code}]}})
}

fn allergy(system: &str, code: &str, text: &str, clinical: &str) -> Value {
    json!({"resourceType": "AllergyIntolerance", "id": "a1",
           "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": clinical}]},
           "code": {"coding": [{"system": system, "code": code, "display": text}], "text": text}})
}

fn high_rules(order: &Value, meds: &[Value]) -> Vec<String> {
    check(order, meds, &[]).unwrap().into_iter().filter(|f| f.severity == Severity::High && f.kind == FindingKind::Interaction).map(|f| f.rule_id).collect()
}

#[test]
fn simvastatin_with_clarithromycin_is_contraindicated() {
    // 312961 simvastatin 20 MG Oral Tablet; 197517 clarithromycin 500 MG Oral Tablet.
    let findings = check(&order("197517", "clarithromycin 500 MG Oral Tablet"), &[active("m1", "312961", "active")], &[]).unwrap();
    let f = findings.iter().find(|f| f.rule_id == "onc-high-25").expect("finding");
    assert_eq!(f.severity, Severity::High);
    assert!(f.blocks());
    assert_eq!(f.conflicts_with.as_deref(), Some("MedicationRequest/m1"));
    let names: Vec<&str> = f.ingredients.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["clarithromycin", "simvastatin"]);
    assert!(f.source.label.contains("Phansalkar"));
}

#[test]
fn pravastatin_with_clarithromycin_is_not_on_the_high_list() {
    assert!(high_rules(&order("42463", "pravastatin"), &[active("m1", "21212", "active")]).is_empty());
}

#[test]
fn stopped_or_completed_medications_do_not_interact() {
    for status in ["stopped", "completed", "entered-in-error", "cancelled"] {
        assert!(high_rules(&order("197517", "clarithromycin"), &[active("m1", "312961", status)]).is_empty(), "{status}");
    }
    assert_eq!(high_rules(&order("197517", "clarithromycin"), &[active("m1", "312961", "on-hold")]), ["onc-high-25"]);
}

#[test]
fn sertraline_with_phenelzine_is_contraindicated() {
    assert_eq!(high_rules(&order("312941", "sertraline 50 MG Oral Tablet"), &[active("m1", "8123", "active")]), ["onc-high-8"]);
}

#[test]
fn two_qt_prolonging_drugs_are_contraindicated_but_one_is_not() {
    // citalopram and ondansetron are both on the known-risk QT list.
    assert_eq!(high_rules(&order("2556", "citalopram"), &[active("m1", "26225", "active")]), ["onc-high-21"]);
    assert!(high_rules(&order("2556", "citalopram"), &[active("m1", "17767", "active")]).is_empty());
}

/// Every ONC high-priority pair fires for each object/precipitant combination of its first and
/// last members, in both directions, and a drug never interacts with itself through a pair.
#[test]
fn every_onc_high_priority_pair_fires_both_ways() {
    let k = knowledge().unwrap();
    assert_eq!(k.high.pairs.len(), 15);
    let mut checked = 0;
    for p in &k.high.pairs {
        let objects = [p.object.first().unwrap(), p.object.last().unwrap()];
        let precipitants = [p.precipitant.first().unwrap(), p.precipitant.last().unwrap()];
        for o in objects {
            for q in precipitants {
                if o.rxcui == q.rxcui {
                    continue;
                }
                let a = high_rules(&order(&o.rxcui, &o.name), &[active("m", &q.rxcui, "active")]);
                assert!(a.contains(&p.id), "{} {} + {}: {a:?}", p.id, o.name, q.name);
                let b = high_rules(&order(&q.rxcui, &q.name), &[active("m", &o.rxcui, "active")]);
                assert!(b.contains(&p.id), "{} reversed {} + {}: {b:?}", p.id, q.name, o.name);
                checked += 1;
            }
        }
    }
    assert!(checked >= 50, "{checked}");
}

#[test]
fn every_onc_non_interruptive_pair_is_informational() {
    let k = knowledge().unwrap();
    for p in &k.low.pairs {
        let (o, q) = (&p.object[0], &p.precipitant[0]);
        let findings = check(&order(&o.rxcui, &o.name), &[active("m", &q.rxcui, "active")], &[]).unwrap();
        let f = findings.iter().find(|f| f.rule_id == p.id).unwrap_or_else(|| panic!("{} {} + {}", p.id, o.name, q.name));
        assert_eq!(f.severity, Severity::Low);
    }
}

#[test]
fn lisinopril_with_ibuprofen_is_informational_only() {
    // 197884 lisinopril 40 MG Oral Tablet; 310965 ibuprofen 200 MG Oral Tablet (Synthea).
    let findings = check(&order("310965", "Ibuprofen 200 MG Oral Tablet"), &[active("m1", "197884", "active")], &[]).unwrap();
    assert!(findings.iter().any(|f| f.rule_id == "onc-low-33" && f.severity == Severity::Low));
    assert!(findings.iter().all(|f| !f.blocks()));
}

#[test]
fn penicillin_allergy_blocks_amoxicillin() {
    let a = allergy("http://snomed.info/sct", "91936005", "Allergy to penicillin", "active");
    let findings = check(&order("308182", "Amoxicillin 250 MG Oral Capsule"), &[], &[a]).unwrap();
    let f = findings.iter().find(|f| f.kind == FindingKind::Allergy).expect("allergy");
    assert_eq!(f.severity, Severity::High);
    assert_eq!(f.rule_id, "allergy-group:penicillin");
}

#[test]
fn amoxicillin_allergy_as_rxnorm_ingredient_blocks_penicillin_v() {
    let a = allergy(RX, "723", "amoxicillin", "active");
    let findings = check(&order("834061", "Penicillin V Potassium 250 MG Oral Tablet"), &[], &[a]).unwrap();
    assert!(findings.iter().any(|f| f.kind == FindingKind::Allergy && f.severity == Severity::High));
}

#[test]
fn penicillin_allergy_warns_for_cephalosporins() {
    let a = allergy("http://snomed.info/sct", "373270004", "Penicillin", "active");
    let findings = check(&order("309097", "Cefuroxime 250 MG Oral Tablet"), &[], &[a]).unwrap();
    let f = findings.iter().find(|f| f.kind == FindingKind::Allergy).expect("cross-sensitivity");
    assert_eq!(f.severity, Severity::Moderate);
    assert_eq!(f.rule_id, "allergy-cross:penicillin:cephalosporin");
}

#[test]
fn inactive_refuted_or_unrelated_allergies_are_ignored() {
    let inactive = allergy("http://snomed.info/sct", "91936005", "Allergy to penicillin", "inactive");
    let mut refuted = allergy("http://snomed.info/sct", "91936005", "Allergy to penicillin", "active");
    refuted["verificationStatus"] = json!({"coding": [{"code": "refuted"}]});
    let peanut = allergy("http://snomed.info/sct", "91935009", "Allergy to peanuts", "active");
    let findings = check(&order("308182", "Amoxicillin 250 MG Oral Capsule"), &[], &[inactive, refuted, peanut]).unwrap();
    assert!(findings.is_empty(), "{findings:?}");
}

#[test]
fn nsaid_allergy_by_snomed_substance_blocks_naproxen() {
    let a = allergy("http://snomed.info/sct", "372665008", "NSAID", "active");
    let findings = check(&order("849574", "Naproxen sodium 220 MG Oral Tablet"), &[], &[a]).unwrap();
    assert!(findings.iter().any(|f| f.rule_id == "allergy-group:nsaid" && f.severity == Severity::High));
}

#[test]
fn sulfa_allergy_recorded_as_text_only_blocks_sulfamethoxazole() {
    let a = json!({"resourceType": "AllergyIntolerance", "code": {"text": "Sulfonamide antibiotics"}});
    let findings = check(&order("10180", "sulfamethoxazole"), &[], &[a]).unwrap();
    assert!(findings.iter().any(|f| f.kind == FindingKind::Allergy && f.severity == Severity::High), "{findings:?}");
}

#[test]
fn same_ingredient_already_active_is_a_duplicate() {
    // 312961 simvastatin 20 MG and 316672 simvastatin 10 MG (Synthea).
    let findings = check(&order("312961", "simvastatin 20"), &[active("m1", "316672", "active")], &[]).unwrap();
    let f = findings.iter().find(|f| f.kind == FindingKind::Duplicate).expect("duplicate");
    assert_eq!(f.severity, Severity::Moderate);
    assert!(f.rule_id.starts_with("duplicate-ingredient:36567"));
}

#[test]
fn two_statins_are_duplicate_therapy_but_statin_and_ace_inhibitor_are_not() {
    let f = check(&order("259255", "Atorvastatin 80 MG Oral Tablet"), &[active("m1", "312961", "active")], &[]).unwrap();
    assert!(f.iter().any(|f| f.rule_id == "duplicate-class:statin"));
    let g = check(&order("259255", "Atorvastatin 80 MG Oral Tablet"), &[active("m1", "29046", "active")], &[]).unwrap();
    assert!(g.iter().all(|f| f.kind != FindingKind::Duplicate));
}

#[test]
fn medication_reference_to_a_contained_medication_is_followed() {
    let o = json!({"resourceType": "MedicationRequest", "id": "o", "status": "active",
                   "contained": [{"resourceType": "Medication", "id": "med1", "code": {"coding": [{"system": RX, "code": "197517"}]}}],
                   "medicationReference": {"reference": "#med1"}});
    assert_eq!(high_rules(&o, &[active("m1", "312961", "active")]), ["onc-high-25"]);
}

#[test]
fn a_medication_resource_can_be_the_order_and_an_active_medication() {
    let med = json!({"resourceType": "Medication", "id": "x", "code": {"coding": [{"system": RX, "code": "6472"}]}});
    assert_eq!(high_rules(&med, &[active("m1", "28031", "active")]), ["onc-high-25"]);
    let statement = json!({"resourceType": "MedicationStatement", "id": "s", "status": "active",
                           "medicationCodeableConcept": {"text": "Itraconazole 100 mg capsule"}});
    assert_eq!(high_rules(&med, &[statement]), ["onc-high-25"]);
}

#[test]
fn unknown_codes_fall_back_to_ingredient_names_in_the_display() {
    let o = json!({"resourceType": "MedicationRequest", "status": "draft",
                   "medicationCodeableConcept": {"coding": [{"system": RX, "code": "999999999", "display": "levothyroxine sodium 0.05 MG Oral Tablet"}]}});
    let r = salus_clinical::products::resolve(&o).unwrap();
    assert_eq!(r.ingredients.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(), ["levothyroxine"]);
    assert_eq!(r.matched_by, salus_clinical::products::MatchedBy::Name);
}

#[test]
fn malformed_input_gives_no_panic_and_no_findings() {
    let junk = [json!(null), json!([]), json!({"resourceType": 5}), json!({"resourceType": "MedicationRequest"}),
                json!({"resourceType": "MedicationRequest", "medicationCodeableConcept": {"coding": "x"}}),
                json!({"resourceType": "AllergyIntolerance", "code": {"coding": [{"system": 1, "code": null}]}})];
    for j in &junk {
        let _ = check(j, &junk, &junk);
        let _ = check(&order("197517", "clarithromycin"), &junk, &junk).unwrap();
    }
    assert!(check(&json!({"resourceType": "MedicationRequest"}), &[active("m", "312961", "active")], &[]).unwrap().is_empty());
}
