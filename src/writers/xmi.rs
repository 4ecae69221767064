//! UIMA CAS XMI writer: one XMI document per sample plus a `TypeSystem.xml`, in a directory
//! or a zip archive (when the output name ends in `.zip`), loadable by dkpro-cassis, UIMA and
//! INCEpTION.
//!
//! Each sample becomes a CAS whose initial view holds the text. Entities are annotations of
//! their layer's type ([`ExportTypes`]: the type the XMI reader read them as, recorded in
//! `meta.layer_types`; DKPro Core `NamedEntity` for entities without a layer), with `value` =
//! label and `identifier` kept; `coref` relations become coreference chains again
//! (`…Chain.first` → `…Link.next` → …, `referenceType` = the mention's label; a mention of a
//! chain layer is written as a link only, as it was read); other relations are
//! `webanno.custom.EntityRelation` annotations (`Governor`, `Dependent` of range
//! `uima.tcas.Annotation`, `label`; offsets of the dependent, as INCEpTION writes relation
//! layers); a `DocumentMetaData` carries the sample id and language. Code-point spans are
//! converted to UTF-16 offsets. What XMI cannot hold is counted, not hidden: unaligned
//! mentions and archetypes are not exported (notes), and a sample whose text has characters
//! XML 1.0 forbids is skipped (`text_not_xml_1_0`). Files are named `{n:06}_{id}.xmi` in
//! table order, so the output is deterministic; the whole output appears atomically.

use super::ExportError;
use crate::io::{AtomicDir, AtomicFile, IoError};
use crate::model::Sample;
use crate::report::Counts;
use crate::table::TableReader;
use crate::uima::offsets::Utf16Index;
use crate::uima::typesystem::{FeatureDesc, TypeDesc, TypeSystem};
use crate::uima::{
    namespace_of, short_name, ANNOTATION, COREF, COREFERENCE_CHAIN, COREFERENCE_LINK, DOCUMENT_ANNOTATION, DOCUMENT_METADATA, NAMED_ENTITY,
};
use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;

/// The relation type written for [`crate::model::Relation`]s other than `coref`.
pub const ENTITY_RELATION: &str = "webanno.custom.EntityRelation";
/// Name of the type system file in the output.
pub const TYPESYSTEM_FILE: &str = "TypeSystem.xml";
/// Name of the provenance record in the output.
pub const PROVENANCE_FILE: &str = "provenance.json";
/// The package of span layers the table does not name a type for.
const CUSTOM_PACKAGE: &str = "webanno.custom";

/// How a layer is written.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum LayerKind {
    /// Span annotations of this type (`value` = label, `identifier`).
    Span(String),
    /// A coreference chain layer: mentions of this layer are chain links only.
    Chain {
        /// The chain type (`…CoreferenceChain`, `webanno.custom.XChain`).
        chain: String,
        /// Its link type (`…CoreferenceLink`, `webanno.custom.XLink`).
        link: String,
    },
}

/// The UIMA types an export writes: one per layer found in the table (from each sample's
/// `meta.layer_types`, which the XMI reader records, else `NamedEntity` for entities without
/// a layer and `webanno.custom.<Layer>` for other layers), a chain type pair per coreference
/// layer (a recorded type whose name ends in `Chain`, its link type the same name ending in
/// `Link`; DKPro's CoreferenceChain when a table has `coref` relations and no chain layer),
/// and the relation layer. Worked out over the whole table before the first document.
#[derive(Debug, Clone, Default)]
pub struct ExportTypes {
    kinds: std::collections::BTreeSet<LayerKind>,
    coref_without_layer: bool,
    /// The namespace prefixes, worked out on first use after the last [`ExportTypes::add`].
    prefixes: std::sync::OnceLock<Vec<(String, String)>>,
}

/// How the layer `layer` of `sample` is written.
fn layer_kind(sample: &Sample, layer: Option<&str>) -> LayerKind {
    let Some(layer) = layer else { return LayerKind::Span(NAMED_ENTITY.into()) };
    let recorded = sample.meta.get("layer_types").and_then(|m| m.get(layer)).and_then(|t| t.as_str());
    match recorded {
        Some(t) => match t.strip_suffix("Chain") {
            Some(base) if !base.is_empty() && !base.ends_with('.') => LayerKind::Chain { chain: t.into(), link: format!("{base}Link") },
            _ => LayerKind::Span(t.into()),
        },
        None if layer == short_name(NAMED_ENTITY) => LayerKind::Span(NAMED_ENTITY.into()),
        None => {
            let safe: String = layer.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
            let safe = if safe.starts_with(|c: char| c.is_ascii_alphabetic()) { safe } else { format!("L{safe}") };
            LayerKind::Span(format!("{CUSTOM_PACKAGE}.{safe}"))
        }
    }
}

impl ExportTypes {
    /// Adds the layers of one sample.
    pub fn add(&mut self, sample: &Sample) {
        self.prefixes = std::sync::OnceLock::new();
        for e in &sample.entities {
            self.kinds.insert(layer_kind(sample, e.layer.as_deref()));
        }
        if sample.relations.iter().any(|r| r.label == COREF) && chain_kinds(sample).is_empty() {
            self.coref_without_layer = true;
        }
    }

    /// The type system: DKPro Core document metadata (and named entities, coreference, with
    /// DKPro's own feature descriptions, so dkpro-cassis can merge it with DKPro's), the
    /// layers and the relation layer.
    pub fn typesystem(&self) -> TypeSystem {
        let s = "uima.cas.String";
        let mut ts = TypeSystem::builtin();
        let described = |name: &str, range: &str, description: &str| FeatureDesc { description: description.into(), ..FeatureDesc::new(name, range) };
        let metadata = TypeDesc::new(
            DOCUMENT_METADATA,
            DOCUMENT_ANNOTATION,
            vec![
                described("documentTitle", s, "The human readable title of the document."),
                described("documentId", s, "The id of the document."),
            ],
        );
        let relation = TypeDesc::new(
            ENTITY_RELATION,
            ANNOTATION,
            vec![
                described("Governor", ANNOTATION, "The head entity."),
                described("Dependent", ANNOTATION, "The tail entity."),
                described("label", s, "The relation label."),
            ],
        );
        let mut types = vec![metadata, relation];
        let mut kinds = self.kinds.clone();
        kinds.insert(LayerKind::Span(NAMED_ENTITY.into()));
        if self.coref_without_layer {
            kinds.insert(dkpro_chain());
        }
        for kind in kinds {
            match kind {
                LayerKind::Span(name) => types.push(TypeDesc::new(
                    &name,
                    ANNOTATION,
                    vec![
                        described("value", s, "The class/category of the named entity, e.g. person, location, etc."),
                        described("identifier", s, "Identifier of the named entity, e.g. a reference into a person database."),
                    ],
                )),
                LayerKind::Chain { chain, link } => {
                    types.push(TypeDesc::new(&link, ANNOTATION, vec![
                        described("next", &link, "If there is one, it is the next coreference link to the current coreference link"),
                        described("referenceType", s, "The role or type which the covered text has in the coreference chain."),
                        described("referenceRelation", s, "The type of relation between this link and the next link in the chain."),
                    ]));
                    types.push(TypeDesc::new(&chain, "uima.cas.AnnotationBase", vec![described("first", &link, "This is the first corefernce link in coreference chain")]));
                }
            }
        }
        for t in types {
            // New, consistent types; a name the table gives two roles keeps its first.
            let _ = ts.add(t);
        }
        ts
    }

    /// Every namespace the types use, with the prefix documents declare it under.
    fn prefixes(&self) -> &[(String, String)] {
        self.prefixes.get_or_init(|| {
            let ts = self.typesystem();
            let spaces: std::collections::BTreeSet<String> = ts.types().filter(|t| !t.builtin).map(|t| namespace_of(&t.name)).collect();
            spaces.into_iter().enumerate().map(|(i, ns)| (format!("ns{i}"), ns)).collect()
        })
    }
}

/// DKPro Core's coreference chain and link types.
fn dkpro_chain() -> LayerKind {
    LayerKind::Chain { chain: COREFERENCE_CHAIN.into(), link: COREFERENCE_LINK.into() }
}

/// The chain layers `meta.layer_types` of a sample names, sorted.
fn chain_kinds(sample: &Sample) -> Vec<LayerKind> {
    let Some(types) = sample.meta.get("layer_types").and_then(|m| m.as_object()) else { return Vec::new() };
    let mut kinds: Vec<LayerKind> = types.keys().map(|l| layer_kind(sample, Some(l))).filter(|k| matches!(k, LayerKind::Chain { .. })).collect();
    kinds.sort();
    kinds
}

/// The types of [`sample_to_xmi`] for a table of one sample without layers (tests, examples).
pub fn export_typesystem() -> TypeSystem {
    ExportTypes::default().typesystem()
}

/// Paths through the `coref` relations of a sample, in entity order: each relation is used
/// once, head before tail, so chains the XMI reader made come back link for link.
fn coref_chains(sample: &Sample) -> Vec<Vec<u32>> {
    let edges: Vec<(u32, u32)> = sample.relations.iter().filter(|r| r.label == COREF).map(|r| (r.head, r.tail)).collect();
    let mut used = vec![false; edges.len()];
    let has_incoming: std::collections::HashSet<u32> = edges.iter().map(|e| e.1).collect();
    let mut starts: Vec<u32> = edges.iter().map(|e| e.0).filter(|h| !has_incoming.contains(h)).collect();
    starts.extend(edges.iter().map(|e| e.0));
    let mut chains = Vec::new();
    for start in starts {
        let mut path = vec![start];
        let mut at = start;
        while let Some(i) = (0..edges.len()).find(|&i| !used[i] && edges[i].0 == at) {
            used[i] = true;
            at = edges[i].1;
            let cycle = path.contains(&at);
            path.push(at);
            if cycle {
                break;
            }
        }
        if path.len() > 1 {
            chains.push(path);
        }
    }
    chains
}

/// True for characters XML 1.0 can carry (even as character references).
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{FFFE}' && c != '\u{FFFF}')
}

/// Appends `value` escaped for a double-quoted attribute; whitespace other than the space
/// becomes a character reference so attribute-value normalisation does not turn it into a
/// space.
fn push_attr(out: &mut String, name: &str, value: &str) {
    out.push(' ');
    out.push_str(name);
    out.push_str("=\"");
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The XMI document of one sample under the export's `types`, or the reason it cannot be
/// written. Entities become annotations of their layer's type, `coref` relations
/// coreference chains (a mention of a chain layer is a link only; the link's `referenceType`
/// is the entity label), other relations `EntityRelation`s.
pub fn sample_to_xmi(sample: &Sample, types: &ExportTypes) -> Result<String, &'static str> {
    let all_text = std::iter::once(sample.text.as_str())
        .chain(sample.entities.iter().flat_map(|e| std::iter::once(e.label.as_str()).chain(e.identifier.as_deref())))
        .chain(sample.relations.iter().map(|r| r.label.as_str()))
        .chain([sample.id.as_str(), sample.lang.as_str()]);
    if all_text.flat_map(str::chars).any(|c| !xml_char(c)) {
        return Err("text_not_xml_1_0");
    }
    let index = Utf16Index::new(&sample.text);
    let utf16 = |pos: u32| index.to_utf16(pos).ok_or("span_outside_text");
    let mut spans = Vec::with_capacity(sample.entities.len());
    for e in &sample.entities {
        spans.push((utf16(e.span.start())?, utf16(e.span.end())?));
    }
    if sample.relations.iter().any(|r| r.head as usize >= spans.len() || r.tail as usize >= spans.len()) {
        return Err("relation_points_outside_entities");
    }
    let prefixes = types.prefixes();
    let qname = |type_name: &str| {
        let ns = namespace_of(type_name);
        let prefix = prefixes.iter().find(|(_, n)| *n == ns).map_or("ns", |(p, _)| p.as_str());
        format!("{prefix}:{}", short_name(type_name))
    };
    let mut out = String::with_capacity(sample.text.len() * 2 + 512);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xmi:XMI");
    push_attr(&mut out, "xmlns:xmi", crate::uima::XMI_NS);
    push_attr(&mut out, "xmlns:cas", crate::uima::CAS_NS);
    for (prefix, ns) in prefixes {
        push_attr(&mut out, &format!("xmlns:{prefix}"), ns);
    }
    out.push_str(" xmi:version=\"2.0\">\n  <cas:NULL xmi:id=\"0\"/>\n");
    let sofa = 1;
    let mut next_id = 2;
    let mut id = || {
        next_id += 1;
        next_id - 1
    };
    let metadata = id();
    let _ = write!(out, "  <{} xmi:id=\"{metadata}\" sofa=\"{sofa}\" begin=\"0\"", qname(DOCUMENT_METADATA));
    let _ = write!(out, " end=\"{}\"", index.len_utf16());
    push_attr(&mut out, "language", &sample.lang);
    push_attr(&mut out, "documentTitle", &sample.id);
    push_attr(&mut out, "documentId", &sample.id);
    out.push_str("/>\n");
    let kinds: Vec<LayerKind> = sample.entities.iter().map(|e| layer_kind(sample, e.layer.as_deref())).collect();
    // The xmi:id each entity is written as (a chain mention's is its link's, set below).
    let mut fs_of: Vec<Option<usize>> = vec![None; sample.entities.len()];
    for (i, ((e, (begin, end)), kind)) in sample.entities.iter().zip(&spans).zip(&kinds).enumerate() {
        let LayerKind::Span(type_name) = kind else { continue };
        let fs = id();
        fs_of[i] = Some(fs);
        let _ = write!(out, "  <{} xmi:id=\"{fs}\" sofa=\"{sofa}\" begin=\"{begin}\" end=\"{end}\"", qname(type_name));
        push_attr(&mut out, "value", &e.label);
        if let Some(ident) = &e.identifier {
            push_attr(&mut out, "identifier", ident);
        }
        out.push_str("/>\n");
    }
    // Chains: each path of coref relations, and each chain mention in none of them alone.
    let mut chains = coref_chains(sample);
    for (i, kind) in kinds.iter().enumerate() {
        if matches!(kind, LayerKind::Chain { .. }) && !chains.iter().flatten().any(|&e| e as usize == i) {
            chains.push(vec![i as u32]);
        }
    }
    let fallback = chain_kinds(sample).into_iter().next().unwrap_or_else(dkpro_chain);
    let mut chain_out = String::new();
    for chain in &chains {
        let kind = chain.iter().map(|&e| &kinds[e as usize]).find(|k| matches!(k, LayerKind::Chain { .. })).unwrap_or(&fallback);
        let LayerKind::Chain { chain: chain_type, link } = kind else { continue };
        let links: Vec<usize> = chain.iter().map(|_| id()).collect();
        for (n, &e) in chain.iter().enumerate() {
            let (begin, end) = spans[e as usize];
            let _ = write!(chain_out, "  <{} xmi:id=\"{}\" sofa=\"{sofa}\" begin=\"{begin}\" end=\"{end}\"", qname(link), links[n]);
            if let Some(next) = links.get(n + 1) {
                let _ = write!(chain_out, " next=\"{next}\"");
            }
            push_attr(&mut chain_out, "referenceType", &sample.entities[e as usize].label);
            chain_out.push_str("/>\n");
            fs_of[e as usize].get_or_insert(links[n]);
        }
        let _ = writeln!(chain_out, "  <{} xmi:id=\"{}\" sofa=\"{sofa}\" first=\"{}\"/>", qname(chain_type), id(), links[0]);
    }
    for r in sample.relations.iter().filter(|r| r.label != COREF) {
        let (Some(head), Some(tail)) = (fs_of[r.head as usize], fs_of[r.tail as usize]) else { continue };
        let (begin, end) = spans[r.tail as usize];
        let _ = write!(
            out,
            "  <{} xmi:id=\"{}\" sofa=\"{sofa}\" begin=\"{begin}\" end=\"{end}\" Governor=\"{head}\" Dependent=\"{tail}\"",
            qname(ENTITY_RELATION),
            id()
        );
        push_attr(&mut out, "label", &r.label);
        out.push_str("/>\n");
    }
    out.push_str(&chain_out);
    let _ = write!(out, "  <cas:Sofa xmi:id=\"{sofa}\" sofaNum=\"1\" sofaID=\"_InitialView\" mimeType=\"text\"");
    push_attr(&mut out, "sofaString", &sample.text);
    out.push_str("/>\n  <cas:View sofa=\"1\" members=\"");
    let members: Vec<String> = (metadata..next_id).map(|id| id.to_string()).collect();
    out.push_str(&members.join(" "));
    out.push_str("\"/>\n</xmi:XMI>\n");
    Ok(out)
}

/// A file name for the `n`-th sample: `{n:06}_{id}.xmi`, the id reduced to safe characters.
fn file_name(n: u64, id: &str) -> String {
    let safe: String = id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '.') { c } else { '_' })
        .take(100)
        .collect();
    format!("{n:06}_{safe}.xmi")
}

/// Where documents go: a directory or a zip archive.
enum Target {
    Dir(AtomicDir),
    Zip(zip::ZipWriter<std::fs::File>, AtomicFile),
}

impl Target {
    fn create(output: &Path, force: bool) -> Result<Target, IoError> {
        if output.extension().is_some_and(|e| e.eq_ignore_ascii_case("zip")) {
            let file = AtomicFile::create(output)?;
            Ok(Target::Zip(zip::ZipWriter::new(file.file()?), file))
        } else {
            let occupied = std::fs::read_dir(output).is_ok_and(|mut d| d.next().is_some());
            if occupied && !force {
                let why = "is a directory that is not empty; export into an empty or new directory, or pass --force to replace the files export writes (others are kept)";
                return Err(IoError::new(output, std::io::Error::new(std::io::ErrorKind::AlreadyExists, why)));
            }
            Ok(Target::Dir(AtomicDir::create(output)?))
        }
    }

    fn put(&mut self, name: &str, bytes: &[u8], output: &Path) -> Result<(), IoError> {
        match self {
            Target::Dir(dir) => {
                let path = dir.path().join(name);
                std::fs::write(&path, bytes).map_err(|e| IoError::new(path, e))
            }
            Target::Zip(zip, _) => {
                let options = zip::write::SimpleFileOptions::default()
                    .compression_method(zip::CompressionMethod::Deflated)
                    .last_modified_time(zip::DateTime::default());
                zip.start_file(name, options).map_err(|e| IoError::new(output, std::io::Error::other(e)))?;
                zip.write_all(bytes).map_err(|e| IoError::new(output, e))
            }
        }
    }

    fn commit(self, output: &Path) -> Result<(), IoError> {
        match self {
            Target::Dir(dir) => dir.commit_into(),
            Target::Zip(zip, file) => {
                zip.finish().map_err(|e| IoError::new(output, std::io::Error::other(e)))?;
                file.commit()
            }
        }
    }
}

/// Writes the samples of `input` as XMI documents plus `TypeSystem.xml` into `output` (a
/// directory, or a zip archive when it ends in `.zip`), and last `provenance.json`: the
/// record `provenance` given, with the counts, a `files` map of each file's SHA-256 and, as
/// `output`, the digest of that map. Returns the counts (records are samples, written are
/// documents).
///
/// An existing directory that is not empty is refused unless `force`; with it, only the
/// files export writes are replaced.
pub fn export_xmi(input: &Path, output: &Path, force: bool, mut provenance: crate::provenance::Provenance) -> Result<Counts, ExportError> {
    let mut counts = Counts::new("export");
    let mut types = ExportTypes::default();
    for batch in TableReader::<Sample>::open(input)? {
        for sample in batch? {
            types.add(&sample);
        }
    }
    let mut target = Target::create(output, force)?;
    let mut digests = serde_json::Map::new();
    let mut put = |target: &mut Target, name: &str, bytes: &[u8]| {
        digests.insert(name.to_string(), crate::provenance::sha256_hex(bytes).into());
        target.put(name, bytes, output)
    };
    put(&mut target, TYPESYSTEM_FILE, types.typesystem().to_xml().as_bytes())?;
    for batch in TableReader::<Sample>::open(input)? {
        for sample in batch? {
            counts.read += 1;
            let xmi = match sample_to_xmi(&sample, &types) {
                Ok(x) => x,
                Err(reason) => {
                    counts.skip(reason, 1);
                    continue;
                }
            };
            counts.note("unaligned_not_exported", sample.unaligned.len() as u64);
            counts.note("archetype_not_exported", sample.entities.iter().filter(|e| e.archetype.is_some()).count() as u64);
            put(&mut target, &file_name(counts.read - 1, &sample.id), xmi.as_bytes())?;
            counts.written += 1;
        }
    }
    provenance.output = Some(crate::provenance::sha256_hex(serde_json::Value::Object(digests.clone()).to_string().as_bytes()));
    provenance.counts = Some(counts.clone());
    let mut record = serde_json::to_value(&provenance).map_err(|e| IoError::new(output, e.into()))?;
    record["files"] = serde_json::Value::Object(digests);
    let text = serde_json::to_string_pretty(&record).map_err(|e| IoError::new(output, e.into()))? + "\n";
    target.put(PROVENANCE_FILE, text.as_bytes(), output)?;
    target.commit(output)?;
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Entity, Relation, SourceFormat, Span};
    use crate::readers::xmi::{XmiOptions, XmiReader};
    use crate::readers::Reader;

    fn sample() -> Sample {
        let text = "Grüße 🤗 an Marie\tCurie & \"Pierre\" <x>";
        let mut s = Sample::new("d/train/f:0#1", "d", SourceFormat::Xmi, "train", "de", text);
        let mut marie = Entity::new(Span::new(11, 22).unwrap(), "PER", "Marie\tCurie");
        marie.identifier = Some("http://www.wikidata.org/entity/Q7186".into());
        s.entities = vec![marie, Entity::new(Span::new(26, 32).unwrap(), "PER", "Pierre")];
        for e in &mut s.entities {
            e.layer = Some("NamedEntity".into());
        }
        s.relations = vec![Relation { head: 0, tail: 1, label: "spouse of".into() }];
        s
    }

    #[test]
    fn documents_use_utf16_offsets_and_escape_everything() {
        let xmi = sample_to_xmi(&sample(), &ExportTypes::default()).unwrap();
        assert!(xmi.contains(r#"begin="12" end="23" value="PER" identifier="http://www.wikidata.org/entity/Q7186""#), "{xmi}");
        assert!(xmi.contains(r#"sofaString="Grüße 🤗 an Marie&#9;Curie &amp; &quot;Pierre&quot; &lt;x&gt;""#), "{xmi}");
        assert!(xmi.contains(r#"Governor="3" Dependent="4" label="spouse of""#), "{xmi}");
        let mut bad = sample();
        bad.text.push('\u{0C}');
        assert_eq!(sample_to_xmi(&bad, &ExportTypes::default()), Err("text_not_xml_1_0"));
    }

    #[test]
    fn our_reader_reads_back_what_we_write() {
        let dir = tempfile::tempdir().unwrap();
        let ts = dir.path().join(TYPESYSTEM_FILE);
        std::fs::write(&ts, export_typesystem().to_xml()).unwrap();
        let doc = dir.path().join("doc.xmi");
        let original = sample();
        std::fs::write(&doc, sample_to_xmi(&original, &ExportTypes::default()).unwrap()).unwrap();
        let mut reader = XmiReader::new(XmiOptions::default(), Default::default()).unwrap();
        let files = reader.files(std::slice::from_ref(&doc), &mut crate::report::Counts::default()).unwrap();
        let sink = crate::ingest::read_units(&reader, reader.units(&files[0]).unwrap()).unwrap();
        let back = &sink.samples[0];
        assert_eq!((&back.text, &back.entities, &back.relations, &back.lang), (&original.text, &original.entities, &original.relations, &original.lang));
        assert_eq!(back.meta["document_id"], original.id.as_str());
    }

    #[test]
    fn file_names_are_safe_and_ordered() {
        assert_eq!(file_name(7, "crossner_ai/train/x:3#1"), "000007_crossner_ai_train_x_3_1.xmi");
    }
}
