//! Allergies and intolerances.
//!
//! Substance codes: penicillin G as RxNorm 7980 (the coding the FHIR R4 AllergyIntolerance
//! example uses), codeine 2670 and aspirin 1191 (RxNorm ingredients), sulfonamide 387406002,
//! peanut 256349002 and latex 111088007 (SNOMED CT substances). Reactions: hives 247472004 and
//! anaphylaxis 39579001 (as in the FHIR examples), skin eruption 271807003, nausea 422587007,
//! dyspnea 267036007. Prevalences are rounded figures from allergy literature (about one in ten
//! patients carries a penicillin label).

use salus_fhir::date::Date;
use serde_json::{Map, Value, json};

use crate::demographics::Person;
use crate::fhir::{RXNORM, SNOMED, coding, concept, date, reference, resource};
use crate::rng::Rng;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Allergen {
    Penicillin,
    Sulfonamide,
    Peanut,
    Latex,
    Codeine,
    Aspirin,
}

pub(crate) struct Allergy {
    pub allergen: Allergen,
    pub onset: Date,
    pub uuid: String,
    pub severe: bool,
}

impl Allergen {
    fn code(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Allergen::Penicillin => (RXNORM, "7980", "Penicillin G"),
            Allergen::Sulfonamide => (SNOMED, "387406002", "Sulfonamide (substance)"),
            Allergen::Peanut => (SNOMED, "256349002", "Peanut - dietary (substance)"),
            Allergen::Latex => (SNOMED, "111088007", "Latex (substance)"),
            Allergen::Codeine => (RXNORM, "2670", "codeine"),
            Allergen::Aspirin => (RXNORM, "1191", "aspirin"),
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Allergen::Penicillin => "penicillin",
            Allergen::Sulfonamide => "sulfa drugs",
            Allergen::Peanut => "peanut",
            Allergen::Latex => "latex",
            Allergen::Codeine => "codeine",
            Allergen::Aspirin => "aspirin",
        }
    }

    fn category(self) -> &'static str {
        match self {
            Allergen::Peanut => "food",
            Allergen::Latex => "environment",
            _ => "medication",
        }
    }

    fn is_intolerance(self) -> bool {
        self == Allergen::Codeine
    }
}

pub(crate) fn sample(
    rng: &mut Rng,
    p: &Person,
    as_of: Date,
    force_penicillin: bool,
) -> Vec<Allergy> {
    let table: &[(Allergen, f64, i64)] = &[
        (Allergen::Penicillin, 0.09, 1),
        (Allergen::Sulfonamide, 0.03, 5),
        (Allergen::Peanut, 0.02, 1),
        (Allergen::Latex, 0.01, 18),
        (Allergen::Codeine, 0.02, 12),
        (Allergen::Aspirin, 0.01, 18),
    ];
    let mut out = Vec::new();
    for &(allergen, p_has, min_age) in table {
        let forced = force_penicillin && allergen == Allergen::Penicillin;
        if (forced || rng.chance(p_has)) && p.age >= min_age {
            let earliest = p.birth.add_years(min_age as i32);
            let onset = earliest.add_days(rng.int(0, as_of.days_since(earliest).max(0)));
            let severe = allergen == Allergen::Peanut && rng.chance(0.5);
            out.push(Allergy {
                allergen,
                onset,
                uuid: rng.uuid(),
                severe,
            });
        }
    }
    out
}

pub(crate) fn resource_for(
    a: &Allergy,
    patient: &str,
    recorder: &str,
    recorded: Date,
) -> Map<String, Value> {
    let (system, code, display) = a.allergen.code();
    let mut r = resource("AllergyIntolerance");
    r.insert(
        "clinicalStatus".into(),
        json!({ "coding": [coding("http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "active", "Active")] }),
    );
    r.insert(
        "verificationStatus".into(),
        json!({ "coding": [coding("http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "confirmed", "Confirmed")] }),
    );
    r.insert(
        "type".into(),
        json!(if a.allergen.is_intolerance() {
            "intolerance"
        } else {
            "allergy"
        }),
    );
    r.insert("category".into(), json!([a.allergen.category()]));
    let criticality = if a.severe {
        "high"
    } else if a.allergen.is_intolerance() {
        "low"
    } else {
        "unable-to-assess"
    };
    r.insert("criticality".into(), json!(criticality));
    let mut c = concept(system, code, display);
    if let Some(obj) = c.as_object_mut() {
        obj.insert("text".into(), json!(a.allergen.name()));
    }
    r.insert("code".into(), c);
    r.insert("patient".into(), reference(patient));
    r.insert("onsetDateTime".into(), date(a.onset));
    r.insert("recordedDate".into(), date(recorded));
    r.insert("recorder".into(), reference(recorder));
    let (m_code, m_display, severity) = match a.allergen {
        Allergen::Penicillin | Allergen::Latex => ("247472004", "Hives", "moderate"),
        Allergen::Sulfonamide => ("271807003", "Eruption of skin (disorder)", "mild"),
        Allergen::Peanut if a.severe => ("39579001", "Anaphylactic reaction", "severe"),
        Allergen::Peanut => ("247472004", "Hives", "moderate"),
        Allergen::Codeine => ("422587007", "Nausea (finding)", "mild"),
        Allergen::Aspirin => ("267036007", "Dyspnea (finding)", "moderate"),
    };
    r.insert(
        "reaction".into(),
        json!([{ "manifestation": [concept(SNOMED, m_code, m_display)], "severity": severity, "onset": date(a.onset) }]),
    );
    r
}
