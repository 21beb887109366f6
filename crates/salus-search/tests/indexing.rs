//! Indexing through the real FHIRPath engine, over the specification's parameters.

use salus_search::fhirpath::FhirPathEngine;
use salus_search::{Indexer, Registry};
use serde_json::json;
use std::sync::Arc;

fn indexer() -> Indexer {
    Indexer::new(Arc::new(Registry::r4()), &FhirPathEngine)
}

#[test]
fn every_spec_expression_compiles() {
    let ix = indexer();
    println!("search parameter expressions that failed to compile: {}", ix.failures().len());
    assert!(ix.failures().is_empty(), "{:?}", ix.failures());
}

#[test]
fn an_observation_yields_typed_terms_for_its_parameters() {
    let ix = indexer();
    let obs = json!({
        "resourceType": "Observation", "status": "final",
        "meta": {"tag": [{"system": "urn:t", "code": "x"}]},
        "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7", "display": "Body Weight"}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2019-05-01",
        "valueQuantity": {"value": 5400, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"},
        "component": [{"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                       "valueQuantity": {"value": 120, "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}}]
    });
    let t = ix.index(&obs);
    let has_token = |p: &str, c: &str| t.tokens.iter().any(|x| x.param == p && x.code.as_deref() == Some(c));
    assert!(has_token("code", "29463-7") && has_token("status", "final") && has_token("_tag", "x"));
    assert!(t.references.iter().any(|r| r.param == "patient" && r.target_id.as_deref() == Some("p1")));
    assert!(t.references.iter().any(|r| r.param == "subject" && r.target_type.as_deref() == Some("Patient")));
    assert!(t.dates.iter().any(|d| d.param == "date"));
    let q = t.quantities.iter().find(|q| q.param == "value-quantity").expect("value-quantity");
    assert_eq!(q.canonical.as_ref().map(|c| c.1.as_str()), Some("g"));
    assert!(t.composites.iter().any(|c| c.param == "component-code-value-quantity"), "{:?}", t.composites);
    assert!(t.composites.iter().any(|c| c.param == "code-value-quantity"));
    println!("terms for one observation: {}", t.len());
}

#[test]
fn a_patient_yields_folded_names_and_identifiers() {
    let ix = indexer();
    let p = json!({"resourceType": "Patient", "name": [{"family": "Müller", "given": ["Zoë"]}],
        "identifier": [{"system": "urn:mrn", "value": "123"}], "birthDate": "1980", "gender": "female",
        "telecom": [{"system": "phone", "value": "555-1234"}], "active": true});
    let t = ix.index(&p);
    assert!(t.strings.iter().any(|s| s.param == "family" && s.norm == "muller"));
    assert!(t.strings.iter().any(|s| s.param == "name" && s.norm == "zoe"));
    assert!(t.tokens.iter().any(|x| x.param == "identifier" && x.system.as_deref() == Some("urn:mrn")));
    assert!(t.tokens.iter().any(|x| x.param == "phone" && x.code.as_deref() == Some("555-1234")));
    assert!(t.tokens.iter().any(|x| x.param == "active" && x.code.as_deref() == Some("true")));
    let gender = t.tokens.iter().find(|x| x.param == "gender").expect("gender");
    assert_eq!(gender.system.as_deref(), Some("http://hl7.org/fhir/administrative-gender"), "implicit system of a bound code");
    let birth = t.dates.iter().find(|d| d.param == "birthdate").expect("birthdate");
    assert_eq!(birth.range, salus_search::date::parse_range("1980").expect("1980"));
}

#[test]
fn garbage_resources_index_without_panicking() {
    let ix = indexer();
    for r in [json!({}), json!([]), json!({"resourceType": "Nope"}), json!({"resourceType": "Patient", "name": "x", "birthDate": 5}),
              json!({"resourceType": "Observation", "valueQuantity": {"value": "abc"}, "effectivePeriod": {"start": "x"}})] {
        let _ = ix.index(&r);
    }
}

/// R4 writes the date component of `code-value-date` as `value.as(DateTime)`, the FHIRPath
/// System type, which no FHIR `dateTime` element is: read as the FHIR type it means.
#[test]
fn an_observation_with_a_date_time_value_is_indexed_under_code_value_date() {
    let ix = indexer();
    let obs = json!({
        "resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "11778-8"}]},
        "valueDateTime": "2020-03-04"
    });
    let t = ix.index(&obs);
    let c = t.composites.iter().find(|c| c.param == "code-value-date").expect("code-value-date");
    assert_eq!(c.first.code.as_deref(), Some("11778-8"));
    let salus_search::terms::CompositeValue::Date(d) = &c.second else { panic!("a date component: {:?}", c.second) };
    assert_eq!(d.range, salus_search::date::parse_range("2020-03-04").expect("date"));
}
