//! `salus`: the one binary. `salus serve` runs the FHIR server on the embedded database; more
//! commands (import, export, user, audit, backup, ...) arrive with their issues. This crate
//! only parses configuration and wires the crates together; it holds no logic of its own.

mod allocator;
mod config;
mod demo;
mod export;
mod import;

use clap::{Parser, Subcommand};
use salus_engine::Engine;
use salus_store::{Store, sqlite::SqliteStore};
use std::path::PathBuf;
use std::process::ExitCode;

/// Salus: an electronic health record with a FHIR R4 server, on an embedded database.
///
/// Settings come from flags, then SALUS_* environment variables, then the TOML file given by
/// --config (keys: data, listen, max-body-bytes, base-url), then the defaults.
#[derive(Parser)]
#[command(name = "salus", version, about, long_about)]
struct Cli {
    /// A TOML configuration file.
    #[arg(long, global = true, env = "SALUS_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the FHIR R4 server (base URL http://ADDR/fhir).
    Serve(ServeArgs),
    /// Load transaction Bundles (.json) and NDJSON files (.ndjson), from files or directories,
    /// into the database. Loading the same data again creates no duplicates.
    Import(ImportArgs),
    /// Write the database's resources as Bulk Data NDJSON files into a directory, one file
    /// per resource type (what GET /fhir/$export produces).
    Export(ExportArgs),
}

#[derive(clap::Args)]
struct ExportArgs {
    /// The directory to write into (created if needed).
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// Directory of the embedded database [default: ./salus-data].
    #[arg(long, env = "SALUS_DATA", value_name = "DIR")]
    data: Option<PathBuf>,
    /// Only these resource types (comma-separated or repeated), as _type.
    #[arg(long = "type", value_name = "TYPES", value_delimiter = ',')]
    types: Vec<String>,
    /// Only resources changed at or after this instant (2024-01-01T00:00:00Z), as _since.
    #[arg(long, value_name = "INSTANT")]
    since: Option<String>,
    /// A search that limits its type (Observation?code=4548-4), as _typeFilter; repeatable.
    #[arg(long = "type-filter", value_name = "QUERY")]
    type_filter: Vec<String>,
    /// Only the patients' compartments (Patient/$export).
    #[arg(long, conflicts_with = "group")]
    patients: bool,
    /// Only the compartments of this Group's members (Group/ID/$export).
    #[arg(long, value_name = "ID")]
    group: Option<String>,
}

#[derive(clap::Args)]
struct ImportArgs {
    /// Files or directories, loaded in the order given (shared resources first).
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Directory of the embedded database [default: ./salus-data].
    #[arg(long, env = "SALUS_DATA", value_name = "DIR")]
    data: Option<PathBuf>,
    /// Batches read, validated and indexed at the same time [default: one per CPU core but
    /// one], while up to two prepared batches wait for the writer. A batch is an NDJSON file or
    /// Bundles of about 4 MB of files, written in one transaction (each Bundle all or nothing).
    #[arg(long, value_name = "N")]
    jobs: Option<usize>,
    /// No progress bar (for logs and scripts).
    #[arg(long)]
    quiet: bool,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Directory of the embedded database [default: ./salus-data].
    #[arg(long, env = "SALUS_DATA", value_name = "DIR")]
    data: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "SALUS_LISTEN", value_name = "ADDR")]
    listen: Option<String>,
    /// Largest request body accepted, in bytes; larger requests get 413 [default: 16777216].
    #[arg(long, env = "SALUS_MAX_BODY_BYTES", value_name = "BYTES")]
    max_body_bytes: Option<usize>,
    /// Public base URL of the FHIR API, when Salus runs behind a proxy
    /// (e.g. https://ehr.example.org/fhir) [default: http://<Host header>/fhir].
    #[arg(long, env = "SALUS_BASE_URL", value_name = "URL")]
    base_url: Option<String>,
    /// Fill an empty database with synthetic demo patients made by Salus's own generator
    /// (never touches a database that already holds data).
    #[arg(long)]
    demo: bool,
    /// How many demo patients [default: 25].
    #[arg(long, value_name = "N", requires = "demo")]
    patients: Option<usize>,
    /// Seed of the demo generator: the same seed gives the same patients [default: 1].
    #[arg(long, value_name = "N", requires = "demo")]
    seed: Option<u64>,
}

fn main() -> ExitCode {
    allocator::configure();
    preparation_pool();
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SALUS_LOG").unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Serve(args) => serve(cli.config.as_deref(), args),
        Command::Import(args) => import(cli.config.as_deref(), args),
        Command::Export(args) => export(cli.config.as_deref(), args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("salus: {message}");
            ExitCode::FAILURE
        }
    }
}

fn serve(config_file: Option<&std::path::Path>, args: ServeArgs) -> Result<(), String> {
    let file = config::load_file(config_file).map_err(|e| e.to_string())?;
    let data = args.data.or(file.data).unwrap_or_else(|| PathBuf::from(config::DEFAULT_DATA));
    let listen = args.listen.or(file.listen).unwrap_or_else(|| config::DEFAULT_LISTEN.to_string());
    let listen = config::parse_listen(&listen).map_err(|e| e.to_string())?;
    let http = salus_http::HttpConfig {
        max_body_bytes: args.max_body_bytes.or(file.max_body_bytes).unwrap_or(config::DEFAULT_MAX_BODY_BYTES),
        base_url: args.base_url.or(file.base_url),
    };

    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("cannot start the runtime: {e}"))?;
    let demo = args.demo.then(|| demo::DemoRequest {
        patients: args.patients.unwrap_or(demo::DEFAULT_PATIENTS),
        seed: args.seed.unwrap_or(demo::DEFAULT_SEED),
    });
    runtime.block_on(async move {
        let engine = open_engine(&data).await?.with_export_dir(data.join("exports"));
        // Exports a previous run left unfinished start again.
        let resumed = engine.resume_exports(&salus_engine::Caller::system()).await.map_err(|e| e.to_string())?;
        if resumed > 0 {
            tracing::info!(jobs = resumed, "bulk exports restarted");
        }
        if let Some(request) = demo {
            demo::load(&engine, request).await?;
        }
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        let bound = listener.local_addr().map_err(|e| e.to_string())?;
        tracing::info!(data = %data.display(), "Salus FHIR R4 server at http://{bound}/fhir");
        axum::serve(listener, salus_http::app(engine, http))
            .with_graceful_shutdown(shutdown_signal())
            .await
            .map_err(|e| format!("server error: {e}"))
    })
}

/// Opens the database and puts the custom SearchParameters stored in it into force, so that
/// what a client added before a restart keeps indexing and answering after it.
async fn open_engine(data: &std::path::Path) -> Result<Engine, String> {
    let store = SqliteStore::open(data).map_err(|e| e.to_string())?;
    let engine = Engine::r4(Store::new(store));
    let custom = engine
        .load_search_parameters(&salus_engine::Caller::system())
        .await
        .map_err(|e| format!("cannot load the stored SearchParameters: {e}"))?;
    if custom > 0 {
        tracing::info!(custom, "custom search parameters in force");
    }
    let reindexed = engine
        .reindex_if_required(&salus_engine::Caller::system())
        .await
        .map_err(|e| format!("cannot rebuild the search index after the upgrade: {e}"))?;
    if let Some(n) = reindexed {
        tracing::info!(resources = n, "search index rebuilt after an upgrade");
    }
    Ok(engine)
}

/// The threads that validate and index large commits (rayon's global pool, see
/// `salus_engine::commit`) run at a lower priority than the rest: the single writer is the
/// stage everything waits for, and when it shared the cores evenly with preparation it fell
/// behind and finished an import alone. Interactive requests also go before bulk preparation.
fn preparation_pool() {
    let pool = rayon::ThreadPoolBuilder::new().thread_name(|i| format!("salus-prepare-{i}")).start_handler(|_| {
        lower_this_threads_priority();
    });
    if let Err(e) = pool.build_global() {
        tracing::debug!(error = %e, "the preparation pool was already started");
    }
}

/// Linux keeps a nice value per thread, and raising it needs no privilege. If refused, the
/// thread keeps the normal priority, which is only slower. (Elsewhere `setpriority` would lower
/// the whole process, the writer with it: the threads keep the normal priority there.)
#[cfg(target_os = "linux")]
fn lower_this_threads_priority() {
    // How much lower: at nice 10, CFS gives a thread at nice 0 about nine times its share of a
    // contended core.
    const PREPARATION_NICE: libc::c_int = 10;
    // SAFETY: setpriority has no memory effects; `0` names the calling thread.
    unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, PREPARATION_NICE) };
}

#[cfg(not(target_os = "linux"))]
fn lower_this_threads_priority() {}

fn cores() -> usize {
    std::thread::available_parallelism().map(usize::from).unwrap_or(2)
}

fn import(config_file: Option<&std::path::Path>, args: ImportArgs) -> Result<(), String> {
    let file = config::load_file(config_file).map_err(|e| e.to_string())?;
    let data = args.data.or(file.data).unwrap_or_else(|| PathBuf::from(config::DEFAULT_DATA));
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async move {
        let engine = open_engine(&data).await?;
        // One batch prepared at a time already keeps every core busy (its files and entries are
        // spread over the preparing threads); on 2 cores, two at a time were no faster
        // (15,359 vs 15,937 resources/s median side by side, docs/PERFORMANCE.md).
        let jobs = args.jobs.unwrap_or_else(|| cores().saturating_sub(1).max(1));
        let summary = import::run(&engine, &args.paths, jobs, !args.quiet).await?;
        let c = summary.counts;
        println!(
            "imported {} files: {} resources ({} created, {} updated, {} unchanged) in {:.1} s, {:.0} resources/s",
            summary.files,
            c.total(),
            c.created,
            c.updated,
            c.unchanged,
            summary.seconds,
            c.total() as f64 / summary.seconds.max(0.001)
        );
        for (path, error) in &summary.failures {
            eprintln!("failed: {}: {error}", path.display());
        }
        if summary.failures.is_empty() {
            Ok(())
        } else {
            Err(format!("{} of {} files failed; nothing of a failed file was stored", summary.failures.len(), summary.files))
        }
    })
}

fn export(config_file: Option<&std::path::Path>, args: ExportArgs) -> Result<(), String> {
    let file = config::load_file(config_file).map_err(|e| e.to_string())?;
    let data = args.data.or(file.data).unwrap_or_else(|| PathBuf::from(config::DEFAULT_DATA));
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("cannot start the runtime: {e}"))?;
    let options = export::ExportOptions {
        types: args.types,
        since: args.since,
        type_filters: args.type_filter,
        patients: args.patients,
        group: args.group,
    };
    runtime.block_on(async move {
        let engine = open_engine(&data).await?;
        export::run(&engine, &args.dir, options).await
    })
}

/// Ctrl-C or SIGTERM: stop accepting, finish in-flight requests, then exit.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
