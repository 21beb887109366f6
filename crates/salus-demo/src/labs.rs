//! Laboratory results: Observations with reference ranges and H/L/N interpretation, grouped by
//! DiagnosticReports (CBC, comprehensive and basic metabolic panels, lipid panel, HbA1c, urine
//! albumin/creatinine).
//!
//! LOINC codes and long common names were checked against the VSAC expansions and Synthea's
//! published data (see the crate README in the report). Reference ranges are typical adult
//! ranges as printed by large US reference laboratories; for lipids the "desirable" cut-offs of
//! NCEP ATP III are used. Derived values are computed, not drawn: LDL by Friedewald, MCV/MCH/MCHC
//! from RBC, haemoglobin and haematocrit, eGFR from creatinine by CKD-EPI 2021.

use serde_json::{Map, Value, json};

use crate::clinic_time::DateTime;
use crate::demographics::Sex;
use crate::fhir::{
    Flag, LOINC, coding, concept_text, datetime, interpretation, obs_category, quantity, reference,
    resource, round,
};
use crate::physiology::{Body, ckd_epi_2021, creatinine_for};
use crate::rng::Rng;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Panel {
    Cbc,
    Cmp,
    Bmp,
    Lipid,
    A1c,
    Uacr,
}

impl Panel {
    fn code(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Panel::Cbc => (
                "58410-2",
                "CBC panel - Blood by Automated count",
                "Complete blood count",
            ),
            Panel::Cmp => (
                "24323-8",
                "Comprehensive metabolic 2000 panel - Serum or Plasma",
                "Comprehensive metabolic panel",
            ),
            Panel::Bmp => (
                "51990-0",
                "Basic metabolic panel - Blood",
                "Basic metabolic panel",
            ),
            Panel::Lipid => (
                "24331-1",
                "Lipid 1996 panel - Serum or Plasma",
                "Lipid panel",
            ),
            Panel::A1c => (
                "4548-4",
                "Hemoglobin A1c/Hemoglobin.total in Blood",
                "Hemoglobin A1c",
            ),
            Panel::Uacr => (
                "14959-1",
                "Microalbumin/Creatinine [Mass Ratio] in Urine",
                "Urine albumin/creatinine ratio",
            ),
        }
    }
}

/// One analyte: LOINC code, a short label for notes, unit as printed, decimals, normal range.
struct Analyte {
    code: &'static str,
    label: &'static str,
    unit: &'static str,
    places: usize,
    low: Option<f64>,
    high: Option<f64>,
}

/// A charted result, rounded, with its flag.
pub(crate) struct LabResult {
    pub label: &'static str,
    pub value: f64,
    pub places: usize,
    pub unit: &'static str,
    pub flag: Flag,
    pub code: &'static str,
    pub low: Option<f64>,
    pub high: Option<f64>,
}

impl LabResult {
    pub(crate) fn text(&self) -> String {
        format!(
            "{} {:.*} {}{}",
            self.label,
            self.places,
            self.value,
            self.unit,
            self.flag.suffix()
        )
    }
}

fn result(a: Analyte, value: f64) -> LabResult {
    let value = round(value, a.places);
    let flag = match (a.low, a.high) {
        (Some(lo), _) if value < lo => Flag::Low,
        (_, Some(hi)) if value > hi => Flag::High,
        _ => Flag::Normal,
    };
    LabResult {
        label: a.label,
        value,
        places: a.places,
        unit: a.unit,
        flag,
        code: a.code,
        low: a.low,
        high: a.high,
    }
}

/// Looks an analyte's LOINC name and UCUM code up again when building the resource.
fn analyte_meta(code: &str) -> Option<(&'static str, &'static str)> {
    ALL.iter()
        .find(|(c, ..)| *c == code)
        .map(|(_, d, u)| (*d, *u))
}

const ALL: &[(&str, &str, &str)] = &[
    (
        "6690-2",
        "Leukocytes [#/volume] in Blood by Automated count",
        "10*3/uL",
    ),
    (
        "789-8",
        "Erythrocytes [#/volume] in Blood by Automated count",
        "10*6/uL",
    ),
    ("718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL"),
    (
        "4544-3",
        "Hematocrit [Volume Fraction] of Blood by Automated count",
        "%",
    ),
    ("787-2", "MCV [Entitic volume] by Automated count", "fL"),
    ("785-6", "MCH [Entitic mass] by Automated count", "pg"),
    ("786-4", "MCHC [Mass/volume] by Automated count", "g/dL"),
    (
        "788-0",
        "Erythrocyte distribution width [Ratio] by Automated count",
        "%",
    ),
    (
        "777-3",
        "Platelets [#/volume] in Blood by Automated count",
        "10*3/uL",
    ),
    (
        "2345-7",
        "Glucose [Mass/volume] in Serum or Plasma",
        "mg/dL",
    ),
    (
        "3094-0",
        "Urea nitrogen [Mass/volume] in Serum or Plasma",
        "mg/dL",
    ),
    (
        "2160-0",
        "Creatinine [Mass/volume] in Serum or Plasma",
        "mg/dL",
    ),
    (
        "98979-8",
        "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, Plasma or Blood by Creatinine-based formula (CKD-EPI 2021)",
        "mL/min/{1.73_m2}",
    ),
    (
        "2951-2",
        "Sodium [Moles/volume] in Serum or Plasma",
        "mmol/L",
    ),
    (
        "2823-3",
        "Potassium [Moles/volume] in Serum or Plasma",
        "mmol/L",
    ),
    (
        "2075-0",
        "Chloride [Moles/volume] in Serum or Plasma",
        "mmol/L",
    ),
    (
        "2028-9",
        "Carbon dioxide, total [Moles/volume] in Serum or Plasma",
        "mmol/L",
    ),
    (
        "17861-6",
        "Calcium [Mass/volume] in Serum or Plasma",
        "mg/dL",
    ),
    ("2885-2", "Protein [Mass/volume] in Serum or Plasma", "g/dL"),
    ("1751-7", "Albumin [Mass/volume] in Serum or Plasma", "g/dL"),
    (
        "1975-2",
        "Bilirubin.total [Mass/volume] in Serum or Plasma",
        "mg/dL",
    ),
    (
        "6768-6",
        "Alkaline phosphatase [Enzymatic activity/volume] in Serum or Plasma",
        "U/L",
    ),
    (
        "1742-6",
        "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma",
        "U/L",
    ),
    (
        "1920-8",
        "Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma",
        "U/L",
    ),
    (
        "2093-3",
        "Cholesterol [Mass/volume] in Serum or Plasma",
        "mg/dL",
    ),
    (
        "2571-8",
        "Triglyceride [Mass/volume] in Serum or Plasma",
        "mg/dL",
    ),
    (
        "2085-9",
        "Cholesterol in HDL [Mass/volume] in Serum or Plasma",
        "mg/dL",
    ),
    (
        "13457-7",
        "Cholesterol in LDL [Mass/volume] in Serum or Plasma by calculation",
        "mg/dL",
    ),
    ("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%"),
    (
        "14959-1",
        "Microalbumin/Creatinine [Mass Ratio] in Urine",
        "mg/g",
    ),
];

fn a(
    code: &'static str,
    label: &'static str,
    unit: &'static str,
    places: usize,
    low: Option<f64>,
    high: Option<f64>,
) -> Analyte {
    Analyte {
        code,
        label,
        unit,
        places,
        low,
        high,
    }
}

/// The results of one panel on the visit's date.
pub(crate) fn draw(panel: Panel, body: &Body<'_>, at: DateTime, noise: &mut Rng) -> Vec<LabResult> {
    let d = at.date;
    let female = body.person.sex == Sex::Female;
    let age = d.days_since(body.person.birth) as f64 / 365.25;
    let mut out = Vec::new();
    let chem = |noise: &mut Rng, out: &mut Vec<LabResult>| {
        out.push(result(
            a("2345-7", "Glucose", " mg/dL", 0, Some(70.0), Some(99.0)),
            body.glucose(d) + noise.normal(0.0, 6.0),
        ));
        let ckd = body.has_on(crate::conditions::Problem::Ckd3, d);
        out.push(result(
            a("3094-0", "BUN", " mg/dL", 0, Some(7.0), Some(20.0)),
            noise.normal(14.0, 3.0) + if ckd { 11.0 } else { 0.0 },
        ));
        // Creatinine is drawn from the kidney function, then eGFR is computed from the
        // charted creatinine, so the two always agree.
        let egfr_true = body.egfr_target(d) + noise.normal(0.0, 3.0);
        let scr = round(creatinine_for(egfr_true.max(15.0), age, female), 2);
        let (lo, hi) = if female { (0.59, 1.04) } else { (0.74, 1.35) };
        out.push(result(
            a("2160-0", "Creatinine", " mg/dL", 2, Some(lo), Some(hi)),
            scr,
        ));
        out.push(result(
            a("98979-8", "eGFR", " mL/min/1.73m2", 0, Some(60.0), None),
            ckd_epi_2021(scr, age, female),
        ));
        out.push(result(
            a("2951-2", "Sodium", " mmol/L", 0, Some(136.0), Some(145.0)),
            body.latent.sodium0 + noise.normal(0.0, 1.2),
        ));
        out.push(result(
            a("2823-3", "Potassium", " mmol/L", 1, Some(3.5), Some(5.1)),
            body.potassium(d) + noise.normal(0.0, 0.15),
        ));
        out.push(result(
            a("2075-0", "Chloride", " mmol/L", 0, Some(98.0), Some(107.0)),
            noise.normal(102.0, 2.0),
        ));
        out.push(result(
            a("2028-9", "CO2", " mmol/L", 0, Some(22.0), Some(29.0)),
            noise.normal(25.5, 1.6),
        ));
        out.push(result(
            a("17861-6", "Calcium", " mg/dL", 1, Some(8.6), Some(10.3)),
            noise.normal(9.4, 0.3),
        ));
    };
    match panel {
        Panel::Cbc => {
            let hgb = body.hemoglobin(d) + noise.normal(0.0, 0.35);
            let hct = hgb * noise.normal(2.98, 0.05);
            let mcv = noise.normal(89.0, 3.5);
            let rbc = hct * 10.0 / mcv;
            let (hgb_r, hct_r, rbc_r) = if female {
                ((12.0, 15.5), (36.0, 46.0), (4.1, 5.1))
            } else {
                ((13.5, 17.5), (41.0, 53.0), (4.5, 5.9))
            };
            let rbc = round(rbc, 2);
            let hgb = round(hgb, 1);
            let hct = round(hct, 1);
            out.push(result(
                a("6690-2", "WBC", " x10^3/uL", 1, Some(4.0), Some(11.0)),
                body.latent.wbc0 + noise.normal(0.0, 0.6),
            ));
            out.push(result(
                a("789-8", "RBC", " x10^6/uL", 2, Some(rbc_r.0), Some(rbc_r.1)),
                rbc,
            ));
            out.push(result(
                a(
                    "718-7",
                    "Hemoglobin",
                    " g/dL",
                    1,
                    Some(hgb_r.0),
                    Some(hgb_r.1),
                ),
                hgb,
            ));
            out.push(result(
                a(
                    "4544-3",
                    "Hematocrit",
                    " %",
                    1,
                    Some(hct_r.0),
                    Some(hct_r.1),
                ),
                hct,
            ));
            out.push(result(
                a("787-2", "MCV", " fL", 1, Some(80.0), Some(100.0)),
                hct * 10.0 / rbc,
            ));
            out.push(result(
                a("785-6", "MCH", " pg", 1, Some(27.0), Some(33.0)),
                hgb * 10.0 / rbc,
            ));
            out.push(result(
                a("786-4", "MCHC", " g/dL", 1, Some(32.0), Some(36.0)),
                hgb * 100.0 / hct,
            ));
            out.push(result(
                a("788-0", "RDW", " %", 1, Some(11.5), Some(14.5)),
                noise.normal(13.0, 0.6),
            ));
            out.push(result(
                a(
                    "777-3",
                    "Platelets",
                    " x10^3/uL",
                    0,
                    Some(150.0),
                    Some(400.0),
                ),
                body.latent.plt0 + noise.normal(0.0, 15.0),
            ));
        }
        Panel::Bmp => chem(noise, &mut out),
        Panel::Cmp => {
            chem(noise, &mut out);
            out.push(result(
                a("2885-2", "Total protein", " g/dL", 1, Some(6.0), Some(8.3)),
                noise.normal(7.0, 0.35),
            ));
            out.push(result(
                a("1751-7", "Albumin", " g/dL", 1, Some(3.5), Some(5.0)),
                noise.normal(4.2, 0.25),
            ));
            out.push(result(
                a(
                    "1975-2",
                    "Total bilirubin",
                    " mg/dL",
                    1,
                    Some(0.1),
                    Some(1.2),
                ),
                noise.normal(0.6, 0.2).max(0.2),
            ));
            out.push(result(
                a(
                    "6768-6",
                    "Alkaline phosphatase",
                    " U/L",
                    0,
                    Some(44.0),
                    Some(147.0),
                ),
                noise.normal(78.0, 18.0),
            ));
            out.push(result(
                a("1742-6", "ALT", " U/L", 0, Some(7.0), Some(56.0)),
                noise.normal(24.0, 8.0).max(8.0),
            ));
            out.push(result(
                a("1920-8", "AST", " U/L", 0, Some(10.0), Some(40.0)),
                noise.normal(23.0, 6.0).max(11.0),
            ));
        }
        Panel::Lipid => {
            let (ldl, hdl, tg) = body.lipids(d);
            let hdl = round(hdl + noise.normal(0.0, 3.0), 0);
            let tg = round(tg * noise.normal(1.0, 0.12), 0);
            let ldl = round(ldl * noise.normal(1.0, 0.06), 0);
            // Total cholesterol is what the lab measures; LDL is then reported by Friedewald.
            let total = hdl + ldl + round(tg / 5.0, 0);
            out.push(result(
                a(
                    "2093-3",
                    "Total cholesterol",
                    " mg/dL",
                    0,
                    None,
                    Some(199.0),
                ),
                total,
            ));
            out.push(result(
                a("2571-8", "Triglycerides", " mg/dL", 0, None, Some(149.0)),
                tg,
            ));
            let hdl_low = if female { 50.0 } else { 40.0 };
            out.push(result(
                a("2085-9", "HDL", " mg/dL", 0, Some(hdl_low), None),
                hdl,
            ));
            out.push(result(
                a("13457-7", "LDL (calc)", " mg/dL", 0, None, Some(99.0)),
                total - hdl - round(tg / 5.0, 0),
            ));
        }
        Panel::A1c => {
            out.push(result(
                a("4548-4", "HbA1c", "%", 1, Some(4.0), Some(5.6)),
                body.a1c(d) + noise.normal(0.0, 0.12),
            ));
        }
        Panel::Uacr => {
            let dm_years = body
                .onset(crate::conditions::Problem::Diabetes)
                .map(|o| d.days_since(o) as f64 / 365.25)
                .unwrap_or(0.0);
            let base = if body.has_on(crate::conditions::Problem::Ckd3, d) {
                70.0
            } else {
                12.0 + 3.0 * dm_years
            };
            out.push(result(
                a(
                    "14959-1",
                    "Urine albumin/creatinine",
                    " mg/g",
                    0,
                    None,
                    Some(29.0),
                ),
                base * noise.normal(1.0, 0.3).max(0.2),
            ));
        }
    }
    out
}

pub(crate) struct Ctx<'a> {
    pub patient: &'a str,
    pub encounter: &'a str,
    pub lab: &'a str,
    pub collected: DateTime,
    pub issued: DateTime,
}

/// The Observations and the DiagnosticReport of one panel; returns (uuid, resource) pairs with
/// the report last.
pub(crate) fn resources(
    panel: Panel,
    results: &[LabResult],
    ctx: &Ctx<'_>,
    rng: &mut Rng,
) -> Vec<(String, Map<String, Value>)> {
    let mut out = Vec::new();
    let mut refs = Vec::new();
    for res in results {
        let (display, ucum) = analyte_meta(res.code).unwrap_or((res.label, "1"));
        let uuid = rng.uuid();
        let mut r = resource("Observation");
        r.insert("status".into(), json!("final"));
        r.insert("category".into(), obs_category("laboratory", "Laboratory"));
        r.insert(
            "code".into(),
            concept_text(LOINC, res.code, display, res.label),
        );
        r.insert("subject".into(), reference(ctx.patient));
        r.insert("encounter".into(), reference(ctx.encounter));
        r.insert("effectiveDateTime".into(), datetime(ctx.collected));
        r.insert("issued".into(), datetime(ctx.issued));
        r.insert("performer".into(), json!([reference(ctx.lab)]));
        let unit = res.unit.trim();
        r.insert(
            "valueQuantity".into(),
            quantity(res.value, res.places, unit, ucum),
        );
        r.insert("interpretation".into(), interpretation(res.flag));
        let mut range = Map::new();
        if let Some(lo) = res.low {
            range.insert("low".into(), quantity(lo, res.places, unit, ucum));
        }
        if let Some(hi) = res.high {
            range.insert("high".into(), quantity(hi, res.places, unit, ucum));
        }
        r.insert("referenceRange".into(), json!([Value::Object(range)]));
        refs.push(reference(&format!("urn:uuid:{uuid}")));
        out.push((uuid, r));
    }
    let (code, display, text) = panel.code();
    let mut dr = resource("DiagnosticReport");
    dr.insert("status".into(), json!("final"));
    dr.insert(
        "category".into(),
        json!([{ "coding": [coding("http://terminology.hl7.org/CodeSystem/v2-0074", "LAB", "Laboratory")] }]),
    );
    dr.insert("code".into(), concept_text(LOINC, code, display, text));
    dr.insert("subject".into(), reference(ctx.patient));
    dr.insert("encounter".into(), reference(ctx.encounter));
    dr.insert("effectiveDateTime".into(), datetime(ctx.collected));
    dr.insert("issued".into(), datetime(ctx.issued));
    dr.insert("performer".into(), json!([reference(ctx.lab)]));
    dr.insert("result".into(), Value::Array(refs));
    let abnormal: Vec<String> = results
        .iter()
        .filter(|r| r.flag != Flag::Normal)
        .map(LabResult::text)
        .collect();
    let conclusion = if abnormal.is_empty() {
        "All results within reference range.".to_string()
    } else {
        format!("Abnormal: {}.", abnormal.join("; "))
    };
    dr.insert("conclusion".into(), json!(conclusion));
    out.push((rng.uuid(), dr));
    out
}
