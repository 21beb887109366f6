//! Drug-allergy checks: an allergy recorded as an RxNorm ingredient or product, a SNOMED CT
//! substance or allergy finding, or only a name, against the ingredients of the ordered product,
//! with class membership and cross-sensitivity (e.g. penicillin allergy and cephalosporins).

use crate::fhir::{self, RXNORM, SNOMED};
use crate::knowledge::{knowledge, AllergenGroup, Knowledge};
use crate::medication_safety::{Citation, Finding, FindingKind, Severity};
use crate::products::{self, IngredientRef, ResolvedMedication};
use crate::ClinicalError;
use serde_json::Value;

/// Whether an AllergyIntolerance should be checked: not inactive/resolved, not refuted or
/// entered in error. A missing clinical status counts as active (the safe reading).
pub fn is_active(allergy: &Value) -> bool {
    if fhir::resource_type(allergy) != Some("AllergyIntolerance") {
        return false;
    }
    let clinical = fhir::status_code(allergy, "clinicalStatus");
    let verification = fhir::status_code(allergy, "verificationStatus");
    !matches!(clinical.as_deref(), Some("inactive" | "resolved")) && !matches!(verification.as_deref(), Some("refuted" | "entered-in-error"))
}

/// What an allergy entry is to: specific ingredients and/or whole groups.
#[derive(Debug, Default)]
struct Allergen {
    ingredients: Vec<IngredientRef>,
    groups: Vec<String>,
}

fn allergen_of(k: &Knowledge, allergy: &Value) -> Allergen {
    let mut a = Allergen::default();
    let mut concepts: Vec<&Value> = allergy.get("code").into_iter().collect();
    if let Some(reactions) = allergy.get("reaction").and_then(Value::as_array) {
        concepts.extend(reactions.iter().filter_map(|r| r.get("substance")));
    }
    for cc in &concepts {
        for c in fhir::codings(Some(cc)) {
            if c.system == RXNORM {
                if let Ok(Some(list)) = products::ingredients_of_rxcui(&c.code) {
                    a.ingredients.extend(list);
                }
            } else if c.system == SNOMED {
                for g in &k.allergens.groups {
                    if g.snomed.iter().any(|s| s.code == c.code) {
                        a.groups.push(g.id.clone());
                    }
                }
                for s in &k.allergens.snomed_ingredients {
                    if s.code == c.code {
                        a.ingredients.push(IngredientRef { rxcui: s.ingredient.clone(), name: s.name.clone() });
                    }
                }
            }
        }
    }
    if a.ingredients.is_empty() && a.groups.is_empty() {
        // Free text such as "Penicillins" or "sulfa drugs": match group names, then ingredient names.
        for cc in &concepts {
            for name in fhir::names(Some(cc)) {
                let lowered = name.to_lowercase();
                for g in &k.allergens.groups {
                    let gname = g.name.to_lowercase();
                    let stem = gname.trim_end_matches('s');
                    if lowered.contains(stem) {
                        a.groups.push(g.id.clone());
                    }
                }
                a.ingredients.extend(products::ingredients_in_text(k, &name));
            }
        }
    }
    a
}

fn group<'a>(k: &'a Knowledge, id: &str) -> Option<&'a AllergenGroup> {
    k.allergens.groups.iter().find(|g| g.id == id)
}

fn citation() -> Citation {
    Citation { label: "Salus drug-allergy groups (RxNorm ingredients, SNOMED CT substances; cross-sensitivity per AAAAI/ACAAI drug allergy practice parameter 2022)".to_string(), url: Some("https://doi.org/10.1016/j.jaci.2022.08.028".to_string()) }
}

/// Allergy findings for the ordered medication.
pub fn check(ordered: &ResolvedMedication, allergy_list: &[Value]) -> Result<Vec<Finding>, ClinicalError> {
    let k = knowledge()?;
    let mut out: Vec<Finding> = Vec::new();
    for allergy in allergy_list.iter().filter(|a| is_active(a)) {
        let allergen = allergen_of(k, allergy);
        let reference = fhir::reference_to(allergy);
        let label = fhir::names(allergy.get("code")).into_iter().next().unwrap_or_else(|| "recorded allergen".to_string());
        for ing in &ordered.ingredients {
            let mut hit: Option<(Severity, String, String)> = None;
            if allergen.ingredients.iter().any(|a| a.rxcui == ing.rxcui) {
                hit = Some((Severity::High, format!("allergy-ingredient:{}", ing.rxcui), format!("Patient is allergic to {} ({label}); the order contains it.", ing.name)));
            }
            if hit.is_none() {
                // Class allergy: an allergy to one member (or the group) covers the group.
                for g in &k.allergens.groups {
                    let named = allergen.groups.contains(&g.id);
                    let via_member = allergen.ingredients.iter().any(|a| g.ingredients.contains(&a.rxcui));
                    if (named || via_member) && g.ingredients.contains(&ing.rxcui) && (named || g.id != "beta-lactam") {
                        hit = Some((Severity::High, format!("allergy-group:{}", g.id), format!("Patient has an allergy to {} ({label}); {} is one of them.", g.name.to_lowercase(), ing.name)));
                        break;
                    }
                }
            }
            if hit.is_none() {
                'outer: for g in &k.allergens.groups {
                    let named = allergen.groups.contains(&g.id);
                    let via_member = allergen.ingredients.iter().any(|a| g.ingredients.contains(&a.rxcui));
                    if !(named || via_member) {
                        continue;
                    }
                    for cr in &g.cross_reactive {
                        if let Some(other) = group(k, &cr.group)
                            && other.ingredients.contains(&ing.rxcui) {
                                let sev = if cr.severity == "high" { Severity::High } else { Severity::Moderate };
                                hit = Some((sev, format!("allergy-cross:{}:{}", g.id, other.id), format!("Patient has an allergy to {} ({label}); {} is in {}. {}", g.name.to_lowercase(), ing.name, other.name.to_lowercase(), cr.message)));
                                break 'outer;
                            }
                    }
                }
            }
            if let Some((severity, rule_id, message)) = hit {
                if out.iter().any(|f| f.rule_id == rule_id && f.conflicts_with == reference) {
                    continue;
                }
                out.push(Finding { kind: FindingKind::Allergy, severity, rule_id, ingredients: vec![ing.clone()], message, source: citation(), conflicts_with: reference.clone() });
            }
        }
    }
    Ok(out)
}
