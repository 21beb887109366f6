//! Assembling Bundles from stored versions. Stored bodies are already JSON, so entries are
//! spliced in as bytes instead of being parsed and serialised again: a history or search page
//! costs one copy of each resource.

use salus_engine::{StoredVersion, clock};
use serde_json::{Value, json};

/// A `history` Bundle: each version with its request and response, newest first.
pub fn history(base: &str, self_url: &str, next_url: Option<&str>, total: u64, versions: &[StoredVersion]) -> Vec<u8> {
    let mut links = vec![json!({"relation": "self", "url": self_url})];
    if let Some(next) = next_url {
        links.push(json!({"relation": "next", "url": next}));
    }
    let head = json!({
        "resourceType": "Bundle",
        "type": "history",
        "total": total,
        "link": links,
    });
    let entries = versions.iter().map(|v| {
        let url = format!("{base}/{}/{}", v.resource_type, v.id);
        let (method, status) = match (v.deleted, v.version) {
            (true, _) => ("DELETE", "204 No Content".to_string()),
            (false, 1) => ("POST", "201 Created".to_string()),
            (false, _) => ("PUT", "200 OK".to_string()),
        };
        let request_url = if method == "POST" { v.resource_type.clone() } else { format!("{}/{}", v.resource_type, v.id) };
        let meta = json!({
            "fullUrl": url,
            "request": {"method": method, "url": request_url},
            "response": {
                "status": status,
                "etag": format!("W/\"{}\"", v.version),
                "lastModified": clock::format_instant(v.last_updated_ms),
            },
        });
        (meta, v.body.as_deref())
    });
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
