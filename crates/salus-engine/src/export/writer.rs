//! The export writer: the searches an export needs (at the system level, scans of each type's
//! bodies where a search would add nothing), each read a page per read transaction and
//! appended to the NDJSON files before the next page is read. A job's writer records
//! checkpoints as it goes (its position and each file's line count and length, in the job's
//! row), so that a job stopped by a restart resumes after its last checkpoint (`jobs.rs`).
//!
//! The order is fixed and needs no memory of the past: system level, types by name, each
//! type's `_typeFilter` queries in the request's order; Patient and Group level, patients by
//! id, and in each compartment first one search across the types without `_typeFilter`, then
//! the filtered types by name. A position is therefore a key in that order plus a cursor.

use super::files::{FileState, Files};
use super::shared::Exported;
use super::{ExportLevel, ExportOutput, ExportProgress, ExportRequest, io_error};
use crate::{Caller, Engine, EngineError, MAX_PAGE, SearchRequest};
use salus_search::query::{Condition, DatePredicate, Prefix};
use salus_store::{BodyScan, StoreError};
use serde_json::{Value, json};
use std::cmp::Ordering as Order;
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Checkpoints come after every `page` resources read, and at least this often when pages
/// are small (a Patient-level export reads one small compartment after another: a database
/// write per patient would cost more than the export).
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// Where an export stands: the search being read and the cursor of its next page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Position {
    /// Patient level: the cursor of the page of Patients holding `patient` (`None`: the first).
    pub walk: Option<String>,
    /// Patient and Group level: the patient whose compartment is being written.
    pub patient: Option<String>,
    /// The type being written; at the Patient and Group level `None` is the compartment
    /// search across the types without `_typeFilter`.
    pub resource_type: Option<String>,
    /// Which of the type's `_typeFilter` queries.
    pub filter: usize,
    /// The cursor of the search's next page; `None` is its first page unless `done`.
    pub cursor: Option<String>,
    pub done: bool,
}

/// A position and the files as they were there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Checkpoint {
    pub position: Position,
    pub files: Vec<FileState>,
}

impl Checkpoint {
    pub(crate) fn to_json(&self) -> Value {
        let p = &self.position;
        json!({
            "walk": p.walk, "patient": p.patient, "type": p.resource_type, "filter": p.filter,
            "cursor": p.cursor, "done": p.done,
            "files": self.files.iter().map(FileState::to_json).collect::<Vec<_>>(),
        })
    }

    pub(crate) fn from_json(v: &Value) -> Option<Checkpoint> {
        let text = |k: &str| match &v[k] {
            Value::Null => Some(None),
            Value::String(s) => Some(Some(s.clone())),
            _ => None,
        };
        let position = Position {
            walk: text("walk")?,
            patient: text("patient")?,
            resource_type: text("type")?,
            filter: usize::try_from(v["filter"].as_u64()?).ok()?,
            cursor: text("cursor")?,
            done: v["done"].as_bool()?,
        };
        let files = v["files"].as_array()?.iter().map(FileState::from_json).collect::<Option<Vec<_>>>()?;
        Some(Checkpoint { position, files })
    }
}

/// How to run one export.
pub(crate) struct Plan {
    /// Continue after this position (the files already cut back to its checkpoint).
    pub resume: Option<Position>,
    /// The job whose row records the checkpoints, and its transaction time; `None` for
    /// `salus export`, which starts over if stopped.
    pub job: Option<(String, i64)>,
    /// Resources per page.
    pub page: usize,
    /// When the export began.
    pub started_ms: i64,
}

/// One search of an export, paged.
pub(crate) struct Unit {
    /// `None`: the types named by a `_type` parameter (a compartment across types).
    pub resource_type: Option<String>,
    pub compartment: Option<String>,
    pub params: Vec<(String, String)>,
    /// The `_typeFilter` queries of the type that come before this one: a resource one of them
    /// matches was written by that one's search.
    pub earlier: Vec<Vec<(String, String)>>,
}

/// A position's cursor into a type read by [`Writer::scan_type`], before the last id written.
/// Search cursors are base64url, which has no `:`, so the two are never confused.
const SCAN_CURSOR: &str = "id:";

/// A unit's place in the export's order.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
struct Key<'k> {
    patient: Option<&'k str>,
    resource_type: Option<&'k str>,
    filter: usize,
}

enum Start {
    Skip,
    From(Option<String>),
}

struct Writer<'a> {
    engine: &'a Engine,
    caller: &'a Caller,
    request: &'a ExportRequest,
    /// Lent to a blocking thread while a page is written.
    files: Option<Files>,
    progress: Arc<ExportProgress>,
    plan: Plan,
    exported: Exported<'a>,
    /// The cursor of the page of Patients being walked.
    walk: Option<String>,
    unsaved: u64,
    last_saved: Instant,
}

impl Engine {
    /// Writes the export `request` asks for into `files`, as `plan` says. `Ok(None)` when
    /// cancelled (or the job's row is gone).
    pub(crate) async fn write_export(
        &self,
        caller: &Caller,
        request: &ExportRequest,
        files: Files,
        plan: Plan,
        progress: Arc<ExportProgress>,
    ) -> Result<Option<Vec<ExportOutput>>, EngineError> {
        let types = self.export_types(caller, request).await?;
        progress.written.store(files.count(), Ordering::Relaxed);
        let listed = self.listed_patients(caller, request).await?;
        let exported = Exported::new(listed.as_deref(), plan.started_ms);
        let estimate = progress.clone();
        let mut w = Writer {
            engine: self,
            caller,
            request,
            files: Some(files),
            progress,
            plan,
            exported,
            walk: None,
            unsaved: 0,
            last_saved: Instant::now(),
        };
        // The estimate reads every row of the types: counted on another blocking thread while
        // the walk proceeds (progress says "N resources written" until it is known).
        let counting = async {
            let expected = self.expected(caller, request, &types).await?;
            estimate.expected.store(expected, Ordering::Relaxed);
            Ok::<_, EngineError>(())
        };
        let (counted, ran) = tokio::join!(counting, w.run(&types, listed.as_deref()));
        counted?;
        if !ran? {
            return Ok(None);
        }
        let files = w.take_files()?;
        let dir = files.dir.clone();
        match tokio::task::spawn_blocking(move || files.finish()).await {
            Ok(Ok(outputs)) => Ok(Some(outputs)),
            Ok(Err(e)) => Err(io_error(&dir, e)),
            Err(e) => Err(io_error(&dir, e)),
        }
    }

    /// The patients of a Group-level export, or of a `patient` parameter, sorted; `None` for
    /// every patient.
    async fn listed_patients(&self, caller: &Caller, request: &ExportRequest) -> Result<Option<Vec<String>>, EngineError> {
        let mut ids = match &request.level {
            ExportLevel::System => return Ok(None),
            ExportLevel::Patient if request.patients.is_empty() => return Ok(None),
            ExportLevel::Patient => request.patients.clone(),
            ExportLevel::Group(id) => {
                let group = self.read(caller, "Group", id).await?;
                let mut members = super::group_members(group.body.as_deref().unwrap_or_default());
                if !request.patients.is_empty() {
                    members.retain(|m| request.patients.contains(m));
                }
                members
            }
        };
        ids.sort();
        ids.dedup();
        Ok(Some(ids))
    }

    /// Of `ids` (of type `t`), those an earlier `_typeFilter` query of the type matches.
    async fn matched_earlier(
        &self,
        caller: &Caller,
        t: &str,
        earlier: &[Vec<(String, String)>],
        ids: &[&str],
    ) -> Result<HashSet<String>, EngineError> {
        let mut out = HashSet::new();
        for query in earlier {
            let mut params = query.clone();
            params.push(("_id".into(), ids.join(",")));
            let request = SearchRequest { resource_type: Some(t.to_string()), params, ..Default::default() };
            out.extend(self.matching_keys(caller, request).await?.into_iter().map(|(_, id)| id));
        }
        Ok(out)
    }

    /// A page of Patient ids in id order, and the cursor of the next.
    async fn patient_page(&self, caller: &Caller, cursor: Option<String>, page: usize) -> Result<(Vec<String>, Option<String>), EngineError> {
        let params = match cursor {
            Some(c) => vec![("_cursor".to_string(), c)],
            None => vec![
                ("_count".to_string(), page.to_string()),
                ("_total".to_string(), "none".to_string()),
                ("_elements".to_string(), "id".to_string()),
            ],
        };
        let found = self.search(caller, SearchRequest { resource_type: Some("Patient".into()), params, ..Default::default() }).await?;
        Ok((found.matches.into_iter().map(|v| v.id).collect(), found.next))
    }
}

impl Writer<'_> {
    /// `false` when stopped.
    async fn run(&mut self, types: &[String], listed: Option<&[String]>) -> Result<bool, EngineError> {
        if self.request.level == ExportLevel::System {
            for t in types {
                let filtered = self.request.type_filters.iter().any(|(ft, _)| ft == t);
                for (i, unit) in super::units(self.request, t, None).into_iter().enumerate() {
                    let key = Key { patient: None, resource_type: Some(t), filter: i };
                    let going = if filtered { self.unit(key, unit).await? } else { self.scan_type(key, unit).await? };
                    if !going {
                        return Ok(false);
                    }
                }
                // Types come one after the other here: this file is complete.
                let t = t.clone();
                self.with_files(move |f| f.sync_early(&t)).await?;
            }
            return Ok(true);
        }
        // Types without `_typeFilter` are read together, one compartment search per patient
        // across them (a query per page, not per type); filtered types alone.
        let (filtered, plain): (Vec<String>, Vec<String>) =
            types.iter().cloned().partition(|t| self.request.type_filters.iter().any(|(ft, _)| ft == t));
        if let Some(ids) = listed {
            for chunk in ids.chunks(MAX_PAGE) {
                if !self.patients(chunk, &plain, &filtered).await? {
                    return Ok(false);
                }
            }
            return Ok(true);
        }
        let mut cursor = self.plan.resume.as_ref().and_then(|r| r.walk.clone());
        loop {
            let (ids, next) = self.engine.patient_page(self.caller, cursor.clone(), self.plan.page).await?;
            self.walk = cursor;
            if !self.patients(&ids, &plain, &filtered).await? {
                return Ok(false);
            }
            match next {
                Some(token) => cursor = Some(token),
                None => return Ok(true),
            }
        }
    }

    /// A page of patients, each compartment in turn. `false` when stopped.
    async fn patients(&mut self, ids: &[String], plain: &[String], filtered: &[String]) -> Result<bool, EngineError> {
        // Each compartment is searched over the types it holds, listed for the whole page in
        // one transaction: a search over every type would compile an arm for each, nearly all
        // empty for any one patient.
        let held = self.engine.patient_compartment_types(ids, plain).await?;
        for (patient, held) in ids.iter().zip(&held) {
            if !self.patient(patient, !plain.is_empty(), held, filtered).await? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// One compartment: the search across the types without `_typeFilter` (`any_plain`: there
    /// are some; `held`: those this patient holds), then the filtered types.
    async fn patient(&mut self, patient: &str, any_plain: bool, held: &[String], filtered: &[String]) -> Result<bool, EngineError> {
        let key = Key { patient: Some(patient), resource_type: None, filter: 0 };
        let start = if any_plain { self.start(key) } else { Start::Skip };
        // A cursor carries its own `_type`; a first page needs at least one type.
        let runs = match &start {
            Start::Skip => false,
            Start::From(Some(_)) => true,
            Start::From(None) => !held.is_empty(),
        };
        if runs {
            let mut params = super::since(self.request);
            params.push(("_type".into(), held.join(",")));
            let unit = Unit { resource_type: None, compartment: Some(patient.to_string()), params, earlier: Vec::new() };
            if !self.run_unit(key, unit, start).await? {
                return Ok(false);
            }
        }
        for t in filtered {
            for (i, unit) in super::units(self.request, t, Some(patient)).into_iter().enumerate() {
                if !self.unit(Key { patient: Some(patient), resource_type: Some(t), filter: i }, unit).await? {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// Where to begin `key`'s search: units before the resume position are done, the one at
    /// it continues from its cursor, and every later one starts from its first page.
    fn start(&mut self, key: Key<'_>) -> Start {
        let Some(at) = &self.plan.resume else { return Start::From(None) };
        let at_key = Key { patient: at.patient.as_deref(), resource_type: at.resource_type.as_deref(), filter: at.filter };
        let start = match key.cmp(&at_key) {
            Order::Less => return Start::Skip,
            Order::Equal if at.done => Start::Skip,
            Order::Equal => Start::From(at.cursor.clone()),
            Order::Greater => Start::From(None),
        };
        self.plan.resume = None;
        start
    }

    /// Pages through one search, writing each page. `false` when stopped.
    async fn unit(&mut self, key: Key<'_>, unit: Unit) -> Result<bool, EngineError> {
        let start = self.start(key);
        self.run_unit(key, unit, start).await
    }

    async fn run_unit(&mut self, key: Key<'_>, unit: Unit, start: Start) -> Result<bool, EngineError> {
        let mut params = match start {
            Start::Skip => return Ok(true),
            Start::From(Some(cursor)) => vec![("_cursor".to_string(), cursor)],
            Start::From(None) => {
                let mut p = unit.params.clone();
                p.push(("_count".into(), self.plan.page.to_string()));
                p.push(("_total".into(), "none".into()));
                p
            }
        };
        loop {
            if self.progress.cancelled.load(Ordering::Relaxed) {
                return Ok(false);
            }
            let compartment = unit.compartment.as_ref().map(|p| ("Patient".to_string(), p.clone()));
            let request = SearchRequest { resource_type: unit.resource_type.clone(), compartment, params, lenient: false };
            let page = self.engine.search(self.caller, request).await?;
            let read = page.matches.len() as u64;
            let mut bodies: Vec<(String, String, Vec<u8>)> =
                page.matches.into_iter().filter_map(|v| v.body.map(|b| (v.resource_type, v.id, b))).collect();
            if let (Some(t), false, false) = (&unit.resource_type, unit.earlier.is_empty(), bodies.is_empty()) {
                let ids: Vec<&str> = bodies.iter().map(|(_, id, _)| id.as_str()).collect();
                let written = self.engine.matched_earlier(self.caller, t, &unit.earlier, &ids).await?;
                bodies.retain(|(_, id, _)| !written.contains(id));
            }
            if let Some(patient) = key.patient
                && !bodies.is_empty()
            {
                let owned = self.engine.owned_by_smaller_patients(self.caller, patient, &self.exported, &bodies).await?;
                if !owned.is_empty() {
                    bodies.retain(|(t, id, _)| !owned.contains(&(t.clone(), id.clone())));
                }
            }
            let n = bodies.len() as u64;
            self.with_files(move |f| {
                for (t, _, b) in &bodies {
                    f.write(t, b)?;
                }
                Ok(())
            })
            .await?;
            self.progress.written.fetch_add(n, Ordering::Relaxed);
            if !self.checkpoint(key, page.next.as_deref(), read).await? {
                return Ok(false);
            }
            tokio::task::yield_now().await;
            match page.next {
                Some(token) => params = vec![("_cursor".into(), token)],
                None => return Ok(true),
            }
        }
    }

    /// Writes every resource of `unit`'s type (system level, no `_typeFilter`): what the
    /// unit's search writes, in the same order (by id) and as the same lines, read by
    /// [`salus_store::ReadTx::scan_bodies`] and written inside the read transaction, so a page
    /// costs one index range, no search to compile, and no copy of its bodies. `false` when
    /// stopped.
    async fn scan_type(&mut self, key: Key<'_>, unit: Unit) -> Result<bool, EngineError> {
        let (Some(t), Some(since_ms)) = (unit.resource_type.clone(), self.scan_since(&unit)) else {
            return self.unit(key, unit).await;
        };
        let mut after = match self.start(key) {
            Start::Skip => return Ok(true),
            Start::From(None) => None,
            Start::From(Some(cursor)) => match cursor.strip_prefix(SCAN_CURSOR) {
                Some(id) => Some(id.to_string()),
                // A checkpoint written by a search (before scans, or by a fallback): the search
                // continues from it.
                None => return self.run_unit(key, unit, Start::From(Some(cursor))).await,
            },
        };
        let page = self.plan.page.clamp(1, MAX_PAGE);
        loop {
            if self.progress.cancelled.load(Ordering::Relaxed) {
                return Ok(false);
            }
            let mut files = self.take_files()?;
            let dir = files.dir.clone();
            let (t2, from) = (t.clone(), after.take());
            let (files, read, last, more) = self
                .engine
                .store
                .read(move |tx| {
                    let (mut read, mut last, mut failed) = (0u64, String::new(), None);
                    let scan = BodyScan { resource_type: &t2, after_id: from.as_deref(), since_ms, limit: page };
                    let more = tx.scan_bodies(&scan, &mut |id, body| {
                        files.write(&t2, body).map_err(|e| {
                            failed = Some(e);
                            StoreError::Aborted
                        })?;
                        read += 1;
                        last.clear();
                        last.push_str(id);
                        Ok(())
                    });
                    match (more, failed) {
                        (_, Some(e)) => Err(io_error(&dir, e)),
                        (Err(e), None) => Err(EngineError::from(e)),
                        (Ok(more), None) => Ok((files, read, last, more)),
                    }
                })
                .await?;
            self.files = Some(files);
            self.progress.written.fetch_add(read, Ordering::Relaxed);
            let next = (more && read > 0).then(|| format!("{SCAN_CURSOR}{last}"));
            if !self.checkpoint(key, next.as_deref(), read).await? {
                return Ok(false);
            }
            tokio::task::yield_now().await;
            match next {
                Some(_) => after = Some(last),
                None => return Ok(true),
            }
        }
    }

    /// The `_since` bound of a unit's search as the scan applies it (`last_updated >= bound`),
    /// `Some(None)` without `_since`; `None` when the unit is more than its type and `_since`,
    /// and only its search can run it.
    fn scan_since(&self, unit: &Unit) -> Option<Option<i64>> {
        let t = unit.resource_type.as_deref()?;
        if unit.compartment.is_some() || !unit.earlier.is_empty() || unit.params != super::since(self.request) {
            return None;
        }
        if unit.params.is_empty() {
            return Some(None);
        }
        let query = self.engine.parse_query(Some(t), None, &unit.params, false).ok()?;
        match query.conditions.as_slice() {
            [only] => match only.for_type(t)? {
                // The search's `ge` is `last_updated > high OR low <= last_updated <= high`.
                Condition::LastUpdated(preds) => match preds.as_slice() {
                    [DatePredicate { prefix: Prefix::Ge, range, .. }] => Some(Some(range.low.min(range.high.saturating_add(1)))),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        }
    }

    /// Records where the export stands, when due (see [`CHECKPOINT_EVERY`]). `false` when
    /// the job's row is gone (cancelled).
    async fn checkpoint(&mut self, key: Key<'_>, next: Option<&str>, read: u64) -> Result<bool, EngineError> {
        let Some((job, transaction_time)) = self.plan.job.clone() else { return Ok(true) };
        self.unsaved += read;
        if self.unsaved < self.plan.page as u64 && self.last_saved.elapsed() < CHECKPOINT_EVERY {
            return Ok(true);
        }
        let files = self.with_files(|f| f.flush()).await?;
        let position = Position {
            walk: self.walk.clone(),
            patient: key.patient.map(str::to_string),
            resource_type: key.resource_type.map(str::to_string),
            filter: key.filter,
            cursor: next.map(str::to_string),
            done: next.is_none(),
        };
        self.unsaved = 0;
        self.last_saved = Instant::now();
        self.engine.record_checkpoint(&job, transaction_time, &Checkpoint { position, files }).await
    }

    fn take_files(&mut self) -> Result<Files, EngineError> {
        self.files.take().ok_or_else(|| {
            EngineError::Store(salus_store::StoreError::Database("the export's files were lost after an earlier write failed".into()))
        })
    }

    /// Runs `f` over the files on a blocking thread (file writes stay off the async executor).
    async fn with_files<T: Send + 'static>(
        &mut self,
        f: impl FnOnce(&mut Files) -> std::io::Result<T> + Send + 'static,
    ) -> Result<T, EngineError> {
        let mut files = self.take_files()?;
        let dir = files.dir.clone();
        let joined = tokio::task::spawn_blocking(move || f(&mut files).map(|t| (files, t))).await;
        match joined {
            Ok(Ok((files, t))) => {
                self.files = Some(files);
                Ok(t)
            }
            Ok(Err(e)) => Err(io_error(&dir, e)),
            Err(e) => Err(io_error(&dir, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoints_round_trip_through_their_stored_form() {
        let checkpoint = Checkpoint {
            position: Position {
                walk: Some("w".into()),
                patient: Some("p1".into()),
                resource_type: None,
                filter: 0,
                cursor: Some("c".into()),
                done: false,
            },
            files: vec![FileState { resource_type: "Patient".into(), file: "Patient.ndjson".into(), count: 3, bytes: 120 }],
        };
        assert_eq!(Checkpoint::from_json(&checkpoint.to_json()), Some(checkpoint));
        assert_eq!(Checkpoint::from_json(&json!({"files": []})), None);
    }

    #[test]
    fn units_are_ordered_by_patient_then_the_unfiltered_search_then_type_and_filter() {
        let key = |p: Option<&'static str>, t: Option<&'static str>, f| Key { patient: p, resource_type: t, filter: f };
        let order = [
            key(Some("a"), None, 0),
            key(Some("a"), Some("Condition"), 0),
            key(Some("a"), Some("Observation"), 0),
            key(Some("a"), Some("Observation"), 1),
            key(Some("b"), None, 0),
        ];
        assert!(order.windows(2).all(|w| w[0] < w[1]));
    }
}
