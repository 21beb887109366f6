//! The patient's hidden physiology: what their blood pressure, weight, HbA1c, lipids and kidney
//! function are on a given day, given their problems and the drugs they take.
//!
//! Values come from a few per-patient constants plus disease and drug effects, so series trend
//! the way a chart does: blood pressure falls over the weeks after an antihypertensive starts,
//! HbA1c falls on metformin and creeps up over the years, LDL drops on a statin. Effect sizes are
//! rounded typical values from the drug labels and guideline summaries (ACE inhibitor ~10 mmHg
//! systolic, metformin ~1% HbA1c, moderate-intensity statin 30-49% LDL).

use salus_fhir::date::Date;

use crate::conditions::{Diagnosis, Problem};
use crate::demographics::{Person, Sex, Smoking};
use crate::medications::{self as meds, Course, Medication};
use crate::rng::Rng;

pub(crate) struct Latent {
    pub adult_height_cm: f64,
    /// Adult BMI ten years before `as_of` and its yearly drift.
    pub bmi0: f64,
    pub bmi_drift: f64,
    /// Body-size percentile factor for children (1.0 = median).
    pub child_size: f64,
    pub sbp_offset: f64,
    pub dbp_offset: f64,
    pub htn_excess: f64,
    pub hr0: f64,
    pub a1c0: f64,
    pub dm_a1c: f64,
    pub a1c_drift: f64,
    pub ldl0: f64,
    pub hdl0: f64,
    pub tg0: f64,
    pub egfr_young: f64,
    pub ckd_egfr: f64,
    pub hgb0: f64,
    pub wbc0: f64,
    pub plt0: f64,
    pub potassium0: f64,
    pub sodium0: f64,
}

pub(crate) fn sample(rng: &mut Rng, p: &Person) -> Latent {
    let female = p.sex == Sex::Female;
    let adult_height_cm = if female {
        rng.normal(162.0, 6.5)
    } else {
        rng.normal(176.0, 7.0)
    };
    // US adult BMI: mean about 29.5, right-skewed; a normal with a floor is close enough.
    let bmi0 = rng.normal(28.0, 5.5).clamp(17.5, 48.0);
    Latent {
        adult_height_cm,
        bmi0,
        bmi_drift: rng.normal(0.12, 0.15),
        child_size: rng.normal(1.0, 0.07).clamp(0.82, 1.2),
        sbp_offset: rng.normal(0.0, 6.0),
        dbp_offset: rng.normal(0.0, 4.0),
        htn_excess: rng.uniform(18.0, 32.0),
        hr0: rng.normal(72.0, 7.0),
        a1c0: rng.normal(5.25, 0.2).clamp(4.6, 5.6),
        dm_a1c: rng.uniform(7.4, 9.8),
        a1c_drift: rng.uniform(0.05, 0.25),
        ldl0: rng.normal(112.0, 22.0).clamp(60.0, 165.0),
        hdl0: if female {
            rng.normal(58.0, 11.0)
        } else {
            rng.normal(46.0, 9.0)
        }
        .clamp(28.0, 95.0),
        tg0: rng.normal(115.0, 40.0).clamp(45.0, 280.0),
        egfr_young: rng.normal(108.0, 10.0),
        ckd_egfr: rng.uniform(36.0, 57.0),
        hgb0: if female {
            rng.normal(13.4, 0.8)
        } else {
            rng.normal(15.0, 0.9)
        },
        wbc0: rng.normal(6.8, 1.3).clamp(4.2, 10.5),
        plt0: rng.normal(255.0, 50.0).clamp(160.0, 390.0),
        potassium0: rng.normal(4.2, 0.25).clamp(3.6, 4.8),
        sodium0: rng.normal(139.5, 1.6),
    }
}

/// The body of facts the model reads: the person, their problems and their prescriptions.
pub(crate) struct Body<'a> {
    pub person: &'a Person,
    pub latent: &'a Latent,
    pub problems: &'a [Diagnosis],
    pub courses: &'a [Course],
    pub as_of: Date,
}

impl Body<'_> {
    pub(crate) fn onset(&self, problem: Problem) -> Option<Date> {
        self.problems
            .iter()
            .find(|d| d.problem == problem)
            .map(|d| d.onset)
    }

    pub(crate) fn has_on(&self, problem: Problem, d: Date) -> bool {
        self.onset(problem).is_some_and(|o| o <= d)
    }

    /// Fraction (0..1) of a drug's effect on `d`: effects build over `weeks` after the start.
    fn effect(&self, drug: Medication, d: Date, weeks: f64) -> f64 {
        self.courses
            .iter()
            .filter(|c| c.drug == drug)
            .map(|c| (c.days_on(d) as f64 / (weeks * 7.0)).min(1.0))
            .fold(0.0, f64::max)
    }

    fn age_years(&self, d: Date) -> f64 {
        d.days_since(self.person.birth) as f64 / 365.25
    }

    pub(crate) fn height_cm(&self, d: Date) -> f64 {
        let age = self.age_years(d);
        let female = self.person.sex == Sex::Female;
        if age >= 18.0 {
            return self.latent.adult_height_cm;
        }
        // Medians read off the CDC 2000 stature-for-age charts (public), interpolated by year.
        let table: &[f64] = if female {
            &[
                49.0, 74.0, 86.0, 95.0, 102.5, 109.5, 116.0, 122.5, 128.5, 134.0, 139.5, 146.0,
                152.0, 157.0, 160.0, 161.5, 162.5, 163.0, 163.5,
            ]
        } else {
            &[
                50.0, 75.5, 87.5, 96.0, 103.5, 110.0, 116.5, 123.0, 129.0, 134.5, 139.5, 145.0,
                151.0, 158.0, 165.0, 170.0, 173.0, 175.0, 176.0,
            ]
        };
        let i = age.floor().max(0.0) as usize;
        let frac = age - i as f64;
        let lo = table[i.min(18)];
        let hi = table[(i + 1).min(18)];
        let adult_median = if female { 163.5 } else { 176.0 };
        (lo + (hi - lo) * frac) * (self.latent.adult_height_cm / adult_median).clamp(0.9, 1.1)
    }

    pub(crate) fn bmi(&self, d: Date) -> f64 {
        let age = self.age_years(d);
        if age < 18.0 {
            // CDC BMI-for-age medians: about 17 in infancy, 15.5 at 5, rising to 21 at 18.
            let median = if age < 2.0 {
                17.0 - 0.5 * age
            } else if age < 6.0 {
                16.0 - 0.15 * (age - 2.0)
            } else {
                15.4 + 0.45 * (age - 6.0)
            };
            return median * self.latent.child_size;
        }
        let years = d.days_since(self.as_of.add_years(-10)) as f64 / 365.25;
        let young_adult = if age < 25.0 { (age - 18.0) / 7.0 } else { 1.0 };
        let base = 21.0 + (self.latent.bmi0 - 21.0) * young_adult.clamp(0.3, 1.0);
        base + self.latent.bmi_drift * years.max(0.0)
            - 0.8
                * self.effect(meds::METFORMIN_500, d, 26.0).max(self.effect(
                    meds::METFORMIN_1000,
                    d,
                    26.0,
                ))
    }

    pub(crate) fn weight_kg(&self, d: Date) -> f64 {
        let h = self.height_cm(d) / 100.0;
        let age = self.age_years(d);
        if age < 0.1 {
            return 3.4 * self.latent.child_size;
        }
        self.bmi(d) * h * h
    }

    /// Systolic blood pressure without visit-to-visit noise.
    pub(crate) fn sbp(&self, d: Date) -> f64 {
        let age = self.age_years(d);
        let base = if age < 18.0 {
            92.0 + 1.3 * age
        } else {
            112.0 + 0.4 * (age - 20.0).max(0.0)
        };
        let mut v = base + self.latent.sbp_offset;
        if let Some(onset) = self.onset(Problem::Hypertension) {
            // Pressure rises over the two years before the diagnosis is made.
            let before = onset.days_since(d) as f64 / 730.0;
            let ramp = if before <= 0.0 {
                1.0
            } else {
                (1.0 - before).max(0.0)
            };
            v += self.latent.htn_excess * ramp;
        }
        let drugs: &[(Medication, f64)] = &[
            (meds::LISINOPRIL_10, 10.0),
            (meds::LISINOPRIL_20, 13.0),
            (meds::LOSARTAN_50, 10.0),
            (meds::AMLODIPINE_5, 9.0),
            (meds::AMLODIPINE_10, 12.0),
            (meds::HCTZ_25, 9.0),
            (meds::SPIRONOLACTONE_25, 10.0),
            (meds::METOPROLOL_ER_25, 5.0),
        ];
        for (drug, drop) in drugs {
            v -= drop * self.effect(*drug, d, 4.0);
        }
        v.max(88.0)
    }

    pub(crate) fn dbp(&self, d: Date) -> f64 {
        let age = self.age_years(d);
        let sbp = self.sbp(d);
        let base = if age < 18.0 {
            0.55 * sbp + 2.0
        } else {
            0.5 * sbp + 14.0 - 0.1 * (age - 50.0).max(0.0)
        };
        (base + self.latent.dbp_offset).max(45.0)
    }

    pub(crate) fn heart_rate(&self, d: Date) -> f64 {
        let age = self.age_years(d);
        let child = if age < 1.0 {
            55.0
        } else if age < 6.0 {
            30.0
        } else if age < 12.0 {
            15.0
        } else {
            0.0
        };
        let af = if self.has_on(Problem::AtrialFibrillation, d) {
            12.0
        } else {
            0.0
        };
        self.latent.hr0 + child + af - 10.0 * self.effect(meds::METOPROLOL_ER_25, d, 2.0)
    }

    pub(crate) fn resp_rate(&self, d: Date) -> f64 {
        let age = self.age_years(d);
        if age < 1.0 {
            34.0
        } else if age < 6.0 {
            24.0
        } else if age < 12.0 {
            20.0
        } else {
            15.0
        }
    }

    pub(crate) fn spo2(&self, d: Date) -> f64 {
        if self.has_on(Problem::Copd, d) {
            93.0
        } else {
            98.0
        }
    }

    pub(crate) fn a1c(&self, d: Date) -> f64 {
        let l = self.latent;
        let pre = if self.has_on(Problem::Prediabetes, d) {
            6.0
        } else {
            l.a1c0
        };
        let Some(onset) = self.onset(Problem::Diabetes) else {
            return pre;
        };
        let before = onset.days_since(d) as f64 / 730.0;
        if before > 0.0 {
            let ramp = (1.0 - before).max(0.0);
            return pre + (l.dm_a1c - pre) * ramp;
        }
        let years = d.days_since(onset) as f64 / 365.25;
        let met = 0.9 * self.effect(meds::METFORMIN_500, d, 13.0)
            + 1.3 * self.effect(meds::METFORMIN_1000, d, 13.0);
        let glip = 1.0 * self.effect(meds::GLIPIZIDE_5, d, 13.0);
        (l.dm_a1c + l.a1c_drift * years - met - glip).max(5.6)
    }

    /// Fasting glucose from HbA1c through the ADAG estimated-average-glucose relation
    /// (eAG mg/dL = 28.7 x A1c - 46.7), fasting being somewhat lower than the average.
    pub(crate) fn glucose(&self, d: Date) -> f64 {
        (28.7 * self.a1c(d) - 46.7) * 0.88
    }

    /// (LDL, HDL, triglycerides) in mg/dL.
    pub(crate) fn lipids(&self, d: Date) -> (f64, f64, f64) {
        let l = self.latent;
        let mut ldl = l.ldl0;
        let mut tg = l.tg0;
        if self.has_on(Problem::Hyperlipidemia, d) {
            ldl += 45.0;
            tg += 40.0;
        }
        if self.has_on(Problem::Diabetes, d) {
            tg += 50.0;
        }
        let statins: &[(Medication, f64)] = &[
            (meds::ATORVASTATIN_10, 0.35),
            (meds::ATORVASTATIN_20, 0.43),
            (meds::ATORVASTATIN_40, 0.49),
            (meds::SIMVASTATIN_20, 0.30),
            (meds::SIMVASTATIN_40, 0.38),
        ];
        let cut = statins
            .iter()
            .map(|(m, f)| f * self.effect(*m, d, 6.0))
            .fold(0.0, f64::max);
        ldl *= 1.0 - cut;
        tg *= 1.0 - cut / 3.0;
        let hdl = l.hdl0
            - if self.person.smoking == Smoking::Current {
                4.0
            } else {
                0.0
            };
        (ldl, hdl, tg)
    }

    /// eGFR the kidneys would show before lab noise.
    pub(crate) fn egfr_target(&self, d: Date) -> f64 {
        let age = self.age_years(d);
        let mut v = self.latent.egfr_young - 0.9 * (age - 35.0).max(0.0);
        if let Some(onset) = self.onset(Problem::Ckd3) {
            let before = onset.days_since(d) as f64 / 1095.0;
            let ckd = self.latent.ckd_egfr - 1.0 * (d.days_since(onset) as f64 / 365.25).max(0.0);
            v = if before <= 0.0 {
                ckd
            } else {
                v + (ckd - v) * (1.0 - before).max(0.0)
            };
        }
        v.clamp(25.0, 125.0)
    }

    pub(crate) fn potassium(&self, d: Date) -> f64 {
        let raas = self
            .effect(meds::LISINOPRIL_10, d, 2.0)
            .max(self.effect(meds::LISINOPRIL_20, d, 2.0))
            .max(self.effect(meds::LOSARTAN_50, d, 2.0));
        let spiro = self.effect(meds::SPIRONOLACTONE_25, d, 2.0);
        let ckd = if self.has_on(Problem::Ckd3, d) {
            0.25
        } else {
            0.0
        };
        let hctz = self.effect(meds::HCTZ_25, d, 2.0);
        // ACE inhibitor plus spironolactone is the combination that drives potassium up.
        self.latent.potassium0 + 0.25 * raas + 0.45 * spiro + 0.5 * raas * spiro + ckd - 0.3 * hctz
    }

    pub(crate) fn hemoglobin(&self, d: Date) -> f64 {
        self.latent.hgb0
            - if self.has_on(Problem::Ckd3, d) {
                1.4
            } else {
                0.0
            }
    }
}

/// CKD-EPI 2021 (race-free) creatinine equation: eGFR from serum creatinine, age and sex.
pub(crate) fn ckd_epi_2021(scr: f64, age: f64, female: bool) -> f64 {
    let (kappa, alpha) = if female { (0.7, -0.241) } else { (0.9, -0.302) };
    let r = scr / kappa;
    142.0
        * r.min(1.0).powf(alpha)
        * r.max(1.0).powf(-1.2)
        * 0.9938f64.powf(age)
        * if female { 1.012 } else { 1.0 }
}

/// The creatinine that gives `egfr` in the equation above (its exact inverse).
pub(crate) fn creatinine_for(egfr: f64, age: f64, female: bool) -> f64 {
    let (kappa, alpha) = if female { (0.7, -0.241) } else { (0.9, -0.302) };
    let base = 142.0 * 0.9938f64.powf(age) * if female { 1.012 } else { 1.0 };
    let ratio = egfr / base;
    let r = if ratio >= 1.0 {
        ratio.powf(1.0 / alpha)
    } else {
        ratio.powf(-1.0 / 1.2)
    };
    r * kappa
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creatinine_inverse_matches_equation() {
        for &(egfr, age, female) in &[
            (95.0, 40.0, true),
            (45.0, 70.0, false),
            (110.0, 25.0, false),
            (38.0, 82.0, true),
        ] {
            let scr = creatinine_for(egfr, age, female);
            assert!(
                (ckd_epi_2021(scr, age, female) - egfr).abs() < 1e-6,
                "{egfr} {age} {female}"
            );
        }
    }
}
