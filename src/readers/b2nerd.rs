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

use super::json_stream::{error_line, JsonRecords};
use super::{FileContext, ReadError, Reader, Sink};
use crate::io::IoError;
use crate::model::{CharIndex, Entity, SourceFormat, Span, Unaligned};
use serde::Deserialize;
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// Reads B2NERD split files. See the module docs.
#[derive(Debug, Clone, Default)]
pub struct B2nerdReader {
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
    fn label_set(&self, ctx: &FileContext) -> Result<Option<Vec<String>>, ReadError> {
        match self.labels.clone().or_else(|| find_labels_file(&ctx.path)) {
            Some(p) => read_labels_file(&p).map(Some),
            None => Ok(None),
        }
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

    fn read(&self, ctx: &FileContext, input: &mut dyn BufRead, sink: &mut dyn Sink) -> Result<(), ReadError> {
        let dataset_labels = self.label_set(ctx)?;
        if dataset_labels.is_none() {
            sink.counts().note("no_labels_json", 1);
        }
        let mut records = JsonRecords::new(input);
        while let Some(next) = records.next() {
            sink.counts().read += 1;
            let raw = match next {
                Ok(raw) => raw,
                Err(e) => {
                    let q = ctx.quarantine(Some(e.line), Some(e.index), e.reason, e.message, &String::from_utf8_lossy(&e.bytes));
                    sink.quarantine(q)?;
                    continue;
                }
            };
            let record: Record = match serde_json::from_slice(&raw.bytes) {
                Ok(r) => r,
                Err(e) => {
                    let reason = if e.is_data() { "bad_record" } else { "json_syntax" };
                    let msg = format!("expected {{sentence, entities: [{{name, type, pos}}]}}: {e}");
                    sink.quarantine(ctx.quarantine(Some(error_line(raw.line, &e)), Some(raw.index), reason, msg, &raw.lossy()))?;
                    continue;
                }
            };
            let index = CharIndex::new(&record.sentence);
            let mut sample = ctx.new_sample(SourceFormat::B2nerd, raw.index, String::new());
            let mut label_set = record.labels.clone().or_else(|| dataset_labels.clone()).unwrap_or_default();
            for e in &record.entities {
                match Self::place(&record.sentence, &index, e) {
                    Ok(entity) => {
                        if !label_set.contains(&entity.label) {
                            if dataset_labels.is_some() || record.labels.is_some() {
                                sink.counts().note(&format!("label_missing_from_labels_json:{}", entity.label), 1);
                            }
                            label_set.push(entity.label.clone());
                        }
                        sample.entities.push(entity);
                    }
                    Err(reason) => {
                        sink.counts().note(&format!("unaligned:{reason}"), 1);
                        sample.unaligned.push(Unaligned { label: e.label.clone(), text: e.name.clone(), reason: reason.into() })
                    }
                }
            }
            sample.label_set = label_set;
            sample.text = record.sentence;
            if !record.extra.is_empty() {
                sample.meta = record.extra;
            }
            sink.sample(sample)?;
        }
        if records.bom {
            sink.counts().note("bom", 1);
        }
        if let Some(e) = records.take_io_error() {
            return Err(IoError::new(&ctx.path, e).into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::readers::{LangPolicy, VecSink};

    fn read(input: &str) -> VecSink {
        let ctx = FileContext::derive(Path::new("/nonexistent/ds/train.json"), SourceFormat::B2nerd, None, None, &LangPolicy::Auto);
        let mut sink = VecSink::default();
        B2nerdReader::default().read(&ctx, &mut input.as_bytes(), &mut sink).unwrap();
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
