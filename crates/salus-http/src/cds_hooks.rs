//! CDS Hooks 2.0 services: discovery (`GET /cds-services`), the three services
//! (`POST /cds-services/{id}`: `patient-view` for medication alerts and care gaps, `order-select`
//! and `order-sign` for medication safety over `context.draftOrders`) and feedback
//! (`POST /cds-services/{id}/feedback`). Data comes from the request's prefetch; what is missing
//! is read through the engine when `fhirServer` is this Salus, and otherwise the answer is 412
//! (this server does not call other FHIR servers yet). The knowledge and the cards are
//! salus-clinical's; this module translates.

use crate::outcome::ApiError;
use crate::{AppState, body};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use salus_engine::salus_clinical::{PatientRecord, cds_cards, preventive};
use salus_engine::{Caller, MedicationContext};
use serde_json::{Map, Value, json};

const PATIENT_VIEW: &str = "salus-patient-view";
const ORDER_SELECT: &str = "salus-order-select";
const ORDER_SIGN: &str = "salus-order-sign";

/// The prefetch key of each resource set, and the resource type it holds.
const MEDICATION_KEYS: &[(&str, &str)] = &[
    ("medications", "MedicationRequest?patient={{context.patientId}}&status=active,on-hold,draft"),
    ("statements", "MedicationStatement?patient={{context.patientId}}"),
    ("allergies", "AllergyIntolerance?patient={{context.patientId}}"),
];
const CHART_KEYS: &[(&str, &str)] = &[
    ("conditions", "Condition?patient={{context.patientId}}"),
    ("observations", "Observation?patient={{context.patientId}}"),
    ("procedures", "Procedure?patient={{context.patientId}}"),
    ("immunizations", "Immunization?patient={{context.patientId}}"),
    ("reports", "DiagnosticReport?patient={{context.patientId}}"),
    ("imaging", "ImagingStudy?patient={{context.patientId}}"),
];

fn hook_of(service: &str) -> Option<&'static str> {
    match service {
        PATIENT_VIEW => Some("patient-view"),
        ORDER_SELECT => Some("order-select"),
        ORDER_SIGN => Some("order-sign"),
        _ => None,
    }
}

fn prefetch_templates(hook: &str) -> Value {
    let mut m = Map::new();
    m.insert("patient".into(), json!("Patient/{{context.patientId}}"));
    for (k, t) in MEDICATION_KEYS {
        m.insert((*k).into(), json!(t));
    }
    if hook == "patient-view" {
        for (k, t) in CHART_KEYS {
            m.insert((*k).into(), json!(t));
        }
    }
    Value::Object(m)
}

/// `GET /cds-services`.
pub async fn discovery() -> Response {
    let services = json!({"services": [
        {"hook": "patient-view", "id": PATIENT_VIEW, "title": "Salus medication alerts and care gaps",
         "description": "Interactions among the patient's active medications, and preventive care that is due or overdue (USPSTF A/B, CDC adult immunization schedule)",
         "prefetch": prefetch_templates("patient-view")},
        {"hook": "order-select", "id": ORDER_SELECT, "title": "Salus medication safety (order select)",
         "description": "Checks the selected draft medication orders for drug-drug interactions (ONC high-priority and non-interruptive lists), drug-allergy conflicts and duplicate therapy",
         "prefetch": prefetch_templates("order-select")},
        {"hook": "order-sign", "id": ORDER_SIGN, "title": "Salus medication safety (order sign)",
         "description": "Checks every draft medication order before signing for drug-drug interactions, drug-allergy conflicts and duplicate therapy",
         "prefetch": prefetch_templates("order-sign")},
    ]});
    cds_json(StatusCode::OK, &services)
}

fn cds_json(status: StatusCode, value: &Value) -> Response {
    (status, [(axum::http::header::CONTENT_TYPE, "application/json")], value.to_string()).into_response()
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::bad_request(message)
}

fn is_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}

/// `Type/id`, as CDS Hooks writes `userId` and `selections`.
fn is_type_id(s: &str) -> bool {
    matches!(s.split_once('/'), Some((t, id)) if t.chars().next().is_some_and(|c| c.is_ascii_uppercase()) && t.chars().all(|c| c.is_ascii_alphanumeric()) && is_id(id))
}

/// Checks a hook request against CDS Hooks 2.0 (and the hook's context definition). The error
/// names the field at fault.
pub fn check_request(request: &Value, hook: &str) -> Result<(), String> {
    let obj = request.as_object().ok_or("the request must be a JSON object")?;
    match obj.get("hook").and_then(Value::as_str) {
        Some(h) if h == hook => {}
        Some(h) => return Err(format!("hook is `{h}` but this service answers `{hook}`")),
        None => return Err("hook is required".into()),
    }
    if obj.get("hookInstance").and_then(Value::as_str).is_none_or(str::is_empty) {
        return Err("hookInstance is required (a UUID)".into());
    }
    if let Some(server) = obj.get("fhirServer")
        && !server.as_str().is_some_and(|s| s.starts_with("http"))
    {
        return Err("fhirServer must be the base URL of a FHIR server".into());
    }
    if let Some(auth) = obj.get("fhirAuthorization") {
        for key in ["access_token", "token_type", "scope", "subject"] {
            if auth.get(key).and_then(Value::as_str).is_none() {
                return Err(format!("fhirAuthorization.{key} is required"));
            }
        }
        if auth.get("expires_in").and_then(Value::as_i64).is_none() {
            return Err("fhirAuthorization.expires_in is required (seconds)".into());
        }
        if obj.get("fhirServer").is_none() {
            return Err("fhirAuthorization needs fhirServer".into());
        }
    }
    let context = obj.get("context").and_then(Value::as_object).ok_or("context is required")?;
    if !context.get("userId").and_then(Value::as_str).is_some_and(is_type_id) {
        return Err("context.userId is required, as Practitioner/id (or PractitionerRole, Patient, RelatedPerson)".into());
    }
    if !context.get("patientId").and_then(Value::as_str).is_some_and(is_id) {
        return Err("context.patientId is required and is a FHIR id (without `Patient/`)".into());
    }
    if let Some(e) = context.get("encounterId")
        && !e.as_str().is_some_and(is_id)
    {
        return Err("context.encounterId is a FHIR id (without `Encounter/`)".into());
    }
    if hook != "patient-view" {
        let orders = context.get("draftOrders").ok_or("context.draftOrders is required (a Bundle of the draft orders)")?;
        if orders.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
            return Err("context.draftOrders must be a Bundle".into());
        }
        for (i, e) in orders.get("entry").and_then(Value::as_array).into_iter().flatten().enumerate() {
            if e.get("fullUrl").and_then(Value::as_str).is_none() || e.get("resource").and_then(|r| r.get("resourceType")).is_none() {
                return Err(format!("context.draftOrders.entry[{i}] needs a fullUrl and a resource"));
            }
        }
    }
    if hook == "order-select" {
        let selections = context.get("selections").and_then(Value::as_array).ok_or("context.selections is required")?;
        if let Some(s) = selections.iter().find(|s| !s.as_str().is_some_and(is_type_id)) {
            return Err(format!("context.selections: {s} is not Type/id"));
        }
    }
    if let Some(prefetch) = obj.get("prefetch") {
        let prefetch = prefetch.as_object().ok_or("prefetch must be an object")?;
        for (k, v) in prefetch {
            if !(v.is_null() || v.get("resourceType").and_then(Value::as_str).is_some()) {
                return Err(format!("prefetch.{k} must be a FHIR resource (or null)"));
            }
        }
    }
    Ok(())
}

/// Where the data of a request comes from.
struct Data<'a> {
    state: &'a AppState,
    prefetch: Option<&'a Map<String, Value>>,
    /// `fhirServer` is this Salus: missing data is read through the engine.
    local: bool,
    patient: String,
}

impl Data<'_> {
    /// The resources of a prefetch key: a resource, a Bundle's entries, or `None` when absent.
    fn prefetched(&self, key: &str) -> Option<Vec<Value>> {
        let v = self.prefetch?.get(key).filter(|v| !v.is_null())?;
        if v["resourceType"] == "Bundle" {
            Some(v.get("entry").and_then(Value::as_array).into_iter().flatten().filter_map(|e| e.get("resource").cloned()).collect())
        } else {
            Some(vec![v.clone()])
        }
    }

    fn missing(&self, key: &str) -> ApiError {
        ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            "incomplete",
            format!("prefetch `{key}` is missing and fhirServer is not this server, which does not call other FHIR servers: send the prefetch (see GET /cds-services)"),
            None,
        )
    }

    /// The medication context: prefetched, else read through the engine.
    async fn medications(&self) -> Result<MedicationContext, ApiError> {
        let all_prefetched = MEDICATION_KEYS.iter().all(|(k, _)| self.prefetched(k).is_some());
        if !all_prefetched {
            if !self.local {
                let key = MEDICATION_KEYS.iter().find(|(k, _)| self.prefetched(k).is_none()).map_or("medications", |(k, _)| k);
                return Err(self.missing(key));
            }
            return Ok(self.state.engine.medication_context(&Caller::system(), &self.patient).await?);
        }
        let mut ctx = MedicationContext::default();
        let mut meds = Vec::new();
        for (k, _) in MEDICATION_KEYS {
            for r in self.prefetched(k).unwrap_or_default() {
                match r["resourceType"].as_str() {
                    Some("AllergyIntolerance") => ctx.allergies.push(r),
                    Some("MedicationRequest" | "MedicationStatement") => ctx.medications.push(r),
                    Some("Medication") => meds.push(r),
                    _ => {}
                }
            }
        }
        self.state.engine.resolve_medications(&Caller::system(), &mut ctx.medications, &meds).await;
        Ok(ctx)
    }

    /// The patient's chart for the preventive rules: prefetched, else read through the engine.
    async fn care_gaps(&self) -> Result<Vec<preventive::CareGap>, ApiError> {
        let keys = std::iter::once("patient").chain(CHART_KEYS.iter().map(|(k, _)| *k));
        let all_prefetched = keys.clone().all(|k| self.prefetched(k).is_some());
        if all_prefetched {
            let resources: Vec<Value> = keys.flat_map(|k| self.prefetched(k).unwrap_or_default()).collect();
            let record = PatientRecord::from_resources(&resources).map_err(|e| bad(format!("prefetch.patient: {e}")))?;
            return preventive::evaluate(&record, salus_engine::today()).map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "exception", e.to_string(), None));
        }
        if !self.local {
            return Err(self.missing(keys.clone().find(|k| self.prefetched(k).is_none()).unwrap_or("patient")));
        }
        match self.state.engine.care_gaps(&Caller::system(), &self.patient, None).await {
            Ok((_, gaps)) => Ok(gaps),
            // A patient this server does not know has no gaps to show.
            Err(salus_engine::EngineError::NotFound { .. } | salus_engine::EngineError::Gone { .. }) => Ok(Vec::new()),
            Err(e) => Err(e.into()),
        }
    }
}

/// Gives each card a uuid (needed for feedback) and wraps them as a CDS Hooks response.
fn response(cards: Vec<Value>) -> Response {
    let cards: Vec<Value> = cards
        .into_iter()
        .map(|mut c| {
            c["uuid"] = json!(uuid::Uuid::new_v4().to_string());
            c
        })
        .collect();
    cds_json(StatusCode::OK, &json!({"cards": cards}))
}

/// `POST /cds-services/{id}`.
pub async fn call(State(state): State<AppState>, Path(service): Path<String>, headers: HeaderMap, body: axum::body::Body) -> Result<Response, ApiError> {
    let hook = hook_of(&service).ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not-found", format!("no CDS service `{service}`: see GET /cds-services"), None))?;
    let bytes = body::read_limited(body, state.max_body_bytes).await?;
    let request = body::parse_json(&bytes)?;
    check_request(&request, hook).map_err(bad)?;
    let own_base = state.base_url(&headers);
    let local = request.get("fhirServer").and_then(Value::as_str).is_some_and(|s| s.trim_end_matches('/') == own_base.trim_end_matches('/'));
    let patient = request["context"]["patientId"].as_str().unwrap_or_default().to_string();
    let data = Data { state: &state, prefetch: request.get("prefetch").and_then(Value::as_object), local, patient };
    let cards = if hook == "patient-view" {
        let ctx = data.medications().await?;
        let mut cards = Vec::new();
        let mut seen = std::collections::HashSet::new();
        // Interactions among what the patient already takes: each pair once.
        for m in &ctx.medications {
            let findings = salus_engine::check_order(m, &ctx)?;
            let fresh: Vec<_> = findings.into_iter().filter(|f| f.kind != salus_engine::salus_clinical::FindingKind::Duplicate || f.blocks()).filter(|f| {
                let mut names: Vec<&str> = f.ingredients.iter().map(|i| i.rxcui.as_str()).collect();
                names.sort();
                seen.insert(format!("{}:{}", f.rule_id, names.join("+")))
            }).collect();
            cards.extend(cds_cards::cards_for_findings(&fresh, None));
        }
        cards.extend(cds_cards::cards_for_care_gaps(&data.care_gaps().await?));
        cards
    } else {
        let mut ctx = data.medications().await?;
        let drafts: Vec<Value> = request["context"]["draftOrders"]["entry"].as_array().into_iter().flatten().filter_map(|e| e.get("resource").cloned()).collect();
        let selections: Vec<&str> = request["context"]["selections"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let mut orders: Vec<Value> = drafts.iter().filter(|r| r["resourceType"] == "MedicationRequest").cloned().collect();
        state.engine.resolve_medications(&Caller::system(), &mut orders, &drafts).await;
        // Every draft is part of the patient's medications while the others are checked.
        ctx.medications.retain(|m| !orders.iter().any(|o| o["id"] == m["id"] && o["resourceType"] == m["resourceType"]));
        ctx.medications.extend(orders.iter().cloned());
        let mut cards = Vec::new();
        for order in &orders {
            let reference = format!("MedicationRequest/{}", order["id"].as_str().unwrap_or_default());
            if hook == "order-select" && !selections.contains(&reference.as_str()) {
                continue;
            }
            let findings = salus_engine::check_order(order, &ctx)?;
            cards.extend(cds_cards::cards_for_findings(&findings, order["id"].as_str()));
        }
        cards
    };
    Ok(response(cards))
}

/// `POST /cds-services/{id}/feedback`: the outcome of cards (accepted or overridden, with the
/// reason), recorded in the audit log.
pub async fn feedback(State(state): State<AppState>, Path(service): Path<String>, body: axum::body::Body) -> Result<Response, ApiError> {
    hook_of(&service).ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not-found", format!("no CDS service `{service}`: see GET /cds-services"), None))?;
    let bytes = body::read_limited(body, state.max_body_bytes).await?;
    let request = body::parse_json(&bytes)?;
    let items = request.get("feedback").and_then(Value::as_array).ok_or_else(|| bad("feedback is required: an array of {card, outcome, outcomeTimestamp}"))?;
    for (i, f) in items.iter().enumerate() {
        let card = f.get("card").and_then(Value::as_str).ok_or_else(|| bad(format!("feedback[{i}].card is required (the card's uuid)")))?;
        let outcome = f.get("outcome").and_then(Value::as_str).filter(|o| matches!(*o, "accepted" | "overridden"));
        let outcome = outcome.ok_or_else(|| bad(format!("feedback[{i}].outcome must be `accepted` or `overridden`")))?;
        if f.get("outcomeTimestamp").and_then(Value::as_str).is_none() {
            return Err(bad(format!("feedback[{i}].outcomeTimestamp is required")));
        }
        if outcome == "accepted" && f.get("acceptedSuggestions").and_then(Value::as_array).is_none_or(Vec::is_empty) {
            return Err(bad(format!("feedback[{i}]: an accepted card names its acceptedSuggestions")));
        }
        let reason = f.pointer("/overrideReason/reason/code").and_then(Value::as_str).unwrap_or("");
        tracing::info!(target: "salus::audit", event = "cds-feedback", service = %service, card = %card, outcome = %outcome, reason = %reason, "CDS card feedback");
    }
    Ok(cds_json(StatusCode::OK, &json!({})))
}
