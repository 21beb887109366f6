//! `salus export DIR`: the Bulk Data export written straight into a directory, one NDJSON file
//! per resource type (`Patient.ndjson`, ...), through the same engine writer the server's
//! `$export` jobs use. `--type`, `--since`, `--type-filter` mean what `_type`, `_since` and
//! `_typeFilter` mean there; `--patient` and `--group` choose the Patient or Group level.

use salus_engine::{Caller, Engine, ExportLevel, ExportProgress, ExportRequest};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

pub struct ExportOptions {
    pub types: Vec<String>,
    pub since: Option<String>,
    pub type_filters: Vec<String>,
    pub patients: bool,
    pub group: Option<String>,
}

/// Runs the export and prints one line per file and a summary.
pub async fn run(engine: &Engine, dir: &Path, options: ExportOptions) -> Result<(), String> {
    let level = match (&options.group, options.patients) {
        (Some(id), _) => ExportLevel::Group(id.clone()),
        (None, true) => ExportLevel::Patient,
        (None, false) => ExportLevel::System,
    };
    let mut params = Vec::new();
    if !options.types.is_empty() {
        params.push(("_type".to_string(), options.types.join(",")));
    }
    if let Some(s) = &options.since {
        params.push(("_since".to_string(), s.clone()));
    }
    for f in &options.type_filters {
        params.push(("_typeFilter".to_string(), f.clone()));
    }
    let request = ExportRequest::parse(engine, level, &params, format!("salus export {}", dir.display()))
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let progress = Arc::new(ExportProgress::default());
    let outputs = engine
        .export_to_dir(&Caller::system(), &request, dir, progress)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("the export was cancelled")?;
    let total: u64 = outputs.iter().map(|o| o.count).sum();
    for o in &outputs {
        println!("{:>10}  {}", o.count, dir.join(&o.file).display());
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "exported {total} resources in {} files in {seconds:.1} s, {:.0} resources/s",
        outputs.len(),
        total as f64 / seconds.max(0.001)
    );
    Ok(())
}
