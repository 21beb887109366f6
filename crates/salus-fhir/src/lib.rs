//! `salus-fhir` owns the FHIR R4 model as Salus sees it: the definitions of the base
//! specification (StructureDefinitions as element tables, core extensions, SearchParameters,
//! CompartmentDefinitions and value-set expansions), compiled from a registry package by
//! `cargo xtask defs` and embedded, plus small helpers over resources kept as JSON values.
//! It does no I/O; everything here takes values and returns values.

pub mod definitions;
pub mod resource;

pub use definitions::{Definitions, ElementDef, TypeDef, TypeKind, r4};
