//! The practice every patient belongs to: Organizations, Practitioners (with NPIs) and
//! Locations, sent once as their own transaction before the patients.
//!
//! Patient bundles point at these by literal `Type/id` references (a `urn:uuid:` only resolves
//! inside its own bundle), so these resources are always written with PUT and ids derived from
//! the seed.

use serde_json::{Value, json};

use crate::bundle::Bundle;
use crate::fhir::{NPI, coding, concept, reference_display, resource};
use crate::names::{AREA_CODE, FEMALE_FIRST, MALE_FIRST, STATE, SURNAMES};
use crate::rng::Rng;

/// What a practitioner does, which decides the encounters they are put on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    FamilyMedicine,
    Pediatrics,
    Emergency,
    Gastroenterology,
    Radiology,
}

pub(crate) struct Practitioner {
    pub id: String,
    pub display: String,
    pub role: Role,
}

pub(crate) struct Site {
    pub id: String,
    pub display: String,
}

/// Ids and names of the shared resources, in a fixed order.
pub(crate) struct Directory {
    pub practitioners: Vec<Practitioner>,
    pub clinic_org: Site,
    pub hospital_org: Site,
    pub family_clinic: Site,
    pub pediatric_clinic: Site,
    pub emergency: Site,
    pub endoscopy: Site,
    pub radiology: Site,
}

/// How many practitioners of each role the demo practice has.
const STAFF: &[(Role, usize)] = &[
    (Role::FamilyMedicine, 6),
    (Role::Pediatrics, 3),
    (Role::Emergency, 3),
    (Role::Gastroenterology, 1),
    (Role::Radiology, 1),
];

pub(crate) fn directory(seed: u64) -> Directory {
    let mut rng = Rng::stream(seed, 0);
    let mut practitioners = Vec::new();
    for (role, count) in STAFF {
        for _ in 0..*count {
            let female = rng.chance(0.5);
            let given = if female {
                rng.pick(FEMALE_FIRST)
            } else {
                rng.pick(MALE_FIRST)
            };
            let family = rng.pick(SURNAMES);
            let id = rng.uuid();
            practitioners.push(Practitioner {
                id,
                display: format!("Dr. {given} {family}"),
                role: *role,
            });
        }
    }
    let mut site = |name: &str| Site {
        id: rng.uuid(),
        display: name.to_string(),
    };
    Directory {
        practitioners,
        clinic_org: site("Riverside Primary Care"),
        hospital_org: site("Riverside Medical Center"),
        family_clinic: site("Riverside Family Medicine"),
        pediatric_clinic: site("Riverside Pediatrics"),
        emergency: site("Riverside Medical Center Emergency Department"),
        endoscopy: site("Riverside Medical Center Endoscopy"),
        radiology: site("Riverside Medical Center Imaging"),
    }
}

/// A valid NPI: nine digits starting with 1 and the Luhn check digit computed with the
/// "80840" prefix, as the CMS NPI standard specifies.
pub(crate) fn npi(rng: &mut Rng) -> String {
    let body = format!("1{}", rng.digits(8));
    let mut sum = 24; // the constant contribution of the 80840 prefix
    for (i, c) in body.chars().rev().enumerate() {
        let d = c.to_digit(10).unwrap_or(0);
        sum += if i % 2 == 0 {
            let x = d * 2;
            x / 10 + x % 10
        } else {
            d
        };
    }
    format!("{body}{}", (10 - sum % 10) % 10)
}

fn address(line: &str) -> Value {
    json!([{ "use": "work", "line": [line], "city": "Columbus", "state": STATE,
             "postalCode": "43215", "country": "US" }])
}

fn phone(rng: &mut Rng) -> Value {
    json!([{ "system": "phone", "value": format!("({AREA_CODE}) 555-01{}", rng.digits(2)), "use": "work" }])
}

fn organization(rng: &mut Rng, site: &Site, line: &str, part_of: Option<&Site>) -> Value {
    let mut r = resource("Organization");
    r.insert("id".into(), json!(site.id));
    r.insert(
        "identifier".into(),
        json!([{ "system": NPI, "value": npi(rng) }]),
    );
    r.insert("active".into(), json!(true));
    r.insert(
        "type".into(),
        json!([{ "coding": [coding("http://terminology.hl7.org/CodeSystem/organization-type", "prov", "Healthcare Provider")] }]),
    );
    r.insert("name".into(), json!(site.display));
    r.insert("telecom".into(), phone(rng));
    r.insert("address".into(), address(line));
    if let Some(parent) = part_of {
        r.insert(
            "partOf".into(),
            reference_display(&format!("Organization/{}", parent.id), &parent.display),
        );
    }
    Value::Object(r)
}

fn location(
    rng: &mut Rng,
    site: &Site,
    org: &Site,
    code: &str,
    display: &str,
    line: &str,
) -> Value {
    let mut r = resource("Location");
    r.insert("id".into(), json!(site.id));
    r.insert("status".into(), json!("active"));
    r.insert("name".into(), json!(site.display));
    r.insert("mode".into(), json!("instance"));
    r.insert(
        "type".into(),
        json!([concept(
            "http://terminology.hl7.org/CodeSystem/v3-RoleCode",
            code,
            display
        )]),
    );
    r.insert("telecom".into(), phone(rng));
    r.insert("address".into(), json!({ "use": "work", "line": [line], "city": "Columbus", "state": STATE, "postalCode": "43215", "country": "US" }));
    r.insert(
        "physicalType".into(),
        concept(
            "http://terminology.hl7.org/CodeSystem/location-physical-type",
            "bu",
            "Building",
        ),
    );
    r.insert(
        "managingOrganization".into(),
        reference_display(&format!("Organization/{}", org.id), &org.display),
    );
    Value::Object(r)
}

fn practitioner(rng: &mut Rng, p: &Practitioner) -> Value {
    // The display is "Dr. Given Family"; split it back rather than carry two copies.
    let mut words = p.display.split(' ').skip(1);
    let given = words.next().unwrap_or_default();
    let family = words.next().unwrap_or_default();
    let gender = if FEMALE_FIRST.contains(&given) {
        "female"
    } else {
        "male"
    };
    let mut r = resource("Practitioner");
    r.insert("id".into(), json!(p.id));
    r.insert(
        "identifier".into(),
        json!([{ "system": NPI, "value": npi(rng) }]),
    );
    r.insert("active".into(), json!(true));
    r.insert(
        "name".into(),
        json!([{ "use": "official", "family": family, "given": [given], "prefix": ["Dr."], "suffix": ["MD"] }]),
    );
    r.insert("telecom".into(), phone(rng));
    r.insert("gender".into(), json!(gender));
    Value::Object(r)
}

/// The shared transaction Bundle.
pub(crate) fn shared_bundle(seed: u64, dir: &Directory) -> Value {
    // A second stream for identifiers so the directory (used by every patient) stays cheap.
    let mut rng = Rng::stream(seed, u64::MAX);
    let mut bundle = Bundle::new();
    let orgs = [
        organization(
            &mut rng,
            &dir.clinic_org,
            "100 Riverside Drive",
            Some(&dir.hospital_org),
        ),
        organization(&mut rng, &dir.hospital_org, "200 Riverside Drive", None),
    ];
    for org in orgs {
        bundle.put_shared(org);
    }
    let h = &dir.hospital_org;
    let c = &dir.clinic_org;
    let locations = [
        location(
            &mut rng,
            &dir.family_clinic,
            c,
            "FMC",
            "Family medicine clinic",
            "100 Riverside Drive",
        ),
        location(
            &mut rng,
            &dir.pediatric_clinic,
            c,
            "PEDC",
            "Pediatrics clinic",
            "110 Riverside Drive",
        ),
        location(
            &mut rng,
            &dir.emergency,
            h,
            "ER",
            "Emergency room",
            "200 Riverside Drive",
        ),
        location(
            &mut rng,
            &dir.endoscopy,
            h,
            "ENDOS",
            "Endoscopy lab",
            "200 Riverside Drive",
        ),
        location(
            &mut rng,
            &dir.radiology,
            h,
            "RADDX",
            "Radiology diagnostics or therapeutics unit",
            "200 Riverside Drive",
        ),
    ];
    for loc in locations {
        bundle.put_shared(loc);
    }
    for p in &dir.practitioners {
        bundle.put_shared(practitioner(&mut rng, p));
    }
    bundle.into_value()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npi_check_digit_is_valid() {
        // 1234567893 is the example NPI in the CMS check-digit document.
        let luhn_ok = |n: &str| {
            let full = format!("80840{n}");
            let sum: u32 = full
                .chars()
                .rev()
                .enumerate()
                .map(|(i, c)| {
                    let d = c.to_digit(10).unwrap_or(0);
                    if i % 2 == 1 {
                        (d * 2) / 10 + (d * 2) % 10
                    } else {
                        d
                    }
                })
                .sum();
            sum.is_multiple_of(10)
        };
        assert!(luhn_ok("1234567893"));
        let mut rng = Rng::stream(3, 0);
        for _ in 0..200 {
            let n = npi(&mut rng);
            assert_eq!(n.len(), 10);
            assert!(luhn_ok(&n), "{n}");
        }
    }
}
