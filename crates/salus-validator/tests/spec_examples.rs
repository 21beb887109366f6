//! Every JSON example of the R4 specification (hl7.fhir.r4.examples 4.0.1) is accepted.
//! Prints how many of how many, with each failure's issues; fails below the recorded floor.

mod common;

use salus_validator::{engine_failures, Validator, parse_json};
use std::fs;

/// Examples that must be accepted; raise it as the validator improves, never lower it.
const EXAMPLES_FLOOR: usize = 704;
const CONFORMANCE_FLOOR: usize = 541;

/// Files of the package that break a rule of the R4 specification itself, each with the rule.
/// The test checks that each is still refused (so the list cannot go stale) and that nothing
/// else is.
const KNOWN_INVALID: &[(&str, &str)] = &[
    // txt-2: "The narrative SHALL have some non-whitespace content" - these divs are empty.
    ("ActivityDefinition-blood-tubes-supply.json", "txt-2: empty narrative"),
    ("ActivityDefinition-heart-valve-replacement.json", "txt-2: empty narrative"),
    ("EventDefinition-example.json", "txt-2: empty narrative"),
    ("Questionnaire-zika-virus-exposure-assessment.json", "txt-2: empty narrative"),
    // Bundle.entry.fullUrl "SHALL NOT disagree with the id in the resource".
    ("Bundle-10bb101f-a121-4264-a920-67be9cb82c74.json", "fullUrl .../Patient/pat12 on resource id pat2"),
    ("Bundle-3a0707d3-549e-4467-b8b8-5a2ab3800efe.json", "fullUrl .../Patient/pat12 on resource id pat2"),
    ("Bundle-lri-example.json", "fullUrl .../Observation/lri-gramstain1 on resource id gramstain1 (and 2 more)"),
    // References to a type the element's targetProfile does not allow.
    ("DeviceMetric-example.json", "DeviceMetric.parent -> DeviceDefinition (allowed: Device)"),
    ("DeviceUseStatement-example.json", "DeviceUseStatement.reasonReference -> Procedure"),
    ("MedicationRequest-medrx0301.json", "dispenseRequest.performer -> Practitioner (allowed: Organization)"),
    ("Observation-clinical-gender.json", "Observation.performer -> Encounter"),
    // Questionnaire.item.linkId is 1..1.
    ("Questionnaire-qs1.json", "nested items without linkId"),
    // Conformance resources of the core package.
    ("CapabilityStatement-knowledge-repository.json", "searchParam *-version declared string, the SearchParameter is token"),
    ("CapabilityStatement-measure-processor.json", "searchParam Measure-version declared string, the SearchParameter is token"),
    ("CapabilityStatement-terminology-server.json", "searchParam types disagree with ValueSet-reference, ConceptMap-source/target"),
    ("SearchParameter-codesystem-extensions-CodeSystem-author.json", "SearchParameter.base is 1..*, absent"),
    ("SearchParameter-codesystem-extensions-CodeSystem-effective.json", "SearchParameter.base is 1..*, absent"),
    ("SearchParameter-codesystem-extensions-CodeSystem-end.json", "SearchParameter.base is 1..*, absent"),
    ("SearchParameter-codesystem-extensions-CodeSystem-keyword.json", "SearchParameter.base is 1..*, absent"),
    ("SearchParameter-codesystem-extensions-CodeSystem-workflow.json", "SearchParameter.base is 1..*, absent"),
    ("SearchParameter-valueset-extensions-ValueSet-author.json", "SearchParameter.base is 1..*, absent"),
    ("SearchParameter-valueset-extensions-ValueSet-effective.json", "SearchParameter.base is 1..*, absent"),
    ("SearchParameter-valueset-extensions-ValueSet-end.json", "SearchParameter.base is 1..*, absent"),
    ("SearchParameter-valueset-extensions-ValueSet-keyword.json", "SearchParameter.base is 1..*, absent"),
    ("SearchParameter-valueset-extensions-ValueSet-workflow.json", "SearchParameter.base is 1..*, absent"),
    ("SearchParameter-questionnaireresponse-extensions-QuestionnaireResponse-item-subject.json", "id of 66 characters (max 64)"),
    ("StructureDefinition-Definition.json", "sdf-4: not abstract and no baseDefinition (logical pattern)"),
    ("StructureDefinition-Event.json", "sdf-4: not abstract and no baseDefinition (logical pattern)"),
    ("StructureDefinition-FiveWs.json", "sdf-4: not abstract and no baseDefinition (logical pattern)"),
    ("StructureDefinition-Request.json", "sdf-4: not abstract and no baseDefinition (logical pattern)"),
    // Not the file's fault: salus-fhir's EvidenceVariable has the R5 shape (see schema.rs).
    ("StructureDefinition-picoelement.json", "salus-fhir definitions lack R4 EvidenceVariable.characteristic.definition[x] etc."),
];

#[test]
fn every_specification_example_is_accepted() {
    let dir = common::data_dir().join("fhir-r4/examples-package");
    let index = fs::read_to_string(dir.join("examples-index.tsv")).expect("examples-index.tsv");
    let validator = Validator::new();
    let mut totals = std::collections::BTreeMap::<&str, (usize, usize)>::new();
    let mut failures = Vec::new();
    let mut stale = Vec::new();
    let mut listed = 0;
    for line in index.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (file, kind) = (cols[0], if cols[4] == "example" { "example" } else { "conformance" });
        let bytes = fs::read(dir.join(file)).expect("example file");
        let entry = totals.entry(kind).or_default();
        entry.1 += 1;
        let outcome = match parse_json(&bytes) {
            Ok(v) => validator.validate(&v),
            Err(e) => {
                failures.push(format!("{file}: JSON {e}"));
                continue;
            }
        };
        let known = KNOWN_INVALID.iter().find(|(f, _)| *f == file);
        if outcome.is_valid() {
            entry.0 += 1;
            if let Some((_, why)) = known {
                stale.push(format!("{file} is accepted but listed as known invalid ({why})"));
            }
        } else if let Some((_, why)) = known {
            println!("KNOWN INVALID {file}: {why}");
            listed += 1;
        } else {
            let errs: Vec<String> = outcome.errors().map(|i| format!("    {}: {}", i.expression, i.message)).collect();
            failures.push(format!("{kind} {file}:\n{}", errs.join("\n")));
        }
    }
    for f in &failures {
        println!("REFUSED {f}");
    }
    for (kind, (ok, n)) in &totals {
        println!("spec {kind}s accepted: {ok} of {n}");
    }
    for (key, expression, error, count) in engine_failures() {
        println!("INVARIANT NOT EVALUATED {key} ({count}x): {expression}\n      {error}");
    }
    println!("of the refused, {listed} are listed as breaking a rule of the specification; {} are not", failures.len());
    assert!(stale.is_empty(), "{stale:#?}");
    assert!(failures.is_empty(), "resources refused that are not known to be invalid: see REFUSED above");
    assert!(totals["example"].0 >= EXAMPLES_FLOOR, "examples accepted fell below the floor");
    assert!(totals["conformance"].0 >= CONFORMANCE_FLOOR, "conformance resources accepted fell below the floor");
}
