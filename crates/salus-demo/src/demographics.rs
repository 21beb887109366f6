//! Who the patient is: sex, name, birth date, address, race and ethnicity, language, marital
//! status, smoking, and the Patient resource built from them.
//!
//! Proportions are rounded public figures: the age spread follows the shape of the US
//! population pyramid (Census 2020), race and Hispanic ethnicity the 2020 Census shares, smoking
//! the CDC's adult prevalence (about 12% current, a quarter former).

use salus_fhir::date::Date;
use serde_json::{Value, json};

use crate::fhir::{coding, concept, reference_display, resource};
use crate::names::{
    AREA_CODE, CITIES, FEMALE_FIRST, HISPANIC_SURNAMES, MALE_FIRST, STATE, STREETS, SURNAMES,
};
use crate::rng::Rng;
use crate::shared::{Directory, Role};

/// The MRN identifier system of the demo practice.
pub const MRN_SYSTEM: &str = "https://demo.salus-ehr.org/fhir/sid/mrn";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sex {
    Female,
    Male,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Smoking {
    Never,
    Former,
    Current,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Race {
    White,
    Black,
    Asian,
    NativeAmerican,
    PacificIslander,
}

pub(crate) struct Person {
    pub uuid: String,
    pub sex: Sex,
    pub given: String,
    pub middle: Option<String>,
    pub family: String,
    pub birth: Date,
    /// Age in whole years on `as_of`.
    pub age: i64,
    pub race: Race,
    pub hispanic: bool,
    pub language: (&'static str, &'static str),
    pub smoking: Smoking,
    pub mrn: String,
    pub pcp: usize,
    pub line: String,
    pub city: (&'static str, &'static str),
    pub phone: String,
    pub marital: Option<(&'static str, &'static str)>,
}

impl Person {
    pub(crate) fn full_name(&self) -> String {
        format!("{} {}", self.given, self.family)
    }

    pub(crate) fn age_on(&self, d: Date) -> i64 {
        i64::from(self.birth.age_on(d))
    }

    pub(crate) fn pronoun(&self) -> &'static str {
        match self.sex {
            Sex::Female => "She",
            Sex::Male => "He",
        }
    }

    pub(crate) fn sex_word(&self) -> &'static str {
        match self.sex {
            Sex::Female => "female",
            Sex::Male => "male",
        }
    }
}

/// Age bands (years, inclusive) and weights shaped like the US pyramid.
const AGE_BANDS: &[((i64, i64), u32)] = &[
    ((0, 4), 6),
    ((5, 17), 16),
    ((18, 29), 16),
    ((30, 44), 20),
    ((45, 64), 25),
    ((65, 79), 13),
    ((80, 95), 4),
];

pub(crate) fn sample(
    rng: &mut Rng,
    as_of: Date,
    index: usize,
    dir: &Directory,
    forced_age: Option<(i64, i64)>,
) -> Person {
    let uuid = rng.uuid();
    let sex = if rng.chance(0.51) {
        Sex::Female
    } else {
        Sex::Male
    };
    let (lo, hi) = forced_age.unwrap_or(*rng.weighted(AGE_BANDS));
    let age = rng.int(lo, hi);
    // A birthday somewhere in the year before the age-th anniversary, so the age on as_of is exact.
    let birth = as_of.add_years(-(age as i32)).add_days(-rng.int(0, 364));
    let birth = if i64::from(birth.age_on(as_of)) != age {
        as_of.add_years(-(age as i32))
    } else {
        birth
    };
    let race = *rng.weighted(&[
        (Race::White, 700),
        (Race::Black, 135),
        (Race::Asian, 65),
        (Race::NativeAmerican, 12),
        (Race::PacificIslander, 3),
    ]);
    let hispanic = rng.chance(0.18);
    let given = match sex {
        Sex::Female => rng.pick(FEMALE_FIRST),
        Sex::Male => rng.pick(MALE_FIRST),
    }
    .to_string();
    let middle = rng.chance(0.6).then(|| {
        let initial = match sex {
            Sex::Female => rng.pick(FEMALE_FIRST),
            Sex::Male => rng.pick(MALE_FIRST),
        };
        initial.to_string()
    });
    let family = if hispanic && rng.chance(0.8) {
        rng.pick(HISPANIC_SURNAMES)
    } else {
        rng.pick(SURNAMES)
    }
    .to_string();
    let language = if hispanic && rng.chance(0.35) {
        ("es", "Spanish")
    } else if race == Race::Asian && rng.chance(0.25) {
        *rng.pick(&[("vi", "Vietnamese"), ("zh", "Chinese"), ("ko", "Korean")])
    } else {
        ("en-US", "English (United States)")
    };
    let smoking = if age < 18 {
        Smoking::Never
    } else {
        *rng.weighted(&[
            (Smoking::Never, 62),
            (Smoking::Former, 25),
            (Smoking::Current, 13),
        ])
    };
    let role = if age < 18 {
        Role::Pediatrics
    } else {
        Role::FamilyMedicine
    };
    let candidates: Vec<usize> = dir
        .practitioners
        .iter()
        .enumerate()
        .filter(|(_, p)| p.role == role)
        .map(|(i, _)| i)
        .collect();
    let pcp = candidates
        .get(rng.below(candidates.len() as u64) as usize)
        .copied()
        .unwrap_or(0);
    let marital = (age >= 18).then(|| {
        let married = if age < 30 { 30 } else { 55 };
        let widowed = if age >= 70 { 25 } else { 1 };
        let divorced = if age >= 35 { 12 } else { 3 };
        let never = if age < 30 { 65 } else { 15 };
        *rng.weighted(&[
            (("M", "Married"), married),
            (("S", "Never Married"), never),
            (("D", "Divorced"), divorced),
            (("W", "Widowed"), widowed),
        ])
    });
    Person {
        uuid,
        sex,
        given,
        middle,
        family,
        birth,
        age,
        race,
        hispanic,
        language,
        smoking,
        mrn: format!("D{:07}", 1_000_000 + index),
        pcp,
        line: format!("{} {}", rng.int(10, 9899), rng.pick(STREETS)),
        city: *rng.pick(CITIES),
        phone: format!("({AREA_CODE}) 555-01{}", rng.digits(2)),
        marital,
    }
}

/// CDC Race & Ethnicity code system (urn:oid:2.16.840.1.113883.6.238) codes used by US Core.
fn race_code(race: Race) -> (&'static str, &'static str) {
    match race {
        Race::White => ("2106-3", "White"),
        Race::Black => ("2054-5", "Black or African American"),
        Race::Asian => ("2028-9", "Asian"),
        Race::NativeAmerican => ("1002-5", "American Indian or Alaska Native"),
        Race::PacificIslander => ("2076-8", "Native Hawaiian or Other Pacific Islander"),
    }
}

const CDC_RACE: &str = "urn:oid:2.16.840.1.113883.6.238";

pub(crate) fn patient_resource(p: &Person, dir: &Directory) -> serde_json::Map<String, Value> {
    let (race_c, race_d) = race_code(p.race);
    let (eth_c, eth_d) = if p.hispanic {
        ("2135-2", "Hispanic or Latino")
    } else {
        ("2186-5", "Not Hispanic or Latino")
    };
    let mut r = resource("Patient");
    r.insert(
        "extension".into(),
        json!([
            { "url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race",
              "extension": [
                { "url": "ombCategory", "valueCoding": coding(CDC_RACE, race_c, race_d) },
                { "url": "text", "valueString": race_d } ] },
            { "url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity",
              "extension": [
                { "url": "ombCategory", "valueCoding": coding(CDC_RACE, eth_c, eth_d) },
                { "url": "text", "valueString": eth_d } ] },
            { "url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex",
              "valueCode": if p.sex == Sex::Female { "F" } else { "M" } }
        ]),
    );
    r.insert(
        "identifier".into(),
        json!([{
            "use": "usual",
            "type": { "coding": [coding("http://terminology.hl7.org/CodeSystem/v2-0203", "MR", "Medical record number")], "text": "MRN" },
            "system": MRN_SYSTEM,
            "value": p.mrn,
        }]),
    );
    r.insert("active".into(), json!(true));
    let mut given = vec![json!(p.given)];
    if let Some(m) = &p.middle {
        given.push(json!(m));
    }
    r.insert(
        "name".into(),
        json!([{ "use": "official", "family": p.family, "given": given }]),
    );
    r.insert(
        "telecom".into(),
        json!([{ "system": "phone", "value": p.phone, "use": if p.age >= 16 { "mobile" } else { "home" } }]),
    );
    r.insert("gender".into(), json!(p.sex_word()));
    r.insert("birthDate".into(), json!(p.birth.to_string()));
    r.insert(
        "address".into(),
        json!([{ "use": "home", "type": "physical", "line": [p.line], "city": p.city.0, "state": STATE, "postalCode": p.city.1, "country": "US" }]),
    );
    if let Some((code, display)) = p.marital {
        r.insert(
            "maritalStatus".into(),
            concept(
                "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus",
                code,
                display,
            ),
        );
    }
    r.insert(
        "communication".into(),
        json!([{ "language": concept("urn:ietf:bcp:47", p.language.0, p.language.1), "preferred": true }]),
    );
    if let Some(gp) = dir.practitioners.get(p.pcp) {
        r.insert(
            "generalPractitioner".into(),
            json!([reference_display(
                &format!("Practitioner/{}", gp.id),
                &gp.display
            )]),
        );
    }
    r.insert(
        "managingOrganization".into(),
        reference_display(
            &format!("Organization/{}", dir.clinic_org.id),
            &dir.clinic_org.display,
        ),
    );
    r
}
