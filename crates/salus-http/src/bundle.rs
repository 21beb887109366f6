//! History Bundles from stored versions, spliced as bytes by the engine's `assemble` (which
//! also writes searchsets, see `salus_engine::searchset`).

use salus_engine::{StoredVersion, assemble, clock};
use serde_json::json;

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
