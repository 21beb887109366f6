//! The drugs the demo practice prescribes (RxNorm SCD codes) and the MedicationRequests.
//!
//! Every code below was checked against an RxNorm-derived list, not typed from memory:
//! the antihypertensives against S. Smith's curated RxNorm antihypertensive list
//! (github.com/ssmithm/rxnorm-drug-lists, built from the NLM RxNorm release), most others against
//! the NLM VSAC value-set expansions used by CMS quality measures (as packaged in
//! canvas-medical/canvas-plugins `value_set`), and the inhalers, naproxen, acetaminophen and
//! loratadine against Synthea's published R4 sample data. Levothyroxine and omeprazole are left
//! out because no such source confirmed their SCD codes.

use salus_fhir::date::Date;
use serde_json::{Map, Value, json};

use crate::clinic_time::DateTime;
use crate::fhir::{
    RXNORM, SNOMED, UCUM, coding, concept, concept_text, date, datetime, reference, resource,
};

/// A drug the generator can prescribe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Medication {
    /// RxNorm concept (SCD).
    pub rxnorm: &'static str,
    /// RxNorm name.
    pub display: &'static str,
    /// What a clinician writes in a note.
    pub short: &'static str,
    pub(crate) dose: Dose,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Dose {
    /// Units per administration (tablets, capsules, puffs).
    pub amount: u32,
    pub unit: Unit,
    /// Administrations per day.
    pub per_day: u32,
    pub as_needed: bool,
    /// Days of a fixed course (antibiotics, steroid bursts); `None` for maintenance drugs.
    pub course_days: Option<u32>,
    pub text: &'static str,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unit {
    Tablet,
    Capsule,
    Puff,
}

const fn daily(amount: u32, unit: Unit, per_day: u32, text: &'static str) -> Dose {
    Dose {
        amount,
        unit,
        per_day,
        as_needed: false,
        course_days: None,
        text,
    }
}

const fn prn(amount: u32, unit: Unit, per_day: u32, text: &'static str) -> Dose {
    Dose {
        amount,
        unit,
        per_day,
        as_needed: true,
        course_days: None,
        text,
    }
}

const fn course(amount: u32, unit: Unit, per_day: u32, days: u32, text: &'static str) -> Dose {
    Dose {
        amount,
        unit,
        per_day,
        as_needed: false,
        course_days: Some(days),
        text,
    }
}

macro_rules! drugs {
    ($($name:ident = $code:literal, $display:literal, $short:literal, $dose:expr;)*) => {
        $(pub(crate) const $name: Medication = Medication { rxnorm: $code, display: $display, short: $short, dose: $dose };)*
        /// Every drug the generator can prescribe, in a fixed order.
        pub const MEDICATIONS: &[Medication] = &[$($name),*];
    };
}

use Unit::{Capsule, Puff, Tablet};

drugs! {
    LISINOPRIL_10 = "314076", "lisinopril 10 MG Oral Tablet", "lisinopril 10 mg daily", daily(1, Tablet, 1, "Take 1 tablet by mouth once daily");
    LISINOPRIL_20 = "314077", "lisinopril 20 MG Oral Tablet", "lisinopril 20 mg daily", daily(1, Tablet, 1, "Take 1 tablet by mouth once daily");
    LOSARTAN_50 = "979492", "losartan potassium 50 MG Oral Tablet", "losartan 50 mg daily", daily(1, Tablet, 1, "Take 1 tablet by mouth once daily");
    AMLODIPINE_5 = "197361", "amlodipine 5 MG Oral Tablet", "amlodipine 5 mg daily", daily(1, Tablet, 1, "Take 1 tablet by mouth once daily");
    AMLODIPINE_10 = "308135", "amlodipine 10 MG Oral Tablet", "amlodipine 10 mg daily", daily(1, Tablet, 1, "Take 1 tablet by mouth once daily");
    HCTZ_25 = "310798", "hydrochlorothiazide 25 MG Oral Tablet", "hydrochlorothiazide 25 mg daily", daily(1, Tablet, 1, "Take 1 tablet by mouth once daily in the morning");
    SPIRONOLACTONE_25 = "313096", "spironolactone 25 MG Oral Tablet", "spironolactone 25 mg daily", daily(1, Tablet, 1, "Take 1 tablet by mouth once daily");
    METOPROLOL_ER_25 = "866427", "24 HR metoprolol succinate 25 MG Extended Release Oral Tablet", "metoprolol succinate ER 25 mg daily", daily(1, Tablet, 1, "Take 1 tablet by mouth once daily");
    METFORMIN_500 = "861007", "metformin hydrochloride 500 MG Oral Tablet", "metformin 500 mg twice daily", daily(1, Tablet, 2, "Take 1 tablet by mouth twice daily with meals");
    METFORMIN_1000 = "861004", "metformin hydrochloride 1000 MG Oral Tablet", "metformin 1000 mg twice daily", daily(1, Tablet, 2, "Take 1 tablet by mouth twice daily with meals");
    GLIPIZIDE_5 = "310490", "glipizide 5 MG Oral Tablet", "glipizide 5 mg daily", daily(1, Tablet, 1, "Take 1 tablet by mouth once daily 30 minutes before breakfast");
    ATORVASTATIN_10 = "617312", "atorvastatin 10 MG Oral Tablet", "atorvastatin 10 mg daily", daily(1, Tablet, 1, "Take 1 tablet by mouth once daily");
    ATORVASTATIN_20 = "617310", "atorvastatin 20 MG Oral Tablet", "atorvastatin 20 mg daily", daily(1, Tablet, 1, "Take 1 tablet by mouth once daily");
    ATORVASTATIN_40 = "617311", "atorvastatin 40 MG Oral Tablet", "atorvastatin 40 mg daily", daily(1, Tablet, 1, "Take 1 tablet by mouth once daily");
    SIMVASTATIN_20 = "312961", "simvastatin 20 MG Oral Tablet", "simvastatin 20 mg nightly", daily(1, Tablet, 1, "Take 1 tablet by mouth once daily in the evening");
    SIMVASTATIN_40 = "198211", "simvastatin 40 MG Oral Tablet", "simvastatin 40 mg nightly", daily(1, Tablet, 1, "Take 1 tablet by mouth once daily in the evening");
    ALBUTEROL_MDI = "745679", "200 ACTUAT albuterol 0.09 MG/ACTUAT Metered Dose Inhaler", "albuterol inhaler as needed", prn(2, Puff, 4, "Inhale 2 puffs every 4 to 6 hours as needed for wheezing or shortness of breath");
    FLUTICASONE_MDI = "895994", "120 ACTUAT fluticasone propionate 0.044 MG/ACTUAT Metered Dose Inhaler", "fluticasone 44 mcg inhaler twice daily", daily(2, Puff, 2, "Inhale 2 puffs twice daily; rinse mouth after use");
    FLUTICASONE_SALMETEROL = "896209", "60 ACTUAT fluticasone propionate 0.25 MG/ACTUAT / salmeterol 0.05 MG/ACTUAT Dry Powder Inhaler", "fluticasone-salmeterol 250/50 inhaler twice daily", daily(1, Puff, 2, "Inhale 1 puff twice daily");
    SERTRALINE_50 = "312941", "sertraline 50 MG Oral Tablet", "sertraline 50 mg daily", daily(1, Tablet, 1, "Take 1 tablet by mouth once daily");
    ESCITALOPRAM_10 = "349332", "escitalopram 10 MG Oral Tablet", "escitalopram 10 mg daily", daily(1, Tablet, 1, "Take 1 tablet by mouth once daily");
    WARFARIN_5 = "855332", "warfarin sodium 5 MG Oral Tablet", "warfarin 5 mg daily (INR goal 2-3)", daily(1, Tablet, 1, "Take 1 tablet by mouth once daily in the evening or as directed by the anticoagulation clinic");
    APIXABAN_5 = "1364445", "apixaban 5 MG Oral Tablet", "apixaban 5 mg twice daily", daily(1, Tablet, 2, "Take 1 tablet by mouth twice daily");
    ASPIRIN_81 = "243670", "aspirin 81 MG Oral Tablet", "aspirin 81 mg daily", daily(1, Tablet, 1, "Take 1 tablet by mouth once daily");
    NAPROXEN_500 = "198014", "naproxen 500 MG Oral Tablet", "naproxen 500 mg twice daily as needed", prn(1, Tablet, 2, "Take 1 tablet by mouth twice daily as needed for knee pain, with food");
    ACETAMINOPHEN_325 = "313782", "acetaminophen 325 MG Oral Tablet", "acetaminophen 650 mg as needed", prn(2, Tablet, 4, "Take 2 tablets by mouth every 6 hours as needed for pain; no more than 3 g per day");
    TRAMADOL_50 = "835603", "tramadol hydrochloride 50 MG Oral Tablet", "tramadol 50 mg as needed", prn(1, Tablet, 4, "Take 1 tablet by mouth every 6 hours as needed for severe pain");
    LORATADINE_10 = "311372", "loratadine 10 MG Oral Tablet", "loratadine 10 mg daily", daily(1, Tablet, 1, "Take 1 tablet by mouth once daily during allergy season");
    AMOXICILLIN_500 = "308191", "amoxicillin 500 MG Oral Capsule", "amoxicillin 500 mg three times daily for 10 days", course(1, Capsule, 3, 10, "Take 1 capsule by mouth three times daily for 10 days");
    AZITHROMYCIN_250 = "308460", "azithromycin 250 MG Oral Tablet", "azithromycin 250 mg (Z-pak) for 5 days", course(1, Tablet, 1, 5, "Take 2 tablets by mouth on day 1, then 1 tablet daily on days 2 to 5");
    CLARITHROMYCIN_500 = "197517", "clarithromycin 500 MG Oral Tablet", "clarithromycin 500 mg twice daily for 10 days", course(1, Tablet, 2, 10, "Take 1 tablet by mouth twice daily for 10 days");
    SMX_TMP_DS = "198335", "sulfamethoxazole 800 MG / trimethoprim 160 MG Oral Tablet", "sulfamethoxazole-trimethoprim DS twice daily for 3 days", course(1, Tablet, 2, 3, "Take 1 tablet by mouth twice daily for 3 days");
    NITROFURANTOIN_100 = "1648759", "nitrofurantoin, macrocrystals 100 MG Oral Capsule", "nitrofurantoin 100 mg twice daily for 5 days", course(1, Capsule, 2, 5, "Take 1 capsule by mouth twice daily for 5 days with food");
    PREDNISONE_10 = "198145", "prednisone 10 MG Oral Tablet", "prednisone 40 mg daily for 5 days", course(4, Tablet, 1, 5, "Take 4 tablets (40 mg) by mouth once daily for 5 days");
}

/// The RxNorm codes the generator can emit, for cross-checks against the medication-safety
/// table in another crate.
pub fn rxnorm_codes() -> Vec<&'static str> {
    MEDICATIONS.iter().map(|m| m.rxnorm).collect()
}

/// How a prescription ended (or has not).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Still taken on `as_of`.
    Active,
    /// Changed or stopped by a clinician, with the reason as written in the chart.
    Stopped(Date, &'static str),
    /// A fixed course that ran out.
    Completed(Date),
}

/// One prescription from start to end.
pub(crate) struct Course {
    pub uuid: String,
    pub drug: Medication,
    pub start: Date,
    pub outcome: Outcome,
    /// Index of the visit it was written at, if that visit is in the record.
    pub visit: Option<usize>,
    /// uuid of the Condition it treats.
    pub reason: Option<String>,
    pub prescriber: usize,
}

impl Course {
    pub(crate) fn active_on(&self, d: Date) -> bool {
        d >= self.start
            && match self.outcome {
                Outcome::Active => true,
                Outcome::Stopped(end, _) | Outcome::Completed(end) => d < end,
            }
    }

    /// Days taken by `d` (0 before the start).
    pub(crate) fn days_on(&self, d: Date) -> i64 {
        if self.active_on(d) {
            d.days_since(self.start)
        } else {
            0
        }
    }
}

fn unit_quantity(dose: &Dose, amount: f64) -> Value {
    let (unit, code) = match dose.unit {
        Tablet => ("tablet", "{tbl}"),
        Capsule => ("capsule", "{capsule}"),
        Puff => ("puff", "{puff}"),
    };
    json!({ "value": amount, "unit": unit, "system": UCUM, "code": code })
}

pub(crate) fn request_resource(
    c: &Course,
    patient: &str,
    encounter: Option<&str>,
    written: DateTime,
    requester: &str,
) -> Map<String, Value> {
    let d = c.drug.dose;
    let mut r = resource("MedicationRequest");
    let status = match c.outcome {
        Outcome::Active => "active",
        Outcome::Stopped(..) => "stopped",
        Outcome::Completed(_) => "completed",
    };
    r.insert("status".into(), json!(status));
    if let Outcome::Stopped(_, why) = c.outcome {
        r.insert("statusReason".into(), json!({ "text": why }));
    }
    r.insert("intent".into(), json!("order"));
    r.insert(
        "category".into(),
        json!([{ "coding": [coding("http://terminology.hl7.org/CodeSystem/medicationrequest-category", "community", "Community")] }]),
    );
    r.insert(
        "medicationCodeableConcept".into(),
        concept(RXNORM, c.drug.rxnorm, c.drug.display),
    );
    r.insert("subject".into(), reference(patient));
    if let Some(e) = encounter {
        r.insert("encounter".into(), reference(e));
    }
    r.insert("authoredOn".into(), datetime(written));
    r.insert("requester".into(), reference(requester));
    if let Some(reason) = &c.reason {
        r.insert(
            "reasonReference".into(),
            json!([reference(&format!("urn:uuid:{reason}"))]),
        );
    }
    let mut bounds = Map::new();
    bounds.insert("start".into(), date(c.start));
    match c.outcome {
        Outcome::Stopped(end, _) | Outcome::Completed(end) => {
            bounds.insert("end".into(), date(end));
        }
        Outcome::Active => {}
    }
    let route = match d.unit {
        Puff => json!({ "text": "Inhalation" }),
        _ => concept(SNOMED, "26643006", "Oral route (qualifier value)"),
    };
    let dosage = json!({
        "sequence": 1,
        "text": d.text,
        "timing": { "repeat": { "boundsPeriod": Value::Object(bounds), "frequency": d.per_day, "period": 1, "periodUnit": "d" } },
        "asNeededBoolean": d.as_needed,
        "route": route,
        "doseAndRate": [{
            "type": concept_text("http://terminology.hl7.org/CodeSystem/dose-rate-type", "ordered", "Ordered", "Ordered"),
            "doseQuantity": unit_quantity(&d, f64::from(d.amount))
        }]
    });
    r.insert("dosageInstruction".into(), json!([dosage]));
    let (supply_days, refills, quantity) = match d.course_days {
        Some(days) => (
            days,
            0,
            d.amount * d.per_day * days + u32::from(c.drug == AZITHROMYCIN_250),
        ),
        None if d.unit == Puff => (30, 5, 1),
        None => (90, 3, d.amount * d.per_day * 90),
    };
    let dispense_unit = match d.unit {
        Puff => {
            json!({ "value": quantity, "unit": "inhaler", "system": UCUM, "code": "{inhaler}" })
        }
        _ => unit_quantity(&d, f64::from(quantity)),
    };
    r.insert(
        "dispenseRequest".into(),
        json!({
            "validityPeriod": { "start": date(c.start), "end": date(c.start.add_days(365)) },
            "numberOfRepeatsAllowed": refills,
            "quantity": dispense_unit,
            "expectedSupplyDuration": { "value": supply_days, "unit": "days", "system": UCUM, "code": "d" }
        }),
    );
    r.insert("substitution".into(), json!({ "allowedBoolean": true }));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_numeric_and_named() {
        let codes = rxnorm_codes();
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), codes.len());
        for m in MEDICATIONS {
            assert!(m.rxnorm.chars().all(|c| c.is_ascii_digit()), "{}", m.rxnorm);
            assert!(!m.display.is_empty() && !m.short.is_empty());
        }
    }
}
