//! Behaviour tests of the validator on small hand-written resources.

use super::*;
use serde_json::json;

fn errors(v: &Value) -> Vec<(String, String)> {
    Validator::new().validate(v).errors().map(|i| (i.expression.clone(), i.message.clone())).collect()
}

fn assert_error_at(v: Value, expression: &str) {
    let errs = errors(&v);
    assert!(errs.iter().any(|(e, _)| e == expression), "expected an error at {expression}, got {errs:#?}");
}

#[test]
fn a_minimal_patient_is_valid() {
    let v = json!({"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1970-01-01"});
    assert_eq!(errors(&v), vec![]);
}

#[test]
fn unknown_resource_types_are_refused() {
    assert!(!errors(&json!({"resourceType": "Patientt"})).is_empty());
    assert!(!errors(&json!({"resourceType": "DomainResource"})).is_empty());
    assert!(!errors(&json!({"id": "x"})).is_empty());
    assert!(!errors(&json!([1])).is_empty());
}

#[test]
fn unknown_elements_are_refused() {
    assert_error_at(json!({"resourceType": "Patient", "unknownElement": 1}), "Patient");
}

#[test]
fn invalid_dates_name_the_element() {
    assert_error_at(json!({"resourceType": "Patient", "birthDate": "2019-02-30"}), "Patient.birthDate");
}

#[test]
fn required_bindings_refuse_unknown_codes() {
    assert_error_at(json!({"resourceType": "Patient", "gender": "f"}), "Patient.gender");
    assert_error_at(
        json!({"resourceType": "Observation", "status": "done", "code": {"text": "x"}}),
        "Observation.status",
    );
}

#[test]
fn cardinality_is_enforced() {
    assert_error_at(json!({"resourceType": "Observation", "status": "final"}), "Observation.code");
    assert_error_at(json!({"resourceType": "Patient", "gender": ["male"]}), "Patient.gender");
    assert_error_at(json!({"resourceType": "Patient", "name": {"family": "x"}}), "Patient.name");
}

#[test]
fn choice_types_are_checked() {
    let ok = json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "valueQuantity": {"value": 1.5}});
    assert_eq!(errors(&ok), vec![]);
    assert!(!errors(&json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "valueFoo": 1})).is_empty());
    assert!(!errors(&json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "valueString": "a", "valueBoolean": true})).is_empty());
    assert_error_at(
        json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "valueInteger": 1.5}),
        "Observation.value.ofType(integer)",
    );
}

#[test]
fn json_rules_refuse_nulls_and_empties() {
    assert_error_at(json!({"resourceType": "Patient", "birthDate": null}), "Patient.birthDate");
    assert_error_at(json!({"resourceType": "Patient", "name": []}), "Patient.name");
    assert_error_at(json!({"resourceType": "Patient", "name": [{}]}), "Patient.name[0]");
    assert_error_at(json!({"resourceType": "Patient", "name": [{"family": ""}]}), "Patient.name[0].family");
}

#[test]
fn primitive_extensions_are_aligned_with_their_values() {
    let ok = json!({"resourceType": "Patient", "name": [{"given": ["a", null], "_given": [null, {"extension": [{"url": "http://x.org/e", "valueString": "b"}]}]}]});
    assert_eq!(errors(&ok), vec![]);
    let bad = json!({"resourceType": "Patient", "name": [{"given": ["a", null]}]});
    assert_error_at(bad, "Patient.name[0].given[1]");
    let only_ext = json!({"resourceType": "Patient", "_birthDate": {"extension": [{"url": "http://x.org/e", "valueString": "b"}]}});
    assert_eq!(errors(&only_ext), vec![]);
}

#[test]
fn contained_resources_must_be_referenced_and_resolvable() {
    let ok = json!({"resourceType": "Patient", "contained": [{"resourceType": "Organization", "id": "o1", "name": "x"}],
        "managingOrganization": {"reference": "#o1"}});
    assert_eq!(errors(&ok), vec![]);
    let dangling = json!({"resourceType": "Patient", "managingOrganization": {"reference": "#o1"}});
    assert_error_at(dangling, "Patient.managingOrganization.reference");
    let unreferenced = json!({"resourceType": "Patient", "contained": [{"resourceType": "Organization", "id": "o1", "name": "x"}]});
    assert_error_at(unreferenced, "Patient.contained[0]");
}

#[test]
fn references_must_have_a_valid_form_and_target() {
    assert_error_at(json!({"resourceType": "Patient", "managingOrganization": {"reference": "Patient/1"}}), "Patient.managingOrganization.reference");
    assert_error_at(json!({"resourceType": "Patient", "managingOrganization": {"reference": "Foo/1"}}), "Patient.managingOrganization.reference");
    assert_error_at(json!({"resourceType": "Patient", "managingOrganization": {"reference": "Organization/a_b"}}), "Patient.managingOrganization.reference");
    for ok in ["Organization/1", "http://x.org/fhir/Organization/1", "urn:uuid:a76d9bbf-f293-4fb7-ad4c-2851cac77162", "Organization/1/_history/2"] {
        let v = json!({"resourceType": "Patient", "managingOrganization": {"reference": ok}});
        assert_eq!(errors(&v), vec![], "{ok}");
    }
}

#[test]
fn core_extensions_are_checked_against_their_definition() {
    let ok = json!({"resourceType": "Patient", "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/patient-birthPlace", "valueAddress": {"city": "Paris"}}]});
    assert_eq!(errors(&ok), vec![]);
    let wrong_type = json!({"resourceType": "Patient", "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/patient-birthPlace", "valueString": "Paris"}]});
    assert_error_at(wrong_type, "Patient.extension[0]");
    let wrong_place = json!({"resourceType": "Patient", "name": [{"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/humanname-mothers-family", "valueString": "x"}]}]});
    assert_error_at(wrong_place, "Patient.name[0].extension[0]");
    let no_url = json!({"resourceType": "Patient", "extension": [{"valueString": "Paris"}]});
    assert_error_at(no_url, "Patient.extension[0].url");
    let us_core = json!({"resourceType": "Patient", "extension": [{"url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race", "extension": [{"url": "text", "valueString": "x"}]}]});
    assert_eq!(errors(&us_core), vec![]);
}

#[test]
fn narrative_must_be_safe_xhtml() {
    let div = |d: &str| json!({"resourceType": "Patient", "text": {"status": "generated", "div": d}});
    assert_eq!(errors(&div("<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>ok</p></div>")), vec![]);
    assert_error_at(div("<div xmlns=\"http://www.w3.org/1999/xhtml\"><script>x</script>t</div>"), "Patient.text.div");
    assert_error_at(div("<div xmlns=\"http://www.w3.org/1999/xhtml\"><p onclick=\"x()\">t</p></div>"), "Patient.text.div");
    assert_error_at(div("<div xmlns=\"http://www.w3.org/1999/xhtml\">&reg;</div>"), "Patient.text.div");
    assert_error_at(div("<div>no namespace</div>"), "Patient.text.div");
    assert_error_at(div("<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>unclosed</div>"), "Patient.text.div");
}

#[test]
fn bundle_entries_are_validated_as_resources() {
    let v = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:a76d9bbf-f293-4fb7-ad4c-2851cac77162", "resource": {"resourceType": "Patient", "gender": "x"},
         "request": {"method": "POST", "url": "Patient"}}]});
    assert_error_at(v, "Bundle.entry[0].resource.gender");
}

#[test]
fn the_operation_outcome_names_the_element() {
    let outcome = Validator::new().validate(&json!({"resourceType": "Patient", "birthDate": "x"}));
    let oo = outcome.to_operation_outcome();
    assert_eq!(oo["resourceType"], "OperationOutcome");
    assert_eq!(oo["issue"][0]["expression"][0], "Patient.birthDate");
    assert_eq!(oo["issue"][0]["severity"], "error");
}

#[test]
fn malformed_json_reports_line_and_column() {
    let outcome = Validator::new().validate_bytes(b"{\n\"resourceType\": \"Patient\",,\n}");
    assert!(!outcome.is_valid());
    assert_eq!(outcome.issues[0].location.map(|l| l.0), Some(2));
}

#[test]
fn elements_outside_r4_are_refused() {
    // Present in the embedded (Medplum-derived) definitions, absent from R4.
    assert_error_at(json!({"resourceType": "Patient", "meta": {"author": {"reference": "Practitioner/1"}}}), "Patient.meta");
    assert_error_at(json!({"resourceType": "Binary", "contentType": "text/plain", "url": "http://x.org/b"}), "Binary");
}

#[test]
fn values_nested_beyond_any_fhir_structure_are_refused_without_overflow() {
    let mut ext = json!({"url": "http://x.org/e", "valueString": "x"});
    for _ in 0..400 {
        ext = json!({"url": "http://x.org/e", "extension": [ext]});
    }
    let v = json!({"resourceType": "Patient", "extension": [ext]});
    // The validator runs on a 2 MB stack, a tokio worker's default.
    let handle = std::thread::Builder::new().stack_size(2 << 20).spawn(move || {
        let valid = Validator::new().validate(&v).is_valid();
        std::mem::forget(v); // dropping is serde_json's recursion, not the validator's
        valid
    });
    let valid = handle.expect("thread").join().expect("no stack overflow");
    assert!(!valid);
}

#[test]
fn the_validator_is_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Validator>();
    assert_send_sync::<Outcome>();
}

#[test]
fn resource_ids_may_carry_extensions_but_element_ids_may_not() {
    let ok = json!({"resourceType": "Patient", "id": "a", "_id": {"extension": [{"url": "http://x.org/e", "valueString": "b"}]}});
    assert_eq!(errors(&ok), vec![]);
    let bad = json!({"resourceType": "Patient", "name": [{"id": "n", "_id": {"extension": [{"url": "http://x.org/e", "valueString": "b"}]}, "family": "x"}]});
    assert_error_at(bad, "Patient.name[0].id");
}

#[test]
fn invariants_of_the_specification_are_evaluated() {
    // per-1: start SHALL have a lower value than end.
    let period = json!({"resourceType": "Encounter", "status": "finished", "class": {"code": "AMB"},
        "period": {"start": "2020-01-02", "end": "2020-01-01"}});
    let outcome = Validator::new().validate(&period);
    assert!(outcome.errors().any(|i| i.message.starts_with("per-1") && i.expression == "Encounter.period"), "{outcome:#?}");
    // que-12 with its corrected expression (the R4 text says "more than one").
    let q = json!({"resourceType": "Questionnaire", "status": "draft", "item": [
        {"linkId": "a", "type": "boolean"},
        {"linkId": "b", "type": "string", "enableWhen": [
            {"question": "a", "operator": "=", "answerBoolean": true},
            {"question": "a", "operator": "exists", "answerBoolean": true}]}]});
    assert!(Validator::new().validate(&q).errors().any(|i| i.message.starts_with("que-12")));
}

/// Every invariant decided from the keys present (the `presence` module) gets the answer the
/// FHIRPath engine gives, on every node where one was decided: the shared data (Synthea
/// Bundles, the specification's examples, the validator test cases) and edge cases of
/// presence (companions without values, nulls, empty arrays, choice elements, names that
/// prefix other names).
#[test]
fn invariants_decided_without_the_engine_agree_with_it() {
    let data = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    let dirs = ["synthea", "synthea/shared-resources", "fhir-r4/examples-package", "fhir-test-cases/validator"];
    let mut inputs: Vec<Value> = Vec::new();
    for dir in dirs {
        let mut files: Vec<_> = std::fs::read_dir(data.join(dir))
            .expect("shared data")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        inputs.extend(files.iter().filter_map(|p| parse_json(&std::fs::read(p).ok()?).ok()));
    }
    let obs = |extra: Value| {
        let mut o = json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}});
        o.as_object_mut().into_iter().for_each(|m| m.extend(extra.as_object().cloned().unwrap_or_default()));
        o
    };
    inputs.extend([
        obs(json!({"_text": {"extension": [{"url": "http://x.org/e", "valueString": "b"}]}})),
        obs(json!({"text": null})),
        obs(json!({"dataAbsentReason": {"text": "x"}, "valueString": "a"})),
        obs(json!({"dataAbsentReason": {}, "valueString": "a"})),
        obs(json!({"dataAbsentReason": null, "valueString": "a"})),
        obs(json!({"_valueString": {"extension": [{"url": "http://x.org/e", "valueString": "b"}]}, "dataAbsentReason": {"text": "x"}})),
        obs(json!({"valueQuantity": {"value": 1, "code": "mg"}})),
        obs(json!({"valueQuantity": {"value": 1, "_code": {"id": "c"}}})),
        obs(json!({"valueQuantity": {"value": 1, "code": "mg", "system": null}})),
        obs(json!({"valueQuantity": {"value": 1, "code": "mg", "_system": {"id": "s"}}})),
        obs(json!({"component": [], "valueString": "a"})),
        obs(json!({"component": [null], "valueString": "a"})),
        obs(json!({"component": [{"code": {"text": "y"}}], "valueString": "a"})),
        json!({"resourceType": "Encounter", "status": "finished", "class": {"code": "AMB"}, "period": {"start": "2020-01-02"}}),
        json!({"resourceType": "Encounter", "status": "finished", "class": {"code": "AMB"}, "period": {"_start": {"id": "s"}, "end": "2020-01-01"}}),
        json!({"resourceType": "Encounter", "status": "finished", "class": {"code": "AMB"}, "period": {"start": null, "end": "2020-01-01"}}),
        json!({"resourceType": "Encounter", "status": "finished", "class": {"code": "AMB"}, "period": {"start": ["2020"], "end": "2020-01-01"}}),
        json!({"resourceType": "Patient", "text": {"status": "generated"}}),
        json!({"resourceType": "Patient", "text": {"div": null}}),
        json!({"resourceType": "Patient", "textual": 1}),
        json!({"resourceType": "CodeSystem", "status": "draft", "content": "complete", "name": "a b", "concept": [{"code": "x"}]}),
        json!({"resourceType": "Timing", "repeat": {"period": 1}}),
        json!({"resourceType": "MedicationRequest", "status": "active", "intent": "order", "subject": {"reference": "Patient/1"},
            "medicationCodeableConcept": {"text": "x"},
            "dosageInstruction": [{"timing": {"repeat": {"period": -1, "periodUnit": "d", "duration": 1}}}]}),
    ]);
    let period = |start: &str, end: &str| {
        json!({"resourceType": "Encounter", "status": "finished", "class": {"code": "AMB"}, "period": {"start": start, "end": end}})
    };
    for (start, end) in [
        ("2020-01-01T10:00:00+02:00", "2020-01-01T09:00:00Z"),
        ("2020-01-01T00:30:00-05:00", "2020-01-01T05:00:00Z"),
        ("2019-12-31T23:59:59.999-01:00", "2020-01-01T00:59:59.998Z"),
        ("2020-02-29T12:00:00.5Z", "2020-02-29T12:00:00.50Z"),
        ("2020-02-29T12:00:00.000000001Z", "2020-02-29T12:00:00Z"),
        ("2020-01-01T10:00:00+14:30", "2020-01-01T00:00:00Z"),
        ("1999-03-01T00:00:00+00:00", "1999-02-28T23:59:59-00:01"),
        ("2020-01-01T10:00:00Z", "2020-01-01"),
        ("2020-01-01T10:00:00", "2020-01-01T10:00:00Z"),
    ] {
        inputs.push(period(start, end));
    }
    super::invariants::cross_check::start();
    let validator = Validator::new();
    for v in &inputs {
        let _ = validator.validate(v);
    }
    let tally = super::invariants::cross_check::finish();
    println!("invariants decided without the engine: {} (all compared with the engine)", tally.decided);
    assert!(tally.disagreements.is_empty(), "{:#?}", &tally.disagreements[..tally.disagreements.len().min(30)]);
    assert!(tally.decided > 100_000, "the shortcut was taken {} times only", tally.decided);
}

#[test]
fn nested_slices_of_core_extensions_are_reported_at_their_own_path() {
    let v = json!({"resourceType": "Patient", "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/patient-nationality",
        "extension": [{"url": "period", "valuePeriod": {"start": "2020"}}, {"url": "code", "valueString": "x"}]}]});
    let errs = errors(&v);
    assert_eq!(errs.iter().map(|(e, _)| e.as_str()).collect::<Vec<_>>(), ["Patient.extension[0].extension[1]"], "{errs:#?}");
}
