//! Vital signs charted at each office visit, as Observations conforming to the FHIR R4
//! vital-signs profiles (LOINC codes and UCUM units fixed by those profiles: 85354-9 with
//! 8480-6/8462-4 in mm[Hg], 8867-4 and 9279-1 in /min, 29463-7 kg, 8302-2 cm, 39156-5 kg/m2,
//! 8310-5 Cel, 2708-6 with 59408-5 in %).

use serde_json::{Map, Value, json};

use crate::clinic_time::DateTime;
use crate::fhir::{
    LOINC, coding, concept_text, datetime, obs_category, quantity, reference, resource, round,
};
use crate::physiology::Body;
use crate::rng::Rng;

/// What was measured, rounded as charted, for the note.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Vitals {
    pub bp: Option<(f64, f64)>,
    pub hr: f64,
    pub rr: f64,
    pub temp: f64,
    pub spo2: Option<f64>,
    pub weight: f64,
    pub height: f64,
    pub bmi: Option<f64>,
}

pub(crate) struct Ctx<'a> {
    pub patient: &'a str,
    pub encounter: &'a str,
    pub performer: &'a str,
    pub at: DateTime,
}

fn base(ctx: &Ctx<'_>, profile: &str, codings: Value, text: &str) -> Map<String, Value> {
    let mut r = resource("Observation");
    r.insert(
        "meta".into(),
        json!({ "profile": [format!("http://hl7.org/fhir/StructureDefinition/{profile}")] }),
    );
    r.insert("status".into(), json!("final"));
    r.insert(
        "category".into(),
        obs_category("vital-signs", "Vital Signs"),
    );
    r.insert("code".into(), json!({ "coding": codings, "text": text }));
    r.insert("subject".into(), reference(ctx.patient));
    r.insert("encounter".into(), reference(ctx.encounter));
    r.insert("effectiveDateTime".into(), datetime(ctx.at));
    r.insert("performer".into(), json!([reference(ctx.performer)]));
    r
}

fn simple(
    ctx: &Ctx<'_>,
    profile: &str,
    code: &str,
    display: &str,
    value: Value,
) -> Map<String, Value> {
    let mut r = base(ctx, profile, json!([coding(LOINC, code, display)]), display);
    r.insert("valueQuantity".into(), value);
    r
}

/// The vital-sign Observations of one visit. `fever` raises the temperature for febrile
/// illnesses; `noise` is the visit's own stream, shared with the decisions made at the visit.
pub(crate) fn measure(
    body: &Body<'_>,
    ctx: &Ctx<'_>,
    noise: &mut Rng,
    fever: bool,
) -> (Vitals, Vec<Map<String, Value>>) {
    let d = ctx.at.date;
    let age = body.person.age_on(d);
    let mut out = Vec::new();
    let mut v = Vitals::default();
    if age >= 3 {
        let sbp = round(body.sbp(d) + noise.normal(0.0, 5.0), 0);
        let dbp = round((body.dbp(d) + noise.normal(0.0, 3.5)).min(sbp - 20.0), 0);
        v.bp = Some((sbp, dbp));
        let mut r = base(
            ctx,
            "bp",
            json!([coding(
                LOINC,
                "85354-9",
                "Blood pressure panel with all children optional"
            )]),
            "Blood pressure",
        );
        r.insert(
            "component".into(),
            json!([
                { "code": concept_text(LOINC, "8480-6", "Systolic blood pressure", "Systolic blood pressure"),
                  "valueQuantity": quantity(sbp, 0, "mmHg", "mm[Hg]") },
                { "code": concept_text(LOINC, "8462-4", "Diastolic blood pressure", "Diastolic blood pressure"),
                  "valueQuantity": quantity(dbp, 0, "mmHg", "mm[Hg]") }
            ]),
        );
        out.push(r);
    }
    v.hr = round(
        body.heart_rate(d) + noise.normal(0.0, 5.0) + if fever { 10.0 } else { 0.0 },
        0,
    );
    out.push(simple(
        ctx,
        "heartrate",
        "8867-4",
        "Heart rate",
        quantity(v.hr, 0, "beats/minute", "/min"),
    ));
    v.rr = round(body.resp_rate(d) + noise.normal(0.0, 1.5), 0);
    out.push(simple(
        ctx,
        "resprate",
        "9279-1",
        "Respiratory rate",
        quantity(v.rr, 0, "breaths/minute", "/min"),
    ));
    v.temp = round(
        if fever {
            noise.uniform(38.0, 38.9)
        } else {
            noise.normal(36.8, 0.2)
        },
        1,
    );
    out.push(simple(
        ctx,
        "bodytemp",
        "8310-5",
        "Body temperature",
        quantity(v.temp, 1, "C", "Cel"),
    ));
    if age >= 12 {
        let spo2 = round((body.spo2(d) + noise.normal(0.0, 0.8)).min(100.0), 0);
        v.spo2 = Some(spo2);
        let codings = json!([
            coding(LOINC, "2708-6", "Oxygen saturation in Arterial blood"),
            coding(
                LOINC,
                "59408-5",
                "Oxygen saturation in Arterial blood by Pulse oximetry"
            )
        ]);
        let mut r = base(
            ctx,
            "oxygensat",
            codings,
            "Oxygen saturation by pulse oximetry",
        );
        r.insert("valueQuantity".into(), quantity(spo2, 0, "%", "%"));
        out.push(r);
    }
    v.height = round(body.height_cm(d) + noise.normal(0.0, 0.3), 1);
    v.weight = round(
        body.weight_kg(d) + noise.normal(0.0, if age < 2 { 0.05 } else { 0.6 }),
        1,
    );
    out.push(simple(
        ctx,
        "bodyheight",
        "8302-2",
        "Body height",
        quantity(v.height, 1, "cm", "cm"),
    ));
    out.push(simple(
        ctx,
        "bodyweight",
        "29463-7",
        "Body weight",
        quantity(v.weight, 1, "kg", "kg"),
    ));
    if age >= 2 {
        // BMI from the charted height and weight, as an EHR computes it.
        let m = v.height / 100.0;
        let bmi = round(v.weight / (m * m), 1);
        v.bmi = Some(bmi);
        out.push(simple(
            ctx,
            "bmi",
            "39156-5",
            "Body mass index (BMI) [Ratio]",
            quantity(bmi, 1, "kg/m2", "kg/m2"),
        ));
    }
    (v, out)
}

/// Smoking status (LOINC 72166-2) with the SNOMED answers US Core uses.
pub(crate) fn smoking_status(
    ctx: &Ctx<'_>,
    status: crate::demographics::Smoking,
) -> Map<String, Value> {
    let (code, display) = match status {
        crate::demographics::Smoking::Never => ("266919005", "Never smoker"),
        crate::demographics::Smoking::Former => ("8517006", "Former smoker"),
        crate::demographics::Smoking::Current => ("449868002", "Current every day smoker"),
    };
    let mut r = resource("Observation");
    r.insert("status".into(), json!("final"));
    r.insert(
        "category".into(),
        obs_category("social-history", "Social History"),
    );
    r.insert(
        "code".into(),
        concept_text(
            LOINC,
            "72166-2",
            "Tobacco smoking status",
            "Tobacco smoking status",
        ),
    );
    r.insert("subject".into(), reference(ctx.patient));
    r.insert("encounter".into(), reference(ctx.encounter));
    r.insert("effectiveDateTime".into(), datetime(ctx.at));
    r.insert("performer".into(), json!([reference(ctx.performer)]));
    r.insert(
        "valueCodeableConcept".into(),
        concept_text(crate::fhir::SNOMED, code, display, display),
    );
    r
}
