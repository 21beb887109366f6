//! Behaviour the official suite covers thinly: model typing, choice elements, primitive
//! extensions, variables, `resolve()`, `memberOf` through the hook, quantities, date
//! arithmetic, error positions, strictness, and reuse of one context across resources.

use salus_fhirpath::{Context, Expression, Terminology, Value};
use serde_json::{Value as Json, json};

fn eval(expr: &str, resource: &Json) -> Vec<String> {
    let out = Expression::parse(expr).unwrap().evaluate(resource, &Context::r4()).unwrap();
    out.iter().map(|v| v.to_text().map(|t| t.into_owned()).unwrap_or_else(|| v.to_json().to_string())).collect()
}

fn types(expr: &str, resource: &Json) -> Vec<String> {
    let out = Expression::parse(expr).unwrap().evaluate(resource, &Context::r4()).unwrap();
    out.iter().map(Value::qualified_type).collect()
}

fn observation() -> Json {
    // parsed from text so that 72.50 keeps its digits (json! would go through f64)
    let text = r##"{
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
        "subject": {"reference": "#p1"},
        "contained": [{"resourceType": "Patient", "id": "p1", "gender": "female"}],
        "effectiveDateTime": "2024-03-01T10:30:00+01:00",
        "valueQuantity": {"value": 72.50, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"},
        "component": [
            {"code": {"text": "a"}, "valueString": "x", "_valueString": {"id": "c1"}},
            {"code": {"text": "b"}, "valueBoolean": false}
        ]
    }"##;
    serde_json::from_str(text).unwrap()
}

#[test]
fn choice_elements_resolve_through_the_model() {
    let o = observation();
    assert_eq!(eval("Observation.value.value", &o), ["72.50"]);
    assert_eq!(types("Observation.value", &o), ["FHIR.Quantity"]);
    assert_eq!(types("Observation.effective", &o), ["FHIR.dateTime"]);
    assert_eq!(eval("component.value.ofType(boolean)", &o), ["false"]);
    assert_eq!(eval("component.value.ofType(string).id", &o), ["c1"]);
    assert_eq!(eval("Observation.value > 70 'kg'", &o), ["true"]);
    assert_eq!(eval("Observation.value = 72500 'g'", &o), ["true"]);
    // a typed name of a choice element is an error the specification requires
    assert!(Expression::parse("Observation.valueQuantity").unwrap().evaluate(&o, &Context::r4()).is_err());
}

#[test]
fn decimals_keep_their_digits() {
    let o = observation();
    assert_eq!(eval("Observation.value.value", &o), ["72.50"]);
    assert_eq!(eval("Observation.value.value + 0.25", &o), ["72.75"]);
    assert_eq!(eval("0.1 + 0.2 = 0.3", &o), ["true"]);
    assert_eq!(eval("1.50 * 2", &o), ["3.00"]);
    assert_eq!(eval("10 / 4", &o), ["2.5"]);
}

#[test]
fn date_times_compare_across_offsets_and_precision() {
    let o = observation();
    assert_eq!(eval("effective > @2024-03-01T09:00:00Z", &o), ["true"]);
    assert_eq!(eval("effective < @2024-03-01T10:00:00Z", &o), ["true"]);
    assert_eq!(eval("effective = @2024-03-01T09:30:00Z", &o), ["true"]);
    assert!(eval("effective > @2024-03-01", &o).is_empty(), "day precision cannot decide");
    assert_eq!(eval("effective > @2024-02", &o), ["true"]);
    assert_eq!(eval("@2024-01-31 + 1 month", &o), ["2024-02-29"]);
    assert_eq!(eval("@2024-03-01T10:00:00Z - 90 minutes", &o), ["2024-03-01T08:30:00Z"]);
}

#[test]
fn resolve_finds_contained_resources_and_bundle_entries() {
    let o = observation();
    assert_eq!(eval("subject.resolve().gender", &o), ["female"]);
    assert_eq!(types("subject.resolve()", &o), ["FHIR.Patient"]);
    let bundle = json!({
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Patient", "id": "a", "active": true}},
            {"fullUrl": "urn:uuid:2", "resource": {"resourceType": "Encounter", "id": "e",
                "subject": {"reference": "Patient/a"}}}
        ]
    });
    assert_eq!(eval("Bundle.entry.resource.ofType(Encounter).subject.resolve().active", &bundle), ["true"]);
    assert_eq!(types("Bundle.entry.resource", &bundle), ["FHIR.Patient", "FHIR.Encounter"]);
}

#[test]
fn variables_and_environment() {
    let o = observation();
    let expr = Expression::parse("%limit < Observation.value.value and %ucum = value.system").unwrap();
    let ctx = Context::r4().with_variable("limit", vec![Value::Integer(70)]);
    assert_eq!(expr.evaluate_bool(&o, &ctx).unwrap(), Some(true));
    assert!(Expression::parse("%missing").unwrap().evaluate(&o, &Context::r4()).is_err());
    assert_eq!(eval("%resource.id", &o), ["o1"]);
    assert_eq!(eval("%`vs-administrative-gender`", &o), ["http://hl7.org/fhir/ValueSet/administrative-gender"]);
}

struct OnlyLoinc;
impl Terminology for OnlyLoinc {
    fn member_of(&self, value_set: &str, system: Option<&str>, _code: &str) -> Option<bool> {
        (value_set == "http://example.org/vs").then(|| system == Some("http://loinc.org"))
    }
}

#[test]
fn member_of_uses_the_terminology_hook() {
    let o = observation();
    let hook = OnlyLoinc;
    let ctx = Context::r4().with_terminology(&hook);
    let expr = Expression::parse("code.memberOf('http://example.org/vs')").unwrap();
    assert_eq!(expr.evaluate_bool(&o, &ctx).unwrap(), Some(true));
    let unknown = Expression::parse("code.memberOf('http://example.org/other')").unwrap();
    assert_eq!(unknown.evaluate_bool(&o, &ctx).unwrap(), None, "unknown value set: empty");
    // without a hook: empty, not an error
    assert_eq!(unknown.evaluate_bool(&o, &Context::new()).unwrap(), None);
    // the built-in R4 expansions answer required bindings
    let p = json!({"resourceType": "Patient", "gender": "other"});
    let gender = Expression::parse("gender.memberOf('http://hl7.org/fhir/ValueSet/administrative-gender')").unwrap();
    assert_eq!(gender.evaluate_bool(&p, &Context::r4()).unwrap(), Some(true));
}

#[test]
fn primitive_extensions_and_has_value() {
    let p = json!({
        "resourceType": "Patient",
        "birthDate": "1970-01-01",
        "_birthDate": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime",
            "valueDateTime": "1970-01-01T08:00:00Z"}]},
        "name": [{"given": ["A", null], "_given": [null, {"extension": [{"url": "u", "valueString": "x"}]}]}]
    });
    assert_eq!(eval("birthDate.extension(%`ext-patient-birthTime`).value", &p), ["1970-01-01T08:00:00Z"]);
    assert_eq!(eval("name.given.hasValue()", &p), ["false"], "several items");
    assert_eq!(eval("name.given.select(hasValue())", &p), ["true", "false"]);
    assert_eq!(eval("name.given[1].extension.url", &p), ["u"]);
    assert_eq!(eval("birthDate.getValue()", &p), ["1970-01-01"]);
    assert_eq!(types("birthDate.getValue()", &p), ["System.Date"]);
}

#[test]
fn errors_carry_positions() {
    let err = Expression::parse("name.given.where(").unwrap_err();
    assert!(err.position >= 16, "{err}");
    let err = Expression::parse("name.nosuchfunction()").unwrap_err();
    assert_eq!(err.position, 5);
    let p = json!({"resourceType": "Patient", "name": [{"given": ["a", "b"]}]});
    let err = Expression::parse("name.given.single()").unwrap().evaluate(&p, &Context::r4()).unwrap_err();
    assert_eq!(err.position, 11);
}

#[test]
fn strict_mode_rejects_unknown_elements() {
    let p = json!({"resourceType": "Patient"});
    let e = Expression::parse("Patient.nmae").unwrap();
    assert!(e.evaluate(&p, &Context::r4()).unwrap().is_empty());
    assert!(e.evaluate(&p, &Context::r4().strict(true)).is_err());
}

#[test]
fn one_context_serves_many_resources() {
    let ctx = Context::r4();
    let expr = Expression::parse("Patient.name.family").unwrap();
    for i in 0..3 {
        let p = json!({"resourceType": "Patient", "name": [{"family": format!("F{i}")}]});
        assert_eq!(expr.evaluate(&p, &ctx).unwrap().len(), 1);
    }
}

#[test]
fn untyped_json_without_a_model() {
    let j = json!({"a": {"b": [1, 2.5, "x"]}, "valueString": "v"});
    let out = Expression::parse("a.b").unwrap().evaluate(&j, &Context::new()).unwrap();
    let kinds: Vec<_> = out.iter().map(|v| v.system().qualified_type()).collect();
    assert_eq!(kinds, ["System.Integer", "System.Decimal", "System.String"]);
    let out = Expression::parse("value").unwrap().evaluate(&j, &Context::new()).unwrap();
    assert_eq!(out.len(), 1);
}

#[test]
fn quantities_convert_between_units() {
    let j = json!({});
    assert_eq!(eval("1 'kg' = 1000 'g'", &j), ["true"]);
    assert_eq!(eval("1 '[lb_av]' > 450 'g'", &j), ["true"]);
    assert_eq!(eval("37 'Cel' = 37 'Cel'", &j), ["true"]);
    assert_eq!(eval("1 'L' = 1000 'mL'", &j), ["true"]);
    assert_eq!(eval("120 'mm[Hg]' > 15 'kPa'", &j), ["true"]);
    assert!(eval("1 'kg' = 1 'm'", &j).is_empty(), "incomparable units");
    assert!(eval("1 year = 1 'a'", &j).is_empty(), "calendar year is not UCUM a");
    assert_eq!(eval("1 year ~ 1 'a'", &j), ["true"]);
    assert_eq!(eval("(3 'mg' + 2 'g').toString()", &j), ["2003 'mg'"]);
    assert_eq!(eval("5 'mg'.toQuantity('g').value", &j), ["0.005"]);
}

#[test]
fn define_variable_names_a_value_for_the_rest_of_the_chain() {
    let p = json!({"resourceType": "Patient", "name": [{"family": "F", "given": ["A", "B"]}]});
    assert_eq!(eval("defineVariable('fam', name.family).name.given.select(%fam & ' ' & $this)", &p), ["F A", "F B"]);
    assert_eq!(eval("name.defineVariable('n').select(%n.given.count())", &p), ["2"]);
    let twice = Expression::parse("defineVariable('x', 1).defineVariable('x', 2)").unwrap();
    assert!(twice.evaluate(&p, &Context::r4()).is_err());
}

#[test]
fn compiled_expressions_and_contexts_can_be_shared_across_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<Expression>();
    shared::<Context<'static>>();
    let expr = std::sync::Arc::new(Expression::parse("Patient.name.given.count()").unwrap());
    let handles: Vec<_> = (0..2)
        .map(|i| {
            let expr = expr.clone();
            std::thread::spawn(move || {
                let p = json!({"resourceType": "Patient", "name": [{"given": vec!["x"; i + 1]}]});
                expr.evaluate(&p, &Context::r4()).unwrap()[0].to_text().unwrap().into_owned()
            })
        })
        .collect();
    let counts: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(counts, ["1", "2"]);
}

#[test]
fn typed_nodes_for_elements_reached_outside_the_engine() {
    use salus_fhirpath::{FhirModel, Node};
    let name = json!({"family": "F", "given": ["A"], "use": "official"});
    let node = Node::of_type(&name, "HumanName", FhirModel::r4()).unwrap();
    let out = Expression::parse("use").unwrap().evaluate_on(vec![Value::Node(node)], &Context::r4()).unwrap();
    assert_eq!(out[0].qualified_type(), "FHIR.code");
    assert_eq!(out[0].to_string(), "official");
    assert!(Node::of_type(&name, "NoSuchType", FhirModel::r4()).is_none());
}

#[test]
fn typed_references_let_search_parameters_test_the_target_type() {
    let enc = json!({"resourceType": "Encounter", "subject": {"reference": "Patient/1"},
        "participant": [{"individual": {"reference": "http://x.org/fhir/Practitioner/2/_history/3"}}]});
    let expr = Expression::parse("Encounter.subject.where(resolve() is Patient)").unwrap();
    assert!(expr.evaluate(&enc, &Context::r4()).unwrap().is_empty(), "the specification drops unresolved references");
    let ctx = Context::r4().typed_references(true);
    assert_eq!(expr.evaluate(&enc, &ctx).unwrap().len(), 1);
    let who = Expression::parse("participant.individual.resolve().type().name").unwrap();
    assert_eq!(who.evaluate(&enc, &ctx).unwrap()[0].to_string(), "Practitioner");
    let gone = Expression::parse("subject.resolve().name").unwrap();
    assert!(gone.evaluate(&enc, &ctx).unwrap().is_empty());
}
