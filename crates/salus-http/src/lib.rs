//! `salus-http` owns the HTTP face of Salus: the axum routers for the FHIR R4 REST API (and,
//! as their issues land, SMART, CDS Hooks and bulk status), content negotiation, compression,
//! body limits, and the translation of every error into an OperationOutcome with the right
//! status. It holds no business rule: each handler turns a request into an engine call.

mod body;
mod bulk;
mod bundle;
mod capability;
mod care_gaps;
mod cds_hooks;
mod negotiate;
pub mod outcome;
mod respond;
mod rest;
mod search;

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{get, post};
use outcome::ApiError;
use salus_engine::Engine;
use std::sync::Arc;
use tower_http::compression::CompressionLayer;
use tower_http::decompression::RequestDecompressionLayer;

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Largest request body accepted, in bytes (413 above).
    pub max_body_bytes: usize,
    /// The public base URL (`https://ehr.example.org/fhir`); when unset, it is derived from
    /// the request's `Host` header.
    pub base_url: Option<String>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig { max_body_bytes: 16 * 1024 * 1024, base_url: None }
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    engine: Engine,
    max_body_bytes: usize,
    base_url: Option<Arc<str>>,
    started_at: Arc<str>,
}

impl AppState {
    /// The FHIR base URL as the client sees it.
    fn base_url(&self, headers: &HeaderMap) -> String {
        if let Some(base) = &self.base_url {
            return base.to_string();
        }
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
        format!("http://{host}/fhir")
    }
}

/// The complete HTTP application.
pub fn app(engine: Engine, config: HttpConfig) -> Router {
    let state = AppState {
        engine,
        max_body_bytes: config.max_body_bytes,
        base_url: config.base_url.map(|b| Arc::from(b.trim_end_matches('/'))),
        started_at: salus_engine::clock::format_instant(salus_engine::clock::now_ms()).into(),
    };
    Router::new()
        .nest("/fhir", fhir_routes())
        .route("/cds-services", get(cds_hooks::discovery))
        .route("/cds-services/{id}", post(cds_hooks::call))
        .route("/cds-services/{id}/feedback", post(cds_hooks::feedback))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(CompressionLayer::new())
        .layer(RequestDecompressionLayer::new())
}

fn fhir_routes() -> Router<AppState> {
    Router::new()
        .route("/", get(search::search_system).post(search::bundle))
        .route("/metadata", get(metadata))
        .route("/_history", get(rest::history_system))
        .route("/$care-gaps-worklist", get(care_gaps::worklist))
        .route("/$export", get(bulk::export_system).post(bulk::export_system_post))
        .route("/bulk-status/{job}", get(bulk::status).delete(bulk::cancel))
        .route("/bulk-files/{job}/{file}", get(bulk::file))
        .route("/{type}/$export", get(bulk::export_type).post(bulk::export_type_post))
        .route("/{type}/$everything", get(bulk::everything_type))
        .route("/{type}", get(search::search_type).post(rest::create))
        .route("/{type}/_search", post(search::search_post))
        .route("/{type}/_history", get(rest::history_type))
        .route("/{type}/$validate", post(rest::validate_type))
        .route("/{type}/{id}", get(rest::read).put(rest::update).patch(rest::patch).delete(rest::delete))
        .route("/{type}/{id}/$validate", post(rest::validate_instance))
        .route("/{type}/{id}/$care-gaps", get(care_gaps::patient))
        .route("/{type}/{id}/$export", get(bulk::export_instance).post(bulk::export_instance_post))
        .route("/{type}/{id}/$everything", get(bulk::everything_instance))
        .route("/{type}/{id}/_history", get(rest::history_instance))
        .route("/{type}/{id}/_history/{version}", get(rest::vread))
        .route("/{compartment}/{id}/{type}", get(search::search_compartment))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
}

async fn metadata(
    axum::extract::State(state): axum::extract::State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(params): rest::Params,
) -> Result<axum::response::Response, ApiError> {
    let format = params.iter().find(|(k, _)| k == "_format").map(|(_, v)| v.as_str());
    negotiate::check_accept(&headers, format)?;
    let statement = capability::statement(&state.engine, &state.base_url(&headers), &state.started_at);
    Ok(respond::json(StatusCode::OK, &statement))
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not-found",
        format!("no FHIR endpoint at {}: the FHIR base is /fhir (see /fhir/metadata)", uri.path()),
        None,
    )
}

async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "not-supported",
        format!("{method} is not supported on {}: see /fhir/metadata for the interactions offered", uri.path()),
        None,
    )
}
