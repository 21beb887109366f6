//! What can go wrong in an engine call, in terms a client can act on. The HTTP edge maps each
//! variant to a status and an OperationOutcome.

use salus_store::StoreError;
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{resource_type}/{id} is not known")]
    NotFound { resource_type: String, id: String },
    #[error("version {version} of {resource_type}/{id} is not known")]
    VersionNotFound { resource_type: String, id: String, version: String },
    #[error("{resource_type}/{id} was deleted (version {version})")]
    Gone { resource_type: String, id: String, version: u64 },
    #[error("`{0}` is not a FHIR R4 resource type")]
    UnknownResourceType(String),
    /// The resource failed validation; the OperationOutcome lists each issue with its path.
    #[error("the resource is not valid")]
    Invalid(Value),
    /// A request the engine cannot carry out as sent; `expression` names the element at fault.
    #[error("{message}")]
    BadRequest { message: String, expression: Option<String> },
    /// `If-Match` named a version that is no longer current: nothing was changed.
    #[error("{resource_type}/{id} is at version {current}, not {expected}: read it again and reapply the change")]
    VersionConflict { resource_type: String, id: String, expected: String, current: String },
    /// A conditional interaction matched more than one resource.
    #[error("{0}")]
    PreconditionFailed(String),
    /// The operation exists in FHIR but this server does not offer it (yet).
    #[error("{0}")]
    NotSupported(String),
    /// A MedicationRequest has high-severity medication-safety findings (`findings`; `also`
    /// holds the lower ones) and no override reason: nothing was stored.
    #[error(
        "the order is refused by the medication safety check ({} high-severity finding(s)): change the order, or resend it with an override reason in the extension {}",
        findings.len(),
        crate::safety::OVERRIDE_EXTENSION
    )]
    MedicationSafety { findings: Vec<salus_clinical::Finding>, also: Vec<salus_clinical::Finding> },
    /// A conditional reference (`Patient?identifier=...`) at `element` of a Bundle entry's
    /// resource did not match exactly one resource (`several` says which way): nothing was
    /// stored.
    #[error(
        "the conditional reference `{reference}` matches {}: {}",
        if *several { format!("several {resource_type} resources") } else { format!("no {resource_type}") },
        if *several {
            "make the criteria select exactly one resource (a unique identifier, for example)"
        } else {
            "create that resource first (or earlier in this Bundle), or correct the criteria"
        }
    )]
    UnresolvedReference { element: String, reference: String, resource_type: String, several: bool },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The entry at `index` (counted from 0 in the order given) of a multi-entry commit failed;
    /// nothing of the commit was stored.
    #[error("entry {index}: {error}")]
    InEntry { index: usize, error: Box<EngineError> },
}

impl EngineError {
    pub fn in_entry(index: usize, error: EngineError) -> Self {
        match error {
            // Storage failures are not the entry's fault.
            EngineError::Store(_) => error,
            error => EngineError::InEntry { index, error: Box::new(error) },
        }
    }

    /// The error itself, without the entry it happened in.
    pub fn root(&self) -> &EngineError {
        match self {
            EngineError::InEntry { error, .. } => error.root(),
            other => other,
        }
    }

    /// The element at fault (a FHIRPath in the resource, or from the Bundle), if known.
    pub fn expression(&self) -> Option<&str> {
        match self {
            EngineError::BadRequest { expression, .. } => expression.as_deref(),
            EngineError::UnresolvedReference { element, .. } => Some(element),
            EngineError::InEntry { error, .. } => error.expression(),
            _ => None,
        }
    }

    pub fn bad_request(message: impl Into<String>, expression: Option<&str>) -> Self {
        EngineError::BadRequest { message: message.into(), expression: expression.map(str::to_string) }
    }
}

/// The path of an element of Bundle entry `index`: `expression` is either a path in the
/// entry's resource (`subject.reference`) or already a path from the Bundle
/// (`Bundle.entry.request.url`), which gets the entry's position.
pub fn bundle_element(index: usize, expression: Option<&str>) -> String {
    match expression {
        None => format!("Bundle.entry[{index}]"),
        Some(e) => match e.strip_prefix("Bundle.entry.") {
            Some(rest) => format!("Bundle.entry[{index}].{rest}"),
            None => format!("Bundle.entry[{index}].resource.{e}"),
        },
    }
}
