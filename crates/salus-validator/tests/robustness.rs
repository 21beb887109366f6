//! No input makes the validator or the JSON parser panic: arbitrary bytes, arbitrary JSON,
//! and mutations of real resources (every value swapped for values of other JSON kinds).

mod common;

use proptest::prelude::*;
use salus_validator::{Validator, parse_json};
use serde_json::{Map, Value, json};

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        "[a-zA-Z0-9#:/._<> -]{0,12}".prop_map(Value::String),
        prop_oneof![Just("Patient"), Just("Bundle"), Just("Observation"), Just("Questionnaire"), Just("Extension")]
            .prop_map(|s| Value::String(s.to_string())),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        let keys = prop_oneof![
            Just("resourceType".to_string()),
            Just("extension".to_string()),
            Just("url".to_string()),
            Just("contained".to_string()),
            Just("reference".to_string()),
            Just("entry".to_string()),
            Just("resource".to_string()),
            Just("item".to_string()),
            Just("_given".to_string()),
            Just("valueQuantity".to_string()),
            Just("div".to_string()),
            "[a-z_]{1,8}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((keys, inner), 0..6).prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = Validator::new().validate_bytes(&bytes);
    }

    #[test]
    fn arbitrary_json_never_panics(mut v in arb_json(), rt in prop_oneof![Just("Patient"), Just("Bundle"), Just("Observation"), Just("Questionnaire")]) {
        if let Value::Object(o) = &mut v {
            o.insert("resourceType".into(), Value::String(rt.into()));
        }
        let outcome = Validator::new().validate(&v);
        let _ = outcome.to_operation_outcome();
    }
}

/// Replaces each scalar of a real resource in turn with values of every other kind.
#[test]
fn mutations_of_real_resources_never_panic() {
    let dir = common::data_dir().join("fhir-r4/examples-package");
    let validator = Validator::new();
    let replacements = [json!(null), json!(""), json!([]), json!({}), json!(-1), json!(1.5), json!(true), json!("#x"), json!([null]), json!({"extension": []})];
    for file in ["Patient-example.json", "Bundle-bundle-transaction.json", "Observation-example.json", "Questionnaire-qs1.json", "PlanDefinition-example-cardiology-os.json"] {
        let Ok(bytes) = std::fs::read(dir.join(file)) else { continue };
        let original = parse_json(&bytes).expect("example");
        let mut count = 0;
        let mut paths = Vec::new();
        collect_paths(&original, &mut Vec::new(), &mut paths);
        for path in paths.iter().step_by((paths.len() / 120).max(1)) {
            for r in &replacements {
                let mut v = original.clone();
                if let Some(slot) = pointer_mut(&mut v, path) {
                    *slot = r.clone();
                    let _ = validator.validate(&v);
                    count += 1;
                }
            }
        }
        println!("{file}: {count} mutations validated without a panic");
    }
}

fn collect_paths(v: &Value, here: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    out.push(here.clone());
    match v {
        Value::Object(o) => {
            for (k, child) in o {
                here.push(k.clone());
                collect_paths(child, here, out);
                here.pop();
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                here.push(i.to_string());
                collect_paths(child, here, out);
                here.pop();
            }
        }
        _ => {}
    }
}

fn pointer_mut<'a>(v: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    let mut cur = v;
    for seg in path {
        cur = match cur {
            Value::Object(o) => o.get_mut(seg)?,
            Value::Array(a) => a.get_mut(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

#[test]
fn deeply_nested_input_is_refused_not_overflowed() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(parse_json(deep.as_bytes()).is_err());
    let mut v = json!({"resourceType": "Questionnaire", "status": "draft"});
    let mut item = json!({"linkId": "x", "type": "group"});
    for _ in 0..100 {
        item = json!({"linkId": "x", "type": "group", "item": [item]});
    }
    v["item"] = json!([item]);
    let _ = Validator::new().validate(&v);
}
