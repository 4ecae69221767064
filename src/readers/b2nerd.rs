//! B2NERD / InstructUIE split-file reader: one JSON array of
//! `{sentence, entities: [{name, type, pos: [start, end]}], labels?}` records.
//!
//! The array is streamed record by record ([`super::json_stream`]), never parsed whole.
//! `pos` are code-point offsets, end-exclusive; every entity is checked against the sentence
//! and a mismatch goes to `unaligned` (reason `offset_mismatch`, `bad_offsets` or
//! `no_offsets`) rather than being shifted or dropped. Entities typed `NA` or `""` (which
//! upstream skips) go to `unaligned` as `na_type`. The dataset's `labels.json` becomes every
//! sample's `label_set`; labels used in the data but missing from it are appended to the
//! sample's set and reported as `label_missing_from_labels_json:<label>` notes.

use super::json_stream::{error_line, JsonUnits, RawRecord};
use super::{open_digested, Companion, FileState, Naming, Part, ReadError, Reader, Sink, Unit, UnitBody, Units};
use crate::io::IoError;
use crate::model::{CharIndex, Entity, SourceFormat, Span, Unaligned};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Reads B2NERD split files. See the module docs.
#[derive(Debug, Clone, Default)]
pub struct B2nerdReader {
    /// Dataset, split and language choices.
    pub naming: Naming,
    /// An explicit `labels.json`; when `None`, a sibling file is looked for.
    pub labels: Option<PathBuf>,
}

#[derive(Deserialize)]
struct Record {
    sentence: String,
    entities: Vec<RawEntity>,
    /// Per-record label set override ("cross label" datasets).
    #[serde(default)]
    labels: Option<Vec<String>>,
    #[serde(flatten)]
    extra: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct RawEntity {
    name: String,
    #[serde(rename = "type")]
    label: String,
    #[serde(default)]
    pos: Option<Vec<i64>>,
}

/// Finds the `labels.json` of a split file: `<dir>/labels.json` (upstream layout), or the
/// split name in the file stem replaced by `labels` (`x_train.json` → `x_labels.json`).
pub fn find_labels_file(split_file: &Path) -> Option<PathBuf> {
    let dir = split_file.parent().unwrap_or(Path::new(""));
    let sibling = dir.join("labels.json");
    if sibling.is_file() {
        return Some(sibling);
    }
    let stem = split_file.file_stem()?.to_string_lossy();
    let split = super::split_from_stem(&stem)?;
    let candidates = ["train", "dev", "valid", "validation", "val", "test"];
    candidates.iter().filter(|c| super::split_from_stem(c) == Some(split)).find_map(|c| {
        let replaced = stem.rsplit_once(c).map(|(a, b)| format!("{a}labels{b}.json"))?;
        let p = dir.join(replaced);
        p.is_file().then_some(p)
    })
}

/// Reads a `labels.json` (a JSON list of strings; trailing whitespace tolerated).
pub fn read_labels_file(path: &Path) -> Result<Vec<String>, ReadError> {
    let text = std::fs::read_to_string(path).map_err(|e| IoError::new(path, e))?;
    serde_json::from_str::<Vec<String>>(text.trim()).map_err(|e| ReadError::Input {
        path: path.to_path_buf(),
        line: Some(e.line() as u64),
        message: format!("expected a JSON list of label strings: {e}"),
    })
}

impl B2nerdReader {
    /// The state of input file `path`, with its `labels.json` read (an unreadable one is an
    /// error before any record is read).
    pub fn file_state(&self, path: &Path) -> Result<Arc<FileState>, ReadError> {
        let ctx = self.naming.context(path, SourceFormat::B2nerd);
        let file = self.labels.clone().or_else(|| find_labels_file(path));
        let labels = match &file {
            Some(p) => Some(read_labels_file(p)?),
            None => None,
        };
        let companion = Companion::at(file, read_labels_file);
        companion.set(labels);
        Ok(FileState::with_labels(ctx, companion))
    }

    /// One record: a sample, or a quarantined record.
    fn record(&self, file: &FileState, raw: &RawRecord, part: &mut Part) {
        let ctx = &file.ctx;
        let dataset_labels = file.labels.get().as_ref().ok().and_then(Option::as_ref);
        let record: Record = match serde_json::from_slice(&raw.bytes) {
            Ok(r) => r,
            Err(e) => {
                let reason = if e.is_data() { "bad_record" } else { "json_syntax" };
                let msg = format!("expected {{sentence, entities: [{{name, type, pos}}]}}: {e}");
                part.quarantined.push(ctx.quarantine(Some(error_line(raw.line, &e)), Some(raw.index), reason, msg, &raw.lossy()));
                return;
            }
        };
        let index = CharIndex::new(&record.sentence);
        let mut sample = ctx.new_sample(SourceFormat::B2nerd, raw.index, String::new());
        let mut label_set = record.labels.clone().or_else(|| dataset_labels.cloned()).unwrap_or_default();
        for e in &record.entities {
            match Self::place(&record.sentence, &index, e) {
                Ok(entity) => {
                    if !label_set.contains(&entity.label) {
                        if dataset_labels.is_some() || record.labels.is_some() {
                            part.counts.note(&format!("label_missing_from_labels_json:{}", entity.label), 1);
                        }
                        label_set.push(entity.label.clone());
                    }
                    sample.entities.push(entity);
                }
                Err(reason) => {
                    part.counts.note(&format!("unaligned:{reason}"), 1);
                    sample.unaligned.push(Unaligned { label: e.label.clone(), text: e.name.clone(), reason: reason.into() })
                }
            }
        }
        sample.label_set = label_set;
        sample.text = record.sentence;
        if !record.extra.is_empty() {
            sample.meta = record.extra;
        }
        part.samples.push(sample);
    }

    /// Places one entity, or says why it cannot be placed.
    fn place(sentence: &str, index: &CharIndex, e: &RawEntity) -> Result<Entity, &'static str> {
        if e.label.is_empty() || e.label == "NA" {
            return Err("na_type");
        }
        let pos = e.pos.as_deref().ok_or("no_offsets")?;
        let [start, end] = pos else { return Err("bad_offsets") };
        let (Ok(start), Ok(end)) = (u32::try_from(*start), u32::try_from(*end)) else { return Err("bad_offsets") };
        let span = Span::new(start, end).map_err(|_| "bad_offsets")?;
        match index.slice(sentence, span) {
            None => Err("bad_offsets"),
            Some(found) if found == e.name => Ok(Entity::new(span, &e.label, &e.name)),
            Some(_) => Err("offset_mismatch"),
        }
    }
}

impl Reader for B2nerdReader {
    fn format(&self) -> SourceFormat {
        SourceFormat::B2nerd
    }

    /// Split files only: `labels.json` and the description files beside them are not data.
    fn wants(&self, path: &Path) -> bool {
        let stem = path.file_stem().map(|s| s.to_string_lossy()).unwrap_or_default();
        path.extension().is_some_and(|e| e == "json") && super::split_from_stem(&stem).is_some() && !stem.contains("label")
    }

    fn units<'a>(&'a self, path: &Path) -> Result<Units<'a>, ReadError> {
        let file = self.file_state(path)?;
        let notes = if file.labels.path().is_none() { vec!["no_labels_json"] } else { Vec::new() };
        let input = std::io::BufReader::with_capacity(1 << 20, open_digested(path, &file)?);
        Ok(Box::new(JsonUnits::new(file, input, notes)))
    }

    fn digests_while_reading(&self) -> bool {
        true
    }

    fn parse(&self, unit: &Unit) -> Result<Part, ReadError> {
        let mut part = Part::default();
        let UnitBody::Records(records) = &unit.body else { return Ok(part) };
        for next in records {
            part.counts.read += 1;
            match next {
                Ok(raw) => self.record(&unit.file, raw, &mut part),
                Err(e) => {
                    part.quarantine(e.quarantine(&unit.file.ctx))?;
                }
            }
        }
        Ok(part)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::readers::VecSink;

    fn read(input: &str) -> VecSink {
        let reader = B2nerdReader::default();
        let file = reader.file_state(Path::new("/nonexistent/ds/train.json")).unwrap();
        let units = JsonUnits::new(file, std::io::Cursor::new(input.as_bytes().to_vec()), Vec::new());
        let sink = crate::ingest::read_units(&reader, Box::new(units)).unwrap();
        sink.counts.check().unwrap();
        sink
    }

    #[test]
    fn reads_code_point_offsets_in_any_entity_order() {
        let s = read(r#"[{"sentence": "Müller met EU", "entities": [{"name": "EU", "type": "org", "pos": [11, 13]}, {"name": "Müller", "type": "person", "pos": [0, 6]}]}]"#);
        let e = &s.samples[0].entities;
        assert_eq!((e[0].span.start(), e[0].text.as_str(), e[1].text.as_str()), (11, "EU", "Müller"));
        assert_eq!(s.samples[0].label_set, vec!["org", "person"]);
        assert_eq!(s.samples[0].id, "ds/train/train:0");
    }

    #[test]
    fn bad_offsets_go_to_unaligned_with_reasons() {
        let s = read(r#"[{"sentence": "abc def", "entities": [
            {"name": "abc", "type": "x", "pos": [0, 4]},
            {"name": "def", "type": "x", "pos": [4, 99]},
            {"name": "def", "type": "x"},
            {"name": "abc", "type": "NA", "pos": [0, 3]},
            {"name": "def", "type": "x", "pos": [5, 4]}]}]"#);
        let reasons: Vec<_> = s.samples[0].unaligned.iter().map(|u| u.reason.as_str()).collect();
        assert_eq!(reasons, vec!["offset_mismatch", "bad_offsets", "no_offsets", "na_type", "bad_offsets"]);
        assert!(s.samples[0].entities.is_empty());
    }

    #[test]
    fn a_bad_record_is_quarantined_and_the_rest_kept() {
        let s = read("[{\"sentence\": \"a\", \"entities\": []},\n {\"sentence\": 5, \"entities\": []},\n {\"sentence\": \"b\", \"entities\": []}]");
        assert_eq!(s.samples.len(), 2);
        assert_eq!((s.quarantined[0].line, s.quarantined[0].reason.as_str()), (Some(2), "bad_record"));
        assert_eq!(s.samples[1].id, "ds/train/train:2");
    }

    #[test]
    fn per_record_labels_and_extra_keys_are_kept() {
        let s = read(r#"[{"sentence": "a", "entities": [], "labels": ["p", "q"], "source": "x"}]"#);
        assert_eq!(s.samples[0].label_set, vec!["p", "q"]);
        assert_eq!(s.samples[0].meta["source"], "x");
    }
}
