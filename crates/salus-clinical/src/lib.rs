//! Clinical knowledge and rules for Salus, free of I/O.
//!
//! This crate owns the clinical decision-support knowledge of Salus and the pure functions that
//! apply it: medication safety (drug-drug interactions from the ONC high-priority and
//! non-interruptive lists, drug-allergy checks with class cross-sensitivity, duplicate therapy),
//! the RxNorm product-to-ingredient table those checks stand on, preventive-care rules (USPSTF A/B
//! recommendations and the CDC adult immunization schedule) evaluated per patient at an as-of
//! date, and the builders that turn results into CDS Hooks cards and FHIR `DetectedIssue`
//! resources. Knowledge ships as versioned JSON files under `data/`, embedded at compile time; each
//! names its source, and every finding and care gap carries the citation of the rule behind it.
//! Inputs are FHIR R4 resources as `serde_json::Value`; outputs are plain values. The engine
//! decides what to do with them (refuse a write, show a card, answer `$care-gaps`).

pub mod allergies;
pub mod cds_cards;
pub mod duplicates;
pub mod fhir;
pub mod interactions;
pub mod knowledge;
pub mod medication_safety;
pub mod preventive;
pub mod products;

pub use medication_safety::{Finding, FindingKind, Severity};
pub use preventive::{CareGap, GapStatus, PatientRecord};

/// Errors of this crate. Input problems that can be described are reported as values
/// (findings, `NotApplicable` gaps); these are the cases where no answer can be given.
#[derive(Debug, thiserror::Error)]
pub enum ClinicalError {
    /// An embedded knowledge file failed to parse: a packaging bug, reported rather than panicking.
    #[error("knowledge file {file} is invalid: {message}")]
    Knowledge { file: &'static str, message: String },
    /// The resources given for a patient record contain no Patient resource.
    #[error("no Patient resource among the resources given")]
    NoPatient,
    /// A value that should be a FHIR resource is not one.
    #[error("not a FHIR resource: {0}")]
    NotAResource(String),
}
