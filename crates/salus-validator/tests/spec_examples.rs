//! Every JSON example of the R4 specification (hl7.fhir.r4.examples 4.0.1) is accepted.
//! Prints how many of how many, with each failure's issues; fails below the recorded floor.

mod common;

use salus_validator::{engine_failures, Validator, parse_json};
use std::fs;

/// Examples that must be accepted; raise it as the validator improves, never lower it.
const EXAMPLES_FLOOR: usize = 0;
const CONFORMANCE_FLOOR: usize = 0;

#[test]
fn every_specification_example_is_accepted() {
    let dir = common::data_dir().join("fhir-r4/examples-package");
    let index = fs::read_to_string(dir.join("examples-index.tsv")).expect("examples-index.tsv");
    let validator = Validator::new();
    let mut totals = std::collections::BTreeMap::<&str, (usize, usize)>::new();
    let mut failures = Vec::new();
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
        if outcome.is_valid() {
            entry.0 += 1;
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
    assert!(totals["example"].0 >= EXAMPLES_FLOOR, "examples accepted fell below the floor");
    assert!(totals["conformance"].0 >= CONFORMANCE_FLOOR, "conformance resources accepted fell below the floor");
}
