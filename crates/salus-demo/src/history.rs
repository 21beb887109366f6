//! The patient's story in the record: which visits happened, what was diagnosed where, and which
//! prescriptions were written, changed and stopped.
//!
//! The record window is the last ten years (or since birth). Visits follow the usual patterns of
//! primary care: the AAP well-child schedule, yearly adult check-ups, a visit when a chronic
//! problem is found and follow-ups every three to six months for the ones that need them, sick
//! visits, occasional emergency visits, and screening procedures. Drug changes are decided at
//! visits from the simulated values, so a patient whose pressure stays high gets a second agent.

use salus_fhir::date::Date;

use crate::allergies::{Allergen, Allergy};
use crate::clinic_time::DateTime;
use crate::conditions::{Acute, Diagnosis, Problem};
use crate::demographics::{Person, Race, Sex};
use crate::medications::{self as meds, Course, Medication, Outcome};
use crate::physiology::{Body, Latent};
use crate::rng::Rng;
use crate::shared::{Directory, Role};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum VisitKind {
    WellChild,
    Annual,
    NewProblem,
    FollowUp,
    Sick(Acute),
    Emergency(Acute),
    Colonoscopy,
    Mammogram,
}

impl VisitKind {
    pub(crate) fn is_office(self) -> bool {
        !matches!(self, VisitKind::Colonoscopy | VisitKind::Mammogram)
    }
}

pub(crate) struct Visit {
    pub uuid: String,
    pub kind: VisitKind,
    pub start: DateTime,
    pub minutes: u32,
    pub practitioner: usize,
    /// Seed for this visit's measurement noise, so decisions and charted values agree.
    pub noise: u64,
    /// Indexes into `History::problems` first diagnosed at this visit.
    pub diagnosed: Vec<usize>,
    /// uuid of the encounter-diagnosis Condition for sick and emergency visits.
    pub acute_uuid: Option<String>,
}

impl Visit {
    pub(crate) fn date(&self) -> Date {
        self.start.date
    }
}

/// Deliberate medication-safety problems, placed on a fixed share of patients so every demo
/// data set gives the safety checks something to find.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scenario {
    /// Warfarin with an NSAID: bleeding risk.
    WarfarinNaproxen,
    /// ACE inhibitor with spironolactone: hyperkalaemia.
    AceInhibitorSpironolactone,
    /// SSRI with tramadol: serotonin syndrome and seizure risk.
    SertralineTramadol,
    /// Amoxicillin ordered for a patient with a recorded penicillin allergy.
    PenicillinAllergyAmoxicillin,
    /// Simvastatin with clarithromycin: contraindicated (CYP3A4), myopathy.
    SimvastatinClarithromycin,
}

impl Scenario {
    pub(crate) fn for_index(index: usize) -> Option<Scenario> {
        if index % 20 != 3 {
            return None;
        }
        Some(match (index / 20) % 5 {
            0 => Scenario::WarfarinNaproxen,
            1 => Scenario::AceInhibitorSpironolactone,
            2 => Scenario::SertralineTramadol,
            3 => Scenario::PenicillinAllergyAmoxicillin,
            _ => Scenario::SimvastatinClarithromycin,
        })
    }

    pub(crate) fn age_range(self) -> (i64, i64) {
        match self {
            Scenario::WarfarinNaproxen => (68, 86),
            Scenario::AceInhibitorSpironolactone => (55, 80),
            Scenario::SertralineTramadol => (40, 70),
            Scenario::PenicillinAllergyAmoxicillin => (25, 60),
            Scenario::SimvastatinClarithromycin => (50, 75),
        }
    }

    pub(crate) fn problems(self) -> &'static [Problem] {
        match self {
            Scenario::WarfarinNaproxen => {
                &[Problem::AtrialFibrillation, Problem::KneeOsteoarthritis]
            }
            Scenario::AceInhibitorSpironolactone => &[Problem::Hypertension],
            Scenario::SertralineTramadol => &[Problem::Depression, Problem::KneeOsteoarthritis],
            Scenario::PenicillinAllergyAmoxicillin => &[],
            Scenario::SimvastatinClarithromycin => &[Problem::Hyperlipidemia],
        }
    }
}

pub(crate) struct History {
    pub window_start: Date,
    pub problems: Vec<Diagnosis>,
    pub visits: Vec<Visit>,
    pub courses: Vec<Course>,
}

struct Planner<'a> {
    rng: Rng,
    person: &'a Person,
    dir: &'a Directory,
    child_doc: usize,
    visits: Vec<Visit>,
}

impl Planner<'_> {
    fn doctor(&mut self, d: Date, role: Option<Role>) -> usize {
        let adult = self.person.age_on(d) >= 18;
        match role {
            Some(r) => {
                let list: Vec<usize> = self
                    .dir
                    .practitioners
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| p.role == r)
                    .map(|(i, _)| i)
                    .collect();
                list.get(self.rng.below(list.len() as u64) as usize)
                    .copied()
                    .unwrap_or(0)
            }
            None if adult && self.rng.chance(0.85) => self.person.pcp,
            None if adult => self.doctor(d, Some(Role::FamilyMedicine)),
            None => self.child_doc,
        }
    }

    fn add(&mut self, kind: VisitKind, d: Date) -> usize {
        let (minute, minutes) = match kind {
            VisitKind::Emergency(_) => (
                self.rng.int(0, 22 * 60) as u32,
                self.rng.int(120, 300) as u32,
            ),
            VisitKind::Colonoscopy => (self.rng.int(28, 44) as u32 * 15, 90),
            _ => (
                self.rng.int(32, 66) as u32 * 15,
                if kind == VisitKind::Annual { 40 } else { 20 },
            ),
        };
        let role = match kind {
            VisitKind::Emergency(_) => Some(Role::Emergency),
            VisitKind::Colonoscopy => Some(Role::Gastroenterology),
            VisitKind::Mammogram => Some(Role::Radiology),
            _ => None,
        };
        let practitioner = self.doctor(d, role);
        let visit = Visit {
            uuid: self.rng.uuid(),
            kind,
            start: DateTime::at(d, minute),
            minutes,
            practitioner,
            noise: self.rng.next_u64(),
            diagnosed: Vec::new(),
            acute_uuid: matches!(kind, VisitKind::Sick(_) | VisitKind::Emergency(_))
                .then(|| self.rng.uuid()),
        };
        self.visits.push(visit);
        self.visits.len() - 1
    }

    fn busy_near(&self, d: Date, days: i64) -> bool {
        self.visits
            .iter()
            .any(|v| v.kind.is_office() && v.date().days_since(d).abs() <= days)
    }
}

/// Inputs the history needs besides the person.
pub(crate) struct Inputs<'a> {
    pub person: &'a Person,
    pub latent: &'a Latent,
    pub dir: &'a Directory,
    pub as_of: Date,
    pub problems: Vec<Diagnosis>,
    pub allergies: &'a [Allergy],
    pub scenario: Option<Scenario>,
}

pub(crate) fn build(rng: &mut Rng, input: Inputs<'_>) -> History {
    let Inputs {
        person,
        latent,
        dir,
        as_of,
        problems,
        allergies,
        scenario,
    } = input;
    let window_start = person.birth.max(as_of.add_years(-10));
    let peds: Vec<usize> = dir
        .practitioners
        .iter()
        .enumerate()
        .filter(|(_, p)| p.role == Role::Pediatrics)
        .map(|(i, _)| i)
        .collect();
    let child_doc = peds
        .get(rng.below(peds.len() as u64) as usize)
        .copied()
        .unwrap_or(0);
    let mut pl = Planner {
        rng: rng.fork(),
        person,
        dir,
        child_doc,
        visits: Vec::new(),
    };
    let in_window = |d: Date| d >= window_start && d <= as_of;

    // Well-child visits (AAP Bright Futures schedule, months of age) and adult check-ups.
    let months: Vec<i32> = [0, 1, 2, 4, 6, 9, 12, 15, 18, 24, 30]
        .into_iter()
        .chain((3..18).map(|y| y * 12))
        .collect();
    for m in months {
        let d = if m == 0 {
            person.birth.add_days(pl.rng.int(3, 5))
        } else {
            person.birth.add_months(m).add_days(pl.rng.int(-5, 10))
        };
        if in_window(d) && pl.rng.chance(0.92) {
            pl.add(VisitKind::WellChild, d);
        }
    }
    let adherence = pl.rng.uniform(0.55, 0.95);
    let adult_from = person.birth.add_years(18).max(window_start);
    let mut d = adult_from.add_days(pl.rng.int(0, 300));
    while d <= as_of {
        if pl.rng.chance(adherence) {
            pl.add(VisitKind::Annual, d);
        }
        d = d.add_days(pl.rng.int(330, 400));
    }

    // A visit where each problem is first charted (if that was inside the record window).
    for (i, dx) in problems.iter().enumerate() {
        if in_window(dx.onset) {
            let v = match pl
                .visits
                .iter()
                .position(|v| v.date() == dx.onset && v.kind == VisitKind::NewProblem)
            {
                Some(v) => v,
                None => pl.add(VisitKind::NewProblem, dx.onset),
            };
            pl.visits[v].diagnosed.push(i);
        }
    }

    // Follow-ups for problems that need them, skipped when another visit is close.
    let follow_ups = problems
        .iter()
        .filter(|d| d.problem.needs_follow_up())
        .map(|d| (d.problem, d.onset))
        .collect::<Vec<_>>();
    for (problem, onset) in follow_ups {
        let interval = match problem {
            Problem::Diabetes => (85, 120),
            Problem::Hypertension => (90, 180),
            _ => (150, 200),
        };
        let mut d = onset
            .max(window_start)
            .add_days(pl.rng.int(interval.0, interval.1));
        while d <= as_of {
            if !pl.busy_near(d, 40) && pl.rng.chance(0.85) {
                pl.add(VisitKind::FollowUp, d);
            }
            d = d.add_days(pl.rng.int(interval.0, interval.1));
        }
    }

    // Sick visits and asthma exacerbations.
    let years = as_of.days_since(window_start) as f64 / 365.25;
    let sick_rate = if person.age < 18 { 1.2 } else { 0.5 };
    let n_sick = (years * sick_rate * pl.rng.uniform(0.3, 1.7)).round() as i64;
    for _ in 0..n_sick {
        let d = window_start.add_days(pl.rng.int(0, as_of.days_since(window_start).max(0)));
        let age = person.age_on(d);
        if age < 1 {
            continue;
        }
        let mut options: Vec<(Acute, u32)> = vec![
            (Acute::ViralPharyngitis, 4),
            (Acute::ViralSinusitis, 4),
            (Acute::Bronchitis, 2),
        ];
        if (2..8).contains(&age) {
            options.push((Acute::OtitisMedia, 5));
        }
        if age >= 8 {
            options.push((Acute::StrepThroat, if age < 18 { 3 } else { 1 }));
        }
        if age >= 18 {
            options.push((Acute::BacterialSinusitis, 2));
        }
        if age >= 18 && person.sex == Sex::Female {
            options.push((Acute::Cystitis, 3));
        }
        if (10..50).contains(&age) {
            options.push((Acute::AnkleSprain, 1));
        }
        let acute = *pl.rng.weighted(&options);
        pl.add(VisitKind::Sick(acute), d);
    }
    if let Some(onset) = problems
        .iter()
        .find(|p| p.problem == Problem::Asthma)
        .map(|p| p.onset)
    {
        let from = onset.max(window_start);
        let span = as_of.days_since(from).max(0);
        let n = ((span as f64 / 365.25) * 0.2 * pl.rng.uniform(0.0, 2.0)).round() as i64;
        for _ in 0..n {
            let d = from.add_days(pl.rng.int(0, span));
            let kind = if pl.rng.chance(0.35) {
                VisitKind::Emergency(Acute::AsthmaExacerbation)
            } else {
                VisitKind::Sick(Acute::AsthmaExacerbation)
            };
            pl.add(kind, d);
        }
    }

    // Screening procedures (USPSTF: colorectal 45-75, breast every two years 40-74). Some
    // patients never go, so the preventive-care rules find gaps.
    let from45 = person.birth.add_years(45).max(window_start);
    if from45 < as_of && pl.rng.chance(0.6) {
        let d = from45.add_days(pl.rng.int(0, as_of.days_since(from45).min(3650)));
        if person.age_on(d) <= 75 {
            pl.add(VisitKind::Colonoscopy, d);
        }
    }
    if person.sex == Sex::Female {
        let keen = pl.rng.uniform(0.3, 0.95);
        let mut d = person
            .birth
            .add_years(40)
            .max(window_start)
            .add_days(pl.rng.int(0, 400));
        while d <= as_of && person.age_on(d) <= 74 {
            if pl.rng.chance(keen) {
                pl.add(VisitKind::Mammogram, d);
            }
            d = d.add_days(pl.rng.int(700, 800));
        }
    }
    // The penicillin scenario needs a strep visit in the last week; the clarithromycin one a
    // sinusitis visit.
    match scenario {
        Some(Scenario::PenicillinAllergyAmoxicillin) => {
            let d = as_of.add_days(-pl.rng.int(1, 6));
            pl.add(VisitKind::Sick(Acute::StrepThroat), d);
        }
        Some(Scenario::SimvastatinClarithromycin) => {
            let d = as_of.add_days(-pl.rng.int(1, 6));
            pl.add(VisitKind::Sick(Acute::BacterialSinusitis), d);
        }
        _ => {}
    }

    let mut visits = pl.visits;
    visits.sort_by_key(|v| (v.start, v.uuid.clone()));
    // Diagnosis indexes stay valid: they index `problems`, not visits.
    let courses = prescribe(
        rng, person, latent, dir, as_of, &problems, &visits, allergies, scenario,
    );
    History {
        window_start,
        problems,
        visits,
        courses,
    }
}

fn visit_on(visits: &[Visit], d: Date) -> Option<usize> {
    visits
        .iter()
        .position(|v| v.date() == d && v.kind.is_office())
}

struct Rx<'a> {
    courses: Vec<Course>,
    rng: Rng,
    visits: &'a [Visit],
    pcp: usize,
}

impl Rx<'_> {
    fn start(&mut self, drug: Medication, d: Date, reason: Option<&str>) {
        let visit = visit_on(self.visits, d);
        let prescriber = visit
            .and_then(|v| self.visits.get(v))
            .map(|v| v.practitioner)
            .unwrap_or(self.pcp);
        self.courses.push(Course {
            uuid: self.rng.uuid(),
            drug,
            start: d,
            outcome: Outcome::Active,
            visit,
            reason: reason.map(str::to_string),
            prescriber,
        });
    }

    fn stop(&mut self, drug: Medication, d: Date, why: &'static str) {
        for c in self
            .courses
            .iter_mut()
            .filter(|c| c.drug == drug && c.outcome == Outcome::Active)
        {
            c.outcome = Outcome::Stopped(d, why);
        }
    }

    fn on(&self, drug: Medication, d: Date) -> bool {
        self.courses
            .iter()
            .any(|c| c.drug == drug && c.active_on(d))
    }

    fn course(&mut self, drug: Medication, d: Date, as_of: Date, reason: Option<&str>) {
        let days = i64::from(drug.dose.course_days.unwrap_or(7));
        self.start(drug, d, reason);
        if let Some(c) = self.courses.last_mut() {
            let end = d.add_days(days);
            if end <= as_of {
                c.outcome = Outcome::Completed(end);
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn prescribe(
    rng: &mut Rng,
    person: &Person,
    latent: &Latent,
    dir: &Directory,
    as_of: Date,
    problems: &[Diagnosis],
    visits: &[Visit],
    allergies: &[Allergy],
    scenario: Option<Scenario>,
) -> Vec<Course> {
    let _ = dir;
    let mut rx = Rx {
        courses: Vec::new(),
        rng: rng.fork(),
        visits,
        pcp: person.pcp,
    };
    let allergic = |a: Allergen| allergies.iter().any(|x| x.allergen == a);
    let on_anticoagulant_plan = problems
        .iter()
        .any(|p| p.problem == Problem::AtrialFibrillation);
    for dx in problems {
        let d = dx.onset;
        let why = Some(dx.uuid.as_str());
        let r = &mut rx;
        match dx.problem {
            Problem::Hypertension => {
                let first = if scenario == Some(Scenario::AceInhibitorSpironolactone) {
                    meds::LISINOPRIL_10
                } else if person.race == Race::Black {
                    meds::AMLODIPINE_5
                } else if r.rng.chance(0.15) {
                    meds::HCTZ_25
                } else {
                    meds::LISINOPRIL_10
                };
                r.start(first, d, why);
            }
            Problem::Diabetes => {
                r.start(meds::METFORMIN_500, d, why);
                let age = person.age_on(d);
                if (40..=75).contains(&age)
                    && !problems
                        .iter()
                        .any(|p| p.problem == Problem::Hyperlipidemia && p.onset <= d)
                {
                    r.start(meds::ATORVASTATIN_20, d, why);
                }
                if age >= 50 && r.rng.chance(0.3) && !on_anticoagulant_plan {
                    r.start(meds::ASPIRIN_81, d, why);
                }
            }
            Problem::Hyperlipidemia => {
                let statin = if scenario == Some(Scenario::SimvastatinClarithromycin) {
                    meds::SIMVASTATIN_40
                } else {
                    *r.rng.weighted(&[
                        (meds::ATORVASTATIN_20, 55),
                        (meds::ATORVASTATIN_10, 10),
                        (meds::SIMVASTATIN_20, 20),
                        (meds::SIMVASTATIN_40, 15),
                    ])
                };
                let already = [
                    meds::ATORVASTATIN_10,
                    meds::ATORVASTATIN_20,
                    meds::ATORVASTATIN_40,
                    meds::SIMVASTATIN_20,
                    meds::SIMVASTATIN_40,
                ]
                .iter()
                .any(|s| r.on(*s, d));
                if !already {
                    r.start(statin, d, why);
                }
            }
            Problem::Asthma => {
                r.start(meds::ALBUTEROL_MDI, d, why);
                if r.rng.chance(0.4) {
                    r.start(meds::FLUTICASONE_MDI, d, why);
                }
            }
            Problem::Copd => {
                if !r.on(meds::ALBUTEROL_MDI, d) {
                    r.start(meds::ALBUTEROL_MDI, d, why);
                }
                if r.rng.chance(0.6) {
                    r.start(meds::FLUTICASONE_SALMETEROL, d, why);
                }
            }
            Problem::Depression | Problem::Anxiety => {
                let on_ssri = r.on(meds::SERTRALINE_50, d) || r.on(meds::ESCITALOPRAM_10, d);
                let wants = dx.problem == Problem::Depression || r.rng.chance(0.5);
                if !on_ssri && wants {
                    let drug =
                        if scenario == Some(Scenario::SertralineTramadol) || r.rng.chance(0.65) {
                            meds::SERTRALINE_50
                        } else {
                            meds::ESCITALOPRAM_10
                        };
                    r.start(drug, d, why);
                }
            }
            Problem::AtrialFibrillation => {
                let warfarin = scenario == Some(Scenario::WarfarinNaproxen) || r.rng.chance(0.3);
                r.start(
                    if warfarin {
                        meds::WARFARIN_5
                    } else {
                        meds::APIXABAN_5
                    },
                    d,
                    why,
                );
                r.start(meds::METOPROLOL_ER_25, d, why);
            }
            Problem::KneeOsteoarthritis => {
                let nsaid_ok = if on_anticoagulant_plan { 0.1 } else { 0.35 };
                if scenario == Some(Scenario::WarfarinNaproxen) || r.rng.chance(nsaid_ok) {
                    r.start(meds::NAPROXEN_500, d, why);
                } else {
                    r.start(meds::ACETAMINOPHEN_325, d, why);
                }
                if scenario == Some(Scenario::SertralineTramadol) || r.rng.chance(0.1) {
                    let later = d.add_days(r.rng.int(60, 400)).min(as_of);
                    r.start(meds::TRAMADOL_50, later, why);
                }
            }
            Problem::AllergicRhinitis => {
                if r.rng.chance(0.6) {
                    r.start(meds::LORATADINE_10, d, why);
                }
            }
            Problem::Prediabetes | Problem::Obesity | Problem::Ckd3 => {}
        }
    }

    // Titration at visits, chronologically, from the simulated values.
    let htn = problems
        .iter()
        .find(|p| p.problem == Problem::Hypertension)
        .map(|p| (p.onset, p.uuid.clone()));
    let dm = problems
        .iter()
        .find(|p| p.problem == Problem::Diabetes)
        .map(|p| (p.onset, p.uuid.clone()));
    let mut last_htn_change = htn.as_ref().map(|h| h.0);
    let mut last_dm_change = dm.as_ref().map(|h| h.0);
    let cough = rx.rng.chance(0.08) && scenario != Some(Scenario::AceInhibitorSpironolactone);
    for v in visits.iter().filter(|v| v.kind.is_office()) {
        let d = v.date();
        if let (Some((onset, uuid)), Some(last)) = (&htn, last_htn_change)
            && d > *onset
        {
            if cough && rx.on(meds::LISINOPRIL_10, d) && d.days_since(*onset) > 30 {
                rx.stop(
                    meds::LISINOPRIL_10,
                    d,
                    "Persistent dry cough on ACE inhibitor",
                );
                rx.start(meds::LOSARTAN_50, d, Some(uuid));
                last_htn_change = Some(d);
            } else if d.days_since(last) >= 90 {
                let body = Body {
                    person,
                    latent,
                    problems,
                    courses: &rx.courses,
                    as_of,
                };
                let mut noise = Rng::stream(v.noise, 1);
                let sbp = body.sbp(d) + noise.normal(0.0, 5.0);
                if sbp >= 140.0 {
                    let next = if scenario == Some(Scenario::AceInhibitorSpironolactone)
                        && rx.on(meds::LISINOPRIL_10, d)
                        && !rx.on(meds::SPIRONOLACTONE_25, d)
                    {
                        Some((meds::SPIRONOLACTONE_25, None))
                    } else if !rx.on(meds::AMLODIPINE_5, d) && !rx.on(meds::AMLODIPINE_10, d) {
                        Some((meds::AMLODIPINE_5, None))
                    } else if !rx.on(meds::HCTZ_25, d) {
                        Some((meds::HCTZ_25, None))
                    } else if rx.on(meds::AMLODIPINE_5, d) {
                        Some((meds::AMLODIPINE_10, Some(meds::AMLODIPINE_5)))
                    } else {
                        None
                    };
                    if let Some((drug, replaces)) = next {
                        if let Some(old) = replaces {
                            rx.stop(old, d, "Dose increased for uncontrolled blood pressure");
                        }
                        rx.start(drug, d, Some(uuid));
                        last_htn_change = Some(d);
                    }
                }
            }
        }
        if let (Some((onset, uuid)), Some(last)) = (&dm, last_dm_change)
            && d > *onset
            && d.days_since(last) >= 150
        {
            let body = Body {
                person,
                latent,
                problems,
                courses: &rx.courses,
                as_of,
            };
            if body.a1c(d) >= 7.6 {
                if rx.on(meds::METFORMIN_500, d) {
                    rx.stop(meds::METFORMIN_500, d, "Dose increased: HbA1c above goal");
                    rx.start(meds::METFORMIN_1000, d, Some(uuid));
                    last_dm_change = Some(d);
                } else if !rx.on(meds::GLIPIZIDE_5, d) {
                    rx.start(meds::GLIPIZIDE_5, d, Some(uuid));
                    last_dm_change = Some(d);
                }
            }
        }
        // Acute treatment at sick visits.
        if let VisitKind::Sick(acute) | VisitKind::Emergency(acute) = v.kind {
            let reason = v.acute_uuid.clone();
            let reason = reason.as_deref();
            let pen_allergy = allergic(Allergen::Penicillin);
            let sulfa_allergy = allergic(Allergen::Sulfonamide);
            let forced_pen =
                scenario == Some(Scenario::PenicillinAllergyAmoxicillin) && d >= as_of.add_days(-7);
            let forced_clari =
                scenario == Some(Scenario::SimvastatinClarithromycin) && d >= as_of.add_days(-7);
            match acute {
                Acute::StrepThroat | Acute::BacterialSinusitis => {
                    let drug = if forced_clari && acute == Acute::BacterialSinusitis {
                        meds::CLARITHROMYCIN_500
                    } else if pen_allergy && !forced_pen {
                        meds::AZITHROMYCIN_250
                    } else {
                        meds::AMOXICILLIN_500
                    };
                    rx.course(drug, d, as_of, reason);
                }
                Acute::Cystitis => {
                    let drug = if sulfa_allergy || rx.rng.chance(0.6) {
                        meds::NITROFURANTOIN_100
                    } else {
                        meds::SMX_TMP_DS
                    };
                    rx.course(drug, d, as_of, reason);
                }
                Acute::AsthmaExacerbation => rx.course(meds::PREDNISONE_10, d, as_of, reason),
                _ => {}
            }
        }
    }
    // Prescriptions written on a visit day point at that visit; none may start after as_of.
    rx.courses.retain(|c| c.start <= as_of);
    rx.courses
}
