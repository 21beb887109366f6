//! `salus-demo` owns Salus's synthetic demo data: a pure, deterministic generator of realistic
//! FHIR R4 charts (demographics, encounters, vital-sign series, labs with reference ranges and
//! flags, conditions, medications, allergies, immunizations, procedures, care plans and progress
//! notes) for `salus serve --demo`. It does no I/O and reads no clock: the same options give
//! byte-identical JSON. Output is a transaction Bundle of shared resources (organizations,
//! practitioners, locations) followed by one transaction Bundle per patient, produced lazily so
//! that ten thousand patients never have to be in memory at once.
//!
//! ```
//! use salus_demo::{DemoOptions, generate};
//! let options = DemoOptions { seed: 7, patients: 3, ..DemoOptions::default() };
//! let data = generate(&options);
//! assert_eq!(data.shared["type"], "transaction");
//! assert_eq!(data.patients.count(), 3);
//! ```

mod allergies;
mod bundle;
mod careplans;
mod clinic_time;
mod conditions;
mod demographics;
mod fhir;
mod history;
mod immunizations;
mod labs;
mod medications;
mod names;
mod notes;
mod patient;
mod physiology;
mod procedures;
mod rng;
mod shared;
mod vitals;

use salus_fhir::date::Date;
use serde_json::Value;

pub use clinic_time::CLINIC_OFFSET;
pub use demographics::MRN_SYSTEM;
pub use medications::{MEDICATIONS, Medication, rxnorm_codes};

/// How patient-bundle entries ask the server to store them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum IdStyle {
    /// `PUT Type/<uuid>` with the seeded uuid as the id: re-importing the same seed updates
    /// the same resources instead of duplicating them, and ids are known in advance.
    #[default]
    ClientAssigned,
    /// `POST Type`: the server assigns ids and rewrites the `urn:uuid:` references.
    ServerAssigned,
}

/// What to generate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemoOptions {
    pub seed: u64,
    pub patients: usize,
    /// The "today" of the data set: nothing happens after it. Pass the real date at the edge
    /// (the CLI), never read the clock here.
    pub as_of: Date,
    pub ids: IdStyle,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            seed: 1,
            patients: 100,
            as_of: Date::from_days(DEFAULT_AS_OF_DAYS),
            ids: IdStyle::default(),
        }
    }
}

/// 2025-06-30, a fixed default so that `DemoOptions::default()` is reproducible.
const DEFAULT_AS_OF_DAYS: i64 = 20_269;

/// The generated data set: the shared Bundle now, patient Bundles on demand.
pub struct DemoData {
    /// Transaction Bundle of Organizations, Locations and Practitioners; import it first.
    pub shared: Value,
    /// One transaction Bundle per patient, generated as the iterator is advanced.
    pub patients: PatientBundles,
}

/// Iterator over patient Bundles. Each patient has its own random stream, so
/// [`patient_bundle`] gives the same Bundle for an index whether or not others were generated.
pub struct PatientBundles {
    options: DemoOptions,
    directory: shared::Directory,
    next: usize,
}

impl Iterator for PatientBundles {
    type Item = Value;

    fn next(&mut self) -> Option<Value> {
        if self.next >= self.options.patients {
            return None;
        }
        let b = patient::bundle(&self.options, &self.directory, self.next);
        self.next += 1;
        Some(b)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.options.patients.saturating_sub(self.next);
        (left, Some(left))
    }

    fn nth(&mut self, n: usize) -> Option<Value> {
        // Skipping is free: patients are independent.
        self.next = self.next.saturating_add(n);
        self.next()
    }
}

impl ExactSizeIterator for PatientBundles {}

/// Generates the data set described by `options`. Cheap: only the shared Bundle is built here.
pub fn generate(options: &DemoOptions) -> DemoData {
    let directory = shared::directory(options.seed);
    let shared = shared::shared_bundle(options.seed, &directory);
    DemoData {
        shared,
        patients: PatientBundles {
            options: options.clone(),
            directory,
            next: 0,
        },
    }
}

/// The shared transaction Bundle alone.
pub fn shared_bundle(options: &DemoOptions) -> Value {
    shared::shared_bundle(options.seed, &shared::directory(options.seed))
}

/// Patient `index`'s transaction Bundle (any index; `options.patients` is not consulted), for
/// parallel or resumable imports.
pub fn patient_bundle(options: &DemoOptions, index: usize) -> Value {
    patient::bundle(options, &shared::directory(options.seed), index)
}
