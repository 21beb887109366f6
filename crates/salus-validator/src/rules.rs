//! Rules that span more than one element, which the reference validator also implements in
//! code rather than as FHIRPath invariants: resource ids, the limits on contained resources,
//! Bundle entry identity and links, Attachment size, and the optional security and example-URL
//! checks.

use crate::outcome::IssueType;
use crate::{conformance, primitives};
use crate::walk::{Role, Walker};
use serde_json::{Map, Value};

/// Resource.id: the format is checked as an `id` by the walk; contained resources need one.
pub fn resource_id(w: &mut Walker, obj: &Map<String, Value>, role: Role) {
    if role == Role::Contained && !obj.contains_key("id") {
        w.error(IssueType::Required, "a contained resource must have an id (references to it use #id)");
    }
}

/// dom-2, dom-4, dom-5: what a contained resource may not carry.
pub fn contained_rules(w: &mut Walker, obj: &Map<String, Value>, _type_name: &str) {
    if obj.contains_key("contained") {
        w.error_at(".contained", IssueType::Invariant, "dom-2: a contained resource must not contain resources");
    }
    if let Some(meta) = obj.get("meta").and_then(Value::as_object) {
        if meta.contains_key("versionId") || meta.contains_key("lastUpdated") {
            w.error_at(".meta", IssueType::Invariant, "dom-4: a contained resource must not have meta.versionId or meta.lastUpdated");
        }
        if meta.contains_key("security") {
            w.error_at(".meta.security", IssueType::Invariant, "dom-5: a contained resource must not have a security label");
        }
    }
}

/// Checks that depend on the resource type, run after its content was walked.
pub fn resource_rules(w: &mut Walker, obj: &Map<String, Value>, type_name: &str) {
    match type_name {
        "Bundle" => bundle(w, obj),
        "SearchParameter" => conformance::search_parameter(w, obj),
        "CapabilityStatement" => conformance::capability_statement(w, obj),
        "StructureDefinition" => conformance::structure_definition(w, obj),
        _ => {}
    }
}

fn bundle(w: &mut Walker, obj: &Map<String, Value>) {
    if let Some(Value::Array(links)) = obj.get("link") {
        for (i, link) in links.iter().enumerate() {
            let Some(rel) = link.get("relation").and_then(Value::as_str) else { continue };
            let first = links.iter().position(|l| l.get("relation").and_then(Value::as_str) == Some(rel));
            if first != Some(i) {
                w.error_at(&format!(".link[{i}]"), IssueType::Invalid, format!("the link relation '{rel}' can only occur once"));
            }
        }
    }
    let Some(Value::Array(entries)) = obj.get("entry") else { return };
    if matches!(obj.get("type").and_then(Value::as_str), Some("document" | "message")) {
        bundle_references(w, entries);
    }
    for (i, entry) in entries.iter().enumerate() {
        let Some(full_url) = entry.get("fullUrl").and_then(Value::as_str) else { continue };
        let at = format!(".entry[{i}].fullUrl");
        if !has_scheme(full_url) {
            w.error_at(&at, IssueType::Invalid, format!("the fullUrl must be an absolute URL (not '{full_url}')"));
            continue;
        }
        // A RESTful fullUrl (`http://server/fhir/Patient/1`) must end with the resource's type and id.
        let resource = entry.get("resource");
        let rt = resource.and_then(|r| r.get("resourceType")).and_then(Value::as_str);
        let id = resource.and_then(|r| r.get("id")).and_then(Value::as_str);
        if let (Some(rt), Some(id), false) = (rt, id, full_url.starts_with("urn:")) {
            let segments: Vec<&str> = full_url.split('/').collect();
            let n = segments.len();
            let (t, tid) = (segments[n.saturating_sub(2)], segments[n - 1]);
            if w.defs.is_resource_type(t) && (t != rt || tid != id) {
                w.error_at(
                    &at,
                    IssueType::Invalid,
                    format!("the fullUrl '{full_url}' looks like a RESTful URL, so it must end with the resource's type and id ({rt}/{id})"),
                );
            }
        }
    }
}

fn has_scheme(s: &str) -> bool {
    match s.find(':') {
        Some(i) if i > 0 => {
            let scheme = &s[..i];
            scheme.as_bytes()[0].is_ascii_alphabetic()
                && scheme.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
        }
        _ => false,
    }
}

/// Attachment: the stated size must be that of the data (att-1's companion rule in the spec:
/// "size: number of bytes of content (if url provided)" - a mismatch means a truncated upload).
pub fn attachment(w: &mut Walker, obj: &Map<String, Value>) {
    let Some(data) = obj.get("data").and_then(Value::as_str) else { return };
    let Some(size) = obj.get("size").and_then(Value::as_u64) else { return };
    if let Ok(bytes) = primitives::decode_base64(data)
        && bytes.len() as u64 != size {
            w.error(
                IssueType::Structure,
                format!("the stated attachment size {size} does not match the actual size of the data ({})", bytes.len()),
            );
        }
}

/// Looks like an HTML tag: `<` then a letter or `/` and, later, `>`.
fn has_html_tag(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter().enumerate().any(|(i, &c)| {
        c == b'<' && b.get(i + 1).is_some_and(|n| n.is_ascii_alphabetic() || *n == b'/') && b[i..].contains(&b'>')
    })
}

/// With security checks on: strings must not carry markup that a careless display would run.
pub fn security_string(w: &mut Walker, s: &str) {
    if has_html_tag(s) {
        w.error(IssueType::Security, "the string contains text that looks like embedded HTML tags, which are not allowed for security reasons");
    }
}

pub fn markdown_html(w: &mut Walker, s: &str) {
    if has_html_tag(s) {
        w.error(IssueType::Invalid, "the markdown contains content that appears to be an embedded HTML tag");
    }
}

/// URLs on the documentation domains (example.org and friends), refused when the options say
/// that examples are not acceptable (a production profile).
pub fn is_example_url(s: &str) -> bool {
    let Some(rest) = s.split_once("://").map(|(_, r)| r) else { return false };
    let host = rest.split(['/', ':', '?', '#']).next().unwrap_or("");
    ["example.org", "example.com", "example.net", "acme.com", "acme.org"]
        .iter()
        .any(|d| host == *d || host.ends_with(&format!(".{d}")))
}

/// In a document or message (content meant to stand alone), a relative reference must not be
/// ambiguous, and a versioned one must find its version: resolution follows the spec's rule
/// (the entry's fullUrl base + `Type/id`), and entries sharing that URL differ by versionId.
fn bundle_references(w: &mut Walker, entries: &[Value]) {
    let full_urls: Vec<(Option<&str>, Option<&str>)> = entries
        .iter()
        .map(|e| {
            let url = e.get("fullUrl").and_then(Value::as_str);
            let version = e.pointer("/resource/meta/versionId").and_then(Value::as_str);
            (url, version)
        })
        .collect();
    for (i, entry) in entries.iter().enumerate() {
        let Some(resource) = entry.get("resource") else { continue };
        let base = entry
            .get("fullUrl")
            .and_then(Value::as_str)
            .and_then(|u| restful_base(u))
            .unwrap_or("");
        let mut refs = Vec::new();
        collect_references(resource, &mut String::new(), &mut refs);
        for (path, reference) in refs {
            let (target, version) = match reference.split_once("/_history/") {
                Some((t, v)) => (t, Some(v)),
                None => (reference, None),
            };
            if target.contains(':') || target.starts_with('#') || target.split('/').count() != 2 || base.is_empty() {
                continue;
            }
            let url = format!("{base}{target}");
            let matches: Vec<usize> =
                (0..full_urls.len()).filter(|&j| full_urls[j].0 == Some(url.as_str())).collect();
            let at = format!(".entry[{i}].resource{path}");
            match version {
                Some(v) if !matches.is_empty() && !matches.iter().any(|&j| full_urls[j].1 == Some(v)) => w.error_at(
                    &at,
                    IssueType::NotFound,
                    format!("'{reference}' is not in the bundle: {} entries have that URL, none with versionId {v}", matches.len()),
                ),
                None if matches.len() > 1 => w.error_at(
                    &at,
                    IssueType::Invalid,
                    format!("'{reference}' is ambiguous: {} entries of the bundle have the URL {url} (use a versioned reference)", matches.len()),
                ),
                _ => {}
            }
        }
    }
}

/// `http://server/fhir/` of `http://server/fhir/Patient/1`.
fn restful_base(url: &str) -> Option<&str> {
    let mut it = url.rmatch_indices('/');
    let (_, _) = it.next()?;
    let (i, _) = it.next()?;
    Some(&url[..=i])
}

/// Every `reference` string under a resource, with its path (JSON names, `[i]` indexes).
fn collect_references<'v>(v: &'v Value, path: &mut String, out: &mut Vec<(String, &'v str)>) {
    match v {
        Value::Object(o) => {
            if let Some(Value::String(r)) = o.get("reference") {
                out.push((format!("{path}.reference"), r.as_str()));
            }
            for (k, child) in o {
                if k == "contained" || k == "reference" {
                    continue;
                }
                let len = path.len();
                path.push('.');
                path.push_str(k);
                collect_references(child, path, out);
                path.truncate(len);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                collect_references(child, path, out);
                path.truncate(len);
            }
        }
        _ => {}
    }
}
