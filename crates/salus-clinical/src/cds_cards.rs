//! CDS Hooks 2.0 cards and FHIR `DetectedIssue` resources built from findings and care gaps.
//! Pure builders: the HTTP layer wraps cards in `{"cards": [...]}` and the engine stores
//! DetectedIssues through its one write path.

use crate::medication_safety::{Finding, FindingKind, Severity};
use crate::preventive::{CareGap, GapStatus};
use serde_json::{json, Map, Value};

/// Where Salus's own override reasons live (CDS Hooks lets a service define its own codes).
pub const OVERRIDE_REASON_SYSTEM: &str = "https://salus-ehr.org/fhir/CodeSystem/cds-override-reason";

/// The override reasons offered on cards that can block an order.
pub fn override_reasons() -> Vec<Value> {
    [
        ("benefit-outweighs-risk", "Benefit outweighs risk"),
        ("patient-tolerated-before", "Patient has tolerated this combination before"),
        ("will-monitor", "Will monitor and adjust"),
        ("allergy-not-relevant", "Recorded allergy is not relevant or incorrect"),
    ]
    .into_iter()
    .map(|(code, display)| json!({"code": code, "system": OVERRIDE_REASON_SYSTEM, "display": display}))
    .collect()
}

fn indicator(s: Severity) -> &'static str {
    match s {
        Severity::High => "critical",
        Severity::Moderate => "warning",
        Severity::Low => "info",
    }
}

/// CDS Hooks limits a summary to 140 characters.
fn summary(text: &str) -> String {
    if text.chars().count() <= 140 {
        return text.to_string();
    }
    let mut s: String = text.chars().take(139).collect();
    s.push('…');
    s
}

fn source(label: &str, url: Option<&str>) -> Value {
    let mut m = Map::new();
    m.insert("label".into(), json!(label));
    if let Some(u) = url {
        m.insert("url".into(), json!(u));
    }
    Value::Object(m)
}

/// A card for a medication-safety finding. `order_id` is the id of the draft order in the hook
/// context; when given, high-severity cards carry a suggestion to remove it.
pub fn card_for_finding(f: &Finding, order_id: Option<&str>) -> Value {
    let names: Vec<&str> = f.ingredients.iter().map(|i| i.name.as_str()).collect();
    let head = match f.kind {
        FindingKind::Interaction => format!("Drug interaction: {}", names.join(" + ")),
        FindingKind::Allergy => format!("Allergy: {}", names.join(", ")),
        FindingKind::Duplicate => format!("Duplicate therapy: {}", names.join(" / ")),
    };
    let mut card = Map::new();
    card.insert("summary".into(), json!(summary(&head)));
    card.insert("indicator".into(), json!(indicator(f.severity)));
    card.insert("detail".into(), json!(format!("{}\n\nSeverity: {}. Rule: `{}`.", f.message, f.severity.as_str(), f.rule_id)));
    card.insert("source".into(), source(&f.source.label, f.source.url.as_deref()));
    if f.severity == Severity::High {
        if let Some(id) = order_id {
            card.insert(
                "suggestions".into(),
                json!([{ "label": "Remove this order", "actions": [{ "type": "delete", "description": "Cancel the draft order", "resourceId": [format!("MedicationRequest/{id}")] }] }]),
            );
            card.insert("selectionBehavior".into(), json!("at-most-one"));
        }
        card.insert("overrideReasons".into(), Value::Array(override_reasons()));
    }
    Value::Object(card)
}

/// Cards for a set of findings, most severe first.
pub fn cards_for_findings(findings: &[Finding], order_id: Option<&str>) -> Vec<Value> {
    let mut sorted: Vec<&Finding> = findings.iter().collect();
    sorted.sort_by_key(|f| std::cmp::Reverse(f.severity));
    sorted.into_iter().map(|f| card_for_finding(f, order_id)).collect()
}

/// A card for an open care gap (due or overdue); `None` for satisfied or not-applicable rules.
pub fn card_for_care_gap(g: &CareGap) -> Option<Value> {
    let (indicator, head, when) = match &g.status {
        GapStatus::Due { since } => ("info", format!("Due: {}", g.title), format!("Due since {since}.")),
        GapStatus::Overdue { since, due_since } => ("warning", format!("Overdue: {}", g.title), format!("Due since {due_since}, overdue since {since}.")),
        _ => return None,
    };
    let last = g
        .last_evidence
        .as_ref()
        .map(|e| format!(" Last on record: {} on {}.", e.evidence, e.date))
        .unwrap_or_else(|| " Nothing qualifying on record.".to_string());
    let label = format!("{} ({}, grade {}, {})", g.source.author, g.source.publisher, g.source.grade, g.source.version_date);
    Some(json!({
        "summary": summary(&head),
        "indicator": indicator,
        "detail": format!("{when}{last}\n\n{}", g.source.citation),
        "source": source(&label, Some(&g.source.url)),
    }))
}

/// Cards for every open gap.
pub fn cards_for_care_gaps(gaps: &[CareGap]) -> Vec<Value> {
    gaps.iter().filter_map(card_for_care_gap).collect()
}

/// The v3 ActCode for a finding kind, as DetectedIssue.code expects.
fn issue_code(kind: FindingKind) -> (&'static str, &'static str) {
    match kind {
        FindingKind::Interaction => ("DRG", "Drug Interaction Alert"),
        FindingKind::Allergy => ("ALGY", "Allergy Alert"),
        FindingKind::Duplicate => ("DUPTHPY", "Duplicate Therapy Alert"),
    }
}

/// What the engine needs to record an override.
#[derive(Debug, Clone)]
pub struct Override<'a> {
    /// `Patient/id`.
    pub patient: &'a str,
    /// The order (and anything else) the issue is about, as references (`MedicationRequest/id`).
    pub implicated: &'a [String],
    /// The reason chosen (a Coding as JSON, e.g. one of `override_reasons()`), if any.
    pub reason: Option<&'a Value>,
    /// Free-text justification.
    pub comment: Option<&'a str>,
    /// `Practitioner/id` of who overrode.
    pub author: Option<&'a str>,
    /// FHIR dateTime of the override.
    pub when: &'a str,
}

/// A `DetectedIssue` documenting a finding that was overridden.
pub fn detected_issue(f: &Finding, o: &Override<'_>) -> Value {
    let (code, display) = issue_code(f.kind);
    let mut implicated: Vec<Value> = o.implicated.iter().map(|r| json!({"reference": r})).collect();
    if let Some(other) = &f.conflicts_with
        && !o.implicated.contains(other) {
            implicated.push(json!({"reference": other}));
        }
    let mut action = Map::new();
    match o.reason {
        Some(coding) => {
            action.insert("coding".into(), json!([coding]));
            action.insert("text".into(), json!(o.comment.unwrap_or("Overridden by prescriber")));
        }
        None => {
            action.insert("text".into(), json!(o.comment.unwrap_or("Overridden by prescriber")));
        }
    }
    let mut mitigation = json!({ "action": Value::Object(action), "date": o.when });
    if let (Some(a), Some(m)) = (o.author, mitigation.as_object_mut()) {
        m.insert("author".into(), json!({"reference": a}));
    }
    let mut issue = json!({
        "resourceType": "DetectedIssue",
        "status": "final",
        "code": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": code, "display": display }], "text": f.rule_id },
        "severity": f.severity.as_str(),
        "patient": { "reference": o.patient },
        "identifiedDateTime": o.when,
        "implicated": implicated,
        "detail": f.message,
        "mitigation": [mitigation],
    });
    if let (Some(url), Some(m)) = (&f.source.url, issue.as_object_mut()) {
        m.insert("reference".into(), json!(url));
    }
    if let (Some(a), Some(m)) = (o.author, issue.as_object_mut()) {
        m.insert("author".into(), json!({"reference": a}));
    }
    issue
}
