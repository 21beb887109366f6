//! `salus`: the one binary. `salus serve` runs the FHIR server on the embedded database; more
//! commands (import, export, user, audit, backup, ...) arrive with their issues. This crate
//! only parses configuration and wires the crates together; it holds no logic of its own.

mod config;

use clap::{Parser, Subcommand};
use salus_engine::Engine;
use salus_store::{Store, sqlite::SqliteStore};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SALUS_LOG").unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Serve(args) => serve(cli.config.as_deref(), args),
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
    runtime.block_on(async move {
        let store = SqliteStore::open(&data).map_err(|e| e.to_string())?;
        let engine = Engine::new(Store::new(store), Arc::new(salus_engine::MinimalValidator));
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
