//! Rules for conformance resources that the base specification states in prose (and the
//! reference validator implements in code): a SearchParameter derived from a core one keeps
//! its type and bases, a composite has components, a CapabilityStatement declares core search
//! parameters with their own type, and a StructureDefinition constraining a core type only
//! names elements that type has.

use crate::outcome::IssueType;
use crate::schema::Ty;
use crate::walk::Walker;
use salus_fhir::definitions::SearchParameterDef;
use serde_json::{Map, Value};

fn core_search_parameter(w: &Walker, url: &str) -> Option<&'static SearchParameterDef> {
    let url = url.split('|').next().unwrap_or(url);
    w.defs.search_parameters().iter().find(|sp| sp.url == url)
}

pub fn search_parameter(w: &mut Walker, obj: &Map<String, Value>) {
    let ty = obj.get("type").and_then(Value::as_str);
    if ty == Some("composite") && obj.get("component").and_then(Value::as_array).is_none_or(|c| c.len() < 2) {
        w.error(IssueType::BusinessRule, "a SearchParameter of type 'composite' must define two or more components");
    }
    let Some(derived) = obj.get("derivedFrom").and_then(Value::as_str) else { return };
    let Some(base_sp) = core_search_parameter(w, derived) else { return };
    if let Some(ty) = ty
        && ty != base_sp.param_type {
            w.error_at(
                ".type",
                IssueType::BusinessRule,
                format!("the type {ty} differs from the type {} of {derived}, which this SearchParameter is derived from", base_sp.param_type),
            );
        }
    if let Some(Value::Array(bases)) = obj.get("base") {
        for (i, b) in bases.iter().enumerate() {
            let Some(b) = b.as_str() else { continue };
            let covered = base_sp.base.iter().any(|pb| pb == b || w.defs.is_subtype(b, pb));
            if !covered {
                w.error_at(
                    &format!(".base[{i}]"),
                    IssueType::BusinessRule,
                    format!("the resource type {b} is not a base of {derived}, which this SearchParameter is derived from"),
                );
            }
        }
    }
}

pub fn capability_statement(w: &mut Walker, obj: &Map<String, Value>) {
    let Some(Value::Array(rests)) = obj.get("rest") else { return };
    for (r, rest) in rests.iter().enumerate() {
        let resources = rest.get("resource").and_then(Value::as_array).into_iter().flatten().enumerate();
        for (i, res) in resources {
            let params = res.get("searchParam").and_then(Value::as_array).into_iter().flatten().enumerate();
            for (j, p) in params {
                let (Some(def), Some(ty)) =
                    (p.get("definition").and_then(Value::as_str), p.get("type").and_then(Value::as_str))
                else {
                    continue;
                };
                if let Some(sp) = core_search_parameter(w, def)
                    && sp.param_type != ty {
                        w.error_at(
                            &format!(".rest[{r}].resource[{i}].searchParam[{j}].type"),
                            IssueType::Invalid,
                            format!("type mismatch: the SearchParameter {def} is of type {}, not {ty}", sp.param_type),
                        );
                    }
            }
        }
    }
}

/// A profile of a core type: every element path must exist in the type (choice elements may be
/// renamed to one of their types, `valueQuantity`).
pub fn structure_definition(w: &mut Walker, obj: &Map<String, Value>) {
    if obj.get("derivation").and_then(Value::as_str) != Some("constraint")
        || obj.get("kind").and_then(Value::as_str) == Some("logical")
    {
        return;
    }
    let Some(ty) = obj.get("type").and_then(Value::as_str) else { return };
    let Some(root) = w.schema.lookup(ty) else { return };
    for part in ["differential", "snapshot"] {
        let Some(Value::Array(elements)) = obj.get(part).and_then(|p| p.get("element")) else { continue };
        for (i, e) in elements.iter().enumerate() {
            let Some(path) = e.get("path").and_then(Value::as_str) else { continue };
            if let Err(msg) = resolve_path(w, root, ty, path) {
                w.error_at(&format!(".{part}.element[{i}].path"), IssueType::Value, msg);
            }
        }
    }
}

fn resolve_path(w: &Walker, root: crate::schema::StructId, ty: &str, path: &str) -> Result<(), String> {
    let mut segments = path.split('.');
    if segments.next() != Some(ty) {
        return Err(format!("the path '{path}' must start with the type {ty}"));
    }
    let mut current = Some(root);
    for seg in segments {
        let Some(sid) = current else {
            // Below a primitive: only id, extension and value.
            return if matches!(seg, "id" | "extension" | "value") { Ok(()) } else { Err(format!("invalid path '{path}'")) };
        };
        let st = w.schema.get(sid);
        if let Some(name) = seg.strip_suffix("[x]") {
            if st.elems.iter().any(|e| e.is_choice && e.name == name) {
                // The children of value[x] depend on the type chosen: stop checking here.
                return Ok(());
            }
            return Err(format!("invalid path '{path}': {} has no element {seg}", st.name));
        }
        match st.props.get(seg) {
            Some(prop) => match prop.ty {
                Ty::Complex(next) => current = Some(next),
                Ty::Primitive(_) | Ty::Attribute(_) => current = None,
                Ty::Resource(_) => return Ok(()),
            },
            None => {
                let choice = st.elems.iter().find(|e| e.is_choice && seg.starts_with(e.name));
                return Err(match choice {
                    Some(e) => format!("the path must be '{}' not '{path}' when the type list is not constrained", e.path),
                    None => format!("invalid path '{path}': {} has no element '{seg}'", st.name),
                });
            }
        }
    }
    Ok(())
}
