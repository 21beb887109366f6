//! Duplicate therapy: the ordered ingredient, or another member of the same therapeutic class,
//! is already active. Only classes flagged `duplicate_therapy` in drugs.json count, so that
//! grouping classes (QT risk, CYP inhibitors) do not raise duplicates.

use crate::knowledge::knowledge;
use crate::medication_safety::{Citation, Finding, FindingKind, Severity};
use crate::products::ResolvedMedication;
use crate::ClinicalError;

pub fn check(ordered: &ResolvedMedication, current: &[ResolvedMedication]) -> Result<Vec<Finding>, ClinicalError> {
    let k = knowledge()?;
    let mut out: Vec<Finding> = Vec::new();
    let citation = Citation { label: format!("Salus therapeutic classes (after WHO ATC level 4), drugs.json {}", k.drugs_version), url: Some("https://www.whocc.no/atc_ddd_index/".to_string()) };
    for med in current {
        for a in &ordered.ingredients {
            for b in &med.ingredients {
                let (rule_id, message) = if a.rxcui == b.rxcui {
                    (format!("duplicate-ingredient:{}", a.rxcui), format!("{} is already active ({}).", a.name, med.label))
                } else {
                    let shared = k.classes.iter().find(|c| c.duplicate_therapy && c.members.contains(&a.rxcui) && c.members.contains(&b.rxcui));
                    match shared {
                        Some(c) => (format!("duplicate-class:{}", c.id), format!("{} and {} are both {} (duplicate therapy; {} is active).", a.name, b.name, c.name.to_lowercase(), med.label)),
                        None => continue,
                    }
                };
                if out.iter().any(|f| f.rule_id == rule_id && f.conflicts_with == med.reference) {
                    continue;
                }
                out.push(Finding { kind: FindingKind::Duplicate, severity: Severity::Moderate, rule_id, ingredients: vec![a.clone(), b.clone()], message, source: citation.clone(), conflicts_with: med.reference.clone() });
            }
        }
    }
    Ok(out)
}
