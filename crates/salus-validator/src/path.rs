//! The instance path of the node being walked (`Patient.name[0].given[1]`,
//! `Observation.value.ofType(Quantity)`), kept as a stack of parts that all borrow the tables,
//! and written out only when something needs the text: an issue, a local reference, a contained
//! resource. A valid resource never needs it, and pushing a part costs a few stores where
//! appending text cost a copy and, for each array item, number formatting.

use crate::schema::Prop;
use std::fmt::Write;

#[derive(Debug, Clone, Copy)]
enum Part {
    /// The resource type the path starts with.
    Root(&'static str),
    /// `.name`
    Name(&'static str),
    /// `.name.ofType(Type)` of a choice property.
    Choice(&'static Prop),
    /// `[i]`
    Index(usize),
}

#[derive(Debug, Default)]
pub struct InstancePath {
    parts: Vec<Part>,
}

/// A position in the path to return to (see [`InstancePath::truncate`]).
#[derive(Debug, Clone, Copy)]
pub struct Mark(usize);

impl InstancePath {
    pub fn with_capacity(n: usize) -> Self {
        InstancePath { parts: Vec::with_capacity(n) }
    }

    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    pub fn mark(&self) -> Mark {
        Mark(self.parts.len())
    }

    pub fn truncate(&mut self, mark: Mark) {
        self.parts.truncate(mark.0);
    }

    pub fn push_root(&mut self, resource_type: &'static str) {
        self.parts.push(Part::Root(resource_type));
    }

    pub fn push_name(&mut self, name: &'static str) {
        self.parts.push(Part::Name(name));
    }

    /// A property: by its element name, or `name.ofType(Type)` for a choice.
    pub fn push_property(&mut self, prop: &'static Prop, name: &'static str) {
        self.parts.push(if prop.choice_of.is_some() { Part::Choice(prop) } else { Part::Name(name) });
    }

    pub fn push_index(&mut self, i: usize) {
        self.parts.push(Part::Index(i));
    }

    /// The path as text, with `suffix` appended.
    pub fn render(&self, suffix: &str) -> String {
        let mut out = String::with_capacity(64);
        for part in &self.parts {
            match *part {
                Part::Root(name) => out.push_str(name),
                Part::Name(name) => {
                    out.push('.');
                    out.push_str(name);
                }
                Part::Choice(prop) => {
                    out.push('.');
                    out.push_str(prop.choice_of.unwrap_or_default());
                    out.push_str(".ofType(");
                    out.push_str(prop.type_name);
                    out.push(')');
                }
                Part::Index(i) => {
                    let _ = write!(out, "[{i}]");
                }
            }
        }
        out.push_str(suffix);
        out
    }
}
