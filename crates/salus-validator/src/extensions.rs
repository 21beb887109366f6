//! Extensions. The generic shape (url, value[x] xor nested extensions) applies to all; an
//! extension the base specification defines (393 core definitions) is also checked against
//! its definition: allowed value types, nested extension slices, where it may be used
//! (context), and whether it is a modifier.
//!
//! Unknown extensions: FHIR lets any implementation define extensions, and real data carries
//! them (US Core's race and ethnicity in every Synthea patient), so an extension whose URL is
//! outside the core namespace is accepted by default ([`UnknownExtensions::Allow`]). A URL *in*
//! the core namespace `http://hl7.org/fhir/StructureDefinition/` that R4 does not define is an
//! error: HL7 controls that namespace, so such a URL is a typo or an extension of another FHIR
//! version, and storing it would store data no R4 reader can interpret.

use crate::outcome::{IssueType, Severity};
use crate::schema::capitalise;
use crate::walk::{Ctx, Walker};
use crate::{UnknownExtensions, rules};
use salus_fhir::TypeDef;
use serde_json::{Map, Value};

pub const CORE_PREFIX: &str = "http://hl7.org/fhir/StructureDefinition/";

pub fn check_extension(w: &mut Walker, obj: &Map<String, Value>, parent: Ctx, is_modifier_slot: bool) {
    let value_key = obj.keys().find(|k| k.starts_with("value")).map(String::as_str);
    let has_nested = obj.contains_key("extension");
    match (value_key.is_some(), has_nested) {
        (true, true) => w.error(IssueType::Invariant, "ext-1: an extension must have either extensions or a value[x], not both"),
        (false, false) => w.error(IssueType::Invariant, "ext-1: an extension must have either extensions or a value[x]"),
        _ => {}
    }
    let Some(url) = obj.get("url").and_then(Value::as_str) else { return };
    // Nested extensions of a complex extension have relative URLs (`code`, `period`),
    // resolved against their parent's definition below.
    if parent.type_name == "Extension" && !url.contains(':') {
        return;
    }
    if url.contains('|') {
        w.error_at(".url", IssueType::Invalid, format!("the extension URL must not contain a version ('{url}')"));
        return;
    }
    // (An example URL is refused, when the options say so, by the walk's uri check.)
    match w.defs.extension(url) {
        Some(def) => check_against_definition(w, obj, def, value_key, parent, is_modifier_slot),
        None if url.starts_with(CORE_PREFIX) => w.error(
            IssueType::Structure,
            format!("the extension {url} is in the FHIR core namespace but R4 does not define it"),
        ),
        None => match w.opts.unknown_extensions {
            UnknownExtensions::Allow => {}
            UnknownExtensions::Warn => w.issue(
                Severity::Warning,
                IssueType::Extension,
                format!("the extension {url} is unknown: it was not checked"),
            ),
            // Documentation examples are known not to resolve; refused only by the example option.
            UnknownExtensions::Reject if rules::is_example_url(url) && w.opts.allow_example_urls => {}
            UnknownExtensions::Reject => {
                w.error(IssueType::Structure, format!("the extension {url} could not be found so is not allowed here"))
            }
        },
    }
}

fn check_against_definition(
    w: &mut Walker,
    obj: &Map<String, Value>,
    def: &'static TypeDef,
    value_key: Option<&str>,
    parent: Ctx,
    is_modifier_slot: bool,
) {
    let url = def.url.as_str();
    let is_modifier_def = def.elements.first().is_some_and(|e| e.is_modifier);
    if is_modifier_def && !is_modifier_slot {
        w.error(IssueType::Structure, format!("{url} is a modifier extension: it must be in modifierExtension"));
    } else if !is_modifier_def && is_modifier_slot {
        w.error(IssueType::Structure, format!("{url} is not a modifier extension: it must be in extension, not modifierExtension"));
    }
    if parent.type_name != "Extension" && !context_allows(w, def, parent) {
        let allowed: Vec<&str> = def.context.iter().map(|c| c.expression.as_str()).collect();
        w.error(
            IssueType::Structure,
            format!(
                "the extension {url} is not allowed at this point (this element is [{}, {}]; allowed: {})",
                parent.type_name,
                parent.via,
                allowed.join(", ")
            ),
        );
    }
    check_body(w, obj, def, "", value_key);
    // Nested extensions of a complex extension: each known slice checked for its value type.
    if let Some(Value::Array(nested)) = obj.get("extension") {
        for (i, n) in nested.iter().enumerate() {
            let Some(sub) = n.as_object() else { continue };
            let Some(sub_url) = sub.get("url").and_then(Value::as_str) else { continue };
            if sub_url.contains(':') {
                continue;
            }
            let slice = format!("Extension.extension:{sub_url}");
            if def.elements.iter().any(|e| e.id.as_deref() == Some(slice.as_str())) {
                let sub_value = sub.keys().find(|k| k.starts_with("value")).map(String::as_str);
                let mark = w.path.mark();
                w.path.push_name("extension");
                w.path.push_index(i);
                check_body(w, sub, def, &slice, sub_value);
                w.path.truncate(mark);
            }
        }
        // Required slices (min >= 1).
        for e in &def.elements {
            if let (Some(name), "Extension.extension", true) = (&e.slice_name, e.path.as_str(), e.min > 0) {
                let present = nested.iter().any(|n| n.get("url").and_then(Value::as_str) == Some(name.as_str()));
                if !present {
                    w.error(IssueType::Required, format!("{url}: the nested extension '{name}' is required"));
                }
            }
        }
    }
}

/// Checks value[x] and nested extension cardinality of an extension (or of one of its slices,
/// `prefix` = `Extension.extension:code`) against the definition.
fn check_body(w: &mut Walker, obj: &Map<String, Value>, def: &'static TypeDef, prefix: &str, value_key: Option<&str>) {
    let id_of = |suffix: &str| {
        if prefix.is_empty() { format!("Extension.{suffix}") } else { format!("{prefix}.{suffix}") }
    };
    let value_id = id_of("value[x]");
    let ext_id = id_of("extension");
    let find = |id: &str| def.elements.iter().find(|e| e.id.as_deref().unwrap_or(&e.path) == id);
    if let Some(value_def) = find(&value_id) {
        match value_key {
            Some(key) if value_def.max == "0" => {
                w.error(IssueType::Structure, format!("{}: a value ({key}) is not allowed here; use nested extensions", def.url));
            }
            Some(key) => {
                let type_name = &key["value".len()..];
                let allowed = value_def.types.iter().any(|t| capitalise(&t.code) == type_name);
                if !allowed {
                    let types: Vec<&str> = value_def.types.iter().map(|t| t.code.as_str()).collect();
                    let found = decapitalise(type_name);
                    w.error(
                        IssueType::Structure,
                        format!("the extension '{}' definition allows for the types [{}] but found type {found}", def.url, types.join(", ")),
                    );
                }
            }
            None if value_def.min > 0 => {
                w.error(IssueType::Required, format!("{}: a value[x] is required", def.url));
            }
            None => {}
        }
    }
    if let Some(ext_def) = find(&ext_id)
        && ext_def.max == "0" && obj.contains_key("extension") {
            w.error(IssueType::Structure, format!("{}: nested extensions are not allowed here", def.url));
        }
}

fn decapitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Whether an extension may be used on an element of `parent`'s type and path.
fn context_allows(w: &Walker, def: &TypeDef, parent: Ctx) -> bool {
    if def.context.is_empty() {
        return true;
    }
    def.context.iter().any(|c| match c.kind.as_str() {
        "element" => {
            let e = c.expression.as_str();
            e == "Element"
                || e == "Base"
                || e == parent.via
                || e == parent.alt
                || e == parent.type_name
                || w.defs.is_subtype(parent.type_name, e)
                // Backbone paths: context `Patient.contact` matches the struct path.
                || parent.via.strip_suffix("[x]").is_some_and(|v| e.starts_with(v))
                // The specification's own definitions put `structuredefinition-fhir-type`
                // (context ElementDefinition.type.code) on ElementDefinition.type; accept an
                // extension on the direct parent of its context element, as the reference
                // validator does for these files.
                || e.strip_prefix(parent.alt).is_some_and(|rest| rest.starts_with('.') && !rest[1..].contains('.'))
        }
        // FHIRPath contexts and contexts that name another extension are not evaluated.
        _ => true,
    })
}
