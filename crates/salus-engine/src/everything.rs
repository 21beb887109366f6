//! `Patient/$everything`: a patient's record in pages. The matches are a compartment search
//! (the Patient CompartmentDefinition, compiled to SQL by the search machinery like
//! `/Patient/123/*`), so `_type`, `_since`, `start` and `end` are conditions inside the query
//! and paging never filters after the fact. Each page carries the resources its matches refer
//! to that sit outside any patient compartment (Practitioner, Organization, Location,
//! Medication...), so the page reads on its own; resources of another patient never ride along.
//!
//! The type-level form (`Patient/$everything`) walks the patients in id order, one compartment
//! after the other; its cursor records the patient and the position inside that compartment.
//!
//! Each compartment's query holds only the types the patient has resources of (listed first,
//! in the same read transaction: see `compartment::narrow_to_present_types`), not all ~66 of
//! the CompartmentDefinition, nearly all empty for any one patient.

use crate::search::search_error;
use crate::{Caller, Engine, EngineError, SearchResult};
use base64::Engine as _;
use salus_search::ParamType;
use salus_search::query::{Condition, Include, Query, TypedConditions};
use salus_store::{ReadTx, SearchPosition, StoreError, StoredVersion};
use serde_json::{Value, json};
use std::collections::HashSet;

/// Page size of `$everything` when `_count` is absent (a chart is read in large pages).
pub const EVERYTHING_PAGE: usize = 100;

/// Parameters `$everything` takes (besides `_format` and `_pretty`, which the edge handles).
const PARAMS: &[&str] = &["start", "end", "_since", "_type", "_count", "_cursor"];

/// The date parameters that give a resource's care date, in order of preference: the first
/// one a type has decides whether it falls between `start` and `end`.
const CARE_DATES: &[&str] =
    &["date", "onset-date", "authoredon", "effective-time", "created", "period", "recorded-date", "issued", "occurrence"];

/// Rounds of "what the included resources refer to" (Location → its managing Organization).
const REFERENCE_ROUNDS: usize = 2;

/// What a `$everything` request asks, read from its parameters.
#[derive(Debug, Clone, Default)]
struct Ask {
    start: Option<String>,
    end: Option<String>,
    since: Option<String>,
    types: Vec<String>,
    count: Option<usize>,
}

impl Ask {
    fn read(params: &[(String, String)]) -> Result<Ask, EngineError> {
        let mut ask = Ask::default();
        for (k, v) in params {
            match k.as_str() {
                "start" => ask.start = Some(v.clone()),
                "end" => ask.end = Some(v.clone()),
                "_since" => ask.since = Some(v.clone()),
                "_type" => ask.types.extend(v.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_string)),
                "_count" => {
                    ask.count = Some(v.trim().parse().map_err(|_| {
                        EngineError::bad_request(format!("_count={v}: expected a whole number of entries per page"), Some("_count"))
                    })?)
                }
                k if PARAMS.contains(&k) => {}
                other => {
                    return Err(EngineError::bad_request(
                        format!("$everything does not take `{other}`; it takes {}", PARAMS.join(", ")),
                        None,
                    ));
                }
            }
        }
        for t in &ask.types {
            if !salus_fhir::r4().is_resource_type(t) {
                return Err(EngineError::UnknownResourceType(t.clone()));
            }
        }
        Ok(ask)
    }

    fn to_params(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (k, v) in [("start", &self.start), ("end", &self.end), ("_since", &self.since)] {
            if let Some(v) = v {
                out.push((k.to_string(), v.clone()));
            }
        }
        if !self.types.is_empty() {
            out.push(("_type".into(), self.types.join(",")));
        }
        out
    }
}

/// The resource types a patient compartment holds (the Patient itself included).
pub(crate) fn compartment_types() -> Vec<String> {
    match salus_fhir::r4().compartment("Patient") {
        Some(def) => def.resource.iter().filter(|r| !r.param.is_empty() || r.code == "Patient").map(|r| r.code.clone()).collect(),
        None => vec!["Patient".into()],
    }
}

/// The cursor: the patient whose compartment the page ended in, where, and the request.
struct Cursor {
    patient: String,
    after: Option<(String, String)>,
    params: Vec<(String, String)>,
    count: usize,
    type_level: bool,
}

fn encode(c: &Cursor) -> String {
    let token = json!({"v": 1, "p": c.patient, "a": c.after, "q": c.params, "n": c.count, "t": c.type_level});
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(token.to_string())
}

fn decode(token: &str) -> Option<Cursor> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    if v.get("v")?.as_i64()? != 1 {
        return None;
    }
    let pair = |x: &Value| Some((x.get(0)?.as_str()?.to_string(), x.get(1)?.as_str()?.to_string()));
    let after = match v.get("a")? {
        Value::Null => None,
        a => Some(pair(a)?),
    };
    let params = v.get("q")?.as_array()?.iter().map(pair).collect::<Option<Vec<_>>>()?;
    Some(Cursor {
        patient: v.get("p")?.as_str()?.to_string(),
        after,
        params,
        count: usize::try_from(v.get("n")?.as_u64()?).ok()?,
        type_level: v.get("t")?.as_bool()?,
    })
}

impl Engine {
    /// `Patient/[id]/$everything` (`patient = Some`) or `Patient/$everything` (`None`), one
    /// page; `params` as sent (`start`, `end`, `_since`, `_type`, `_count`, `_cursor`). The
    /// page's `next` is a cursor for `_cursor`.
    pub async fn everything(
        &self,
        caller: &Caller,
        patient: Option<&str>,
        params: &[(String, String)],
    ) -> Result<SearchResult, EngineError> {
        self.authorize_read(caller)?;
        let bad_cursor = || search_error(salus_search::SearchError::BadCursor);
        let (ask, start, count) = match params.iter().find(|(k, _)| k == "_cursor") {
            Some((_, token)) => {
                let c = decode(token).ok_or_else(bad_cursor)?;
                if c.type_level != patient.is_none() || patient.is_some_and(|p| p != c.patient) {
                    return Err(bad_cursor());
                }
                (Ask::read(&c.params)?, Some((c.patient, c.after)), c.count)
            }
            None => {
                let ask = Ask::read(params)?;
                let count = ask.count.unwrap_or(EVERYTHING_PAGE).clamp(1, crate::MAX_PAGE);
                (ask, patient.map(|p| (p.to_string(), None)), count)
            }
        };
        if let Some(id) = patient {
            // A missing or deleted patient is a 404 / 410, not an empty Bundle.
            self.read(caller, "Patient", id).await?;
        }
        let compartment = compartment_types();
        let match_types: Vec<String> = if ask.types.is_empty() {
            compartment.clone()
        } else {
            ask.types.iter().filter(|t| compartment.contains(t)).cloned().collect()
        };
        let query = if match_types.is_empty() { None } else { Some(self.everything_query(&ask, &match_types)?) };
        let since_ms = match &ask.since {
            Some(s) => Some(crate::clock::parse_fhir_instant(s).ok_or_else(|| {
                EngineError::bad_request(format!("_since={s}: expected an instant such as 2024-01-01T00:00:00Z"), Some("_since"))
            })?),
            None => None,
        };
        let filter = Included { compartment, types: ask.types.clone(), since_ms };
        let type_level = patient.is_none();
        let params_out = ask.to_params();
        let patient_query = self.parse_query(Some("Patient"), None, &[], false)?;
        let (matches, included, next) = self
            .store
            .read(move |tx| {
                let mut matches = Vec::new();
                let mut at = match start {
                    Some(s) => Some(s),
                    None => next_patient(tx, &patient_query, None)?.map(|p| (p, None)),
                };
                let mut next = None;
                while let (Some((pid, after)), Some(query)) = (at.take(), query.as_ref()) {
                    let want = count - matches.len();
                    let mut q = for_patient(query, &pid);
                    crate::compartment::narrow_to_present_types(tx, &mut q, &pid)?;
                    let after = after.map(|(t, i)| SearchPosition { keys: Vec::new(), resource_type: t, id: i });
                    let hits = tx.search(&salus_store::SearchRequest { query: q, after, limit: want + 1 })?;
                    let more = hits.len() > want;
                    matches.extend(hits.into_iter().take(want).map(|h| h.version));
                    let last = matches.last().map(|v| (v.resource_type.clone(), v.id.clone()));
                    if more {
                        next = Some((pid, last));
                        break;
                    }
                    if !type_level {
                        break;
                    }
                    at = next_patient(tx, &patient_query, Some(&pid))?.map(|p| (p, None));
                    if matches.len() >= count {
                        next = at.take();
                        break;
                    }
                }
                let included = referenced(tx, &matches, &filter)?;
                Ok::<_, StoreError>((matches, included, next))
            })
            .await?;
        let next = next.map(|(patient, after)| encode(&Cursor { patient, after, params: params_out, count, type_level }));
        Ok(SearchResult {
            matches,
            included,
            total: None,
            next,
            issues: Vec::new(),
            summary: None,
            elements: Vec::new(),
        })
    }

    /// The compartment query with the patient left as a placeholder, `_since` and `_type` as
    /// search parameters and `start`/`end` as care-date conditions.
    fn everything_query(&self, ask: &Ask, types: &[String]) -> Result<Query, EngineError> {
        let mut pairs = vec![("_type".to_string(), types.join(","))];
        if let Some(since) = &ask.since {
            pairs.push(("_lastUpdated".into(), format!("ge{since}")));
        }
        let mut query = self.parse_query(None, Some(("Patient", PLACEHOLDER)), &pairs, false)?;
        for (bound, prefix) in [(&ask.start, "ge"), (&ask.end, "le")] {
            if let Some(value) = bound {
                query.conditions.push(self.care_date(types, prefix, value)?);
            }
        }
        Ok(query)
    }

    /// `start`/`end` for each type: its care date is in range or it has none; a type without a
    /// care-date parameter (Patient, Medication...) is not limited by dates.
    fn care_date(&self, types: &[String], prefix: &str, value: &str) -> Result<TypedConditions, EngineError> {
        let indexer = self.search_state.indexer();
        let registry = indexer.registry();
        let mut by_type = Vec::new();
        for t in types {
            let param = CARE_DATES.iter().find(|p| registry.get(t, p).is_some_and(|sp| sp.param_type == ParamType::Date));
            let condition = match param {
                Some(p) => {
                    let q = self
                        .parse_query(Some(t), None, &[(p.to_string(), format!("{prefix}{value}"))], false)
                        .map_err(|e| match e {
                            EngineError::BadRequest { message, .. } => EngineError::bad_request(
                                format!("{}={value}: {message}", if prefix == "ge" { "start" } else { "end" }),
                                None,
                            ),
                            e => e,
                        })?;
                    let within = q.conditions.into_iter().next().and_then(|c| c.for_type(t).cloned()).unwrap_or(Condition::Nothing);
                    let undated = Condition::Missing { table: ParamType::Date, param: p.to_string(), missing: true };
                    Condition::AnyOf(vec![within, undated])
                }
                None => Condition::Not(Box::new(Condition::Nothing)),
            };
            by_type.push((t.clone(), condition));
        }
        Ok(TypedConditions { by_type })
    }
}

/// A valid id that stands for the patient until a page names the real one.
const PLACEHOLDER: &str = "salus-everything-patient";

/// The compiled query with the placeholder patient replaced by `patient`.
fn for_patient(query: &Query, patient: &str) -> Query {
    fn replace(c: &mut Condition, patient: &str) {
        match c {
            Condition::Ids(ids) => ids.iter_mut().filter(|i| *i == PLACEHOLDER).for_each(|i| *i = patient.to_string()),
            Condition::Match { any_of, .. } => {
                for p in any_of {
                    if let salus_search::query::Predicate::Reference { id, .. } = p
                        && id == PLACEHOLDER
                    {
                        *id = patient.to_string();
                    }
                }
            }
            Condition::AnyOf(cs) => cs.iter_mut().for_each(|c| replace(c, patient)),
            _ => {}
        }
    }
    let mut q = query.clone();
    if let Some(first) = q.conditions.first_mut() {
        for (_, c) in &mut first.by_type {
            replace(c, patient);
        }
    }
    q
}

/// The first patient after `after` in id order.
fn next_patient(tx: &mut dyn ReadTx, query: &Query, after: Option<&str>) -> Result<Option<String>, StoreError> {
    let after = after.map(|id| SearchPosition { keys: Vec::new(), resource_type: "Patient".into(), id: id.to_string() });
    let hits = tx.search(&salus_store::SearchRequest { query: query.clone(), after, limit: 1 })?;
    Ok(hits.into_iter().next().map(|h| h.version.id))
}

/// Which referenced resources a page carries.
struct Included {
    /// Types of the patient compartment: never included by reference (they are matches when
    /// they are this patient's, and another patient's otherwise).
    compartment: Vec<String>,
    /// `_type`, when given, limits the referenced resources too.
    types: Vec<String>,
    since_ms: Option<i64>,
}

fn referenced(tx: &mut dyn ReadTx, matches: &[StoredVersion], filter: &Included) -> Result<Vec<StoredVersion>, StoreError> {
    let every = Include { source_type: "*".into(), param: None, target_type: None, iterate: true };
    let mut seen: HashSet<(String, String)> = matches.iter().map(|v| (v.resource_type.clone(), v.id.clone())).collect();
    let mut frontier: Vec<(String, String)> = seen.iter().cloned().collect();
    frontier.sort();
    let mut out = Vec::new();
    for _ in 0..REFERENCE_ROUNDS {
        let mut added = Vec::new();
        for v in tx.included(&frontier, &every, false)? {
            let key = (v.resource_type.clone(), v.id.clone());
            if filter.compartment.contains(&v.resource_type) || !seen.insert(key.clone()) {
                continue;
            }
            added.push(key);
            let wanted = (filter.types.is_empty() || filter.types.contains(&v.resource_type))
                && filter.since_ms.is_none_or(|s| v.last_updated_ms >= s);
            if wanted {
                out.push(v);
            }
        }
        if added.is_empty() {
            break;
        }
        frontier = added;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let c = Cursor {
            patient: "p1".into(),
            after: Some(("Observation".into(), "o9".into())),
            params: vec![("_type".into(), "Observation".into())],
            count: 7,
            type_level: true,
        };
        let d = decode(&encode(&c)).expect("decodes");
        assert_eq!((d.patient, d.after, d.params, d.count, d.type_level), (c.patient, c.after, c.params, c.count, true));
        for junk in ["", "!!", "e30"] {
            assert!(decode(junk).is_none());
        }
    }

    #[test]
    fn unknown_parameters_and_types_are_refused() {
        assert!(Ask::read(&[("foo".into(), "1".into())]).is_err());
        assert!(Ask::read(&[("_type".into(), "Nonsense".into())]).is_err());
        assert!(Ask::read(&[("_count".into(), "x".into())]).is_err());
        let ask = Ask::read(&[("_type".into(), "Observation, Encounter".into())]).expect("reads");
        assert_eq!(ask.types, ["Observation", "Encounter"]);
    }
}
