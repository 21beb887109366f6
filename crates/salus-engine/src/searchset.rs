//! Writing result Bundles from stored versions: the `searchset` of a search (over REST, and as
//! the answer to a search entry of a batch or transaction Bundle) and the splicing every
//! result Bundle uses. Stored bodies are already JSON, so entries are spliced in as bytes
//! instead of being parsed and serialised again: a page costs one copy of each resource.

use crate::{SearchResult, StoredVersion};
use serde_json::{Value, json};

/// A `searchset` Bundle of `result`: links (`self`, `next`) under `endpoint`, the matches, the
/// included resources, and an OperationOutcome of ignored parameters.
pub fn searchset(base: &str, endpoint: &str, params: &[(String, String)], result: &SearchResult) -> Vec<u8> {
    let query = query_string(params);
    let self_url = if query.is_empty() { endpoint.to_string() } else { format!("{endpoint}?{query}") };
    let mut links = vec![json!({"relation": "self", "url": self_url})];
    if let Some(next) = &result.next {
        let token = query_string(&[("_cursor".to_string(), next.clone())]);
        links.push(json!({"relation": "next", "url": format!("{endpoint}?{token}")}));
    }
    let mut head = json!({ "resourceType": "Bundle", "type": "searchset", "link": links });
    if let Some(total) = result.total {
        head["total"] = json!(total);
    }
    fn entry<'a>(base: &str, mode: &str, v: &'a StoredVersion) -> (Value, Option<&'a [u8]>) {
        let meta = json!({ "fullUrl": format!("{base}/{}/{}", v.resource_type, v.id), "search": { "mode": mode } });
        (meta, v.body.as_deref())
    }
    let outcome = (!result.issues.is_empty()).then(|| {
        let issues: Vec<_> =
            result.issues.iter().map(|m| json!({"severity": "warning", "code": "not-supported", "diagnostics": m})).collect();
        json!({ "resource": {"resourceType": "OperationOutcome", "issue": issues}, "search": {"mode": "outcome"} })
    });
    let entries = result
        .matches
        .iter()
        .map(|v| entry(base, "match", v))
        .chain(result.included.iter().map(|v| entry(base, "include", v)))
        .chain(outcome.into_iter().map(|o| (o, None)));
    assemble(&head, entries)
}

/// Writes `head` with an `entry` array whose items are `meta` objects plus, where present,
/// the raw resource bytes as `resource`.
pub fn assemble<'a>(head: &Value, entries: impl Iterator<Item = (Value, Option<&'a [u8]>)>) -> Vec<u8> {
    let mut out = serde_json::to_vec(head).unwrap_or_default();
    out.pop(); // reopen the object
    out.extend_from_slice(b",\"entry\":[");
    for (i, (meta, resource)) in entries.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let mut entry = serde_json::to_vec(&meta).unwrap_or_default();
        if let Some(resource) = resource {
            entry.pop();
            // `fullUrl` first, then `resource`, as the spec's examples order them.
            entry.extend_from_slice(b",\"resource\":");
            entry.extend_from_slice(resource);
            entry.push(b'}');
        }
        out.extend_from_slice(&entry);
    }
    out.extend_from_slice(b"]}");
    out
}

/// A query string of `pairs`, each part percent-encoded.
pub fn query_string(pairs: &[(String, String)]) -> String {
    pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&")
}

/// Percent-encodes a query component (RFC 3986 unreserved characters pass).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assembled_bundles_are_valid_json_with_the_raw_resources() {
        let head = json!({"resourceType": "Bundle", "type": "searchset"});
        let body = br#"{"resourceType":"Patient","id":"a"}"#;
        let bytes = assemble(&head, vec![(json!({"fullUrl": "x"}), Some(&body[..])), (json!({"fullUrl": "y"}), None)].into_iter());
        let parsed: Value = serde_json::from_slice(&bytes).expect("valid JSON");
        assert_eq!(parsed["entry"][0]["resource"]["id"], "a");
        assert_eq!(parsed["entry"][1]["fullUrl"], "y");
        assert!(parsed["entry"][1].get("resource").is_none());
    }

    #[test]
    fn an_empty_page_has_an_empty_entry_list() {
        let bytes = assemble(&json!({"resourceType": "Bundle"}), std::iter::empty());
        let parsed: Value = serde_json::from_slice(&bytes).expect("valid JSON");
        assert_eq!(parsed["entry"], json!([]));
    }
}
