//! One patient's transaction Bundle: samples the person and their story, then writes every
//! resource of the chart in chronological order with `urn:uuid:` references between them.

use salus_fhir::date::Date;
use serde_json::{Map, Value, json};

use crate::allergies;
use crate::bundle::Bundle;
use crate::careplans;
use crate::clinic_time::DateTime;
use crate::conditions::{self, Acute, Problem};
use crate::demographics::{self, Person, Sex};
use crate::fhir::{
    ACT_CODE, SNOMED, coding, concept_text, datetime, reference, reference_display, resource,
};
use crate::history::{self, History, Inputs, Scenario, Visit, VisitKind};
use crate::immunizations;
use crate::labs::{self, LabResult, Panel};
use crate::medications::Outcome;
use crate::notes::{self, NoteInput};
use crate::physiology::{self, Body};
use crate::procedures::{self, Kind};
use crate::rng::Rng;
use crate::shared::Directory;
use crate::vitals;
use crate::{DemoOptions, IdStyle};

fn urn(uuid: &str) -> String {
    format!("urn:uuid:{uuid}")
}

pub(crate) fn bundle(opts: &DemoOptions, dir: &Directory, index: usize) -> Value {
    let as_of = opts.as_of;
    let mut rng = Rng::stream(opts.seed, index as u64 + 1);
    let scenario = Scenario::for_index(index);
    let person = demographics::sample(
        &mut rng,
        as_of,
        index,
        dir,
        scenario.map(Scenario::age_range),
    );
    let latent = physiology::sample(&mut rng.fork(), &person);
    let forced = scenario.map(Scenario::problems).unwrap_or(&[]);
    let adult_bmi = latent.bmi0 + latent.bmi_drift * 10.0;
    let problems = conditions::sample(&mut rng.fork(), &person, as_of, adult_bmi, forced);
    let allergy_list = allergies::sample(
        &mut rng.fork(),
        &person,
        as_of,
        scenario == Some(Scenario::PenicillinAllergyAmoxicillin),
    );
    let history = history::build(
        &mut rng.fork(),
        Inputs {
            person: &person,
            latent: &latent,
            dir,
            as_of,
            problems,
            allergies: &allergy_list,
            scenario,
        },
    );
    let mut w = Writer {
        bundle: Bundle::new(),
        style: opts.ids,
        rng: rng.fork(),
    };
    let patient = urn(&person.uuid);
    w.bundle.add(
        &person.uuid,
        demographics::patient_resource(&person, dir),
        w.style,
    );
    let body = Body {
        person: &person,
        latent: &latent,
        problems: &history.problems,
        courses: &history.courses,
        as_of,
    };
    let prac = |i: usize| {
        dir.practitioners
            .get(i)
            .map(|p| format!("Practitioner/{}", p.id))
            .unwrap_or_default()
    };
    let pcp = prac(person.pcp);

    for (i, dx) in history.problems.iter().enumerate() {
        let visit = history.visits.iter().find(|v| v.diagnosed.contains(&i));
        let enc = visit.map(|v| urn(&v.uuid));
        let asserter = visit
            .map(|v| prac(v.practitioner))
            .unwrap_or_else(|| pcp.clone());
        let r = conditions::problem_resource(dx, &patient, enc.as_deref(), dx.onset, &asserter);
        w.add_with(&dx.uuid, r);
    }
    for a in &allergy_list {
        w.add_with(&a.uuid, allergies::resource_for(a, &patient, &pcp, a.onset));
    }

    let doses = immunizations::schedule(
        &mut rng.fork(),
        person.birth,
        history.window_start,
        as_of,
        &history.visits,
    );
    let mut last_pap: Option<Date> = None;
    for (vi, visit) in history.visits.iter().enumerate() {
        write_visit(
            &mut w,
            &body,
            &history,
            dir,
            &allergy_list,
            visit,
            &mut last_pap,
        );
        for dose in doses.iter().filter(|d| d.visit == Some(vi)) {
            let enc = urn(&visit.uuid);
            let r = immunizations::resource_for(
                dose,
                &patient,
                Some(&enc),
                Some(&prac(visit.practitioner)),
                &mut w.rng,
            );
            w.add(r);
        }
    }
    for dose in doses.iter().filter(|d| d.visit.is_none()) {
        let r = immunizations::resource_for(dose, &patient, None, None, &mut w.rng);
        w.add(r);
    }
    // Prescriptions, each pointing at the visit it was written at when that is in the record.
    for c in &history.courses {
        let visit = c.visit.and_then(|v| history.visits.get(v));
        let written = visit
            .map(|v| v.start.plus_minutes(v.minutes.min(60)))
            .unwrap_or(DateTime::at(c.start, 12 * 60));
        let enc = visit.map(|v| urn(&v.uuid));
        let r = crate::medications::request_resource(
            c,
            &patient,
            enc.as_deref(),
            written,
            &prac(c.prescriber),
        );
        w.add_with(&c.uuid, r);
    }
    // Diabetic eye exams are done by eye care outside the practice; reported back yearly.
    if let Some(onset) = body.onset(Problem::Diabetes) {
        let mut d = onset.max(history.window_start).add_days(w.rng.int(60, 300));
        while d <= as_of {
            if w.rng.chance(0.6) {
                let at = DateTime::at(d, 10 * 60);
                let hospital = format!("Organization/{}", dir.hospital_org.id);
                let ctx = procedures::Ctx {
                    patient: &patient,
                    encounter: None,
                    performer: &hospital,
                    location: None,
                };
                let r = procedures::procedure(
                    Kind::DiabeticEyeExam,
                    at,
                    at.plus_minutes(30),
                    "No diabetic retinopathy",
                    &ctx,
                );
                w.add(r);
            }
            d = d.add_days(w.rng.int(330, 420));
        }
    }
    for dx in &history.problems {
        let created = dx.onset.max(history.window_start);
        if let Some(r) = careplans::care_plan(dx, &patient, &pcp, person.smoking, created) {
            w.add(r);
        }
    }
    w.bundle.into_value()
}

struct Writer {
    bundle: Bundle,
    style: IdStyle,
    rng: Rng,
}

impl Writer {
    fn add(&mut self, r: Map<String, Value>) -> String {
        let uuid = self.rng.uuid();
        self.bundle.add(&uuid, r, self.style);
        uuid
    }

    fn add_with(&mut self, uuid: &str, r: Map<String, Value>) {
        self.bundle.add(uuid, r, self.style);
    }
}

fn encounter_type(kind: VisitKind) -> (&'static str, &'static str, &'static str) {
    match kind {
        VisitKind::WellChild => (
            "185349003",
            "Encounter for check up (procedure)",
            "Well-child visit",
        ),
        VisitKind::Annual => (
            "185349003",
            "Encounter for check up (procedure)",
            "Annual physical examination",
        ),
        VisitKind::NewProblem => (
            "185347001",
            "Encounter for problem (procedure)",
            "Office visit for a new problem",
        ),
        VisitKind::FollowUp => (
            "390906007",
            "Follow-up encounter (procedure)",
            "Chronic care follow-up",
        ),
        VisitKind::Sick(_) => (
            "185345009",
            "Encounter for symptom (procedure)",
            "Sick visit",
        ),
        VisitKind::Emergency(_) => (
            "50849002",
            "Emergency room admission (procedure)",
            "Emergency department visit",
        ),
        VisitKind::Colonoscopy | VisitKind::Mammogram => (
            "371883000",
            "Outpatient procedure (procedure)",
            "Outpatient procedure",
        ),
    }
}

fn panels_for(visit: &Visit, body: &Body<'_>, last_labs: bool) -> Vec<Panel> {
    let d = visit.date();
    let age = body.person.age_on(d);
    if age < 18 {
        return Vec::new();
    }
    let dm = body.has_on(Problem::Diabetes, d);
    let pre = body.has_on(Problem::Prediabetes, d);
    let htn = body.has_on(Problem::Hypertension, d);
    let hld = body.has_on(Problem::Hyperlipidemia, d);
    let ckd = body.has_on(Problem::Ckd3, d);
    let mut out = Vec::new();
    match visit.kind {
        VisitKind::Annual => {
            // Routine panels at most check-ups, fewer for young healthy adults.
            if age >= 50 || htn || dm || ckd || last_labs {
                out.push(Panel::Cbc);
                out.push(Panel::Cmp);
            }
            if hld || dm || age >= 40 || last_labs {
                out.push(Panel::Lipid);
            }
            if dm || pre || (age >= 35 && body.bmi(d) >= 25.0) {
                out.push(Panel::A1c);
            }
            if dm {
                out.push(Panel::Uacr);
            }
        }
        VisitKind::NewProblem => {
            if dm || pre {
                out.push(Panel::A1c);
            }
            if htn || dm || ckd {
                out.push(Panel::Bmp);
            }
            if hld || dm || htn {
                out.push(Panel::Lipid);
            }
        }
        VisitKind::FollowUp => {
            if dm {
                out.push(Panel::A1c);
            }
            if htn || ckd {
                out.push(Panel::Bmp);
            }
        }
        VisitKind::Emergency(_) => {
            out.push(Panel::Cbc);
            out.push(Panel::Bmp);
        }
        _ => {}
    }
    out.dedup();
    out
}

#[allow(clippy::too_many_arguments)]
fn write_visit(
    w: &mut Writer,
    body: &Body<'_>,
    history: &History,
    dir: &Directory,
    allergy_list: &[allergies::Allergy],
    visit: &Visit,
    last_pap: &mut Option<Date>,
) {
    let person: &Person = body.person;
    let patient = urn(&person.uuid);
    let enc = urn(&visit.uuid);
    let d = visit.date();
    let age = person.age_on(d);
    let doc = dir.practitioners.get(visit.practitioner);
    let doc_ref = doc
        .map(|p| format!("Practitioner/{}", p.id))
        .unwrap_or_default();
    let doc_name = doc.map(|p| p.display.clone()).unwrap_or_default();
    let end = visit.start.plus_minutes(visit.minutes);
    let (location, org) = match visit.kind {
        VisitKind::Emergency(_) => (&dir.emergency, &dir.hospital_org),
        VisitKind::Colonoscopy => (&dir.endoscopy, &dir.hospital_org),
        VisitKind::Mammogram => (&dir.radiology, &dir.hospital_org),
        _ if age < 18 => (&dir.pediatric_clinic, &dir.clinic_org),
        _ => (&dir.family_clinic, &dir.clinic_org),
    };
    let lab_ref = format!("Organization/{}", dir.hospital_org.id);

    // Encounter.
    let (tcode, tdisplay, ttext) = encounter_type(visit.kind);
    let mut e = resource("Encounter");
    e.insert("status".into(), json!("finished"));
    e.insert(
        "class".into(),
        match visit.kind {
            VisitKind::Emergency(_) => coding(ACT_CODE, "EMER", "emergency"),
            _ => coding(ACT_CODE, "AMB", "ambulatory"),
        },
    );
    e.insert(
        "type".into(),
        json!([concept_text(SNOMED, tcode, tdisplay, ttext)]),
    );
    e.insert("subject".into(), reference(&patient));
    e.insert(
        "participant".into(),
        json!([{
            "type": [{ "coding": [coding("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "PPRF", "primary performer")] }],
            "period": { "start": datetime(visit.start), "end": datetime(end) },
            "individual": reference_display(&doc_ref, &doc_name)
        }]),
    );
    e.insert(
        "period".into(),
        json!({ "start": datetime(visit.start), "end": datetime(end) }),
    );
    let mut reasons: Vec<Value> = visit
        .diagnosed
        .iter()
        .filter_map(|i| history.problems.get(*i))
        .map(|p| reference(&urn(&p.uuid)))
        .collect();
    if let Some(a) = &visit.acute_uuid {
        reasons.push(reference(&urn(a)));
    }
    if visit.kind == VisitKind::FollowUp {
        for p in history
            .problems
            .iter()
            .filter(|p| p.problem.needs_follow_up() && p.onset <= d)
        {
            reasons.push(reference(&urn(&p.uuid)));
        }
    }
    if !reasons.is_empty() {
        e.insert("reasonReference".into(), Value::Array(reasons));
    }
    e.insert("location".into(), json!([{ "location": reference_display(&format!("Location/{}", location.id), &location.display), "status": "completed" }]));
    e.insert(
        "serviceProvider".into(),
        reference_display(&format!("Organization/{}", org.id), &org.display),
    );
    w.add_with(&visit.uuid, e);

    // Procedure visits: the procedure, no vitals or note.
    let proc_ctx = procedures::Ctx {
        patient: &patient,
        encounter: Some(&enc),
        performer: &doc_ref,
        location: Some(&format!("Location/{}", location.id)),
    };
    match visit.kind {
        VisitKind::Colonoscopy => {
            let outcome = if w.rng.chance(0.75) {
                "Normal colonoscopy to the cecum; repeat in 10 years"
            } else {
                "Two small tubular adenomas removed; repeat in 7 years"
            };
            let r = procedures::procedure(
                Kind::Colonoscopy,
                visit.start.plus_minutes(20),
                visit.start.plus_minutes(50),
                outcome,
                &proc_ctx,
            );
            w.add(r);
            return;
        }
        VisitKind::Mammogram => {
            let r = procedures::procedure(
                Kind::Mammography,
                visit.start,
                visit.start.plus_minutes(20),
                "BI-RADS 1: negative",
                &proc_ctx,
            );
            w.add(r);
            return;
        }
        _ => {}
    }

    let acute = match visit.kind {
        VisitKind::Sick(a) | VisitKind::Emergency(a) => Some(a),
        _ => None,
    };
    let mut noise = Rng::stream(visit.noise, 1);
    let fever = matches!(
        acute,
        Some(Acute::StrepThroat | Acute::OtitisMedia | Acute::ViralPharyngitis)
    );
    let vctx = vitals::Ctx {
        patient: &patient,
        encounter: &enc,
        performer: &doc_ref,
        at: visit.start.plus_minutes(5),
    };
    let (vit, vit_resources) = vitals::measure(body, &vctx, &mut noise, fever);
    for r in vit_resources {
        w.add(r);
    }
    if matches!(visit.kind, VisitKind::Annual | VisitKind::NewProblem) && age >= 13 {
        w.add(vitals::smoking_status(&vctx, person.smoking));
    }
    if let (Some(a), Some(uuid)) = (acute, &visit.acute_uuid) {
        let days = if a == Acute::AnkleSprain {
            0
        } else {
            w.rng.int(2, 10)
        };
        let abated = d.add_days(w.rng.int(7, 21));
        let abated = (abated <= body.as_of).then_some(abated);
        let r = conditions::acute_resource(
            a,
            &patient,
            &enc,
            d.add_days(-days).max(person.birth),
            d,
            abated,
            &doc_ref,
        );
        w.add_with(uuid, r);
    }

    // Labs.
    let mut lab_noise = Rng::stream(visit.noise, 2);
    let panels = panels_for(visit, body, w.rng.chance(0.3));
    let mut all_results: Vec<LabResult> = Vec::new();
    for panel in panels {
        let results = labs::draw(panel, body, visit.start, &mut lab_noise);
        let ctx = labs::Ctx {
            patient: &patient,
            encounter: &enc,
            lab: &lab_ref,
            collected: visit.start.plus_minutes(visit.minutes.min(30)),
            issued: visit.start.plus_minutes(visit.minutes.min(30) + 180),
        };
        for (uuid, r) in labs::resources(panel, &results, &ctx, &mut w.rng) {
            w.add_with(&uuid, r);
        }
        all_results.extend(results);
    }

    // Screening done at the visit.
    let mut plan: Vec<String> = Vec::new();
    if visit.kind == VisitKind::Annual {
        if w.rng.chance(0.7) {
            let r = procedures::procedure(
                Kind::DepressionScreening,
                visit.start.plus_minutes(10),
                visit.start.plus_minutes(15),
                "PHQ-2 negative",
                &proc_ctx,
            );
            w.add(r);
            plan.push(format!("{}: negative.", Kind::DepressionScreening.label()));
        }
        let due = last_pap.is_none_or(|p| d.days_since(p) >= 3 * 365);
        if person.sex == Sex::Female && (21..=65).contains(&age) && due && w.rng.chance(0.7) {
            for r in procedures::cervical_screening(
                visit.start.plus_minutes(20),
                age >= 30,
                &proc_ctx,
                &lab_ref,
            ) {
                w.add(r);
            }
            *last_pap = Some(d);
            plan.push("Cervical cancer screening collected.".into());
        }
    }
    if visit.kind == VisitKind::NewProblem
        && visit
            .diagnosed
            .iter()
            .filter_map(|i| history.problems.get(*i))
            .any(|p| matches!(p.problem, Problem::Asthma | Problem::Copd))
    {
        let r = procedures::procedure(
            Kind::Spirometry,
            visit.start.plus_minutes(10),
            visit.start.plus_minutes(25),
            "Obstructive pattern",
            &proc_ctx,
        );
        w.add(r);
    }

    // The note.
    let active: Vec<&conditions::Diagnosis> =
        history.problems.iter().filter(|p| p.onset <= d).collect();
    let meds_now: Vec<String> = history
        .courses
        .iter()
        .filter(|c| c.active_on(d) && c.start < d)
        .map(|c| c.drug.short.to_string())
        .collect();
    let started: Vec<String> = history
        .courses
        .iter()
        .filter(|c| c.start == d)
        .map(|c| format!("Start {}.", c.drug.short))
        .collect();
    let stopped: Vec<String> = history
        .courses
        .iter()
        .filter_map(|c| match c.outcome {
            Outcome::Stopped(end, why) if end == d => {
                Some(format!("Stop {} ({}).", c.drug.short, why.to_lowercase()))
            }
            _ => None,
        })
        .collect();
    let mut assessment = Vec::new();
    for p in &active {
        let line = match p.problem {
            Problem::Hypertension => match vit.bp {
                Some((s, di)) if s >= 140.0 || di >= 90.0 => {
                    format!("{}: above goal today ({s:.0}/{di:.0}).", p.problem.name())
                }
                Some((s, di)) => format!("{}: at goal ({s:.0}/{di:.0}).", p.problem.name()),
                None => format!("{}.", p.problem.name()),
            },
            Problem::Diabetes => match all_results.iter().find(|r| r.code == "4548-4") {
                Some(r) if r.value > 7.0 => format!(
                    "{}: HbA1c {:.1}%, above goal of 7%.",
                    p.problem.name(),
                    r.value
                ),
                Some(r) => format!("{}: HbA1c {:.1}%, at goal.", p.problem.name(), r.value),
                None => format!("{}: stable.", p.problem.name()),
            },
            _ => format!("{}: stable.", p.problem.name()),
        };
        let new = visit
            .diagnosed
            .iter()
            .any(|i| history.problems.get(*i).is_some_and(|x| x.uuid == p.uuid));
        assessment.push(if new {
            format!("New diagnosis: {line}")
        } else {
            line
        });
    }
    if let Some(a) = acute {
        assessment.insert(0, format!("{}.", a.code().2));
    }
    let (title, subjective) = match visit.kind {
        VisitKind::WellChild => (
            "Well-child visit",
            format!(
                "Here with parent for routine well-child care at age {}. Growing and developing normally per parent.",
                age_text(person, d)
            ),
        ),
        VisitKind::Annual => (
            "Annual physical examination",
            format!(
                "{} presents for an annual physical. No new complaints.",
                person.pronoun()
            ),
        ),
        VisitKind::NewProblem => (
            "Office visit",
            format!(
                "{} presents to discuss a new problem found on history and testing.",
                person.pronoun()
            ),
        ),
        VisitKind::FollowUp => (
            "Chronic care follow-up",
            format!(
                "{} returns for follow-up of chronic conditions. Reports taking medications as prescribed.",
                person.pronoun()
            ),
        ),
        VisitKind::Sick(a) | VisitKind::Emergency(a) => (
            "Acute visit",
            format!("{} reports {}.", person.pronoun(), a.complaint()),
        ),
        VisitKind::Colonoscopy | VisitKind::Mammogram => ("Procedure", String::new()),
    };
    if assessment.is_empty() {
        assessment.push(if age < 18 {
            "Healthy child; growth and development appropriate for age.".into()
        } else {
            "Healthy adult.".into()
        });
    }
    plan.extend(started);
    plan.extend(stopped);
    if acute.is_some() && plan.is_empty() {
        plan.push("Supportive care: rest, fluids, analgesics as needed; return if worse.".into());
    }
    if !all_results.is_empty() {
        plan.push("Results reviewed with the patient.".into());
    }
    plan.push(match visit.kind {
        VisitKind::Annual | VisitKind::WellChild => "Return in 1 year for routine care.".into(),
        VisitKind::FollowUp | VisitKind::NewProblem => "Follow up in 3 months.".into(),
        _ => "Follow up as needed.".into(),
    });
    let allergies_now: Vec<String> = allergy_list
        .iter()
        .filter(|a| a.onset <= d)
        .map(|a| a.allergen.name().to_string())
        .collect();
    let input = NoteInput {
        title,
        patient_line: format!(
            "Patient: {}, {} {}, MRN {}",
            person.full_name(),
            age_text(person, d),
            person.sex_word(),
            person.mrn
        ),
        clinician: &doc_name,
        at: visit.start,
        subjective,
        vitals: Some(vit),
        labs: &all_results,
        assessment,
        plan,
        medications: meds_now,
        allergies: allergies_now,
    };
    let text = notes::text(&input);
    let custodian = format!("Organization/{}", org.id);
    let nctx = notes::Ctx {
        patient: &patient,
        encounter: &enc,
        author: &doc_ref,
        custodian: &custodian,
        start: visit.start,
        end,
    };
    w.add(notes::document(&text, &format!("{title}, {d}"), &nctx));
}

fn age_text(p: &Person, d: Date) -> String {
    let days = d.days_since(p.birth);
    if days < 60 {
        format!("{days}-day-old")
    } else if days < 730 {
        format!("{}-month-old", (days as f64 / 30.44).floor() as i64)
    } else {
        format!("{}-year-old", p.birth.age_on(d))
    }
}
