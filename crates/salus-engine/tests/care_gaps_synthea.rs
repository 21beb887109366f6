//! All 130 Synthea patients imported through `Engine::import_bundle` (shared resources first):
//! every import succeeds with medication safety on (historic orders are not checked), and the
//! care-gap worklist prints how many patients are due, overdue or satisfied per rule.

use salus_fhir::date::Date;
use salus_engine::{Caller, Engine, MinimalValidator};
use salus_store::{Store, sqlite::SqliteStore};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn synthea() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/synthea")
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("synthea folder")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synthea_imports_with_safety_checks_and_counts_patients_due_per_rule() {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine = Engine::new(Store::new(SqliteStore::open(dir.path()).expect("open")), Arc::new(MinimalValidator));
    let caller = Caller::system();
    let root = synthea();
    let mut files = json_files(&root.join("shared-resources"));
    files.extend(json_files(&root));
    let mut failures = Vec::new();
    for f in &files {
        let bundle = serde_json::from_slice(&std::fs::read(f).expect("read")).expect("json");
        if let Err(e) = engine.import_bundle(&caller, bundle).await {
            failures.push(format!("{}: {e}", f.display()));
        }
    }
    assert!(failures.is_empty(), "imports refused: {failures:#?}");
    assert_eq!(files.len(), 132, "2 shared bundles and 130 patients");

    // The data was generated on 2019-05-31; counts as of then and as of today.
    for (label, as_of) in [("2019-06-01 (data date)", Date::new(2019, 6, 1)), ("today", None)] {
        let list = engine.care_gaps_worklist(&caller, &[], &[], as_of).await.expect("worklist");
        assert_eq!(list.patients, 130);
        println!("care gaps over {} Synthea patients as of {label}:", list.patients);
        println!("{:<30} {:>5} {:>8} {:>10} {:>15}", "rule", "due", "overdue", "satisfied", "not-applicable");
        for (rule, counts) in &list.counts {
            let n = |s: &str| counts.get(s).copied().unwrap_or(0);
            println!("{rule:<30} {:>5} {:>8} {:>10} {:>15}", n("due"), n("overdue"), n("satisfied"), n("not-applicable"));
            assert_eq!(n("due") + n("overdue") + n("satisfied") + n("not-applicable"), 130, "{rule}");
        }
        assert_eq!(list.counts.len(), 10, "every rule counted");
    }
    let colorectal = engine.care_gaps_worklist(&caller, &["colorectal-cancer-screening".into()], &["due".into(), "overdue".into()], Date::new(2019, 6, 1)).await.expect("worklist");
    assert!(colorectal.rows.iter().all(|r| r.gap.rule_id == "colorectal-cancer-screening" && r.gap.status.is_open()));
    assert!(!colorectal.rows.is_empty(), "some patients are due for colorectal screening");
}
