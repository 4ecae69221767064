//! Pull-parses one UIMA CAS XMI document into a [`Cas`]: its sofas, views and the feature
//! structures the caller asks to keep.
//!
//! The document is read event by event (quick-xml); only feature structures whose type the
//! caller keeps are stored, with their features borrowed from the document text (copied only
//! when XML escapes or whitespace normalisation change them), so memory and time stay
//! proportional to what the reader uses. Every `xmi:id` is remembered so references can be checked. Anything
//! that makes the document unusable (not well-formed or truncated XML, a root or element
//! outside the UIMA namespaces, an element without an integer `xmi:id`) is an [`XmiError`]
//! naming the line; deciding what to do with the content is the reader's job.

use super::{line_at, type_name_of, CAS_NS, XMI_NS};
use quick_xml::events::attributes::{Attribute, Attributes};
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{QName, ResolveResult};
use quick_xml::{NsReader, XmlVersion};
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
    child: Option<Cow<'a, str>>,
    value: String,
}

/// Parses `text` (one XMI document). `keep(type_name)` says whether to store the features of
/// feature structures of that type; it is asked once per type.
pub fn parse<'a>(text: &'a str, keep: &mut dyn FnMut(&str) -> bool) -> Result<Cas<'a>, XmiError> {
    let bytes = text.as_bytes();
    let mut lines = Lines { bytes, pos: 0, line: 1 };
    let mut reader = NsReader::from_str(text);
    let mut cas = Cas::default();
    let mut type_ids: HashMap<String, (u32, bool)> = HashMap::new();
    let mut key = String::new();
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
            Event::Decl(d) => {
                if d.version().is_ok_and(|v| v.as_ref() == "1.1") {
                    version = XmlVersion::Explicit1_1;
                }
            }
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                let line = lines.at(at);
                let tag = Tag::of(text, e);
                match depth {
                    0 => {
                        let (uri, local) = tag.resolve(&reader, line)?;
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
                        let fs = element(&reader, &mut cas, &tag, line, version, &mut type_ids, &mut key, keep)?;
                        if !empty {
                            open = Some(Open { fs, child: None, value: String::new() });
                        }
                    }
                    2 => {
                        if let Some(o) = open.as_mut() {
                            o.child = Some(tag.local());
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
                        if let Some(o) = open.as_mut() {
                            if let (Some(i), Some(child)) = (o.fs, o.child.take()) {
                                cas.fss[i].features.push((child, Cow::Owned(std::mem::take(&mut o.value))));
                            }
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

/// A start tag as a slice of the document, so that names and attribute values can be kept
/// without copying. `Reader::from_str` events borrow the document; should one not, the tag
/// is copied.
struct Tag<'a> {
    raw: Cow<'a, str>,
    name_len: usize,
}

impl<'a> Tag<'a> {
    fn of(text: &'a str, e: &BytesStart<'_>) -> Tag<'a> {
        let content: &str = e;
        let name_len = e.name().as_ref().len();
        let start = (content.as_ptr() as usize).wrapping_sub(text.as_ptr() as usize);
        match text.get(start..start.wrapping_add(content.len())) {
            Some(slice) if slice.as_ptr() == content.as_ptr() => Tag { raw: Cow::Borrowed(slice), name_len },
            _ => Tag { raw: Cow::Owned(content.to_string()), name_len },
        }
    }

    fn qname(&self) -> &str {
        &self.raw[..self.name_len]
    }

    /// The local name, borrowed from the document when possible.
    fn local(&self) -> Cow<'a, str> {
        match &self.raw {
            Cow::Borrowed(raw) => Cow::Borrowed(QName(&raw[..self.name_len]).local_name().into_inner()),
            Cow::Owned(raw) => Cow::Owned(QName(&raw[..self.name_len]).local_name().into_inner().to_string()),
        }
    }

    fn attributes(&self) -> Attributes<'_> {
        Attributes::new(&self.raw, self.name_len)
    }

    /// Calls `f` with each attribute as (in the XMI namespace, local name, value), borrowed
    /// from the document when the tag is; with `all` false only for the `xmi:` ones.
    fn for_each_attribute(
        &self,
        reader: &NsReader<&[u8]>,
        version: XmlVersion,
        line: u64,
        all: bool,
        mut f: impl FnMut(bool, Cow<'a, str>, Cow<'a, str>) -> Result<(), XmiError>,
    ) -> Result<(), XmiError> {
        match &self.raw {
            Cow::Borrowed(raw) => attributes_of(raw, self.name_len, reader, version, line, all, |x, k, v| f(x, Cow::Borrowed(k), v)),
            Cow::Owned(raw) => attributes_of(raw, self.name_len, reader, version, line, all, |x, k, v| {
                f(x, Cow::Owned(k.to_string()), Cow::Owned(v.into_owned()))
            }),
        }
    }

    /// The namespace URI and local name, or an error when the prefix is not declared.
    fn resolve<'r>(&self, reader: &'r NsReader<&[u8]>, line: u64) -> Result<(&'r str, &str), XmiError> {
        let (ns, local) = reader.resolver().resolve_element(QName(self.qname()));
        let uri = match ns {
            ResolveResult::Bound(n) => n.into_inner(),
            ResolveResult::Unbound => "",
            ResolveResult::Unknown(prefix) => {
                return Err(XmiError {
                    line,
                    reason: "wrong_namespace",
                    message: format!("element <{}> uses the prefix `{prefix}`, which no xmlns:{prefix} declares", self.qname()),
                });
            }
        };
        Ok((uri, local.into_inner()))
    }
}

/// True when an attribute is in the XMI namespace (`xmi:id`, `xmi:version`).
fn is_xmi_attribute(reader: &NsReader<&[u8]>, a: &Attribute<'_>) -> bool {
    a.key.prefix().is_some_and(|p| {
        matches!(reader.resolver().resolve_prefix(Some(p), false), ResolveResult::Bound(n) if n.into_inner() == XMI_NS)
    })
}

/// Calls `f` with the attributes of the tag `raw` (name first) as (in the XMI namespace,
/// local name, normalised value); with `all` false only for the `xmi:` ones.
fn attributes_of<'t>(
    raw: &'t str,
    name_len: usize,
    reader: &NsReader<&[u8]>,
    version: XmlVersion,
    line: u64,
    all: bool,
    mut f: impl FnMut(bool, &'t str, Cow<'t, str>) -> Result<(), XmiError>,
) -> Result<(), XmiError> {
    for a in Attributes::new(raw, name_len) {
        let a = a.map_err(|err| XmiError {
            line,
            reason: "xml_syntax",
            message: format!("element <{}>: {err}", &raw[..name_len]),
        })?;
        let is_xmi = is_xmi_attribute(reader, &a);
        if is_xmi || all {
            f(is_xmi, a.key.local_name().into_inner(), value(&a, version, line)?)?;
        }
    }
    Ok(())
}

/// An attribute value with XML escapes resolved and whitespace normalised.
fn value<'v>(a: &Attribute<'v>, version: XmlVersion, line: u64) -> Result<Cow<'v, str>, XmiError> {
    a.normalized_value(version).map_err(|e| XmiError {
        line,
        reason: "xml_syntax",
        message: format!("attribute {}: {e}", a.key.into_inner()),
    })
}

/// Reads one top-level element (a sofa, a view, `cas:NULL` or a feature structure);
/// returns the index of the stored feature structure, when kept.
#[allow(clippy::too_many_arguments)]
fn element<'a>(
    reader: &NsReader<&[u8]>,
    cas: &mut Cas<'a>,
    tag: &Tag<'a>,
    line: u64,
    version: XmlVersion,
    type_ids: &mut HashMap<String, (u32, bool)>,
    key: &mut String,
    keep: &mut dyn FnMut(&str) -> bool,
) -> Result<Option<usize>, XmiError> {
    let syntax = |err: quick_xml::events::attributes::AttrError| XmiError {
        line,
        reason: "xml_syntax",
        message: format!("element <{}>: {err}", tag.qname()),
    };
    let (uri, local) = tag.resolve(reader, line)?;
    if uri == CAS_NS && local == "View" {
        let mut view = View { sofa: None, members: Vec::new(), line };
        for a in tag.attributes() {
            let a = a.map_err(syntax)?;
            match a.key.local_name().into_inner() {
                "sofa" => view.sofa = Some(parse_id(&value(&a, version, line)?, "sofa", line)?),
                "members" => {
                    for id in value(&a, version, line)?.split_ascii_whitespace() {
                        view.members.push(parse_id(id, "members", line)?);
                    }
                }
                _ => {}
            }
        }
        cas.views.push(view);
        return Ok(None);
    }
    let (type_id, kept) = if uri == CAS_NS && (local == "NULL" || local == "Sofa") {
        (u32::MAX, local == "Sofa")
    } else {
        key.clear();
        key.push_str(uri);
        key.push(' ');
        key.push_str(local);
        match type_ids.get(key.as_str()) {
            Some(&t) => t,
            None => {
                let Some(name) = type_name_of(uri, local) else {
                    return Err(XmiError {
                        line,
                        reason: "wrong_namespace",
                        message: format!(
                            "element <{}> is in namespace `{uri}`; expected a UIMA type namespace `http:///<package/path>.ecore`",
                            tag.qname()
                        ),
                    });
                };
                let t = (cas.type_names.len() as u32, keep(&name));
                cas.type_names.push(name);
                type_ids.insert(key.clone(), t);
                t
            }
        }
    };
    let mut xmi_id = None;
    let mut features = Vec::new();
    tag.for_each_attribute(reader, version, line, kept, |is_xmi, name, value| {
        if !is_xmi {
            features.push((name, value));
        } else if name == "id" {
            xmi_id = Some(parse_id(&value, "xmi:id", line)?);
        }
        Ok(())
    })?;
    let Some(xmi_id) = xmi_id else {
        return Err(XmiError { line, reason: "bad_xmi_id", message: format!("element <{}> has no xmi:id", tag.qname()) });
    };
    cas.ids.push(xmi_id);
    if type_id == u32::MAX {
        if kept {
            let get = |k: &str| features.iter().find(|(n, _)| n == k).map(|(_, v)| v.to_string());
            let num = get("sofaNum").and_then(|n| n.parse().ok()).unwrap_or(0);
            cas.sofas.push(Sofa { xmi_id, num, id: get("sofaID").unwrap_or_default(), text: get("sofaString"), line });
        }
        return Ok(None);
    }
    if !kept {
        return Ok(None);
    }
    cas.fss.push(Fs { xmi_id, type_id, line, features });
    Ok(Some(cas.fss.len() - 1))
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
