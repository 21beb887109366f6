//! Which Patient compartment a resource belongs to: the `patient_key` stored on every row, so
//! that patient-scoped reads stay on one index range (and, on PostgreSQL with Citus, one shard).
//!
//! The Patient CompartmentDefinition lists, for each resource type, the search parameters
//! whose reference places a resource in a patient's compartment (`Observation`: subject,
//! performer). The key is the patient named by the first of them that names one, read from the
//! version's index terms, so it follows the same definitions search uses. A resource that names
//! several patients is in each compartment for search; its storage key is the first.

use salus_search::IndexTerms;

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
