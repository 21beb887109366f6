//! Reading request bodies: a size limit that answers 413, and JSON parsing whose errors give
//! the line and column.

use crate::outcome::ApiError;
use axum::body::Body;
use axum::http::StatusCode;
use serde_json::Value;

/// Reads at most `limit` bytes; a larger body is refused with 413 before it is parsed.
pub async fn read_limited(body: Body, limit: usize) -> Result<Vec<u8>, ApiError> {
    match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => Ok(bytes.to_vec()),
        Err(e) => {
            let too_large = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            if too_large {
                Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too-long",
                    format!("the request body is larger than this server's limit of {limit} bytes"),
                    None,
                ))
            } else {
                Err(ApiError::bad_request(format!("the request body could not be read: {e}")))
            }
        }
    }
}

/// Parses a JSON body with FHIR's JSON rules (duplicate keys refused, a UTF-8 byte-order mark
/// accepted, numbers kept with their digits); errors give the line and column.
pub fn parse_json(bytes: &[u8]) -> Result<Value, ApiError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("the request has no body: send a FHIR resource as JSON"));
    }
    salus_validator::parse_json(bytes).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "structure",
            format!("the body is not valid JSON: {} at line {}, column {}", e.message, e.line, e.column),
            None,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_json_reports_line_and_column() {
        let err = parse_json(b"{\n  \"resourceType\": \"Patient\",\n  oops\n}").expect_err("malformed");
        let message = err.outcome["issue"][0]["diagnostics"].as_str().unwrap_or_default().to_string();
        assert!(message.contains("line 3, column 3"), "{message}");
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
    }

    #[test]
    fn duplicate_keys_are_refused() {
        let err = parse_json(br#"{"resourceType":"Patient","gender":"male","gender":"female"}"#).expect_err("duplicate");
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
    }

    #[test]
    fn a_byte_order_mark_is_accepted() {
        assert!(parse_json(b"\xEF\xBB\xBF{\"resourceType\":\"Patient\"}").is_ok());
    }

    #[test]
    fn an_empty_body_is_a_clear_error() {
        assert!(parse_json(b"  ").is_err());
    }
}
