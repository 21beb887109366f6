//! Indexing throughput over the Synthea patients: every resource through every applicable
//! search parameter, as a write does. Run with
//! `cargo run --release -p salus-search --example index_throughput`.

use salus_search::fhirpath::FhirPathEngine;
use salus_search::{Indexer, Registry};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/synthea");
    let mut resources = Vec::new();
    let Ok(dir) = std::fs::read_dir(&root) else {
        eprintln!("no Synthea data at {}", root.display());
        return;
    };
    for entry in dir.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        let Ok(bundle) = serde_json::from_str::<serde_json::Value>(&text) else { continue };
        for e in bundle["entry"].as_array().into_iter().flatten() {
            resources.push(e["resource"].clone());
        }
    }
    let started = Instant::now();
    let indexer = Indexer::new(Arc::new(Registry::r4()), &FhirPathEngine);
    println!("indexer built (1,375 parameters compiled) in {:?}", started.elapsed());
    let started = Instant::now();
    let mut terms = 0;
    for r in &resources {
        terms += indexer.index(r).len();
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "indexed {} resources ({terms} terms) in {secs:.2} s: {:.0} resources/s on one core",
        resources.len(),
        resources.len() as f64 / secs
    );
}
