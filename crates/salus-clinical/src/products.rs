//! From a medication as ordered (RxNorm product, ingredient, or only a name) to its ingredients.

use crate::fhir::{self, RXNORM};
use crate::knowledge::{knowledge, Knowledge};
use crate::ClinicalError;
use serde::Serialize;
use serde_json::Value;

/// An ingredient by RxNorm code and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct IngredientRef {
    pub rxcui: String,
    pub name: String,
}

/// How the ingredients of a medication were found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MatchedBy {
    /// An RxNorm product or ingredient code in the table.
    RxnormCode,
    /// The listed ingredients of a Medication resource.
    MedicationIngredient,
    /// An ingredient name found in the text or display (no known code).
    Name,
    /// Nothing recognised.
    Unresolved,
}

/// A medication reduced to what the safety checks need.
#[derive(Debug, Clone, Serialize)]
pub struct ResolvedMedication {
    /// A human label: the text or first display, else the first code.
    pub label: String,
    pub ingredients: Vec<IngredientRef>,
    pub matched_by: MatchedBy,
    /// `Type/id` of the resource it came from, when it has an id.
    pub reference: Option<String>,
}

/// The ingredient codes for one RxNorm code: a product's ingredients, or the ingredient itself.
pub fn ingredients_of_rxcui(rxcui: &str) -> Result<Option<Vec<IngredientRef>>, ClinicalError> {
    let k = knowledge()?;
    Ok(lookup(k, rxcui))
}

fn lookup(k: &Knowledge, rxcui: &str) -> Option<Vec<IngredientRef>> {
    if let Some(p) = k.products.get(rxcui) {
        return Some(p.ingredients.iter().map(|i| IngredientRef { rxcui: i.clone(), name: k.ingredient_name(i) }).collect());
    }
    k.ingredients.get(rxcui).map(|i| vec![IngredientRef { rxcui: i.rxcui.clone(), name: i.name.clone() }])
}

/// Ingredients whose names occur as words in free text. Longest names win so that
/// "estradiol valerate" is not read as "estradiol".
pub(crate) fn ingredients_in_text(k: &Knowledge, text: &str) -> Vec<IngredientRef> {
    let mut lowered = format!(" {} ", text.to_lowercase());
    for ch in ['/', ',', '(', ')', '[', ']', '-', '+'] {
        lowered = lowered.replace(ch, " ");
    }
    let mut found = Vec::new();
    for (name, rxcui) in &k.names_longest_first {
        let needle = format!(" {name} ");
        if lowered.contains(&needle) {
            lowered = lowered.replace(&needle, " ");
            found.push(IngredientRef { rxcui: rxcui.clone(), name: k.ingredient_name(rxcui) });
        }
    }
    found
}

fn from_concept(k: &Knowledge, cc: Option<&Value>) -> (Vec<IngredientRef>, MatchedBy) {
    let mut out = Vec::new();
    for c in fhir::codings(cc) {
        if c.system == RXNORM
            && let Some(list) = lookup(k, &c.code) {
                out.extend(list);
            }
    }
    if !out.is_empty() {
        return (out, MatchedBy::RxnormCode);
    }
    for n in fhir::names(cc) {
        out.extend(ingredients_in_text(k, &n));
        if !out.is_empty() {
            return (out, MatchedBy::Name);
        }
    }
    (out, MatchedBy::Unresolved)
}

fn label_of(cc: Option<&Value>) -> String {
    fhir::names(cc)
        .into_iter()
        .next()
        .or_else(|| fhir::codings(cc).into_iter().next().map(|c| c.code))
        .unwrap_or_else(|| "unnamed medication".to_string())
}

/// Resolves a MedicationRequest, MedicationStatement, MedicationAdministration,
/// MedicationDispense or Medication. A `medicationReference` is followed into contained
/// resources; other references must be resolved by the caller, who passes the Medication itself.
pub fn resolve(resource: &Value) -> Result<ResolvedMedication, ClinicalError> {
    let k = knowledge()?;
    let reference = fhir::reference_to(resource);
    let medication: Option<&Value> = match fhir::resource_type(resource) {
        Some("Medication") => Some(resource),
        Some(_) => match resource.get("medicationCodeableConcept") {
            Some(cc) => {
                let (ingredients, matched_by) = from_concept(k, Some(cc));
                return Ok(finish(ResolvedMedication { label: label_of(Some(cc)), ingredients, matched_by, reference }));
            }
            None => contained_medication(resource),
        },
        None => return Err(ClinicalError::NotAResource("no resourceType".to_string())),
    };
    let Some(med) = medication else {
        return Ok(ResolvedMedication { label: "unresolved medication reference".to_string(), ingredients: vec![], matched_by: MatchedBy::Unresolved, reference });
    };
    let (mut ingredients, mut matched_by) = from_concept(k, med.get("code"));
    if let Some(items) = med.get("ingredient").and_then(Value::as_array) {
        for item in items {
            let (found, how) = from_concept(k, item.get("itemCodeableConcept"));
            if !found.is_empty() {
                ingredients.extend(found);
                if matched_by == MatchedBy::Unresolved {
                    matched_by = if how == MatchedBy::Name { MatchedBy::Name } else { MatchedBy::MedicationIngredient };
                }
            }
        }
    }
    Ok(finish(ResolvedMedication { label: label_of(med.get("code")), ingredients, matched_by, reference }))
}

fn finish(mut m: ResolvedMedication) -> ResolvedMedication {
    m.ingredients.sort();
    m.ingredients.dedup();
    m
}

fn contained_medication(resource: &Value) -> Option<&Value> {
    let reference = resource.get("medicationReference").and_then(|r| fhir::str_at(r, "reference"))?;
    let id = reference.strip_prefix('#')?;
    resource
        .get("contained")
        .and_then(Value::as_array)?
        .iter()
        .find(|c| fhir::resource_type(c) == Some("Medication") && fhir::str_at(c, "id") == Some(id))
}

/// Whether a medication resource describes something the patient is taking now. Orders and
/// statements that are stopped, completed, cancelled, entered in error or not taken do not count.
pub fn is_current(resource: &Value) -> bool {
    let status = fhir::str_at(resource, "status").unwrap_or("");
    match fhir::resource_type(resource) {
        Some("MedicationRequest") => !matches!(status, "stopped" | "completed" | "cancelled" | "entered-in-error" | "revoked" | "ended"),
        Some("MedicationStatement") => !matches!(status, "stopped" | "completed" | "entered-in-error" | "not-taken" | "cancelled"),
        Some("MedicationDispense") | Some("MedicationAdministration") => !matches!(status, "entered-in-error" | "cancelled" | "stopped" | "declined" | "not-done"),
        Some("Medication") => status != "entered-in-error" && status != "inactive",
        _ => false,
    }
}
