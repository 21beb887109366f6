//! Errors at the edge: every failure becomes an OperationOutcome with the HTTP status that
//! tells a client what kind of problem it has, and a message a person can act on.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use salus_engine::{EngineError, bundle_element};
use serde_json::{Value, json};

/// A failed request: a status and the OperationOutcome that explains it.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub outcome: Value,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>, expression: Option<&str>) -> Self {
        ApiError { status, outcome: operation_outcome("error", code, &message.into(), expression) }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid", message, None)
    }
}

/// An OperationOutcome with a single issue.
pub fn operation_outcome(severity: &str, code: &str, message: &str, expression: Option<&str>) -> Value {
    let mut issue = json!({ "severity": severity, "code": code, "diagnostics": message });
    if let Some(e) = expression {
        issue["expression"] = json!([e]);
    }
    json!({ "resourceType": "OperationOutcome", "issue": [issue] })
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        let message = e.to_string();
        match e {
            EngineError::NotFound { .. } | EngineError::VersionNotFound { .. } => {
                ApiError::new(StatusCode::NOT_FOUND, "not-found", message, None)
            }
            EngineError::UnknownResourceType(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "not-supported", message, Some("resourceType"))
            }
            EngineError::Gone { .. } => ApiError::new(StatusCode::GONE, "deleted", message, None),
            EngineError::Invalid(outcome) => ApiError { status: StatusCode::BAD_REQUEST, outcome },
            EngineError::BadRequest { expression, .. } => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid", message, expression.as_deref())
            }
            EngineError::VersionConflict { .. } | EngineError::PreconditionFailed(_) => {
                ApiError::new(StatusCode::PRECONDITION_FAILED, "conflict", message, None)
            }
            EngineError::MedicationSafety { .. } => {
                ApiError { status: StatusCode::CONFLICT, outcome: salus_engine::refusal_outcome(&e) }
            }
            EngineError::UnresolvedReference { several: true, ref element, .. } => {
                ApiError::new(StatusCode::PRECONDITION_FAILED, "multiple-matches", message, Some(element))
            }
            EngineError::UnresolvedReference { ref element, .. } => {
                ApiError::new(StatusCode::NOT_FOUND, "not-found", message, Some(element))
            }
            EngineError::NotSupported(_) => {
                ApiError::new(StatusCode::NOT_IMPLEMENTED, "not-supported", message, None)
            }
            EngineError::InEntry { index, error } => {
                // The entry's own status, with every issue pointed at the entry.
                let mut inner = ApiError::from(*error);
                for issue in inner.outcome["issue"].as_array_mut().into_iter().flatten() {
                    let text = issue["diagnostics"].as_str().unwrap_or_default().to_string();
                    issue["diagnostics"] = json!(format!("Bundle.entry[{index}]: {text}"));
                    let mut paths = vec![json!(bundle_element(index, None))];
                    if let Some(own) = issue["expression"].as_array() {
                        paths = own.iter().map(|p| json!(bundle_element(index, p.as_str()))).collect();
                    }
                    issue["expression"] = json!(paths);
                }
                inner
            }
            EngineError::Store(store) => {
                // A genuine server fault: log it (ids and SQL errors only, never patient data).
                tracing::error!(error = %store, "storage failure");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "exception",
                    "the server could not complete the request because of a storage failure; it has been logged",
                    None,
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        crate::respond::json(self.status, &self.outcome)
    }
}
