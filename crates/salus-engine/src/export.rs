//! Bulk Data Access 2.0 `$export`: the request (from a `GET` query or a `POST` Parameters
//! body) and its checks. The writer (`writer.rs`) pages through the store into one NDJSON file
//! per resource type (`files.rs`); it is shared by the background jobs the server runs
//! (`jobs.rs`: stored in the database, resumed after a restart from their last checkpoint) and
//! by `salus export DIR`.
//!
//! Reads go one page at a time (each page its own read transaction, `_count` resources), so
//! memory holds one page whatever the export's size, and `_since` and `_typeFilter` are
//! conditions of the query, never filters applied after paging. The system level reads a type
//! without `_typeFilter` by a scan of its stored bodies in id order (`ReadTx::scan_bodies`),
//! written out inside the read transaction: the lines its search would write, without a search
//! to compile per page or a copy of each body. Everything else goes through [`Engine::search`].
//! Patient- and Group-level exports walk the patients and read each compartment by a
//! compartment search (the Patient CompartmentDefinition) over the types that patient holds;
//! a resource in several exported compartments is written once (`shared.rs`).

mod files;
mod jobs;
mod parameters;
#[cfg(test)]
mod resume_tests;
mod shared;
mod writer;

pub use jobs::{ExportJobs, ExportStatus};
pub use parameters::{KickOffParameters, kick_off_parameters};

use crate::search::query_pairs;
use crate::{Caller, Engine, EngineError};
use files::Files;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use writer::{Plan, Unit};

/// Resources per read transaction.
pub const EXPORT_PAGE: usize = 1000;

/// The `_outputFormat` values Bulk Data 2.0 names for NDJSON.
const OUTPUT_FORMATS: &[&str] = &["application/fhir+ndjson", "application/ndjson", "ndjson"];

/// Parameters a kick-off takes.
const PARAMS: &[&str] = &["_type", "_since", "_typeFilter", "_outputFormat"];

/// Which resources an export covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportLevel {
    /// `/fhir/$export`: every resource.
    System,
    /// `/fhir/Patient/$export`: every patient's compartment.
    Patient,
    /// `/fhir/Group/[id]/$export`: the compartments of the Group's member patients.
    Group(String),
}

/// A checked export request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRequest {
    pub level: ExportLevel,
    /// `_type`: empty means every type the level covers.
    pub types: Vec<String>,
    /// `_since` as given (an instant).
    pub since: Option<String>,
    /// `_typeFilter`: (type, search parameters) queries; a type with filters exports the
    /// resources matching any of them.
    pub type_filters: Vec<(String, Vec<(String, String)>)>,
    /// The kick-off URL, for the manifest's `request`.
    pub request_url: String,
    /// `patient` (Patient and Group level, `POST` only): the ids of the only patients whose
    /// compartments are exported, sorted; empty means every patient of the level.
    pub patients: Vec<String>,
}

/// One NDJSON file written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportOutput {
    pub resource_type: String,
    /// The file name inside the export's directory.
    pub file: String,
    pub count: u64,
}

/// Progress shared between a running export and whoever polls it.
#[derive(Debug, Default)]
pub struct ExportProgress {
    /// Resources written so far.
    pub written: AtomicU64,
    /// Resources expected (an estimate from counts taken at the start; 0 until known).
    pub expected: AtomicU64,
    /// Set to stop the export at the next page.
    pub cancelled: AtomicBool,
}

impl ExportProgress {
    /// `"45% (4500 of 10000 resources)"`, for `X-Progress`.
    pub fn describe(&self) -> String {
        let (done, of) = (self.written.load(Ordering::Relaxed), self.expected.load(Ordering::Relaxed));
        match (done.min(of) * 100).checked_div(of) {
            Some(percent) => format!("{percent}% ({done} of {of} resources)"),
            None => format!("{done} resources written"),
        }
    }
}

impl ExportRequest {
    /// Reads and checks kick-off parameters (as sent, in order) for `level`. Every error names
    /// the parameter and what it accepts.
    pub fn parse(
        engine: &Engine,
        level: ExportLevel,
        params: &[(String, String)],
        request_url: String,
    ) -> Result<ExportRequest, EngineError> {
        let defs = salus_fhir::r4();
        let mut request =
            ExportRequest { level, types: Vec::new(), since: None, type_filters: Vec::new(), request_url, patients: Vec::new() };
        for (k, v) in params {
            match k.as_str() {
                "_type" => {
                    for t in v.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                        if !defs.is_resource_type(t) {
                            return Err(EngineError::bad_request(format!("_type: `{t}` is not a FHIR R4 resource type"), Some("_type")));
                        }
                        if !request.types.iter().any(|x| x == t) {
                            request.types.push(t.to_string());
                        }
                    }
                }
                "_since" => {
                    crate::clock::parse_fhir_instant(v).ok_or_else(|| {
                        EngineError::bad_request(format!("_since={v}: expected an instant such as 2024-01-01T00:00:00Z"), Some("_since"))
                    })?;
                    request.since = Some(v.clone());
                }
                "_outputFormat" => {
                    if !OUTPUT_FORMATS.contains(&v.trim()) {
                        return Err(EngineError::bad_request(
                            format!("_outputFormat={v} is not offered; use {}", OUTPUT_FORMATS.join(", ")),
                            Some("_outputFormat"),
                        ));
                    }
                }
                "_typeFilter" => {
                    for query in split_type_filters(v) {
                        request.type_filters.push(type_filter(engine, &query)?);
                    }
                }
                "_format" | "_pretty" => {}
                "patient" => {
                    return Err(EngineError::bad_request(
                        "`patient` is taken in the Parameters body of a POST to Patient/$export or Group/[id]/$export",
                        Some("patient"),
                    ));
                }
                other => {
                    return Err(EngineError::bad_request(
                        format!("$export does not take `{other}`; it takes {}", PARAMS.join(", ")),
                        Some(other),
                    ));
                }
            }
        }
        Ok(request)
    }

    /// Reads and checks the `Parameters` body of a `POST` kick-off for `level`: the same
    /// parameters as a query, read by [`kick_off_parameters`], plus `patient`.
    pub fn from_parameters(
        engine: &Engine,
        level: ExportLevel,
        body: &Value,
        request_url: String,
    ) -> Result<ExportRequest, EngineError> {
        let read = kick_off_parameters(body)?;
        // The body is a resource like any other: an element R4's Parameters does not have (a
        // misspelt `parameter`) must be refused, not read as "no parameters".
        engine.require_valid(body)?;
        if level == ExportLevel::System && !read.patients.is_empty() {
            return Err(EngineError::bad_request(
                "`patient` does not apply to a system-level export: use Patient/$export or Group/[id]/$export",
                Some("patient"),
            ));
        }
        let mut request = ExportRequest::parse(engine, level, &read.params, request_url)?;
        request.patients = read.patients;
        request.patients.sort();
        request.patients.dedup();
        Ok(request)
    }
}

impl ExportRequest {
    /// The request as the job table stores it.
    pub(crate) fn to_json(&self) -> Value {
        let (level, group) = match &self.level {
            ExportLevel::System => ("system", None),
            ExportLevel::Patient => ("patient", None),
            ExportLevel::Group(id) => ("group", Some(id)),
        };
        json!({
            "level": level, "group": group, "types": self.types, "since": self.since,
            "typeFilters": self.type_filters, "request": self.request_url, "patients": self.patients,
        })
    }

    pub(crate) fn from_json(v: &Value) -> Option<ExportRequest> {
        let strings = |x: &Value| x.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect::<Vec<_>>());
        let level = match v["level"].as_str()? {
            "system" => ExportLevel::System,
            "patient" => ExportLevel::Patient,
            "group" => ExportLevel::Group(v["group"].as_str()?.to_string()),
            _ => return None,
        };
        let pair = |x: &Value| Some((x.get(0)?.as_str()?.to_string(), x.get(1)?.as_str()?.to_string()));
        let type_filters = v["typeFilters"]
            .as_array()?
            .iter()
            .map(|f| Some((f.get(0)?.as_str()?.to_string(), f.get(1)?.as_array()?.iter().map(pair).collect::<Option<Vec<_>>>()?)))
            .collect::<Option<Vec<_>>>()?;
        Some(ExportRequest {
            level,
            types: strings(&v["types"])?,
            since: v["since"].as_str().map(str::to_string),
            type_filters,
            request_url: v["request"].as_str()?.to_string(),
            // Jobs stored before `patient` existed have none.
            patients: if v["patients"].is_null() { Vec::new() } else { strings(&v["patients"])? },
        })
    }
}

impl ExportOutput {
    pub(crate) fn to_json(&self) -> Value {
        json!({"type": self.resource_type, "file": self.file, "count": self.count})
    }

    pub(crate) fn from_json(v: &Value) -> Option<ExportOutput> {
        Some(ExportOutput {
            resource_type: v["type"].as_str()?.to_string(),
            file: v["file"].as_str()?.to_string(),
            count: v["count"].as_u64()?,
        })
    }
}

/// `_typeFilter` values are comma-separated queries, and a query may hold commas of its own
/// (`code=a,b`): a comma starts a new query only where `Type?` follows.
fn split_type_filters(value: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for piece in value.split(',') {
        let starts_query = piece
            .split_once('?')
            .is_some_and(|(t, _)| salus_fhir::r4().is_resource_type(t.trim()));
        match out.last_mut() {
            Some(last) if !starts_query => {
                last.push(',');
                last.push_str(piece);
            }
            _ => out.push(piece.to_string()),
        }
    }
    out.into_iter().map(|q| q.trim().to_string()).filter(|q| !q.is_empty()).collect()
}

/// `Type?param=value&...`, checked by parsing it as that type's search.
fn type_filter(engine: &Engine, query: &str) -> Result<(String, Vec<(String, String)>), EngineError> {
    let bad = |why: String| EngineError::bad_request(format!("_typeFilter={query}: {why}"), Some("_typeFilter"));
    let (t, q) = query.split_once('?').ok_or_else(|| bad("expected Type?parameter=value".into()))?;
    if !salus_fhir::r4().is_resource_type(t) {
        return Err(bad(format!("`{t}` is not a FHIR R4 resource type")));
    }
    let pairs = query_pairs(q);
    if let Some((k, _)) = pairs.iter().find(|(k, _)| {
        matches!(k.split(':').next().unwrap_or(""), "_count" | "_sort" | "_include" | "_revinclude" | "_summary" | "_elements" | "_total" | "_cursor")
    }) {
        return Err(bad(format!("`{k}` shapes a search result and has no meaning in an export filter")));
    }
    engine.parse_query(Some(t), None, &pairs, false).map_err(|e| bad(e.to_string()))?;
    Ok((t.to_string(), pairs))
}

/// A disk failure is the server's, like a database one: a 500 at the edge, logged, and the
/// job's error in its manifest.
pub(crate) fn io_error(dir: &Path, e: impl std::fmt::Display) -> EngineError {
    EngineError::Store(salus_store::StoreError::Database(format!(
        "cannot write the export in {}: {e} (check the data directory's space and permissions)",
        dir.display()
    )))
}

impl Engine {
    /// Writes the export `request` asks for into `dir` (created if needed), one NDJSON file
    /// per type, and returns what was written. Stops with `Ok(None)` when `progress` is
    /// cancelled. Yields between pages, so interactive requests keep their share.
    pub async fn export_to_dir(
        &self,
        caller: &Caller,
        request: &ExportRequest,
        dir: &Path,
        progress: Arc<ExportProgress>,
    ) -> Result<Option<Vec<ExportOutput>>, EngineError> {
        self.authorize_read(caller)?;
        let files = Files::new(dir).map_err(|e| io_error(dir, e))?;
        let plan = Plan { resume: None, job: None, page: EXPORT_PAGE, started_ms: crate::clock::now_ms() };
        self.write_export(caller, request, files, plan, progress).await
    }

    /// The types to export: `_type` if given (within the level's types), else every type the
    /// level covers, keeping those that hold at least one resource. One read transaction
    /// (a search each would cost a transaction per type, ~150 at the system level), and a
    /// probe for one row per type, not a count.
    async fn export_types(&self, caller: &Caller, request: &ExportRequest) -> Result<Vec<String>, EngineError> {
        self.authorize_read(caller)?;
        let level_types: Vec<String> = match request.level {
            ExportLevel::System => salus_fhir::r4().resource_types().map(str::to_string).collect(),
            _ => crate::everything::compartment_types(),
        };
        let mut types: Vec<String> = if request.types.is_empty() {
            level_types
        } else {
            request.types.iter().filter(|t| level_types.contains(t)).cloned().collect()
        };
        types.sort();
        let mut probes = Vec::with_capacity(types.len());
        for t in types {
            let query = self.parse_query(Some(&t), None, &[], false)?;
            probes.push((t, salus_store::SearchRequest { query, after: None, limit: 1 }));
        }
        self.store
            .read(move |tx| {
                let mut present = Vec::new();
                for (t, probe) in probes {
                    if !tx.search(&probe)?.is_empty() {
                        present.push(t);
                    }
                }
                Ok::<_, EngineError>(present)
            })
            .await
    }

    /// An estimate of the resources an export writes, for progress: the counts of its types
    /// since `_since` (all patients' for the patient-level forms), in one read transaction.
    /// Counting reads every row, so the writer runs it alongside the export, not before it.
    async fn expected(&self, caller: &Caller, request: &ExportRequest, types: &[String]) -> Result<u64, EngineError> {
        self.authorize_read(caller)?;
        let mut queries = Vec::with_capacity(types.len());
        for t in types {
            queries.push(self.parse_query(Some(t), None, &since(request), false)?);
        }
        self.store
            .read(move |tx| {
                let mut total = 0;
                for q in &queries {
                    total += tx.search_count(q)?;
                }
                Ok::<_, EngineError>(total)
            })
            .await
    }
}

/// `_since` as the search parameter that means it.
fn since(request: &ExportRequest) -> Vec<(String, String)> {
    request.since.iter().map(|s| ("_lastUpdated".to_string(), format!("ge{s}"))).collect()
}

/// The searches that export type `t` (for `patient`'s compartment, if any): one per
/// `_typeFilter` of the type, or one for the whole type.
fn units(request: &ExportRequest, t: &str, patient: Option<&str>) -> Vec<Unit> {
    let base = since(request);
    let filters: Vec<&Vec<(String, String)>> = request.type_filters.iter().filter(|(ft, _)| ft == t).map(|(_, q)| q).collect();
    let unit = |i: usize, extra: &[(String, String)]| Unit {
        resource_type: Some(t.to_string()),
        compartment: patient.map(str::to_string),
        params: base.iter().chain(extra).cloned().collect(),
        earlier: filters[..i].iter().map(|q| (*q).clone()).collect(),
    };
    if filters.is_empty() { vec![unit(0, &[])] } else { filters.iter().enumerate().map(|(i, q)| unit(i, q)).collect() }
}

/// The Patient ids a Group's `member.entity` references name, in order, once each.
pub fn group_members(body: &[u8]) -> Vec<String> {
    let Ok(group) = serde_json::from_slice::<serde_json::Value>(body) else { return Vec::new() };
    let mut out: Vec<String> = Vec::new();
    for member in group["member"].as_array().into_iter().flatten() {
        if member["inactive"] == true {
            continue;
        }
        let Some(reference) = member["entity"]["reference"].as_str() else { continue };
        let id = reference.rsplit_once("Patient/").map(|(_, id)| id.split('/').next().unwrap_or(id));
        if let Some(id) = id.filter(|id| salus_fhir::resource::is_valid_id(id))
            && !out.iter().any(|x| x == id)
        {
            out.push(id.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_filters_split_on_commas_that_start_a_query() {
        let v = "Observation?code=a,b&status=final,Condition?clinical-status=active";
        assert_eq!(split_type_filters(v), ["Observation?code=a,b&status=final", "Condition?clinical-status=active"]);
    }

    #[test]
    fn group_members_are_the_patients_named_once() {
        let g = serde_json::json!({"resourceType": "Group", "member": [
            {"entity": {"reference": "Patient/a"}}, {"entity": {"reference": "Patient/a"}},
            {"entity": {"reference": "http://x.org/fhir/Patient/b"}}, {"entity": {"reference": "Practitioner/c"}},
            {"entity": {"reference": "Patient/d"}, "inactive": true}
        ]});
        assert_eq!(group_members(g.to_string().as_bytes()), ["a", "b"]);
    }

    #[test]
    fn requests_round_trip_through_their_stored_form() {
        let r = ExportRequest {
            level: ExportLevel::Group("g1".into()),
            types: vec!["Observation".into()],
            since: Some("2024-01-01T00:00:00Z".into()),
            type_filters: vec![("Observation".into(), vec![("code".into(), "a,b".into())])],
            request_url: "http://x/fhir/Group/g1/$export".into(),
            patients: vec!["p1".into()],
        };
        assert_eq!(ExportRequest::from_json(&r.to_json()), Some(r));
    }

    #[test]
    fn progress_reads_as_a_percentage() {
        let p = ExportProgress::default();
        assert_eq!(p.describe(), "0 resources written");
        p.expected.store(200, Ordering::Relaxed);
        p.written.store(50, Ordering::Relaxed);
        assert_eq!(p.describe(), "25% (50 of 200 resources)");
    }
}
