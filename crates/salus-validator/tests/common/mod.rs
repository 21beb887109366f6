//! Shared helpers of the data-driven tests: where the shared data lives.

use std::path::PathBuf;

/// `../shared/data` next to the repository, resolved from this crate's manifest directory.
pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
}
