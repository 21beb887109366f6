//! Differential check against another engine: writes, for every R4 example and every
//! search-parameter expression that applies to it (or, with `invariants`, every resource-level
//! invariant), the values Salus computes, one JSON object per line:
//! `{"file", "param", "items"|"error"}`. `scripts/differential.mjs` does the same with
//! fhirpath.js; `scripts/compare.py` lists the differences.
//! `cargo run -p salus-fhirpath --example dump_search [invariants] > salus.jsonl`

use salus_fhirpath::{Context, Expression, Value};
use serde_json::{Value as Json, json};
use std::path::Path;

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/fhir-r4/examples-package");
    let defs = salus_fhir::r4();
    let invariants = std::env::args().nth(1).as_deref() == Some("invariants");
    let params: Vec<(String, Vec<String>, Expression)> = if invariants {
        defs.types()
            .flat_map(|t| {
                let root = t.elements.first();
                root.into_iter().flat_map(move |e| {
                    e.constraints.iter().filter_map(move |c| {
                        Some((format!("{}:{}", t.id, c.key), vec![t.id.clone()], Expression::parse(&c.expression).ok()?))
                    })
                })
            })
            .collect()
    } else {
        defs.search_parameters()
            .iter()
            .filter_map(|sp| Some((sp.id.clone(), sp.base.clone(), Expression::parse(sp.expression.as_ref()?).ok()?)))
            .collect()
    };
    let ctx = Context::r4().lenient(invariants);
    let mut files: Vec<_> = std::fs::read_dir(&dir).expect("examples").flatten().map(|e| e.path()).collect();
    files.sort();
    for path in files {
        let Ok(text) = std::fs::read_to_string(&path) else { continue };
        let Ok(resource) = serde_json::from_str::<Json>(text.trim_start_matches('\u{feff}')) else { continue };
        let Some(rt) = resource["resourceType"].as_str() else { continue };
        let file = path.file_name().map(|f| f.to_string_lossy().to_string()).unwrap_or_default();
        for (id, bases, expr) in &params {
            if !bases.iter().any(|b| b == rt || b == "Resource" || b == "DomainResource") {
                continue;
            }
            let line = match expr.evaluate(&resource, &ctx) {
                Ok(items) => {
                    let items: Vec<Json> = items.iter().map(Value::to_json).collect();
                    json!({"file": file, "param": id, "items": items})
                }
                Err(e) => json!({"file": file, "param": id, "error": e.to_string()}),
            };
            println!("{line}");
        }
    }
}
