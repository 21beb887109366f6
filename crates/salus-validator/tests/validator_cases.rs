//! The FHIR validator test cases for R4 (fhir-test-cases `validator/`, the 120 base-spec
//! cases of `manifest-r4-base.json`): agreement of Salus's valid/invalid verdict with the HL7
//! Java validator's expected outcome. Prints passed/failed/skipped and each disagreement with
//! Salus's issues; fails below the recorded floor.
//!
//! The Java validator, as the test-cases harness runs it, refuses extensions it cannot find a
//! definition for; Salus accepts them by default (FHIR allows implementation extensions and
//! Synthea's US Core extensions must be stored), so the cases run with
//! `UnknownExtensions::Reject` to compare like with like, and the count under the default
//! options is printed too.

mod common;

use salus_validator::{engine_failures, Options, UnknownExtensions, Validator, parse_json};
use serde_json::Value;
use std::fs;

/// Cases in agreement (of those run); raise it as the validator improves, never lower it.
const AGREEMENT_FLOOR: usize = 79;

struct Tally {
    passed: Vec<String>,
    failed: Vec<String>,
    skipped: Vec<String>,
}

fn run(unknown_extensions: UnknownExtensions, verbose: bool) -> Tally {
    let dir = common::data_dir().join("fhir-test-cases/validator");
    let manifest: Value = serde_json::from_slice(&fs::read(dir.join("manifest-r4-base.json")).expect("manifest")).expect("manifest json");
    let mut tally = Tally { passed: vec![], failed: vec![], skipped: vec![] };
    for case in manifest["test-cases"].as_array().expect("test-cases") {
        let name = case["name"].as_str().unwrap_or("?");
        let mut file = case["file"].as_str().unwrap_or("?").to_string();
        let expected_valid = case["expected"]["valid"].as_bool().unwrap_or(false);
        if case["format"] == "xml" {
            // Run the JSON twin of the same content when the folder has one.
            let twin = format!("{}.json", file.trim_end_matches(".xml"));
            if dir.join(&twin).exists() {
                file = twin;
            } else {
                tally.skipped.push(format!("{name}: skipped: XML (Salus speaks JSON only)"));
                continue;
            }
        }
        let file = file.as_str();
        let mut options = Options { unknown_extensions, ..Options::default() };
        let mut skip = None;
        if let Some(opts) = case["options"].as_object() {
            for (key, value) in opts {
                match (key.as_str(), value) {
                    ("examples", Value::Bool(b)) => options.allow_example_urls = *b,
                    ("security-checks", Value::Bool(b)) => options.security_checks = *b,
                    ("noHtmlInMarkdown", Value::Bool(b)) => options.no_html_in_markdown = *b,
                    ("validateContains", v) => options.validate_contained = v != "IGNORE",
                    ("validateReference", _) => {
                        skip = Some("needs references resolved against a server (validateReference)".to_string())
                    }
                    ("r5-bundle-relative-reference-policy", _) => {}
                    (other, _) => skip = Some(format!("option {other} is not supported")),
                }
            }
        }
        if let Some(reason) = skip {
            tally.skipped.push(format!("{name}: skipped: {reason}"));
            continue;
        }
        let bytes = fs::read(dir.join(file)).expect("case file");
        let validator = Validator::with_options(options);
        let outcome = match parse_json(&bytes) {
            Ok(v) => validator.validate(&v),
            Err(e) => validator.validate_bytes(&bytes).issues.first().map_or_else(
                || panic!("{e}"),
                |_| validator.validate_bytes(&bytes),
            ),
        };
        let valid = outcome.is_valid();
        let line = format!("{name} ({file}): expected {}, Salus says {}", verdict(expected_valid), verdict(valid));
        if valid == expected_valid {
            if verbose && !valid {
                for i in outcome.errors() {
                    println!("AGREE-INVALID {name}: {}: {}", i.expression, i.message);
                }
            }
            tally.passed.push(line);
        } else {
            let issues: Vec<String> =
                outcome.errors().map(|i| format!("      {}: {}", i.expression, i.message)).collect();
            tally.failed.push(format!("{line}\n{}", issues.join("\n")));
        }
    }
    if verbose {
        for f in &tally.failed {
            println!("DISAGREE {f}");
        }
        for s in &tally.skipped {
            println!("SKIP {s}");
        }
    }
    tally
}

fn verdict(valid: bool) -> &'static str {
    if valid { "valid" } else { "invalid" }
}

#[test]
fn validator_test_cases_agree_with_the_reference_validator() {
    let strict = run(UnknownExtensions::Reject, true);
    let default = run(UnknownExtensions::Allow, false);
    let ran = strict.passed.len() + strict.failed.len();
    println!(
        "validator cases (unknown extensions refused, as the Java harness): passed {}, failed {}, skipped {} ({} of {} run agree)",
        strict.passed.len(),
        strict.failed.len(),
        strict.skipped.len(),
        strict.passed.len(),
        ran
    );
    println!(
        "validator cases (Salus default options, unknown extensions allowed): passed {}, failed {}, skipped {}",
        default.passed.len(),
        default.failed.len(),
        default.skipped.len()
    );
    for (key, expression, error, count) in engine_failures() {
        println!("INVARIANT NOT EVALUATED {key} ({count}x): {expression}\n      {error}");
    }
    assert!(strict.passed.len() >= AGREEMENT_FLOOR, "agreement fell below the floor");
}
