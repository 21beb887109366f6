//! Benchmarks of Salus through its HTTP API, on this machine, in release builds:
//!
//! ```sh
//! cargo run --release -p salus-bench -- crud --resources 4000 --concurrency 8
//! ```
//!
//! `crud` starts a server on 127.0.0.1:0 over a fresh database in a temporary directory, then
//! clients create resources (POST) and read them back by id (GET), and prints throughput and
//! latency percentiles. No test asserts these numbers; they are recorded in
//! `docs/PERFORMANCE.md` with the command that produced them.

mod bulk;

use clap::{Parser, Subcommand};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Creates and reads by id over HTTP.
    Crud {
        /// Resources to create (half Patients, half Observations).
        #[arg(long, default_value_t = 4000)]
        resources: usize,
        /// Concurrent clients.
        #[arg(long, default_value_t = 8)]
        concurrency: usize,
    },
    /// Imports the Synthea data (resources/s), then exports it as NDJSON (resources/s).
    Export {
        /// The Synthea directory [default: ../shared/data/synthea].
        #[arg(long)]
        synthea: Option<std::path::PathBuf>,
        /// Bundles imported at the same time.
        #[arg(long, default_value_t = 2)]
        jobs: usize,
    },
    /// Patient/$everything latency for the Synthea patient with the most resources.
    Everything {
        #[arg(long)]
        synthea: Option<std::path::PathBuf>,
        /// Requests timed.
        #[arg(long, default_value_t = 100)]
        rounds: usize,
    },
}

fn main() {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("salus-bench: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    match cli.command {
        Command::Crud { resources, concurrency } => runtime.block_on(crud(resources, concurrency)),
        Command::Export { synthea, jobs } => runtime.block_on(bulk::export(synthea, jobs)),
        Command::Everything { synthea, rounds } => runtime.block_on(bulk::everything(synthea, rounds)),
    }
}

/// A Patient and an Observation shaped like real chart data (names, identifiers, a coded
/// blood-pressure reading), so validation and storage do realistic work.
fn resource(i: usize) -> Value {
    if i.is_multiple_of(2) {
        json!({
            "resourceType": "Patient",
            "identifier": [{"system": "urn:oid:2.16.840.1.113883.19.5", "value": format!("MRN{i:08}")}],
            "name": [{"use": "official", "family": format!("Family{}", i % 997), "given": ["Alex", "J"]}],
            "gender": if i.is_multiple_of(4) { "female" } else { "male" },
            "birthDate": format!("19{:02}-0{}-1{}", 30 + i % 70, 1 + i % 9, i % 10),
            "address": [{"line": [format!("{i} Main St")], "city": "Springfield", "postalCode": "01101", "country": "US"}],
            "telecom": [{"system": "phone", "value": "555-0100", "use": "home"}]
        })
    } else {
        json!({
            "resourceType": "Observation",
            "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}]}],
            "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9", "display": "Blood pressure panel"}]},
            "subject": {"reference": format!("Patient/p{}", i % 100)},
            "effectiveDateTime": "2026-01-15T09:30:00Z",
            "component": [
                {"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                 "valueQuantity": {"value": 120 + i % 40, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}},
                {"code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]},
                 "valueQuantity": {"value": 70 + i % 25, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}}
            ]
        })
    }
}

async fn start_server(data: &std::path::Path) -> String {
    let store = salus_store::Store::new(salus_store::sqlite::SqliteStore::open(data).unwrap_or_else(|e| {
        eprintln!("salus-bench: {e}");
        std::process::exit(1)
    }));
    let engine = salus_engine::Engine::r4(store);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| {
        eprintln!("salus-bench: cannot bind: {e}");
        std::process::exit(1)
    });
    let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
    tokio::spawn(async move {
        let _ = axum::serve(listener, salus_http::app(engine, salus_http::HttpConfig::default())).await;
    });
    format!("http://{addr}/fhir")
}

async fn crud(resources: usize, concurrency: usize) {
    let data = tempfile::tempdir().unwrap_or_else(|e| {
        eprintln!("salus-bench: cannot make a temporary directory: {e}");
        std::process::exit(1)
    });
    let base = start_server(data.path()).await;
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build().unwrap_or_default();

    // Create: each client takes every `concurrency`-th resource.
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let (client, base) = (client.clone(), base.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut locations = Vec::new();
            for i in (worker..resources).step_by(concurrency) {
                let body = resource(i);
                let path = format!("{base}/{}", body["resourceType"].as_str().unwrap_or("Patient"));
                let t = Instant::now();
                let r = client.post(&path).header("Content-Type", "application/fhir+json").body(body.to_string()).send().await;
                latencies.push(t.elapsed());
                match r {
                    Ok(r) if r.status().as_u16() == 201 => {
                        let id: Option<String> = r.json::<Value>().await.ok().and_then(|v| {
                            Some(format!("{}/{}", v["resourceType"].as_str()?, v["id"].as_str()?))
                        });
                        locations.extend(id);
                    }
                    Ok(r) => eprintln!("create failed: {}", r.status()),
                    Err(e) => eprintln!("create failed: {e}"),
                }
            }
            (latencies, locations)
        }));
    }
    let mut create_latencies = Vec::new();
    let mut ids = Vec::new();
    for t in tasks {
        if let Ok((l, i)) = t.await {
            create_latencies.extend(l);
            ids.extend(i);
        }
    }
    let create_elapsed = started.elapsed();

    // Read each created resource by id.
    let ids = Arc::new(ids);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let (client, base, ids) = (client.clone(), base.clone(), ids.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            for i in (worker..ids.len()).step_by(concurrency) {
                let t = Instant::now();
                let r = client.get(format!("{base}/{}", ids[i])).send().await;
                let ok = match r {
                    Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
                latencies.push(t.elapsed());
                if !ok {
                    eprintln!("read of {} failed", ids[i]);
                }
            }
            latencies
        }));
    }
    let mut read_latencies = Vec::new();
    for t in tasks {
        if let Ok(l) = t.await {
            read_latencies.extend(l);
        }
    }
    let read_elapsed = started.elapsed();

    println!("salus-bench crud: {resources} resources, {concurrency} concurrent clients, HTTP on loopback");
    report("create (POST)", &mut create_latencies, create_elapsed);
    report("read by id (GET)", &mut read_latencies, read_elapsed);
}

fn report(name: &str, latencies: &mut [Duration], elapsed: Duration) {
    latencies.sort();
    let pct = |p: f64| {
        let i = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    let rate = latencies.len() as f64 / elapsed.as_secs_f64();
    println!(
        "  {name:<18} {:>7.0} /s   p50 {:>6.2} ms   p99 {:>6.2} ms   ({} requests in {:.2} s)",
        rate,
        pct(0.50),
        pct(0.99),
        latencies.len(),
        elapsed.as_secs_f64()
    );
}
