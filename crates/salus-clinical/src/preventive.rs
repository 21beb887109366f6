//! Preventive care: USPSTF A/B screening recommendations and the CDC adult immunization schedule,
//! as data (`data/preventive-rules.json`), evaluated for one patient at an as-of date.
//!
//! A rule's status is *due* from the day the patient becomes eligible or the last qualifying
//! test expires, and *overdue* once the rule's grace period (90 days by default; for influenza,
//! until 1 November of the season) has passed without one.

use crate::fhir::{self, Coding};
use crate::knowledge::PREVENTIVE;
use crate::ClinicalError;
use salus_fhir::date::Date;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeSet, HashSet};
use std::sync::OnceLock;

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct RuleSource {
    pub author: String,
    pub publisher: String,
    pub grade: String,
    pub version_date: String,
    pub url: String,
    pub citation: String,
}

#[derive(Debug, Deserialize)]
pub struct CodeRef {
    pub system: String,
    pub code: String,
    pub display: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct AgeInterval {
    pub min_age: i32,
    pub max_age: i32,
    pub interval_months: i32,
}

#[derive(Debug, Deserialize)]
pub struct Eligibility {
    pub sex: Option<String>,
    pub min_age: Option<i32>,
    pub max_age: Option<i32>,
    pub min_bmi: Option<f64>,
    #[serde(default)]
    pub bmi_codes: Vec<CodeRef>,
    #[serde(default)]
    pub overweight_conditions: Vec<CodeRef>,
}

#[derive(Debug, Deserialize)]
pub struct Schedule {
    /// `interval`, `season` or `series`.
    pub kind: String,
    pub grace_days: i64,
    #[serde(default)]
    pub interval_months_by_age: Vec<AgeInterval>,
    pub season_start_month: Option<u32>,
    /// For `series`: alternative sets of evidence ids, any one complete set satisfies the rule.
    #[serde(default)]
    pub complete_when: Vec<Vec<String>>,
}

#[derive(Debug, Deserialize)]
pub struct Evidence {
    pub id: String,
    pub name: String,
    pub interval_months: Option<i32>,
    pub resources: Vec<String>,
    pub codes: Vec<CodeRef>,
    pub min_age_at_evidence: Option<i32>,
    pub doses: Option<usize>,
}

#[derive(Debug, Deserialize)]
pub struct Exclusion {
    pub name: String,
    pub resources: Vec<String>,
    pub codes: Vec<CodeRef>,
}

#[derive(Debug, Deserialize)]
pub struct Rule {
    pub id: String,
    pub title: String,
    pub source: RuleSource,
    pub eligibility: Eligibility,
    pub schedule: Schedule,
    pub evidence: Vec<Evidence>,
    pub exclusions: Vec<Exclusion>,
}

#[derive(Debug, Deserialize)]
struct RulesFile {
    rules: Vec<Rule>,
}

/// The preventive rules, parsed on first use.
pub fn rules() -> Result<&'static [Rule], ClinicalError> {
    static CELL: OnceLock<Result<Vec<Rule>, String>> = OnceLock::new();
    match CELL.get_or_init(|| serde_json::from_str::<RulesFile>(PREVENTIVE).map(|f| f.rules).map_err(|e| e.to_string())) {
        Ok(r) => Ok(r),
        Err(message) => Err(ClinicalError::Knowledge { file: "preventive-rules.json", message: message.clone() }),
    }
}

/// One patient's chart as the rules need it.
#[derive(Debug, Clone)]
pub struct PatientRecord {
    pub patient_id: Option<String>,
    pub birth_date: Option<Date>,
    /// FHIR administrative gender.
    pub gender: Option<String>,
    /// Death date, or the as-of-independent fact of death (`deceasedBoolean`) as the earliest date ([`Date::MIN`]).
    pub deceased: Option<Date>,
    pub resources: Vec<Value>,
}

impl PatientRecord {
    /// Builds the record from a patient's resources (Patient plus Condition, Observation,
    /// Procedure, Immunization, DiagnosticReport, ImagingStudy...; others are kept but unused).
    pub fn from_resources(resources: &[Value]) -> Result<PatientRecord, ClinicalError> {
        let patient = resources.iter().find(|r| fhir::resource_type(r) == Some("Patient")).ok_or(ClinicalError::NoPatient)?;
        let deceased = match (patient.get("deceasedDateTime"), patient.get("deceasedBoolean").and_then(Value::as_bool)) {
            (Some(d), _) => d.as_str().and_then(Date::parse_fhir),
            (None, Some(true)) => Some(Date::MIN),
            _ => None,
        };
        Ok(PatientRecord {
            patient_id: fhir::str_at(patient, "id").map(str::to_string),
            birth_date: fhir::date_at(patient, "birthDate"),
            gender: fhir::str_at(patient, "gender").map(str::to_string),
            deceased,
            resources: resources.iter().filter(|r| fhir::resource_type(r) != Some("Patient")).cloned().collect(),
        })
    }

    /// Builds the record from a Bundle holding one patient's resources.
    pub fn from_bundle(bundle: &Value) -> Result<PatientRecord, ClinicalError> {
        let resources: Vec<Value> = bundle
            .get("entry")
            .and_then(Value::as_array)
            .map(|entries| entries.iter().filter_map(|e| e.get("resource").cloned()).collect())
            .unwrap_or_default();
        PatientRecord::from_resources(&resources)
    }
}

/// A rule's result for the patient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum GapStatus {
    /// Eligible, and nothing qualifying on record; due since that date.
    Due { since: Date },
    /// Due for longer than the grace period; overdue since that date.
    Overdue { since: Date, due_since: Date },
    /// Met; `until` is when it falls due again (none for a completed series).
    Satisfied { until: Option<Date> },
    NotApplicable { reason: String },
}

impl GapStatus {
    pub fn label(&self) -> &'static str {
        match self {
            GapStatus::Due { .. } => "due",
            GapStatus::Overdue { .. } => "overdue",
            GapStatus::Satisfied { .. } => "satisfied",
            GapStatus::NotApplicable { .. } => "not-applicable",
        }
    }

    /// Open care gap: something should be done.
    pub fn is_open(&self) -> bool {
        matches!(self, GapStatus::Due { .. } | GapStatus::Overdue { .. })
    }
}

/// The most recent record that satisfied (or last satisfied) a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvidenceFound {
    pub evidence: String,
    pub date: Date,
    pub reference: Option<String>,
    pub code: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CareGap {
    pub rule_id: String,
    pub title: String,
    #[serde(flatten)]
    pub status: GapStatus,
    pub last_evidence: Option<EvidenceFound>,
    pub source: RuleSource,
}

fn matches_codes(r: &Value, codes: &[CodeRef]) -> Option<Coding> {
    let cc = fhir::resource_code(r)?;
    fhir::codings(Some(cc)).into_iter().find(|c| codes.iter().any(|k| k.system == c.system && k.code == c.code))
}

/// Records that did not happen or were withdrawn never count.
fn counts(r: &Value) -> bool {
    let status = fhir::str_at(r, "status").unwrap_or("");
    if matches!(status, "entered-in-error" | "cancelled" | "not-done" | "stopped" | "preliminary" | "registered" | "unknown") {
        return false;
    }
    if fhir::resource_type(r) == Some("Condition") {
        let v = fhir::status_code(r, "verificationStatus");
        if matches!(v.as_deref(), Some("refuted" | "entered-in-error")) {
            return false;
        }
    }
    true
}

fn hits<'a>(record: &'a PatientRecord, resources: &'a [String], codes: &'a [CodeRef], as_of: Date) -> impl Iterator<Item = (&'a Value, Option<Date>, Coding)> + 'a {
    record.resources.iter().filter_map(move |r| {
        let rt = fhir::resource_type(r)?;
        if !resources.iter().any(|x| x == rt) || !counts(r) {
            return None;
        }
        let coding = matches_codes(r, codes)?;
        let date = fhir::clinical_date(r);
        if date.is_some_and(|d| d > as_of) {
            return None;
        }
        Some((r, date, coding))
    })
}

fn latest_bmi(record: &PatientRecord, codes: &[CodeRef], as_of: Date) -> Option<f64> {
    let resources = ["Observation".to_string()];
    hits(record, &resources, codes, as_of)
        .filter_map(|(r, d, _)| Some((d?, r.get("valueQuantity")?.get("value")?.as_f64()?)))
        .max_by_key(|(d, _)| *d)
        .map(|(_, v)| v)
}

fn condition_active(r: &Value) -> bool {
    !matches!(fhir::status_code(r, "clinicalStatus").as_deref(), Some("inactive" | "resolved" | "remission"))
}

fn not_applicable(reason: impl Into<String>) -> GapStatus {
    GapStatus::NotApplicable { reason: reason.into() }
}

fn due_or_overdue(due_since: Date, grace_days: i64, as_of: Date) -> GapStatus {
    let overdue_from = due_since.add_days(grace_days);
    if as_of >= overdue_from {
        GapStatus::Overdue { since: overdue_from, due_since }
    } else {
        GapStatus::Due { since: due_since }
    }
}

/// Evaluates one rule.
pub fn evaluate_rule(rule: &Rule, record: &PatientRecord, as_of: Date) -> CareGap {
    let (status, last_evidence) = evaluate_inner(rule, record, as_of);
    CareGap { rule_id: rule.id.clone(), title: rule.title.clone(), status, last_evidence, source: rule.source.clone() }
}

fn evaluate_inner(rule: &Rule, record: &PatientRecord, as_of: Date) -> (GapStatus, Option<EvidenceFound>) {
    let Some(birth) = record.birth_date else {
        return (not_applicable("birth date unknown"), None);
    };
    if record.deceased.is_some_and(|d| d <= as_of) {
        return (not_applicable("patient deceased"), None);
    }
    let age = birth.age_on(as_of);
    let el = &rule.eligibility;
    if let Some(sex) = &el.sex
        && record.gender.as_deref() != Some(sex.as_str()) {
            return (not_applicable(format!("applies to {sex} patients")), None);
        }
    if el.min_age.is_some_and(|m| age < m) || el.max_age.is_some_and(|m| age > m) {
        return (not_applicable(format!("age {age} outside {}-{}", el.min_age.unwrap_or(0), el.max_age.map(|m| m.to_string()).unwrap_or_else(|| "".into()))), None);
    }
    if let Some(min_bmi) = el.min_bmi {
        let by_bmi = latest_bmi(record, &el.bmi_codes, as_of).is_some_and(|b| b >= min_bmi);
        let cond = ["Condition".to_string()];
        let by_condition = hits(record, &cond, &el.overweight_conditions, as_of).any(|(r, _, _)| condition_active(r));
        if !(by_bmi || by_condition) {
            return (not_applicable(format!("no BMI of {min_bmi} or more on record")), None);
        }
    }
    for ex in &rule.exclusions {
        if let Some((_, _, c)) = hits(record, &ex.resources, &ex.codes, as_of).next() {
            return (not_applicable(format!("excluded: {} ({} {})", ex.name, c.system, c.code)), None);
        }
    }
    let eligible_since = birth.add_years(el.min_age.unwrap_or(0));
    let grace = rule.schedule.grace_days;
    match rule.schedule.kind.as_str() {
        "season" => evaluate_season(rule, record, as_of, eligible_since),
        "series" => evaluate_series(rule, record, as_of, birth, eligible_since),
        _ => {
            let interval_override = rule.schedule.interval_months_by_age.iter().find(|a| age >= a.min_age && age <= a.max_age).map(|a| a.interval_months);
            let mut best: Option<(Date, EvidenceFound)> = None;
            for e in &rule.evidence {
                let months = interval_override.or(e.interval_months).unwrap_or(12);
                for (r, date, coding) in hits(record, &e.resources, &e.codes, as_of) {
                    let Some(date) = date else { continue };
                    if e.min_age_at_evidence.is_some_and(|m| birth.age_on(date) < m) {
                        continue;
                    }
                    let until = date.add_months(months);
                    if best.as_ref().is_none_or(|(u, _)| until > *u) {
                        best = Some((until, EvidenceFound { evidence: e.name.clone(), date, reference: fhir::reference_to(r), code: Some(coding.code) }));
                    }
                }
            }
            match best {
                Some((until, found)) if until > as_of => (GapStatus::Satisfied { until: Some(until) }, Some(found)),
                Some((until, found)) => (due_or_overdue(until.max(eligible_since), grace, as_of), Some(found)),
                None => (due_or_overdue(eligible_since, grace, as_of), None),
            }
        }
    }
}

fn evaluate_season(rule: &Rule, record: &PatientRecord, as_of: Date, eligible_since: Date) -> (GapStatus, Option<EvidenceFound>) {
    let start_month = rule.schedule.season_start_month.unwrap_or(8);
    let year = if as_of.month() >= start_month { as_of.year() } else { as_of.year() - 1 };
    let season_start = Date::new(year, start_month, 1).unwrap_or(as_of);
    let mut last: Option<EvidenceFound> = None;
    for e in &rule.evidence {
        for (r, date, coding) in hits(record, &e.resources, &e.codes, as_of) {
            let Some(date) = date else { continue };
            if last.as_ref().is_none_or(|l| date > l.date) {
                last = Some(EvidenceFound { evidence: e.name.clone(), date, reference: fhir::reference_to(r), code: Some(coding.code) });
            }
        }
    }
    match last {
        Some(found) if found.date >= season_start => (GapStatus::Satisfied { until: Some(season_start.add_years(1)) }, Some(found)),
        other => (due_or_overdue(season_start.max(eligible_since), rule.schedule.grace_days, as_of), other),
    }
}

fn evaluate_series(rule: &Rule, record: &PatientRecord, as_of: Date, birth: Date, eligible_since: Date) -> (GapStatus, Option<EvidenceFound>) {
    let mut complete_ids: HashSet<&str> = HashSet::new();
    let mut last: Option<EvidenceFound> = None;
    for e in &rule.evidence {
        let mut dates: BTreeSet<Date> = BTreeSet::new();
        for (r, date, coding) in hits(record, &e.resources, &e.codes, as_of) {
            let Some(date) = date else { continue };
            if e.min_age_at_evidence.is_some_and(|m| birth.age_on(date) < m) {
                continue;
            }
            dates.insert(date);
            if last.as_ref().is_none_or(|l| date > l.date) {
                last = Some(EvidenceFound { evidence: e.name.clone(), date, reference: fhir::reference_to(r), code: Some(coding.code) });
            }
        }
        if dates.len() >= e.doses.unwrap_or(1) {
            complete_ids.insert(e.id.as_str());
        }
    }
    let complete = if rule.schedule.complete_when.is_empty() {
        rule.evidence.iter().any(|e| complete_ids.contains(e.id.as_str()))
    } else {
        rule.schedule.complete_when.iter().any(|set| set.iter().all(|id| complete_ids.contains(id.as_str())))
    };
    if complete {
        (GapStatus::Satisfied { until: None }, last)
    } else {
        (due_or_overdue(eligible_since, rule.schedule.grace_days, as_of), last)
    }
}

/// Every rule's result for the patient at `as_of`, in rule order.
pub fn evaluate(record: &PatientRecord, as_of: Date) -> Result<Vec<CareGap>, ClinicalError> {
    Ok(rules()?.iter().map(|r| evaluate_rule(r, record, as_of)).collect())
}
