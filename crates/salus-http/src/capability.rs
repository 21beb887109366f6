//! `GET /fhir/metadata`: the CapabilityStatement. It states what this build really does: each
//! interaction listed here has a handler and a test; nothing is claimed ahead of its code.

use salus_engine::Engine;
use serde_json::{Value, json};

/// Interactions every resource type supports.
const TYPE_INTERACTIONS: &[&str] =
    &["read", "vread", "update", "patch", "delete", "history-instance", "history-type", "create", "search-type"];

pub fn statement(engine: &Engine, base_url: &str, started_at: &str) -> Value {
    let defs = salus_fhir::r4();
    let resources: Vec<Value> = defs
        .resource_types()
        .map(|t| {
            let mut operations = vec![json!({
                "name": "validate",
                "definition": "http://hl7.org/fhir/OperationDefinition/Resource-validate"
            })];
            if t == "Patient" {
                // Preventive care gaps (parameters and output shape documented in README.md).
                operations.push(json!({"name": "care-gaps", "definition": "https://salus-ehr.org/fhir/OperationDefinition/Patient-care-gaps"}));
                operations.push(json!({"name": "everything", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything"}));
                operations.push(json!({"name": "export", "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export"}));
            }
            if t == "Group" {
                operations.push(json!({"name": "export", "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export"}));
            }
            let params = engine.search_parameters(t);
            let includes: Vec<String> = std::iter::once("*".to_string())
                .chain(params.iter().filter(|p| p.param_type == "reference").map(|p| format!("{t}:{}", p.code)))
                .collect();
            let search_params: Vec<Value> = params
                .iter()
                .map(|p| json!({"name": p.code, "definition": p.url, "type": p.param_type}))
                .collect();
            json!({
                "type": t,
                "profile": format!("http://hl7.org/fhir/StructureDefinition/{t}"),
                "interaction": TYPE_INTERACTIONS.iter().map(|code| json!({"code": code})).collect::<Vec<_>>(),
                "versioning": "versioned-update",
                "readHistory": true,
                "updateCreate": true,
                "conditionalCreate": true,
                "conditionalRead": "not-supported",
                "conditionalUpdate": true,
                "conditionalDelete": "single",
                "searchInclude": includes,
                "searchRevInclude": ["*"],
                "searchParam": search_params,
                "operation": operations,
            })
        })
        .collect();
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": started_at,
        "publisher": "Salus",
        "kind": "instance",
        "software": { "name": "Salus", "version": env!("CARGO_PKG_VERSION") },
        "implementation": { "description": "Salus FHIR R4 server", "url": base_url },
        "fhirVersion": defs.fhir_version,
        "format": ["application/fhir+json", "json"],
        "patchFormat": ["application/json-patch+json"],
        "rest": [{
            "mode": "server",
            "resource": resources,
            "interaction": [
                { "code": "transaction" },
                { "code": "batch" },
                { "code": "search-system" },
                { "code": "history-system" },
            ],
            "operation": [
                { "name": "care-gaps-worklist", "definition": "https://salus-ehr.org/fhir/OperationDefinition/care-gaps-worklist" },
                { "name": "export", "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export" },
            ],
        }],
    })
}
