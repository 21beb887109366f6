//! Which Patient compartment a resource belongs to: the `patient_key` stored on every row, so
//! that patient-scoped reads stay on one index range (and, on PostgreSQL with Citus, one shard).

use serde_json::Value;

/// Elements that name the patient a clinical resource is about, in the order they are tried.
/// The Patient CompartmentDefinition lists more (performer, author, ...); a resource that
/// refers to several patients belongs to each compartment for search, but the storage key is
/// the one patient it is *about*.
const SUBJECT_ELEMENTS: &[&str] = &["subject", "patient", "beneficiary", "individual", "who"];

pub fn patient_key(resource_type: &str, id: &str, resource: &Value) -> Option<String> {
    if resource_type == "Patient" {
        return Some(id.to_string());
    }
    SUBJECT_ELEMENTS.iter().find_map(|name| {
        let reference = resource.get(*name)?.get("reference")?.as_str()?;
        let patient = reference.strip_prefix("Patient/")?;
        let patient = patient.split('/').next().unwrap_or(patient);
        salus_fhir::resource::is_valid_id(patient).then(|| patient.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_patient_is_its_own_compartment() {
        assert_eq!(patient_key("Patient", "p1", &json!({})), Some("p1".into()));
    }

    #[test]
    fn a_clinical_resource_belongs_to_its_subject() {
        let obs = json!({"subject": {"reference": "Patient/p2/_history/3"}});
        assert_eq!(patient_key("Observation", "o", &obs), Some("p2".into()));
        let other = json!({"subject": {"reference": "Group/g"}});
        assert_eq!(patient_key("Observation", "o", &other), None);
    }
}
