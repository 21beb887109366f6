//! Bulk data over HTTP: the Bulk Data Access 2.0 `$export` kick-off (system, `Patient`,
//! `Group/[id]`; by `GET` with query parameters or by `POST` with a `Parameters` body), the
//! status URL (poll, cancel), the NDJSON downloads, and `Patient/$everything`. The engine
//! reads the parameters, runs the jobs and the searches; this module reads the request and
//! writes the 202s, the manifest and the searchset.

use crate::outcome::ApiError;
use crate::rest::Params;
use crate::{AppState, body, negotiate, respond};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use salus_engine::{Caller, ExportLevel, ExportRequest, ExportStatus};
use serde_json::json;

const NDJSON: &str = "application/fhir+ndjson";

/// Seconds a client should wait between polls while a job runs.
const RETRY_AFTER: &str = "2";

fn respond_async(headers: &HeaderMap) -> bool {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split([',', ';']).any(|p| p.trim().eq_ignore_ascii_case("respond-async")))
}

fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The kick-off URL as the client sent it, for the manifest's `request`.
fn request_url(base: &str, path: &str, params: &[(String, String)]) -> String {
    let query = crate::rest::query_string(params);
    if query.is_empty() { format!("{base}/{path}") } else { format!("{base}/{path}?{query}") }
}

/// How the kick-off's parameters were sent.
enum Sent {
    Query(Vec<(String, String)>),
    Body { params: Vec<(String, String)>, body: Body },
}

async fn kick_off(state: AppState, headers: HeaderMap, level: ExportLevel, path: String, sent: Sent) -> Result<Response, ApiError> {
    if !respond_async(&headers) {
        return Err(ApiError::bad_request(
            "a bulk export runs asynchronously: send the header `Prefer: respond-async` (Bulk Data Access 2.0)",
        ));
    }
    let base = state.base_url(&headers);
    let request = match sent {
        Sent::Query(params) => ExportRequest::parse(&state.engine, level, &params, request_url(&base, &path, &params))?,
        Sent::Body { params, body } => {
            if let Some((k, _)) = params.iter().find(|(k, _)| k != "_format" && k != "_pretty") {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid",
                    format!("a POST $export takes its parameters in the Parameters body, not in the URL (`{k}`)"),
                    Some(k),
                ));
            }
            negotiate::check_content_type(&headers, false)?;
            let parameters = body::parse_json(&body::read_limited(body, state.max_body_bytes).await?)?;
            ExportRequest::from_parameters(&state.engine, level, &parameters, format!("{base}/{path}"))?
        }
    };
    let job = state.engine.export_start(&Caller::system(), request).await?;
    let mut response = respond::empty(StatusCode::ACCEPTED);
    response.headers_mut().insert(header::CONTENT_LOCATION, header_value(&format!("{base}/bulk-status/{job}")));
    Ok(response)
}

/// `GET /fhir/$export`.
pub async fn export_system(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(params): Params,
) -> Result<Response, ApiError> {
    kick_off(state, headers, ExportLevel::System, "$export".into(), Sent::Query(params)).await
}

/// `POST /fhir/$export` with a `Parameters` body.
pub async fn export_system_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(params): Params,
    body: Body,
) -> Result<Response, ApiError> {
    kick_off(state, headers, ExportLevel::System, "$export".into(), Sent::Body { params, body }).await
}

/// `GET /fhir/Patient/$export` (other types have no type-level export).
pub async fn export_type(
    State(state): State<AppState>,
    Path(resource_type): Path<String>,
    headers: HeaderMap,
    axum::extract::Query(params): Params,
) -> Result<Response, ApiError> {
    patient_level(&resource_type)?;
    kick_off(state, headers, ExportLevel::Patient, "Patient/$export".into(), Sent::Query(params)).await
}

/// `POST /fhir/Patient/$export` with a `Parameters` body.
pub async fn export_type_post(
    State(state): State<AppState>,
    Path(resource_type): Path<String>,
    headers: HeaderMap,
    axum::extract::Query(params): Params,
    body: Body,
) -> Result<Response, ApiError> {
    patient_level(&resource_type)?;
    kick_off(state, headers, ExportLevel::Patient, "Patient/$export".into(), Sent::Body { params, body }).await
}

/// `GET /fhir/Group/[id]/$export`.
pub async fn export_instance(
    State(state): State<AppState>,
    Path((resource_type, id)): Path<(String, String)>,
    headers: HeaderMap,
    axum::extract::Query(params): Params,
) -> Result<Response, ApiError> {
    group_level(&resource_type, &id)?;
    kick_off(state, headers, ExportLevel::Group(id.clone()), format!("Group/{id}/$export"), Sent::Query(params)).await
}

/// `POST /fhir/Group/[id]/$export` with a `Parameters` body.
pub async fn export_instance_post(
    State(state): State<AppState>,
    Path((resource_type, id)): Path<(String, String)>,
    headers: HeaderMap,
    axum::extract::Query(params): Params,
    body: Body,
) -> Result<Response, ApiError> {
    group_level(&resource_type, &id)?;
    kick_off(state, headers, ExportLevel::Group(id.clone()), format!("Group/{id}/$export"), Sent::Body { params, body }).await
}

const EXPORTS: &str = "$export, Patient/$export and Group/[id]/$export";

fn patient_level(resource_type: &str) -> Result<(), ApiError> {
    if resource_type == "Patient" { Ok(()) } else { Err(not_offered(&format!("{resource_type}/$export"), EXPORTS)) }
}

fn group_level(resource_type: &str, id: &str) -> Result<(), ApiError> {
    if resource_type == "Group" { Ok(()) } else { Err(not_offered(&format!("{resource_type}/{id}/$export"), EXPORTS)) }
}

fn not_offered(what: &str, offered: &str) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not-supported", format!("there is no operation {what}; this server offers {offered}"), None)
}

/// `GET /fhir/bulk-status/[job]`: 202 with `X-Progress` while running, 200 and the manifest
/// when done, 500 and an OperationOutcome if the job failed.
pub async fn status(
    State(state): State<AppState>,
    Path(job): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let base = state.base_url(&headers);
    match state.engine.export_status(&Caller::system(), &job).await? {
        ExportStatus::InProgress { progress } => {
            let mut response = respond::empty(StatusCode::ACCEPTED);
            response.headers_mut().insert("x-progress", header_value(&progress));
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER));
            Ok(response)
        }
        ExportStatus::Completed { transaction_time, request, outputs } => {
            let output: Vec<_> = outputs
                .iter()
                .map(|o| json!({"type": o.resource_type, "url": format!("{base}/bulk-files/{job}/{}", o.file), "count": o.count}))
                .collect();
            let manifest = json!({
                "transactionTime": transaction_time,
                "request": request,
                "requiresAccessToken": false,
                "output": output,
                "error": [],
            });
            let mut response = respond::json(StatusCode::OK, &manifest);
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            Ok(response)
        }
        ExportStatus::Failed { message } => {
            Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "exception", format!("the export failed: {message}"), None))
        }
    }
}

/// `DELETE /fhir/bulk-status/[job]`: cancels the job and deletes its files.
pub async fn cancel(State(state): State<AppState>, Path(job): Path<String>) -> Result<Response, ApiError> {
    state.engine.export_cancel(&Caller::system(), &job).await?;
    Ok(respond::empty(StatusCode::ACCEPTED))
}

/// `GET /fhir/bulk-files/[job]/[file]`: an NDJSON file of a completed job, streamed from disk.
pub async fn file(State(state): State<AppState>, Path((job, name)): Path<(String, String)>) -> Result<Response, ApiError> {
    let path = state.engine.export_file(&Caller::system(), &job, &name).await?;
    let file = tokio::fs::File::open(&path).await.map_err(|e| {
        tracing::error!(path = %path.display(), error = %e, "an export file listed in a manifest cannot be opened");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "exception", "the export file cannot be read; start the export again", None)
    })?;
    let mut response = Response::new(Body::from_stream(tokio_util::io::ReaderStream::new(file)));
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(NDJSON));
    Ok(response)
}

/// `GET /fhir/Patient/[id]/$everything`.
pub async fn everything_instance(
    State(state): State<AppState>,
    Path((resource_type, id)): Path<(String, String)>,
    headers: HeaderMap,
    axum::extract::Query(params): Params,
) -> Result<Response, ApiError> {
    if resource_type != "Patient" {
        return Err(not_offered(&format!("{resource_type}/{id}/$everything"), "Patient/[id]/$everything and Patient/$everything"));
    }
    everything(state, headers, Some(id), params).await
}

/// `GET /fhir/Patient/$everything`: every patient's, in pages.
pub async fn everything_type(
    State(state): State<AppState>,
    Path(resource_type): Path<String>,
    headers: HeaderMap,
    axum::extract::Query(params): Params,
) -> Result<Response, ApiError> {
    if resource_type != "Patient" {
        return Err(not_offered(&format!("{resource_type}/$everything"), "Patient/[id]/$everything and Patient/$everything"));
    }
    everything(state, headers, None, params).await
}

async fn everything(
    state: AppState,
    headers: HeaderMap,
    patient: Option<String>,
    params: Vec<(String, String)>,
) -> Result<Response, ApiError> {
    let format = params.iter().find(|(k, _)| k == "_format").map(|(_, v)| v.as_str());
    negotiate::check_accept(&headers, format)?;
    let params: Vec<(String, String)> = params.into_iter().filter(|(k, _)| k != "_format" && k != "_pretty").collect();
    let result = state.engine.everything(&Caller::system(), patient.as_deref(), &params).await?;
    let base = state.base_url(&headers);
    let endpoint = match &patient {
        Some(id) => format!("{base}/Patient/{id}/$everything"),
        None => format!("{base}/Patient/$everything"),
    };
    Ok(respond::raw(StatusCode::OK, crate::search::searchset(&base, &endpoint, &params, &result)))
}
