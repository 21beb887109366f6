//! The structure walk: one pass over a resource's JSON against the compiled tables. It checks
//! property names, JSON shapes (array or not, object or primitive), cardinality, primitive
//! formats and the FHIR JSON rules (no `null`, no empty objects, arrays or strings, `_name`
//! companions aligned with their values), and hands typed nodes to the other modules
//! (references, extensions, bindings, xhtml, resource rules).
//!
//! The instance path (`Patient.name[0].given[1]`) is a stack of parts that grows and shrinks
//! as the walk descends and is written out only for an issue (see `path`), and the cardinality
//! counters live in one reusable vector, so a valid resource costs no allocation beyond the
//! walker itself.

use crate::outcome::{Issue, IssueType, Severity};
use crate::primitives::{self, Prim};
use crate::path::InstancePath;
use crate::schema::{Elem, Kind, Prop, Schema, StructId, Ty};
use crate::{Options, bindings, extensions, invariants, references, rules, xhtml};
use salus_fhir::Definitions;
use serde_json::{Map, Value};

const MAX_DEPTH: usize = 200;

/// Where a resource sits, which decides the rules that apply to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The resource being written.
    Root,
    /// In `contained`: needs an id, no nested contained, no versionId/lastUpdated.
    Contained,
    /// A resource inside another one (`Bundle.entry.resource`, `Parameters.parameter.resource`):
    /// validated as a resource in its own right.
    Nested,
}

/// The element an object or extension hangs on, for extension context checks: its type
/// (`HumanName`, `date`) and its definition path (`Patient.name`, `Patient.birthDate`).
#[derive(Debug, Clone, Copy)]
pub struct Ctx {
    pub type_name: &'static str,
    pub via: &'static str,
    /// For an element defined by contentReference (`CapabilityStatement.rest.operation`), the
    /// referenced definition path (`CapabilityStatement.rest.resource.operation`); else `via`.
    pub alt: &'static str,
}

/// A local reference (`#id`) met while walking a resource, resolved when the resource ends.
pub struct LocalRef {
    pub target: String,
    pub path: String,
    /// Index of the contained resource the reference was found in, if any.
    pub from_contained: Option<usize>,
    pub targets: &'static [&'static str],
    /// A Reference must resolve (ref-1); a `#id` in a uri or canonical only counts as a
    /// use of the contained resource (dom-3), since `#` also starts other fragments.
    pub must_resolve: bool,
}

/// Per-resource state for the rules that span the resource (contained resources and the local
/// references to them).
#[derive(Default)]
pub struct Frame {
    pub contained: Vec<(String, &'static str, String)>, // id, type, path
    pub local_refs: Vec<LocalRef>,
    pub current_contained: Option<usize>,
}

pub struct Walker<'o, 'v> {
    pub schema: &'static Schema,
    pub defs: &'static Definitions,
    pub opts: &'o Options,
    pub issues: Vec<Issue>,
    pub path: InstancePath,
    counts: Vec<u32>,
    pub frames: Vec<Frame>,
    depth: usize,
    /// The resources being walked, outermost first, for `%resource` and `%rootResource`.
    pub resources: Vec<(&'v Value, Role)>,
}

impl<'o, 'v> Walker<'o, 'v> {
    pub fn new(schema: &'static Schema, defs: &'static Definitions, opts: &'o Options) -> Self {
        Walker {
            schema,
            defs,
            opts,
            issues: Vec::new(),
            path: InstancePath::with_capacity(32),
            counts: Vec::with_capacity(256),
            frames: Vec::new(),
            resources: Vec::new(),
            depth: 0,
        }
    }

    pub fn issue(&mut self, severity: Severity, code: IssueType, message: impl Into<String>) {
        self.issues.push(Issue {
            severity,
            code,
            expression: self.path.render(""),
            message: message.into(),
            location: None,
        });
    }

    /// Reports at a path written out earlier (a local reference, a contained resource).
    pub fn error_at_path(&mut self, path: &str, code: IssueType, message: impl Into<String>) {
        self.issues.push(Issue {
            severity: Severity::Error,
            code,
            expression: path.to_string(),
            message: message.into(),
            location: None,
        });
    }

    pub fn error(&mut self, code: IssueType, message: impl Into<String>) {
        self.issue(Severity::Error, code, message);
    }

    /// Reports at `path + suffix` without changing the current path.
    pub fn error_at(&mut self, suffix: &str, code: IssueType, message: impl Into<String>) {
        let path = self.path.render(suffix);
        self.error_at_path(&path, code, message);
    }

    /// Validates a resource: its type, its content, and the rules that span it.
    pub fn walk_resource(&mut self, value: &'v Value, expected: Option<&str>, role: Role) {
        let Value::Object(obj) = value else {
            self.error(IssueType::Structure, format!("a resource must be a JSON object, not {}", primitives::json_kind_of(value)));
            return;
        };
        let Some(rt) = obj.get("resourceType") else {
            self.error(IssueType::Required, "the resource has no resourceType: add \"resourceType\": \"<type>\"");
            return;
        };
        let Some(rt) = rt.as_str() else {
            self.error(IssueType::Structure, "resourceType must be a string");
            return;
        };
        let Some(sid) = self.schema.resource(rt) else {
            self.error(IssueType::NotSupported, format!("'{}' is not a FHIR R4 resource type", primitives::abbreviate(rt)));
            return;
        };
        if let Some(expected) = expected
            && expected != rt {
                self.error(IssueType::Structure, format!("a {expected} is expected here, not a {rt}"));
            }
        // The struct's type name is `rt` itself (the tables are keyed by it), borrowed for good.
        let type_name = self.schema.get(sid).type_name;
        if self.path.is_empty() {
            self.path.push_root(type_name);
        }
        // A contained resource shares its container's frame: `#id` references resolve there.
        let mut saved_current = None;
        if role == Role::Contained {
            rules::contained_rules(self, obj, type_name);
            let path = self.path.render("");
            if let Some(frame) = self.frames.last_mut() {
                let id = obj.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
                frame.contained.push((id, type_name, path));
                saved_current = Some(frame.current_contained.replace(frame.contained.len() - 1));
            }
        } else {
            self.frames.push(Frame::default());
        }
        rules::resource_id(self, obj, role);
        self.resources.push((value, role));
        self.walk_object(value, obj, sid, Ctx { type_name, via: type_name, alt: type_name });
        rules::resource_rules(self, obj, type_name);
        self.resources.pop();
        if role == Role::Contained {
            if let (Some(frame), Some(previous)) = (self.frames.last_mut(), saved_current) {
                frame.current_contained = previous;
            }
        } else if let Some(frame) = self.frames.pop() {
            references::resolve_local(self, frame);
        }
    }

    /// Walks the properties of one JSON object that is an instance of struct `sid`.
    pub fn walk_object(&mut self, node: &'v Value, obj: &'v Map<String, Value>, sid: StructId, ctx: Ctx) {
        let st = self.schema.get(sid);
        // serde_json stops parsing at 128 levels; values built in code are not limited, and
        // the walk recurses, so it stops too (FHIR data is never this deep).
        if self.depth >= MAX_DEPTH {
            self.error(IssueType::TooLong, format!("the resource is nested more than {MAX_DEPTH} levels deep"));
            return;
        }
        if obj.is_empty() {
            self.error(IssueType::Structure, "an object must not be empty: leave the property out instead");
            return;
        }
        let base = self.counts.len();
        self.counts.resize(base + st.elems.len(), 0);
        self.depth += 1;
        let mut has_content = false;
        // Most objects have no `_name` companion: one pass over the keys (which the loop
        // below reads anyway) saves a hash lookup per primitive property.
        let has_companions = obj.keys().any(|k| k.starts_with('_'));
        // Whether a count went over its maximum: with none, and every required element
        // present, the cardinality pass below has nothing to report and is skipped.
        let mut over = false;
        for (key, value) in obj {
            if st.is_resource && key == "resourceType" {
                continue;
            }
            let (name, companion) = match key.strip_prefix('_') {
                Some(name) => (name, true),
                None => (key.as_str(), false),
            };
            let Some(prop) = st.props.get(name) else {
                let msg = format!("unrecognized property '{key}'");
                self.error(IssueType::Structure, msg);
                continue;
            };
            let elem = &st.elems[prop.slot as usize];
            if name != "id" {
                has_content = true;
            }
            let mark = self.path.mark();
            self.path.push_property(prop, elem.name);
            let n = if companion {
                match prop.ty {
                    Ty::Primitive(p) => {
                        let paired = obj.get(name);
                        let n = self.walk_companion(value, elem, p, paired);
                        if paired.is_some() { 0 } else { n }
                    }
                    _ => {
                        self.error(IssueType::Structure, format!("'{key}': only primitive elements have a '_' companion"));
                        0
                    }
                }
            } else {
                let companion =
                    if has_companions && matches!(prop.ty, Ty::Primitive(_)) { companion_of(obj, name) } else { None };
                self.walk_value(value, prop, elem, companion, ctx)
            };
            self.path.truncate(mark);
            let count = &mut self.counts[base + prop.slot as usize];
            *count += n;
            over |= elem.max.is_some_and(|max| *count > max);
        }
        self.depth -= 1;
        if !has_content && !st.is_resource {
            self.error(IssueType::Invariant, "ele-1: an element must have a value or children other than id");
        }
        let counts = &self.counts[base..];
        let missing = st.required.iter().any(|&(slot, min)| counts[usize::from(slot)] < min);
        for (i, elem) in st.elems.iter().enumerate().filter(|_| over || missing) {
            let count = self.counts[base + i];
            if count < elem.min {
                let name = elem.name;
                self.error_at(
                    &format!(".{name}"),
                    IssueType::Required,
                    format!("{}: minimum required = {}, but only found {count}", elem.path, elem.min),
                );
            } else if elem.max.is_some_and(|max| count > max) {
                let msg = if elem.is_choice {
                    format!("{}: only one of the {}[x] types may be present", elem.path, elem.name)
                } else {
                    format!("{}: maximum allowed = {}, but found {count}", elem.path, elem.max.unwrap_or(0))
                };
                self.error_at(&format!(".{}", elem.name), IssueType::Structure, msg);
            }
        }
        self.counts.truncate(base);
        if !st.invariants.is_empty() {
            invariants::check(self, node, &st.invariants, st.type_name, st.name, Some(st));
        }
    }

    /// Walks the value of one property; returns how many items it holds (for cardinality).
    fn walk_value(&mut self, value: &'v Value, prop: &Prop, elem: &'static Elem, companion: Option<&Value>, ctx: Ctx) -> u32 {
        match value {
            Value::Array(items) => {
                if !elem.is_array {
                    self.error(IssueType::Structure, format!("{} is a single value, not a JSON array", elem.path));
                    return items.len() as u32;
                }
                if items.is_empty() {
                    self.error(IssueType::Structure, "an array must not be empty: leave the property out instead");
                    return 0;
                }
                let companions = companion.and_then(Value::as_array);
                let mark = self.path.mark();
                for (i, item) in items.iter().enumerate() {
                    self.path.push_index(i);
                    let paired = companions.and_then(|c| c.get(i)).filter(|v| !v.is_null());
                    self.walk_item(item, prop, elem, paired.is_some(), ctx);
                    self.path.truncate(mark);
                }
                items.len() as u32
            }
            _ => {
                if elem.is_array {
                    self.error(IssueType::Structure, format!("{} must be a JSON array, not {}", elem.path, primitives::json_kind_of(value)));
                }
                self.walk_item(value, prop, elem, companion.is_some(), ctx);
                1
            }
        }
    }

    fn walk_item(&mut self, item: &'v Value, prop: &Prop, elem: &'static Elem, has_companion: bool, ctx: Ctx) {
        if !elem.invariants.is_empty() && !item.is_null() {
            let st = match prop.ty {
                Ty::Complex(sid) => Some(self.schema.get(sid)),
                _ => None,
            };
            invariants::check(self, item, &elem.invariants, prop.type_name, prop.type_name, st);
        }
        match prop.ty {
            Ty::Primitive(p) | Ty::Attribute(p) => {
                if item.is_null() {
                    if !has_companion {
                        self.error(IssueType::Structure, "null is not allowed in FHIR JSON (except to align an array with its '_' companion)");
                    }
                    return;
                }
                self.check_primitive(item, p, elem);
            }
            Ty::Complex(sid) => {
                let Value::Object(obj) = item else {
                    let tn = self.schema.get(sid).type_name;
                    self.error(IssueType::Structure, format!("a {tn} must be a JSON object, not {}", primitives::json_kind_of(item)));
                    return;
                };
                let st = self.schema.get(sid);
                // Inline structures are known by their own definition path, which for a
                // contentReference (`PlanDefinition.action.action`) is the referenced one.
                let alt = if st.kind == Kind::Inline { st.name } else { elem.path };
                let here = Ctx { type_name: st.type_name, via: elem.path, alt };
                self.walk_object(item, obj, sid, here);
                match st.kind {
                    Kind::Reference => references::check_reference(self, obj, elem),
                    Kind::Extension => extensions::check_extension(self, obj, ctx, elem.is_modifier_extension),
                    Kind::Coding | Kind::CodeableConcept if elem.required_vs.is_some() => {
                        bindings::check_coded(self, obj, st.type_name, elem)
                    }
                    Kind::Attachment => rules::attachment(self, obj),
                    _ => {}
                }
            }
            Ty::Resource(expected) => {
                let role = if elem.is_contained { Role::Contained } else { Role::Nested };
                if role == Role::Contained && !self.opts.validate_contained {
                    return;
                }
                self.walk_resource(item, expected, role);
            }
        }
    }

    fn check_primitive(&mut self, item: &Value, p: Prim, elem: &'static Elem) {
        if let Err(msg) = primitives::check(p, item) {
            self.error(IssueType::Invalid, msg);
            return;
        }
        let Value::String(s) = item else { return };
        if let Some(max) = elem.max_length
            && s.chars().count() > max as usize {
                self.error(IssueType::TooLong, format!("the value is longer than the {max} characters allowed"));
            }
        match p {
            Prim::Xhtml => xhtml::check_narrative(self, s),
            Prim::Code | Prim::String | Prim::Uri if elem.required_vs.is_some() => bindings::check_code(self, s, elem),
            Prim::Uri | Prim::Url | Prim::Canonical if s.starts_with('#') => references::record_local(self, "", &s[1..], &[], false),
            Prim::String if self.opts.security_checks => rules::security_string(self, s),
            Prim::Markdown if self.opts.no_html_in_markdown => rules::markdown_html(self, s),
            _ => {}
        }
        if !self.opts.allow_example_urls && p.is_uri_like() && rules::is_example_url(s) {
            self.error(IssueType::Invalid, format!("example URLs are not allowed in this context ({s})"));
        }
    }

    /// Walks a `_name` companion (the id and extensions of a primitive); returns its item count.
    fn walk_companion(&mut self, value: &'v Value, elem: &'static Elem, p: Prim, paired: Option<&Value>) -> u32 {
        let ctx = Ctx { type_name: p.code(), via: elem.path, alt: elem.path };
        let sid = self.schema.primitive_element;
        match value {
            Value::Array(items) if elem.is_array => {
                if let Some(values) = paired.and_then(Value::as_array)
                    && values.len() != items.len() {
                        self.error(IssueType::Structure, format!("the '_' companion has {} items but the value array has {}", items.len(), values.len()));
                    }
                let mark = self.path.mark();
                for (i, item) in items.iter().enumerate() {
                    self.path.push_index(i);
                    match item {
                        Value::Null => {
                            let value_missing = paired.and_then(Value::as_array).and_then(|v| v.get(i)).is_none_or(Value::is_null);
                            if value_missing {
                                self.error(IssueType::Structure, "a primitive must have a value or an id/extension, not null in both arrays");
                            }
                        }
                        Value::Object(obj) => self.walk_object(item, obj, sid, ctx),
                        other => self.error(IssueType::Structure, format!("a primitive's '_' companion must be an object, not {}", primitives::json_kind_of(other))),
                    }
                    self.path.truncate(mark);
                }
                items.len() as u32
            }
            Value::Object(obj) if !elem.is_array => {
                self.walk_object(value, obj, sid, ctx);
                1
            }
            other => {
                let want = if elem.is_array { "an array" } else { "an object" };
                self.error(IssueType::Structure, format!("the '_' companion must be {want}, not {}", primitives::json_kind_of(other)));
                0
            }
        }
    }
}

/// The `_name` companion of a primitive property, looked up without allocating the key.
fn companion_of<'v>(obj: &'v Map<String, Value>, name: &str) -> Option<&'v Value> {
    let mut buf = [0u8; 96];
    let n = name.len() + 1;
    if n > buf.len() {
        return obj.get(&format!("_{name}"));
    }
    buf[0] = b'_';
    buf[1..n].copy_from_slice(name.as_bytes());
    std::str::from_utf8(&buf[..n]).ok().and_then(|key| obj.get(key))
}
