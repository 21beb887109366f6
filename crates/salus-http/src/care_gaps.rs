//! Preventive-care operations over HTTP: `GET /fhir/Patient/{id}/$care-gaps` (one patient's
//! rules as a `Parameters` resource) and `GET /fhir/$care-gaps-worklist` (the practice-wide
//! list with counts per rule, as `Parameters` or as CSV). The shapes are documented in README.md;
//! the evaluation is the engine's.

use crate::outcome::ApiError;
use crate::rest::Params;
use crate::{AppState, negotiate, respond};
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use salus_engine::Caller;
use salus_engine::salus_clinical::{CareGap, GapStatus};
use salus_fhir::date::Date;
use serde_json::{Value, json};

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Every value of a repeatable, comma-separated parameter.
fn list(params: &[(String, String)], name: &str) -> Vec<String> {
    params
        .iter()
        .filter(|(k, _)| k == name)
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect()
}

fn only_params(params: &[(String, String)], allowed: &[&str]) -> Result<(), ApiError> {
    match params.iter().find(|(k, _)| !allowed.contains(&k.as_str()) && k != "_format" && k != "_pretty") {
        Some((k, _)) => Err(ApiError::bad_request(format!("the parameter `{k}` is not supported here; this operation takes {}", allowed.join(", ")))),
        None => Ok(()),
    }
}

/// `date=YYYY-MM-DD`: the as-of date (today when absent).
fn as_of(params: &[(String, String)]) -> Result<Option<Date>, ApiError> {
    match param(params, "date") {
        None => Ok(None),
        Some(d) => Date::parse_fhir(d)
            .filter(|_| d.len() == 10)
            .map(Some)
            .ok_or_else(|| ApiError::bad_request(format!("date={d} is not a date: use YYYY-MM-DD"))),
    }
}

fn date_part(name: &str, d: &Date) -> Value {
    json!({"name": name, "valueDate": d.to_string()})
}

/// The parts of one care gap: rule, status with its dates, last evidence and the rule's source.
fn gap_parts(g: &CareGap) -> Vec<Value> {
    let mut parts = vec![
        json!({"name": "rule", "valueCode": g.rule_id}),
        json!({"name": "title", "valueString": g.title}),
        json!({"name": "status", "valueCode": g.status.label()}),
    ];
    match &g.status {
        GapStatus::Due { since } => parts.push(date_part("dueSince", since)),
        GapStatus::Overdue { since, due_since } => {
            parts.push(date_part("dueSince", due_since));
            parts.push(date_part("overdueSince", since));
        }
        GapStatus::Satisfied { until: Some(until) } => parts.push(date_part("satisfiedUntil", until)),
        GapStatus::Satisfied { until: None } => {}
        GapStatus::NotApplicable { reason } => parts.push(json!({"name": "reason", "valueString": reason})),
    }
    if let Some(e) = &g.last_evidence {
        let mut evidence = vec![json!({"name": "evidence", "valueString": e.evidence}), date_part("date", &e.date)];
        if let Some(r) = &e.reference {
            evidence.push(json!({"name": "reference", "valueReference": {"reference": r}}));
        }
        if let Some(c) = &e.code {
            evidence.push(json!({"name": "code", "valueCode": c}));
        }
        parts.push(json!({"name": "lastEvidence", "part": evidence}));
    }
    let s = &g.source;
    parts.push(json!({"name": "source", "part": [
        {"name": "author", "valueString": s.author},
        {"name": "publisher", "valueString": s.publisher},
        {"name": "grade", "valueString": s.grade},
        {"name": "versionDate", "valueString": s.version_date},
        {"name": "url", "valueUri": s.url},
        {"name": "citation", "valueString": s.citation},
    ]}));
    parts
}

/// `GET /fhir/Patient/{id}/$care-gaps[?date=YYYY-MM-DD]`.
pub async fn patient(
    State(state): State<AppState>,
    Path((resource_type, id)): Path<(String, String)>,
    headers: HeaderMap,
    Query(params): Params,
) -> Result<Response, ApiError> {
    negotiate::check_accept(&headers, param(&params, "_format"))?;
    if resource_type != "Patient" {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "not-supported", format!("$care-gaps is defined on Patient, not {resource_type}"), None));
    }
    only_params(&params, &["date"])?;
    let as_of = as_of(&params)?;
    let (_, gaps) = state.engine.care_gaps(&Caller::system(), &id, as_of).await?;
    let as_of = as_of.unwrap_or_else(salus_engine::today);
    let mut parameter = vec![
        json!({"name": "patient", "valueReference": {"reference": format!("Patient/{id}")}}),
        date_part("asOf", &as_of),
    ];
    parameter.extend(gaps.iter().map(|g| json!({"name": "gap", "part": gap_parts(g)})));
    Ok(respond::json(StatusCode::OK, &json!({"resourceType": "Parameters", "parameter": parameter})))
}

fn wants_csv(headers: &HeaderMap, params: &[(String, String)]) -> bool {
    match param(params, "_format") {
        Some(f) => matches!(f.trim().to_ascii_lowercase().as_str(), "csv" | "text/csv"),
        None => headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.to_ascii_lowercase().contains("text/csv")),
    }
}

/// A CSV field: quoted when needed, and a leading formula character neutralised so that a
/// spreadsheet does not execute a name as a formula.
fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) { format!("'{s}") } else { s.to_string() };
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s }
}

fn csv_line(fields: &[String]) -> String {
    let mut line = fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(",");
    line.push_str("\r\n");
    line
}

fn status_dates(g: &GapStatus) -> (String, String, String) {
    match g {
        GapStatus::Due { since } => (since.to_string(), String::new(), String::new()),
        GapStatus::Overdue { since, due_since } => (due_since.to_string(), since.to_string(), String::new()),
        GapStatus::Satisfied { until } => (String::new(), String::new(), until.as_ref().map(|u| u.to_string()).unwrap_or_default()),
        GapStatus::NotApplicable { .. } => Default::default(),
    }
}

const COUNTED: [&str; 4] = ["due", "overdue", "satisfied", "not-applicable"];

/// `GET /fhir/$care-gaps-worklist?rule=..&status=due,overdue&date=..[&_summary=count][&_format=csv]`.
pub async fn worklist(State(state): State<AppState>, headers: HeaderMap, Query(params): Params) -> Result<Response, ApiError> {
    let csv = wants_csv(&headers, &params);
    if !csv {
        negotiate::check_accept(&headers, param(&params, "_format"))?;
    }
    only_params(&params, &["rule", "status", "date", "_summary"])?;
    let counts_only = match param(&params, "_summary") {
        None => false,
        Some("count") => true,
        Some(other) => return Err(ApiError::bad_request(format!("_summary={other} is not supported here: use _summary=count"))),
    };
    let rules = list(&params, "rule");
    let mut statuses = list(&params, "status");
    if statuses.is_empty() {
        statuses = vec!["due".into(), "overdue".into()];
    }
    let list = state.engine.care_gaps_worklist(&Caller::system(), &rules, &statuses, as_of(&params)?).await?;
    let n = |rule: &str, s: &str| list.counts.get(rule).and_then(|c| c.get(s)).copied().unwrap_or(0);
    if csv {
        let mut out = String::new();
        if counts_only {
            out.push_str(&csv_line(&["rule".into(), "due".into(), "overdue".into(), "satisfied".into(), "not-applicable".into()]));
            for rule in list.counts.keys() {
                let mut row = vec![rule.clone()];
                row.extend(COUNTED.iter().map(|s| n(rule, s).to_string()));
                out.push_str(&csv_line(&row));
            }
        } else {
            let head = ["patient_id", "name", "birth_date", "gender", "rule", "status", "due_since", "overdue_since", "satisfied_until", "last_evidence", "last_evidence_date"];
            out.push_str(&csv_line(&head.map(String::from)));
            for r in &list.rows {
                let (due, overdue, until) = status_dates(&r.gap.status);
                let (evidence, evidence_date) = r.gap.last_evidence.as_ref().map(|e| (e.evidence.clone(), e.date.to_string())).unwrap_or_default();
                out.push_str(&csv_line(&[
                    r.patient_id.clone(),
                    r.name.clone(),
                    r.birth_date.clone().unwrap_or_default(),
                    r.gender.clone().unwrap_or_default(),
                    r.gap.rule_id.clone(),
                    r.gap.status.label().into(),
                    due,
                    overdue,
                    until,
                    evidence,
                    evidence_date,
                ]));
            }
        }
        let mut response = Response::new(Body::from(out));
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
        return Ok(response);
    }
    let mut parameter = vec![json!({"name": "patients", "valueInteger": list.patients})];
    if let Some(d) = &list.as_of {
        parameter.push(date_part("asOf", d));
    }
    for rule in list.counts.keys() {
        let mut part = vec![json!({"name": "rule", "valueCode": rule})];
        part.extend(COUNTED.iter().map(|s| json!({"name": s, "valueInteger": n(rule, s)})));
        parameter.push(json!({"name": "count", "part": part}));
    }
    if !counts_only {
        for r in &list.rows {
            let mut part = vec![json!({"name": "patient", "valueReference": {"reference": format!("Patient/{}", r.patient_id), "display": r.name}})];
            part.extend(gap_parts(&r.gap));
            parameter.push(json!({"name": "row", "part": part}));
        }
    }
    Ok(respond::json(StatusCode::OK, &json!({"resourceType": "Parameters", "parameter": parameter})))
}
