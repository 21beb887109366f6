//! Resources are kept as `serde_json::Value` (with `preserve_order` and `arbitrary_precision`,
//! so `1.50` stays `1.50` and element order survives a round trip). These accessors read the
//! few elements every layer needs without a generated model.

use serde_json::Value;

/// `resourceType` of a resource value, if it is an object that has one.
pub fn resource_type(resource: &Value) -> Option<&str> {
    resource.get("resourceType")?.as_str()
}

pub fn id(resource: &Value) -> Option<&str> {
    resource.get("id")?.as_str()
}

pub fn version_id(resource: &Value) -> Option<&str> {
    resource.get("meta")?.get("versionId")?.as_str()
}

/// Whether `id` satisfies the FHIR `id` datatype: 1-64 of `A-Z a-z 0-9 - .`.
pub fn is_valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_ids_are_1_to_64_of_the_allowed_characters() {
        assert!(is_valid_id("example-1.a"));
        assert!(is_valid_id(&"a".repeat(64)));
        assert!(!is_valid_id(""));
        assert!(!is_valid_id(&"a".repeat(65)));
        assert!(!is_valid_id("a_b"));
        assert!(!is_valid_id("a/b"));
    }

    #[test]
    fn accessors_read_type_id_and_version() {
        let r = serde_json::json!({"resourceType": "Patient", "id": "p1", "meta": {"versionId": "3"}});
        assert_eq!(resource_type(&r), Some("Patient"));
        assert_eq!(id(&r), Some("p1"));
        assert_eq!(version_id(&r), Some("3"));
        assert_eq!(resource_type(&serde_json::json!([1])), None);
    }
}
