//! The validation step of the write path, and `$validate`. A [`ResourceValidator`] decides
//! whether a resource may be stored and explains itself in an OperationOutcome whose issues
//! name each element path.

use crate::{Caller, Engine, EngineError};
use serde_json::{Value, json};

/// The verdict on one resource.
#[derive(Debug, Clone)]
pub struct ValidationReport {
    /// No issue of severity error or fatal.
    pub valid: bool,
    /// An OperationOutcome with every issue found (warnings too), or one informational issue.
    pub outcome: Value,
}

pub trait ResourceValidator: Send + Sync + 'static {
    fn validate(&self, resource: &Value) -> ValidationReport;

    /// The write path's question: may this be stored? The OperationOutcome only when not.
    fn check(&self, resource: &Value) -> Result<(), Value> {
        let report = self.validate(resource);
        if report.valid { Ok(()) } else { Err(report.outcome) }
    }
}

/// The full R4 validator (structure, datatypes, bindings, references, invariants): what the
/// server uses on every write.
impl ResourceValidator for salus_validator::Validator {
    fn validate(&self, resource: &Value) -> ValidationReport {
        let outcome = salus_validator::Validator::validate(self, resource);
        let valid = outcome.is_valid();
        let outcome = if outcome.issues.is_empty() { all_ok() } else { outcome.to_operation_outcome() };
        ValidationReport { valid, outcome }
    }

    fn check(&self, resource: &Value) -> Result<(), Value> {
        // A valid resource's warnings are not reported on a write: build no outcome for them.
        let outcome = salus_validator::Validator::validate(self, resource);
        if outcome.is_valid() { Ok(()) } else { Err(outcome.to_operation_outcome()) }
    }
}

/// The minimum every resource must meet: a JSON object naming a concrete R4 resource type, with
/// a valid id if it has one. For tests of the engine and store alone; the server uses the full
/// R4 validator.
pub struct MinimalValidator;

impl ResourceValidator for MinimalValidator {
    fn validate(&self, resource: &Value) -> ValidationReport {
        let Some(resource_type) = salus_fhir::resource::resource_type(resource) else {
            return error_report("resourceType", "the body is not a FHIR resource: add \"resourceType\"");
        };
        if !salus_fhir::r4().is_resource_type(resource_type) {
            return error_report("resourceType", &format!("`{resource_type}` is not a FHIR R4 resource type"));
        }
        if let Some(id) = resource.get("id")
            && !id.as_str().is_some_and(salus_fhir::resource::is_valid_id) {
                return error_report(&format!("{resource_type}.id"), "id must be 1-64 letters, digits, `-` or `.`");
            }
        ValidationReport { valid: true, outcome: all_ok() }
    }
}

fn error_report(expression: &str, message: &str) -> ValidationReport {
    let outcome = json!({
        "resourceType": "OperationOutcome",
        "issue": [{ "severity": "error", "code": "invalid", "diagnostics": message, "expression": [expression] }]
    });
    ValidationReport { valid: false, outcome }
}

/// The OperationOutcome of a resource without issues.
pub fn all_ok() -> Value {
    json!({
        "resourceType": "OperationOutcome",
        "issue": [{ "severity": "information", "code": "informational", "diagnostics": "no issues found" }]
    })
}

impl Engine {
    /// `$validate`: the full verdict on a resource, without storing anything.
    pub async fn validate(&self, caller: &Caller, resource: &Value) -> Result<ValidationReport, EngineError> {
        self.authorize_read(caller)?;
        Ok(self.validator.validate(resource))
    }

    /// The write path's check: refuses an invalid resource with its OperationOutcome.
    pub(crate) fn require_valid(&self, resource: &Value) -> Result<(), EngineError> {
        self.validator.check(resource).map_err(EngineError::Invalid)
    }
}
