//! References: the format of `Reference.reference` (relative `Type/id`, absolute URL, `#id`
//! of a contained resource, `urn:uuid:`/`urn:oid:`), the type it points to against the
//! element's target profiles, and the resolution of local references to contained resources
//! (ref-1, and dom-3's "every contained resource is referenced").

use crate::outcome::IssueType;
use crate::primitives::is_id;
use crate::schema::Elem;
use crate::walk::{Frame, LocalRef, Walker};
use serde_json::{Map, Value};

pub fn check_reference(w: &mut Walker, obj: &Map<String, Value>, elem: &'static Elem) {
    let declared = obj.get("type").and_then(Value::as_str);
    if let Some(t) = declared {
        // `type` is a uri; a bare name must be a resource type (logical models use URLs).
        if !t.contains(':') && !w.defs.is_resource_type(t) {
            w.error_at(".type", IssueType::CodeInvalid, format!("'{t}' is not a FHIR R4 resource type"));
        } else if !t.contains(':') {
            check_target(w, t, elem, ".type");
        }
    }
    let Some(reference) = obj.get("reference").and_then(Value::as_str) else { return };
    if let Some(local) = reference.strip_prefix('#') {
        let len = w.path.len();
        w.path.push_str(".reference");
        record_local(w, local, &elem.targets, true);
        w.path.truncate(len);
        return;
    }
    let target_type = match parse_reference(reference) {
        Ok(t) => t,
        Err(msg) => {
            w.error_at(".reference", IssueType::Invalid, msg);
            return;
        }
    };
    if let Some(t) = target_type {
        if !w.defs.is_resource_type(t) {
            w.error_at(".reference", IssueType::Invalid, format!("'{reference}': '{t}' is not a FHIR R4 resource type"));
            return;
        }
        if declared.is_some_and(|d| !d.contains(':') && d != t) {
            w.error_at(
                ".type",
                IssueType::Invalid,
                format!("the type '{}' does not match the reference '{reference}'", declared.unwrap_or_default()),
            );
        }
        check_target(w, t, elem, ".reference");
    }
}

fn check_target(w: &mut Walker, t: &str, elem: &'static Elem, suffix: &str) {
    if elem.targets.is_empty() || elem.targets.contains(&t) {
        return;
    }
    w.error_at(
        suffix,
        IssueType::Structure,
        format!("{} may refer to {}, not to a {t}", elem.path, elem.targets.join(", ")),
    );
}

/// Checks the syntax of a non-local reference; returns the resource type it names when the
/// form says (`Patient/1`, `http://x/fhir/Patient/1`, `Patient?identifier=...`).
pub fn parse_reference(r: &str) -> Result<Option<&str>, String> {
    if r.chars().any(char::is_whitespace) {
        return Err(format!("the reference '{r}' contains whitespace"));
    }
    if let Some(rest) = r.strip_prefix("urn:") {
        // `urn:uuid:` references name a Bundle entry's fullUrl, which is a uri: its UUID form
        // is not enforced there, so it is not here either (the reference validator agrees).
        if rest.starts_with("oid:") && crate::primitives::check(crate::primitives::Prim::Oid, &Value::String(r.to_string())).is_err() {
            return Err(format!("'{r}' is not a valid urn:oid:"));
        }
        return Ok(None);
    }
    if let Some(i) = r.find("://") {
        // Absolute: the RESTful tail `.../Type/id[/_history/vid]` names the type, if present.
        let path = &r[i + 3..];
        let segments: Vec<&str> = path.split('/').collect();
        // Only an R4 type name is a claim about the target: other servers' URLs may end in
        // anything (`.../ig/vhdir/Network/x`).
        return Ok(restful_type(&segments).filter(|t| salus_fhir::r4().is_resource_type(t)));
    }
    if r.contains(':') {
        return Ok(None); // another absolute URI scheme (mailto:, ...)
    }
    // Conditional reference in a transaction: `Patient?identifier=...`
    if let Some((t, _query)) = r.split_once('?') {
        return if is_type_name(t) { Ok(Some(t)) } else { Err(format!("'{r}' is not a valid conditional reference")) };
    }
    let segments: Vec<&str> = r.split('/').collect();
    let ok = match segments.as_slice() {
        [t, id] => is_type_name(t) && is_id(id),
        [t, id, "_history", v] => is_type_name(t) && is_id(id) && is_id(v),
        _ => false,
    };
    if ok {
        Ok(Some(segments[0]))
    } else {
        Err(format!(
            "'{r}' is not a valid reference: use Type/id, an absolute URL, #id for a contained resource or urn:uuid:"
        ))
    }
}

fn is_type_name(t: &str) -> bool {
    t.bytes().next().is_some_and(|c| c.is_ascii_uppercase()) && t.bytes().all(|c| c.is_ascii_alphanumeric())
}

/// The type of a RESTful URL's last `Type/id` or `Type/id/_history/v` segments.
fn restful_type<'a>(segments: &[&'a str]) -> Option<&'a str> {
    let n = segments.len();
    if n >= 4 && segments[n - 2] == "_history" && is_type_name(segments[n - 4]) && is_id(segments[n - 3]) {
        return Some(segments[n - 4]);
    }
    if n >= 2 && is_type_name(segments[n - 2]) && is_id(segments[n - 1]) {
        return Some(segments[n - 2]);
    }
    None
}

/// Notes a `#id` reference for resolution when the enclosing resource ends.
pub fn record_local(w: &mut Walker, target: &str, targets: &'static [&'static str], must_resolve: bool) {
    let path = w.path.clone();
    if let Some(frame) = w.frames.last_mut() {
        let from_contained = frame.current_contained;
        frame.local_refs.push(LocalRef { target: target.to_string(), path, from_contained, targets, must_resolve });
    }
}

/// At the end of a resource: every `#id` must name a contained resource (ref-1), and every
/// contained resource must be referenced from the resource or refer to it (dom-3).
pub fn resolve_local(w: &mut Walker, frame: Frame) {
    let mut referenced = vec![false; frame.contained.len()];
    for r in &frame.local_refs {
        if r.target.is_empty() {
            // `#` is the container itself: the contained resource that says it is referenced.
            if let Some(i) = r.from_contained {
                referenced[i] = true;
            }
            continue;
        }
        match frame.contained.iter().position(|(id, _, _)| *id == r.target) {
            Some(i) => {
                if r.from_contained != Some(i) {
                    referenced[i] = true;
                }
                let t = frame.contained[i].1;
                if !r.targets.is_empty() && !r.targets.contains(&t) {
                    push(w, &r.path, IssueType::Structure, format!("this reference may refer to {}, not to a {t}", r.targets.join(", ")));
                }
            }
            None if !r.must_resolve => {}
            None => push(
                w,
                &r.path,
                IssueType::Invariant,
                format!("ref-1: no contained resource has the id '{}' this local reference names", r.target),
            ),
        }
    }
    for (i, (id, _, path)) in frame.contained.iter().enumerate() {
        if !referenced[i] {
            let msg = format!(
                "dom-3: the contained resource '{id}' is not referenced from elsewhere in the resource nor does it refer to the containing resource"
            );
            push(w, path, IssueType::Invariant, msg);
        }
    }
}

fn push(w: &mut Walker, path: &str, code: IssueType, message: String) {
    let saved = std::mem::replace(&mut w.path, path.to_string());
    w.error(code, message);
    w.path = saved;
}
