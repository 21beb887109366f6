//! Behaviour of the generator on whole data sets.

use std::collections::{BTreeMap, BTreeSet};

use salus_demo::{DemoOptions, IdStyle, generate, patient_bundle, rxnorm_codes};
use salus_fhir::date::{Date, InvalidDate};
use serde_json::Value;

fn options(seed: u64, patients: usize) -> DemoOptions {
    DemoOptions {
        seed,
        patients,
        as_of: Date::parse("2025-06-30").unwrap_or_default_date(),
        ids: IdStyle::ClientAssigned,
    }
}

trait OrDefault {
    fn unwrap_or_default_date(self) -> Date;
}

impl OrDefault for Result<Date, InvalidDate> {
    fn unwrap_or_default_date(self) -> Date {
        match self {
            Ok(d) => d,
            Err(e) => panic!("bad test date: {e}"),
        }
    }
}

fn all(opts: &DemoOptions) -> (Value, Vec<Value>) {
    let data = generate(opts);
    (data.shared, data.patients.collect())
}

fn resources(bundle: &Value) -> impl Iterator<Item = &Value> {
    bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| &e["resource"])
}

fn of_type<'a>(bundle: &'a Value, t: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    resources(bundle).filter(move |r| r["resourceType"] == t)
}

/// Every string that looks like a date or dateTime, with the JSON path that holds it.
fn dates(v: &Value, path: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                // Attachment data and validity periods of prescriptions (which run into the
                // future by design) are not events.
                if k == "data" || k == "validityPeriod" {
                    continue;
                }
                dates(x, &format!("{path}.{k}"), out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| dates(x, path, out)),
        Value::String(s) => {
            let b = s.as_bytes();
            if s.len() >= 10
                && b[4] == b'-'
                && b[7] == b'-'
                && s[..4].chars().all(|c| c.is_ascii_digit())
            {
                out.push((path.to_string(), s[..10].to_string()));
            }
        }
        _ => {}
    }
}

#[test]
fn same_seed_gives_identical_output() {
    let a = all(&options(42, 20));
    let b = all(&options(42, 20));
    let sa = serde_json::to_string(&a.1).unwrap_or_default();
    let sb = serde_json::to_string(&b.1).unwrap_or_default();
    assert!(!sa.is_empty());
    assert_eq!(sa, sb);
    assert_eq!(a.0, b.0);
    // Random access gives the same bundle as iteration.
    assert_eq!(patient_bundle(&options(42, 20), 13), a.1[13]);
}

#[test]
fn different_seeds_differ() {
    let a = all(&options(1, 5));
    let b = all(&options(2, 5));
    assert_ne!(a.0, b.0);
    assert_ne!(a.1, b.1);
}

#[test]
fn no_event_after_as_of_or_before_birth() {
    let opts = options(7, 100);
    let (_, patients) = all(&opts);
    let as_of = opts.as_of.to_string();
    for b in &patients {
        let birth = of_type(b, "Patient")
            .next()
            .map(|p| p["birthDate"].as_str().unwrap_or("").to_string())
            .unwrap_or_default();
        assert_eq!(birth.len(), 10);
        for r in resources(b) {
            let mut found = Vec::new();
            dates(r, "", &mut found);
            for (path, d) in found {
                assert!(d <= as_of, "{} {path} {d} after as_of", r["resourceType"]);
                assert!(
                    d >= birth,
                    "{} {path} {d} before birth {birth}",
                    r["resourceType"]
                );
            }
        }
    }
}

#[test]
fn every_reference_resolves_within_the_bundle_or_shared_resources() {
    let (shared, patients) = all(&options(11, 60));
    let mut shared_ids = BTreeSet::new();
    for r in resources(&shared) {
        shared_ids.insert(format!(
            "{}/{}",
            r["resourceType"].as_str().unwrap_or(""),
            r["id"].as_str().unwrap_or("")
        ));
    }
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(s)) = m.get("reference") {
                    out.push(s.clone());
                }
                m.values().for_each(|x| refs(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }
    let mut r_shared = Vec::new();
    refs(&shared, &mut r_shared);
    for r in r_shared {
        assert!(shared_ids.contains(&r), "shared reference {r}");
    }
    for b in &patients {
        let full: BTreeSet<String> = b["entry"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["fullUrl"].as_str().map(str::to_string))
            .collect();
        let mut out = Vec::new();
        refs(b, &mut out);
        assert!(!out.is_empty());
        for r in out {
            assert!(
                full.contains(&r) || shared_ids.contains(&r),
                "unresolved {r}"
            );
        }
        // Every entry is a PUT to its own id under ClientAssigned.
        for e in b["entry"].as_array().into_iter().flatten() {
            let url = format!(
                "{}/{}",
                e["resource"]["resourceType"].as_str().unwrap_or(""),
                e["resource"]["id"].as_str().unwrap_or("")
            );
            assert_eq!(e["request"]["method"], "PUT");
            assert_eq!(e["request"]["url"].as_str(), Some(url.as_str()));
            assert_eq!(
                e["fullUrl"]
                    .as_str()
                    .map(|f| f.trim_start_matches("urn:uuid:")),
                e["resource"]["id"].as_str()
            );
        }
    }
}

#[test]
fn server_assigned_ids_use_post_without_ids() {
    let mut opts = options(3, 2);
    opts.ids = IdStyle::ServerAssigned;
    for b in generate(&opts).patients {
        for e in b["entry"].as_array().into_iter().flatten() {
            assert_eq!(e["request"]["method"], "POST");
            assert!(e["resource"].get("id").is_none());
            assert!(
                e["fullUrl"]
                    .as_str()
                    .is_some_and(|f| f.starts_with("urn:uuid:"))
            );
        }
    }
}

fn has_condition(b: &Value, code: &str) -> bool {
    of_type(b, "Condition").any(|c| {
        c["code"]["coding"][0]["code"] == code
            && c["category"][0]["coding"][0]["code"] == "problem-list-item"
    })
}

fn obs_values<'a>(b: &'a Value, loinc: &'a str) -> Vec<(String, f64)> {
    let mut v: Vec<(String, f64)> = of_type(b, "Observation")
        .filter(|o| o["code"]["coding"][0]["code"] == loinc)
        .filter_map(|o| {
            Some((
                o["effectiveDateTime"].as_str()?.to_string(),
                o["valueQuantity"]["value"].as_f64()?,
            ))
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[test]
fn diabetic_patients_have_hba1c_series() {
    let (_, patients) = all(&options(5, 150));
    let diabetics: Vec<&Value> = patients
        .iter()
        .filter(|b| has_condition(b, "44054006"))
        .collect();
    assert!(diabetics.len() >= 5, "only {} diabetics", diabetics.len());
    let mut with_series = 0;
    for b in &diabetics {
        let a1c = obs_values(b, "4548-4");
        if a1c.len() >= 3 {
            with_series += 1;
        }
        // Diabetics are on metformin at some point.
        assert!(of_type(b, "MedicationRequest").any(|m| {
            let c = m["medicationCodeableConcept"]["coding"][0]["code"]
                .as_str()
                .unwrap_or("");
            c == "861007" || c == "861004"
        }));
    }
    assert!(
        with_series * 10 >= diabetics.len() * 7,
        "{with_series} of {} diabetics have 3+ HbA1c",
        diabetics.len()
    );
}

#[test]
fn hypertensive_blood_pressure_falls_after_treatment() {
    let (_, patients) = all(&options(9, 200));
    let mut improved = 0;
    let mut seen = 0;
    for b in patients.iter().filter(|b| has_condition(b, "38341003")) {
        let Some(onset) = of_type(b, "Condition")
            .find(|c| c["code"]["coding"][0]["code"] == "38341003")
            .and_then(|c| c["onsetDateTime"].as_str())
        else {
            continue;
        };
        let sbp: Vec<(String, f64)> = of_type(b, "Observation")
            .filter(|o| o["code"]["coding"][0]["code"] == "85354-9")
            .filter_map(|o| {
                Some((
                    o["effectiveDateTime"].as_str()?.to_string(),
                    o["component"][0]["valueQuantity"]["value"].as_f64()?,
                ))
            })
            .collect();
        // The reading at the diagnosis visit against the readings from three months on.
        let at_dx: Vec<f64> = sbp
            .iter()
            .filter(|(d, _)| d.starts_with(onset))
            .map(|x| x.1)
            .collect();
        let later = crate_date_plus(onset, 90);
        let after: Vec<f64> = sbp
            .iter()
            .filter(|(d, _)| d.as_str() >= later.as_str())
            .map(|x| x.1)
            .collect();
        let before = at_dx;
        if before.is_empty() || after.len() < 2 {
            continue;
        }
        seen += 1;
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        if mean(&after) < mean(&before) {
            improved += 1;
        }
    }
    assert!(seen >= 5, "{seen}");
    assert!(improved * 10 >= seen * 7, "{improved}/{seen}");
}

fn crate_date_plus(date: &str, days: i64) -> String {
    Date::parse(&date[..10.min(date.len())])
        .unwrap_or_default_date()
        .add_days(days)
        .to_string()
}

#[test]
fn lab_flags_match_reference_ranges() {
    let (_, patients) = all(&options(21, 80));
    let mut checked = 0;
    let mut abnormal = 0;
    for b in &patients {
        for o in of_type(b, "Observation")
            .filter(|o| o["category"][0]["coding"][0]["code"] == "laboratory")
        {
            let Some(v) = o["valueQuantity"]["value"].as_f64() else {
                continue;
            };
            let range = &o["referenceRange"][0];
            let low = range["low"]["value"].as_f64();
            let high = range["high"]["value"].as_f64();
            assert!(
                low.is_some() || high.is_some(),
                "no range on {}",
                o["code"]["coding"][0]["code"]
            );
            assert_eq!(
                range["low"]["code"]
                    .as_str()
                    .or(range["high"]["code"].as_str()),
                o["valueQuantity"]["code"].as_str()
            );
            let expect = if low.is_some_and(|l| v < l) {
                "L"
            } else if high.is_some_and(|h| v > h) {
                "H"
            } else {
                "N"
            };
            assert_eq!(o["interpretation"][0]["coding"][0]["code"], expect, "{o}");
            assert_eq!(
                o["interpretation"][0]["coding"][0]["system"],
                "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
            );
            checked += 1;
            if expect != "N" {
                abnormal += 1;
            }
        }
    }
    assert!(checked > 1000, "{checked}");
    assert!(
        abnormal > 20 && abnormal * 3 < checked,
        "{abnormal} of {checked}"
    );
}

#[test]
fn lab_results_are_grouped_by_reports() {
    let (_, patients) = all(&options(4, 30));
    for b in &patients {
        let full: BTreeSet<&str> = b["entry"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["fullUrl"].as_str())
            .collect();
        let mut in_reports = BTreeSet::new();
        for dr in of_type(b, "DiagnosticReport") {
            for r in dr["result"].as_array().into_iter().flatten() {
                let reference = r["reference"].as_str().unwrap_or("");
                assert!(full.contains(reference));
                in_reports.insert(reference.to_string());
            }
        }
        for e in b["entry"].as_array().into_iter().flatten() {
            let r = &e["resource"];
            if r["resourceType"] == "Observation"
                && r["valueQuantity"].is_object()
                && r["category"][0]["coding"][0]["code"] == "laboratory"
            {
                assert!(in_reports.contains(e["fullUrl"].as_str().unwrap_or("")));
            }
        }
    }
}

#[test]
fn egfr_agrees_with_creatinine_and_ckd() {
    let (_, patients) = all(&options(13, 120));
    let mut ckd_low = 0;
    for b in &patients {
        let ckd = has_condition(b, "433144002");
        let egfr = obs_values(b, "98979-8");
        if ckd {
            let onset = of_type(b, "Condition")
                .find(|c| c["code"]["coding"][0]["code"] == "433144002")
                .and_then(|c| c["onsetDateTime"].as_str())
                .unwrap_or("");
            if egfr
                .iter()
                .filter(|(d, _)| d.as_str() >= onset)
                .all(|(_, v)| *v < 65.0)
            {
                ckd_low += 1;
            }
        }
        for (_, v) in egfr {
            assert!((15.0..=140.0).contains(&v), "{v}");
        }
    }
    assert!(ckd_low >= 1);
}

#[test]
fn medication_safety_scenarios_are_present() {
    let (_, patients) = all(&options(1, 100));
    let active = |b: &Value| -> BTreeSet<String> {
        of_type(b, "MedicationRequest")
            .filter(|m| m["status"] == "active")
            .filter_map(|m| {
                m["medicationCodeableConcept"]["coding"][0]["code"]
                    .as_str()
                    .map(str::to_string)
            })
            .collect()
    };
    let both = |a: &str, c: &str| {
        patients
            .iter()
            .filter(|b| {
                let s = active(b);
                s.contains(a) && s.contains(c)
            })
            .count()
    };
    assert!(both("855332", "198014") >= 1, "warfarin + naproxen");
    assert!(both("314076", "313096") >= 1, "lisinopril + spironolactone");
    assert!(both("312941", "835603") >= 1, "sertraline + tramadol");
    assert!(
        both("198211", "197517") >= 1,
        "simvastatin 40 + clarithromycin"
    );
    let pen = patients
        .iter()
        .filter(|b| {
            of_type(b, "AllergyIntolerance").any(|a| a["code"]["coding"][0]["code"] == "7980")
                && active(b).contains("308191")
        })
        .count();
    assert!(pen >= 1, "penicillin allergy + amoxicillin");
}

#[test]
fn screening_gaps_exist_and_are_filled_for_some() {
    let (_, patients) = all(&options(8, 150));
    let eligible: Vec<&Value> = patients
        .iter()
        .filter(|b| {
            of_type(b, "Patient").any(|p| {
                p["birthDate"]
                    .as_str()
                    .is_some_and(|d| ("1955-06-30"..="1975-06-30").contains(&d))
            })
        })
        .collect();
    let screened = eligible
        .iter()
        .filter(|b| of_type(b, "Procedure").any(|p| p["code"]["coding"][0]["code"] == "73761001"))
        .count();
    assert!(
        screened > 0 && screened < eligible.len(),
        "{screened}/{}",
        eligible.len()
    );
}

#[test]
fn immunizations_use_cvx_and_some_patients_are_overdue() {
    let (_, patients) = all(&options(6, 120));
    let mut flu_this_year = 0;
    let mut adults = 0;
    for b in &patients {
        for i in of_type(b, "Immunization") {
            assert_eq!(
                i["vaccineCode"]["coding"][0]["system"],
                "http://hl7.org/fhir/sid/cvx"
            );
            assert_eq!(i["status"], "completed");
        }
        let adult = of_type(b, "Patient")
            .any(|p| p["birthDate"].as_str().is_some_and(|d| d <= "2007-06-30"));
        if adult {
            adults += 1;
            if of_type(b, "Immunization").any(|i| {
                i["vaccineCode"]["coding"][0]["code"] == "140"
                    && i["occurrenceDateTime"]
                        .as_str()
                        .is_some_and(|d| d >= "2024-09-01")
            }) {
                flu_this_year += 1;
            }
        }
    }
    assert!(
        flu_this_year > 0 && flu_this_year < adults,
        "{flu_this_year}/{adults}"
    );
}

#[test]
fn notes_are_base64_soap_text() {
    use base64::Engine;
    let (_, patients) = all(&options(2, 10));
    let mut n = 0;
    for b in &patients {
        for d in of_type(b, "DocumentReference") {
            assert_eq!(d["type"]["coding"][0]["code"], "11506-3");
            let data = d["content"][0]["attachment"]["data"].as_str().unwrap_or("");
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(data)
                .unwrap_or_default();
            let text = String::from_utf8(bytes).unwrap_or_default();
            for part in ["SUBJECTIVE", "OBJECTIVE", "ASSESSMENT", "PLAN"] {
                assert!(text.contains(part), "{text}");
            }
            n += 1;
        }
    }
    assert!(n > 10);
}

#[test]
fn rxnorm_codes_cover_every_prescription() {
    let known: BTreeSet<&str> = rxnorm_codes().into_iter().collect();
    let (_, patients) = all(&options(12, 60));
    for b in &patients {
        for m in of_type(b, "MedicationRequest") {
            let c = &m["medicationCodeableConcept"]["coding"][0];
            assert_eq!(c["system"], "http://www.nlm.nih.gov/research/umls/rxnorm");
            assert!(known.contains(c["code"].as_str().unwrap_or("")));
        }
    }
}

#[test]
fn resource_counts_for_100_patients() {
    let opts = options(1, 100);
    let start = std::time::Instant::now();
    let data = generate(&opts);
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for r in resources(&data.shared) {
        *counts
            .entry(format!(
                "{} (shared)",
                r["resourceType"].as_str().unwrap_or("")
            ))
            .or_default() += 1;
    }
    let bundles: Vec<Value> = data.patients.collect();
    let generated = start.elapsed();
    let mut bytes = 0;
    for b in &bundles {
        bytes += serde_json::to_string(b).map(|s| s.len()).unwrap_or(0);
        for r in resources(b) {
            *counts
                .entry(r["resourceType"].as_str().unwrap_or("").to_string())
                .or_default() += 1;
        }
    }
    let elapsed = start.elapsed();
    let total: usize = counts.values().sum();
    println!(
        "resources by type for 100 patients (seed 1, as_of {}):",
        opts.as_of
    );
    for (t, n) in &counts {
        println!("  {t:<28} {n:>7}");
    }
    println!("  {:<28} {total:>7}", "total");
    println!(
        "generated in {generated:?}, generated and serialised in {elapsed:?} ({bytes} bytes of JSON)"
    );
    assert_eq!(counts.get("Patient"), Some(&100));
    if let Ok(dir) = std::env::var("SALUS_DEMO_DUMP") {
        // Hand-run validation: write the bundles for an external validator.
        let _ = std::fs::create_dir_all(&dir);
        let data = generate(&opts);
        let _ = std::fs::write(
            format!("{dir}/shared.json"),
            serde_json::to_string(&data.shared).unwrap_or_default(),
        );
        for (i, b) in data.patients.enumerate() {
            let _ = std::fs::write(
                format!("{dir}/patient-{i:04}.json"),
                serde_json::to_string(&b).unwrap_or_default(),
            );
        }
    }
}

#[test]
fn required_bindings_use_allowed_codes() {
    let allowed: &[(&str, &str, &[&str])] = &[
        ("Observation", "/status", &["final"]),
        ("Encounter", "/status", &["finished"]),
        ("Encounter", "/class/code", &["AMB", "EMER"]),
        ("Patient", "/gender", &["male", "female"]),
        (
            "MedicationRequest",
            "/status",
            &["active", "stopped", "completed"],
        ),
        ("MedicationRequest", "/intent", &["order"]),
        (
            "Condition",
            "/clinicalStatus/coding/0/code",
            &["active", "resolved"],
        ),
        (
            "Condition",
            "/verificationStatus/coding/0/code",
            &["confirmed"],
        ),
        (
            "AllergyIntolerance",
            "/clinicalStatus/coding/0/code",
            &["active"],
        ),
        ("AllergyIntolerance", "/type", &["allergy", "intolerance"]),
        (
            "AllergyIntolerance",
            "/category/0",
            &["food", "medication", "environment"],
        ),
        (
            "AllergyIntolerance",
            "/criticality",
            &["low", "high", "unable-to-assess"],
        ),
        (
            "AllergyIntolerance",
            "/reaction/0/severity",
            &["mild", "moderate", "severe"],
        ),
        ("Immunization", "/status", &["completed"]),
        ("Procedure", "/status", &["completed"]),
        ("DiagnosticReport", "/status", &["final"]),
        ("DocumentReference", "/status", &["current"]),
        ("DocumentReference", "/docStatus", &["final"]),
        ("CarePlan", "/status", &["active"]),
        ("CarePlan", "/intent", &["plan"]),
        ("CarePlan", "/activity/0/detail/status", &["in-progress"]),
    ];
    let (_, patients) = all(&options(31, 40));
    let mut seen: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for b in &patients {
        for r in resources(b) {
            let t = r["resourceType"].as_str().unwrap_or("");
            for (rt, pointer, codes) in allowed {
                if *rt != t {
                    continue;
                }
                let v = r.pointer(pointer).and_then(Value::as_str);
                let v = v.unwrap_or_else(|| panic!("{t}{pointer} missing in {r}"));
                assert!(codes.contains(&v), "{t}{pointer} = {v}");
                *seen.entry((rt, pointer)).or_default() += 1;
            }
            if t == "Observation" {
                if let Some(q) = r.get("valueQuantity") {
                    assert_eq!(q["system"], "http://unitsofmeasure.org");
                    assert!(q["code"].is_string() && q["value"].is_number());
                }
                assert!(
                    r["subject"]["reference"].is_string() && r["effectiveDateTime"].is_string()
                );
                if r["category"][0]["coding"][0]["code"] == "vital-signs" {
                    assert!(r["meta"]["profile"][0].as_str().is_some_and(|p| {
                        p.starts_with("http://hl7.org/fhir/StructureDefinition/")
                    }));
                    assert!(r.get("valueQuantity").is_some() || r.get("component").is_some());
                }
            }
        }
    }
    assert_eq!(
        seen.len(),
        allowed.len(),
        "every rule was exercised: {seen:?}"
    );
}
