//! The FHIR R4 definitions: StructureDefinitions (as element tables), core extensions, search
//! parameters, compartments and value-set expansions, compiled by `cargo xtask defs` into
//! `definitions/r4-core.json` and embedded in the binary.
//!
//! Everything is loaded once (about 50 ms) on first use and shared: `r4()` returns the same
//! `&'static Definitions` to the validator, FHIRPath, the search indexer and the capability
//! statement.

use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

static R4_JSON: &str = include_str!("../definitions/r4-core.json");

/// The R4 definitions embedded in this build.
pub fn r4() -> &'static Definitions {
    static R4: OnceLock<Definitions> = OnceLock::new();
    R4.get_or_init(|| match Definitions::from_json(R4_JSON) {
        Ok(defs) => defs,
        // The file is generated and embedded at compile time; a test parses it, so this arm
        // only runs if someone hand-edits it and skips the tests.
        Err(e) => panic!("embedded r4-core.json is corrupt: {e}"),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TypeKind {
    PrimitiveType,
    ComplexType,
    Resource,
    Logical,
}

/// One StructureDefinition of the base specification, or one core extension definition.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TypeDef {
    pub id: String,
    pub url: String,
    pub name: String,
    pub kind: TypeKind,
    /// The defined type (`Extension` for extension definitions, else the same as `id`).
    #[serde(rename = "type")]
    pub type_name: String,
    #[serde(rename = "abstract", default)]
    pub is_abstract: bool,
    /// Name of the base type (`DomainResource`, `Element`, ...); `None` for `Base`-level roots.
    pub base: Option<String>,
    /// Where an extension may be used (extension definitions only).
    #[serde(default)]
    pub context: Vec<ExtensionContext>,
    /// The snapshot elements in definition order; the first is the type itself.
    pub elements: Vec<ElementDef>,
}

#[derive(Debug, Deserialize)]
pub struct ExtensionContext {
    #[serde(rename = "type")]
    pub kind: String,
    pub expression: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ElementDef {
    /// `Patient.contact.name`, `Observation.value[x]`.
    pub path: String,
    /// Present when it differs from the path (slices: `Extension.extension:foo`).
    pub id: Option<String>,
    pub slice_name: Option<String>,
    pub min: u32,
    /// `"1"`, `"*"`, or `"0"` (prohibited).
    pub max: String,
    #[serde(default)]
    pub types: Vec<TypeRef>,
    /// `#Questionnaire.item`: this element has the same definition as the named one.
    pub content_reference: Option<String>,
    pub binding: Option<Binding>,
    #[serde(default)]
    pub constraints: Vec<Constraint>,
    pub max_length: Option<u32>,
    pub fixed_uri: Option<String>,
    #[serde(default)]
    pub is_modifier: bool,
    #[serde(default)]
    pub is_summary: bool,
}

impl ElementDef {
    pub fn is_array(&self) -> bool {
        self.max != "1" && self.max != "0"
    }

    /// `value[x]` elements, whose JSON name is `value` followed by the capitalised type.
    pub fn is_choice(&self) -> bool {
        self.path.ends_with("[x]")
    }

    /// The last path segment, without `[x]`.
    pub fn name(&self) -> &str {
        let last = self.path.rsplit('.').next().unwrap_or(&self.path);
        last.strip_suffix("[x]").unwrap_or(last)
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TypeRef {
    /// A FHIR type name (`string`, `Reference`, `BackboneElement`) or, for the value of a
    /// primitive, a FHIRPath system type URL (`http://hl7.org/fhirpath/System.String`).
    pub code: String,
    /// The lexical rule of a primitive's value (on `string.value`, `date.value`, ...).
    pub regex: Option<String>,
    /// For a system-typed element (`Resource.id`, `Element.id`, `Extension.url`): the FHIR type
    /// it stands for (`id`, `string`, `uri`).
    pub fhir_type: Option<String>,
    #[serde(default)]
    pub profile: Vec<String>,
    #[serde(default)]
    pub target_profile: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BindingStrength {
    Required,
    Extensible,
    Preferred,
    Example,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Binding {
    pub strength: BindingStrength,
    /// Canonical URL, possibly with `|version`.
    pub value_set: String,
}

#[derive(Debug, Deserialize)]
pub struct Constraint {
    pub key: String,
    /// `error` or `warning`.
    pub severity: String,
    pub human: String,
    pub expression: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchParameterDef {
    pub id: String,
    pub url: String,
    pub name: String,
    pub code: String,
    pub base: Vec<String>,
    /// number | date | string | token | reference | composite | quantity | uri | special
    #[serde(rename = "type")]
    pub param_type: String,
    pub expression: Option<String>,
    #[serde(default)]
    pub target: Vec<String>,
    #[serde(default)]
    pub modifier: Vec<String>,
    #[serde(default)]
    pub comparator: Vec<String>,
    #[serde(default)]
    pub chain: Vec<String>,
    #[serde(default)]
    pub component: Vec<SearchParameterComponent>,
    pub multiple_or: Option<bool>,
    pub multiple_and: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SearchParameterComponent {
    pub definition: String,
    pub expression: String,
}

#[derive(Debug, Deserialize)]
pub struct CompartmentDef {
    /// Patient | Encounter | RelatedPerson | Practitioner | Device
    pub code: String,
    pub url: String,
    pub resource: Vec<CompartmentResource>,
}

#[derive(Debug, Deserialize)]
pub struct CompartmentResource {
    pub code: String,
    /// Search parameters whose reference places a resource in the compartment.
    #[serde(default)]
    pub param: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct ValueSetJson {
    url: String,
    complete: bool,
    codes: Vec<(String, String)>,
}

/// The members of a value set, as far as the base specification enumerates them.
#[derive(Debug)]
pub struct ValueSetExpansion {
    pub url: String,
    /// False when part of the set lies in a code system the base spec does not carry (UCUM,
    /// MIME types, ...): absence from `codes` then proves nothing.
    pub complete: bool,
    codes: HashSet<(String, String)>,
    code_only: HashSet<String>,
}

impl ValueSetExpansion {
    pub fn contains(&self, system: Option<&str>, code: &str) -> bool {
        match system {
            Some(system) => self.codes.contains(&(system.to_string(), code.to_string())),
            None => self.code_only.contains(code),
        }
    }

    pub fn codes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.codes.iter().map(|(s, c)| (s.as_str(), c.as_str()))
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DefinitionsJson {
    fhir_version: String,
    source: String,
    types: Vec<TypeDef>,
    extensions: Vec<TypeDef>,
    search_parameters: Vec<SearchParameterDef>,
    compartments: Vec<CompartmentDef>,
    value_sets: Vec<ValueSetJson>,
}

/// All definitions, indexed for the lookups the validator, FHIRPath and search make.
#[derive(Debug)]
pub struct Definitions {
    pub fhir_version: String,
    /// Where the definitions came from (package, version, licence).
    pub source: String,
    types: Vec<TypeDef>,
    type_by_name: HashMap<String, usize>,
    extensions: Vec<TypeDef>,
    extension_by_url: HashMap<String, usize>,
    /// Element path -> (type index, element index), for non-sliced elements.
    element_by_path: HashMap<String, (usize, usize)>,
    /// Element path -> its direct children (type index, element index), in definition order.
    children_by_path: HashMap<String, Vec<(usize, usize)>>,
    search_parameters: Vec<SearchParameterDef>,
    compartments: Vec<CompartmentDef>,
    value_sets: HashMap<String, ValueSetExpansion>,
}

impl Definitions {
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        let json: DefinitionsJson = serde_json::from_str(text)?;
        let mut type_by_name = HashMap::new();
        let mut element_by_path = HashMap::new();
        let mut children_by_path: HashMap<String, Vec<(usize, usize)>> = HashMap::new();
        for (ti, t) in json.types.iter().enumerate() {
            type_by_name.insert(t.id.clone(), ti);
            // Constraint profiles (SimpleQuantity, MoneyQuantity, ...) reuse their base type's
            // paths (`Quantity.comparator`); only a type's own definition may own its paths.
            if t.type_name != t.id {
                continue;
            }
            for (ei, e) in t.elements.iter().enumerate() {
                if e.slice_name.is_some() || e.id.as_deref().is_some_and(|id| id.contains(':')) {
                    continue;
                }
                element_by_path.insert(e.path.clone(), (ti, ei));
                if let Some((parent, _)) = e.path.rsplit_once('.') {
                    children_by_path.entry(parent.to_string()).or_default().push((ti, ei));
                }
            }
        }
        let extension_by_url =
            json.extensions.iter().enumerate().map(|(i, e)| (e.url.clone(), i)).collect();
        let value_sets = json
            .value_sets
            .into_iter()
            .map(|vs| {
                let code_only = vs.codes.iter().map(|(_, c)| c.clone()).collect();
                let expansion = ValueSetExpansion {
                    url: vs.url.clone(),
                    complete: vs.complete,
                    codes: vs.codes.into_iter().collect(),
                    code_only,
                };
                (vs.url, expansion)
            })
            .collect();
        Ok(Definitions {
            fhir_version: json.fhir_version,
            source: json.source,
            types: json.types,
            type_by_name,
            extensions: json.extensions,
            extension_by_url,
            element_by_path,
            children_by_path,
            search_parameters: json.search_parameters,
            compartments: json.compartments,
            value_sets,
        })
    }

    /// A type or resource by name: `Patient`, `HumanName`, `string`, `Resource`.
    pub fn type_def(&self, name: &str) -> Option<&TypeDef> {
        self.type_by_name.get(name).map(|&i| &self.types[i])
    }

    pub fn types(&self) -> impl Iterator<Item = &TypeDef> {
        self.types.iter()
    }

    /// Names of the concrete resource types (146 in R4), in definition order.
    pub fn resource_types(&self) -> impl Iterator<Item = &str> {
        self.types
            .iter()
            .filter(|t| t.kind == TypeKind::Resource && !t.is_abstract)
            .map(|t| t.id.as_str())
    }

    pub fn is_resource_type(&self, name: &str) -> bool {
        self.type_def(name).is_some_and(|t| t.kind == TypeKind::Resource && !t.is_abstract)
    }

    /// Whether `name` is `ancestor` or derives from it (`Age` is a `Quantity`, `Patient` a
    /// `DomainResource` and a `Resource`).
    pub fn is_subtype(&self, name: &str, ancestor: &str) -> bool {
        let mut current = Some(name);
        for _ in 0..16 {
            match current {
                Some(n) if n == ancestor => return true,
                Some(n) => current = self.type_def(n).and_then(|t| t.base.as_deref()),
                None => return false,
            }
        }
        false
    }

    /// The element at a full path, following `contentReference` (so that
    /// `Questionnaire.item.item.linkId` resolves through `#Questionnaire.item`). Choice elements
    /// are found under their `[x]` path.
    pub fn element(&self, path: &str) -> Option<&ElementDef> {
        let resolved = self.resolve_path(path)?;
        self.element_by_path.get(resolved.as_ref()).map(|&(t, e)| &self.types[t].elements[e])
    }

    /// The direct children of an element path (after `contentReference`), in definition order.
    /// For a path that names a datatype (`HumanName`) this is the datatype's elements.
    pub fn children(&self, path: &str) -> impl Iterator<Item = &ElementDef> {
        let resolved = self.resolve_path(path);
        resolved
            .and_then(|p| self.children_by_path.get(p.as_ref()))
            .into_iter()
            .flatten()
            .map(|&(t, e)| &self.types[t].elements[e])
    }

    /// Maps a path that crosses or ends on a `contentReference` onto the path of the referenced
    /// definition.
    fn resolve_path<'p>(&self, path: &'p str) -> Option<std::borrow::Cow<'p, str>> {
        if self.children_by_path.contains_key(path) && !self.element_by_path.contains_key(path) {
            return Some(path.into()); // a datatype name such as `HumanName`
        }
        // Walk the prefixes from the left: the first one with a contentReference is replaced.
        let ends = path.match_indices('.').map(|(i, _)| i).chain(std::iter::once(path.len()));
        for end in ends {
            let prefix = &path[..end];
            let &(t, e) = self.element_by_path.get(prefix)?;
            if let Some(reference) = &self.types[t].elements[e].content_reference {
                let replaced = format!("{}{}", reference.trim_start_matches('#'), &path[end..]);
                return self.resolve_path(&replaced).map(|c| c.into_owned().into());
            }
        }
        Some(path.into())
    }

    /// The children of a value of `type_code` found at `path`: the element's own children for
    /// `BackboneElement` and `Element` (inline structures), else the datatype's elements.
    pub fn children_for_type<'a>(
        &'a self,
        path: &'a str,
        type_code: &'a str,
    ) -> Box<dyn Iterator<Item = &'a ElementDef> + 'a> {
        if type_code == "BackboneElement" || type_code == "Element" {
            Box::new(self.children(path))
        } else {
            Box::new(self.children(type_code))
        }
    }

    /// A core extension definition (from the R4 `extension-definitions`) by URL.
    pub fn extension(&self, url: &str) -> Option<&TypeDef> {
        self.extension_by_url.get(url).map(|&i| &self.extensions[i])
    }

    pub fn search_parameters(&self) -> &[SearchParameterDef] {
        &self.search_parameters
    }

    pub fn compartments(&self) -> &[CompartmentDef] {
        &self.compartments
    }

    pub fn compartment(&self, code: &str) -> Option<&CompartmentDef> {
        self.compartments.iter().find(|c| c.code == code)
    }

    /// A value set by canonical URL (a `|version` suffix is ignored: R4 has one version).
    pub fn value_set(&self, url: &str) -> Option<&ValueSetExpansion> {
        let url = url.split('|').next().unwrap_or(url);
        self.value_sets.get(url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_definitions_load_with_every_r4_resource_type() {
        let defs = r4();
        assert_eq!(defs.fhir_version, "4.0.1");
        assert_eq!(defs.resource_types().count(), 146);
        assert_eq!(defs.search_parameters().len(), 1375);
        assert!(defs.is_resource_type("Patient"));
        assert!(!defs.is_resource_type("DomainResource"));
        assert!(!defs.is_resource_type("HumanName"));
    }

    #[test]
    fn element_lookup_knows_cardinality_and_types() {
        let gender = r4().element("Patient.gender").expect("Patient.gender");
        assert_eq!((gender.min, gender.max.as_str()), (0, "1"));
        assert_eq!(gender.types[0].code, "code");
        let binding = gender.binding.as_ref().expect("gender binding");
        assert_eq!(binding.strength, BindingStrength::Required);
        assert!(r4().element("Patient.name").is_some_and(ElementDef::is_array));
    }

    #[test]
    fn content_reference_paths_resolve_to_the_referenced_definition() {
        let nested = r4().element("Questionnaire.item.item.linkId").expect("nested linkId");
        assert_eq!(nested.path, "Questionnaire.item.linkId");
        assert!(r4().children("Questionnaire.item.item").any(|e| e.name() == "text"));
    }

    #[test]
    fn choice_elements_are_found_under_their_x_path() {
        let value = r4().element("Observation.value[x]").expect("value[x]");
        assert!(value.is_choice());
        assert_eq!(value.name(), "value");
        assert!(value.types.iter().any(|t| t.code == "Quantity"));
    }

    #[test]
    fn constraint_profiles_do_not_leak_into_their_base_type() {
        let comparator = r4().element("Quantity.comparator").expect("Quantity.comparator");
        assert_eq!(comparator.max, "1");
        assert_eq!(r4().children("Quantity").filter(|e| e.name() == "comparator").count(), 1);
        assert!(r4().type_def("SimpleQuantity").is_some());
    }

    #[test]
    fn subtype_relation_follows_base_definitions() {
        assert!(r4().is_subtype("Age", "Quantity"));
        assert!(r4().is_subtype("Patient", "Resource"));
        assert!(!r4().is_subtype("Quantity", "Age"));
    }

    #[test]
    fn required_value_sets_are_expanded() {
        let gender = r4().value_set("http://hl7.org/fhir/ValueSet/administrative-gender|4.0.1");
        let gender = gender.expect("administrative-gender");
        assert!(gender.complete);
        assert!(gender.contains(Some("http://hl7.org/fhir/administrative-gender"), "female"));
        assert!(gender.contains(None, "unknown"));
        assert!(!gender.contains(None, "f"));
    }

    #[test]
    fn primitive_value_regex_is_kept() {
        let value = r4().element("date.value").expect("date.value");
        assert!(value.types[0].regex.as_deref().is_some_and(|r| r.contains("[0-9]")));
    }

    #[test]
    fn core_extensions_are_known_by_url() {
        let birth_sex = "http://hl7.org/fhir/StructureDefinition/patient-birthPlace";
        assert!(r4().extension(birth_sex).is_some());
    }
}
