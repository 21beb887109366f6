//! Content negotiation and request preferences: which format the client accepts (`Accept`,
//! `_format`), what it sends (`Content-Type`), and what it prefers back (`Prefer`).
//! Salus speaks FHIR JSON; XML requests get a 406/415 that says so.

use crate::outcome::ApiError;
use axum::http::{HeaderMap, StatusCode, header};

const JSON_ONLY: &str = "this server speaks FHIR JSON only: ask for application/fhir+json (or _format=json)";

/// Checks `_format` (which wins) or else `Accept`. Anything that admits JSON is fine.
pub fn check_accept(headers: &HeaderMap, format: Option<&str>) -> Result<(), ApiError> {
    if let Some(format) = format {
        let f = format.trim().to_ascii_lowercase();
        return if matches!(f.as_str(), "json" | "application/json" | "application/fhir+json")
            || f.starts_with("application/fhir+json;")
            || f.starts_with("application/json;")
        {
            Ok(())
        } else {
            Err(ApiError::new(StatusCode::NOT_ACCEPTABLE, "not-supported", format!("_format={format}: {JSON_ONLY}"), None))
        };
    }
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else { return Ok(()) };
    let admits_json = accept.split(',').any(|part| {
        let media = part.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        matches!(media.as_str(), "" | "*/*" | "application/*" | "application/json" | "application/fhir+json" | "json")
    });
    if admits_json {
        Ok(())
    } else {
        Err(ApiError::new(StatusCode::NOT_ACCEPTABLE, "not-supported", format!("Accept: {accept}: {JSON_ONLY}"), None))
    }
}

/// Checks that a request body is JSON (`application/fhir+json` or `application/json`), or,
/// when `patch` is set, a JSON Patch document.
pub fn check_content_type(headers: &HeaderMap, patch: bool) -> Result<(), ApiError> {
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
    let Some(media) = media else {
        return Ok(()); // lenient: a missing Content-Type is read as JSON
    };
    let ok = if patch {
        media == "application/json-patch+json"
    } else {
        matches!(media.as_str(), "application/fhir+json" | "application/json" | "application/json+fhir")
    };
    if ok {
        return Ok(());
    }
    let expected = if patch {
        "PATCH takes a JSON Patch document: send Content-Type: application/json-patch+json"
    } else {
        JSON_ONLY
    };
    Err(ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "not-supported", format!("Content-Type {media}: {expected}"), None))
}

/// What the client wants back after a write (`Prefer: return=...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Return {
    Minimal,
    Representation,
    OperationOutcome,
}

pub fn prefer_return(headers: &HeaderMap) -> Return {
    for value in headers.get_all("prefer").iter().filter_map(|v| v.to_str().ok()) {
        for part in value.split([',', ';']) {
            match part.trim().to_ascii_lowercase().as_str() {
                "return=minimal" => return Return::Minimal,
                "return=operationoutcome" => return Return::OperationOutcome,
                "return=representation" => return Return::Representation,
                _ => {}
            }
        }
    }
    Return::Representation
}

/// The version named by an `If-Match` / `If-None-Match` ETag: `W/"3"` or `"3"` give `3`.
pub fn etag_version(value: &str) -> String {
    let v = value.trim();
    let v = v.strip_prefix("W/").unwrap_or(v);
    v.trim_matches('"').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(name: &'static str, value: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_static(value));
        h
    }

    #[test]
    fn json_and_wildcards_are_acceptable_and_xml_is_not() {
        assert!(check_accept(&headers("accept", "application/fhir+json"), None).is_ok());
        assert!(check_accept(&headers("accept", "text/html, */*;q=0.1"), None).is_ok());
        assert!(check_accept(&HeaderMap::new(), None).is_ok());
        let xml = check_accept(&headers("accept", "application/fhir+xml"), None);
        assert_eq!(xml.map_err(|e| e.status), Err(StatusCode::NOT_ACCEPTABLE));
    }

    #[test]
    fn format_parameter_overrides_accept() {
        let h = headers("accept", "application/fhir+xml");
        assert!(check_accept(&h, Some("json")).is_ok());
        assert!(check_accept(&HeaderMap::new(), Some("xml")).is_err());
    }

    #[test]
    fn prefer_return_is_read_from_the_header() {
        assert_eq!(prefer_return(&headers("prefer", "return=minimal")), Return::Minimal);
        assert_eq!(prefer_return(&headers("prefer", "return=OperationOutcome")), Return::OperationOutcome);
        assert_eq!(prefer_return(&HeaderMap::new()), Return::Representation);
    }

    #[test]
    fn etags_give_their_version() {
        assert_eq!(etag_version("W/\"3\""), "3");
        assert_eq!(etag_version("\"12\""), "12");
    }
}
