//! Search over HTTP: `GET /fhir/Type?...`, `POST /fhir/Type/_search` (form body), system
//! search `GET /fhir?_type=...` and compartment search `GET /fhir/Patient/ID/Type?...`. The
//! engine does the searching; this module reads the request and writes the searchset Bundle.

use crate::outcome::ApiError;
use crate::rest::Params;
use crate::{AppState, body, negotiate, respond};
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use salus_engine::{Caller, SearchRequest};
pub(crate) use salus_engine::searchset;

/// Parameters that shape the response rather than select resources.
const FORMAT_PARAMS: &[&str] = &["_format", "_pretty"];

fn lenient(headers: &HeaderMap) -> bool {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split([',', ';']).any(|p| p.trim().eq_ignore_ascii_case("handling=lenient")))
}

pub async fn search_type(
    State(state): State<AppState>,
    Path(resource_type): Path<String>,
    headers: HeaderMap,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let path = resource_type.clone();
    run(state, headers, Some(resource_type), None, params, path).await
}

pub async fn search_system(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Params,
) -> Result<Response, ApiError> {
    run(state, headers, None, None, params, String::new()).await
}

pub async fn search_compartment(
    State(state): State<AppState>,
    Path((compartment, id, resource_type)): Path<(String, String, String)>,
    headers: HeaderMap,
    Query(params): Params,
) -> Result<Response, ApiError> {
    let path = format!("{compartment}/{id}/{resource_type}");
    let resource_type = if resource_type == "*" { None } else { Some(resource_type) };
    run(state, headers, resource_type, Some((compartment, id)), params, path).await
}

/// `POST /fhir/Type/_search`: parameters in an `application/x-www-form-urlencoded` body (and
/// possibly the URL), so that long or sensitive criteria stay out of URLs and logs.
pub async fn search_post(
    State(state): State<AppState>,
    Path(resource_type): Path<String>,
    headers: HeaderMap,
    Query(mut params): Params,
    body: Body,
) -> Result<Response, ApiError> {
    let media = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    if !media.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded") {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not-supported",
            "POST _search takes its parameters as application/x-www-form-urlencoded",
            None,
        ));
    }
    let bytes = body::read_limited(body, state.max_body_bytes).await?;
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes)
        .map_err(|e| ApiError::bad_request(format!("the form body could not be read: {e}")))?;
    params.extend(form);
    let path = resource_type.clone();
    run(state, headers, Some(resource_type), None, params, path).await
}

async fn run(
    state: AppState,
    headers: HeaderMap,
    resource_type: Option<String>,
    compartment: Option<(String, String)>,
    params: Vec<(String, String)>,
    path: String,
) -> Result<Response, ApiError> {
    let format = params.iter().find(|(k, _)| k == "_format").map(|(_, v)| v.as_str());
    negotiate::check_accept(&headers, format)?;
    let search_params: Vec<(String, String)> =
        params.iter().filter(|(k, _)| !FORMAT_PARAMS.contains(&k.as_str())).cloned().collect();
    let request = SearchRequest { resource_type, compartment, params: search_params.clone(), lenient: lenient(&headers) };
    let result = state.engine.search(&Caller::system(), request).await?;
    let base = state.base_url(&headers);
    let endpoint = if path.is_empty() { base.clone() } else { format!("{base}/{path}") };
    Ok(respond::raw(StatusCode::OK, searchset(&base, &endpoint, &search_params, &result)))
}

/// `POST /fhir` with a batch or transaction Bundle.
pub async fn bundle(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Params,
    body: Body,
) -> Result<Response, ApiError> {
    let format = params.iter().find(|(k, _)| k == "_format").map(|(_, v)| v.as_str());
    negotiate::check_accept(&headers, format)?;
    negotiate::check_content_type(&headers, false)?;
    let bytes = body::read_limited(body, state.max_body_bytes).await?;
    let bundle = body::parse_json(&bytes)?;
    let response = state.engine.process_bundle(&Caller::system(), bundle, &state.base_url(&headers)).await?;
    Ok(respond::json(StatusCode::OK, &response))
}
