//! The FHIR RESTful interactions on single resources and history: create, read, vread, update,
//! patch, delete, `_history` at three levels and `$validate`. Each handler translates HTTP into
//! an engine call and the result back into HTTP; no rule about resources lives here.

use crate::negotiate::{self, Return};
use crate::outcome::{ApiError, operation_outcome};
use crate::{AppState, body, bundle, respond};
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use salus_engine::{Caller, Committed, Effect, Entry, HistoryQuery, HistoryScope, clock};
use serde_json::Value;
pub use salus_engine::query_string;

/// Query parameters as sent, in order.
pub type Params = Query<Vec<(String, String)>>;

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Refuses parameters an interaction does not take (FHIR: an unknown parameter is an error
/// unless the client asks for lenient handling).
fn only_params(params: &[(String, String)], allowed: &[&str]) -> Result<(), ApiError> {
    match params.iter().find(|(k, _)| !allowed.contains(&k.as_str()) && k != "_format" && k != "_pretty") {
        Some((k, _)) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "not-supported",
            format!("the parameter `{k}` is not supported here; this interaction takes {}", allowed.join(", ")),
            None,
        )),
        None => Ok(()),
    }
}

/// The caller of a request. Until the identity issue lands, every request runs as the system.
fn caller(_headers: &HeaderMap) -> Caller {
    Caller::system()
}

async fn read_resource(state: &AppState, headers: &HeaderMap, body: Body, patch: bool) -> Result<Value, ApiError> {
    negotiate::check_content_type(headers, patch)?;
    let bytes = body::read_limited(body, state.max_body_bytes).await?;
    body::parse_json(&bytes)
}

fn check_body_type(resource: &Value, resource_type: &str) -> Result<(), ApiError> {
    match salus_fhir::resource::resource_type(resource) {
        Some(t) if t == resource_type => Ok(()),
        Some(t) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid",
            format!("the body is a {t} but the URL names {resource_type}"),
            Some("resourceType"),
        )),
        None => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid",
            "the body is not a FHIR resource: it has no \"resourceType\"",
            Some("resourceType"),
        )),
    }
}

/// The response to a write, shaped by `Prefer: return=`.
fn write_response(state: &AppState, headers: &HeaderMap, c: &Committed) -> Response {
    let base = state.base_url(headers);
    let status = match c.effect {
        Effect::Created => StatusCode::CREATED,
        _ => StatusCode::OK,
    };
    let mut response = match negotiate::prefer_return(headers) {
        Return::Minimal => respond::empty(status),
        Return::Representation => match &c.body {
            Some(body) => respond::raw(status, body.clone()),
            None => respond::empty(status),
        },
        Return::OperationOutcome => {
            let what = match c.effect {
                Effect::Created => "created",
                Effect::Updated => "updated",
                Effect::Unchanged => "unchanged (same content as the current version)",
                Effect::Deleted => "deleted",
                Effect::AlreadyDeleted => "already deleted",
            };
            let message = format!("{}/{} {what}; version {}", c.resource_type, c.id, c.version);
            let mut outcome = operation_outcome("information", "informational", &message, None);
            // Medication-safety warnings on a stored order follow the summary.
            if let Some(issues) = outcome["issue"].as_array_mut() {
                issues.extend(c.findings.iter().map(|f| salus_engine::finding_issue(f, "warning")));
            }
            respond::json(status, &outcome)
        }
    };
    respond::version_headers(&mut response, c.version, c.last_updated_ms);
    respond::location(&mut response, &format!("{base}/{}/{}/_history/{}", c.resource_type, c.id, c.version));
    response
}

/// Commits one entry on behalf of the request's caller and returns what it did.
async fn commit_one(state: &AppState, headers: &HeaderMap, entry: Entry) -> Result<Committed, ApiError> {
    let committed = state.engine.commit(&caller(headers), vec![entry]).await?;
    committed.into_iter().next().ok_or_else(|| ApiError::bad_request("nothing was committed"))
}

fn if_match(headers: &HeaderMap) -> Option<String> {
    headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()).map(negotiate::etag_version)
}

pub async fn create(
    State(state): State<AppState>,
    Path(resource_type): Path<String>,
    headers: HeaderMap,
    Query(params): Params,
    body: Body,
) -> Result<Response, ApiError> {
    negotiate::check_accept(&headers, param(&params, "_format"))?;
    let resource = read_resource(&state, &headers, body, false).await?;
    check_body_type(&resource, &resource_type)?;
    let if_none_exist = headers.get("if-none-exist").and_then(|v| v.to_str().ok()).map(str::to_string);
    let entry = Entry::Create { resource, id: None, if_none_exist };
    let c = commit_one(&state, &headers, entry).await?;
    Ok(write_response(&state, &headers, &c))
}

pub async fn read(
    State(state): State<AppState>,
    Path((resource_type, id)): Path<(String, String)>,
    headers: HeaderMap,
    Query(params): Params,
) -> Result<Response, ApiError> {
    negotiate::check_accept(&headers, param(&params, "_format"))?;
    only_params(&params, &[])?;
    let v = state.engine.read(&caller(&headers), &resource_type, &id).await?;
    if not_modified(&headers, v.version, v.last_updated_ms) {
        let mut response = respond::empty(StatusCode::NOT_MODIFIED);
        respond::version_headers(&mut response, v.version, v.last_updated_ms);
        return Ok(response);
    }
    let mut response = respond::raw(StatusCode::OK, v.body.unwrap_or_default());
    respond::version_headers(&mut response, v.version, v.last_updated_ms);
    Ok(response)
}

/// `If-None-Match` naming the current version, or `If-Modified-Since` not older than it.
fn not_modified(headers: &HeaderMap, version: u64, last_updated_ms: i64) -> bool {
    if let Some(tags) = headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) {
        let current = version.to_string();
        return tags.split(',').any(|t| t.trim() == "*" || negotiate::etag_version(t) == current);
    }
    if let Some(since) = headers.get(header::IF_MODIFIED_SINCE).and_then(|v| v.to_str().ok()) {
        // HTTP dates have whole seconds: compare at that precision.
        return clock::parse_http_date(since).is_some_and(|s| last_updated_ms / 1000 <= s / 1000);
    }
    false
}

pub async fn vread(
    State(state): State<AppState>,
    Path((resource_type, id, version)): Path<(String, String, String)>,
    headers: HeaderMap,
    Query(params): Params,
) -> Result<Response, ApiError> {
    negotiate::check_accept(&headers, param(&params, "_format"))?;
    only_params(&params, &[])?;
    let v = state.engine.vread(&caller(&headers), &resource_type, &id, &version).await?;
    let mut response = respond::raw(StatusCode::OK, v.body.unwrap_or_default());
    respond::version_headers(&mut response, v.version, v.last_updated_ms);
    Ok(response)
}

pub async fn update(
    State(state): State<AppState>,
    Path((resource_type, id)): Path<(String, String)>,
    headers: HeaderMap,
    Query(params): Params,
    body: Body,
) -> Result<Response, ApiError> {
    negotiate::check_accept(&headers, param(&params, "_format"))?;
    let resource = read_resource(&state, &headers, body, false).await?;
    check_body_type(&resource, &resource_type)?;
    let entry = Entry::Update { resource_type, id, resource, if_match: if_match(&headers) };
    let c = commit_one(&state, &headers, entry).await?;
    Ok(write_response(&state, &headers, &c))
}

pub async fn patch(
    State(state): State<AppState>,
    Path((resource_type, id)): Path<(String, String)>,
    headers: HeaderMap,
    Query(params): Params,
    body: Body,
) -> Result<Response, ApiError> {
    negotiate::check_accept(&headers, param(&params, "_format"))?;
    let patch = read_resource(&state, &headers, body, true).await?;
    let entry = Entry::Patch { resource_type, id, patch, if_match: if_match(&headers) };
    let c = commit_one(&state, &headers, entry).await?;
    Ok(write_response(&state, &headers, &c))
}

pub async fn delete(
    State(state): State<AppState>,
    Path((resource_type, id)): Path<(String, String)>,
    headers: HeaderMap,
    Query(params): Params,
) -> Result<Response, ApiError> {
    negotiate::check_accept(&headers, param(&params, "_format"))?;
    let entry = Entry::Delete { resource_type, id, if_match: if_match(&headers) };
    let c = commit_one(&state, &headers, entry).await?;
    if negotiate::prefer_return(&headers) == Return::OperationOutcome {
        return Ok(write_response(&state, &headers, &c));
    }
    let mut response = respond::empty(StatusCode::NO_CONTENT);
    respond::version_headers(&mut response, c.version, c.last_updated_ms);
    Ok(response)
}

const HISTORY_PARAMS: &[&str] = &["_since", "_at", "_count", "_cursor"];
const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 1000;

pub async fn history_system(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Params,
) -> Result<Response, ApiError> {
    history(state, headers, params, HistoryScope::System, "_history".into()).await
}

pub async fn history_type(
    State(state): State<AppState>,
    Path(resource_type): Path<String>,
    headers: HeaderMap,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let path = format!("{resource_type}/_history");
    history(state, headers, params, HistoryScope::Type(resource_type), path).await
}

pub async fn history_instance(
    State(state): State<AppState>,
    Path((resource_type, id)): Path<(String, String)>,
    headers: HeaderMap,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let path = format!("{resource_type}/{id}/_history");
    history(state, headers, params, HistoryScope::Instance { resource_type, id }, path).await
}

async fn history(
    state: AppState,
    headers: HeaderMap,
    params: Vec<(String, String)>,
    scope: HistoryScope,
    path: String,
) -> Result<Response, ApiError> {
    negotiate::check_accept(&headers, param(&params, "_format"))?;
    only_params(&params, HISTORY_PARAMS)?;
    let instant = |name: &str| -> Result<Option<i64>, ApiError> {
        param(&params, name)
            .map(|v| {
                clock::parse_fhir_instant(v).ok_or_else(|| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid",
                        format!("{name}={v} is not a FHIR instant or date (e.g. 2026-11-23T10:00:00Z)"),
                        None,
                    )
                })
            })
            .transpose()
    };
    let count = match param(&params, "_count") {
        None => DEFAULT_PAGE,
        Some(v) => v.parse::<usize>().map(|n| n.min(MAX_PAGE)).map_err(|_| {
            ApiError::bad_request(format!("_count={v} is not a number: give a page size from 0 to {MAX_PAGE}"))
        })?,
    };
    let before_seq = param(&params, "_cursor")
        .map(|v| v.parse::<i64>().map_err(|_| ApiError::bad_request(format!("_cursor={v} is not a cursor this server issued"))))
        .transpose()?;
    let query = HistoryQuery { scope, since_ms: instant("_since")?, at_ms: instant("_at")?, count, before_seq };
    let page = state.engine.history(&caller(&headers), query).await?;

    let base = state.base_url(&headers);
    let kept: Vec<(String, String)> = params.iter().filter(|(k, _)| k != "_cursor").cloned().collect();
    let url_with = |extra: Option<(String, String)>| {
        let mut pairs = kept.clone();
        pairs.extend(extra);
        let query = query_string(&pairs);
        if query.is_empty() { format!("{base}/{path}") } else { format!("{base}/{path}?{query}") }
    };
    let self_url = url_with(before_seq.map(|s| ("_cursor".to_string(), s.to_string())));
    let next_url = page.next_before_seq.map(|s| url_with(Some(("_cursor".to_string(), s.to_string()))));
    let body = bundle::history(&base, &self_url, next_url.as_deref(), page.total, &page.versions);
    Ok(respond::raw(StatusCode::OK, body))
}

pub async fn validate_type(
    State(state): State<AppState>,
    Path(resource_type): Path<String>,
    headers: HeaderMap,
    Query(params): Params,
    body: Body,
) -> Result<Response, ApiError> {
    validate(state, headers, params, resource_type, None, body).await
}

pub async fn validate_instance(
    State(state): State<AppState>,
    Path((resource_type, id)): Path<(String, String)>,
    headers: HeaderMap,
    Query(params): Params,
    body: Body,
) -> Result<Response, ApiError> {
    validate(state, headers, params, resource_type, Some(id), body).await
}

/// `$validate`: 200 with the OperationOutcome whether or not the resource is valid (the
/// operation itself succeeded); the body is the resource or a Parameters with `resource`.
async fn validate(
    state: AppState,
    headers: HeaderMap,
    params: Vec<(String, String)>,
    resource_type: String,
    id: Option<String>,
    body: Body,
) -> Result<Response, ApiError> {
    negotiate::check_accept(&headers, param(&params, "_format"))?;
    if !salus_fhir::r4().is_resource_type(&resource_type) {
        return Err(salus_engine::EngineError::UnknownResourceType(resource_type).into());
    }
    let mut resource = read_resource(&state, &headers, body, false).await?;
    if salus_fhir::resource::resource_type(&resource) == Some("Parameters") && resource_type != "Parameters" {
        resource = resource["parameter"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == "resource"))
            .and_then(|p| p.get("resource").cloned())
            .ok_or_else(|| ApiError::bad_request("the Parameters body has no `resource` parameter to validate"))?;
    }
    check_body_type(&resource, &resource_type)?;
    if let Some(id) = id
        && salus_fhir::resource::id(&resource) != Some(id.as_str()) {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid",
                format!("the resource's id must be `{id}`, as in the URL"),
                Some(&format!("{resource_type}.id")),
            ));
        }
    let report = state.engine.validate(&caller(&headers), &resource).await?;
    Ok(respond::json(StatusCode::OK, &report.outcome))
}
