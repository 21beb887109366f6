//! Building FHIR responses: JSON bodies with the FHIR media type, and the version headers
//! (`ETag`, `Last-Modified`, `Location`) every read and write carries.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use salus_engine::clock;
use serde_json::Value;

pub const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";

pub fn json(status: StatusCode, value: &Value) -> Response {
    raw(status, serde_json::to_vec(value).unwrap_or_default())
}

/// A response whose body is JSON bytes already (a stored resource, an assembled bundle).
pub fn raw(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    response
}

pub fn empty(status: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
}

/// Adds `ETag: W/"n"` and `Last-Modified` for a version.
pub fn version_headers(response: &mut Response, version: u64, last_updated_ms: i64) {
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!("W/\"{version}\"")) {
        headers.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&clock::format_http_date(last_updated_ms)) {
        headers.insert(header::LAST_MODIFIED, v);
    }
}

pub fn location(response: &mut Response, url: &str) {
    if let Ok(v) = HeaderValue::from_str(url) {
        response.headers_mut().insert(header::LOCATION, v.clone());
        response.headers_mut().insert(header::CONTENT_LOCATION, v);
    }
}
