//! Drug-drug interactions from the ONC lists (Phansalkar et al. 2012 high-priority, contraindicated;
//! 2013 non-interruptive, informational). Pairs are matched on RxNorm ingredients in either order.

use crate::knowledge::{knowledge, InteractionList, InteractionPair};
use crate::medication_safety::{Citation, Finding, FindingKind, Severity};
use crate::products::ResolvedMedication;
use crate::ClinicalError;

fn in_side(side: &[crate::knowledge::SideDrug], rxcui: &str) -> bool {
    side.iter().any(|d| d.rxcui == rxcui)
}

/// Whether the pair fires for ingredient `a` (ordered) and `b` (current), either way round.
fn pair_matches(p: &InteractionPair, a: &str, b: &str) -> bool {
    if a == b {
        return false;
    }
    (in_side(&p.object, a) && in_side(&p.precipitant, b)) || (in_side(&p.object, b) && in_side(&p.precipitant, a))
}

fn citation(list: &InteractionList) -> Citation {
    let label = if list.severity == "high" {
        "ONC high-priority drug-drug interactions (Phansalkar et al., JAMIA 2012)"
    } else {
        "ONC non-interruptive drug-drug interactions (Phansalkar et al., JAMIA 2013)"
    };
    Citation { label: label.to_string(), url: Some(list.url.clone()) }
}

fn scan(list: &InteractionList, severity: Severity, ordered: &ResolvedMedication, current: &[ResolvedMedication], out: &mut Vec<Finding>) {
    for med in current {
        for a in &ordered.ingredients {
            for b in &med.ingredients {
                for p in &list.pairs {
                    if !pair_matches(p, &a.rxcui, &b.rxcui) {
                        continue;
                    }
                    // One finding per rule and drug pair, however many products carry them.
                    if out.iter().any(|f| f.rule_id == p.id && f.ingredients.first() == Some(a) && f.ingredients.get(1) == Some(b)) {
                        continue;
                    }
                    let message = format!(
                        "{} with {}: {} ({} / {}; {} #{}). {}",
                        a.name, b.name, severity_words(severity), p.object_class, p.precipitant_class,
                        if severity == Severity::High { "ONC high-priority pair" } else { "ONC non-interruptive pair" },
                        p.onc_number, p.message
                    );
                    out.push(Finding {
                        kind: FindingKind::Interaction,
                        severity,
                        rule_id: p.id.clone(),
                        ingredients: vec![a.clone(), b.clone()],
                        message,
                        source: citation(list),
                        conflicts_with: med.reference.clone(),
                    });
                }
            }
        }
    }
}

fn severity_words(s: Severity) -> &'static str {
    match s {
        Severity::High => "contraindicated combination",
        Severity::Moderate => "use with caution",
        Severity::Low => "known interaction, usually no change needed",
    }
}

/// Interaction findings for the ordered medication against current ones.
pub fn check(ordered: &ResolvedMedication, current: &[ResolvedMedication]) -> Result<Vec<Finding>, ClinicalError> {
    let k = knowledge()?;
    let mut out = Vec::new();
    scan(&k.high, Severity::High, ordered, current, &mut out);
    scan(&k.low, Severity::Low, ordered, current, &mut out);
    Ok(out)
}

/// The interacting pairs between two ingredient codes, for callers that work on codes alone.
pub fn pairs_between(a: &str, b: &str) -> Result<Vec<(Severity, String)>, ClinicalError> {
    let k = knowledge()?;
    let mut out = Vec::new();
    for (list, sev) in [(&k.high, Severity::High), (&k.low, Severity::Low)] {
        for p in &list.pairs {
            if pair_matches(p, a, b) {
                out.push((sev, p.id.clone()));
            }
        }
    }
    Ok(out)
}
