//! Immunizations (CVX), following the CDC schedules: the childhood series at well-child visits,
//! yearly influenza in the autumn, Tdap/Td, zoster from 50 and pneumococcal from 65.
//!
//! Each patient has a willingness to be vaccinated, so most are up to date and some are overdue
//! (a missed well-child visit is a missed dose; adults without an autumn visit miss the flu shot).
//! Doses given before the record window are kept as historical records (`primarySource` false).
//! CVX codes and short names are the CDC's; the ones used were also seen in Synthea's data.

use salus_fhir::date::Date;
use serde_json::{Map, Value, json};

use crate::clinic_time::DateTime;
use crate::fhir::{CVX, coding, concept, datetime, reference, resource};
use crate::history::{Visit, VisitKind};
use crate::rng::Rng;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Vaccine {
    pub cvx: &'static str,
    pub display: &'static str,
    pub oral: bool,
}

const fn v(cvx: &'static str, display: &'static str) -> Vaccine {
    Vaccine {
        cvx,
        display,
        oral: false,
    }
}

pub(crate) const HEPB_PED: Vaccine = v("08", "Hep B, adolescent or pediatric");
pub(crate) const DTAP: Vaccine = v("20", "DTaP");
pub(crate) const IPV: Vaccine = v("10", "IPV");
pub(crate) const HIB: Vaccine = v("49", "Hib (PRP-OMP)");
pub(crate) const PCV13: Vaccine = v("133", "Pneumococcal conjugate PCV 13");
pub(crate) const ROTA: Vaccine = Vaccine {
    cvx: "119",
    display: "rotavirus, monovalent",
    oral: true,
};
pub(crate) const MMR: Vaccine = v("03", "MMR");
pub(crate) const VARICELLA: Vaccine = v("21", "varicella");
pub(crate) const HEPA_PED: Vaccine = v("83", "Hep A, ped/adol, 2 dose");
pub(crate) const FLU: Vaccine = v("140", "Influenza, seasonal, injectable, preservative free");
pub(crate) const TDAP: Vaccine = v("115", "Tdap");
pub(crate) const TD: Vaccine = v("113", "Td (adult) preservative free");
pub(crate) const HPV9: Vaccine = v("165", "HPV9");
pub(crate) const HPV4: Vaccine = v("62", "HPV, quadrivalent");
pub(crate) const MENACWY: Vaccine = v("114", "meningococcal MCV4P");
pub(crate) const ZOSTER_LIVE: Vaccine = v("121", "zoster");
pub(crate) const ZOSTER_RECOMBINANT: Vaccine = v("187", "zoster recombinant");
pub(crate) const PPSV23: Vaccine = v("33", "pneumococcal polysaccharide vaccine, 23 valent");

/// Childhood doses by month of age (CDC 0-18 schedule, one common way of placing each dose).
const CHILD_SCHEDULE: &[(i32, &[Vaccine])] = &[
    (0, &[HEPB_PED]),
    (1, &[HEPB_PED]),
    (2, &[DTAP, IPV, HIB, PCV13, ROTA]),
    (4, &[DTAP, IPV, HIB, PCV13, ROTA]),
    (6, &[DTAP, IPV, PCV13, HEPB_PED]),
    (12, &[MMR, VARICELLA, HEPA_PED, HIB, PCV13]),
    (15, &[DTAP]),
    (18, &[HEPA_PED]),
    (48, &[DTAP, IPV, MMR, VARICELLA]),
    (132, &[TDAP, HPV9, MENACWY]),
    (144, &[HPV9]),
    (192, &[MENACWY]),
];

/// A dose given (or recorded).
pub(crate) struct Dose {
    pub vaccine: Vaccine,
    pub at: DateTime,
    /// Index of the visit it was given at; `None` for a historical record.
    pub visit: Option<usize>,
}

fn months_between(birth: Date, d: Date) -> i32 {
    (d.days_since(birth) as f64 / 30.44).round() as i32
}

pub(crate) fn schedule(
    rng: &mut Rng,
    birth: Date,
    window_start: Date,
    as_of: Date,
    visits: &[Visit],
) -> Vec<Dose> {
    let willing = *rng.weighted(&[(0.97, 78), (0.6, 16), (0.1, 6)]);
    let mut out: Vec<Dose> = Vec::new();
    let hpv = |d: Date| if d.year() >= 2016 { HPV9 } else { HPV4 };
    // Childhood doses before the record window: a transcribed history.
    for (months, vaccines) in CHILD_SCHEDULE {
        let d = birth.add_months(*months).add_days(rng.int(0, 10));
        if d < window_start && d <= as_of && rng.chance(willing) {
            for vac in *vaccines {
                let vac = if vac.cvx == HPV9.cvx { hpv(d) } else { *vac };
                out.push(Dose {
                    vaccine: vac,
                    at: DateTime::at(d, 9 * 60),
                    visit: None,
                });
            }
        }
    }
    let mut last_flu_season = i32::MIN;
    let mut had_td = false;
    let mut zoster_doses = 0;
    let mut last_zoster: Option<Date> = None;
    let mut pcv_adult: Option<Date> = None;
    let mut ppsv = false;
    for (i, v) in visits.iter().enumerate() {
        let d = v.date();
        let at = v.start.plus_minutes(15);
        let age_m = months_between(birth, d);
        let age = i64::from(birth.age_on(d));
        let give = |vac: Vaccine, out: &mut Vec<Dose>| {
            out.push(Dose {
                vaccine: vac,
                at,
                visit: Some(i),
            })
        };
        if v.kind == VisitKind::WellChild
            && rng.chance(willing)
            && let Some((_, vaccines)) = CHILD_SCHEDULE
                .iter()
                .find(|(m, _)| (age_m - m).abs() <= if *m < 12 { 0 } else { 2 })
        {
            for vac in *vaccines {
                give(if vac.cvx == HPV9.cvx { hpv(d) } else { *vac }, &mut out);
            }
        }
        let office = matches!(
            v.kind,
            VisitKind::WellChild | VisitKind::Annual | VisitKind::FollowUp
        );
        if !office {
            continue;
        }
        // Influenza: one dose per season (September to December here), from six months of age.
        let season = d.year();
        if (9..=12).contains(&d.month()) && season != last_flu_season && age_m >= 6 {
            let p = if age >= 65 { 0.8 } else { 0.55 };
            if rng.chance(p * willing) {
                give(FLU, &mut out);
                last_flu_season = season;
            }
        }
        if v.kind == VisitKind::Annual && age >= 19 {
            if !had_td && rng.chance(0.25 * willing) {
                give(if rng.chance(0.7) { TDAP } else { TD }, &mut out);
                had_td = true;
            }
            if age >= 50 {
                let recombinant = d.year() >= 2018;
                if zoster_doses == 0 && rng.chance(0.45 * willing) {
                    give(
                        if recombinant {
                            ZOSTER_RECOMBINANT
                        } else {
                            ZOSTER_LIVE
                        },
                        &mut out,
                    );
                    zoster_doses = if recombinant { 1 } else { 2 };
                    last_zoster = Some(d);
                }
            }
            if age >= 65 {
                match pcv_adult {
                    None if rng.chance(0.6 * willing) => {
                        give(PCV13, &mut out);
                        pcv_adult = Some(d);
                    }
                    Some(p) if !ppsv && d.days_since(p) >= 365 && rng.chance(0.8 * willing) => {
                        give(PPSV23, &mut out);
                        ppsv = true;
                    }
                    _ => {}
                }
            }
        }
        // Second recombinant zoster dose 2-6 months after the first, at any office visit.
        if zoster_doses == 1
            && let Some(first) = last_zoster
        {
            let gap = d.days_since(first);
            if (60..=200).contains(&gap) && rng.chance(0.8) {
                give(ZOSTER_RECOMBINANT, &mut out);
                zoster_doses = 2;
            }
        }
    }
    out.retain(|dose| dose.at.date <= as_of && dose.at.date >= birth);
    out
}

pub(crate) fn resource_for(
    dose: &Dose,
    patient: &str,
    encounter: Option<&str>,
    performer: Option<&str>,
    rng: &mut Rng,
) -> Map<String, Value> {
    let mut r = resource("Immunization");
    r.insert("status".into(), json!("completed"));
    r.insert(
        "vaccineCode".into(),
        concept(CVX, dose.vaccine.cvx, dose.vaccine.display),
    );
    r.insert("patient".into(), reference(patient));
    if let Some(e) = encounter {
        r.insert("encounter".into(), reference(e));
    }
    r.insert("occurrenceDateTime".into(), datetime(dose.at));
    r.insert("recorded".into(), datetime(dose.at));
    r.insert("primarySource".into(), json!(dose.visit.is_some()));
    if dose.visit.is_none() {
        r.insert(
            "reportOrigin".into(),
            json!({ "coding": [coding("http://terminology.hl7.org/CodeSystem/immunization-origin", "record", "Written Record")] }),
        );
        return r;
    }
    let letters: String = (0..2)
        .map(|_| char::from(b'A' + rng.below(26) as u8))
        .collect();
    r.insert(
        "lotNumber".into(),
        json!(format!("{letters}{}", rng.digits(4))),
    );
    if dose.vaccine.oral {
        r.insert(
            "route".into(),
            concept(
                "http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration",
                "PO",
                "Swallow, oral",
            ),
        );
    } else {
        let (code, display) = *rng.pick(&[("LA", "left arm"), ("RA", "right arm")]);
        r.insert(
            "site".into(),
            concept(
                "http://terminology.hl7.org/CodeSystem/v3-ActSite",
                code,
                display,
            ),
        );
        r.insert(
            "route".into(),
            concept(
                "http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration",
                "IM",
                "Injection, intramuscular",
            ),
        );
        r.insert(
            "doseQuantity".into(),
            json!({ "value": 0.5, "unit": "mL", "system": crate::fhir::UCUM, "code": "mL" }),
        );
    }
    if let Some(p) = performer {
        r.insert("performer".into(), json!([{ "actor": reference(p) }]));
    }
    r
}
