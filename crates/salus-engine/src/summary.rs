//! `_summary` and `_elements`: a search returns reduced copies of the resources, marked
//! `SUBSETTED` in `meta.tag` as the specification requires, so that no client mistakes one
//! for the whole resource (and updates with it).

use salus_search::query::Summary;
use salus_store::StoredVersion;
use serde_json::{Map, Value, json};

const ALWAYS: &[&str] = &["resourceType", "id", "meta"];

pub(crate) fn reduce(version: &mut StoredVersion, summary: Option<Summary>, elements: &[String]) {
    let Some(body) = version.body.as_deref() else { return };
    let Ok(Value::Object(mut resource)) = serde_json::from_slice::<Value>(body) else { return };
    let resource_type = resource.get("resourceType").and_then(Value::as_str).unwrap_or_default().to_string();
    let defs = salus_fhir::r4();
    let element = |name: &str| {
        defs.element(&format!("{resource_type}.{name}"))
            .or_else(|| {
                // a choice element in JSON (`valueQuantity`) is `value[x]` in the definitions
                let cut = name.find(|c: char| c.is_ascii_uppercase())?;
                defs.element(&format!("{resource_type}.{}[x]", &name[..cut]))
            })
    };
    let keep: Box<dyn Fn(&str) -> bool> = if !elements.is_empty() {
        Box::new(|k: &str| {
            elements.iter().any(|e| e == k || element(k).is_some_and(|d| d.name() == e) || (element(k).is_some_and(|d| d.min > 0)))
        })
    } else {
        match summary {
            Some(Summary::True) => Box::new(|k: &str| element(k).is_some_and(|d| d.is_summary)),
            Some(Summary::Text) => Box::new(|k: &str| k == "text" || element(k).is_some_and(|d| d.min > 0)),
            Some(Summary::Data) => Box::new(|k: &str| k != "text"),
            _ => return,
        }
    };
    let mut reduced = Map::new();
    for (k, v) in std::mem::take(&mut resource) {
        if ALWAYS.contains(&k.as_str()) || keep(k.trim_start_matches('_')) {
            reduced.insert(k, v);
        }
    }
    let meta = reduced.entry("meta").or_insert_with(|| json!({}));
    if let Some(meta) = meta.as_object_mut() {
        let tags = meta.entry("tag").or_insert_with(|| json!([]));
        if let Some(tags) = tags.as_array_mut() {
            tags.push(json!({"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED"}));
        }
    }
    if let Ok(bytes) = serde_json::to_vec(&Value::Object(reduced)) {
        version.body = Some(bytes);
    }
}
