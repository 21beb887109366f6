//! The validation step of the write path. A [`ResourceValidator`] decides whether a resource may
//! be stored; its refusal carries an OperationOutcome listing each issue with its element path.

use crate::EngineError;
use serde_json::{Value, json};

pub trait ResourceValidator: Send + Sync + 'static {
    /// `Ok` when the resource may be stored; `Err(EngineError::Invalid(outcome))` otherwise.
    fn validate(&self, resource: &Value) -> Result<(), EngineError>;
}

/// The minimum every resource must meet: a JSON object naming a concrete R4 resource type, with
/// a valid id if it has one. Used where the full validator is not wanted (benchmarks of the
/// store alone); the server uses the full R4 validator.
pub struct MinimalValidator;

impl ResourceValidator for MinimalValidator {
    fn validate(&self, resource: &Value) -> Result<(), EngineError> {
        let Some(resource_type) = salus_fhir::resource::resource_type(resource) else {
            return Err(invalid("resourceType", "the body is not a FHIR resource: add \"resourceType\""));
        };
        if !salus_fhir::r4().is_resource_type(resource_type) {
            return Err(EngineError::UnknownResourceType(resource_type.to_string()));
        }
        if let Some(id) = resource.get("id") {
            if !id.as_str().is_some_and(salus_fhir::resource::is_valid_id) {
                return Err(invalid(&format!("{resource_type}.id"), "id must be 1-64 letters, digits, `-` or `.`"));
            }
        }
        Ok(())
    }
}

/// An OperationOutcome with one error issue.
pub fn invalid(expression: &str, message: &str) -> EngineError {
    EngineError::Invalid(json!({
        "resourceType": "OperationOutcome",
        "issue": [{
            "severity": "error",
            "code": "invalid",
            "diagnostics": message,
            "expression": [expression],
        }]
    }))
}
