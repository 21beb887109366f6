//! Medication safety for one new order against what the patient already takes and is allergic to.
//!
//! `check` is what the engine calls before committing a MedicationRequest: a `High` finding
//! means contraindicated, and the write is refused unless the prescriber overrides it (the
//! override is recorded as a `DetectedIssue`, see `cds_cards::detected_issue`).

use crate::products::{self, IngredientRef, ResolvedMedication};
use crate::{allergies, duplicates, interactions, ClinicalError};
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informational; never interrupts.
    Low,
    /// Warn; the prescriber decides.
    Moderate,
    /// Contraindicated: refuse unless overridden with a reason.
    High,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Moderate => "moderate",
            Severity::High => "high",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingKind {
    Interaction,
    Allergy,
    Duplicate,
}

impl FindingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::Interaction => "interaction",
            FindingKind::Allergy => "allergy",
            FindingKind::Duplicate => "duplicate",
        }
    }
}

/// Where a finding's knowledge comes from, for the clinician to judge it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Citation {
    pub label: String,
    pub url: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub kind: FindingKind,
    pub severity: Severity,
    /// Stable identifier of the rule that fired, e.g. `onc-high-25`, `allergy-group:penicillin`.
    pub rule_id: String,
    /// The ingredients involved: the ordered one(s) first, then the conflicting ones.
    pub ingredients: Vec<IngredientRef>,
    pub message: String,
    pub source: Citation,
    /// `Type/id` of the active medication or allergy the order conflicts with, when known.
    pub conflicts_with: Option<String>,
}

impl Finding {
    /// Whether this finding, unless overridden, refuses the write.
    pub fn blocks(&self) -> bool {
        self.severity == Severity::High
    }
}

/// Checks one order (a MedicationRequest, or the Medication it orders) against the patient's
/// active medications (MedicationRequest / MedicationStatement / Medication) and allergies
/// (AllergyIntolerance). Inactive medications and inactive, resolved, refuted or entered-in-error
/// allergies are ignored. Findings come back most severe first.
pub fn check(order: &Value, active_medications: &[Value], allergy_list: &[Value]) -> Result<Vec<Finding>, ClinicalError> {
    let ordered = products::resolve(order)?;
    let mut current: Vec<ResolvedMedication> = Vec::new();
    for m in active_medications {
        if !products::is_current(m) {
            continue;
        }
        // The order itself may already be in the list (order-sign hooks send drafts too).
        if ordered.reference.is_some() && fhir_ref(m) == ordered.reference {
            continue;
        }
        if let Ok(r) = products::resolve(m) {
            current.push(r);
        }
    }
    let mut findings = interactions::check(&ordered, &current)?;
    findings.extend(allergies::check(&ordered, allergy_list)?);
    findings.extend(duplicates::check(&ordered, &current)?);
    findings.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.rule_id.cmp(&b.rule_id)));
    Ok(findings)
}

fn fhir_ref(v: &Value) -> Option<String> {
    crate::fhir::reference_to(v)
}

/// The highest severity among findings, if any.
pub fn highest(findings: &[Finding]) -> Option<Severity> {
    findings.iter().map(|f| f.severity).max()
}
