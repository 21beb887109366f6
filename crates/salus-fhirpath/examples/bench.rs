//! Throughput of search-parameter extraction, the indexer's load: every R4 search-parameter
//! expression that applies to a resource, evaluated over the 1,280 R4 examples.
//! `cargo run --release -p salus-fhirpath --example bench [-- ROUNDS]`

use salus_fhirpath::{Context, Expression};
use serde_json::Value as Json;
use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

fn main() {
    let rounds: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(5);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/fhir-r4/examples-package");
    let mut resources: Vec<Json> = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("examples-package").flatten() {
        if let Ok(text) = std::fs::read_to_string(entry.path())
            && let Ok(json) = serde_json::from_str::<Json>(text.trim_start_matches('\u{feff}'))
            && json.get("resourceType").is_some()
        {
            resources.push(json);
        }
    }
    let defs = salus_fhir::r4();
    let started = Instant::now();
    let mut by_type: HashMap<String, Vec<Expression>> = HashMap::new();
    let mut compiled = 0;
    for sp in defs.search_parameters() {
        let Some(src) = &sp.expression else { continue };
        let Ok(e) = Expression::parse(src) else { continue };
        compiled += 1;
        for base in &sp.base {
            by_type.entry(base.clone()).or_default().push(e.clone());
        }
    }
    println!("compiled {compiled} expressions in {:?}", started.elapsed());
    let ctx = Context::r4();
    let _ = Expression::parse("1").map(|e| e.evaluate(&resources[0], &ctx)); // build the model
    let mut evaluations = 0usize;
    let mut values = 0usize;
    let started = Instant::now();
    for _ in 0..rounds {
        for r in &resources {
            let rt = r["resourceType"].as_str().unwrap_or_default();
            for base in [rt, "Resource", "DomainResource"] {
                for e in by_type.get(base).into_iter().flatten() {
                    evaluations += 1;
                    values += e.evaluate(r, &ctx).map(|v| v.len()).unwrap_or(0);
                }
            }
        }
    }
    let elapsed = started.elapsed();
    println!(
        "{evaluations} evaluations ({values} values) over {} resources x {rounds} rounds in {elapsed:?}: {:.2} us/evaluation, {:.0} resources/s",
        resources.len(),
        elapsed.as_secs_f64() * 1e6 / evaluations as f64,
        (resources.len() * rounds) as f64 / elapsed.as_secs_f64()
    );
}
