//! Every resource of the Synthea population in ../shared/data/synthea is accepted: the 17,680
//! entries of the 130 patient transaction Bundles and the 204 of the shared provider Bundles
//! (US Core extensions, `urn:uuid:` references). Each entry's resource is validated as the
//! bulk import validates it, one by one, and each Bundle once as a whole. Prints the counts and
//! the time per resource (not an assertion: timings belong to benchmarks).

mod common;

use salus_validator::{Options, Validator, engine_failures, parse_json};
use serde_json::Value;
use std::fs;
use std::time::{Duration, Instant};

/// Resources that must be accepted; raise it as the validator improves, never lower it.
const ACCEPTED_FLOOR: usize = 17_884;

#[test]
fn every_synthea_resource_is_accepted() {
    let dir = common::data_dir().join("synthea");
    let mut files: Vec<_> = fs::read_dir(&dir)
        .expect("synthea dir")
        .chain(fs::read_dir(dir.join("shared-resources")).expect("shared-resources"))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let validator = Validator::new();
    let structural = Validator::with_options(Options { invariants: false, ..Options::default() });
    let mut structural_elapsed = Duration::ZERO;
    let (mut total, mut accepted, mut bundles_ok) = (0usize, 0usize, 0usize);
    let mut elapsed = Duration::ZERO;
    let mut failures = Vec::new();
    for path in &files {
        let bundle: Value = parse_json(&fs::read(path).expect("bundle")).expect("bundle json");
        let entries = bundle["entry"].as_array().expect("entries");
        for (i, entry) in entries.iter().enumerate() {
            total += 1;
            let resource = &entry["resource"];
            let start = Instant::now();
            let outcome = validator.validate(resource);
            elapsed += start.elapsed();
            let start = Instant::now();
            let _ = structural.validate(resource);
            structural_elapsed += start.elapsed();
            if outcome.is_valid() {
                accepted += 1;
            } else if failures.len() < 50 {
                let errs: Vec<String> = outcome.errors().map(|e| format!("    {}: {}", e.expression, e.message)).collect();
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                failures.push(format!("{name} entry[{i}]:\n{}", errs.join("\n")));
            }
        }
        if validator.validate(&bundle).is_valid() {
            bundles_ok += 1;
        }
    }
    for f in &failures {
        println!("REFUSED {f}");
    }
    for (key, expression, error, count) in engine_failures() {
        println!("INVARIANT NOT EVALUATED {key} ({count}x): {expression}\n      {error}");
    }
    println!("synthea resources accepted: {accepted} of {total}; whole bundles accepted: {bundles_ok} of {}", files.len());
    println!(
        "validation time: {:.1} us per resource ({} resources in {:.2} s, this build's profile, one thread)",
        elapsed.as_secs_f64() * 1e6 / total.max(1) as f64,
        total,
        elapsed.as_secs_f64()
    );
    println!(
        "  of which structure alone (invariants off): {:.1} us per resource",
        structural_elapsed.as_secs_f64() * 1e6 / total.max(1) as f64
    );
    assert!(accepted >= ACCEPTED_FLOOR, "accepted resources fell below the floor");
}
