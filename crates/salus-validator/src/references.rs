//! References: the format of `Reference.reference` (relative `Type/id`, absolute URL, `#id`
//! of a contained resource, `urn:uuid:`/`urn:oid:`), the type it points to against the
//! element's target profiles, and the resolution of local references to contained resources
//! (ref-1, and dom-3's "every contained resource is referenced").

use crate::outcome::IssueType;
use crate::primitives::{has_whitespace, is_id};
use crate::schema::{Elem, Schema};
use crate::walk::{Frame, LocalRef, Walker};
use serde_json::{Map, Value};

pub fn check_reference(w: &mut Walker, obj: &Map<String, Value>, elem: &'static Elem) {
    // A Reference has a handful of keys: reading them costs less than two hashed lookups.
    let (mut declared, mut reference) = (None, None);
    for (key, value) in obj {
        match key.as_str() {
            "type" => declared = value.as_str(),
            "reference" => reference = value.as_str(),
            _ => {}
        }
    }
    if let Some(t) = declared {
        // `type` is a uri; a bare name must be a resource type (logical models use URLs).
        if !t.contains(':') && w.schema.resource(t).is_none() {
            w.error_at(".type", IssueType::CodeInvalid, format!("'{t}' is not a FHIR R4 resource type"));
        } else if !t.contains(':') {
            check_target(w, t, elem, ".type");
        }
    }
    let Some(reference) = reference else { return };
    if let Some(local) = reference.strip_prefix('#') {
        record_local(w, ".reference", local, &elem.targets, true);
        return;
    }
    let target_type = match parse_reference(w.schema, reference) {
        Ok(t) => t,
        Err(msg) => {
            w.error_at(".reference", IssueType::Invalid, msg);
            return;
        }
    };
    if let Some(t) = target_type {
        if w.schema.resource(t).is_none() {
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
pub fn parse_reference<'r>(schema: &Schema, r: &'r str) -> Result<Option<&'r str>, String> {
    if has_whitespace(r) {
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
    let seps = Separators::of(r);
    if let Some(colon) = seps.colon {
        let absolute = r.as_bytes()[colon..].windows(3).position(|w| w == b"://");
        return match absolute {
            // Absolute: the RESTful tail `.../Type/id[/_history/vid]` names the type, if
            // present. Only an R4 type name is a claim about the target: other servers' URLs
            // may end in anything (`.../ig/vhdir/Network/x`).
            Some(i) => Ok(restful_type(&r[colon + i + 3..]).filter(|t| schema.resource(t).is_some())),
            None => Ok(None), // another absolute URI scheme (mailto:, ...)
        };
    }
    // Conditional reference in a transaction: `Patient?identifier=...`
    if let Some(q) = seps.query {
        let t = &r[..q];
        return if is_type_name(t) { Ok(Some(t)) } else { Err(format!("'{r}' is not a valid conditional reference")) };
    }
    // `Type/id` or `Type/id/_history/v`: one slash or three.
    let t = match seps.slashes[..seps.slash_count.min(4)] {
        [a] => Some((&r[..a], &r[a + 1..])).filter(|(t, id)| is_type_name(t) && is_id(id)).map(|(t, _)| t),
        [a, b, c] => {
            let (t, id, history, v) = (&r[..a], &r[a + 1..b], &r[b + 1..c], &r[c + 1..]);
            (history == "_history" && is_type_name(t) && is_id(id) && is_id(v)).then_some(t)
        }
        _ => None,
    };
    if let Some(t) = t {
        Ok(Some(t))
    } else {
        Err(format!(
            "'{r}' is not a valid reference: use Type/id, an absolute URL, #id for a contained resource or urn:uuid:"
        ))
    }
}

/// Where a reference's separators are, from one pass over its bytes (a reference is short:
/// the searchers `find` and `split` build cost more than the scan, and one scan beats three).
struct Separators {
    colon: Option<usize>,
    query: Option<usize>,
    /// The first four `/`, and how many there are.
    slashes: [usize; 4],
    slash_count: usize,
}

impl Separators {
    fn of(r: &str) -> Separators {
        let mut seps = Separators { colon: None, query: None, slashes: [0; 4], slash_count: 0 };
        for (i, b) in r.bytes().enumerate() {
            match b {
                b':' if seps.colon.is_none() => seps.colon = Some(i),
                b'?' if seps.query.is_none() => seps.query = Some(i),
                b'/' => {
                    if let Some(slot) = seps.slashes.get_mut(seps.slash_count) {
                        *slot = i;
                    }
                    seps.slash_count += 1;
                }
                _ => {}
            }
        }
        seps
    }
}

fn is_type_name(t: &str) -> bool {
    t.bytes().next().is_some_and(|c| c.is_ascii_uppercase()) && t.bytes().all(|c| c.is_ascii_alphanumeric())
}

/// The type of a RESTful URL path's last `Type/id` or `Type/id/_history/v` segments.
fn restful_type(path: &str) -> Option<&str> {
    let mut back = path.rsplit('/');
    // The last four segments, last first.
    match [back.next(), back.next(), back.next(), back.next()] {
        [_, Some("_history"), Some(id), Some(t)] if is_type_name(t) && is_id(id) => Some(t),
        [Some(id), Some(t), ..] if is_type_name(t) && is_id(id) => Some(t),
        _ => None,
    }
}

/// Notes a `#id` reference, at the current path plus `suffix`, for resolution when the
/// enclosing resource ends.
pub fn record_local(w: &mut Walker, suffix: &str, target: &str, targets: &'static [&'static str], must_resolve: bool) {
    let path = w.path.render(suffix);
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
    w.error_at_path(path, code, message);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `parse_reference` as it was written before it was made to scan each reference once:
    /// the oracle the faster version must agree with on every input.
    fn parse_reference_plainly(r: &str) -> Result<Option<&str>, String> {
        if r.chars().any(char::is_whitespace) {
            return Err(format!("the reference '{r}' contains whitespace"));
        }
        if let Some(rest) = r.strip_prefix("urn:") {
            if rest.starts_with("oid:") && crate::primitives::check(crate::primitives::Prim::Oid, &Value::String(r.to_string())).is_err() {
                return Err(format!("'{r}' is not a valid urn:oid:"));
            }
            return Ok(None);
        }
        if let Some(i) = r.find("://") {
            let segments: Vec<&str> = r[i + 3..].split('/').collect();
            let n = segments.len();
            let t = if n >= 4 && segments[n - 2] == "_history" && is_type_name(segments[n - 4]) && is_id(segments[n - 3]) {
                Some(segments[n - 4])
            } else if n >= 2 && is_type_name(segments[n - 2]) && is_id(segments[n - 1]) {
                Some(segments[n - 2])
            } else {
                None
            };
            return Ok(t.filter(|t| salus_fhir::r4().is_resource_type(t)));
        }
        if r.contains(':') {
            return Ok(None);
        }
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
            Err(format!("'{r}' is not a valid reference: use Type/id, an absolute URL, #id for a contained resource or urn:uuid:"))
        }
    }

    #[test]
    fn references_of_every_form_parse_as_before() {
        let schema = crate::schema();
        for r in [
            "Patient/1",
            "Patient/1/_history/2",
            "Patient/1/_history/2/x",
            "Patient/1/history/2",
            "Patient/",
            "/1",
            "Patient/a_b",
            "patient/1",
            "Foo/1",
            "Patient?identifier=a|b",
            "Patient?",
            "pat?x",
            "http://x.org/fhir/Patient/1",
            "http://x.org/fhir/Patient/1/_history/3",
            "http://x.org/fhir/Network/1",
            "https://a:b@x.org:8080/Observation/o.1",
            "mailto:a@b.org",
            "a:b://c/Patient/1",
            "urn:uuid:a76d9bbf-f293-4fb7-ad4c-2851cac77162",
            "urn:oid:1.2.3",
            "urn:oid:1.02",
            "Patient/1 ",
            "Patient/\u{a0}1",
            "",
            "/",
            "///",
            "Patient//_history/1",
        ] {
            assert_eq!(parse_reference(schema, r), parse_reference_plainly(r), "{r:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

        #[test]
        fn any_reference_parses_as_before(r in "(urn:|http://|[A-Za-z]{0,3}:)?([A-Za-z0-9._?:/ \u{a0}-]|Patient|_history|oid){0,8}") {
            prop_assert_eq!(parse_reference(crate::schema(), &r), parse_reference_plainly(&r));
        }
    }
}
