//! Pull-parses one UIMA CAS XMI document into a [`Cas`]: its sofas, views and the feature
//! structures the caller asks to keep.
//!
//! The document is read event by event (quick-xml); only feature structures whose type the
//! caller keeps are stored, with their features borrowed from the document text (copied only
//! when XML escapes or whitespace normalisation change them), so memory and time stay
//! proportional to what the reader uses. Namespaces are resolved against the root's
//! declarations (and any a top-level element adds), once per element name. Every `xmi:id` is
//! remembered so references can be checked. Anything that makes the document unusable (not well-formed or truncated XML, a root or element
//! outside the UIMA namespaces, an element without an integer `xmi:id`) is an [`XmiError`]
//! naming the line; deciding what to do with the content is the reader's job.

use super::{line_at, type_name_of, CAS_NS, XMI_NS};
use quick_xml::events::attributes::{Attribute, Attributes};
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::QName;
use quick_xml::{Reader, XmlVersion};
use std::borrow::Cow;
use std::collections::HashMap;

/// A document that cannot be used, with the line and a short reason code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct XmiError {
    /// 1-based line of the problem.
    pub line: u64,
    /// Machine-readable reason (`xml_syntax`, `truncated`, `wrong_namespace`, …).
    pub reason: &'static str,
    /// What was expected.
    pub message: String,
}

/// A subject of analysis: the text (or other data) annotations point into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sofa {
    /// Its `xmi:id`.
    pub xmi_id: u64,
    /// `sofaNum` (1 for the initial view).
    pub num: u32,
    /// `sofaID`, the view name (`_InitialView`).
    pub id: String,
    /// `sofaString`, when the sofa holds text.
    pub text: Option<String>,
    /// Line of the element.
    pub line: u64,
}

/// A view: a sofa and the feature structures indexed in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    /// `xmi:id` of its sofa; `None` for the base view.
    pub sofa: Option<u64>,
    /// `xmi:id`s of its members, in document order.
    pub members: Vec<u64>,
    /// Line of the element.
    pub line: u64,
}

/// A kept feature structure: its type and features as they appear in the XMI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fs<'a> {
    /// Its `xmi:id`.
    pub xmi_id: u64,
    /// Index of its type name in [`Cas::type_names`].
    pub type_id: u32,
    /// Line of the element.
    pub line: u64,
    /// Features: attributes and child elements, as (name, normalised value).
    pub features: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> Fs<'a> {
    /// The first value of feature `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.features.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_ref())
    }

    /// The `xmi:id`s a reference feature holds (one, or several separated by spaces).
    pub fn refs<'s>(&'s self, name: &'s str) -> impl Iterator<Item = Result<u64, &'s str>> + 's {
        self.features
            .iter()
            .filter(move |(k, _)| k == name)
            .flat_map(|(_, v)| v.split_ascii_whitespace())
            .map(|id| id.parse::<u64>().map_err(|_| id))
    }
}

/// One parsed XMI document; kept features borrow from its text.
#[derive(Debug, Clone, Default)]
pub struct Cas<'a> {
    /// Sofas in document order.
    pub sofas: Vec<Sofa>,
    /// Views in document order.
    pub views: Vec<View>,
    /// Kept feature structures in document order.
    pub fss: Vec<Fs<'a>>,
    /// Type names, indexed by [`Fs::type_id`].
    pub type_names: Vec<String>,
    /// Feature structures of each type in the document, kept or not (same index).
    pub type_counts: Vec<u64>,
    /// Every `xmi:id` in the document, sorted.
    ids: Vec<u64>,
    /// Kept feature structures by `xmi:id`.
    by_id: HashMap<u64, usize>,
}

impl<'a> Cas<'a> {
    /// True when some element of the document has this `xmi:id`.
    pub fn has_id(&self, id: u64) -> bool {
        self.ids.binary_search(&id).is_ok()
    }

    /// The kept feature structure with this `xmi:id`.
    pub fn fs(&self, id: u64) -> Option<&Fs<'a>> {
        self.by_id.get(&id).map(|&i| &self.fss[i])
    }

    /// The type name of a kept feature structure.
    pub fn type_name(&self, fs: &Fs<'_>) -> &str {
        &self.type_names[fs.type_id as usize]
    }
}

/// Incremental byte-offset → line conversion (positions only move forward).
struct Lines<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: u64,
}

impl Lines<'_> {
    fn at(&mut self, pos: u64) -> u64 {
        let pos = (pos as usize).min(self.bytes.len());
        if pos < self.pos {
            return line_at(self.bytes, pos);
        }
        self.line += self.bytes[self.pos..pos].iter().filter(|&&b| b == b'\n').count() as u64;
        self.pos = pos;
        self.line
    }
}

/// The feature structure element being read, while its child elements are collected.
struct Open<'a> {
    fs: Option<usize>,
    child: Option<&'a str>,
    value: String,
}

/// What a top-level element is, worked out once per element name.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// `cas:View`.
    View,
    /// `cas:Sofa`.
    Sofa,
    /// `cas:NULL`.
    Null,
    /// A feature structure: index into [`Cas::type_names`], and whether it is kept.
    Type(u32, bool),
}

/// Namespace bindings in scope: the root element's, plus any a top-level element adds.
#[derive(Debug, Clone, Default)]
struct Namespaces<'a> {
    /// Prefix → URI, one binding per prefix.
    prefixes: Vec<(&'a str, Cow<'a, str>)>,
    default: Option<Cow<'a, str>>,
    /// The prefix bound to the XMI namespace, if any.
    xmi_prefix: Option<&'a str>,
}

impl<'a> Namespaces<'a> {
    /// These bindings extended by the `xmlns` attributes in `attrs`.
    fn declare(&self, attrs: &[Attribute<'a>], version: XmlVersion, line: u64) -> Result<Namespaces<'a>, XmiError> {
        let mut out = self.clone();
        for a in attrs {
            let key = a.key.into_inner();
            if key == "xmlns" {
                out.default = Some(value(a, version, line)?);
            } else if let Some(prefix) = key.strip_prefix("xmlns:") {
                let uri = value(a, version, line)?;
                out.prefixes.retain(|(p, _)| *p != prefix);
                out.prefixes.push((prefix, uri));
            }
        }
        out.xmi_prefix = out.prefixes.iter().find(|(_, uri)| uri == XMI_NS).map(|(p, _)| *p);
        Ok(out)
    }

    /// The namespace URI and local name of an element name, or an error when its prefix is
    /// not declared.
    fn resolve<'q>(&self, qname: &'q str, line: u64) -> Result<(&str, &'q str), XmiError> {
        match qname.split_once(':') {
            None => Ok((self.default.as_deref().unwrap_or(""), qname)),
            Some((prefix, local)) => match self.prefixes.iter().find(|(p, _)| *p == prefix) {
                Some((_, uri)) => Ok((uri, local)),
                None => Err(XmiError {
                    line,
                    reason: "wrong_namespace",
                    message: format!("element <{qname}> uses the prefix `{prefix}`, which no xmlns:{prefix} declares"),
                }),
            },
        }
    }

}

/// True for an attribute name in the XMI namespace (`xmi:id`, `xmi:version`), given the
/// prefix bound to that namespace.
fn is_xmi(key: &str, xmi_prefix: Option<&str>) -> bool {
    xmi_prefix.is_some_and(|p| key.len() > p.len() && key.as_bytes()[p.len()] == b':' && key.starts_with(p))
}

/// True for namespace declarations, which are not features.
fn is_xmlns(a: &Attribute<'_>) -> bool {
    let key = a.key.into_inner();
    key == "xmlns" || key.starts_with("xmlns:")
}

/// Parses `text` (one XMI document). `keep(type_name)` says whether to store the features of
/// feature structures of that type; it is asked once per type.
pub fn parse<'a>(text: &'a str, keep: &mut dyn FnMut(&str) -> bool) -> Result<Cas<'a>, XmiError> {
    let bytes = text.as_bytes();
    let mut lines = Lines { bytes, pos: 0, line: 1 };
    let mut reader = Reader::from_str(text);
    let mut cas = Cas::default();
    let mut root = Namespaces::default();
    // Element names already resolved under the root's bindings (a document has few).
    let mut kinds: Vec<(&'a str, Kind)> = Vec::new();
    let mut attrs: Vec<Attribute<'a>> = Vec::new();
    let mut version = XmlVersion::Implicit1_0;
    let mut depth = 0usize;
    let mut root_seen = false;
    let mut open: Option<Open<'a>> = None;
    loop {
        let at = reader.buffer_position();
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(e) => {
                let line = lines.at(reader.error_position());
                return Err(if ends_early(&e) {
                    XmiError { line, reason: "truncated", message: format!("the document ends early (truncated?): {e}") }
                } else {
                    XmiError { line, reason: "xml_syntax", message: format!("not well-formed XML: {e}") }
                });
            }
        };
        match event {
            Event::Decl(d) if d.version().is_ok_and(|v| v.as_ref() == "1.1") => {
                version = XmlVersion::Explicit1_1;
            }
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                let line = lines.at(at);
                let (qname, tag) = tag_of(text, e, line)?;
                attrs.clear();
                if depth <= 1 {
                    for a in Attributes::new(tag, qname.len()) {
                        attrs.push(a.map_err(|err| XmiError {
                            line,
                            reason: "xml_syntax",
                            message: format!("element <{qname}>: {err}"),
                        })?);
                    }
                }
                match depth {
                    0 => {
                        root = root.declare(&attrs, version, line)?;
                        let (uri, local) = root.resolve(qname, line)?;
                        if uri != XMI_NS || local != "XMI" {
                            return Err(XmiError {
                                line,
                                reason: "wrong_namespace",
                                message: format!(
                                    "the root element is {{{uri}}}{local}; expected xmi:XMI with xmlns:xmi=\"{XMI_NS}\" (UIMA CAS XMI)"
                                ),
                            });
                        }
                        root_seen = true;
                    }
                    1 => {
                        let element = Element { qname, attrs: &attrs, line, version };
                        let fs = if attrs.iter().any(is_xmlns) {
                            let scope = root.declare(&attrs, version, line)?;
                            let kind = kind_of(&mut cas, &scope, qname, line, keep)?;
                            element.read(&mut cas, &scope, kind)?
                        } else {
                            let kind = match kinds.iter().find(|(q, _)| *q == qname) {
                                Some(&(_, k)) => k,
                                None => {
                                    let k = kind_of(&mut cas, &root, qname, line, keep)?;
                                    kinds.push((qname, k));
                                    k
                                }
                            };
                            element.read(&mut cas, &root, kind)?
                        };
                        if !empty {
                            open = Some(Open { fs, child: None, value: String::new() });
                        }
                    }
                    2 => {
                        if let Some(o) = open.as_mut() {
                            o.child = Some(QName(qname).local_name().into_inner());
                            o.value.clear();
                        }
                    }
                    _ => {}
                }
                if !empty {
                    depth += 1;
                }
            }
            Event::Text(t) => {
                if let Some(o) = open.as_mut().filter(|o| o.child.is_some()) {
                    o.value.push_str(&t.xml_content(version));
                }
            }
            Event::CData(t) => {
                if let Some(o) = open.as_mut().filter(|o| o.child.is_some()) {
                    o.value.push_str(&t.xml_content(version));
                }
            }
            Event::GeneralRef(r) => {
                if let Some(o) = open.as_mut().filter(|o| o.child.is_some()) {
                    match (r.resolve_char_ref(), quick_xml::escape::resolve_predefined_entity(&r)) {
                        (Ok(Some(c)), _) => o.value.push(c),
                        (_, Some(s)) => o.value.push_str(s),
                        _ => {
                            let message = format!("undefined entity or bad character reference &{};", &*r);
                            return Err(XmiError { line: lines.at(reader.buffer_position()), reason: "xml_syntax", message });
                        }
                    }
                }
            }
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                match depth {
                    1 => open = None,
                    2 => {
                        if let Some(o) = open.as_mut()
                            && let (Some(i), Some(child)) = (o.fs, o.child.take()) {
                                cas.fss[i].features.push((Cow::Borrowed(child), Cow::Owned(std::mem::take(&mut o.value))));
                            }
                    }
                    _ => {}
                }
            }
            Event::Eof => {
                if depth > 0 || !root_seen {
                    let what = if root_seen { "inside the xmi:XMI element (truncated?)" } else { "before any element" };
                    return Err(XmiError {
                        line: lines.at(bytes.len() as u64),
                        reason: "truncated",
                        message: format!("the document ends {what}; expected a complete XMI document ending with </xmi:XMI>"),
                    });
                }
                break;
            }
            _ => {}
        }
    }
    cas.ids.sort_unstable();
    cas.by_id = cas.fss.iter().enumerate().map(|(i, fs)| (fs.xmi_id, i)).collect();
    Ok(cas)
}

/// True for parse errors that mean the input stopped in the middle of markup.
fn ends_early(e: &quick_xml::Error) -> bool {
    use quick_xml::errors::{IllFormedError, SyntaxError};
    match e {
        quick_xml::Error::Syntax(s) => !matches!(s, SyntaxError::InvalidBangMarkup),
        quick_xml::Error::IllFormed(IllFormedError::MissingEndTag(_)) => true,
        _ => false,
    }
}

/// The element name and the whole start tag (name, then attributes) as slices of the
/// document, so names and values can be kept without copying. Events of
/// `Reader::from_str` always borrow the document.
fn tag_of<'a>(text: &'a str, e: &BytesStart<'_>, line: u64) -> Result<(&'a str, &'a str), XmiError> {
    let content: &str = e;
    let start = (content.as_ptr() as usize).wrapping_sub(text.as_ptr() as usize);
    match text.get(start..start.wrapping_add(content.len())) {
        Some(tag) if tag.as_ptr() == content.as_ptr() => Ok((&tag[..e.name().as_ref().len()], tag)),
        _ => Err(XmiError { line, reason: "xml_syntax", message: "could not locate the element in the document".into() }),
    }
}

/// What the top-level element called `qname` is, under the bindings `scope`.
fn kind_of(
    cas: &mut Cas<'_>,
    scope: &Namespaces<'_>,
    qname: &str,
    line: u64,
    keep: &mut dyn FnMut(&str) -> bool,
) -> Result<Kind, XmiError> {
    let (uri, local) = scope.resolve(qname, line)?;
    if uri == CAS_NS {
        match local {
            "View" => return Ok(Kind::View),
            "Sofa" => return Ok(Kind::Sofa),
            "NULL" => return Ok(Kind::Null),
            _ => {}
        }
    }
    let Some(name) = type_name_of(uri, local) else {
        return Err(XmiError {
            line,
            reason: "wrong_namespace",
            message: format!("element <{qname}> is in namespace `{uri}`; expected a UIMA type namespace `http:///<package/path>.ecore`"),
        });
    };
    let kind = Kind::Type(cas.type_names.len() as u32, keep(&name));
    cas.type_names.push(name);
    cas.type_counts.push(0);
    Ok(kind)
}

/// An attribute value with XML escapes resolved and whitespace normalised.
fn value<'v>(a: &Attribute<'v>, version: XmlVersion, line: u64) -> Result<Cow<'v, str>, XmiError> {
    a.normalized_value(version).map_err(|e| XmiError {
        line,
        reason: "xml_syntax",
        message: format!("attribute {}: {e}", a.key.into_inner()),
    })
}

/// One top-level element: a sofa, a view, `cas:NULL` or a feature structure.
struct Element<'e, 'a> {
    qname: &'a str,
    attrs: &'e [Attribute<'a>],
    line: u64,
    version: XmlVersion,
}

impl<'a> Element<'_, 'a> {
    /// Files the element into `cas`; returns the index of the feature structure, when kept.
    fn read(&self, cas: &mut Cas<'a>, scope: &Namespaces<'_>, kind: Kind) -> Result<Option<usize>, XmiError> {
        let (line, version) = (self.line, self.version);
        if let Kind::View = kind {
            let mut view = View { sofa: None, members: Vec::new(), line };
            for a in self.attrs {
                match a.key.into_inner() {
                    "sofa" => view.sofa = Some(parse_id(&value(a, version, line)?, "sofa", line)?),
                    "members" => {
                        for id in value(a, version, line)?.split_ascii_whitespace() {
                            view.members.push(parse_id(id, "members", line)?);
                        }
                    }
                    _ => {}
                }
            }
            cas.views.push(view);
            return Ok(None);
        }
        if let Kind::Type(type_id, _) = kind {
            cas.type_counts[type_id as usize] += 1;
        }
        let kept = matches!(kind, Kind::Sofa | Kind::Type(_, true));
        let mut xmi_id = None;
        let mut features = Vec::new();
        let xmi_prefix = scope.xmi_prefix;
        for a in self.attrs.iter().filter(|a| !is_xmlns(a)) {
            let key = a.key.into_inner();
            if is_xmi(key, xmi_prefix) {
                if a.key.local_name().into_inner() == "id" {
                    xmi_id = Some(parse_id(&value(a, version, line)?, "xmi:id", line)?);
                }
            } else if kept {
                features.push((Cow::Borrowed(a.key.local_name().into_inner()), value(a, version, line)?));
            }
        }
        let Some(xmi_id) = xmi_id else {
            return Err(XmiError { line, reason: "bad_xmi_id", message: format!("element <{}> has no xmi:id", self.qname) });
        };
        cas.ids.push(xmi_id);
        match kind {
            Kind::Sofa => {
                let get = |k: &str| features.iter().find(|(n, _)| n == k).map(|(_, v)| v.to_string());
                let num = get("sofaNum").and_then(|n| n.parse().ok()).unwrap_or(0);
                cas.sofas.push(Sofa { xmi_id, num, id: get("sofaID").unwrap_or_default(), text: get("sofaString"), line });
                Ok(None)
            }
            Kind::Type(type_id, true) => {
                cas.fss.push(Fs { xmi_id, type_id, line, features });
                Ok(Some(cas.fss.len() - 1))
            }
            _ => Ok(None),
        }
    }
}

fn parse_id(value: &str, what: &str, line: u64) -> Result<u64, XmiError> {
    value.trim().parse::<u64>().map_err(|_| XmiError {
        line,
        reason: "bad_xmi_id",
        message: format!("{what} {value:?} is not an xmi:id (a non-negative integer)"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<xmi:XMI xmlns:xmi="http://www.omg.org/XMI" xmlns:cas="http:///uima/cas.ecore" xmlns:ner="http:///de/tudarmstadt/ukp/dkpro/core/api/ner/type.ecore" xmlns:seg="http:///de/tudarmstadt/ukp/dkpro/core/api/segmentation/type.ecore" xmi:version="2.0">
  <cas:NULL xmi:id="0"/>
  <ner:NamedEntity xmi:id="2" sofa="1" begin="0" end="3" value="PER &amp; co"/>
  <seg:Token xmi:id="3" sofa="1" begin="0" end="3"/>
  <cas:StringArray xmi:id="4"><elements>a&#10;b</elements><elements>c</elements></cas:StringArray>
  <cas:Sofa xmi:id="1" sofaNum="1" sofaID="_InitialView" mimeType="text" sofaString="Joe&#13;&#10;x&#9;y
z"/>
  <cas:View sofa="1" members="2 3"/>
</xmi:XMI>"#;

    fn keep_all(_: &str) -> bool {
        true
    }

    #[test]
    fn reads_sofas_views_and_kept_feature_structures() {
        let mut asked = Vec::new();
        let cas = parse(DOC, &mut |t| {
            asked.push(t.to_string());
            t.ends_with("NamedEntity") || t.ends_with("StringArray")
        })
        .unwrap();
        assert_eq!(cas.sofas.len(), 1);
        // Character references survive; a literal newline in an attribute becomes a space.
        assert_eq!(cas.sofas[0].text.as_deref(), Some("Joe\r\nx\ty z"));
        assert_eq!((cas.sofas[0].id.as_str(), cas.sofas[0].num, cas.sofas[0].line), ("_InitialView", 1, 7));
        assert_eq!(cas.views[0].members, vec![2, 3]);
        assert_eq!(cas.fss.len(), 2, "the token is not kept");
        let ne = cas.fs(2).unwrap();
        assert_eq!((cas.type_name(ne), ne.get("value"), ne.line), ("de.tudarmstadt.ukp.dkpro.core.api.ner.type.NamedEntity", Some("PER & co"), 4));
        let arr = cas.fs(4).unwrap();
        let elements: Vec<(&str, &str)> = arr.features.iter().map(|(k, v)| (k.as_ref(), v.as_ref())).collect();
        assert_eq!(elements, vec![("elements", "a\nb"), ("elements", "c")]);
        assert!(matches!(ne.features[0].1, Cow::Borrowed(_)), "plain values are not copied");
        assert!(cas.has_id(3) && cas.has_id(0) && !cas.has_id(99));
        assert_eq!(asked.len(), 3, "each type is asked about once");
    }

    #[test]
    fn namespaces_declared_on_an_element_apply_to_it() {
        let local = DOC.replace(
            "<seg:Token xmi:id=\"3\"",
            "<x:NamedEntity xmlns:x=\"http:///de/tudarmstadt/ukp/dkpro/core/api/ner/type.ecore\" xmi:id=\"3\"",
        );
        let cas = parse(&local, &mut |t| t.ends_with("NamedEntity")).unwrap();
        let fs = cas.fs(3).unwrap();
        assert_eq!(cas.type_name(fs), "de.tudarmstadt.ukp.dkpro.core.api.ner.type.NamedEntity");
        assert!(fs.features.iter().all(|(k, _)| !k.starts_with("xmlns") && k != "x"), "{:?}", fs.features);
        let undeclared = DOC.replace("<seg:Token", "<nope:Token");
        let err = parse(&undeclared, &mut keep_all).unwrap_err();
        assert_eq!((err.reason, err.line), ("wrong_namespace", 5));
    }

    #[test]
    fn unusable_documents_name_line_and_reason() {
        let cut = &DOC[..DOC.find("<cas:View").unwrap()];
        let err = parse(cut, &mut keep_all).unwrap_err();
        assert_eq!(err.reason, "truncated");
        let cut = &DOC[..DOC.find("sofaNum").unwrap()];
        assert_eq!(parse(cut, &mut keep_all).unwrap_err().reason, "truncated");
        let mismatched = DOC.replace("</xmi:XMI>", "</xmi:XMX>");
        let err = parse(&mismatched, &mut keep_all).unwrap_err();
        assert_eq!((err.reason, err.line), ("xml_syntax", 10));
        let wrong_root = DOC.replace("xmlns:xmi=\"http://www.omg.org/XMI\"", "xmlns:xmi=\"http://www.omg.org/spec/XMI/20131001\"");
        let err = parse(&wrong_root, &mut keep_all).unwrap_err();
        assert_eq!((err.reason, err.line), ("wrong_namespace", 2));
        let wrong_type_ns = DOC.replace("http:///de/tudarmstadt/ukp/dkpro/core/api/ner/type.ecore", "http://example.org/ner");
        let err = parse(&wrong_type_ns, &mut keep_all).unwrap_err();
        assert_eq!((err.reason, err.line), ("wrong_namespace", 4));
        assert!(err.message.contains("http://example.org/ner"), "{}", err.message);
        let bad_entity = DOC.replace("<elements>c</elements>", "<elements>&nope;</elements>");
        let err = parse(&bad_entity, &mut keep_all).unwrap_err();
        assert_eq!((err.reason, err.line), ("xml_syntax", 6));
        let no_id = DOC.replace("<seg:Token xmi:id=\"3\"", "<seg:Token");
        assert_eq!(parse(&no_id, &mut keep_all).unwrap_err().reason, "bad_xmi_id");
        assert_eq!(parse("", &mut keep_all).unwrap_err().reason, "truncated");
    }
}
