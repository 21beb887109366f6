//! Preventive-care rules on hand-made patients, and over the 130 Synthea patients.

use salus_clinical::preventive::{evaluate, rules, GapStatus, PatientRecord};
use salus_fhir::date::Date;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;

const AS_OF: Date = ymd(2020, 1, 1);
const LOINC: &str = "http://loinc.org";
const SCT: &str = "http://snomed.info/sct";
const CVX: &str = "http://hl7.org/fhir/sid/cvx";

const fn ymd(year: i32, month: u32, day: u32) -> Date {
    Date::new(year, month, day).expect("a real day")
}

fn patient(gender: &str, birth: &str) -> Value {
    json!({"resourceType": "Patient", "id": "p", "gender": gender, "birthDate": birth})
}
fn obs(system: &str, code: &str, date: &str) -> Value {
    json!({"resourceType": "Observation", "id": format!("o{code}{date}"), "status": "final", "code": {"coding": [{"system": system, "code": code}]}, "effectiveDateTime": date})
}
fn bmi(value: f64, date: &str) -> Value {
    let mut o = obs(LOINC, "39156-5", date);
    o["valueQuantity"] = json!({"value": value, "unit": "kg/m2"});
    o
}
fn procedure(code: &str, date: &str) -> Value {
    json!({"resourceType": "Procedure", "id": format!("p{code}"), "status": "completed", "code": {"coding": [{"system": SCT, "code": code}]}, "performedDateTime": date})
}
fn condition(code: &str) -> Value {
    json!({"resourceType": "Condition", "id": format!("c{code}"), "clinicalStatus": {"coding": [{"code": "active"}]}, "code": {"coding": [{"system": SCT, "code": code}]}, "onsetDateTime": "2010-01-01"})
}
fn vaccine(cvx: &str, date: &str) -> Value {
    json!({"resourceType": "Immunization", "id": format!("i{cvx}{date}"), "status": "completed", "vaccineCode": {"coding": [{"system": CVX, "code": cvx}]}, "occurrenceDateTime": date})
}

fn status(rule: &str, resources: Vec<Value>) -> GapStatus {
    let record = PatientRecord::from_resources(&resources).unwrap();
    evaluate(&record, AS_OF).unwrap().into_iter().find(|g| g.rule_id == rule).unwrap().status
}
fn label(rule: &str, resources: Vec<Value>) -> &'static str {
    status(rule, resources).label()
}

#[test]
fn breast_screening_by_sex_age_mammogram_and_mastectomy() {
    assert_eq!(label("breast-cancer-screening", vec![patient("female", "1965-03-01")]), "overdue");
    assert_eq!(label("breast-cancer-screening", vec![patient("female", "1965-03-01"), obs(LOINC, "24606-6", "2019-02-01")]), "satisfied");
    assert_eq!(status("breast-cancer-screening", vec![patient("female", "1965-03-01"), obs(LOINC, "24606-6", "2019-02-01")]), GapStatus::Satisfied { until: Some(ymd(2021, 2, 1)) });
    assert_eq!(label("breast-cancer-screening", vec![patient("female", "1965-03-01"), obs(LOINC, "24606-6", "2017-06-01")]), "overdue");
    assert_eq!(label("breast-cancer-screening", vec![patient("male", "1965-03-01")]), "not-applicable");
    assert_eq!(label("breast-cancer-screening", vec![patient("female", "1990-03-01")]), "not-applicable");
    assert_eq!(label("breast-cancer-screening", vec![patient("female", "1965-03-01"), procedure("27865001", "2015-01-01")]), "not-applicable");
    // Turned 40 in the last 90 days: due, not yet overdue.
    assert_eq!(status("breast-cancer-screening", vec![patient("female", "1979-12-01")]), GapStatus::Due { since: ymd(2019, 12, 1) });
}

#[test]
fn cervical_screening_accepts_cytology_and_hpv_from_30_and_excludes_hysterectomy() {
    let p = || patient("female", "1980-05-05");
    assert_eq!(label("cervical-cancer-screening", vec![p()]), "overdue");
    assert_eq!(label("cervical-cancer-screening", vec![p(), obs(LOINC, "10524-7", "2017-06-01")]), "satisfied");
    assert_eq!(label("cervical-cancer-screening", vec![p(), obs(LOINC, "10524-7", "2016-06-01")]), "overdue");
    assert_eq!(label("cervical-cancer-screening", vec![p(), obs(LOINC, "30167-1", "2016-06-01")]), "satisfied");
    // An HPV test at 25 does not count.
    assert_eq!(label("cervical-cancer-screening", vec![patient("female", "1993-01-01"), obs(LOINC, "30167-1", "2018-06-01")]), "overdue");
    assert_eq!(label("cervical-cancer-screening", vec![p(), procedure("116140006", "2012-01-01")]), "not-applicable");
    assert_eq!(label("cervical-cancer-screening", vec![patient("female", "1950-01-01")]), "not-applicable");
}

#[test]
fn colorectal_screening_intervals_per_test_and_colectomy_exclusion() {
    let p = || patient("male", "1960-01-01");
    assert_eq!(label("colorectal-cancer-screening", vec![p()]), "overdue");
    assert_eq!(label("colorectal-cancer-screening", vec![p(), procedure("73761001", "2011-01-01")]), "satisfied");
    assert_eq!(label("colorectal-cancer-screening", vec![p(), procedure("73761001", "2009-01-01")]), "overdue");
    assert_eq!(label("colorectal-cancer-screening", vec![p(), obs(LOINC, "29771-3", "2019-03-01")]), "satisfied");
    assert_eq!(label("colorectal-cancer-screening", vec![p(), obs(LOINC, "29771-3", "2018-03-01")]), "overdue");
    assert_eq!(label("colorectal-cancer-screening", vec![p(), procedure("26390003", "2001-01-01")]), "not-applicable");
    assert_eq!(label("colorectal-cancer-screening", vec![patient("male", "1980-01-01")]), "not-applicable");
    let mut cancelled = procedure("73761001", "2015-01-01");
    cancelled["status"] = json!("not-done");
    assert_eq!(label("colorectal-cancer-screening", vec![p(), cancelled]), "overdue");
}

#[test]
fn blood_pressure_screening_yearly_from_40_every_3_years_before_and_not_for_hypertension() {
    assert_eq!(label("blood-pressure-screening", vec![patient("male", "1970-01-01"), obs(LOINC, "55284-4", "2019-06-01")]), "satisfied");
    assert_eq!(label("blood-pressure-screening", vec![patient("male", "1970-01-01"), obs(LOINC, "55284-4", "2018-06-01")]), "overdue");
    assert_eq!(label("blood-pressure-screening", vec![patient("male", "1995-01-01"), obs(LOINC, "8480-6", "2018-06-01")]), "satisfied");
    assert_eq!(label("blood-pressure-screening", vec![patient("male", "1970-01-01"), condition("38341003")]), "not-applicable");
    assert_eq!(label("blood-pressure-screening", vec![patient("male", "2005-01-01")]), "not-applicable");
}

#[test]
fn diabetes_screening_needs_age_35_to_70_and_overweight() {
    let p = || patient("female", "1970-01-01");
    assert_eq!(label("diabetes-screening", vec![p(), bmi(31.0, "2019-01-01")]), "overdue");
    assert_eq!(label("diabetes-screening", vec![p(), bmi(22.0, "2019-01-01")]), "not-applicable");
    assert_eq!(label("diabetes-screening", vec![p(), bmi(31.0, "2015-01-01"), bmi(22.0, "2019-01-01")]), "not-applicable");
    assert_eq!(label("diabetes-screening", vec![p(), condition("162864005")]), "overdue");
    assert_eq!(label("diabetes-screening", vec![p(), bmi(27.0, "2019-01-01"), obs(LOINC, "4548-4", "2018-01-01")]), "satisfied");
    assert_eq!(label("diabetes-screening", vec![p(), bmi(27.0, "2019-01-01"), condition("44054006")]), "not-applicable");
    assert_eq!(label("diabetes-screening", vec![patient("female", "1995-01-01"), bmi(31.0, "2019-01-01")]), "not-applicable");
}

#[test]
fn depression_screening_yearly_from_12_and_not_with_bipolar_disorder() {
    assert_eq!(label("depression-screening", vec![patient("female", "1990-01-01"), obs(LOINC, "44261-6", "2019-05-01")]), "satisfied");
    assert_eq!(label("depression-screening", vec![patient("female", "1990-01-01"), procedure("171207006", "2019-05-01")]), "satisfied");
    assert_eq!(label("depression-screening", vec![patient("female", "1990-01-01"), obs(LOINC, "44261-6", "2018-05-01")]), "overdue");
    assert_eq!(label("depression-screening", vec![patient("female", "2010-01-01")]), "not-applicable");
    assert_eq!(label("depression-screening", vec![patient("female", "1990-01-01"), condition("13746004")]), "not-applicable");
}

#[test]
fn influenza_vaccine_counts_within_the_season_and_is_overdue_after_october() {
    let p = || patient("male", "1980-01-01");
    assert_eq!(status("influenza-vaccine", vec![p(), vaccine("140", "2019-09-15")]), GapStatus::Satisfied { until: Some(ymd(2020, 8, 1)) });
    assert_eq!(label("influenza-vaccine", vec![p(), vaccine("140", "2019-03-15")]), "overdue");
    assert_eq!(status("influenza-vaccine", vec![p()]), GapStatus::Overdue { since: ymd(2019, 11, 1), due_since: ymd(2019, 8, 1) });
    assert_eq!(label("influenza-vaccine", vec![patient("male", "2010-01-01")]), "not-applicable");
    let mut not_done = vaccine("140", "2019-09-15");
    not_done["status"] = json!("not-done");
    assert_eq!(label("influenza-vaccine", vec![p(), not_done]), "overdue");
}

#[test]
fn td_tdap_every_ten_years() {
    assert_eq!(label("td-tdap-vaccine", vec![patient("male", "1980-01-01"), vaccine("113", "2012-01-01")]), "satisfied");
    assert_eq!(label("td-tdap-vaccine", vec![patient("male", "1980-01-01"), vaccine("115", "2008-01-01")]), "overdue");
    assert_eq!(label("td-tdap-vaccine", vec![patient("male", "2005-01-01")]), "not-applicable");
}

#[test]
fn recombinant_zoster_needs_two_doses_from_50_and_live_vaccine_does_not_count() {
    let p = || patient("female", "1960-01-01");
    assert_eq!(status("zoster-vaccine", vec![p(), vaccine("187", "2018-01-01"), vaccine("187", "2018-04-01")]), GapStatus::Satisfied { until: None });
    assert_eq!(label("zoster-vaccine", vec![p(), vaccine("187", "2018-01-01")]), "overdue");
    assert_eq!(label("zoster-vaccine", vec![p(), vaccine("121", "2015-01-01")]), "overdue");
    assert_eq!(label("zoster-vaccine", vec![patient("female", "1975-01-01")]), "not-applicable");
}

#[test]
fn pneumococcal_complete_with_pcv20_or_conjugate_then_ppsv23_at_65() {
    let p = || patient("male", "1950-01-01");
    assert_eq!(label("pneumococcal-vaccine", vec![p(), vaccine("216", "2019-01-01")]), "satisfied");
    assert_eq!(label("pneumococcal-vaccine", vec![p(), vaccine("133", "2015-06-01"), vaccine("33", "2016-06-01")]), "satisfied");
    assert_eq!(label("pneumococcal-vaccine", vec![p(), vaccine("133", "2015-06-01")]), "overdue");
    // PPSV23 before 65 does not complete the adult series.
    assert_eq!(label("pneumococcal-vaccine", vec![p(), vaccine("133", "2015-06-01"), vaccine("33", "2010-06-01")]), "overdue");
    assert_eq!(label("pneumococcal-vaccine", vec![patient("male", "1970-01-01")]), "not-applicable");
}

#[test]
fn deceased_or_undated_patients_get_not_applicable_everywhere() {
    let mut dead = patient("female", "1950-01-01");
    dead["deceasedDateTime"] = json!("2018-01-01");
    let gaps = evaluate(&PatientRecord::from_resources(&[dead]).unwrap(), AS_OF).unwrap();
    assert!(gaps.iter().all(|g| g.status.label() == "not-applicable"));
    let gaps = evaluate(&PatientRecord::from_resources(&[json!({"resourceType": "Patient"})]).unwrap(), AS_OF).unwrap();
    assert!(gaps.iter().all(|g| g.status.label() == "not-applicable"));
    assert!(PatientRecord::from_resources(&[json!({"resourceType": "Observation"})]).is_err());
}

#[test]
fn every_rule_names_its_source() {
    for r in rules().unwrap() {
        assert!(!r.source.author.is_empty() && r.source.url.starts_with("https://") && r.source.version_date.len() == 10, "{}", r.id);
        assert!(r.evidence.iter().all(|e| !e.codes.is_empty()), "{}", r.id);
        assert!(r.evidence.iter().chain(r.exclusions.iter().map(|_| &r.evidence[0])).all(|e| e.codes.iter().all(|c| !c.system.contains("cpt"))));
    }
}

fn synthea_records() -> Vec<PatientRecord> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/synthea");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().and_then(|e| e.to_str()) == Some("json")).collect();
    paths.sort();
    paths.iter().map(|p| PatientRecord::from_bundle(&serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()).unwrap()).collect()
}

#[test]
fn synthea_patients_care_gap_counts() {
    let records = synthea_records();
    assert_eq!(records.len(), 130);
    let rule_ids: Vec<String> = rules().unwrap().iter().map(|r| r.id.clone()).collect();
    let mut table: BTreeMap<String, [usize; 4]> = BTreeMap::new();
    for r in &records {
        let gaps = evaluate(r, AS_OF).unwrap();
        assert_eq!(gaps.len(), rule_ids.len());
        for g in gaps {
            let i = match g.status.label() { "due" => 0, "overdue" => 1, "satisfied" => 2, _ => 3 };
            table.entry(g.rule_id).or_default()[i] += 1;
        }
    }
    println!("\nSynthea care gaps as of {AS_OF} ({} patients)", records.len());
    println!("| rule | due | overdue | satisfied | not applicable |\n|---|---|---|---|---|");
    for id in &rule_ids {
        let c = table[id];
        println!("| {id} | {} | {} | {} | {} |", c[0], c[1], c[2], c[3]);
        assert_eq!(c.iter().sum::<usize>(), records.len(), "{id}");
        if id != "diabetes-screening" {
            assert!(c[0] + c[1] + c[2] > 0, "no eligible patient for {id}");
        }
    }
    // Synthea 2.4 records influenza, Td, PCV13/PPSV23 and colonoscopies, so some are satisfied.
    for id in ["influenza-vaccine", "td-tdap-vaccine", "blood-pressure-screening"] {
        assert!(table[id][2] > 0, "{id}");
    }
}
