//! Search on the one read path: the query string is parsed against the registry in force,
//! run in one read snapshot (page, total, includes), and paged by an opaque cursor that
//! records where the page ended (keyset paging: a resource written between two pages neither
//! shifts nor repeats the rest). Also the index side of writes: the indexer that turns each
//! version into index terms, and custom SearchParameters that change it.

use crate::{Caller, Engine, EngineError};
use base64::Engine as _;
use salus_search::query::{Summary, TotalMode};
use salus_search::{CodeHierarchy, CodeSystems, Indexer, Query, Registry, SearchContext, SearchError};
use salus_store::{SearchPosition, SortValue, StoreError, StoredVersion};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::{Arc, OnceLock, RwLock};

/// Page size when `_count` is absent, and the most a page may hold.
pub const DEFAULT_PAGE: usize = 20;
pub const MAX_PAGE: usize = 1000;
/// `_include:iterate` stops after this many rounds.
const MAX_ITERATE: usize = 5;
/// Included resources per page, at most (a guard against `_revinclude=*` on a hub resource).
const MAX_INCLUDED: usize = 5000;
/// CodeSystems sharing one url that subsumption chooses the latest among, at most.
const MAX_CODE_SYSTEM_VERSIONS: usize = 100;

/// A search as the HTTP layer (or any channel) states it.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    /// `None` for a system-level search (`/fhir?_type=...`).
    pub resource_type: Option<String>,
    /// A compartment search: (`Patient`, `123`) for `/fhir/Patient/123/Observation`.
    pub compartment: Option<(String, String)>,
    /// The raw query pairs, in order (a form body of `_search` the same way).
    pub params: Vec<(String, String)>,
    /// `Prefer: handling=lenient`.
    pub lenient: bool,
}

#[derive(Debug, Clone)]
pub struct SearchResult {
    /// The matches of this page (bundle entries with `search.mode = match`).
    pub matches: Vec<StoredVersion>,
    /// `_include` / `_revinclude` results (`search.mode = include`).
    pub included: Vec<StoredVersion>,
    /// The number of matches over all pages, unless `_total=none`.
    pub total: Option<u64>,
    /// The cursor of the next page: pass it back as `_cursor=<token>` (alone or with the
    /// original parameters; the token carries the whole query).
    pub next: Option<String>,
    /// Ignored parameters (lenient handling), for the bundle's OperationOutcome.
    pub issues: Vec<String>,
    /// `_summary` and `_elements` as asked; the bodies above are already reduced.
    pub summary: Option<Summary>,
    pub elements: Vec<String>,
}

/// The search state an engine shares: the indexer (and with it the registry) in force.
#[derive(Clone)]
pub(crate) struct SearchState {
    indexer: Arc<RwLock<Arc<Indexer>>>,
}

impl SearchState {
    pub(crate) fn new() -> Self {
        static R4: OnceLock<Arc<Indexer>> = OnceLock::new();
        let base = R4.get_or_init(|| Arc::new(Indexer::new(Arc::new(Registry::r4()), &salus_search::fhirpath::FhirPathEngine)));
        SearchState { indexer: Arc::new(RwLock::new(base.clone())) }
    }

    pub(crate) fn indexer(&self) -> Arc<Indexer> {
        match self.indexer.read() {
            Ok(i) => i.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Puts custom SearchParameter resources into force (for new writes; see `reindex`).
    pub(crate) fn add_parameters(&self, resources: &[Value]) -> Result<(), EngineError> {
        let current = self.indexer();
        let mut registry = current.registry().as_ref().clone();
        for r in resources {
            registry.insert_resource(r).map_err(search_error)?;
        }
        let indexer = Arc::new(Indexer::new(Arc::new(registry), &salus_search::fhirpath::FhirPathEngine));
        match self.indexer.write() {
            Ok(mut slot) => *slot = indexer,
            Err(poisoned) => *poisoned.into_inner() = indexer,
        }
        Ok(())
    }
}

pub(crate) fn search_error(e: SearchError) -> EngineError {
    match e {
        SearchError::Unsupported(m) => EngineError::NotSupported(m),
        other => EngineError::bad_request(other.to_string(), None),
    }
}

/// What the cursor token carries: the whole request, and where the page ended.
fn encode_cursor(request: &SearchRequest, count: usize, after: &SearchPosition) -> String {
    let keys: Vec<Value> = after
        .keys
        .iter()
        .map(|k| match k {
            SortValue::Int(i) => json!({"i": i}),
            SortValue::Real(f) => json!({"r": f}),
            SortValue::Text(s) => json!({"s": s}),
        })
        .collect();
    let token = json!({
        "v": 1,
        "t": request.resource_type,
        "c": request.compartment,
        "p": request.params.iter().filter(|(k, _)| k != "_cursor" && k != "_count").collect::<Vec<_>>(),
        "n": count,
        "l": request.lenient,
        "k": keys,
        "at": [after.resource_type, after.id],
    });
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(token.to_string())
}

fn decode_cursor(token: &str) -> Option<(SearchRequest, usize, SearchPosition)> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    if v.get("v")?.as_i64()? != 1 {
        return None;
    }
    let text = |x: &Value| x.as_str().map(str::to_string);
    let params = v
        .get("p")?
        .as_array()?
        .iter()
        .map(|pair| Some((text(pair.get(0)?)?, text(pair.get(1)?)?)))
        .collect::<Option<Vec<_>>>()?;
    let compartment = match v.get("c")? {
        Value::Array(a) if a.len() == 2 => Some((text(&a[0])?, text(&a[1])?)),
        _ => None,
    };
    let keys = v
        .get("k")?
        .as_array()?
        .iter()
        .map(|k| {
            if let Some(i) = k.get("i").and_then(Value::as_i64) {
                Some(SortValue::Int(i))
            } else if let Some(f) = k.get("r").and_then(Value::as_f64) {
                Some(SortValue::Real(f))
            } else {
                k.get("s").and_then(Value::as_str).map(|s| SortValue::Text(s.to_string()))
            }
        })
        .collect::<Option<Vec<_>>>()?;
    let at = v.get("at")?.as_array()?;
    let request = SearchRequest {
        resource_type: v.get("t").and_then(text),
        compartment,
        params,
        lenient: v.get("l").and_then(Value::as_bool).unwrap_or(false),
    };
    let count = usize::try_from(v.get("n")?.as_u64()?).ok()?;
    let position = SearchPosition { keys, resource_type: text(at.first()?)?, id: text(at.get(1)?)? };
    Some((request, count, position))
}

impl Engine {
    /// The index terms of a resource under the parameters in force.
    pub(crate) fn index_terms(&self, resource: &Value) -> salus_search::IndexTerms {
        self.search_state.indexer().index(resource)
    }

    /// Parses a query (conditional interactions use this too) for `resource_type`. No code
    /// systems are loaded here, so token `:below` / `:above` is refused (see `search`).
    pub(crate) fn parse_query(
        &self,
        resource_type: Option<&str>,
        compartment: Option<(&str, &str)>,
        params: &[(String, String)],
        lenient: bool,
    ) -> Result<Query, EngineError> {
        self.parse_query_with(resource_type, compartment, params, lenient, None)
    }

    fn parse_query_with(
        &self,
        resource_type: Option<&str>,
        compartment: Option<(&str, &str)>,
        params: &[(String, String)],
        lenient: bool,
        code_systems: Option<&CodeSystems>,
    ) -> Result<Query, EngineError> {
        let indexer = self.search_state.indexer();
        let ctx = SearchContext {
            registry: indexer.registry(),
            resource_type,
            compartment,
            lenient,
            now_ms: crate::clock::now_ms(),
            code_systems,
        };
        salus_search::parse(&ctx, params).map_err(search_error)
    }

    /// The CodeSystems that token `:below` / `:above` values name, read at query time: for each
    /// system, the latest current CodeSystem with that url (highest `version`, else the most
    /// recently updated), as a hierarchy or the reason it cannot serve. A system the server has
    /// no CodeSystem for stays absent, and the parser refuses it.
    async fn code_systems(&self, params: &[(String, String)]) -> Result<CodeSystems, EngineError> {
        let systems = salus_search::query::subsumption_systems(params);
        if systems.is_empty() {
            return Ok(CodeSystems::default());
        }
        let escape = |s: &str| s.replace('\\', "\\\\").replace(',', "\\,").replace('|', "\\|").replace('$', "\\$");
        let mut lookups = Vec::with_capacity(systems.len());
        for system in systems {
            let query = self.parse_query(Some("CodeSystem"), None, &[("url".to_string(), escape(&system))], false)?;
            lookups.push((system, query));
        }
        // Reading JSON and building hierarchies is CPU work: it stays on the store's blocking thread.
        self.store
            .read(move |tx| {
                let mut out = CodeSystems::default();
                for (system, query) in lookups {
                    let mut hits = tx.search(&salus_store::SearchRequest { query, after: None, limit: MAX_CODE_SYSTEM_VERSIONS })?;
                    // Oldest write first: among equals the latest write is chosen.
                    hits.sort_by_key(|h| h.version.seq);
                    let parsed: Vec<(Value, i64)> = hits
                        .iter()
                        .filter_map(|h| Some((serde_json::from_slice(h.version.body.as_deref()?).ok()?, h.version.last_updated_ms)))
                        .collect();
                    let candidates: Vec<(usize, Option<String>, i64)> = parsed
                        .iter()
                        .enumerate()
                        .map(|(i, (body, updated))| (i, body.get("version").and_then(Value::as_str).map(str::to_string), *updated))
                        .collect();
                    if let Some((body, _)) = salus_search::canonical::latest(&candidates).and_then(|i| parsed.get(i)) {
                        out.insert(system, CodeHierarchy::from_code_system(body));
                    }
                }
                Ok::<_, EngineError>(out)
            })
            .await
    }

    /// Whether `request` would run: the checks of [`Engine::search`] that come before reading
    /// any match (access, cursor, parameters). A transaction Bundle runs them before its writes,
    /// so that a bad search fails it while there is nothing to undo.
    pub(crate) async fn check_search(&self, caller: &Caller, request: SearchRequest) -> Result<(), EngineError> {
        self.authorize_read(caller)?;
        self.parse_search(request).await.map(|_| ())
    }

    /// The request a search runs (the cursor's, when it has one) and its parsed query.
    async fn parse_search(&self, request: SearchRequest) -> Result<Parsed, EngineError> {
        let cursor = request.params.iter().find(|(k, _)| k == "_cursor").map(|(_, v)| v.clone());
        let (request, after, count_from_cursor) = match cursor {
            Some(token) => {
                let (r, n, at) = decode_cursor(&token).ok_or_else(|| search_error(SearchError::BadCursor))?;
                (r, Some(at), Some(n))
            }
            None => (request, None, None),
        };
        let compartment = request.compartment.as_ref().map(|(c, i)| (c.as_str(), i.as_str()));
        let code_systems = self.code_systems(&request.params).await?;
        let query = self.parse_query_with(
            request.resource_type.as_deref(),
            compartment,
            &request.params,
            request.lenient,
            Some(&code_systems),
        )?;
        Ok(Parsed { request, after, count_from_cursor, query })
    }

    /// Searches on behalf of `caller`. An unknown parameter is a `BadRequest` naming it
    /// (unless `lenient`, when it is reported in `issues`); a bad cursor is a `BadRequest`.
    pub async fn search(&self, caller: &Caller, request: SearchRequest) -> Result<SearchResult, EngineError> {
        self.authorize_read(caller)?;
        let Parsed { request, after, count_from_cursor, query } = self.parse_search(request).await?;
        let count = count_from_cursor.or(query.count).unwrap_or(DEFAULT_PAGE).min(MAX_PAGE);
        let summary_count = query.summary == Some(Summary::Count) || count == 0;
        let store_request = salus_store::SearchRequest { query: query.clone(), after, limit: count + 1 };
        let total_mode = if summary_count { TotalMode::Accurate } else { query.total };
        let (hits, total, included) = self
            .store
            .read(move |tx| {
                if summary_count {
                    let total = Some(tx.search_count(&store_request.query)?);
                    return Ok::<_, StoreError>((Vec::new(), total, Vec::new()));
                }
                let hits = tx.search(&store_request)?;
                // A first page that holds every match is its own count: no second query.
                let total = match total_mode {
                    TotalMode::None => None,
                    _ if store_request.after.is_none() && hits.len() <= count => Some(hits.len() as u64),
                    _ => Some(tx.search_count(&store_request.query)?),
                };
                let page: Vec<(String, String)> =
                    hits.iter().take(count).map(|h| (h.version.resource_type.clone(), h.version.id.clone())).collect();
                let included = includes(tx, &store_request.query, &page)?;
                Ok((hits, total, included))
            })
            .await?;
        let next = (hits.len() > count).then(|| hits.get(count - 1)).flatten().map(|h| encode_cursor(&request, count, &h.position));
        let mut matches: Vec<StoredVersion> = hits.into_iter().take(count).map(|h| h.version).collect();
        let mut included = included;
        if query.summary.is_some() || !query.elements.is_empty() {
            for v in matches.iter_mut().chain(included.iter_mut()) {
                crate::summary::reduce(v, query.summary, &query.elements);
            }
        }
        Ok(SearchResult {
            matches,
            included,
            total,
            next,
            issues: query.issues,
            summary: query.summary,
            elements: query.elements,
        })
    }
}

/// A search request ready to run: where its page starts and its size, when a cursor says so.
struct Parsed {
    request: SearchRequest,
    after: Option<SearchPosition>,
    count_from_cursor: Option<usize>,
    query: Query,
}

/// `_include` and `_revinclude` over a page, then `:iterate` rounds over what they added.
fn includes(
    tx: &mut dyn salus_store::ReadTx,
    query: &Query,
    page: &[(String, String)],
) -> Result<Vec<StoredVersion>, StoreError> {
    if query.includes.is_empty() && query.revincludes.is_empty() {
        return Ok(Vec::new());
    }
    let mut seen: HashSet<(String, String)> = page.iter().cloned().collect();
    let mut out = Vec::new();
    let mut frontier: Vec<(String, String)> = page.to_vec();
    for round in 0..=MAX_ITERATE {
        let mut added = Vec::new();
        let rules = query.includes.iter().map(|i| (i, false)).chain(query.revincludes.iter().map(|i| (i, true)));
        for (include, reverse) in rules {
            if round > 0 && !include.iterate {
                continue;
            }
            for v in tx.included(&frontier, include, reverse)? {
                let key = (v.resource_type.clone(), v.id.clone());
                if seen.insert(key.clone()) {
                    added.push(key);
                    out.push(v);
                }
            }
        }
        if added.is_empty() || out.len() >= MAX_INCLUDED {
            break;
        }
        frontier = added;
    }
    out.truncate(MAX_INCLUDED);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn criteria_are_read_with_or_without_the_url() {
        let want = vec![("identifier".to_string(), "urn:a|1 2".to_string())];
        assert_eq!(query_pairs("identifier=urn%3Aa%7C1+2"), want);
        assert_eq!(query_pairs("Patient?identifier=urn:a|1%202"), want);
        assert_eq!(query_pairs("a=%zz&&b"), vec![("a".to_string(), "%zz".to_string()), ("b".to_string(), String::new())]);
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let request = SearchRequest {
            resource_type: Some("Observation".into()),
            compartment: Some(("Patient".into(), "p1".into())),
            params: vec![("code".into(), "a,b".into())],
            lenient: true,
        };
        let at = SearchPosition { keys: vec![SortValue::Int(5), SortValue::Text("x".into())], resource_type: "Observation".into(), id: "o1".into() };
        let token = encode_cursor(&request, 10, &at);
        let (r, n, p) = decode_cursor(&token).expect("decodes");
        assert_eq!((r.params, r.compartment, n, p), (request.params, request.compartment, 10, at));
        for junk in ["", "!!!", "e30", "eyJ2IjoxfQ"] {
            assert!(decode_cursor(junk).is_none(), "{junk}");
        }
    }
}

/// Splits a query string (`a=b&c=d`, percent-encoded, `+` for space; anything up to a `?` is
/// dropped) into pairs.
pub(crate) fn query_pairs(text: &str) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    match std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok()) {
                        Some(b) => {
                            out.push(b);
                            i += 2;
                        }
                        None => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    // `Patient?identifier=...` (a URL) and `identifier=...` (the query alone) both occur.
    let text = text.split_once('?').map_or(text, |(_, q)| q);
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

impl Engine {
    /// The criteria of a conditional interaction, parsed strictly (an unknown parameter would
    /// otherwise widen the match to everything).
    pub(crate) fn criteria(&self, resource_type: &str, criteria: &str) -> Result<Query, EngineError> {
        let pairs = query_pairs(criteria);
        if pairs.is_empty() {
            return Err(EngineError::bad_request(
                "a conditional interaction needs search criteria, such as identifier=system|value",
                None,
            ));
        }
        let query = self.parse_query(Some(resource_type), None, &pairs, false)?;
        if query.conditions.is_empty() {
            return Err(EngineError::bad_request(
                "the conditional criteria hold no search parameter, so they would match every resource",
                None,
            ));
        }
        Ok(query)
    }

    /// Refuses a SearchParameter that could not be put into force.
    pub(crate) fn check_search_parameter(&self, resource: &Value) -> Result<(), EngineError> {
        if !in_force(resource) {
            return Ok(()); // a draft or retired definition is stored, not enforced
        }
        let mut registry = self.search_state.indexer().registry().as_ref().clone();
        registry.insert_resource(resource).map_err(|e| EngineError::bad_request(e.to_string(), Some("SearchParameter")))
    }

    /// After a commit: SearchParameters written take effect for the writes that follow.
    pub(crate) fn after_commit(&self, committed: &[crate::Committed]) -> Result<(), EngineError> {
        let added: Vec<Value> = committed
            .iter()
            .filter(|c| c.resource_type == "SearchParameter")
            .filter_map(|c| c.body.as_deref().and_then(|b| serde_json::from_slice(b).ok()))
            .filter(in_force)
            .collect();
        if added.is_empty() { Ok(()) } else { self.search_state.add_parameters(&added) }
    }

    /// Puts the SearchParameter resources already stored into force (call once at start).
    pub async fn load_search_parameters(&self, caller: &Caller) -> Result<usize, EngineError> {
        let mut found = Vec::new();
        let mut params = vec![("_count".to_string(), MAX_PAGE.to_string())];
        loop {
            let page = self
                .search(caller, SearchRequest { resource_type: Some("SearchParameter".into()), params: params.clone(), ..Default::default() })
                .await?;
            found.extend(
                page.matches
                    .iter()
                    .filter_map(|v| v.body.as_deref().and_then(|b| serde_json::from_slice::<Value>(b).ok()))
                    .filter(in_force),
            );
            match page.next {
                Some(token) => params = vec![("_cursor".to_string(), token)],
                None => break,
            }
        }
        if !found.is_empty() {
            self.search_state.add_parameters(&found)?;
        }
        Ok(found.len())
    }
}

/// Only an `active` SearchParameter takes effect; a `draft` or `retired` one is a definition
/// kept for reference (the specification's own examples are drafts, some unusable by design).
fn in_force(resource: &Value) -> bool {
    resource.get("status").and_then(Value::as_str) == Some("active")
}

/// One search parameter of a resource type, as a CapabilityStatement lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchParameterInfo {
    pub code: String,
    /// number | date | string | token | reference | composite | quantity | uri | special
    pub param_type: &'static str,
    pub url: String,
}

impl Engine {
    /// The search parameters in force for a resource type (the specification's and custom
    /// ones), sorted by code, plus `_id` and `_lastUpdated`: what the CapabilityStatement lists.
    pub fn search_parameters(&self, resource_type: &str) -> Vec<SearchParameterInfo> {
        let indexer = self.search_state.indexer();
        let mut out: Vec<SearchParameterInfo> = indexer
            .registry()
            .for_type(resource_type)
            .filter(|p| !matches!(p.code.as_str(), "_text" | "_content" | "_query"))
            .map(|p| SearchParameterInfo { code: p.code.clone(), param_type: p.param_type.name(), url: p.url.clone() })
            .collect();
        out.sort_by(|a, b| a.code.cmp(&b.code));
        out
    }

    /// Reindexes every resource when the store asks for it ([`salus_store::REINDEX_FLAG`]: an
    /// upgrade changed how index rows are stored), then clears the request. Call at start,
    /// after [`Engine::load_search_parameters`]. Returns how many resources were reindexed.
    pub async fn reindex_if_required(&self, caller: &Caller) -> Result<Option<u64>, EngineError> {
        let required = self.store.read(|tx| tx.flag(salus_store::REINDEX_FLAG)).await?;
        if !required {
            return Ok(None);
        }
        let done = self.reindex(caller, None).await?;
        self.store.write(|tx| tx.set_flag(salus_store::REINDEX_FLAG, false)).await?;
        Ok(Some(done))
    }

    /// Recomputes the index rows of every current resource of `resource_type` (all types when
    /// `None`) under the parameters in force: after a custom SearchParameter is added, existing
    /// resources become searchable by it. Returns how many resources were reindexed. Runs in
    /// batches of one transaction each, so writes proceed in between.
    pub async fn reindex(&self, caller: &Caller, resource_type: Option<&str>) -> Result<u64, EngineError> {
        self.authorize_write(caller)?;
        let types: Vec<String> = match resource_type {
            Some(t) => {
                self.known_type_name(t)?;
                vec![t.to_string()]
            }
            None => salus_fhir::r4().resource_types().map(str::to_string).collect(),
        };
        let mut done = 0u64;
        for t in types {
            let mut params = vec![("_count".to_string(), "500".to_string())];
            loop {
                let page = self
                    .search(caller, SearchRequest { resource_type: Some(t.clone()), params: params.clone(), ..Default::default() })
                    .await?;
                let mut batch = Vec::with_capacity(page.matches.len());
                for v in &page.matches {
                    let Some(body) = v.body.as_deref() else { continue };
                    let Ok(resource) = serde_json::from_slice::<Value>(body) else { continue };
                    let terms = self.index_terms(&resource);
                    let key = crate::compartment::patient_key(&t, &v.id, &terms);
                    batch.push((v.id.clone(), key, terms));
                }
                done += batch.len() as u64;
                let ty = t.clone();
                self.store
                    .write(move |tx| {
                        for (id, key, terms) in &batch {
                            tx.reindex(&ty, id, key.as_deref(), terms)?;
                        }
                        Ok::<_, EngineError>(())
                    })
                    .await?;
                match page.next {
                    Some(token) => params = vec![("_cursor".to_string(), token)],
                    None => break,
                }
            }
        }
        Ok(done)
    }
}
