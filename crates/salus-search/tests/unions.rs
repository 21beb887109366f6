//! A union parameter's rows are exactly its parts' rows: the store writes none for it and
//! searches its parts instead (see `salus_search::unions`). Checked on every Observation of the
//! Synthea patients and of the R4 examples.

use salus_search::fhirpath::FhirPathEngine;
use salus_search::{IndexTerms, Indexer, Registry};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

/// Each term of `terms` under `param`, without its parameter name, as comparable text.
fn rows_of(terms: &IndexTerms, param: &str) -> BTreeSet<String> {
    fn strip<T: std::fmt::Debug + Clone>(items: &[T], param: &str, name: fn(&T) -> &str, out: &mut BTreeSet<String>) {
        for t in items.iter().filter(|t| name(t) == param) {
            out.insert(format!("{t:?}").replace(&format!("param: {param:?}"), ""));
        }
    }
    let mut out = BTreeSet::new();
    strip(&terms.tokens, param, |t| &t.param, &mut out);
    strip(&terms.quantities, param, |t| &t.param, &mut out);
    strip(&terms.composites, param, |t| &t.param, &mut out);
    strip(&terms.strings, param, |t| &t.param, &mut out);
    strip(&terms.dates, param, |t| &t.param, &mut out);
    strip(&terms.references, param, |t| &t.param, &mut out);
    out
}

fn observations(dir: &Path, out: &mut Vec<Value>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for path in entries.flatten().map(|e| e.path()) {
        if path.is_dir() {
            observations(&path, out);
            continue;
        }
        if path.extension().is_none_or(|e| e != "json") || std::fs::metadata(&path).map_or(true, |m| m.len() > 5 << 20) {
            continue;
        }
        let Ok(json) = serde_json::from_slice::<Value>(&std::fs::read(&path).unwrap_or_default()) else { continue };
        let resources: Vec<&Value> = match json["resourceType"].as_str() {
            Some("Bundle") => json["entry"].as_array().into_iter().flatten().map(|e| &e["resource"]).collect(),
            _ => vec![&json],
        };
        out.extend(resources.into_iter().filter(|r| r["resourceType"] == "Observation").cloned());
    }
}

#[test]
fn a_union_parameters_rows_are_its_parts_rows() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    let mut all = Vec::new();
    observations(&data.join("synthea"), &mut all);
    let synthea = all.len();
    observations(&data.join("fhir-r4"), &mut all);
    let ix = Indexer::new(Arc::new(Registry::r4()), &FhirPathEngine);
    let unions = ["combo-code", "combo-code-value-concept", "combo-code-value-quantity", "combo-data-absent-reason", "combo-value-concept", "combo-value-quantity"];
    let (mut compared, mut with_rows, mut differ) = (0, 0, Vec::new());
    for obs in &all {
        let terms = ix.index(obs);
        for union in unions {
            let parts = salus_search::unions::parts("Observation", union).expect("a union");
            let whole = rows_of(&terms, union);
            let from_parts: BTreeSet<String> = parts.iter().flat_map(|p| rows_of(&terms, p)).collect();
            compared += 1;
            with_rows += usize::from(!whole.is_empty());
            if whole != from_parts {
                differ.push(format!("{} {union}: {whole:?} vs {from_parts:?}", obs["id"]));
            }
        }
    }
    println!(
        "union rows vs parts: {} Observations ({synthea} Synthea), {compared} comparisons, {with_rows} with rows, {} differ",
        all.len(),
        differ.len()
    );
    assert!(synthea > 8000 && with_rows > 8000, "the data is there");
    assert!(differ.is_empty(), "{:#?}", &differ[..differ.len().min(5)]);
}
