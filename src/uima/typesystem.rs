//! UIMA TypeSystem XML: which types exist, what they inherit from, which features they have.
//!
//! The XMI reader needs this to decide which feature structures are entities (the entity type
//! and all its subtypes), which are relations (types with `Governor` and `Dependent`
//! features pointing at entities) and which features are links. Descriptions are read with
//! a pull parser from a `<typeSystemDescription>` file, imports by `location` are followed,
//! several descriptions merge (features are unioned; a conflicting supertype or range is an
//! error), and the UIMA built-in types are always present. [`TypeSystem::to_xml`] writes
//! the non-built-in types back, for `nerprep export --format xmi`.

use super::{ANNOTATION, DOCUMENT_ANNOTATION};
use crate::io::IoError;
use quick_xml::events::Event;
use quick_xml::Reader;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// A feature of a type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureDesc {
    /// Feature name (`value`, `Governor`, …).
    pub name: String,
    /// Range type (`uima.cas.String`, a type name, `uima.cas.FSArray`, …).
    pub range: String,
    /// Element type of an array or list range, when declared.
    pub element_type: Option<String>,
    /// Whether array/list values are separate feature structures (shared) or inline.
    pub multiple_references_allowed: bool,
    /// Free-text description.
    pub description: String,
}

impl FeatureDesc {
    /// A feature with no element type, inline values and no description.
    pub fn new(name: &str, range: &str) -> FeatureDesc {
        FeatureDesc {
            name: name.into(),
            range: range.into(),
            element_type: None,
            multiple_references_allowed: false,
            description: String::new(),
        }
    }
}

/// A type: its name, supertype and own features (inherited ones live on the supertypes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeDesc {
    /// Fully qualified name (`de.tudarmstadt.ukp.dkpro.core.api.ner.type.NamedEntity`).
    pub name: String,
    /// The supertype; `None` only for `uima.cas.TOP`.
    pub supertype: Option<String>,
    /// Free-text description.
    pub description: String,
    /// Features declared on this type.
    pub features: Vec<FeatureDesc>,
    /// True for an unchanged UIMA built-in type (not written by [`TypeSystem::to_xml`]).
    pub builtin: bool,
}

impl TypeDesc {
    /// A user type with the given supertype and features.
    pub fn new(name: &str, supertype: &str, features: Vec<FeatureDesc>) -> TypeDesc {
        TypeDesc {
            name: name.into(),
            supertype: Some(supertype.into()),
            description: String::new(),
            features,
            builtin: false,
        }
    }
}

/// A type system description could not be read or is inconsistent.
#[derive(Debug, thiserror::Error)]
pub enum TypeSystemError {
    /// The file could not be read.
    #[error(transparent)]
    Io(#[from] IoError),
    /// The file is not a well-formed TypeSystem XML.
    #[error("{origin}:{line}: {message}")]
    Syntax {
        /// The file (or zip member).
        origin: String,
        /// The line the problem was found on.
        line: u64,
        /// What was expected.
        message: String,
    },
    /// The description is well-formed but inconsistent (unknown supertype, cycle, conflict).
    #[error("{origin}: {message}")]
    Invalid {
        /// The file (or files) involved.
        origin: String,
        /// What is wrong.
        message: String,
    },
}

/// A set of types with their inheritance, always including the UIMA built-ins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeSystem {
    types: BTreeMap<String, TypeDesc>,
    /// Where the types came from, for messages.
    origin: String,
}

/// Primitive range types: their values are XML attributes, not references.
const PRIMITIVES: [&str; 8] = [
    "uima.cas.Boolean",
    "uima.cas.Byte",
    "uima.cas.Short",
    "uima.cas.Integer",
    "uima.cas.Long",
    "uima.cas.Float",
    "uima.cas.Double",
    "uima.cas.String",
];

fn builtin_types() -> Vec<TypeDesc> {
    let top = "uima.cas.TOP";
    let mut t = vec![TypeDesc { name: top.into(), supertype: None, description: String::new(), features: vec![], builtin: true }];
    let mut add = |name: &str, sup: &str, features: Vec<FeatureDesc>| {
        let mut d = TypeDesc::new(name, sup, features);
        d.builtin = true;
        t.push(d);
    };
    for p in PRIMITIVES {
        add(p, top, vec![]);
    }
    add("uima.cas.ArrayBase", top, vec![]);
    for a in ["FS", "Boolean", "Byte", "Short", "Integer", "Long", "Float", "Double", "String"] {
        add(&format!("uima.cas.{a}Array"), "uima.cas.ArrayBase", vec![]);
    }
    add("uima.cas.ListBase", top, vec![]);
    for (list, head) in [("FS", top), ("Float", "uima.cas.Float"), ("Integer", "uima.cas.Integer"), ("String", "uima.cas.String")] {
        let base = format!("uima.cas.{list}List");
        add(&base, "uima.cas.ListBase", vec![]);
        add(&format!("uima.cas.Empty{list}List"), &base, vec![]);
        add(
            &format!("uima.cas.NonEmpty{list}List"),
            &base,
            vec![FeatureDesc::new("head", head), FeatureDesc::new("tail", &base)],
        );
    }
    let s = "uima.cas.String";
    add(
        "uima.cas.Sofa",
        top,
        vec![
            FeatureDesc::new("sofaNum", "uima.cas.Integer"),
            FeatureDesc::new("sofaID", s),
            FeatureDesc::new("mimeType", s),
            FeatureDesc::new("sofaArray", top),
            FeatureDesc::new("sofaString", s),
            FeatureDesc::new("sofaURI", s),
        ],
    );
    add("uima.cas.AnnotationBase", top, vec![FeatureDesc::new("sofa", "uima.cas.Sofa")]);
    add(
        ANNOTATION,
        "uima.cas.AnnotationBase",
        vec![FeatureDesc::new("begin", "uima.cas.Integer"), FeatureDesc::new("end", "uima.cas.Integer")],
    );
    add(DOCUMENT_ANNOTATION, ANNOTATION, vec![FeatureDesc::new("language", s)]);
    t
}

impl Default for TypeSystem {
    fn default() -> Self {
        TypeSystem::builtin()
    }
}

impl TypeSystem {
    /// The UIMA built-in types only.
    pub fn builtin() -> TypeSystem {
        TypeSystem {
            types: builtin_types().into_iter().map(|t| (t.name.clone(), t)).collect(),
            origin: "built-in types".into(),
        }
    }

    /// Reads a TypeSystem XML file, following `<import location=…>` relative to it.
    pub fn from_path(path: &Path) -> Result<TypeSystem, TypeSystemError> {
        let mut ts = TypeSystem::builtin();
        ts.origin = path.display().to_string();
        let mut seen = BTreeSet::new();
        ts.load_file(path, &mut seen)?;
        ts.validate()?;
        Ok(ts)
    }

    /// Reads a TypeSystem XML held in memory (a zip member); `origin` names it in messages.
    /// Imports cannot be followed from memory and are an error.
    pub fn from_bytes(bytes: &[u8], origin: &str) -> Result<TypeSystem, TypeSystemError> {
        let mut ts = TypeSystem::builtin();
        ts.origin = origin.to_string();
        let parsed = parse_description(bytes, origin)?;
        if let Some(import) = parsed.imports.first() {
            return Err(TypeSystemError::Invalid {
                origin: origin.into(),
                message: format!("imports {import:?}, which cannot be followed from inside an archive; pass --typesystem"),
            });
        }
        for t in parsed.types {
            ts.add(t)?;
        }
        ts.validate()?;
        Ok(ts)
    }

    /// Reads several files and merges them (`--typesystem a.xml --typesystem b.xml`).
    pub fn from_paths(paths: &[PathBuf]) -> Result<TypeSystem, TypeSystemError> {
        let mut ts = TypeSystem::builtin();
        for p in paths {
            ts.merge(&TypeSystem::from_path(p)?)?;
        }
        ts.origin = paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" + ");
        Ok(ts)
    }

    fn load_file(&mut self, path: &Path, seen: &mut BTreeSet<PathBuf>) -> Result<(), TypeSystemError> {
        let key = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        if !seen.insert(key) {
            return Ok(());
        }
        let bytes = std::fs::read(path).map_err(|e| IoError::new(path, e))?;
        let origin = path.display().to_string();
        let parsed = parse_description(&bytes, &origin)?;
        let dir = path.parent().unwrap_or(Path::new(""));
        for import in &parsed.imports {
            match import {
                Import::Location(location) => {
                    let location = location.strip_prefix("file:").unwrap_or(location);
                    self.load_file(&dir.join(location), seen)?;
                }
                Import::Name(name) => {
                    let message = format!("imports by name `{name}`, which needs a Java classpath; import by location instead");
                    return Err(TypeSystemError::Invalid { origin, message });
                }
            }
        }
        for t in parsed.types {
            self.add(t).map_err(|e| match e {
                TypeSystemError::Invalid { message, .. } => TypeSystemError::Invalid { origin: origin.clone(), message },
                other => other,
            })?;
        }
        Ok(())
    }

    /// Adds one type, merging with an existing definition of the same name.
    pub fn add(&mut self, t: TypeDesc) -> Result<(), TypeSystemError> {
        let Some(existing) = self.types.get_mut(&t.name) else {
            self.types.insert(t.name.clone(), t);
            return Ok(());
        };
        if t.supertype.is_some() && existing.supertype != t.supertype {
            return Err(TypeSystemError::Invalid {
                origin: self.origin.clone(),
                message: format!(
                    "type {} is declared with supertype {} and with {}",
                    t.name,
                    existing.supertype.as_deref().unwrap_or("-"),
                    t.supertype.as_deref().unwrap_or("-")
                ),
            });
        }
        if existing.description.is_empty() {
            existing.description = t.description;
        }
        for f in t.features {
            match existing.features.iter().find(|g| g.name == f.name) {
                Some(g) if g.range != f.range => {
                    return Err(TypeSystemError::Invalid {
                        origin: self.origin.clone(),
                        message: format!("feature {}:{} has range {} and {}", t.name, f.name, g.range, f.range),
                    });
                }
                Some(_) => {}
                None => {
                    existing.builtin = false;
                    existing.features.push(f);
                }
            }
        }
        Ok(())
    }

    /// Merges every type of `other` into this type system.
    pub fn merge(&mut self, other: &TypeSystem) -> Result<(), TypeSystemError> {
        for t in other.types.values() {
            self.add(t.clone())?;
        }
        self.validate()
    }

    /// Checks that every supertype and range exists and inheritance has no cycle.
    fn validate(&self) -> Result<(), TypeSystemError> {
        let invalid = |message: String| TypeSystemError::Invalid { origin: self.origin.clone(), message };
        for t in self.types.values() {
            if let Some(sup) = &t.supertype
                && !self.types.contains_key(sup) {
                    return Err(invalid(format!("type {} has supertype {sup}, which is not defined", t.name)));
                }
            for f in &t.features {
                for range in std::iter::once(&f.range).chain(&f.element_type) {
                    if !self.types.contains_key(range) {
                        return Err(invalid(format!("feature {}:{} has range {range}, which is not defined", t.name, f.name)));
                    }
                }
            }
            if self.ancestors(&t.name).count() > self.types.len() {
                return Err(invalid(format!("type {} inherits from itself", t.name)));
            }
        }
        Ok(())
    }

    /// Where the types came from (file names), for messages.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The type called `name`.
    pub fn get(&self, name: &str) -> Option<&TypeDesc> {
        self.types.get(name)
    }

    /// Every type, by name.
    pub fn types(&self) -> impl Iterator<Item = &TypeDesc> {
        self.types.values()
    }

    /// `name` and its supertypes up to `uima.cas.TOP`.
    pub fn ancestors<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        let mut next = self.types.get(name).map(|t| t.name.as_str());
        let mut steps = 0;
        std::iter::from_fn(move || {
            let current = next?;
            steps += 1;
            next = if steps > self.types.len() + 1 {
                None
            } else {
                self.types.get(current).and_then(|t| t.supertype.as_deref())
            };
            Some(current)
        })
    }

    /// True when `name` is `ancestor` or inherits from it.
    pub fn is_subtype(&self, name: &str, ancestor: &str) -> bool {
        self.ancestors(name).any(|a| a == ancestor)
    }

    /// True for annotation types (they have `begin` and `end` into a sofa).
    pub fn is_annotation(&self, name: &str) -> bool {
        self.is_subtype(name, ANNOTATION)
    }

    /// True for primitive ranges (values stored inline as attributes).
    pub fn is_primitive(&self, name: &str) -> bool {
        PRIMITIVES.iter().any(|p| self.is_subtype(name, p))
    }

    /// `ancestor` and every type that inherits from it.
    pub fn subtypes(&self, ancestor: &str) -> BTreeSet<String> {
        self.types.keys().filter(|t| self.is_subtype(t, ancestor)).cloned().collect()
    }

    /// Every feature of `name`, inherited ones first.
    pub fn features(&self, name: &str) -> Vec<&FeatureDesc> {
        let chain: Vec<&str> = self.ancestors(name).collect();
        chain.iter().rev().filter_map(|t| self.types.get(*t)).flat_map(|t| t.features.iter()).collect()
    }

    /// The feature `feature` of `name`, declared on it or inherited.
    pub fn feature(&self, name: &str, feature: &str) -> Option<&FeatureDesc> {
        self.ancestors(name).filter_map(|t| self.types.get(t)).find_map(|t| t.features.iter().find(|f| f.name == feature))
    }

    /// The non-built-in types as TypeSystem XML that UIMA, dkpro-cassis and INCEpTION load.
    pub fn to_xml(&self) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        out.push_str("<typeSystemDescription xmlns=\"http://uima.apache.org/resourceSpecifier\">\n  <types>\n");
        for t in self.types.values().filter(|t| !t.builtin) {
            out.push_str("    <typeDescription>\n");
            element(&mut out, 6, "name", &t.name);
            element(&mut out, 6, "description", &t.description);
            element(&mut out, 6, "supertypeName", t.supertype.as_deref().unwrap_or("uima.cas.TOP"));
            if !t.features.is_empty() {
                out.push_str("      <features>\n");
                for f in &t.features {
                    out.push_str("        <featureDescription>\n");
                    element(&mut out, 10, "name", &f.name);
                    element(&mut out, 10, "description", &f.description);
                    element(&mut out, 10, "rangeTypeName", &f.range);
                    if let Some(e) = &f.element_type {
                        element(&mut out, 10, "elementType", e);
                    }
                    if f.multiple_references_allowed {
                        element(&mut out, 10, "multipleReferencesAllowed", "true");
                    }
                    out.push_str("        </featureDescription>\n");
                }
                out.push_str("      </features>\n");
            }
            out.push_str("    </typeDescription>\n");
        }
        out.push_str("  </types>\n</typeSystemDescription>\n");
        out
    }
}

fn element(out: &mut String, indent: usize, name: &str, value: &str) {
    if value.is_empty() {
        let _ = writeln!(out, "{:indent$}<{name}/>", "");
    } else {
        let _ = writeln!(out, "{:indent$}<{name}>{}</{name}>", "", quick_xml::escape::escape(value));
    }
}

/// What one TypeSystem XML file declares.
struct Parsed {
    types: Vec<TypeDesc>,
    imports: Vec<Import>,
}

/// An `<import>` of another type system description.
#[derive(Debug)]
enum Import {
    /// `location="…"`: a file, relative to the importing one.
    Location(String),
    /// `name="…"`: a Java classpath resource, which nerprep cannot follow.
    Name(String),
}

/// Pull-parses one `<typeSystemDescription>`.
fn parse_description(bytes: &[u8], origin: &str) -> Result<Parsed, TypeSystemError> {
    let syntax = |pos: u64, message: String| TypeSystemError::Syntax {
        origin: origin.to_string(),
        line: super::line_at(bytes, pos as usize),
        message,
    };
    let text = std::str::from_utf8(bytes).map_err(|e| syntax(e.valid_up_to() as u64, format!("expected UTF-8: {e}")))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<String> = Vec::new();
    let mut content = String::new();
    let mut parsed = Parsed { types: Vec::new(), imports: Vec::new() };
    let mut current: Option<TypeDesc> = None;
    let mut feature: Option<FeatureDesc> = None;
    loop {
        let event = reader.read_event().map_err(|e| syntax(reader.error_position(), format!("not well-formed XML: {e}")))?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let name = e.local_name().as_ref().to_string();
                if stack.is_empty() && name != "typeSystemDescription" {
                    return Err(syntax(reader.buffer_position(), format!("expected a <typeSystemDescription> root element, found <{name}>")));
                }
                match name.as_str() {
                    "typeDescription" => current = Some(TypeDesc::new("", "", vec![])),
                    "featureDescription" => feature = Some(FeatureDesc::new("", "")),
                    "import" => {
                        for a in e.attributes().flatten() {
                            let v = a.normalized_value(quick_xml::XmlVersion::Implicit1_0).unwrap_or_default().into_owned();
                            match a.key.local_name().as_ref() {
                                "location" => parsed.imports.push(Import::Location(v)),
                                "name" => parsed.imports.push(Import::Name(v)),
                                _ => {}
                            }
                        }
                    }
                    _ => {}
                }
                content.clear();
                if matches!(event, Event::Empty(_)) {
                    close(&name, stack.last().map(String::as_str), "", &mut current, &mut feature, &mut parsed);
                } else {
                    stack.push(name);
                }
            }
            Event::Text(t) => content.push_str(&t.xml10_content()),
            Event::CData(t) => content.push_str(&t.xml10_content()),
            Event::GeneralRef(r) => match (r.resolve_char_ref(), quick_xml::escape::resolve_predefined_entity(&r)) {
                (Ok(Some(c)), _) => content.push(c),
                (_, Some(s)) => content.push_str(s),
                _ => return Err(syntax(reader.buffer_position(), format!("undefined entity or bad character reference &{};", &*r))),
            },
            Event::End(_) => {
                let name = stack.pop().unwrap_or_default();
                close(&name, stack.last().map(String::as_str), content.trim(), &mut current, &mut feature, &mut parsed);
                content.clear();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(syntax(text.len() as u64, format!("the file ends inside <{}>; expected its closing tag", stack.join("><"))));
    }
    let invalid = |message: String| TypeSystemError::Invalid { origin: origin.into(), message };
    for t in &parsed.types {
        if t.name.is_empty() {
            return Err(invalid("a <typeDescription> has no <name>".into()));
        }
        if t.features.iter().any(|f| f.name.is_empty() || f.range.is_empty()) {
            return Err(invalid(format!("type {}: a <featureDescription> lacks <name> or <rangeTypeName>", t.name)));
        }
    }
    Ok(parsed)
}

/// Files the value of the element `name` (child of `parent`) that just closed.
fn close(
    name: &str,
    parent: Option<&str>,
    value: &str,
    current: &mut Option<TypeDesc>,
    feature: &mut Option<FeatureDesc>,
    parsed: &mut Parsed,
) {
    match (name, parent) {
        ("featureDescription", _) => {
            if let (Some(f), Some(t)) = (feature.take(), current.as_mut()) {
                t.features.push(f);
            }
        }
        ("typeDescription", _) => {
            if let Some(mut t) = current.take() {
                if t.supertype.as_deref() == Some("") {
                    t.supertype = Some("uima.cas.TOP".into());
                }
                parsed.types.push(t);
            }
        }
        (_, Some("featureDescription")) => {
            if let Some(f) = feature.as_mut() {
                match name {
                    "name" => f.name = value.into(),
                    "rangeTypeName" => f.range = value.into(),
                    "elementType" => f.element_type = Some(value.into()),
                    "multipleReferencesAllowed" => f.multiple_references_allowed = value == "true",
                    "description" => f.description = value.into(),
                    _ => {}
                }
            }
        }
        (_, Some("typeDescription")) => {
            if let Some(t) = current.as_mut() {
                match name {
                    "name" => t.name = value.into(),
                    "supertypeName" => t.supertype = Some(value.into()),
                    "description" => t.description = value.into(),
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::uima::NAMED_ENTITY;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/xmi").join(name)
    }

    #[test]
    fn reads_the_dkpro_type_system_with_inheritance() {
        let ts = TypeSystem::from_path(&fixture("important_dkpro_types.xml")).unwrap();
        let person = "de.tudarmstadt.ukp.dkpro.core.api.ner.type.Person";
        assert!(ts.is_subtype(person, NAMED_ENTITY));
        assert!(ts.is_annotation(person));
        assert_eq!(ts.feature(person, "value").unwrap().range, "uima.cas.String");
        let names: Vec<_> = ts.features(person).iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, vec!["sofa", "begin", "end", "value", "identifier"]);
        let subtypes = ts.subtypes(NAMED_ENTITY);
        assert!(subtypes.contains(person) && subtypes.contains(NAMED_ENTITY));
        assert!(!subtypes.contains("de.tudarmstadt.ukp.dkpro.core.api.segmentation.type.Token"));
        let links = ts.feature("de.tudarmstadt.ukp.dkpro.core.api.semantics.type.SemPred", "arguments").unwrap();
        assert_eq!(links.element_type.as_deref(), Some("de.tudarmstadt.ukp.dkpro.core.api.semantics.type.SemArgLink"));
        assert!(ts.is_primitive("uima.cas.Integer") && !ts.is_primitive(person));
    }

    #[test]
    fn imports_by_location_are_followed_and_by_name_refused() {
        let dir = tempfile::tempdir().unwrap();
        let wrap = |body: &str| format!("<typeSystemDescription>{body}</typeSystemDescription>");
        let base = "<types><typeDescription><name>a.Base</name><supertypeName>uima.tcas.Annotation</supertypeName></typeDescription></types>";
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/base.xml"), wrap(base)).unwrap();
        let main = "<imports><import location=\"sub/base.xml\"/></imports>\
                    <types><typeDescription><name>a.Sub</name><supertypeName>a.Base</supertypeName></typeDescription></types>";
        std::fs::write(dir.path().join("main.xml"), wrap(main)).unwrap();
        let ts = TypeSystem::from_path(&dir.path().join("main.xml")).unwrap();
        assert!(ts.is_annotation("a.Sub"));
        std::fs::write(dir.path().join("named.xml"), wrap("<imports><import name=\"org.Types\"/></imports>")).unwrap();
        let err = TypeSystem::from_path(&dir.path().join("named.xml")).unwrap_err();
        assert!(err.to_string().contains("imports by name `org.Types`"), "{err}");
    }

    #[test]
    fn xml_round_trips_and_merges() {
        let ts = TypeSystem::from_path(&fixture("small_typesystem.xml")).unwrap();
        let back = TypeSystem::from_bytes(ts.to_xml().as_bytes(), "mem").unwrap();
        assert_eq!(back.types().collect::<Vec<_>>(), ts.types().collect::<Vec<_>>());
        let mut merged = TypeSystem::from_path(&fixture("important_dkpro_types.xml")).unwrap();
        merged.merge(&ts).unwrap();
        assert!(merged.get("cassis.Token").is_some() && merged.get(NAMED_ENTITY).is_some());
    }

    #[test]
    fn inconsistent_descriptions_are_errors_naming_the_problem() {
        let wrap = |types: &str| format!("<typeSystemDescription><types>{types}</types></typeSystemDescription>");
        let err = TypeSystem::from_bytes(wrap("<typeDescription><name>a.B</name><supertypeName>a.Missing</supertypeName></typeDescription>").as_bytes(), "t.xml").unwrap_err();
        assert!(err.to_string().contains("a.Missing, which is not defined"), "{err}");
        let cyclic = "<typeDescription><name>a.B</name><supertypeName>a.C</supertypeName></typeDescription>\
                      <typeDescription><name>a.C</name><supertypeName>a.B</supertypeName></typeDescription>";
        let err = TypeSystem::from_bytes(wrap(cyclic).as_bytes(), "t.xml").unwrap_err();
        assert!(err.to_string().contains("inherits from itself"), "{err}");
        let err = TypeSystem::from_bytes(b"<types>\n<x/>", "t.xml").unwrap_err();
        assert!(err.to_string().starts_with("t.xml:1: expected a <typeSystemDescription>"), "{err}");
        let err = TypeSystem::from_bytes(wrap("<typeDescription><name>a.B").as_bytes(), "t.xml").unwrap_err();
        assert!(err.to_string().contains("t.xml:1:"), "{err}");
        let mut ts = TypeSystem::builtin();
        ts.add(TypeDesc::new("a.B", "uima.cas.TOP", vec![FeatureDesc::new("f", "uima.cas.String")])).unwrap();
        let err = ts.add(TypeDesc::new("a.B", "uima.cas.TOP", vec![FeatureDesc::new("f", "uima.cas.Integer")])).unwrap_err();
        assert!(err.to_string().contains("feature a.B:f has range uima.cas.String and uima.cas.Integer"), "{err}");
    }
}
