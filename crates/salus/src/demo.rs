//! `serve --demo`: fills an empty database with synthetic patients from `salus-demo`. A
//! database that already holds any resource is left alone, so demo patients can never be mixed
//! into a practice's real records.

use salus_engine::{Caller, Engine, HistoryQuery, HistoryScope};
use std::time::Instant;

pub const DEFAULT_PATIENTS: usize = 25;
pub const DEFAULT_SEED: u64 = 1;

pub struct DemoRequest {
    pub patients: usize,
    pub seed: u64,
}

pub async fn load(engine: &Engine, request: DemoRequest) -> Result<(), String> {
    let caller = Caller::system();
    let probe = HistoryQuery { scope: HistoryScope::System, since_ms: None, at_ms: None, count: 1, before_seq: None };
    let existing = engine.history(&caller, probe).await.map_err(|e| e.to_string())?;
    if !existing.versions.is_empty() {
        tracing::warn!("the database already holds data: demo patients not loaded");
        return Ok(());
    }
    let today = salus_engine::clock::format_instant(salus_engine::clock::now_ms());
    let as_of = salus_fhir::date::Date::parse(&today[..10]).map_err(|e| e.to_string())?;
    let options = salus_demo::DemoOptions { seed: request.seed, patients: request.patients, as_of, ..Default::default() };
    let started = Instant::now();
    let shared = salus_demo::shared_bundle(&options);
    let mut total = engine.import_bundle(&caller, shared).await.map_err(|e| format!("demo data: {e}"))?.total();
    // Patients are independent: generate and load them two at a time per core.
    let options = std::sync::Arc::new(options);
    let mut tasks = tokio::task::JoinSet::new();
    let semaphore = std::sync::Arc::new(tokio::sync::Semaphore::new(2 * super::cores()));
    for index in 0..request.patients {
        let (engine, options, semaphore) = (engine.clone(), options.clone(), semaphore.clone());
        tasks.spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            let generated = {
                let options = options.clone();
                tokio::task::spawn_blocking(move || salus_demo::patient_bundle(&options, index)).await
            };
            let bundle = generated.map_err(|e| e.to_string())?;
            engine.import_bundle(&Caller::system(), bundle).await.map_err(|e| format!("demo patient {index}: {e}"))
        });
    }
    while let Some(joined) = tasks.join_next().await {
        total += joined.map_err(|e| e.to_string())??.total();
    }
    tracing::info!(
        patients = request.patients,
        resources = total,
        seconds = format!("{:.1}", started.elapsed().as_secs_f64()),
        "demo patients loaded"
    );
    Ok(())
}
