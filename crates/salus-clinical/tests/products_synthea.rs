//! The product table covers every medication code in the Synthea sample data.

use salus_clinical::products::ingredients_of_rxcui;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

pub fn synthea_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/synthea")
}

fn collect(v: &Value, out: &mut BTreeSet<(String, String)>) {
    let concept = match v.get("resourceType").and_then(Value::as_str) {
        Some("MedicationRequest") => v.get("medicationCodeableConcept"),
        Some("Medication") => v.get("code"),
        _ => None,
    };
    if let Some(list) = concept.and_then(|c| c.get("coding")).and_then(Value::as_array) {
        for c in list {
            if let (Some(s), Some(k)) = (c.get("system").and_then(Value::as_str), c.get("code").and_then(Value::as_str)) {
                let display = c.get("display").and_then(Value::as_str).unwrap_or("");
                assert_eq!(s, "http://www.nlm.nih.gov/research/umls/rxnorm", "{k} {display}");
                out.insert((k.to_string(), display.to_string()));
            }
        }
    }
}

#[test]
fn every_synthea_medication_code_is_in_the_product_table() {
    let mut codes = BTreeSet::new();
    let mut files = 0;
    for entry in std::fs::read_dir(synthea_dir()).expect("synthea data") {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let bundle: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        for e in bundle.get("entry").and_then(Value::as_array).into_iter().flatten() {
            if let Some(r) = e.get("resource") {
                collect(r, &mut codes);
            }
        }
        files += 1;
    }
    let missing: Vec<_> = codes.iter().filter(|(c, _)| !matches!(ingredients_of_rxcui(c), Ok(Some(ref v)) if !v.is_empty())).collect();
    println!("synthea files: {files}, distinct medication codes: {}, missing: {}", codes.len(), missing.len());
    assert_eq!(files, 130);
    assert!(codes.len() >= 60);
    assert!(missing.is_empty(), "missing from the product table: {missing:?}");
}

#[test]
fn common_products_resolve_to_their_ingredients() {
    for (code, ingredient) in [("312961", "36567"), ("197361", "17767"), ("860975", "6809"), ("259255", "83367"), ("745679", "435"),
                               ("197884", "29046"), ("312941", "36437"), ("308182", "723"), ("310965", "5640"), ("855288", "11289"), ("197517", "21212")] {
        let ings = ingredients_of_rxcui(code).unwrap().unwrap_or_default();
        assert!(ings.iter().any(|i| i.rxcui == ingredient), "{code}: {ings:?}");
    }
}
