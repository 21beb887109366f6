//! `salus-fhir` owns the FHIR R4 model as Salus sees it: the definitions of the base
//! specification (StructureDefinitions as element tables, core extensions, SearchParameters,
//! CompartmentDefinitions and value-set expansions), compiled from a registry package by
//! `cargo xtask defs` and embedded, small helpers over resources kept as JSON values, and the
//! FHIR `date` value ([`date::Date`]) with the calendar arithmetic that clinical rules and the
//! demo generator need. It does no I/O; everything here takes values and returns values.

pub mod date;
pub mod definitions;
pub mod resource;

pub use definitions::{Definitions, ElementDef, TypeDef, TypeKind, r4};
