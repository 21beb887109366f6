//! CarePlans for chronic conditions: what the team agreed to do about each one.
//!
//! Category and activity codes are SNOMED CT concepts seen in Synthea's published care plans
//! (698360004 diabetes self management plan, 699728000 asthma self management, 736285004
//! hyperlipidemia clinical management plan, 412776001 COPD clinical management plan; activities
//! 160670007, 229065009, 183063000, 710818004, 710081004, 226234005, 15081005).

use salus_fhir::date::Date;
use serde_json::{Map, Value, json};

use crate::conditions::{Diagnosis, Problem};
use crate::demographics::Smoking;
use crate::fhir::{SNOMED, concept, date, reference, resource};

fn activity(code: &str, display: &str, description: &str) -> Value {
    json!({ "detail": { "code": concept(SNOMED, code, display), "status": "in-progress", "description": description } })
}

/// A care plan for the problem, or `None` for problems managed without one.
pub(crate) fn care_plan(
    dx: &Diagnosis,
    patient: &str,
    author: &str,
    smoking: Smoking,
    created: Date,
) -> Option<Map<String, Value>> {
    let condition = format!("urn:uuid:{}", dx.uuid);
    let (category, title, mut activities) = match dx.problem {
        Problem::Diabetes => (
            Some(("698360004", "Diabetes self management plan")),
            "Type 2 diabetes management",
            vec![
                activity(
                    "160670007",
                    "Diabetic diet",
                    "Carbohydrate-consistent diet; dietitian referral",
                ),
                activity(
                    "229065009",
                    "Exercise therapy",
                    "150 minutes of moderate activity per week",
                ),
            ],
        ),
        Problem::Hypertension => (
            None,
            "Hypertension management",
            vec![
                activity(
                    "183063000",
                    "low salt diet education",
                    "Sodium under 2 g per day",
                ),
                activity(
                    "229065009",
                    "Exercise therapy",
                    "Brisk walking 30 minutes on most days; home BP log",
                ),
            ],
        ),
        Problem::Hyperlipidemia => (
            Some(("736285004", "Hyperlipidemia clinical management plan")),
            "Lipid management",
            vec![activity(
                "226234005",
                "Healthy diet",
                "Mediterranean-style diet, limit saturated fat",
            )],
        ),
        Problem::Asthma => (
            Some(("699728000", "Asthma self management")),
            "Asthma action plan",
            vec![activity(
                "710818004",
                "Inhaled steroid therapy",
                "Controller inhaler as prescribed; rescue inhaler for symptoms",
            )],
        ),
        Problem::Copd => (
            Some((
                "412776001",
                "Chronic obstructive pulmonary disease clinical management plan",
            )),
            "COPD management",
            vec![activity(
                "15081005",
                "Pulmonary rehabilitation (regime/therapy)",
                "Pulmonary rehabilitation program",
            )],
        ),
        _ => return None,
    };
    if smoking == Smoking::Current
        && matches!(
            dx.problem,
            Problem::Copd | Problem::Hypertension | Problem::Diabetes
        )
    {
        activities.push(activity(
            "710081004",
            "Smoking cessation therapy",
            "Counseling and nicotine replacement offered",
        ));
    }
    let mut r = resource("CarePlan");
    r.insert("status".into(), json!("active"));
    r.insert("intent".into(), json!("plan"));
    let mut categories = vec![json!({
        "coding": [{ "system": "http://hl7.org/fhir/us/core/CodeSystem/careplan-category", "code": "assess-plan", "display": "Assessment and Plan of Treatment" }]
    })];
    if let Some((code, display)) = category {
        categories.push(concept(SNOMED, code, display));
    }
    r.insert("category".into(), Value::Array(categories));
    r.insert("title".into(), json!(title));
    r.insert("subject".into(), reference(patient));
    r.insert("period".into(), json!({ "start": date(created) }));
    r.insert("created".into(), date(created));
    r.insert("author".into(), reference(author));
    r.insert("addresses".into(), json!([reference(&condition)]));
    r.insert("activity".into(), Value::Array(activities));
    Some(r)
}
