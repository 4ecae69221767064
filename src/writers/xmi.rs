//! UIMA CAS XMI writer: one XMI document per sample plus a `TypeSystem.xml`, in a directory
//! or a zip archive (when the output name ends in `.zip`), loadable by dkpro-cassis, UIMA and
//! INCEpTION.
//!
//! Each sample becomes a CAS whose initial view holds the text; entities are DKPro Core
//! `NamedEntity` annotations (`value` = label, `identifier` kept), relations are
//! `webanno.custom.EntityRelation` annotations (`Governor`, `Dependent`, `label`; offsets of
//! the dependent, as INCEpTION writes relation layers), and a `DocumentMetaData` carries the
//! sample id and language. Code-point spans are converted to UTF-16 offsets. What XMI cannot
//! hold is counted, not hidden: unaligned mentions and archetypes are not exported (notes),
//! and a sample whose text has characters XML 1.0 forbids is skipped (`text_not_xml_1_0`).
//! Files are named `{n:06}_{id}.xmi` in table order, so the output is deterministic; the
//! whole output appears atomically.

use super::ExportError;
use crate::io::{AtomicDir, AtomicFile, IoError};
use crate::model::Sample;
use crate::report::Counts;
use crate::table::TableReader;
use crate::uima::offsets::Utf16Index;
use crate::uima::typesystem::{FeatureDesc, TypeDesc, TypeSystem};
use crate::uima::{namespace_of, short_name, DOCUMENT_ANNOTATION, DOCUMENT_METADATA, NAMED_ENTITY};
use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;

/// The relation type written for [`crate::model::Relation`]s.
pub const ENTITY_RELATION: &str = "webanno.custom.EntityRelation";
/// Name of the type system file in the output.
pub const TYPESYSTEM_FILE: &str = "TypeSystem.xml";

/// The types the writer uses: DKPro Core document metadata and named entities (with DKPro's
/// own feature descriptions, so dkpro-cassis can merge this type system with DKPro's), and
/// the relation layer.
pub fn export_typesystem() -> TypeSystem {
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
    let entity = TypeDesc::new(
        NAMED_ENTITY,
        crate::uima::ANNOTATION,
        vec![
            described("value", s, "The class/category of the named entity, e.g. person, location, etc."),
            described("identifier", s, "Identifier of the named entity, e.g. a reference into a person database."),
        ],
    );
    let relation = TypeDesc::new(
        ENTITY_RELATION,
        crate::uima::ANNOTATION,
        vec![
            described("Governor", NAMED_ENTITY, "The head entity."),
            described("Dependent", NAMED_ENTITY, "The tail entity."),
            described("label", s, "The relation label."),
        ],
    );
    for t in [metadata, entity, relation] {
        // The three types are new and consistent; adding them cannot conflict.
        let _ = ts.add(t);
    }
    ts
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

/// The XMI document of one sample, or the reason it cannot be written.
pub fn sample_to_xmi(sample: &Sample) -> Result<String, &'static str> {
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
    let prefixes = [("type2", DOCUMENT_METADATA), ("type3", NAMED_ENTITY), ("custom", ENTITY_RELATION)];
    let mut out = String::with_capacity(sample.text.len() * 2 + 512);
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xmi:XMI");
    push_attr(&mut out, "xmlns:xmi", crate::uima::XMI_NS);
    push_attr(&mut out, "xmlns:cas", crate::uima::CAS_NS);
    for (prefix, type_name) in prefixes {
        push_attr(&mut out, &format!("xmlns:{prefix}"), &namespace_of(type_name));
    }
    out.push_str(" xmi:version=\"2.0\">\n  <cas:NULL xmi:id=\"0\"/>\n");
    let sofa = 1;
    let metadata = 2;
    let first_entity = 3;
    let first_relation = first_entity + sample.entities.len();
    let _ = write!(out, "  <type2:{} xmi:id=\"{metadata}\" sofa=\"{sofa}\" begin=\"0\"", short_name(DOCUMENT_METADATA));
    let _ = write!(out, " end=\"{}\"", index.len_utf16());
    push_attr(&mut out, "language", &sample.lang);
    push_attr(&mut out, "documentTitle", &sample.id);
    push_attr(&mut out, "documentId", &sample.id);
    out.push_str("/>\n");
    for (i, (e, (begin, end))) in sample.entities.iter().zip(&spans).enumerate() {
        let _ = write!(out, "  <type3:NamedEntity xmi:id=\"{}\" sofa=\"{sofa}\" begin=\"{begin}\" end=\"{end}\"", first_entity + i);
        push_attr(&mut out, "value", &e.label);
        if let Some(id) = &e.identifier {
            push_attr(&mut out, "identifier", id);
        }
        out.push_str("/>\n");
    }
    for (i, r) in sample.relations.iter().enumerate() {
        let (Some(&(begin, end)), true) = (spans.get(r.tail as usize), (r.head as usize) < spans.len()) else {
            return Err("relation_points_outside_entities");
        };
        let (head, tail) = (first_entity + r.head as usize, first_entity + r.tail as usize);
        let _ = write!(
            out,
            "  <custom:{} xmi:id=\"{}\" sofa=\"{sofa}\" begin=\"{begin}\" end=\"{end}\" Governor=\"{head}\" Dependent=\"{tail}\"",
            short_name(ENTITY_RELATION),
            first_relation + i
        );
        push_attr(&mut out, "label", &r.label);
        out.push_str("/>\n");
    }
    let _ = write!(out, "  <cas:Sofa xmi:id=\"{sofa}\" sofaNum=\"1\" sofaID=\"_InitialView\" mimeType=\"text\"");
    push_attr(&mut out, "sofaString", &sample.text);
    out.push_str("/>\n  <cas:View sofa=\"1\" members=\"");
    let members: Vec<String> = (metadata..first_relation + sample.relations.len()).map(|id| id.to_string()).collect();
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
/// directory, or a zip archive when it ends in `.zip`); returns the counts (records are
/// samples, written are documents).
///
/// An existing directory that is not empty is refused unless `force`; with it, only the
/// files export writes are replaced.
pub fn export_xmi(input: &Path, output: &Path, force: bool) -> Result<Counts, ExportError> {
    let mut counts = Counts::new("export");
    let mut target = Target::create(output, force)?;
    target.put(TYPESYSTEM_FILE, export_typesystem().to_xml().as_bytes(), output)?;
    for batch in TableReader::<Sample>::open(input)? {
        for sample in batch? {
            counts.read += 1;
            let xmi = match sample_to_xmi(&sample) {
                Ok(x) => x,
                Err(reason) => {
                    counts.skip(reason, 1);
                    continue;
                }
            };
            counts.note("unaligned_not_exported", sample.unaligned.len() as u64);
            counts.note("archetype_not_exported", sample.entities.iter().filter(|e| e.archetype.is_some()).count() as u64);
            target.put(&file_name(counts.read - 1, &sample.id), xmi.as_bytes(), output)?;
            counts.written += 1;
        }
    }
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
        s.relations = vec![Relation { head: 0, tail: 1, label: "spouse of".into() }];
        s
    }

    #[test]
    fn documents_use_utf16_offsets_and_escape_everything() {
        let xmi = sample_to_xmi(&sample()).unwrap();
        assert!(xmi.contains(r#"begin="12" end="23" value="PER" identifier="http://www.wikidata.org/entity/Q7186""#), "{xmi}");
        assert!(xmi.contains(r#"sofaString="Grüße 🤗 an Marie&#9;Curie &amp; &quot;Pierre&quot; &lt;x&gt;""#), "{xmi}");
        assert!(xmi.contains(r#"Governor="3" Dependent="4" label="spouse of""#), "{xmi}");
        let mut bad = sample();
        bad.text.push('\u{0C}');
        assert_eq!(sample_to_xmi(&bad), Err("text_not_xml_1_0"));
    }

    #[test]
    fn our_reader_reads_back_what_we_write() {
        let dir = tempfile::tempdir().unwrap();
        let ts = dir.path().join(TYPESYSTEM_FILE);
        std::fs::write(&ts, export_typesystem().to_xml()).unwrap();
        let doc = dir.path().join("doc.xmi");
        let original = sample();
        std::fs::write(&doc, sample_to_xmi(&original).unwrap()).unwrap();
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
