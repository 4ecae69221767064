//! The two file kinds of a taxonomy, parsed into checked-shape structs.
//!
//! `taxonomy/archetypes.yaml` (`kind: archetypes`) lists the archetypes with their
//! definitions and examples; `mappings/*.yaml` (`kind: mapping`) group source labels under
//! the archetype they map to. Parsing checks the shape (unknown keys, wrong types) and
//! reports the parser's `file:line`; the rules across entries live in [`super::check`].

use super::locate::{line_of, Step};
use super::source::{read_file, Source};
use super::{Diagnostic, Severity, TaxonomyError};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// One archetype: a coarse, domain-independent entity class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archetype {
    /// The name mappings and data use (`Person`, `Creative_Work`).
    pub name: String,
    /// What belongs to it, in our own words.
    pub definition: String,
    /// A few typical mentions.
    pub examples: Vec<String>,
}

/// The archetypes file: the coarse layer every mapping points into.
///
/// # Example
/// ```
/// use nerprep::taxonomy::Archetypes;
/// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/taxonomy/archetypes.yaml");
/// let archetypes = Archetypes::load(path).unwrap();
/// assert_eq!(archetypes.len(), 14);
/// let person = archetypes.get("Person").unwrap();
/// assert!(!person.definition.is_empty() && !person.examples.is_empty());
/// ```
#[derive(Debug, Clone)]
pub struct Archetypes {
    /// Version of the taxonomy (bumped on every change of a name or definition).
    pub version: String,
    /// Where the archetypes come from.
    pub source: Option<String>,
    /// The archetypes, in file order.
    pub archetypes: Vec<Archetype>,
    origin: String,
    text: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawArchetypes {
    kind: String,
    version: String,
    #[serde(default)]
    source: Option<String>,
    archetypes: Vec<RawArchetype>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawArchetype {
    name: String,
    definition: String,
    #[serde(default)]
    examples: Vec<String>,
}

/// Which kind of file a taxonomy YAML file is (its `kind:` key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// `kind: archetypes`.
    Archetypes,
    /// `kind: mapping`.
    Mapping,
}

#[derive(Deserialize)]
struct KindOnly {
    kind: Option<String>,
}

fn parse_error(origin: &str, e: serde_norway::Error) -> TaxonomyError {
    let line = e.location().map(|l| l.line());
    // The parser appends "at line L column C" itself; keep the message, lose the repeat.
    let mut message = e.to_string();
    if let Some(cut) = message.find(" at line ") {
        message.truncate(cut);
    }
    TaxonomyError::Parse { file: origin.to_string(), line, message }
}

/// Tells an archetypes file from a mapping file by its `kind:` key.
pub fn file_kind(text: &str, origin: &str) -> Result<FileKind, TaxonomyError> {
    let k: KindOnly = serde_norway::from_str(text).map_err(|e| parse_error(origin, e))?;
    match k.kind.as_deref() {
        Some("archetypes") => Ok(FileKind::Archetypes),
        Some("mapping") => Ok(FileKind::Mapping),
        other => Err(TaxonomyError::Parse {
            file: origin.to_string(),
            line: line_of(text, &[Step::Key("kind")]).or(Some(1)),
            message: format!("expected `kind: archetypes` or `kind: mapping`, found {other:?}"),
        }),
    }
}

impl Archetypes {
    /// Reads and parses an archetypes file, and fails on any error-level rule violation
    /// (duplicate names, empty definitions); warnings are available from [`Self::diagnostics`].
    pub fn load(path: impl AsRef<Path>) -> Result<Archetypes, TaxonomyError> {
        let path = path.as_ref();
        let a = Archetypes::parse(&read_file(path)?, &path.display().to_string())?;
        a.fail_on_errors()?;
        Ok(a)
    }

    /// Parses the text of an archetypes file; `origin` names it in messages. Checks the
    /// shape only; see [`Self::diagnostics`] for the rules.
    pub fn parse(text: &str, origin: &str) -> Result<Archetypes, TaxonomyError> {
        let raw: RawArchetypes = serde_norway::from_str(text).map_err(|e| parse_error(origin, e))?;
        if raw.kind != "archetypes" {
            return Err(TaxonomyError::Parse {
                file: origin.to_string(),
                line: line_of(text, &[Step::Key("kind")]),
                message: format!("expected `kind: archetypes`, found `{}`", raw.kind),
            });
        }
        Ok(Archetypes {
            version: raw.version,
            source: raw.source,
            archetypes: raw
                .archetypes
                .into_iter()
                .map(|a| Archetype { name: a.name, definition: a.definition, examples: a.examples })
                .collect(),
            origin: origin.to_string(),
            text: text.to_string(),
        })
    }

    /// Number of archetypes.
    pub fn len(&self) -> usize {
        self.archetypes.len()
    }

    /// True when the file lists no archetype.
    pub fn is_empty(&self) -> bool {
        self.archetypes.is_empty()
    }

    /// The archetypes in file order.
    pub fn iter(&self) -> impl Iterator<Item = &Archetype> {
        self.archetypes.iter()
    }

    /// The archetype called `name` (exact match).
    pub fn get(&self, name: &str) -> Option<&Archetype> {
        self.archetypes.iter().find(|a| a.name == name)
    }

    /// The archetype names in file order.
    pub fn names(&self) -> Vec<&str> {
        self.archetypes.iter().map(|a| a.name.as_str()).collect()
    }

    /// How messages name the file.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The 1-based line of archetype `index` (its `name:` entry).
    pub fn line_of(&self, index: usize) -> Option<usize> {
        line_of(&self.text, &[Step::Key("archetypes"), Step::Index(index)])
    }

    fn diag(&self, severity: Severity, index: Option<usize>, code: &'static str, message: String) -> Diagnostic {
        Diagnostic::new(severity, &self.origin, index.and_then(|i| self.line_of(i)), code, message)
    }

    /// The rules of a single archetypes file: at least one archetype, names unique and
    /// made of letters, digits and `_`, definitions non-empty, examples non-empty strings.
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        if self.archetypes.is_empty() {
            out.push(self.diag(Severity::Error, None, "no_archetypes", "the file lists no archetype".into()));
        }
        if self.version.trim().is_empty() {
            out.push(Diagnostic::new(
                Severity::Error,
                &self.origin,
                line_of(&self.text, &[Step::Key("version")]),
                "empty_version",
                "`version` is empty",
            ));
        }
        let mut seen = BTreeMap::<&str, usize>::new();
        for (i, a) in self.archetypes.iter().enumerate() {
            if !valid_name(&a.name) {
                out.push(self.diag(
                    Severity::Error,
                    Some(i),
                    "bad_archetype_name",
                    format!("archetype name `{}` must start with a letter and use only letters, digits and `_`", a.name),
                ));
            }
            if let Some(&first) = seen.get(a.name.as_str()) {
                let first_line = self.line_of(first).map(|l| format!(" (first at line {l})")).unwrap_or_default();
                out.push(self.diag(
                    Severity::Error,
                    Some(i),
                    "duplicate_archetype",
                    format!("archetype `{}` is defined twice{first_line}", a.name),
                ));
            } else {
                seen.insert(&a.name, i);
            }
            if a.definition.trim().is_empty() {
                out.push(self.diag(
                    Severity::Error,
                    Some(i),
                    "empty_definition",
                    format!("archetype `{}` has an empty definition", a.name),
                ));
            }
            if a.examples.iter().any(|e| e.trim().is_empty()) {
                out.push(self.diag(
                    Severity::Error,
                    Some(i),
                    "empty_example",
                    format!("archetype `{}` has an empty example", a.name),
                ));
            }
            if a.examples.is_empty() {
                out.push(self.diag(
                    Severity::Warning,
                    Some(i),
                    "no_examples",
                    format!("archetype `{}` has no example mentions", a.name),
                ));
            }
        }
        out
    }

    fn fail_on_errors(&self) -> Result<(), TaxonomyError> {
        errors_only(self.diagnostics())
    }
}

pub(crate) fn errors_only(diagnostics: Vec<Diagnostic>) -> Result<(), TaxonomyError> {
    let errors: Vec<Diagnostic> = diagnostics.into_iter().filter(|d| d.severity == Severity::Error).collect();
    if errors.is_empty() { Ok(()) } else { Err(TaxonomyError::Invalid(errors)) }
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_alphabetic()) && chars.all(|c| c.is_alphanumeric() || c == '_')
}

/// One source label and what it maps to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingEntry {
    /// The label exactly as the source spells it.
    pub label: String,
    /// The archetype it maps to (the group it is listed under).
    pub archetype: String,
    /// One line saying what the label covers, in our own words, when the mapping has one.
    pub definition: Option<String>,
    /// Other spellings of the same type in other releases of the data; they map the same way.
    pub aliases: Vec<String>,
    /// False for draft entries no person has reviewed yet.
    pub reviewed: bool,
    /// Frequency rank in the source (1 = most frequent), when known.
    pub rank: Option<u32>,
    /// A free-text remark for reviewers.
    pub note: Option<String>,
    /// Position of the entry: (group index, index within the group).
    pub(crate) at: (usize, usize),
}

/// A mapping file: source labels grouped under archetypes.
///
/// # Example
/// ```
/// use nerprep::taxonomy::Mapping;
/// let path = concat!(env!("CARGO_MANIFEST_DIR"), "/mappings/crossner.yaml");
/// let crossner = Mapping::load(path).unwrap();
/// assert_eq!(crossner.archetype_of("politicalparty"), Some("Organization"));
/// assert_eq!(crossner.archetype_of("political party"), Some("Organization")); // an alias
/// assert!(crossner.definition_of("politician").unwrap().contains("office"));
/// assert_eq!(crossner.archetype_of("nothing like it"), None);
/// ```
#[derive(Debug, Clone)]
pub struct Mapping {
    /// Short name (`iepile`, `crossner`).
    pub name: String,
    /// Version of the mapping.
    pub version: String,
    /// Where the labels and assignments come from.
    pub source: Option<String>,
    /// The `taxonomy:` path as written (relative to the mapping file).
    pub taxonomy: String,
    /// Whether every entry must carry a definition.
    pub require_definitions: bool,
    /// The archetype groups in file order, each with its entries in file order.
    pub groups: Vec<(String, Vec<MappingEntry>)>,
    index: BTreeMap<String, (usize, usize)>,
    origin: String,
    text: String,
    file: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    kind: String,
    name: String,
    version: String,
    taxonomy: String,
    #[serde(default)]
    source: Option<String>,
    #[serde(default = "yes")]
    reviewed: bool,
    #[serde(default)]
    require_definitions: bool,
    archetypes: Groups,
}

fn yes() -> bool {
    true
}

/// The `archetypes:` mapping kept as an ordered list, so that file order survives and a
/// group listed twice is reported rather than silently merged.
struct Groups(Vec<(String, Vec<RawEntry>)>);

impl<'de> Deserialize<'de> for Groups {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Groups;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping of archetype name to a list of labels")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Groups, A::Error> {
                let mut out = Vec::new();
                while let Some(k) = map.next_key::<String>()? {
                    let entries: Option<Vec<RawEntry>> = map.next_value()?;
                    out.push((k, entries.unwrap_or_default()));
                }
                Ok(Groups(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// A mapping entry: a bare label, or a mapping with a definition and other fields.
enum RawEntry {
    Plain(String),
    Full(FullEntry),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FullEntry {
    label: String,
    #[serde(default)]
    definition: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    reviewed: Option<bool>,
    #[serde(default)]
    rank: Option<u32>,
    #[serde(default)]
    note: Option<String>,
}

impl<'de> Deserialize<'de> for RawEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawEntry;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a label, or a mapping with `label` and optional `definition`, `aliases`, `reviewed`, `rank`, `note`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawEntry, E> {
                Ok(RawEntry::Plain(v.to_string()))
            }
            // Bare YAML scalars such as `1984` or `true` are labels too.
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawEntry, E> {
                Ok(RawEntry::Plain(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawEntry, E> {
                Ok(RawEntry::Plain(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawEntry, E> {
                Ok(RawEntry::Plain(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawEntry, A::Error> {
                FullEntry::deserialize(de::value::MapAccessDeserializer::new(map)).map(RawEntry::Full)
            }
        }
        d.deserialize_any(V)
    }
}

impl Mapping {
    /// Reads and parses a mapping file and fails on any error-level rule of the file itself
    /// (a label under two archetypes, an empty group, an empty definition, a `parent ->
    /// child` cycle). Archetype names are checked against the taxonomy by
    /// [`Self::load_checked`].
    pub fn load(path: impl AsRef<Path>) -> Result<Mapping, TaxonomyError> {
        let path = path.as_ref();
        let mut m = Mapping::parse(&read_file(path)?, &path.display().to_string())?;
        m.file = Some(path.to_path_buf());
        errors_only(m.diagnostics())?;
        Ok(m)
    }

    /// Like [`Self::load`], and also loads the archetypes file the mapping names in
    /// `taxonomy:` and fails when the mapping uses an archetype that file does not define.
    pub fn load_checked(path: impl AsRef<Path>) -> Result<(Mapping, Archetypes), TaxonomyError> {
        let m = Mapping::load(path)?;
        let archetypes = Archetypes::load(m.taxonomy_path())?;
        errors_only(m.diagnostics_against(&archetypes))?;
        Ok((m, archetypes))
    }

    /// Reads a mapping from a [`Source`] (file or `git:REV:path`) without checking rules.
    pub fn from_source(source: &Source) -> Result<Mapping, TaxonomyError> {
        let mut m = Mapping::parse(&source.read()?, &source.display())?;
        if let Source::File(p) = source {
            m.file = Some(p.clone());
        }
        Ok(m)
    }

    /// Parses the text of a mapping file; `origin` names it in messages. Checks the shape
    /// only; see [`Self::diagnostics`] for the rules.
    pub fn parse(text: &str, origin: &str) -> Result<Mapping, TaxonomyError> {
        let raw: RawMapping = serde_norway::from_str(text).map_err(|e| parse_error(origin, e))?;
        if raw.kind != "mapping" {
            return Err(TaxonomyError::Parse {
                file: origin.to_string(),
                line: line_of(text, &[Step::Key("kind")]),
                message: format!("expected `kind: mapping`, found `{}`", raw.kind),
            });
        }
        let mut groups = Vec::with_capacity(raw.archetypes.0.len());
        let mut index = BTreeMap::new();
        for (g, (archetype, entries)) in raw.archetypes.0.into_iter().enumerate() {
            let mut out = Vec::with_capacity(entries.len());
            for (i, e) in entries.into_iter().enumerate() {
                let entry = match e {
                    RawEntry::Plain(label) => MappingEntry {
                        label,
                        archetype: archetype.clone(),
                        definition: None,
                        aliases: Vec::new(),
                        reviewed: raw.reviewed,
                        rank: None,
                        note: None,
                        at: (g, i),
                    },
                    RawEntry::Full(f) => MappingEntry {
                        label: f.label,
                        archetype: archetype.clone(),
                        definition: f.definition,
                        aliases: f.aliases,
                        reviewed: f.reviewed.unwrap_or(raw.reviewed),
                        rank: f.rank,
                        note: f.note,
                        at: (g, i),
                    },
                };
                for name in std::iter::once(&entry.label).chain(&entry.aliases) {
                    index.entry(name.clone()).or_insert((g, i));
                }
                out.push(entry);
            }
            groups.push((archetype, out));
        }
        Ok(Mapping {
            name: raw.name,
            version: raw.version,
            source: raw.source,
            taxonomy: raw.taxonomy,
            require_definitions: raw.require_definitions,
            groups,
            index,
            origin: origin.to_string(),
            text: text.to_string(),
            file: None,
        })
    }

    /// The archetype `label` maps to (exact spelling; aliases count), if any.
    pub fn archetype_of(&self, label: &str) -> Option<&str> {
        self.entry(label).map(|e| e.archetype.as_str())
    }

    /// The definition of `label` (exact spelling; aliases count), if the mapping has one.
    pub fn definition_of(&self, label: &str) -> Option<&str> {
        self.entry(label).and_then(|e| e.definition.as_deref())
    }

    /// The entry `label` (or one of its aliases) belongs to. When a label is listed more
    /// than once (an error `taxonomy check` reports), the first listing wins.
    pub fn entry(&self, label: &str) -> Option<&MappingEntry> {
        self.index.get(label).map(|&(g, i)| &self.groups[g].1[i])
    }

    /// All entries in file order.
    pub fn entries(&self) -> impl Iterator<Item = &MappingEntry> {
        self.groups.iter().flat_map(|(_, es)| es.iter())
    }

    /// Every spelling the mapping knows (labels and aliases) with its entry, sorted.
    pub fn spellings(&self) -> impl Iterator<Item = (&str, &MappingEntry)> {
        self.index.iter().map(|(k, &(g, i))| (k.as_str(), &self.groups[g].1[i]))
    }

    /// The labels (not aliases) listed under `archetype`, in file order; empty if none.
    pub fn members(&self, archetype: &str) -> Vec<&str> {
        self.groups
            .iter()
            .filter(|(a, _)| a == archetype)
            .flat_map(|(_, es)| es.iter().map(|e| e.label.as_str()))
            .collect()
    }

    /// How messages name the file.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The archetypes file this mapping points to, resolved against the mapping's directory
    /// (or the current directory when the mapping was not read from a file).
    pub fn taxonomy_path(&self) -> PathBuf {
        let base = self.file.as_deref().and_then(Path::parent).unwrap_or(Path::new(""));
        base.join(&self.taxonomy)
    }

    /// 1-based line of the key of group `g`, of entry `i` of it, or of alias `j` of that entry.
    pub(crate) fn line(&self, g: usize, i: Option<usize>, alias: Option<usize>) -> Option<usize> {
        let mut path = vec![Step::Key("archetypes"), Step::Entry(g)];
        match (i, alias) {
            (None, _) => path[1] = Step::KeyAt(g),
            (Some(i), None) => path.push(Step::Index(i)),
            (Some(i), Some(j)) => path.extend([Step::Index(i), Step::Key("aliases"), Step::Index(j)]),
        }
        line_of(&self.text, &path)
    }

    /// 1-based line of an entry.
    pub fn line_of_entry(&self, e: &MappingEntry) -> Option<usize> {
        self.line(e.at.0, Some(e.at.1), None)
    }

    pub(crate) fn diag(&self, severity: Severity, line: Option<usize>, code: &'static str, message: String) -> Diagnostic {
        Diagnostic::new(severity, &self.origin, line, code, message)
    }
}
