//! UIMA CAS XMI reader (INCEpTION, WebAnno, DKPro Core, cTAKES exports; datasets such as
//! FRAME): XMI files, directories of them, zip archives of them, or INCEpTION project exports
//! (see [`crate::uima::inception`]: one document per annotator's file, `--annotators` picks
//! whose, `meta.annotator` and `meta.document` say which), plus a TypeSystem XML.
//!
//! Data enters as documents: each `.xmi` file or zip member is one CAS. A document is parsed
//! with a pull parser ([`crate::uima::xmi`]) into the feature structures the type system
//! says matter (a [`TypePlan`]: entity types and their subtypes, tokens, sentences, relation
//! and link types, document metadata). Each document is one unit of the ingest driver,
//! which parses them in parallel and writes them in input order (files sorted by path, zip
//! members by name), so the table is the same whatever the thread count.
//!
//! One sample per document view (the initial view by default, `--view NAME`, or every view
//! with text), or per sentence with `--split-sentences` (offsets rebased, id suffix `#n`).
//! UIMA offsets are UTF-16 units and are converted to code points
//! ([`crate::uima::offsets`]); an offset past the text, inside a surrogate pair, unparsable,
//! or a begin after its end sends that annotation to `unaligned` with the reason, and the
//! rest of the document is kept. Entities are the annotations of every `--entity-type` (a
//! layer each, kept in `Entity::layer`; `meta.layer_types` maps layers to type names). The
//! label is the `--label-feature` (default `value`), or the
//! short type name when that is absent or empty (noted `label_from_type_name`); an
//! `identifier` feature (Wikidata/KB link) is kept per entity. Relations come from types with
//! `Governor`/`Dependent` features pointing at entities (INCEpTION/WebAnno relation layers;
//! label = the first non-empty string feature, else the short type name) and from link
//! features (an `FSArray` of links with `role` and `target`, FRAME-/INCEpTION-style slots).
//! Coreference chains (`first` → link → `next` …) give `coref` relations between consecutive
//! mentions; a link with no entity under it becomes an entity of the chain's layer (counted).
//! Tokens are used to count entities that do not start and end on token boundaries.
//!
//! A document that cannot be used goes to quarantine whole, with its line and reason:
//! `invalid_utf8`, `xml_syntax`, `truncated`, `wrong_namespace`, `bad_xmi_id`,
//! `unknown_reference` (an `xmi:id` nothing defines), `missing_sofa`, `missing_view`,
//! `no_sofa_string`, `zip_member_unreadable`. The other documents are unaffected.

use super::{collect_files, split_from_stem, stem_without_split, FileContext, FileState, LangPolicy, Naming, Part, ReadError, Reader, Sink, Unit, UnitBody, Units};
use crate::io::IoError;
use crate::model::{CharIndex, Entity, Relation, Sample, SourceFormat, Span, Unaligned};
use crate::report::Counts;
use crate::uima::offsets::Utf16Index;
use crate::uima::typesystem::{TypeSystem, TypeSystemError};
use crate::uima::xmi::{self, Cas, Fs, XmiError};
use crate::uima::inception::{is_project_json, Annotators, Layout};
use crate::uima::{line_at, short_name, COREF, DOCUMENT_ANNOTATION, FS_ARRAY, INITIAL_VIEW, NAMED_ENTITY, SENTENCE, TOKEN};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Plan key of the type system given with `--typesystem`.
const GIVEN_TYPESYSTEM: &str = "--typesystem";
/// File names (lower-cased) taken as a type system beside the XMI or inside a zip.
const TYPESYSTEM_NAMES: [&str; 1] = ["typesystem.xml"];

/// Which views of a document become samples.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ViewSelection {
    /// The initial view (`_InitialView`).
    #[default]
    Initial,
    /// The view with this sofa ID.
    Named(String),
    /// Every view that has text, one sample each.
    All,
}

/// XMI options, checked against the type system by [`XmiReader::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmiOptions {
    /// TypeSystem XML files, merged; empty: look for `TypeSystem.xml` in the zip or beside
    /// the XMI files.
    pub typesystems: Vec<PathBuf>,
    /// The entity annotation types (span layers); their subtypes count too.
    pub entity_types: Vec<String>,
    /// INCEpTION project exports: whose annotations to read.
    pub annotators: Annotators,
    /// The feature holding the label.
    pub label_feature: String,
    /// Which views to read.
    pub views: ViewSelection,
    /// One sample per sentence instead of per view.
    pub split_sentences: bool,
    /// Token type for boundary checks; `None`: DKPro Core's `Token`, if the type system has it.
    pub token_type: Option<String>,
    /// Sentence type; `None`: DKPro Core's `Sentence`, if the type system has it.
    pub sentence_type: Option<String>,
    /// The largest zip member read, in bytes; a bigger one is quarantined
    /// (`zip_member_too_large`), so one huge member cannot abort the archive.
    pub max_member_size: u64,
}

impl Default for XmiOptions {
    fn default() -> Self {
        XmiOptions {
            typesystems: Vec::new(),
            entity_types: vec![NAMED_ENTITY.into()],
            annotators: Annotators::Default,
            label_feature: "value".into(),
            views: ViewSelection::Initial,
            split_sentences: false,
            token_type: None,
            sentence_type: None,
            max_member_size: DEFAULT_MAX_MEMBER_SIZE,
        }
    }
}

/// The default [`XmiOptions::max_member_size`]: 256 MiB.
pub const DEFAULT_MAX_MEMBER_SIZE: u64 = 256 << 20;

/// Why a zip member could not be read: its quarantine reason and what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberError {
    /// `zip_member_unreadable` or `zip_member_too_large`.
    pub reason: &'static str,
    /// What was expected.
    pub message: String,
}

impl std::fmt::Display for MemberError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

fn unreadable(message: String) -> MemberError {
    MemberError { reason: "zip_member_unreadable", message }
}

/// What one type system means to the reader: the role of every type that matters.
#[derive(Debug, Clone)]
pub struct TypePlan {
    roles: BTreeMap<String, Roles>,
    /// Relation type → its string features, in declaration order (label candidates).
    relation_labels: BTreeMap<String, Vec<String>>,
    /// Entity type → its link features (FSArrays of elements with a `target`).
    link_features: BTreeMap<String, Vec<String>>,
    /// Entity or chain type → its layer: the short name of the `--entity-type` it belongs to
    /// (the most specific one), or of a coreference chain type without its `Chain` suffix.
    layer_of: BTreeMap<String, String>,
    /// Layer → the full name of its type (kept in each sample's `meta.layer_types`).
    layer_types: BTreeMap<String, String>,
    /// Every type the type system declares (built-in types included).
    known: BTreeSet<String>,
    label_feature: String,
    origin: String,
}

/// What the reader does with feature structures of one type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Roles {
    entity: bool,
    token: bool,
    sentence: bool,
    document: bool,
    relation: bool,
    link: bool,
    array: bool,
    /// A coreference chain (`first` → a chain link).
    chain: bool,
    /// A link of a coreference chain (`next` → the next link).
    chain_link: bool,
}

impl Roles {
    fn any(self) -> bool {
        self != Roles::default()
    }
    fn annotation(self) -> bool {
        self.entity || self.token || self.sentence || self.document || self.relation || self.chain || self.chain_link
    }
}

impl TypePlan {
    /// Works out the roles of the types of `ts` under `options`; fails with a message when
    /// the entity, token or sentence type is missing or not an annotation type.
    pub fn new(ts: &TypeSystem, options: &XmiOptions) -> Result<TypePlan, String> {
        let origin = ts.origin().to_string();
        let annotation_type = |t: &str, what: &str| -> Result<BTreeSet<String>, String> {
            if ts.get(t).is_none() {
                return Err(format!("the type system ({origin}) has no type `{t}`; {what} must name one of its annotation types"));
            }
            if !ts.is_annotation(t) {
                return Err(format!("`{t}` ({what}) is not an annotation type (it does not inherit uima.tcas.Annotation)"));
            }
            Ok(ts.subtypes(t))
        };
        let optional = |given: &Option<String>, default: &str, what: &str| match given {
            Some(t) => annotation_type(t, what),
            None if ts.get(default).is_some() => annotation_type(default, what),
            None => Ok(BTreeSet::new()),
        };
        let mut entities = BTreeSet::new();
        let mut layer_of: BTreeMap<String, String> = BTreeMap::new();
        let mut layer_types = BTreeMap::new();
        for listed in &options.entity_types {
            let subtypes = annotation_type(listed, "--entity-type")?;
            for t in &subtypes {
                // The most specific listed type wins: a subtype listed too is its own layer.
                let more_specific = layer_of.get(t).is_some_and(|l| ts.is_subtype(l, listed));
                if !more_specific {
                    layer_of.insert(t.clone(), listed.clone());
                }
            }
            layer_types.insert(short_name(listed).to_string(), listed.clone());
            entities.extend(subtypes);
        }
        let tokens = optional(&options.token_type, TOKEN, "--token-type")?;
        let sentences = optional(&options.sentence_type, SENTENCE, "--sentence-type")?;
        if options.split_sentences && sentences.is_empty() {
            return Err(format!(
                "--split-sentences needs a sentence type, and the type system ({origin}) has no `{SENTENCE}`; pass --sentence-type"
            ));
        }
        let mut roles: BTreeMap<String, Roles> = BTreeMap::new();
        let mut set = |types: &BTreeSet<String>, f: fn(&mut Roles)| {
            for t in types {
                f(roles.entry(t.clone()).or_default());
            }
        };
        set(&entities, |r| r.entity = true);
        set(&tokens, |r| r.token = true);
        set(&sentences, |r| r.sentence = true);
        set(&ts.subtypes(DOCUMENT_ANNOTATION), |r| r.document = true);
        set(&ts.subtypes(FS_ARRAY), |r| r.array = true);
        let points_at_entities =
            |range: &str| options.entity_types.iter().any(|e| ts.is_subtype(e, range) || ts.is_subtype(range, e));
        let is_string = |range: &str| ts.is_subtype(range, "uima.cas.String");
        let mut relation_labels = BTreeMap::new();
        for t in ts.types().filter(|t| ts.is_annotation(&t.name)) {
            let (Some(g), Some(d)) = (ts.feature(&t.name, "Governor"), ts.feature(&t.name, "Dependent")) else { continue };
            if points_at_entities(&g.range) && points_at_entities(&d.range) {
                let labels = ts.features(&t.name).iter().filter(|f| is_string(&f.range)).map(|f| f.name.clone()).collect();
                relation_labels.insert(t.name.clone(), labels);
                roles.entry(t.name.clone()).or_default().relation = true;
            }
        }
        let mut link_features: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for e in &entities {
            for f in ts.features(e) {
                let Some(element) = f.element_type.as_deref().filter(|_| ts.is_subtype(&f.range, FS_ARRAY)) else { continue };
                if ts.feature(element, "target").is_some() {
                    link_features.entry(e.clone()).or_default().push(f.name.clone());
                    for l in ts.subtypes(element) {
                        roles.entry(l).or_default().link = true;
                    }
                }
            }
        }
        // Coreference chains: a type whose `first` points at an annotation type with `next`
        // (DKPro's CoreferenceChain/CoreferenceLink, INCEpTION's chain layers `XChain`/`XLink`).
        for t in ts.types() {
            let Some(first) = ts.feature(&t.name, "first") else { continue };
            if !ts.is_annotation(&first.range) || ts.feature(&first.range, "next").is_none() {
                continue;
            }
            let short = short_name(&t.name);
            let layer = short.strip_suffix("Chain").filter(|l| !l.is_empty()).unwrap_or(short).to_string();
            for c in ts.subtypes(&t.name) {
                roles.entry(c.clone()).or_default().chain = true;
                layer_of.entry(c).or_insert_with(|| layer.clone());
            }
            for l in ts.subtypes(&first.range) {
                roles.entry(l).or_default().chain_link = true;
            }
            layer_types.entry(layer).or_insert_with(|| t.name.clone());
        }
        let layer_of = layer_of.into_iter().map(|(t, l)| (t, short_name(&l).to_string())).collect();
        let known = ts.types().map(|t| t.name.clone()).collect();
        Ok(TypePlan { roles, relation_labels, link_features, layer_of, layer_types, known, label_feature: options.label_feature.clone(), origin })
    }

    fn roles(&self, type_name: &str) -> Roles {
        self.roles.get(type_name).copied().unwrap_or_default()
    }

    /// Where the type system came from.
    pub fn origin(&self) -> &str {
        &self.origin
    }
}

/// One XMI document to read: a file or a zip member, with its identity.
#[derive(Debug, Clone)]
pub struct XmiDocument {
    /// Identity, ids and quarantine location (`path`, or `archive.zip!member`).
    pub ctx: FileContext,
    /// Where its bytes are.
    pub source: DocSource,
    /// Index of its type plan in the reader.
    pub plan: usize,
    /// Size in bytes, for progress.
    pub size: u64,
    /// INCEpTION project exports: the source document's name and the annotator, recorded in
    /// every sample's `meta` as `document` and `annotator`.
    pub project: Option<(String, String)>,
}

/// Where a document's bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocSource {
    /// A file.
    File(PathBuf),
    /// A member of a zip archive.
    Zip {
        /// The archive.
        archive: PathBuf,
        /// The member name.
        member: String,
    },
    /// An XMI document inside a zip that is itself a member of a zip (an annotator's file of
    /// an INCEpTION project export).
    Nested {
        /// The outer archive.
        archive: PathBuf,
        /// The member of the outer archive (the inner zip).
        member: String,
        /// The XMI member of the inner zip.
        inner: String,
    },
    /// Nothing to read: a document of a project export that the annotator selection has no
    /// file for (counted as read and skipped with the reason).
    Missing {
        /// The project archive.
        archive: PathBuf,
        /// The skip reason.
        reason: &'static str,
    },
}

/// Reads XMI documents into samples. Build with [`XmiReader::new`], list documents with
/// [`XmiReader::discover`] (or [`Reader::files`]), read each with
/// [`XmiReader::read_document`].
#[derive(Debug)]
pub struct XmiReader {
    options: XmiOptions,
    naming: Naming,
    plans: Vec<TypePlan>,
    /// Type-system source (file path or `zip!member`) → plan index.
    plan_index: HashMap<String, usize>,
    /// The documents found by [`Reader::files`], grouped by the file holding them.
    found: Vec<(PathBuf, Vec<XmiDocument>)>,
}

fn ts_error(e: TypeSystemError) -> ReadError {
    match e {
        TypeSystemError::Io(io) => ReadError::Io(io),
        TypeSystemError::Syntax { origin, line, message } => {
            ReadError::Input { path: origin.into(), line: Some(line), message: format!("type system: {message}") }
        }
        TypeSystemError::Invalid { origin, message } => {
            ReadError::Input { path: origin.into(), line: None, message: format!("type system: {message}") }
        }
    }
}

fn config_error(path: &Path, message: String) -> ReadError {
    ReadError::Input { path: path.to_path_buf(), line: None, message }
}

impl XmiReader {
    /// Loads the `--typesystem` files (if any) and checks the options against them.
    pub fn new(options: XmiOptions, naming: Naming) -> Result<XmiReader, ReadError> {
        let mut reader = XmiReader { options, naming, plans: Vec::new(), plan_index: HashMap::new(), found: Vec::new() };
        if !reader.options.typesystems.is_empty() {
            let ts = TypeSystem::from_paths(&reader.options.typesystems).map_err(ts_error)?;
            reader.add_plan(GIVEN_TYPESYSTEM.into(), &ts, &reader.options.typesystems[0].clone())?;
        }
        Ok(reader)
    }

    /// The type plans loaded so far (one per distinct type system).
    pub fn plans(&self) -> &[TypePlan] {
        &self.plans
    }

    fn add_plan(&mut self, key: String, ts: &TypeSystem, path: &Path) -> Result<usize, ReadError> {
        if let Some(&i) = self.plan_index.get(&key) {
            return Ok(i);
        }
        let plan = TypePlan::new(ts, &self.options).map_err(|m| config_error(path, m))?;
        self.plans.push(plan);
        self.plan_index.insert(key, self.plans.len() - 1);
        Ok(self.plans.len() - 1)
    }

    /// The plan for a type system file found beside the documents.
    fn plan_for_file(&mut self, path: &Path) -> Result<usize, ReadError> {
        let key = path.display().to_string();
        if let Some(&i) = self.plan_index.get(&key) {
            return Ok(i);
        }
        let ts = TypeSystem::from_path(path).map_err(ts_error)?;
        self.add_plan(key, &ts, path)
    }

    /// Lists the documents of `inputs` in output order: files as given, directories searched
    /// recursively for `.xmi` files and `.zip` archives (sorted by path), archives read for
    /// `.xmi` members (sorted by name). Each document gets its dataset, split, id stem and
    /// type system; a document without a type system is an error naming what is missing.
    /// What the directory walk passed over is counted in `counts` ([`collect_files`]).
    pub fn discover(&mut self, inputs: &[PathBuf], counts: &mut Counts) -> Result<Vec<XmiDocument>, ReadError> {
        let options = &self.naming.clone();
        let mut docs = Vec::new();
        for input in inputs {
            let meta = std::fs::metadata(input).map_err(|e| IoError::new(input, e))?;
            if meta.is_dir() {
                let files = collect_files(input, counts)?;
                let root = Root { dir: input.clone(), name: root_name(input) };
                for f in files {
                    let rel = f.strip_prefix(input).unwrap_or(&f).to_path_buf();
                    if is_zip(&f) {
                        self.discover_zip(&f, &root, &rel, options, &mut docs)?;
                    } else if has_extension(&f, "xmi") {
                        self.discover_file(&f, &root, &rel, options, &mut docs)?;
                    } else if !TYPESYSTEM_NAMES.contains(&file_name(&f.to_string_lossy()).to_lowercase().as_str()) {
                        counts.note(super::NOTE_UNWANTED_FILE, 1);
                    }
                }
            } else {
                super::check_regular_file(input)?;
                let parent = input.parent().map(Path::to_path_buf).unwrap_or_default();
                let name = if is_zip(input) { file_stem(input) } else { root_name(&parent) };
                let root = Root { dir: parent, name };
                let rel = PathBuf::from(input.file_name().unwrap_or_default());
                if is_zip(input) {
                    self.discover_zip(input, &root, Path::new(""), options, &mut docs)?;
                } else {
                    self.discover_file(input, &root, &rel, options, &mut docs)?;
                }
            }
        }
        Ok(docs)
    }

    fn discover_file(&mut self, path: &Path, root: &Root, rel: &Path, options: &Naming, docs: &mut Vec<XmiDocument>) -> Result<(), ReadError> {
        let plan = match self.plan_index.get(GIVEN_TYPESYSTEM) {
            Some(&i) => i,
            None => match find_sibling_typesystem(path, &root.dir) {
                Some(ts) => self.plan_for_file(&ts)?,
                None => return Err(no_typesystem(path, "beside it (or in a parent directory of the input)")),
            },
        };
        let size = std::fs::metadata(path).map_err(|e| IoError::new(path, e))?.len();
        let ctx = context(path.display().to_string(), root, &strip_ext(rel), options);
        docs.push(XmiDocument { ctx, source: DocSource::File(path.to_path_buf()), plan, size, project: None });
        Ok(())
    }

    fn discover_zip(&mut self, path: &Path, root: &Root, rel: &Path, options: &Naming, docs: &mut Vec<XmiDocument>) -> Result<(), ReadError> {
        let mut archive = open_zip(path)?;
        let mut names: Vec<String> = Vec::new();
        for name in archive.file_names() {
            names.push(name.map_err(|e| config_error(path, format!("unreadable zip member name: {e}")))?.into_owned());
        }
        names.sort();
        if names.iter().any(|n| is_project_json(n)) {
            return self.discover_project(path, root, &names, &mut archive, options, docs);
        }
        if !names.iter().any(|n| has_extension(Path::new(n), "xmi")) {
            return Err(config_error(
                path,
                "is neither a zip of XMI documents (it holds no .xmi member) nor an INCEpTION project export (no exportedproject.json at its top); expected UIMA CAS XMI files with a TypeSystem.xml, or a project exported from INCEpTION in the UIMA CAS XMI format".into(),
            ));
        }
        let typesystems: Vec<&String> = names.iter().filter(|n| TYPESYSTEM_NAMES.contains(&file_name(n).to_lowercase().as_str())).collect();
        let prefix = strip_ext(rel);
        for name in names.iter().filter(|n| has_extension(Path::new(n), "xmi")) {
            let plan = self.member_plan(path, name, &typesystems, &mut archive, root)?;
            let size = archive.by_name(name).map(|f| f.size()).unwrap_or(0);
            let member_stem = strip_ext(Path::new(name));
            let stem = if prefix.is_empty() { member_stem } else { format!("{prefix}/{member_stem}") };
            let ctx = context(format!("{}!{name}", path.display()), root, &stem, options);
            let source = DocSource::Zip { archive: path.to_path_buf(), member: name.clone() };
            docs.push(XmiDocument { ctx, source, plan, size, project: None });
        }
        Ok(())
    }

    /// The documents of an INCEpTION project export (see [`crate::uima::inception`]): one per
    /// selected annotator's file, each an inner zip of one XMI document and its type system.
    /// Documents the selection has no file for are counted as skipped (`not_annotated`).
    fn discover_project(
        &mut self,
        path: &Path,
        root: &Root,
        names: &[String],
        archive: &mut zip::ZipArchive<File>,
        options: &Naming,
        docs: &mut Vec<XmiDocument>,
    ) -> Result<(), ReadError> {
        let layout = Layout::of(names.iter().map(String::as_str));
        if layout.documents.is_empty() {
            let found = if layout.other_formats.is_empty() {
                "no annotation/<document>/<user>.zip or curation/<document>/CURATION_USER.zip".to_string()
            } else {
                format!("annotation files in another format ({})", layout.other_formats.iter().cloned().collect::<Vec<_>>().join(", "))
            };
            return Err(config_error(
                path,
                format!("is an INCEpTION project export with {found}; export the project again with the format `UIMA CAS XMI` (XML 1.0)"),
            ));
        }
        let (files, without) = layout.select(&self.options.annotators).map_err(|m| config_error(path, format!("--annotators {m}")))?;
        for document in without {
            let ctx = context(format!("{}!{document}", path.display()), root, &document, options);
            docs.push(XmiDocument { ctx, source: DocSource::Missing { archive: path.to_path_buf(), reason: "not_annotated" }, plan: 0, size: 0, project: None });
        }
        for file in files {
            let inner_zip = read_member(archive, &file.member, self.options.max_member_size).map_err(|m| config_error(path, m.message))?;
            let located = format!("{}!{}", path.display(), file.member);
            let mut inner = zip::ZipArchive::new(std::io::Cursor::new(inner_zip))
                .map_err(|e| config_error(Path::new(&located), format!("expected a zip of one XMI document and its TypeSystem.xml: {e}")))?;
            let mut members: Vec<String> = Vec::new();
            for name in inner.file_names() {
                members.push(name.map_err(|e| config_error(Path::new(&located), format!("unreadable zip member name: {e}")))?.into_owned());
            }
            members.sort();
            let Some(xmi) = members.iter().find(|n| has_extension(Path::new(n), "xmi")).cloned() else {
                return Err(config_error(Path::new(&located), "holds no .xmi document; export the project in the `UIMA CAS XMI` format".into()));
            };
            let plan = match self.plan_index.get(GIVEN_TYPESYSTEM) {
                Some(&i) => i,
                None => match members.iter().find(|n| TYPESYSTEM_NAMES.contains(&file_name(n).to_lowercase().as_str())) {
                    Some(ts_name) => {
                        let bytes = read_member(&mut inner, ts_name, self.options.max_member_size).map_err(|m| config_error(Path::new(&located), m.message))?;
                        // Annotators' files carry the same type system: one plan per content.
                        let key = format!("sha256:{}", crate::provenance::sha256_hex(&bytes));
                        match self.plan_index.get(&key) {
                            Some(&i) => i,
                            None => {
                                let origin = format!("{located}!{ts_name}");
                                let ts = TypeSystem::from_bytes(&bytes, &origin).map_err(ts_error)?;
                                self.add_plan(key, &ts, Path::new(&origin))?
                            }
                        }
                    }
                    None => return Err(no_typesystem(Path::new(&format!("{located}!{xmi}")), "inside the annotator's zip")),
                },
            };
            let size = inner.by_name(&xmi).map(|f| f.size()).unwrap_or(0);
            let stem = format!("{}/{}", file.document, file.annotator);
            let ctx = context(format!("{located}!{xmi}"), root, &stem, options);
            let source = DocSource::Nested { archive: path.to_path_buf(), member: file.member.clone(), inner: xmi };
            docs.push(XmiDocument { ctx, source, plan, size, project: Some((file.document, file.annotator)) });
        }
        Ok(())
    }

    /// The plan of zip member `name`: `--typesystem`, else the archive's nearest
    /// `TypeSystem.xml`, else one beside the archive.
    fn member_plan(
        &mut self,
        path: &Path,
        name: &str,
        typesystems: &[&String],
        archive: &mut zip::ZipArchive<File>,
        root: &Root,
    ) -> Result<usize, ReadError> {
        if let Some(&i) = self.plan_index.get(GIVEN_TYPESYSTEM) {
            return Ok(i);
        }
        if let Some(ts_name) = nearest_member(name, typesystems) {
            let key = format!("{}!{ts_name}", path.display());
            if let Some(&i) = self.plan_index.get(&key) {
                return Ok(i);
            }
            let bytes = read_member(archive, ts_name, self.options.max_member_size).map_err(|m| config_error(Path::new(&key), m.message))?;
            let ts = TypeSystem::from_bytes(&bytes, &key).map_err(ts_error)?;
            return self.add_plan(key.clone(), &ts, Path::new(&key));
        }
        match find_sibling_typesystem(path, &root.dir) {
            Some(ts) => self.plan_for_file(&ts),
            None => Err(no_typesystem(&PathBuf::from(format!("{}!{name}", path.display())), "inside the zip or beside it")),
        }
    }

    /// Reads one document's bytes into `sink`: one sample per selected view (or sentence),
    /// or one quarantined record when the document is unusable.
    pub fn read_document(&self, doc: &XmiDocument, bytes: &[u8], sink: &mut dyn Sink) -> Result<(), ReadError> {
        let plan = &self.plans[doc.plan];
        match self.samples(&doc.ctx, plan, bytes, sink.counts()) {
            Ok(samples) => {
                for mut s in samples {
                    if let Some((document, annotator)) = &doc.project {
                        s.meta.insert("document".into(), document.clone().into());
                        s.meta.insert("annotator".into(), annotator.clone().into());
                    }
                    sink.sample(s)?;
                }
                Ok(())
            }
            Err(e) => {
                sink.counts().read += 1;
                let start = line_start(bytes, e.line);
                let raw = String::from_utf8_lossy(&bytes[start..bytes.len().min(start + crate::model::QuarantineRecord::RAW_LIMIT)]);
                sink.quarantine(doc.ctx.quarantine(Some(e.line), None, e.reason, e.message, &raw))
            }
        }
    }

    /// The samples of one document (counting their records), or why it is unusable.
    fn samples(&self, ctx: &FileContext, plan: &TypePlan, bytes: &[u8], counts: &mut Counts) -> Result<Vec<Sample>, XmiError> {
        let text = std::str::from_utf8(bytes).map_err(|e| XmiError {
            line: line_at(bytes, e.valid_up_to()),
            reason: "invalid_utf8",
            message: format!("expected UTF-8 XML: {e}"),
        })?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let cas = xmi::parse(text, &mut |t| plan.roles(t).any())?;
        if cas.sofas.is_empty() {
            return Err(XmiError {
                line: 1,
                reason: "missing_sofa",
                message: "the document has no cas:Sofa, so no text; expected <cas:Sofa sofaID=\"_InitialView\" sofaString=\"…\"/>".into(),
            });
        }
        count_unknown_types(&cas, plan, counts);
        let roles: Vec<Roles> = cas.type_names.iter().map(|t| plan.roles(t)).collect();
        check_references(&cas, &roles, plan)?;
        let mut out = Vec::new();
        for (index, sofa) in self.select_views(&cas.sofas)?.into_iter().enumerate() {
            let Some(text) = sofa.text.as_deref() else {
                if self.options.views == ViewSelection::All {
                    counts.read += 1;
                    counts.skip("view_without_text", 1);
                    continue;
                }
                return Err(XmiError {
                    line: sofa.line,
                    reason: "no_sofa_string",
                    message: format!("view `{}` has no sofaString (its data is not text)", sofa.id),
                });
            };
            let content = view_content(&cas, &roles, plan, sofa, text, counts);
            let record = if self.options.views == ViewSelection::All { index as u64 } else { 0 };
            let samples = if self.options.split_sentences {
                content.split(ctx, record, counts)
            } else {
                vec![content.whole(ctx, record)]
            };
            counts.read += samples.len() as u64;
            out.extend(samples);
        }
        Ok(out)
    }

    /// The sofas of the views to read, in view order, or why the document lacks the one asked
    /// for. `sofas` is not empty.
    fn select_views<'s>(&self, sofas: &'s [xmi::Sofa]) -> Result<Vec<&'s xmi::Sofa>, XmiError> {
        let mut sofas: Vec<&xmi::Sofa> = sofas.iter().collect();
        sofas.sort_by_key(|s| (s.num, s.xmi_id));
        let want = match &self.options.views {
            ViewSelection::All => return Ok(sofas),
            ViewSelection::Named(n) => n.as_str(),
            ViewSelection::Initial => INITIAL_VIEW,
        };
        match sofas.iter().find(|s| s.id == want) {
            Some(sofa) => Ok(vec![*sofa]),
            None => Err(XmiError {
                line: sofas.first().map_or(1, |s| s.line),
                reason: "missing_view",
                message: format!(
                    "no view `{want}`; the document has {}; pass --view NAME or --all-views",
                    sofas.iter().map(|s| s.id.as_str()).collect::<Vec<_>>().join(", ")
                ),
            }),
        }
    }
}

/// A directory (or archive) the documents were found under, and its dataset name.
struct Root {
    dir: PathBuf,
    name: String,
}

fn has_extension(path: &Path, ext: &str) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case(ext))
}

fn is_zip(path: &Path) -> bool {
    has_extension(path, "zip")
}

fn file_stem(path: &Path) -> String {
    path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
}

fn file_name(member: &str) -> &str {
    member.rsplit('/').next().unwrap_or(member)
}

/// The name of a directory, even when given as `.` or with a trailing slash.
fn root_name(dir: &Path) -> String {
    let named = dir.file_name().map(|n| n.to_string_lossy().into_owned());
    named
        .or_else(|| dir.canonicalize().ok().and_then(|c| c.file_name().map(|n| n.to_string_lossy().into_owned())))
        .unwrap_or_else(|| "xmi".to_string())
}

/// A relative path without its extension, `/`-separated (`sub/doc.xmi` → `sub/doc`).
fn strip_ext(rel: &Path) -> String {
    let parts: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    let joined = parts.join("/");
    match joined.rsplit_once('.') {
        Some((stem, ext)) if !ext.contains('/') && !stem.is_empty() => stem.to_string(),
        _ => joined,
    }
}

/// The file context of one document: dataset from the root's name, split from the path.
fn context(display: String, root: &Root, stem: &str, options: &Naming) -> FileContext {
    let split = options.split.clone().unwrap_or_else(|| {
        let mut found = split_from_stem(&root.name);
        for part in stem.split('/') {
            found = split_from_stem(part).or(found);
        }
        found.unwrap_or("unknown").to_string()
    });
    let dataset = options.dataset.clone().unwrap_or_else(|| {
        let d = stem_without_split(&root.name);
        if d.is_empty() { root.name.clone() } else { d }
    });
    FileContext { path: PathBuf::from(display), dataset, split, stem: stem.to_string(), lang: options.lang.clone() }
}

/// `TypeSystem.xml` (any case) in the file's directory or a parent, up to `root`.
fn find_sibling_typesystem(path: &Path, root: &Path) -> Option<PathBuf> {
    let mut dir = path.parent();
    while let Some(d) = dir {
        if let Ok(entries) = std::fs::read_dir(if d.as_os_str().is_empty() { Path::new(".") } else { d }) {
            let mut found: Vec<PathBuf> = entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file() && p.file_name().is_some_and(|n| TYPESYSTEM_NAMES.contains(&n.to_string_lossy().to_lowercase().as_str())))
                .collect();
            found.sort();
            if let Some(first) = found.into_iter().next() {
                return Some(d.join(first.file_name().unwrap_or_default()));
            }
        }
        if d == root || d.as_os_str().is_empty() {
            break;
        }
        dir = d.parent();
    }
    None
}

/// The type-system member of an archive nearest to `member` (same folder, then parents);
/// the only one, when it is in no parent folder of it.
fn nearest_member<'a>(member: &str, candidates: &[&'a String]) -> Option<&'a String> {
    let dir = member.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
    let in_ancestor = candidates
        .iter()
        .filter(|c| {
            let cdir = c.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
            cdir.is_empty() || dir == cdir || dir.starts_with(&format!("{cdir}/"))
        })
        .max_by_key(|c| c.len());
    in_ancestor.copied().or_else(|| if candidates.len() == 1 { Some(candidates[0]) } else { None })
}

fn no_typesystem(doc: &Path, place: &str) -> ReadError {
    config_error(
        doc,
        format!("no type system for this XMI document: pass --typesystem TypeSystem.xml, or put a TypeSystem.xml {place}"),
    )
}

fn open_zip(path: &Path) -> Result<zip::ZipArchive<File>, ReadError> {
    let file = File::open(path).map_err(|e| IoError::new(path, e))?;
    zip::ZipArchive::new(file).map_err(|e| config_error(path, format!("expected a zip archive of XMI files: {e}")))
}

/// Reads member `name` whole, refusing one over `cap` bytes: the size the archive states is
/// not trusted, reading stops just past the cap.
fn read_member<R: Read + std::io::Seek>(archive: &mut zip::ZipArchive<R>, name: &str, cap: u64) -> Result<Vec<u8>, MemberError> {
    let member = archive.by_name(name).map_err(|e| unreadable(format!("cannot open zip member {name}: {e}")))?;
    let too_large = || MemberError {
        reason: "zip_member_too_large",
        message: format!("zip member {name} is larger than --max-member-size ({} MiB)", cap >> 20),
    };
    if member.size() > cap {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(member.size() as usize);
    member.take(cap + 1).read_to_end(&mut bytes).map_err(|e| unreadable(format!("cannot read zip member {name}: {e}")))?;
    if bytes.len() as u64 > cap {
        return Err(too_large());
    }
    Ok(bytes)
}

/// Member `inner` of the zip `bytes` (itself member `member` of another zip).
fn read_inner(bytes: Vec<u8>, member: &str, inner: &str, cap: u64) -> Result<Vec<u8>, MemberError> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| unreadable(format!("zip member {member} is not a zip: {e}")))?;
    read_member(&mut archive, inner, cap)
}

/// Counts the feature structures whose type the type system does not declare, per type
/// (`unknown_type:<name>` notes): they cannot be entities, but they must not vanish unseen.
fn count_unknown_types(cas: &Cas<'_>, plan: &TypePlan, counts: &mut Counts) {
    for (name, &n) in cas.type_names.iter().zip(&cas.type_counts) {
        if n > 0 && !plan.known.contains(name) {
            counts.note(&format!("unknown_type:{name}"), n);
        }
    }
}

/// Byte offset of the start of 1-based `line`.
fn line_start(bytes: &[u8], line: u64) -> usize {
    if line <= 1 {
        return 0;
    }
    bytes.iter().enumerate().filter(|&(_, &b)| b == b'\n').nth(line as usize - 2).map_or(0, |(i, _)| i + 1)
}

/// Checks every reference the reader follows: view members and sofas, annotation sofas,
/// relation endpoints, link features, array elements and link targets.
fn check_references(cas: &Cas, roles: &[Roles], plan: &TypePlan) -> Result<(), XmiError> {
    let missing = |line: u64, what: String, id: u64| XmiError {
        line,
        reason: "unknown_reference",
        message: format!("{what} refers to xmi:id {id}, but no element has that id"),
    };
    let bad = |line: u64, value: &str, what: &str| XmiError {
        line,
        reason: "bad_xmi_id",
        message: format!("{what} {value:?} is not an xmi:id (a non-negative integer)"),
    };
    let sofa_ids: HashSet<u64> = cas.sofas.iter().map(|s| s.xmi_id).collect();
    for v in &cas.views {
        if let Some(id) = v.members.iter().find(|&&m| !cas.has_id(m)) {
            return Err(missing(v.line, "the cas:View member list".into(), *id));
        }
        if let Some(s) = v.sofa.filter(|s| !sofa_ids.contains(s)) {
            return Err(missing(v.line, "the cas:View sofa".into(), s));
        }
    }
    for fs in &cas.fss {
        let r = roles[fs.type_id as usize];
        let name = short_name(cas.type_name(fs));
        let mut features: Vec<&str> = Vec::new();
        if r.annotation() {
            for sofa in fs.refs("sofa") {
                let sofa = sofa.map_err(|v| bad(fs.line, v, "sofa"))?;
                if !sofa_ids.contains(&sofa) {
                    return Err(missing(fs.line, format!("the sofa of {name} (xmi:id {})", fs.xmi_id), sofa));
                }
            }
        }
        if r.relation {
            features.extend(["Governor", "Dependent"]);
        }
        if r.entity
            && let Some(links) = plan.link_features.get(cas.type_name(fs)) {
                features.extend(links.iter().map(String::as_str));
            }
        if r.array {
            features.push("elements");
        }
        if r.link {
            features.push("target");
        }
        if r.chain {
            features.push("first");
        }
        if r.chain_link {
            features.push("next");
        }
        for f in features {
            for id in fs.refs(f) {
                let id = id.map_err(|v| bad(fs.line, v, f))?;
                if !cas.has_id(id) {
                    return Err(missing(fs.line, format!("feature {f} of {name} (xmi:id {})", fs.xmi_id), id));
                }
            }
        }
    }
    Ok(())
}

/// The annotations of one view, converted to code points.
struct ViewContent {
    sofa_id: String,
    text: String,
    entities: Vec<Entity>,
    unaligned: Vec<Unaligned>,
    relations: Vec<Relation>,
    sentences: Vec<Span>,
    language: Option<String>,
    meta: serde_json::Map<String, serde_json::Value>,
}

/// A UIMA offset feature (`begin`, `end`); absent means 0, as in UIMA.
fn offset(fs: &Fs, name: &str) -> Result<u32, &'static str> {
    match fs.get(name) {
        None => Ok(0),
        Some(v) => v.trim().parse::<u32>().map_err(|_| "bad_offset"),
    }
}

/// The code-point span of an annotation, or the reason it has none.
fn span_of(fs: &Fs, index: &Utf16Index) -> Result<Span, &'static str> {
    let (begin, end) = (offset(fs, "begin")?, offset(fs, "end")?);
    if begin > end {
        return Err("begin_after_end");
    }
    let start = index.to_char(begin).map_err(|e| e.reason())?;
    let end = index.to_char(end).map_err(|e| e.reason())?;
    Span::new(start, end).map_err(|_| "begin_after_end")
}

/// Which feature structures belong to a view: its member list, or (for a CAS without
/// `cas:View` elements) those whose `sofa` is the view's.
struct Members {
    ids: Option<HashSet<u64>>,
    sofa: String,
}

impl Members {
    fn of(cas: &Cas<'_>, sofa: &xmi::Sofa, counts: &mut Counts) -> Members {
        let ids: Option<HashSet<u64>> =
            cas.views.iter().find(|v| v.sofa == Some(sofa.xmi_id)).map(|v| v.members.iter().copied().collect());
        if ids.is_none() {
            counts.note("view_without_index", 1);
        }
        Members { ids, sofa: sofa.xmi_id.to_string() }
    }

    fn contains(&self, fs: &Fs<'_>) -> bool {
        match &self.ids {
            Some(ids) => ids.contains(&fs.xmi_id),
            None => fs.get("sofa") == Some(self.sofa.as_str()),
        }
    }
}

/// The entities of a view by `xmi:id`, so relations and links can point at them.
#[derive(Default)]
struct Placed<'c, 'a> {
    /// `xmi:id` → index in the sample's entities.
    index: HashMap<u64, u32>,
    /// `xmi:id`s of entities that went to `unaligned`.
    unaligned: HashSet<u64>,
    /// The feature structure of each placed entity, in entity order.
    fss: Vec<&'c Fs<'a>>,
}

impl Placed<'_, '_> {
    /// The entity index a reference points at; counts why when it points at none.
    fn endpoint(&self, id: Option<Result<u64, &str>>, counts: &mut Counts) -> Option<u32> {
        let id = id.and_then(Result::ok);
        let found = id.and_then(|id| self.index.get(&id).copied());
        if found.is_none() {
            let why = match id {
                None => "relation_without_endpoint",
                Some(id) if self.unaligned.contains(&id) => "relation_endpoint_unaligned",
                Some(_) => "relation_endpoint_not_entity",
            };
            counts.note(why, 1);
        }
        found
    }
}

/// Token starts and ends (code points), for the token-boundary count.
#[derive(Default)]
struct TokenBounds {
    starts: Vec<u32>,
    ends: Vec<u32>,
}

impl TokenBounds {
    /// Counts the entities that do not start at a token start and end at a token end
    /// (nothing to count when the view has no tokens).
    fn count_misaligned(mut self, entities: &[Entity], counts: &mut Counts) {
        if self.starts.is_empty() {
            return;
        }
        self.starts.sort_unstable();
        self.ends.sort_unstable();
        let off = entities
            .iter()
            .filter(|e| self.starts.binary_search(&e.span.start()).is_err() || self.ends.binary_search(&e.span.end()).is_err())
            .count();
        counts.note("entity_not_on_token_boundary", off as u64);
    }
}

/// Collects the entities, relations, sentences and metadata of the view of `sofa`.
fn view_content(cas: &Cas<'_>, roles: &[Roles], plan: &TypePlan, sofa: &xmi::Sofa, text: &str, counts: &mut Counts) -> ViewContent {
    let members = Members::of(cas, sofa, counts);
    let utf16 = Utf16Index::new(text);
    let mut content = ViewContent {
        sofa_id: sofa.id.clone(),
        text: text.to_string(),
        entities: Vec::new(),
        unaligned: Vec::new(),
        relations: Vec::new(),
        sentences: Vec::new(),
        language: None,
        meta: serde_json::Map::new(),
    };
    let layer_types: serde_json::Map<String, serde_json::Value> =
        plan.layer_types.iter().map(|(l, t)| (l.clone(), serde_json::Value::String(t.clone()))).collect();
    content.meta.insert("layer_types".into(), layer_types.into());
    let mut tokens = TokenBounds::default();
    let mut placed = Placed::default();
    let chars = CharIndex::new(text);
    for fs in cas.fss.iter().filter(|fs| members.contains(fs)) {
        let r = roles[fs.type_id as usize];
        if r.token {
            match span_of(fs, &utf16) {
                Ok(s) => {
                    tokens.starts.push(s.start());
                    tokens.ends.push(s.end());
                }
                Err(_) => counts.note("token_with_bad_offsets", 1),
            }
        }
        if r.sentence {
            match span_of(fs, &utf16) {
                Ok(s) => content.sentences.push(s),
                Err(_) => counts.note("sentence_with_bad_offsets", 1),
            }
        }
        if r.document {
            read_document_metadata(fs, &mut content);
        }
        if r.entity {
            place_entity(fs, cas.type_name(fs), plan, (&utf16, &chars), &mut content, &mut placed, counts);
        }
    }
    tokens.count_misaligned(&content.entities, counts);
    for fs in cas.fss.iter().filter(|fs| roles[fs.type_id as usize].relation && members.contains(fs)) {
        let head = placed.endpoint(fs.refs("Governor").next(), counts);
        let tail = placed.endpoint(fs.refs("Dependent").next(), counts);
        if let (Some(head), Some(tail)) = (head, tail) {
            let type_name = cas.type_name(fs);
            let label = plan.relation_labels.get(type_name).into_iter().flatten().find_map(|f| fs.get(f).filter(|v| !v.is_empty()));
            content.relations.push(Relation { head, tail, label: label.unwrap_or(short_name(type_name)).to_string() });
        }
    }
    content.relations.extend(link_relations(cas, roles, plan, &placed, counts));
    coreference(cas, roles, plan, &members, (&utf16, &chars), &mut content, counts);
    content.sentences.sort_unstable();
    content.sentences.dedup();
    content
}

/// Follows every coreference chain of the view (`first`, then `next` from link to link) and
/// links consecutive mentions with a `coref` relation, head = the earlier link. A link is
/// the entity with the same span (the first one, when layers overlap); a link with no entity
/// under it becomes an entity of the chain's layer, labelled with its `referenceType` (else
/// the layer name), counted as `coref_link_as_entity`. A link whose offsets do not fit the
/// text goes to `unaligned` and breaks the chain there; a cycle ends it.
fn coreference(
    cas: &Cas<'_>,
    roles: &[Roles],
    plan: &TypePlan,
    members: &Members,
    (utf16, chars): (&Utf16Index, &CharIndex),
    content: &mut ViewContent,
    counts: &mut Counts,
) {
    let mut at: HashMap<Span, u32> = HashMap::new();
    for (i, e) in content.entities.iter().enumerate() {
        at.entry(e.span).or_insert(i as u32);
    }
    for chain in cas.fss.iter().filter(|fs| roles[fs.type_id as usize].chain && members.contains(fs)) {
        let layer = plan.layer_of.get(cas.type_name(chain)).cloned().unwrap_or_else(|| short_name(cas.type_name(chain)).to_string());
        let mut next = chain.refs("first").next().and_then(Result::ok);
        // `None` before the first link, `Some(None)` after a link that could not be placed.
        let mut previous: Option<Option<u32>> = None;
        let mut visited = HashSet::new();
        while let Some(id) = next {
            if !visited.insert(id) {
                counts.note("coref_chain_cycle", 1);
                break;
            }
            let Some(link) = cas.fs(id).filter(|l| roles[l.type_id as usize].chain_link) else {
                counts.note("coref_link_not_a_link", 1);
                break;
            };
            let label = link.get("referenceType").filter(|v| !v.is_empty()).unwrap_or(&layer).to_string();
            let entity = match span_of(link, utf16).and_then(|span| chars.slice(&content.text, span).map(|t| (span, t)).ok_or("offset_past_end")) {
                Ok((span, _)) if at.contains_key(&span) => at.get(&span).copied(),
                Ok((span, mention)) => {
                    let mut entity = Entity::new(span, label, mention);
                    entity.layer = Some(layer.clone());
                    let index = content.entities.len() as u32;
                    content.entities.push(entity);
                    at.insert(span, index);
                    counts.note("coref_link_as_entity", 1);
                    Some(index)
                }
                Err(reason) => {
                    counts.note(&format!("unaligned:{reason}"), 1);
                    content.unaligned.push(Unaligned { label, text: String::new(), reason: reason.into() });
                    None
                }
            };
            match (previous, entity) {
                (Some(Some(head)), Some(tail)) => content.relations.push(Relation { head, tail, label: COREF.to_string() }),
                (Some(_), _) => counts.note("relation_endpoint_unaligned", 1),
                (None, _) => {}
            }
            previous = Some(entity);
            next = link.refs("next").next().and_then(Result::ok);
        }
    }
}

/// Adds one entity annotation to `content`: placed (code-point span, label, identifier) or,
/// when its offsets do not fit the text, to `unaligned` with the reason.
fn place_entity<'c, 'a>(
    fs: &'c Fs<'a>,
    type_name: &str,
    plan: &TypePlan,
    (utf16, chars): (&Utf16Index, &CharIndex),
    content: &mut ViewContent,
    placed: &mut Placed<'c, 'a>,
    counts: &mut Counts,
) {
    let label = match fs.get(&plan.label_feature).filter(|v| !v.is_empty()) {
        Some(v) => v.to_string(),
        None => {
            counts.note("label_from_type_name", 1);
            short_name(type_name).to_string()
        }
    };
    let found = span_of(fs, utf16).and_then(|span| chars.slice(&content.text, span).map(|t| (span, t)).ok_or("offset_past_end"));
    match found {
        Ok((span, mention)) => {
            let mut entity = Entity::new(span, label, mention);
            entity.identifier = fs.get("identifier").filter(|v| !v.is_empty()).map(str::to_string);
            entity.layer = plan.layer_of.get(type_name).cloned();
            placed.index.insert(fs.xmi_id, content.entities.len() as u32);
            placed.fss.push(fs);
            content.entities.push(entity);
        }
        Err(reason) => {
            counts.note(&format!("unaligned:{reason}"), 1);
            placed.unaligned.insert(fs.xmi_id);
            content.unaligned.push(Unaligned { label, text: String::new(), reason: reason.into() });
        }
    }
}

/// Relations from the link features of placed entities: head = the entity, tail = the
/// link's `target`, label = the link's `role` (or the feature name when it has none).
fn link_relations(cas: &Cas<'_>, roles: &[Roles], plan: &TypePlan, placed: &Placed<'_, '_>, counts: &mut Counts) -> Vec<Relation> {
    let mut out = Vec::new();
    for (head, fs) in placed.fss.iter().enumerate() {
        for feature in plan.link_features.get(cas.type_name(fs)).into_iter().flatten() {
            for link in link_elements(cas, fs, feature) {
                let Some(link) = cas.fs(link).filter(|l| roles[l.type_id as usize].link) else { continue };
                if let Some(tail) = placed.endpoint(link.refs("target").next(), counts) {
                    let role = link.get("role").filter(|r| !r.is_empty()).unwrap_or(feature);
                    out.push(Relation { head: head as u32, tail, label: role.to_string() });
                }
            }
        }
    }
    out
}

/// The link feature structures of link feature `feature` of `fs`: the ids it lists, or the
/// elements of the FSArray it points at.
fn link_elements(cas: &Cas, fs: &Fs, feature: &str) -> Vec<u64> {
    let mut out = Vec::new();
    for id in fs.refs(feature).flatten() {
        match cas.fs(id).filter(|a| a.features.iter().any(|(k, _)| k == "elements") || cas.type_name(a) == FS_ARRAY) {
            Some(array) => out.extend(array.refs("elements").flatten()),
            None => out.push(id),
        }
    }
    out
}

/// Copies the language and DKPro document metadata of a document annotation.
fn read_document_metadata(fs: &Fs, content: &mut ViewContent) {
    if let Some(lang) = fs.get("language").filter(|l| !l.is_empty() && *l != "x-unspecified") {
        content.language = Some(lang.to_string());
    }
    for (feature, key) in [("documentId", "document_id"), ("documentTitle", "document_title"), ("documentUri", "document_uri")] {
        if let Some(v) = fs.get(feature).filter(|v| !v.is_empty()) {
            content.meta.insert(key.into(), serde_json::Value::String(v.to_string()));
        }
    }
}

impl ViewContent {
    fn new_sample(&self, ctx: &FileContext, id: String, text: String) -> Sample {
        let lang = match (&ctx.lang, &self.language) {
            (LangPolicy::Auto, Some(l)) => l.clone(),
            _ => ctx.lang.lang_for(&text),
        };
        let mut s = Sample::new(id, &ctx.dataset, SourceFormat::Xmi, &ctx.split, lang, text);
        s.meta = self.meta.clone();
        if self.sofa_id != INITIAL_VIEW {
            s.meta.insert("view".into(), serde_json::Value::String(self.sofa_id.clone()));
        }
        s
    }

    /// The whole view as one sample.
    fn whole(self, ctx: &FileContext, record: u64) -> Sample {
        let mut s = self.new_sample(ctx, ctx.sample_id(record), self.text.clone());
        s.label_set = label_set(&self.entities);
        s.entities = self.entities;
        s.unaligned = self.unaligned;
        s.relations = self.relations;
        s
    }

    /// One sample per sentence. Entities crossing a sentence end go to `unaligned`
    /// (`crosses_sentence_boundary`) in the sentence they start in; entities outside every
    /// sentence, and mentions already unaligned, go to the nearest sentence before them (or
    /// the first). Relations between sentences cannot be kept and are counted.
    fn split(self, ctx: &FileContext, record: u64, counts: &mut Counts) -> Vec<Sample> {
        let sentences: Vec<Span> = self.sentences.iter().copied().fold(Vec::new(), |mut kept: Vec<Span>, s| {
            if kept.last().is_none_or(|last| s.start() >= last.end()) {
                kept.push(s);
            } else {
                counts.note("overlapping_sentence_skipped", 1);
            }
            kept
        });
        if sentences.is_empty() {
            counts.note("no_sentences", 1);
            return vec![self.whole(ctx, record)];
        }
        let chars = CharIndex::new(&self.text);
        let mut samples: Vec<Sample> = sentences
            .iter()
            .enumerate()
            .map(|(n, s)| {
                let text = chars.slice(&self.text, *s).unwrap_or_default().to_string();
                let mut sample = self.new_sample(ctx, format!("{}#{n}", ctx.sample_id(record)), text);
                sample.meta.insert("sentence".into(), n.into());
                sample.meta.insert("offset".into(), s.start().into());
                sample
            })
            .collect();
        let home = |start: u32| sentences.partition_point(|s| s.start() <= start).saturating_sub(1);
        let mut placed: Vec<Option<(usize, u32)>> = Vec::with_capacity(self.entities.len());
        for e in &self.entities {
            let n = home(e.span.start());
            let s = sentences[n];
            let sample = &mut samples[n];
            if s.contains(e.span) {
                let mut local = e.clone();
                local.span = e.span.shifted_left(s.start()).unwrap_or(e.span);
                placed.push(Some((n, sample.entities.len() as u32)));
                sample.entities.push(local);
            } else {
                let reason = if e.span.start() < s.end() && e.span.start() >= s.start() { "crosses_sentence_boundary" } else { "outside_sentences" };
                counts.note(&format!("unaligned:{reason}"), 1);
                sample.unaligned.push(Unaligned { label: e.label.clone(), text: e.text.clone(), reason: reason.into() });
                placed.push(None);
            }
        }
        samples[0].unaligned.extend(self.unaligned);
        for r in &self.relations {
            match (placed[r.head as usize], placed[r.tail as usize]) {
                (Some((a, head)), Some((b, tail))) if a == b => samples[a].relations.push(Relation { head, tail, label: r.label.clone() }),
                _ => counts.note("relation_across_sentences", 1),
            }
        }
        for s in &mut samples {
            s.label_set = label_set(&s.entities);
        }
        samples
    }
}

/// Distinct entity labels in order of first use.
fn label_set(entities: &[Entity]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for e in entities {
        if !out.contains(&e.label) {
            out.push(e.label.clone());
        }
    }
    out
}

/// Reads one document: its bytes are `pre` (a zip member read already) or the file.
fn read_one(reader: &XmiReader, doc: &XmiDocument, pre: Option<&Result<Vec<u8>, MemberError>>) -> Result<Part, ReadError> {
    let mut part = Part::default();
    let read;
    let bytes = match (pre, &doc.source) {
        (Some(Ok(bytes)), _) => bytes,
        (Some(Err(e)), _) => {
            part.counts.read += 1;
            part.quarantine(doc.ctx.quarantine(None, None, e.reason, e.message.clone(), ""))?;
            return Ok(part);
        }
        (None, DocSource::File(path)) => {
            read = std::fs::read(path).map_err(|e| IoError::new(path, e))?;
            &read
        }
        (None, DocSource::Missing { reason, .. }) => {
            part.counts.read += 1;
            part.counts.skip(reason, 1);
            return Ok(part);
        }
        (None, DocSource::Zip { archive, .. } | DocSource::Nested { archive, .. }) => {
            return Err(config_error(archive, "zip member was not read".into()));
        }
    };
    reader.read_document(doc, bytes, &mut part)?;
    Ok(part)
}

/// The file holding a document (the archive of a zip member).
fn holder(doc: &XmiDocument) -> &Path {
    match &doc.source {
        DocSource::File(p) => p,
        DocSource::Zip { archive, .. } | DocSource::Nested { archive, .. } | DocSource::Missing { archive, .. } => archive,
    }
}

/// The units of one file's documents: zip members are read here, in member order, so that
/// the archive is opened once; files are read by the parse.
struct DocUnits<'a> {
    docs: std::slice::Iter<'a, XmiDocument>,
    open: Option<(PathBuf, zip::ZipArchive<File>)>,
    /// The largest member read ([`XmiOptions::max_member_size`]).
    cap: u64,
}

impl Iterator for DocUnits<'_> {
    type Item = Result<Unit, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        let doc = self.docs.next()?;
        let (archive, member, inner) = match &doc.source {
            DocSource::File(_) | DocSource::Missing { .. } => (None, "", None),
            DocSource::Zip { archive, member } => (Some(archive), member.as_str(), None),
            DocSource::Nested { archive, member, inner } => (Some(archive), member.as_str(), Some(inner)),
        };
        let bytes = match archive {
            None => None,
            Some(archive) => {
                if self.open.as_ref().is_none_or(|(p, _)| p != archive) {
                    match open_zip(archive) {
                        Ok(a) => self.open = Some((archive.clone(), a)),
                        Err(e) => return Some(Err(e)),
                    }
                }
                let cap = self.cap;
                let outer = self.open.as_mut().map(|(_, a)| read_member(a, member, cap));
                match inner {
                    None => outer,
                    Some(inner) => outer.map(|r| r.and_then(|zip| read_inner(zip, member, inner, cap))),
                }
            }
        };
        let file = FileState::new(doc.ctx.clone());
        Some(Ok(Unit { file, index: 0, size: doc.size, notes: Vec::new(), body: UnitBody::Document { doc: doc.clone(), bytes } }))
    }
}

impl Reader for XmiReader {
    fn format(&self) -> SourceFormat {
        SourceFormat::Xmi
    }

    fn wants(&self, path: &Path) -> bool {
        has_extension(path, "xmi") || is_zip(path)
    }

    /// Discovers the documents (loading their type systems); the files are the XMI files
    /// and zip archives holding them.
    fn files(&mut self, inputs: &[PathBuf], counts: &mut Counts) -> Result<Vec<PathBuf>, ReadError> {
        let docs = self.discover(inputs, counts)?;
        if self.options.annotators != Annotators::Default && !docs.is_empty() && docs.iter().all(|d| d.project.is_none()) {
            let first = inputs.first().cloned().unwrap_or_default();
            return Err(config_error(&first, "--annotators applies to INCEpTION project exports (a zip with exportedproject.json), and no input is one".into()));
        }
        self.found.clear();
        for doc in docs {
            let path = holder(&doc).to_path_buf();
            match self.found.last_mut() {
                Some((p, group)) if *p == path => group.push(doc),
                _ => self.found.push((path, vec![doc])),
            }
        }
        Ok(self.found.iter().map(|(p, _)| p.clone()).collect())
    }

    fn units<'a>(&'a self, path: &Path) -> Result<Units<'a>, ReadError> {
        let docs = self.found.iter().find(|(p, _)| p == path).map(|(_, d)| d.as_slice()).unwrap_or_default();
        Ok(Box::new(DocUnits { docs: docs.iter(), open: None, cap: self.options.max_member_size }))
    }

    fn parse(&self, unit: &Unit) -> Result<Part, ReadError> {
        match &unit.body {
            UnitBody::Document { doc, bytes } => read_one(self, doc, bytes.as_ref()),
            _ => Ok(Part::default()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::readers::VecSink;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/xmi").join(name)
    }

    fn read(options: XmiOptions, ts: &str, doc: &str) -> VecSink {
        let options = XmiOptions { typesystems: vec![fixture(ts)], ..options };
        let mut reader = XmiReader::new(options, Naming::default()).unwrap();
        let files = reader.files(&[PathBuf::from(doc)], &mut Counts::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(files.len(), 1);
        let sink = crate::ingest::read_units(&reader, reader.units(&files[0]).unwrap()).unwrap();
        sink.counts.check().unwrap();
        for s in &sink.samples {
            s.check().unwrap();
        }
        sink
    }

    #[test]
    fn reads_the_inception_export_with_utf16_offsets() {
        let s = read(XmiOptions::default(), "important_dkpro_types.xml", &fixture("cas_with_smileys.xmi").display().to_string());
        assert_eq!(s.samples.len(), 1);
        let sample = &s.samples[0];
        assert_eq!(sample.id, "xmi/unknown/cas_with_smileys:0");
        assert!(sample.text.starts_with("🤗 Transformers"));
        let found: Vec<_> = sample.entities.iter().map(|e| (e.span.start(), e.span.end(), e.label.as_str(), e.text.as_str())).collect();
        assert_eq!(found[0], (2, 14, "OTH", "Transformers"), "UTF-16 begin 3 is code point 2 after the emoji");
        assert_eq!(found.len(), 5);
        assert_eq!(found[4], (697, 707, "OTH", "TensorFlow"));
        assert_eq!(sample.meta["document_id"], "huggingface.txt");
        assert_eq!(s.counts.notes.get("entity_not_on_token_boundary"), None);
    }

    #[test]
    fn views_are_selected_by_name_or_all() {
        let doc = fixture("cas_with_two_sofas.xmi").display().to_string();
        let entity = "uima.tcas.DocumentAnnotation".to_string();
        let all = XmiOptions { views: ViewSelection::All, entity_types: vec![entity.clone()], ..XmiOptions::default() };
        let s = read(all, "small_typesystem.xml", &doc);
        let ids: Vec<_> = s.samples.iter().map(|x| x.id.as_str()).collect();
        assert_eq!(ids, vec!["xmi/unknown/cas_with_two_sofas:0", "xmi/unknown/cas_with_two_sofas:1"]);
        assert_eq!(s.samples[1].meta["view"], "_SecondView");
        assert_eq!(s.samples[1].entities[0].label, "DocumentAnnotation");
        assert_eq!(s.counts.notes["label_from_type_name"], 2);
        let named = XmiOptions { views: ViewSelection::Named("_SecondView".into()), entity_types: vec![entity.clone()], ..XmiOptions::default() };
        assert_eq!(read(named, "small_typesystem.xml", &doc).samples.len(), 1);
        let missing = XmiOptions { views: ViewSelection::Named("nope".into()), entity_types: vec![entity], ..XmiOptions::default() };
        let s = read(missing, "small_typesystem.xml", &doc);
        assert_eq!(s.quarantined[0].reason, "missing_view");
        assert!(s.quarantined[0].message.contains("_InitialView, _SecondView"), "{}", s.quarantined[0].message);
    }

    #[test]
    fn options_are_checked_against_the_type_system() {
        let bad = XmiOptions { typesystems: vec![fixture("small_typesystem.xml")], ..XmiOptions::default() };
        let err = XmiReader::new(bad, Naming::default()).unwrap_err().to_string();
        assert!(err.contains("has no type `de.tudarmstadt.ukp.dkpro.core.api.ner.type.NamedEntity`"), "{err}");
        let not_annotation = XmiOptions {
            typesystems: vec![fixture("important_dkpro_types.xml")],
            entity_types: vec!["uima.cas.FSArray".into()],
            ..XmiOptions::default()
        };
        assert!(XmiReader::new(not_annotation, Naming::default()).unwrap_err().to_string().contains("not an annotation type"));
    }

    #[test]
    fn helpers_name_documents() {
        assert_eq!(strip_ext(Path::new("a/b.xmi")), "a/b");
        assert_eq!(line_start(b"ab\ncd\nef", 3), 6);
        let ts = ["TypeSystem.xml".to_string(), "x/TypeSystem.xml".to_string()];
        let refs: Vec<&String> = ts.iter().collect();
        assert_eq!(nearest_member("x/y/doc.xmi", &refs), Some(&ts[1]));
        assert_eq!(nearest_member("doc.xmi", &refs), Some(&ts[0]));
    }
}
