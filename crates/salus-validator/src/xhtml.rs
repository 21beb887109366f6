//! Narrative XHTML (`Narrative.div`). The spec (txt-1, txt-2) limits the narrative to a safe
//! subset of XHTML: well-formed XML, a `div` root in the XHTML namespace, basic formatting
//! elements and attributes only (no `script`, `object`, `form`, no event attributes such as
//! `onclick`, no `javascript:` links), and some text or an image. Narrative is shown to
//! clinicians in browsers, so this is a security boundary as much as a format rule.
//! Entities: XML's five and numeric references only; HTML entities such as `&reg;` are not
//! XML and are refused (the parser rejects undefined entities and DTDs).

use crate::outcome::IssueType;
use crate::walk::Walker;

const XHTML_NS: &str = "http://www.w3.org/1999/xhtml";

/// Elements of the HTML 4 chapters the spec allows (the list the reference validator uses).
const ELEMENTS: &[&str] = &[
    "p", "br", "div", "h1", "h2", "h3", "h4", "h5", "h6", "a", "span", "b", "em", "i", "strong", "small", "big", "tt",
    "dfn", "q", "var", "abbr", "acronym", "cite", "blockquote", "hr", "address", "bdo", "kbd", "sub", "sup", "ul",
    "ol", "li", "dl", "dt", "dd", "pre", "table", "caption", "colgroup", "col", "thead", "tr", "tfoot", "tbody", "th",
    "td", "code", "samp", "img", "map", "area",
];

/// Attributes allowed on any element.
const ATTRIBUTES: &[&str] = &[
    "title", "style", "class", "id", "lang", "dir", "accesskey", "tabindex", "span", "width", "align", "valign",
    "char", "charoff", "abbr", "axis", "headers", "scope", "rowspan", "colspan",
];

/// Attributes allowed on one element (`element.attribute`).
const ELEMENT_ATTRIBUTES: &[&str] = &[
    "a.href", "a.name", "a.charset", "a.type", "a.hreflang", "a.rel", "a.rev", "a.shape", "a.coords", "img.src",
    "img.border", "img.alt", "img.longdesc", "img.height", "img.width", "img.usemap", "img.ismap", "map.name",
    "area.shape", "area.coords", "area.href", "area.nohref", "area.alt", "table.summary", "table.width",
    "table.border", "table.frame", "table.rules", "table.cellspacing", "table.cellpadding", "pre.space", "td.nowrap",
    "blockquote.cite", "q.cite", "ol.start", "ol.type", "ul.type", "li.value", "th.nowrap",
];

pub fn check_narrative(w: &mut Walker, text: &str) {
    let options = roxmltree::ParsingOptions { allow_dtd: false, ..Default::default() };
    let doc = match roxmltree::Document::parse_with_options(text, options) {
        Ok(doc) => doc,
        Err(e) => {
            w.error(IssueType::Invalid, format!("the narrative is not well-formed XHTML: {e}"));
            return;
        }
    };
    let root = doc.root_element();
    if root.tag_name().name() != "div" || root.tag_name().namespace() != Some(XHTML_NS) {
        w.error(
            IssueType::Invalid,
            "the narrative must be a <div> in the XHTML namespace (xmlns=\"http://www.w3.org/1999/xhtml\")",
        );
        return;
    }
    let mut has_content = false;
    for node in root.descendants() {
        if node.is_text() {
            has_content |= node.text().is_some_and(|t| !t.trim().is_empty());
            continue;
        }
        if !node.is_element() {
            continue;
        }
        let name = node.tag_name().name();
        if node.tag_name().namespace() != Some(XHTML_NS) || !ELEMENTS.contains(&name) {
            w.error(IssueType::Invalid, format!("txt-1: the element <{name}> is not allowed in a narrative"));
            continue;
        }
        has_content |= name == "img";
        for attr in node.attributes() {
            let a = attr.name();
            let xml_ns = attr.namespace() == Some("http://www.w3.org/XML/1998/namespace");
            let allowed = (xml_ns && matches!(a, "lang" | "space"))
                || (attr.namespace().is_none()
                    && (ATTRIBUTES.contains(&a)
                        || ELEMENT_ATTRIBUTES.iter().any(|ea| ea.split_once('.') == Some((name, a)))));
            if !allowed {
                w.error(IssueType::Invalid, format!("txt-1: the attribute '{a}' is not allowed on <{name}> in a narrative"));
            } else if matches!(a, "href" | "src") && is_script_url(attr.value()) {
                w.error(IssueType::Security, format!("txt-1: <{name} {a}> must not run script"));
            }
        }
    }
    if !has_content {
        w.error(IssueType::Invariant, "txt-2: the narrative must have some non-whitespace content");
    }
}

fn is_script_url(v: &str) -> bool {
    let v: String = v.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_lowercase();
    v.starts_with("javascript:") || v.starts_with("vbscript:") || v.starts_with("data:text/html")
}
