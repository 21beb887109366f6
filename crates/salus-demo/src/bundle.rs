//! Transaction Bundle assembly: `fullUrl`, `request` and the choice between client-assigned ids
//! (PUT) and server-assigned ids (POST).

use serde_json::{Map, Value, json};

use crate::IdStyle;

pub(crate) struct Bundle {
    entries: Vec<Value>,
}

impl Bundle {
    pub(crate) fn new() -> Bundle {
        Bundle {
            entries: Vec::new(),
        }
    }

    /// A shared resource: always PUT to its id, because other bundles refer to it by `Type/id`.
    pub(crate) fn put_shared(&mut self, resource: Value) {
        let rtype = resource
            .get("resourceType")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let id = resource
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        self.entries.push(json!({
            "fullUrl": format!("urn:uuid:{id}"),
            "resource": resource,
            "request": { "method": "PUT", "url": format!("{rtype}/{id}") }
        }));
    }

    /// A patient-compartment resource. Its `fullUrl` is always `urn:uuid:<uuid>`, which is what
    /// the other entries of the same bundle reference; with [`IdStyle::ClientAssigned`] the
    /// resource also carries that uuid as its id and is PUT there, so a re-import of the same
    /// seed updates instead of duplicating.
    pub(crate) fn add(&mut self, uuid: &str, mut resource: Map<String, Value>, style: IdStyle) {
        let rtype = resource
            .get("resourceType")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let request = match style {
            IdStyle::ClientAssigned => {
                // `id` goes right after `resourceType`, where readers look for it.
                let mut ordered = Map::new();
                if let Some(t) = resource.shift_remove("resourceType") {
                    ordered.insert("resourceType".into(), t);
                }
                ordered.insert("id".into(), json!(uuid));
                ordered.extend(resource);
                resource = ordered;
                json!({ "method": "PUT", "url": format!("{rtype}/{uuid}") })
            }
            IdStyle::ServerAssigned => json!({ "method": "POST", "url": rtype }),
        };
        self.entries.push(json!({
            "fullUrl": format!("urn:uuid:{uuid}"),
            "resource": Value::Object(resource),
            "request": request
        }));
    }

    pub(crate) fn into_value(self) -> Value {
        json!({ "resourceType": "Bundle", "type": "transaction", "entry": self.entries })
    }
}
