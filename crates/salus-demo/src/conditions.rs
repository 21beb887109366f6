//! Which chronic problems a patient has, when they began, and the Condition resources.
//!
//! Codes are SNOMED CT concepts with their fully specified names; the ones used by US quality
//! measures were checked against the VSAC expansions (e.g. 38341003, 44054006, 195967001,
//! 433144002, 370143000, 197480006), the others against Synthea's published R4 sample data
//! (15777000, 55822004, 239873007, 367498001, the acute problems). Prevalences by age are
//! rounded from CDC/NHANES summaries; they only need to look right on a panel of patients.

use salus_fhir::date::Date;
use serde_json::{Map, Value, json};

use crate::demographics::{Person, Sex, Smoking};
use crate::fhir::{SNOMED, coding, concept_text, date, reference, resource};
use crate::rng::Rng;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Problem {
    Hypertension,
    Diabetes,
    Prediabetes,
    Hyperlipidemia,
    Obesity,
    Asthma,
    Copd,
    Ckd3,
    Depression,
    Anxiety,
    AtrialFibrillation,
    KneeOsteoarthritis,
    AllergicRhinitis,
}

impl Problem {
    /// (SNOMED code, fully specified name, the word a clinician writes)
    pub(crate) fn code(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Problem::Hypertension => (
                "38341003",
                "Hypertensive disorder, systemic arterial (disorder)",
                "Essential hypertension",
            ),
            Problem::Diabetes => (
                "44054006",
                "Diabetes mellitus type 2 (disorder)",
                "Type 2 diabetes mellitus",
            ),
            Problem::Prediabetes => ("15777000", "Prediabetes (finding)", "Prediabetes"),
            Problem::Hyperlipidemia => ("55822004", "Hyperlipidemia (disorder)", "Hyperlipidemia"),
            Problem::Obesity => ("414916001", "Obesity (disorder)", "Obesity"),
            Problem::Asthma => ("195967001", "Asthma (disorder)", "Asthma"),
            Problem::Copd => (
                "13645005",
                "Chronic obstructive lung disease (disorder)",
                "COPD",
            ),
            Problem::Ckd3 => (
                "433144002",
                "Chronic kidney disease stage 3 (disorder)",
                "Chronic kidney disease, stage 3",
            ),
            Problem::Depression => (
                "370143000",
                "Major depressive disorder (disorder)",
                "Major depressive disorder",
            ),
            Problem::Anxiety => (
                "197480006",
                "Anxiety disorder (disorder)",
                "Anxiety disorder",
            ),
            Problem::AtrialFibrillation => (
                "49436004",
                "Atrial fibrillation (disorder)",
                "Atrial fibrillation",
            ),
            Problem::KneeOsteoarthritis => (
                "239873007",
                "Osteoarthritis of knee (disorder)",
                "Osteoarthritis of knee",
            ),
            Problem::AllergicRhinitis => (
                "367498001",
                "Seasonal allergic rhinitis (disorder)",
                "Seasonal allergic rhinitis",
            ),
        }
    }

    pub(crate) fn name(self) -> &'static str {
        self.code().2
    }

    /// Problems followed up every few months in clinic.
    pub(crate) fn needs_follow_up(self) -> bool {
        matches!(
            self,
            Problem::Hypertension
                | Problem::Diabetes
                | Problem::Copd
                | Problem::Ckd3
                | Problem::Depression
                | Problem::AtrialFibrillation
        )
    }
}

/// Short illnesses seen at sick visits; recorded as resolved encounter diagnoses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Acute {
    ViralPharyngitis,
    StrepThroat,
    ViralSinusitis,
    BacterialSinusitis,
    Bronchitis,
    OtitisMedia,
    Cystitis,
    AnkleSprain,
    AsthmaExacerbation,
}

impl Acute {
    pub(crate) fn code(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Acute::ViralPharyngitis => (
                "195662009",
                "Acute viral pharyngitis (disorder)",
                "Acute viral pharyngitis",
            ),
            Acute::StrepThroat => (
                "43878008",
                "Streptococcal sore throat (disorder)",
                "Streptococcal pharyngitis",
            ),
            Acute::ViralSinusitis => ("444814009", "Viral sinusitis (disorder)", "Viral sinusitis"),
            Acute::BacterialSinusitis => (
                "75498004",
                "Acute bacterial sinusitis (disorder)",
                "Acute bacterial sinusitis",
            ),
            Acute::Bronchitis => (
                "10509002",
                "Acute bronchitis (disorder)",
                "Acute bronchitis",
            ),
            Acute::OtitisMedia => ("65363002", "Otitis media (disorder)", "Acute otitis media"),
            Acute::Cystitis => ("38822007", "Cystitis (disorder)", "Acute cystitis"),
            Acute::AnkleSprain => ("44465007", "Sprain of ankle (disorder)", "Ankle sprain"),
            // The exacerbation is charted against the asthma concept itself, with the word in text.
            Acute::AsthmaExacerbation => ("195967001", "Asthma (disorder)", "Asthma exacerbation"),
        }
    }

    pub(crate) fn complaint(self) -> &'static str {
        match self {
            Acute::ViralPharyngitis => "sore throat, rhinorrhea and low-grade fever for 3 days",
            Acute::StrepThroat => "sore throat, fever and painful swallowing for 2 days, no cough",
            Acute::ViralSinusitis => {
                "nasal congestion, facial pressure and clear discharge for 5 days"
            }
            Acute::BacterialSinusitis => {
                "facial pain and purulent nasal discharge for 12 days, worse after initial improvement"
            }
            Acute::Bronchitis => "productive cough for 10 days without fever or dyspnea",
            Acute::OtitisMedia => "ear pain and fever since yesterday",
            Acute::Cystitis => "dysuria and urinary frequency for 2 days, no fever or flank pain",
            Acute::AnkleSprain => "left ankle pain and swelling after twisting it playing sports",
            Acute::AsthmaExacerbation => {
                "wheezing and shortness of breath for 2 days after a viral illness"
            }
        }
    }
}

/// Diagnosed problem with its onset.
pub(crate) struct Diagnosis {
    pub problem: Problem,
    pub onset: Date,
    pub uuid: String,
}

fn band(age: i64, bands: &[(i64, f64)]) -> f64 {
    bands
        .iter()
        .rev()
        .find(|(from, _)| age >= *from)
        .map(|(_, p)| *p)
        .unwrap_or(0.0)
}

/// A date at a uniformly random age between `from_age` and the current age.
fn onset_between(
    rng: &mut Rng,
    p: &Person,
    as_of: Date,
    from_age: i64,
    not_before_years_ago: i64,
) -> Date {
    // Clamped to as_of: a scenario or a young patient can ask for an age not reached yet.
    let earliest = p
        .birth
        .add_years(from_age as i32)
        .max(as_of.add_years(-(not_before_years_ago as i32)))
        .max(p.birth)
        .min(as_of);
    let span = as_of.days_since(earliest).max(0);
    earliest.add_days(rng.int(0, span))
}

/// Which problems the patient has by `as_of`. `bmi` is the adult BMI, `forced` problems come
/// from a safety scenario and are always present.
pub(crate) fn sample(
    rng: &mut Rng,
    p: &Person,
    as_of: Date,
    bmi: f64,
    forced: &[Problem],
) -> Vec<Diagnosis> {
    let age = p.age;
    let obese = bmi >= 30.0 && age >= 18;
    let mut out: Vec<(Problem, Date)> = Vec::new();
    let has = |out: &Vec<(Problem, Date)>, pr: Problem| out.iter().any(|(x, _)| *x == pr);
    let obesity_mult = if obese { 1.5 } else { 1.0 };

    if obese {
        out.push((Problem::Obesity, onset_between(rng, p, as_of, 20, 15)));
    }
    let p_htn = band(age, &[(18, 0.07), (40, 0.30), (60, 0.55), (75, 0.70)]) * obesity_mult;
    if rng.chance(p_htn.min(0.85)) {
        out.push((
            Problem::Hypertension,
            onset_between(rng, p, as_of, (age - 25).max(28), 25),
        ));
    }
    let p_hld = band(age, &[(20, 0.06), (40, 0.25), (60, 0.42)]);
    if rng.chance(p_hld) {
        out.push((
            Problem::Hyperlipidemia,
            onset_between(rng, p, as_of, (age - 20).max(30), 20),
        ));
    }
    let p_dm = band(age, &[(25, 0.03), (45, 0.13), (65, 0.22)]) * if obese { 2.0 } else { 1.0 };
    if rng.chance(p_dm.min(0.5)) {
        out.push((
            Problem::Diabetes,
            onset_between(rng, p, as_of, (age - 20).max(32), 20),
        ));
    } else if age >= 30 && rng.chance(0.16 * obesity_mult) {
        out.push((
            Problem::Prediabetes,
            onset_between(rng, p, as_of, age - 6, 6),
        ));
    }
    if rng.chance(0.085) && age >= 3 {
        let from = if rng.chance(0.6) { 3 } else { 18.min(age) };
        out.push((
            Problem::Asthma,
            onset_between(rng, p, as_of, from.min(age), 80),
        ));
    }
    if p.smoking != Smoking::Never && age >= 45 && rng.chance(0.22) {
        out.push((
            Problem::Copd,
            onset_between(rng, p, as_of, (age - 15).max(45), 15),
        ));
    }
    let ckd_risk = has(&out, Problem::Hypertension) || has(&out, Problem::Diabetes);
    if age >= 55 && rng.chance(if ckd_risk { 0.22 } else { 0.04 }) {
        out.push((Problem::Ckd3, onset_between(rng, p, as_of, age - 6, 6)));
    }
    if age >= 14 && rng.chance(if p.sex == Sex::Female { 0.11 } else { 0.07 }) {
        out.push((
            Problem::Depression,
            onset_between(rng, p, as_of, (age - 15).max(14), 15),
        ));
    }
    if age >= 14 && rng.chance(0.07) {
        out.push((
            Problem::Anxiety,
            onset_between(rng, p, as_of, (age - 15).max(14), 15),
        ));
    }
    if rng.chance(band(age, &[(60, 0.04), (70, 0.09), (80, 0.14)])) {
        out.push((
            Problem::AtrialFibrillation,
            onset_between(rng, p, as_of, age - 8, 8),
        ));
    }
    if rng.chance(band(age, &[(45, 0.10), (60, 0.22)]) * obesity_mult) {
        out.push((
            Problem::KneeOsteoarthritis,
            onset_between(rng, p, as_of, (age - 12).max(45), 12),
        ));
    }
    if age >= 4 && rng.chance(0.10) {
        out.push((
            Problem::AllergicRhinitis,
            onset_between(rng, p, as_of, 4, 40),
        ));
    }
    for f in forced {
        if !has(&out, *f) {
            // Scenario problems begin a few years back so the chart has a history of them.
            out.push((*f, onset_between(rng, p, as_of, (age - 4).max(18), 4)));
        }
    }
    out.sort_by_key(|(pr, d)| (*d, *pr));
    out.into_iter()
        .map(|(problem, onset)| Diagnosis {
            problem,
            onset,
            uuid: rng.uuid(),
        })
        .collect()
}

/// A problem-list Condition.
pub(crate) fn problem_resource(
    dx: &Diagnosis,
    patient: &str,
    encounter: Option<&str>,
    recorded: Date,
    asserter: &str,
) -> Map<String, Value> {
    let (code, display, text) = dx.problem.code();
    let mut r = resource("Condition");
    r.insert("clinicalStatus".into(), status("active", "Active"));
    r.insert("verificationStatus".into(), verification());
    r.insert(
        "category".into(),
        json!([{ "coding": [coding("http://terminology.hl7.org/CodeSystem/condition-category", "problem-list-item", "Problem List Item")] }]),
    );
    r.insert("code".into(), concept_text(SNOMED, code, display, text));
    r.insert("subject".into(), reference(patient));
    if let Some(e) = encounter {
        r.insert("encounter".into(), reference(e));
    }
    r.insert("onsetDateTime".into(), date(dx.onset));
    r.insert("recordedDate".into(), date(recorded));
    r.insert("recorder".into(), reference(asserter));
    r.insert("asserter".into(), reference(asserter));
    r
}

/// A resolved encounter diagnosis for a sick visit.
/// `abated` is `None` when the illness is still running on `as_of`.
pub(crate) fn acute_resource(
    acute: Acute,
    patient: &str,
    encounter: &str,
    onset: Date,
    recorded: Date,
    abated: Option<Date>,
    asserter: &str,
) -> Map<String, Value> {
    let (code, display, text) = acute.code();
    let mut r = resource("Condition");
    r.insert(
        "clinicalStatus".into(),
        if abated.is_some() {
            status("resolved", "Resolved")
        } else {
            status("active", "Active")
        },
    );
    r.insert("verificationStatus".into(), verification());
    r.insert(
        "category".into(),
        json!([{ "coding": [coding("http://terminology.hl7.org/CodeSystem/condition-category", "encounter-diagnosis", "Encounter Diagnosis")] }]),
    );
    r.insert("code".into(), concept_text(SNOMED, code, display, text));
    r.insert("subject".into(), reference(patient));
    r.insert("encounter".into(), reference(encounter));
    r.insert("onsetDateTime".into(), date(onset));
    if let Some(a) = abated {
        r.insert("abatementDateTime".into(), date(a));
    }
    r.insert("recordedDate".into(), date(recorded));
    r.insert("recorder".into(), reference(asserter));
    r
}

fn status(code: &str, display: &str) -> Value {
    json!({ "coding": [coding("http://terminology.hl7.org/CodeSystem/condition-clinical", code, display)] })
}

fn verification() -> Value {
    json!({ "coding": [coding("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed", "Confirmed")] })
}
