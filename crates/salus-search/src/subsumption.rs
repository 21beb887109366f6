//! Token `:below` and `:above` (R4: subsumption) over the code systems the server holds as
//! CodeSystem resources. The engine reads the CodeSystems a query names (see
//! [`crate::query::subsumption_systems`]) and hands them to the parser in a [`CodeSystems`];
//! the parser expands each `system|code` into the codes it subsumes (`:below`) or that subsume
//! it (`:above`), compiled like `:in`. A system the server holds no CodeSystem for is refused,
//! never answered with the exact code alone.

use serde_json::Value;
use std::collections::{HashMap, HashSet, VecDeque};

/// The `is-a` hierarchy of one CodeSystem: each code with its parents and children, from
/// nested `concept.concept` and from the `parent` / `child` concept properties.
#[derive(Debug, Clone, Default)]
pub struct CodeHierarchy {
    codes: HashSet<String>,
    parents: HashMap<String, Vec<String>>,
    children: HashMap<String, Vec<String>>,
}

const PARENT_URI: &str = "http://hl7.org/fhir/concept-properties#parent";
const CHILD_URI: &str = "http://hl7.org/fhir/concept-properties#child";

#[derive(Clone, Copy, PartialEq)]
enum Relation {
    Parent,
    Child,
}

impl CodeHierarchy {
    /// Reads a CodeSystem resource. A flat code system (no nesting, no parent or child
    /// property) is fine: each code subsumes only itself. A hierarchy is read only when the
    /// CodeSystem says it means `is-a`: under `grouped-by` or `part-of` a parent does not
    /// subsume its children, and without `hierarchyMeaning` the meaning is not stated.
    /// The error says why the hierarchy cannot be used, for the client.
    pub fn from_code_system(code_system: &Value) -> Result<CodeHierarchy, String> {
        let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        // Concept properties name their meaning by the CodeSystem's declared property URI;
        // the codes `parent` and `child` are read as such when undeclared.
        let mut relations: HashMap<String, Relation> =
            [("parent".to_string(), Relation::Parent), ("child".to_string(), Relation::Child)].into();
        for p in code_system.get("property").and_then(Value::as_array).into_iter().flatten() {
            if let Some(code) = text(p, "code") {
                match text(p, "uri").as_deref() {
                    Some(PARENT_URI) => relations.insert(code, Relation::Parent),
                    Some(CHILD_URI) => relations.insert(code, Relation::Child),
                    Some(_) => relations.remove(&code),
                    None => None,
                };
            }
        }
        let mut h = CodeHierarchy::default();
        let mut nested = false;
        // (concept, the code of the concept it is nested in): iterative, so depth costs no stack.
        let mut stack: Vec<(&Value, Option<String>)> =
            code_system.get("concept").and_then(Value::as_array).into_iter().flatten().map(|c| (c, None)).collect();
        while let Some((concept, parent)) = stack.pop() {
            let Some(code) = text(concept, "code").filter(|c| !c.is_empty()) else { continue };
            h.codes.insert(code.clone());
            if let Some(p) = parent {
                h.link(&p, &code);
                nested = true;
            }
            for prop in concept.get("property").and_then(Value::as_array).into_iter().flatten() {
                let relation = text(prop, "code").and_then(|c| relations.get(&c).copied());
                let Some(other) = text(prop, "valueCode").or_else(|| text(prop, "valueString")) else { continue };
                match relation {
                    Some(Relation::Parent) => h.link(&other, &code),
                    Some(Relation::Child) => h.link(&code, &other),
                    None => continue,
                }
                nested = true;
            }
            for child in concept.get("concept").and_then(Value::as_array).into_iter().flatten() {
                stack.push((child, Some(code.clone())));
            }
        }
        let meaning = text(code_system, "hierarchyMeaning");
        if nested && meaning.as_deref() != Some("is-a") {
            return Err(match meaning {
                Some(m) => format!("its hierarchy means `{m}`, not `is-a`, so a parent code does not subsume its children"),
                None => "its hierarchy does not state its meaning (hierarchyMeaning is not `is-a`)".to_string(),
            });
        }
        Ok(h)
    }

    fn link(&mut self, parent: &str, child: &str) {
        self.codes.insert(parent.to_string());
        self.codes.insert(child.to_string());
        self.parents.entry(child.to_string()).or_default().push(parent.to_string());
        self.children.entry(parent.to_string()).or_default().push(child.to_string());
    }

    /// The code and every code it subsumes (its descendants); `None` when the code system does
    /// not define the code.
    pub fn below(&self, code: &str) -> Option<Vec<String>> {
        self.closure(code, &self.children)
    }

    /// The code and every code that subsumes it (its ancestors); `None` when the code system
    /// does not define the code.
    pub fn above(&self, code: &str) -> Option<Vec<String>> {
        self.closure(code, &self.parents)
    }

    /// Breadth first from `code` along `edges`, each code once (a cycle in bad data ends).
    fn closure(&self, code: &str, edges: &HashMap<String, Vec<String>>) -> Option<Vec<String>> {
        if !self.codes.contains(code) {
            return None;
        }
        let mut seen: HashSet<&str> = HashSet::from([code]);
        let mut out = vec![code.to_string()];
        let mut queue: VecDeque<&str> = VecDeque::from([code]);
        while let Some(c) = queue.pop_front() {
            for next in edges.get(c).into_iter().flatten() {
                if seen.insert(next) {
                    out.push(next.clone());
                    queue.push_back(next);
                }
            }
        }
        Some(out)
    }
}

/// The code systems a search may use for subsumption, by canonical url: the hierarchy, or why
/// the server's CodeSystem cannot serve (a url absent here has no CodeSystem on the server).
#[derive(Debug, Clone, Default)]
pub struct CodeSystems {
    by_url: HashMap<String, Result<CodeHierarchy, String>>,
}

impl CodeSystems {
    pub fn insert(&mut self, url: impl Into<String>, hierarchy: Result<CodeHierarchy, String>) {
        self.by_url.insert(url.into(), hierarchy);
    }

    pub fn get(&self, url: &str) -> Option<Result<&CodeHierarchy, &str>> {
        self.by_url.get(url).map(|r| r.as_ref().map_err(String::as_str))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sorted(v: Option<Vec<String>>) -> Vec<String> {
        let mut v = v.unwrap_or_default();
        v.sort();
        v
    }

    #[test]
    fn nested_concepts_form_the_hierarchy() {
        let cs = json!({"resourceType": "CodeSystem", "url": "http://x/cs", "hierarchyMeaning": "is-a", "concept": [
            {"code": "A", "concept": [{"code": "B", "concept": [{"code": "C"}]}, {"code": "D"}]}, {"code": "E"}]});
        let h = CodeHierarchy::from_code_system(&cs).expect("is-a");
        assert_eq!(sorted(h.below("A")), ["A", "B", "C", "D"]);
        assert_eq!(sorted(h.below("B")), ["B", "C"]);
        assert_eq!(sorted(h.above("C")), ["A", "B", "C"]);
        assert_eq!(sorted(h.above("E")), ["E"]);
        assert!(h.below("Z").is_none());
    }

    #[test]
    fn parent_and_child_properties_form_the_hierarchy() {
        let cs = json!({"resourceType": "CodeSystem", "hierarchyMeaning": "is-a",
            "property": [{"code": "subsumedBy", "uri": PARENT_URI, "type": "code"}],
            "concept": [{"code": "A", "property": [{"code": "child", "valueCode": "B"}]},
                {"code": "B"}, {"code": "C", "property": [{"code": "subsumedBy", "valueCode": "B"}]}]});
        let h = CodeHierarchy::from_code_system(&cs).expect("is-a");
        assert_eq!(sorted(h.below("A")), ["A", "B", "C"]);
        assert_eq!(sorted(h.above("C")), ["A", "B", "C"]);
    }

    #[test]
    fn only_an_is_a_hierarchy_subsumes() {
        let nested = |meaning: Option<&str>| {
            let mut cs = json!({"resourceType": "CodeSystem", "concept": [{"code": "A", "concept": [{"code": "B"}]}]});
            if let Some(m) = meaning {
                cs["hierarchyMeaning"] = json!(m);
            }
            CodeHierarchy::from_code_system(&cs)
        };
        assert!(nested(Some("grouped-by")).is_err_and(|e| e.contains("grouped-by")));
        assert!(nested(None).is_err());
        let flat = json!({"resourceType": "CodeSystem", "concept": [{"code": "A"}, {"code": "B"}]});
        let h = CodeHierarchy::from_code_system(&flat).expect("a flat system needs no meaning");
        assert_eq!(sorted(h.below("A")), ["A"]);
    }

    #[test]
    fn cycles_in_bad_data_end() {
        let cs = json!({"resourceType": "CodeSystem", "hierarchyMeaning": "is-a", "concept": [
            {"code": "A", "property": [{"code": "parent", "valueCode": "B"}]},
            {"code": "B", "property": [{"code": "parent", "valueCode": "A"}]}]});
        let h = CodeHierarchy::from_code_system(&cs).expect("is-a");
        assert_eq!(sorted(h.below("A")), ["A", "B"]);
    }
}
