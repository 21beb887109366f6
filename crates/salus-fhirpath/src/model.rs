//! What the engine needs to know about the FHIR model, behind one small trait, and its
//! implementation over `salus_fhir`'s R4 definitions. Without a model the engine still walks
//! JSON (types then come from the JSON: strings, numbers, booleans), which is what unit tests
//! of pure expressions use.

use salus_fhir::{Definitions, TypeKind};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::OnceLock;

/// FxHash (as in rustc): the model's keys are short trusted names, so a fast non-keyed hash
/// is right; SipHash showed in the indexer's profile.
#[derive(Default, Clone, Copy)]
struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn write_u8(&mut self, b: u8) {
        self.0 = (self.0.rotate_left(5) ^ b as u64).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Primitive,
    Complex,
    Resource,
}

#[derive(Debug, Clone, Copy)]
pub struct TypeInfo {
    pub name: &'static str,
    pub kind: Kind,
    pub base: Option<&'static str>,
    pub is_abstract: bool,
}

/// One possible type of an element: the type code and where the children of a value of that
/// type are looked up (the type name, or the element path for inline `BackboneElement`s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElementType {
    pub code: &'static str,
    pub key: &'static str,
}

#[derive(Debug, Clone)]
pub struct ChildDef {
    pub name: &'static str,
    pub types: Vec<ElementType>,
    /// `value[x]`: stored in JSON as `value` + capitalised type code.
    pub choice: bool,
    pub many: bool,
}

/// The model lookups the evaluator makes. Strings are `'static` so that nodes can carry their
/// type without allocating; a model built at run time can leak its names once.
pub trait Model: Send + Sync {
    /// A type by name (`Patient`, `HumanName`, `code`).
    fn type_info(&self, name: &str) -> Option<TypeInfo>;
    /// The element `name` of a value whose children are found under `parent` (see
    /// [`ElementType::key`]).
    fn child(&self, parent: &str, name: &str) -> Option<&ChildDef>;
    /// Whether `ty` is `ancestor` or derives from it.
    fn is_subtype(&self, ty: &str, ancestor: &str) -> bool {
        let mut current = Some(ty);
        for _ in 0..16 {
            match current {
                Some(t) if t == ancestor => return true,
                Some(t) => current = self.type_info(t).and_then(|i| i.base),
                None => return false,
            }
        }
        false
    }
}

/// The R4 model from `salus_fhir::definitions::r4()`.
pub struct FhirModel {
    types: FxMap<&'static str, TypeInfo>,
    /// Each type with its base chain (`Age` -> `Quantity`, `Element`, `Base`).
    ancestors: FxMap<&'static str, Vec<&'static str>>,
    children: FxMap<&'static str, FxMap<&'static str, ChildDef>>,
}

impl FhirModel {
    /// The shared R4 model (built once, about 20 ms, on first use).
    pub fn r4() -> &'static FhirModel {
        static MODEL: OnceLock<FhirModel> = OnceLock::new();
        MODEL.get_or_init(|| FhirModel::new(salus_fhir::r4()))
    }

    pub fn new(defs: &'static Definitions) -> FhirModel {
        let mut types: FxMap<&'static str, TypeInfo> = FxMap::default();
        let mut children: FxMap<&'static str, FxMap<&'static str, ChildDef>> = FxMap::default();
        for t in defs.types() {
            let kind = match t.kind {
                TypeKind::PrimitiveType => Kind::Primitive,
                TypeKind::Resource => Kind::Resource,
                _ => Kind::Complex,
            };
            let info = TypeInfo {
                name: t.id.as_str(),
                kind,
                base: t.base.as_deref(),
                is_abstract: t.is_abstract,
            };
            types.insert(t.id.as_str(), info);
        }
        for t in defs.types() {
            for e in t.elements.iter().skip(1) {
                if e.slice_name.is_some() || e.id.as_deref().is_some_and(|id| id.contains(':')) {
                    continue;
                }
                let Some((parent, _)) = e.path.rsplit_once('.') else { continue };
                let name = e.name();
                if name == "value" && types.get(parent).is_some_and(|i| i.kind == Kind::Primitive) {
                    continue; // the primitive's own value is not an element in FHIRPath
                }
                let parent_is_resource =
                    !parent.contains('.') && types.get(parent).is_some_and(|i| i.kind == Kind::Resource);
                let mut element_types = Vec::new();
                if let Some(reference) = &e.content_reference {
                    let key = reference.trim_start_matches('#');
                    element_types.push(ElementType { code: "BackboneElement", key });
                }
                for tr in &e.types {
                    let code: &'static str =
                        if let Some(system) = tr.code.strip_prefix("http://hl7.org/fhirpath/") {
                            match tr.fhir_type.as_deref() {
                                _ if parent_is_resource && name == "id" => "id",
                                Some(f) => f,
                                None => system,
                            }
                        } else {
                            tr.code.as_str()
                        };
                    let key = if code == "BackboneElement" || code == "Element" {
                        e.path.as_str()
                    } else {
                        code
                    };
                    element_types.push(ElementType { code, key });
                }
                let def = ChildDef { name, types: element_types, choice: e.is_choice(), many: e.is_array() };
                children.entry(parent).or_default().insert(name, def);
            }
        }
        let mut ancestors: FxMap<&'static str, Vec<&'static str>> = FxMap::default();
        for (&name, _) in types.iter() {
            let mut chain = Vec::new();
            let mut current = types.get(name).and_then(|t| t.base);
            while let Some(b) = current.filter(|_| chain.len() < 16) {
                chain.push(b);
                current = types.get(b).and_then(|t| t.base);
            }
            ancestors.insert(name, chain);
        }
        FhirModel { types, ancestors, children }
    }
}

impl Model for FhirModel {
    fn type_info(&self, name: &str) -> Option<TypeInfo> {
        self.types.get(name).copied()
    }

    fn child(&self, parent: &str, name: &str) -> Option<&ChildDef> {
        self.children.get(parent)?.get(name)
    }

    fn is_subtype(&self, ty: &str, ancestor: &str) -> bool {
        ty == ancestor || self.ancestors.get(ty).is_some_and(|chain| chain.contains(&ancestor))
    }
}
