//! Which Patient compartment a resource belongs to: the `patient_key` stored on every row, so
//! that patient-scoped reads stay on one index range (and, on PostgreSQL with Citus, one shard).
//!
//! The Patient CompartmentDefinition lists, for each resource type, the search parameters
//! whose reference places a resource in a patient's compartment (`Observation`: subject,
//! performer). The key is the patient named by the first of them that names one, read from the
//! version's index terms, so it follows the same definitions search uses. A resource that names
//! several patients is in each compartment for search; its storage key is the first.

use salus_search::query::{Condition, Predicate};
use salus_search::{IndexTerms, ParamType, Query};
use salus_store::{ReadTx, StoreError};

pub fn patient_key(resource_type: &str, id: &str, terms: &IndexTerms) -> Option<String> {
    if resource_type == "Patient" {
        return Some(id.to_string());
    }
    let def = salus_fhir::r4().compartment("Patient")?;
    let entry = def.resource.iter().find(|r| r.code == resource_type)?;
    entry.param.iter().find_map(|param| {
        terms
            .references
            .iter()
            .find(|r| r.param == *param && r.target_type.as_deref() == Some("Patient"))
            .and_then(|r| r.target_id.clone())
    })
}

/// Narrows a search of `Patient/{patient}`'s compartment to the types that compartment holds,
/// so that only their arms are compiled (a patient has rows of a dozen of the ~66 types). Run
/// it in the read transaction that runs the search.
pub(crate) fn narrow_to_present_types(tx: &mut dyn ReadTx, query: &mut Query, patient: &str) -> Result<(), StoreError> {
    let narrowing = Narrowing::of(query, patient);
    query.types = narrowing.present(tx, patient)?;
    Ok(())
}

/// What decides which types of a compartment query can match: exact by construction. A type
/// is dropped only when its compartment condition is a set of reference conditions naming the
/// patient and the store finds no resource of the type keyed to the patient or referring to it
/// through one of those parameters, so its arm could match nothing. Any other shape (the
/// Patient's own `_id`, a predicate on another target) keeps the type.
pub(crate) struct Narrowing {
    /// The query's types, in its order.
    types: Vec<String>,
    /// Those the store is asked about, and through which (type, reference parameter) pairs.
    probed: Vec<String>,
    references: Vec<(String, String)>,
}

impl Narrowing {
    /// For `query`, a compartment search of `Patient/{patient}`. The pairs depend on the
    /// compartment's definition only, so they hold for every patient's query of that shape.
    pub(crate) fn of(query: &Query, patient: &str) -> Narrowing {
        let mut n = Narrowing { types: query.types.clone(), probed: Vec::new(), references: Vec::new() };
        // The compartment's condition is the parser's first; any condition would do, since
        // every condition must hold for a match.
        let Some(first) = query.conditions.first() else { return n };
        for t in &query.types {
            if let Some(params) = first.for_type(t).and_then(|c| reference_params(c, patient)) {
                n.probed.push(t.clone());
                n.references.extend(params.into_iter().map(|p| (t.clone(), p)));
            }
        }
        n
    }

    /// The types `Patient/{patient}`'s compartment may hold a resource of, in the query's order.
    pub(crate) fn present(&self, tx: &mut dyn ReadTx, patient: &str) -> Result<Vec<String>, StoreError> {
        if self.probed.is_empty() {
            return Ok(self.types.clone());
        }
        let present = tx.patient_compartment_types(patient, &self.references)?;
        Ok(self.types.iter().filter(|t| !self.probed.contains(t) || present.contains(t)).cloned().collect())
    }
}

impl crate::Engine {
    /// For each of `patients`, the types of `types` (of the Patient compartment) its
    /// compartment may hold a resource of (see [`Narrowing`]), in one read transaction: for
    /// the compartment searches a Patient-level export issues after it, one per patient. The
    /// export already lists the types that hold resources when it begins; a list read a page
    /// of patients earlier is of the same kind.
    pub(crate) async fn patient_compartment_types(&self, patients: &[String], types: &[String]) -> Result<Vec<Vec<String>>, crate::EngineError> {
        if types.is_empty() {
            return Ok(vec![Vec::new(); patients.len()]);
        }
        // Any valid id shapes the query; the pairs it yields are every patient's.
        const ANY: &str = "salus-compartment-patient";
        let query = self.parse_query(None, Some(("Patient", ANY)), &[("_type".to_string(), types.join(","))], false)?;
        let narrowing = Narrowing::of(&query, ANY);
        let patients = patients.to_vec();
        self.store
            .read(move |tx| {
                let present = patients.iter().map(|p| narrowing.present(tx, p)).collect::<Result<Vec<_>, _>>()?;
                Ok::<_, crate::EngineError>(present)
            })
            .await
    }
}

/// The reference parameters of a condition that holds exactly when one of them names
/// `Patient/{patient}`; `None` for any other condition.
fn reference_params(c: &Condition, patient: &str) -> Option<Vec<String>> {
    let names_patient = |p: &Predicate| matches!(p, Predicate::Reference { types, id } if id == patient && types.len() == 1 && types[0] == "Patient");
    let one = |c: &Condition| match c {
        Condition::Match { table: ParamType::Reference, param, any_of } if !any_of.is_empty() && any_of.iter().all(names_patient) => {
            Some(param.clone())
        }
        _ => None,
    };
    match c {
        Condition::AnyOf(cs) => cs.iter().map(one).collect(),
        c => one(c).map(|p| vec![p]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use salus_search::terms::ReferenceTerm;

    fn reference(param: &str, target: &str) -> ReferenceTerm {
        let (t, i) = target.split_once('/').unwrap_or(("", target));
        ReferenceTerm {
            param: param.into(),
            target_type: Some(t.into()),
            target_id: Some(i.into()),
            url: None,
            version: None,
        }
    }

    #[test]
    fn only_reference_conditions_naming_the_patient_can_rule_a_type_out() {
        let names = |param: &str, t: &str, id: &str| Condition::Match {
            table: ParamType::Reference,
            param: param.into(),
            any_of: vec![Predicate::Reference { types: vec![t.into()], id: id.into() }],
        };
        let both = Condition::AnyOf(vec![names("subject", "Patient", "p"), names("performer", "Patient", "p")]);
        assert_eq!(reference_params(&both, "p"), Some(vec!["subject".to_string(), "performer".to_string()]));
        let with_id = Condition::AnyOf(vec![Condition::Ids(vec!["p".into()]), names("link", "Patient", "p")]);
        assert_eq!(reference_params(&with_id, "p"), None, "the Patient's own id keeps its type");
        assert_eq!(reference_params(&names("subject", "Group", "p"), "p"), None);
        assert_eq!(reference_params(&names("subject", "Patient", "q"), "p"), None);
        let any_type = Condition::Match {
            table: ParamType::Reference,
            param: "subject".into(),
            any_of: vec![Predicate::Reference { types: Vec::new(), id: "p".into() }],
        };
        assert_eq!(reference_params(&any_type, "p"), None);
        assert_eq!(reference_params(&Condition::AnyOf(Vec::new()), "p"), Some(Vec::new()), "an empty AnyOf matches nothing");
    }

    #[test]
    fn a_patient_is_its_own_compartment() {
        assert_eq!(patient_key("Patient", "p1", &IndexTerms::default()), Some("p1".into()));
    }

    #[test]
    fn the_compartment_parameters_decide_in_definition_order() {
        let mut terms = IndexTerms::default();
        terms.references.push(reference("performer", "Patient/p9"));
        terms.references.push(reference("subject", "Patient/p2"));
        assert_eq!(patient_key("Observation", "o", &terms), Some("p2".into()));
        let mut group = IndexTerms::default();
        group.references.push(reference("subject", "Group/g"));
        assert_eq!(patient_key("Observation", "o", &group), None);
        assert_eq!(patient_key("Organization", "x", &terms), None, "not in the Patient compartment");
    }
}
