//! Issues and their OperationOutcome form. An issue names the element it is about with a
//! FHIRPath-style expression (`Patient.name[0].given[1]`) so that a client can find it.

use serde_json::{Map, Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Fatal,
    Error,
    Warning,
    Information,
}

impl Severity {
    pub fn code(self) -> &'static str {
        match self {
            Severity::Fatal => "fatal",
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Information => "information",
        }
    }
}

/// The OperationOutcome `issue.code` values (http://hl7.org/fhir/issue-type) the validator uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IssueType {
    Invalid,
    Structure,
    Required,
    Value,
    Invariant,
    Security,
    CodeInvalid,
    Extension,
    BusinessRule,
    NotFound,
    NotSupported,
    TooLong,
    Processing,
    Informational,
}

impl IssueType {
    pub fn code(self) -> &'static str {
        match self {
            IssueType::Invalid => "invalid",
            IssueType::Structure => "structure",
            IssueType::Required => "required",
            IssueType::Value => "value",
            IssueType::Invariant => "invariant",
            IssueType::Security => "security",
            IssueType::CodeInvalid => "code-invalid",
            IssueType::Extension => "extension",
            IssueType::BusinessRule => "business-rule",
            IssueType::NotFound => "not-found",
            IssueType::NotSupported => "not-supported",
            IssueType::TooLong => "too-long",
            IssueType::Processing => "processing",
            IssueType::Informational => "informational",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub severity: Severity,
    pub code: IssueType,
    /// Where: `Patient.birthDate`, `Bundle.entry[2].resource.code.coding[0]`. Empty for issues
    /// about the whole input (a JSON syntax error).
    pub expression: String,
    pub message: String,
    /// For JSON syntax errors: 1-based line and column.
    pub location: Option<(usize, usize)>,
}

impl Issue {
    pub fn is_error(&self) -> bool {
        matches!(self.severity, Severity::Fatal | Severity::Error)
    }
}

/// Everything the validator found about one input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    pub issues: Vec<Issue>,
}

impl Outcome {
    /// True when no issue is an error or fatal: the resource may be stored.
    pub fn is_valid(&self) -> bool {
        !self.issues.iter().any(Issue::is_error)
    }

    pub fn errors(&self) -> impl Iterator<Item = &Issue> {
        self.issues.iter().filter(|i| i.is_error())
    }

    /// The FHIR OperationOutcome for these issues; one `information` issue when there are none
    /// (an OperationOutcome must have at least one issue).
    pub fn to_operation_outcome(&self) -> Value {
        let issues: Vec<Value> = if self.issues.is_empty() {
            vec![json!({"severity": "information", "code": "informational", "diagnostics": "No issues found"})]
        } else {
            self.issues.iter().map(issue_json).collect()
        };
        json!({"resourceType": "OperationOutcome", "issue": issues})
    }
}

fn issue_json(issue: &Issue) -> Value {
    let mut map = Map::new();
    map.insert("severity".into(), issue.severity.code().into());
    map.insert("code".into(), issue.code.code().into());
    map.insert("diagnostics".into(), issue.message.clone().into());
    if !issue.expression.is_empty() {
        map.insert("expression".into(), json!([issue.expression]));
    }
    if let Some((line, col)) = issue.location {
        // The spec's standard extensions for a position in the source.
        map.insert(
            "extension".into(),
            json!([
                {"url": "http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-line", "valueInteger": line},
                {"url": "http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-col", "valueInteger": col}
            ]),
        );
    }
    Value::Object(map)
}
