//! The search parameters in force: the specification's 1,375 SearchParameters, plus custom
//! SearchParameter resources added at run time. Lookups are by resource type and code; a
//! parameter whose `base` is `Resource` or `DomainResource` applies to every resource type.

use crate::SearchError;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParamType {
    Number,
    Date,
    String,
    Token,
    Reference,
    Composite,
    Quantity,
    Uri,
    Special,
}

impl ParamType {
    pub fn parse(text: &str) -> Option<ParamType> {
        Some(match text {
            "number" => ParamType::Number,
            "date" => ParamType::Date,
            "string" => ParamType::String,
            "token" => ParamType::Token,
            "reference" => ParamType::Reference,
            "composite" => ParamType::Composite,
            "quantity" => ParamType::Quantity,
            "uri" => ParamType::Uri,
            "special" => ParamType::Special,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            ParamType::Number => "number",
            ParamType::Date => "date",
            ParamType::String => "string",
            ParamType::Token => "token",
            ParamType::Reference => "reference",
            ParamType::Composite => "composite",
            ParamType::Quantity => "quantity",
            ParamType::Uri => "uri",
            ParamType::Special => "special",
        }
    }
}

/// One component of a composite parameter: the component parameter's type and the expression
/// evaluated on each value of the composite's own expression.
#[derive(Debug, Clone)]
pub struct Component {
    pub param_type: ParamType,
    pub expression: String,
}

impl Component {
    /// The expression the indexer evaluates on each item of the parameter's expression.
    pub fn index_expression(&self) -> String {
        fhir_type_names(&self.expression)
    }
}

/// FHIRPath System type names the R4 parameters use in `as()`/`ofType()` where they mean the
/// FHIR type: `Observation-code-value-date` reads `value.as(DateTime)`, and a FHIR `dateTime`
/// element is not a System `DateTime`, so read literally it indexes no date value at all.
const SYSTEM_AS_FHIR: &[(&str, &str)] = &[
    ("as(DateTime)", "as(dateTime)"),
    ("ofType(DateTime)", "ofType(dateTime)"),
    ("as(String)", "as(string)"),
    ("ofType(String)", "ofType(string)"),
    ("as(Boolean)", "as(boolean)"),
    ("ofType(Boolean)", "ofType(boolean)"),
];

fn fhir_type_names(expr: &str) -> String {
    SYSTEM_AS_FHIR.iter().fold(expr.to_string(), |e, (system, fhir)| e.replace(system, fhir))
}

#[derive(Debug, Clone)]
pub struct SearchParam {
    pub code: String,
    pub url: String,
    pub param_type: ParamType,
    pub base: Vec<String>,
    /// The FHIRPath expression, as given (see [`SearchParam::index_expression`]).
    pub expression: Option<String>,
    /// Resource types a reference parameter may point to.
    pub targets: Vec<String>,
    pub components: Vec<Component>,
}

impl SearchParam {
    /// The expression the indexer evaluates. `resolve() is Patient` asks for the referenced
    /// resource, which an indexer cannot fetch; the reference's type is in its text, so the
    /// test is rewritten onto it (a relative `Patient/123`, or an absolute URL ending so).
    pub fn index_expression(&self) -> Option<String> {
        let expr = self.expression.as_deref()?;
        let mut out = String::with_capacity(expr.len());
        let mut rest = expr;
        while let Some(i) = rest.find("resolve() is ") {
            out.push_str(&rest[..i]);
            let after = &rest[i + "resolve() is ".len()..];
            let end = after.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(after.len());
            let ty = &after[..end];
            out.push_str(&format!("(reference.startsWith('{ty}/') or reference.contains('/{ty}/'))"));
            rest = &after[end..];
        }
        out.push_str(rest);
        Some(fhir_type_names(&out))
    }

    /// The index expression reduced to the union branches that can apply to `resource_type`:
    /// a parameter shared by 30 types (`patient`) is written as 30 branches, each starting with
    /// its type name, and evaluating the other 29 on every write is wasted work. Branches that
    /// do not start with a resource type name are kept; `None` when nothing applies.
    pub fn expression_for(&self, resource_type: &str) -> Option<String> {
        let expr = self.index_expression()?;
        let branches = split_union(&expr);
        let kept: Vec<&str> = branches
            .iter()
            .copied()
            .filter(|b| {
                let head = b.trim_start_matches('(');
                let inner = b.strip_prefix('(').and_then(|x| x.strip_suffix(')'));
                if inner.is_some_and(|x| split_union(x).len() > 1) {
                    return true; // a parenthesised union: keep whole
                }
                let name: String = head.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
                !salus_fhir::r4().is_resource_type(&name) || name == resource_type
            })
            .collect();
        if kept.is_empty() { None } else { Some(kept.join(" | ")) }
    }

    fn applies_to(&self, resource_type: &str) -> bool {
        self.base.iter().any(|b| b == resource_type || b == "Resource" || b == "DomainResource")
    }
}

/// The top-level branches of a `|` union (not inside parentheses or string literals).
pub(crate) fn split_union(expr: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut quoted, mut start) = (0i32, false, 0);
    let bytes = expr.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quoted => i += 1,
            b'\'' => quoted = !quoted,
            b'(' if !quoted => depth += 1,
            b')' if !quoted => depth -= 1,
            b'|' if !quoted && depth == 0 => {
                out.push(expr[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    out.push(expr[start..].trim());
    out
}

/// The registry. Cheap to share (`Arc`); a new custom parameter makes a new registry.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    params: Vec<Arc<SearchParam>>,
    /// resource type -> code -> parameter. `Resource` holds the parameters of every type.
    by_type: HashMap<String, HashMap<String, Arc<SearchParam>>>,
}

impl Registry {
    /// The R4 specification's parameters.
    pub fn r4() -> Registry {
        let defs = salus_fhir::r4();
        let by_url: HashMap<&str, &str> =
            defs.search_parameters().iter().map(|p| (p.url.as_str(), p.param_type.as_str())).collect();
        let mut registry = Registry::default();
        for p in defs.search_parameters() {
            let Some(param_type) = ParamType::parse(&p.param_type) else { continue };
            let components = p
                .component
                .iter()
                .filter_map(|c| {
                    let t = by_url.get(c.definition.as_str()).and_then(|t| ParamType::parse(t))?;
                    Some(Component { param_type: t, expression: c.expression.clone() })
                })
                .collect();
            registry.insert(SearchParam {
                code: p.code.clone(),
                url: p.url.clone(),
                param_type,
                base: p.base.clone(),
                expression: p.expression.clone(),
                targets: p.target.clone(),
                components,
            });
        }
        registry
    }

    /// Adds (or replaces, by url, then by base and code) a parameter.
    pub fn insert(&mut self, param: SearchParam) {
        let param = Arc::new(param);
        self.params.retain(|p| p.url != param.url);
        self.params.push(param.clone());
        let mut types: Vec<String> = param.base.clone();
        if types.iter().any(|b| b == "Resource" || b == "DomainResource") {
            types = salus_fhir::r4().resource_types().map(str::to_string).collect();
            types.push("Resource".into());
        }
        for t in types {
            self.by_type.entry(t).or_default().insert(param.code.clone(), param.clone());
        }
    }

    /// Adds a SearchParameter resource posted to the server.
    pub fn insert_resource(&mut self, resource: &Value) -> Result<(), SearchError> {
        let text = |k: &str| resource.get(k).and_then(Value::as_str).map(str::to_string);
        let list = |k: &str| -> Vec<String> {
            resource
                .get(k)
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
                .unwrap_or_default()
        };
        let invalid = |what: &str| SearchError::InvalidSearchParameter(what.to_string());
        let code = text("code").ok_or_else(|| invalid("it has no `code`"))?;
        if code.is_empty() || code.starts_with('_') || code.contains([':', '.', '$', ',', '|', '&', '=']) {
            return Err(invalid("`code` must be a plain name, not starting with `_`"));
        }
        let param_type = text("type")
            .and_then(|t| ParamType::parse(&t))
            .ok_or_else(|| invalid("`type` must be one of number, date, string, token, reference, composite, quantity, uri"))?;
        let base = list("base");
        if base.is_empty() || base.iter().any(|b| !salus_fhir::r4().is_resource_type(b) && b != "Resource") {
            return Err(invalid("`base` must list resource types"));
        }
        let url = text("url").unwrap_or_else(|| format!("urn:salus:searchparameter:{}", base.join("-") + "-" + &code));
        let expression = text("expression");
        if expression.is_none() {
            return Err(invalid("it has no `expression`, so nothing can be indexed"));
        }
        let components = resource
            .get("component")
            .and_then(Value::as_array)
            .map(|cs| {
                cs.iter()
                    .filter_map(|c| {
                        let def = c.get("definition")?.as_str()?;
                        let t = self.params.iter().find(|p| p.url == def)?.param_type;
                        Some(Component { param_type: t, expression: c.get("expression")?.as_str()?.to_string() })
                    })
                    .collect()
            })
            .unwrap_or_default();
        self.insert(SearchParam { code, url, param_type, base, expression, targets: list("target"), components });
        Ok(())
    }

    pub fn get(&self, resource_type: &str, code: &str) -> Option<&Arc<SearchParam>> {
        self.by_type.get(resource_type)?.get(code)
    }

    /// The parameters of a resource type, by code.
    pub fn for_type(&self, resource_type: &str) -> impl Iterator<Item = &Arc<SearchParam>> {
        self.by_type.get(resource_type).into_iter().flat_map(|m| m.values())
    }

    /// Every distinct parameter (each once, whatever its bases).
    pub fn all(&self) -> &[Arc<SearchParam>] {
        &self.params
    }

    /// Whether `param` is indexed for resources of `resource_type`.
    pub fn applies(&self, param: &SearchParam, resource_type: &str) -> bool {
        param.applies_to(resource_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r4_parameters_are_found_by_type_and_code() {
        let r = Registry::r4();
        let p = r.get("Observation", "code").expect("Observation.code");
        assert_eq!(p.param_type, ParamType::Token);
        assert!(r.get("Observation", "_lastUpdated").is_some(), "Resource parameters apply to every type");
        assert!(r.get("Patient", "_text").is_some());
        assert!(r.get("Observation", "nonsense").is_none());
        let combo = r.get("Observation", "combo-code-value-quantity").expect("composite");
        assert_eq!(combo.components.len(), 2);
    }

    #[test]
    fn resolve_type_tests_are_rewritten_onto_the_reference_text() {
        let r = Registry::r4();
        let p = r.get("Observation", "patient").expect("patient");
        let e = p.index_expression().expect("expression");
        assert!(!e.contains("resolve()"), "{e}");
        assert!(e.contains("startsWith('Patient/')"), "{e}");
    }

    #[test]
    fn shared_expressions_keep_only_the_branches_of_the_type() {
        let r = Registry::r4();
        let p = r.get("Observation", "patient").expect("patient");
        let e = p.expression_for("Observation").expect("applies");
        assert!(e.starts_with("Observation.subject") && !e.contains("CarePlan"), "{e}");
        let code = r.get("DeviceRequest", "code").expect("code");
        assert_eq!(code.expression_for("DeviceRequest").as_deref(), Some("(DeviceRequest.code.ofType(CodeableConcept))"));
        assert_eq!(split_union("a.where(x = 'p|q') | (b | c) | d"), vec!["a.where(x = 'p|q')", "(b | c)", "d"]);
        let odd = SearchParam { expression: Some("(é".into()), ..p.as_ref().clone() };
        assert_eq!(odd.expression_for("Patient").as_deref(), Some("(é"));
    }

    #[test]
    fn custom_parameters_take_effect_and_bad_ones_say_why() {
        let mut r = Registry::r4();
        let sp = serde_json::json!({"resourceType": "SearchParameter", "url": "http://x/sp", "code": "eyes",
            "base": ["Patient"], "type": "token", "expression": "Patient.extension('http://x/eyes').value"});
        r.insert_resource(&sp).expect("custom");
        assert_eq!(r.get("Patient", "eyes").map(|p| p.param_type), Some(ParamType::Token));
        let bad = serde_json::json!({"code": "x", "type": "bogus", "base": ["Patient"]});
        assert!(matches!(r.insert_resource(&bad), Err(SearchError::InvalidSearchParameter(_))));
    }
}
