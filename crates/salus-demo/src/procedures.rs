//! Procedures and screening results: colonoscopy, screening mammography, cervical cytology and
//! HPV testing, depression screening, diabetic eye exams, spirometry.
//!
//! Codes: colonoscopy 73761001, depression screening 171207006 and diabetic retinal eye exam
//! 722161008 (SNOMED CT, as in the VSAC measure value sets); mammography as LOINC 26175-0
//! "MG Breast - bilateral Screening" and cervical cytology 10524-7 / HPV 21440-3 as laboratory
//! Observations, which is how the CMS breast and cervical screening measures (CMS125, CMS124)
//! look for them; spirometry 127783003 as in Synthea.

use serde_json::{Map, Value, json};

use crate::clinic_time::DateTime;
use crate::fhir::{
    LOINC, SNOMED, concept, concept_text, datetime, obs_category, reference, resource,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Colonoscopy,
    Mammography,
    DepressionScreening,
    DiabeticEyeExam,
    Spirometry,
}

impl Kind {
    fn code(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            Kind::Colonoscopy => (
                SNOMED,
                "73761001",
                "Colonoscopy (procedure)",
                "Screening colonoscopy",
            ),
            Kind::Mammography => (
                LOINC,
                "26175-0",
                "MG Breast - bilateral Screening",
                "Screening mammogram, bilateral",
            ),
            Kind::DepressionScreening => (
                SNOMED,
                "171207006",
                "Depression screening (procedure)",
                "Depression screening (PHQ-2)",
            ),
            Kind::DiabeticEyeExam => (
                SNOMED,
                "722161008",
                "Diabetic retinal eye exam (procedure)",
                "Dilated diabetic eye exam",
            ),
            Kind::Spirometry => (SNOMED, "127783003", "Spirometry (procedure)", "Spirometry"),
        }
    }

    pub(crate) fn label(self) -> &'static str {
        self.code().3
    }
}

pub(crate) struct Ctx<'a> {
    pub patient: &'a str,
    pub encounter: Option<&'a str>,
    pub performer: &'a str,
    pub location: Option<&'a str>,
}

pub(crate) fn procedure(
    kind: Kind,
    start: DateTime,
    end: DateTime,
    outcome: &str,
    ctx: &Ctx<'_>,
) -> Map<String, Value> {
    let (system, code, display, text) = kind.code();
    let mut r = resource("Procedure");
    r.insert("status".into(), json!("completed"));
    r.insert("code".into(), concept_text(system, code, display, text));
    r.insert("subject".into(), reference(ctx.patient));
    if let Some(e) = ctx.encounter {
        r.insert("encounter".into(), reference(e));
    }
    r.insert(
        "performedPeriod".into(),
        json!({ "start": datetime(start), "end": datetime(end) }),
    );
    r.insert(
        "performer".into(),
        json!([{ "actor": reference(ctx.performer) }]),
    );
    if let Some(l) = ctx.location {
        r.insert("location".into(), reference(l));
    }
    r.insert("outcome".into(), json!({ "text": outcome }));
    r
}

/// Cervical cytology (and, from 30, HPV co-testing) results, both negative.
pub(crate) fn cervical_screening(
    at: DateTime,
    with_hpv: bool,
    ctx: &Ctx<'_>,
    lab: &str,
) -> Vec<Map<String, Value>> {
    let mut out = Vec::new();
    let base = |code: &str, display: &str, text: &str| {
        let mut r = resource("Observation");
        r.insert("status".into(), json!("final"));
        r.insert("category".into(), obs_category("laboratory", "Laboratory"));
        r.insert("code".into(), concept_text(LOINC, code, display, text));
        r.insert("subject".into(), reference(ctx.patient));
        if let Some(e) = ctx.encounter {
            r.insert("encounter".into(), reference(e));
        }
        r.insert("effectiveDateTime".into(), datetime(at));
        r.insert("performer".into(), json!([reference(lab)]));
        r
    };
    let mut pap = base(
        "10524-7",
        "Microscopic observation [Identifier] in Cervix by Cyto stain",
        "Pap smear",
    );
    pap.insert(
        "valueString".into(),
        json!("Negative for intraepithelial lesion or malignancy (NILM)"),
    );
    out.push(pap);
    if with_hpv {
        let mut hpv = base(
            "21440-3",
            "Human papilloma virus 16+18+31+33+35+45+51+52+56 DNA [Presence] in Cervix by Probe",
            "High-risk HPV DNA",
        );
        hpv.insert(
            "valueCodeableConcept".into(),
            concept(SNOMED, "260385009", "Negative (qualifier value)"),
        );
        out.push(hpv);
    }
    out
}
