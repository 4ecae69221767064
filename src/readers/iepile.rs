//! IEPile reader: JSON Lines (or concatenated pretty-printed objects) in three variants.
//!
//! - Training / corpus: `{task, source, instruction, output}` where `instruction` is a JSON
//!   document in a string (`{instruction, schema, input}`) and `output` a JSON object in a
//!   string mapping every schema type, in schema order, to its mention list.
//! - Test: `{id, instruction, label}` where `label` is a JSON list in a string of
//!   `{entity, entity_type}`.
//! - Pre-conversion: `{text, entity: [{entity, entity_type}]}`; the label set comes from the
//!   `schema.json` beside the file (`x_sample.json` → `x_schema.json`, else `schema.json`;
//!   its first line is the type list), or from the types used when there is none.
//!
//! Only `task == "NER"` records are read; others are skipped and counted as
//! `skipped_task:<TASK>`. `source` becomes the `dataset` unless a dataset was given. The
//! schema (in its order) is the `label_set`. IEPile asks a few types per record, so one
//! sentence comes in several records: they are merged per [`MergeMode`] and the merged
//! answers aligned with [`crate::align`] (mentions carry no offsets).
//!
//! Training records of the usual shape are read by the [`super::json_scan`] scanner, the
//! rest by serde_json; the two read a record alike.

use super::json_scan::{scan_or_parse, set_once, Scan};
use super::json_stream::{error_line, JsonUnits, RawRecord};
use super::mentions::{edge_unit, parse_unit, MergeMode, Parsed, Passage};
use super::{open_digested, Companion, FileState, Naming, Part, ReadError, Reader, Unit, Units};
use crate::io::IoError;
use crate::model::SourceFormat;
use crate::report::Counts;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Reads IEPile files. See the module docs.
#[derive(Debug, Clone, Default)]
pub struct IepileReader {
    /// Dataset, split and language choices.
    pub naming: Naming,
    /// How records that repeat a sentence are merged.
    pub merge: MergeMode,
    /// Use each record's `source` as its dataset (when no dataset was given explicitly).
    pub source_as_dataset: bool,
}

/// Any of the three variants; which fields are present says which one it is.
#[derive(Deserialize, Debug)]
struct Envelope<'a> {
    #[serde(borrow)]
    task: Option<Cow<'a, str>>,
    #[serde(borrow)]
    source: Option<Cow<'a, str>>,
    instruction: Option<Nested<Instruction>>,
    output: Option<Nested<Output>>,
    id: Option<serde_json::Value>,
    label: Option<Nested<Vec<LabelledMention>>>,
    text: Option<String>,
    entity: Option<Vec<LabelledMention>>,
}

/// A JSON document held in a string field (IEPile's `instruction`, `output`, `label`),
/// decoded as the field is read: the document is parsed straight from the JSON reader's
/// unescaped view of the string, never copied into a `String` of its own. A document that
/// does not parse is kept as its error, for the caller to report under its own reason.
#[derive(Debug)]
struct Nested<T>(Result<T, serde_json::Error>);

impl<'de, T: serde::de::DeserializeOwned> Deserialize<'de> for Nested<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: serde::de::DeserializeOwned> Visitor<'de> for V<T> {
            type Value = Nested<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Nested<T>, E> {
                Ok(Nested(serde_json::from_str(s)))
            }
        }
        d.deserialize_str(V(std::marker::PhantomData))
    }
}

/// The decoded `instruction` string.
#[derive(Deserialize, Debug)]
struct Instruction {
    #[serde(default)]
    schema: Vec<String>,
    input: String,
}

/// One `{entity, entity_type}` item (test `label`, pre-conversion `entity`).
#[derive(Deserialize, Debug)]
struct LabelledMention {
    entity: String,
    entity_type: String,
}

/// The decoded `output` string: `{type: [mention, ...]}` with the key order kept.
#[derive(Debug)]
struct Output(Vec<(String, Vec<String>)>);

impl<'de> Deserialize<'de> for Output {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Output;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object mapping each type to a list of mention strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Output, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Vec<String>>()? {
                    out.push((k, v));
                }
                Ok(Output(out))
            }
        }
        d.deserialize_map(V)
    }
}

thread_local! {
    /// The unescaped `instruction` or `output` document of the record being read.
    static DOCUMENT: RefCell<String> = const { RefCell::new(String::new()) };
}

/// A training record `{task, source, instruction, output}` in the usual shape, read with
/// [`Scan`]; `None` leaves the record to serde_json (see [`super::json_scan`] for why the
/// two read alike). Nearly every record of a corpus takes this path.
fn scan_envelope(bytes: &[u8]) -> Option<Envelope<'_>> {
    let mut scan = Scan::from_bytes(bytes)?;
    let (mut task, mut source, mut instruction, mut output) = (None, None, None, None);
    DOCUMENT.with_borrow_mut(|doc| {
        let read = scan.object(|key, s| match key {
            "task" => set_once(&mut task, s.string()?),
            "source" => set_once(&mut source, s.string()?),
            "instruction" => set_once(&mut instruction, scan_nested(s, doc, scan_instruction)?),
            "output" => set_once(&mut output, scan_nested(s, doc, scan_output)?),
            _ => None,
        });
        // A rare huge record does not keep its buffer for the rest of the run.
        if doc.capacity() > 1 << 20 {
            *doc = String::new();
        }
        read
    })?;
    scan.end()?;
    let (instruction, output) = (Some(Nested(Ok(instruction?))), Some(Nested(Ok(output?))));
    Some(Envelope { task, source, instruction, output, id: None, label: None, text: None, entity: None })
}

/// Whether the scanner reads `bytes` (an IEPile record) as serde_json does
/// ([`super::json_scan::matches_serde`]).
pub fn scan_matches_serde(bytes: &[u8]) -> Result<bool, String> {
    super::json_scan::matches_serde(bytes, scan_envelope)
}

/// The JSON document held in the string at `s`, read by `read`: in place when its string
/// allows ([`Scan::embedded`]), else unescaped into `doc` first.
fn scan_nested<T>(s: &mut Scan<'_>, doc: &mut String, read: for<'b> fn(&mut Scan<'b>) -> Option<T>) -> Option<T> {
    if let Some(value) = s.embedded(read) {
        return Some(value);
    }
    doc.clear();
    s.string_into(doc)?;
    let mut inner = Scan::new(doc);
    let value = read(&mut inner)?;
    inner.end()?;
    Some(value)
}

fn scan_instruction(s: &mut Scan<'_>) -> Option<Instruction> {
    let (mut prompt, mut schema, mut input) = (None, None, None);
    s.object(|key, s| match key {
        "instruction" => set_once(&mut prompt, s.skip_string()?),
        "schema" => set_once(&mut schema, s.strings()?),
        "input" => set_once(&mut input, s.string()?.into_owned()),
        _ => None,
    })?;
    Some(Instruction { schema: schema.unwrap_or_default(), input: input? })
}

fn scan_output(s: &mut Scan<'_>) -> Option<Output> {
    let mut lists = Vec::new();
    s.object(|key, s| {
        lists.push((key.to_string(), s.strings()?));
        Some(())
    })?;
    Some(Output(lists))
}

/// Finds the schema file of a pre-conversion file: the stem's `sample` replaced by
/// `schema`, else `schema.json` in the same directory.
pub fn find_schema_file(path: &Path) -> Option<PathBuf> {
    let dir = path.parent().unwrap_or(Path::new(""));
    let stem = path.file_stem()?.to_string_lossy();
    let named = stem.contains("sample").then(|| dir.join(format!("{}.json", stem.replacen("sample", "schema", 1))));
    named.into_iter().chain([dir.join("schema.json")]).find(|p| p.is_file())
}

/// Reads the type list from the first line of an IEPile `schema.json`.
pub fn read_schema_file(path: &Path) -> Result<Vec<String>, ReadError> {
    let text = std::fs::read_to_string(path).map_err(|e| IoError::new(path, e))?;
    let first = text.lines().next().unwrap_or_default();
    serde_json::from_str::<Vec<String>>(first.trim()).map_err(|e| ReadError::Input {
        path: path.to_path_buf(),
        line: Some(1),
        message: format!("expected the entity type list (a JSON list of strings) on line 1: {e}"),
    })
}

impl IepileReader {
    /// Parses one raw record into a passage, a skip or a quarantine entry.
    fn parse_record(&self, file: &FileState, raw: &RawRecord) -> Parsed {
        let ctx = &file.ctx;
        // The schema file matters only to pre-conversion records: loaded on first need.
        let schema = || file.labels.get().as_ref().ok().cloned().flatten();
        let env: Envelope = match scan_or_parse(&raw.bytes, scan_envelope) {
            Ok(e) => e,
            Err(e) => {
                let reason = if e.is_data() { "bad_record" } else { "json_syntax" };
                return Parsed::bad(ctx, raw, error_line(raw.line, &e), reason, format!("expected an IEPile record object: {e}"));
            }
        };
        if let Some(task) = env.task.as_deref().filter(|t| *t != "NER") {
            return Parsed::Skipped(format!("skipped_task:{task}"));
        }
        let source = env.source.as_deref();
        let result = if let Some(text) = env.text {
            let labels = env.entity.unwrap_or_default();
            Ok(self.passage(raw, source, text, schema().unwrap_or_default(), labels.into_iter().map(|m| (m.entity_type, m.entity)).collect()))
        } else if let Some(Nested(instruction)) = env.instruction {
            self.instructed(raw, source, instruction, env.output, env.label)
        } else {
            Err(("unknown_variant", "expected `task/source/instruction/output`, `id/instruction/label` or `text/entity` fields".to_string()))
        };
        match result {
            Ok(mut p) => {
                if let Some(task) = env.task {
                    p.set_meta("task", task.into_owned().into());
                }
                if let Some(id) = env.id {
                    p.set_meta("iepile_id", id);
                }
                Parsed::Passage(p)
            }
            Err((reason, message)) => Parsed::bad(ctx, raw, raw.line, reason, message),
        }
    }

    /// The training and test variants: decode the instruction, then `output` or `label`.
    fn instructed(
        &self,
        raw: &RawRecord,
        source: Option<&str>,
        instruction: Result<Instruction, serde_json::Error>,
        output: Option<Nested<Output>>,
        label: Option<Nested<Vec<LabelledMention>>>,
    ) -> Result<Passage, (&'static str, String)> {
        let ins = instruction
            .map_err(|e| ("bad_instruction", format!("`instruction` must hold a JSON object with `schema` and `input`: {e}")))?;
        let answers: Vec<(String, String)> = match (output, label) {
            (Some(Nested(out)), _) => {
                let Output(lists) =
                    out.map_err(|e| ("bad_output", format!("`output` must hold a JSON object of type -> list of mentions: {e}")))?;
                let mut passage = self.passage(raw, source, ins.input, ins.schema, Vec::new());
                for (i, (label, _)) in lists.iter().enumerate() {
                    if !passage.label_set.contains(label) {
                        passage.note("label_not_in_schema");
                        passage.ask(label);
                    }
                    if lists[..i].iter().any(|(l, _)| l == label) {
                        passage.note("type_answered_twice");
                    }
                }
                for (label, mentions) in lists {
                    passage.answers.add(&label, mentions);
                }
                return Ok(passage);
            }
            (None, Some(Nested(label))) => {
                let items = label
                    .map_err(|e| ("bad_label", format!("`label` must hold a JSON list of {{entity, entity_type}}: {e}")))?;
                items.into_iter().map(|m| (m.entity_type, m.entity)).collect()
            }
            (None, None) => return Err(("missing_output", "a record with `instruction` needs `output` or `label`".into())),
        };
        Ok(self.passage(raw, source, ins.input, ins.schema, answers))
    }

    /// A passage of `text` asking `schema`, answered by `(type, mention)` pairs; types
    /// answered outside the schema are added to the label set and counted.
    fn passage(
        &self,
        raw: &RawRecord,
        source: Option<&str>,
        text: String,
        schema: Vec<String>,
        answers: Vec<(String, String)>,
    ) -> Passage {
        let mut passage = Passage::new(raw.index, text);
        if let Some(source) = source.filter(|s| self.source_as_dataset && !s.is_empty()) {
            passage.dataset = Some(source.to_string());
        }
        let from_schema = !schema.is_empty();
        for label in schema {
            passage.ask_owned(label);
        }
        let mut grouped: Vec<(String, Vec<String>)> = Vec::new();
        for (label, mention) in answers {
            if from_schema && !passage.label_set.contains(&label) {
                passage.note("label_not_in_schema");
            }
            passage.ask(&label);
            match grouped.iter_mut().find(|(l, _)| *l == label) {
                Some((_, ms)) => ms.push(mention),
                None => grouped.push((label, vec![mention])),
            }
        }
        for (label, mentions) in grouped {
            passage.answers.add(&label, mentions);
        }
        passage
    }
}

impl Reader for IepileReader {
    fn format(&self) -> SourceFormat {
        SourceFormat::Iepile
    }

    /// JSON and JSON Lines files, except the `schema.json` companions.
    fn wants(&self, path: &Path) -> bool {
        let stem = path.file_stem().map(|s| s.to_string_lossy().to_lowercase()).unwrap_or_default();
        matches!(path.extension().and_then(|e| e.to_str()), Some("json" | "jsonl")) && !stem.contains("schema")
    }

    fn units<'a>(&'a self, path: &Path) -> Result<Units<'a>, ReadError> {
        let file = self.file_state(path);
        let input = std::io::BufReader::with_capacity(1 << 20, open_digested(path, &file)?);
        Ok(Box::new(JsonUnits::new(file, input, Vec::new())))
    }

    fn digests_while_reading(&self) -> bool {
        true
    }

    fn parse(&self, unit: &Unit) -> Result<Part, ReadError> {
        Ok(parse_unit(unit, SourceFormat::Iepile, self.merge, |raw| self.parse_record(&unit.file, raw)))
    }

    fn merge(&self) -> MergeMode {
        self.merge
    }

    fn edges(&self, unit: &Unit) -> Option<Part> {
        Some(edge_unit(unit, |raw| self.parse_record(&unit.file, raw)))
    }

    fn end_file(&self, file: &FileState, counts: &mut Counts) -> Result<(), ReadError> {
        match file.labels.asked() {
            Some(Err(message)) => Err(ReadError::Input {
                path: file.labels.path().map(Path::to_path_buf).unwrap_or_default(),
                line: Some(1),
                message: message.clone(),
            }),
            Some(Ok(None)) => {
                counts.note("no_schema_file", 1);
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

impl IepileReader {
    /// The state of input file `path`: its context and (not yet loaded) schema file.
    pub fn file_state(&self, path: &Path) -> Arc<FileState> {
        let ctx = self.naming.context(path, SourceFormat::Iepile);
        FileState::with_labels(ctx, Companion::at(find_schema_file(path), read_schema_file))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::readers::VecSink;

    fn read_cut(reader: &IepileReader, input: &str, unit_records: usize) -> VecSink {
        let file = reader.file_state(Path::new("/nonexistent/x/train.json"));
        let cursor = std::io::Cursor::new(input.as_bytes().to_vec());
        let units = JsonUnits::new(file, cursor, Vec::new()).with_unit_records(unit_records);
        let sink = crate::ingest::read_units(reader, Box::new(units)).unwrap();
        sink.counts.check().unwrap();
        sink
    }

    fn read_with(reader: &IepileReader, input: &str) -> VecSink {
        read_cut(reader, input, crate::readers::json_stream::UNIT_RECORDS)
    }

    fn record(source: &str, schema: &[&str], input: &str, output: &[(&str, &[&str])]) -> String {
        let ins = serde_json::json!({"instruction": "x", "schema": schema, "input": input}).to_string();
        let mut out = serde_json::Map::new();
        for (k, v) in output {
            out.insert(k.to_string(), serde_json::json!(v));
        }
        serde_json::json!({"task": "NER", "source": source, "instruction": ins, "output": serde_json::Value::Object(out).to_string()}).to_string()
    }

    #[test]
    fn consecutive_records_of_one_sentence_merge() {
        let text = "Robert Allenby ( Australia ) , Allenby won";
        let lines = [
            record("CoNLL2003", &["person", "organization"], text, &[("person", &["Robert Allenby", "Allenby"]), ("organization", &[])]),
            record("CoNLL2003", &["location", "else"], text, &[("location", &["Australia"]), ("else", &[])]),
            record("CoNLL2003", &["person"], "Other text", &[("person", &[])]),
        ];
        let reader = IepileReader { source_as_dataset: true, ..Default::default() };
        let s = read_with(&reader, &lines.join("\r\n\r\n"));
        assert_eq!(s.samples.len(), 2);
        let first = &s.samples[0];
        assert_eq!(first.label_set, vec!["person", "organization", "location", "else"]);
        assert_eq!(first.entities.iter().map(|e| e.text.as_str()).collect::<Vec<_>>(), vec!["Robert Allenby", "Allenby", "Australia"]);
        assert_eq!((first.dataset.as_str(), first.id.as_str()), ("CoNLL2003", "CoNLL2003/train/train:0"));
        assert_eq!(s.counts.skipped["merged"], 1);
        let s = read_with(&IepileReader { merge: MergeMode::None, ..Default::default() }, &lines.join("\n"));
        assert_eq!(s.samples.len(), 3);
        assert_eq!(s.samples[0].dataset, "x", "the file's dataset without source_as_dataset");
    }

    #[test]
    fn other_tasks_are_skipped_by_name() {
        let re = r#"{"task": "RE", "source": "RE", "instruction": "{}", "output": "{}"}"#;
        let ee = r#"{"task": "EE", "source": "x", "instruction": "{}", "output": "{}"}"#;
        let s = read_with(&IepileReader::default(), &[re, re, ee].join("\n"));
        assert_eq!((s.counts.skipped["skipped_task:RE"], s.counts.skipped["skipped_task:EE"], s.samples.len()), (2, 1, 0));
    }

    #[test]
    fn bad_records_are_quarantined_with_reasons() {
        let good = record("s", &["a"], "x y", &[("a", &["y"])]);
        let input = [
            r#"{"task": "NER", "instruction": "not json", "output": "{}"}"#.to_string(),
            r#"{"task": "NER", "instruction": "{\"input\": \"t\"}", "output": "[1]"}"#.to_string(),
            r#"{"task": "NER", "instruction": "{\"input\": \"t\"}"}"#.to_string(),
            r#"{"something": "else"}"#.to_string(),
            r#"{"task": "NER", "source": "x"#.to_string(),
            r#"{"task": "NER", "instruction": 5, "output": "{}"}"#.to_string(),
            good,
        ];
        let s = read_with(&IepileReader::default(), &input.join("\n"));
        let reasons: Vec<_> = s.quarantined.iter().map(|q| (q.line, q.reason.as_str())).collect();
        assert_eq!(
            reasons,
            vec![
                (Some(1), "bad_instruction"),
                (Some(2), "bad_output"),
                (Some(3), "missing_output"),
                (Some(4), "unknown_variant"),
                (Some(5), "json_unterminated_string"),
                (Some(6), "bad_record")
            ]
        );
        assert!(s.quarantined[5].message.contains("invalid type: integer `5`, expected a string"), "{}", s.quarantined[5].message);
        assert_eq!(s.samples.len(), 1);
    }

    #[test]
    fn test_variant_and_escapes() {
        let ins = serde_json::json!({"instruction": "x", "schema": ["人物", "地理位置"], "input": "胡老说"}).to_string();
        let label = serde_json::json!([{"entity": "胡", "entity_type": "人物"}]).to_string();
        // ensure_ascii-style escapes and raw UTF-8 read the same.
        let escaped = serde_json::json!({"id": "abc", "instruction": ins, "label": label}).to_string().replace('胡', "\\u80e1");
        let s = read_with(&IepileReader::default(), &escaped);
        let sample = &s.samples[0];
        assert_eq!((sample.text.as_str(), sample.entities[0].text.as_str(), sample.entities[0].span.end()), ("胡老说", "胡", 1));
        assert_eq!(sample.label_set, vec!["人物", "地理位置"]);
        assert_eq!((sample.meta["iepile_id"].as_str(), sample.lang.as_str()), (Some("abc"), "zh"));
    }

    /// When the scanner reads a record, serde_json reads it too, to the same values.
    fn scan_agrees(bytes: &[u8]) -> bool {
        scan_matches_serde(bytes).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(bytes)))
    }

    #[test]
    fn the_scanner_reads_the_fixture_records_as_serde_json_does() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        for (file, every_line) in [("iepile/data_NER_train.json", true), ("iepile/data_RE_train.json", false), ("bad/iepile_bad_output.json", false)] {
            let bytes = std::fs::read(dir.join(file)).unwrap();
            let lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()).collect();
            let scanned = lines.iter().filter(|l| scan_agrees(l)).count();
            if every_line {
                assert_eq!(scanned, lines.len(), "{file}: every training record takes the fast path");
            }
        }
        for file in std::fs::read_dir(dir.join("iepile")).unwrap() {
            scan_agrees(&std::fs::read(file.unwrap().path()).unwrap());
        }
    }

    #[test]
    fn the_scanner_leaves_the_unusual_to_serde_json() {
        let leaves = [
            r#"{"task": "NER", "task": "NER", "instruction": "{\"input\": \"t\"}", "output": "{}"}"#,
            r#"{"task": "N\ud800R", "instruction": "{\"input\": \"t\"}", "output": "{}"}"#,
            r#"{"task": "NER", "instruction": "{\"input\": \"t\"}", "output": "{}", "extra": 1}"#,
            r#"{"task": "NER", "instruction": "{\"input\": \"t\", \"x\": 1}", "output": "{}"}"#,
            r#"{"task": "NER", "instruction": "{\"input\": \"t\"}", "output": "{\"a\": [1]}"}"#,
            r#"{"task": "NER", "instruction": "{\"input\": \"t\"} x", "output": "{}"}"#,
            r#"{"task": "NER", "instruction": "{\"schema\": []}", "output": "{}"}"#,
            r#"{"task": "NER", "instruction": "{\"input\": \"t\"}"}"#,
            r#"{"task": "NER", "instruction": "{\"input\": \"t\"}", "output": "{}"} ,"#,
        ];
        for record in leaves {
            assert!(scan_envelope(record.as_bytes()).is_none(), "{record}");
        }
        let plain = r#" {"output": "{\"人物\": [\"胡\"], \"人物\": []}", "instruction": "{\"input\": \"胡\\\"\\/\\u80e1\"}", "task": "N\u0045R"}  "#;
        assert!(scan_agrees(plain.as_bytes()), "any key order, a type answered twice, escapes in the nested document");
    }

    /// A record of the training shape, its members in any order, with now and then a
    /// duplicate or unknown member, rare escapes and characters, or a few bytes edited; and
    /// whether it is clean (none of those).
    fn arbitrary_record() -> impl proptest::strategy::Strategy<Value = (Vec<u8>, bool)> {
        use proptest::prelude::*;
        let rare = ["\n", "\t", "\u{1}", "\u{7f}", "{", "]", "/", "é"];
        let common = ["a", "人物", " ", "\"", "\\", "b c"];
        let piece = proptest::sample::select([common.repeat(3), rare.to_vec()].concat());
        let text = proptest::collection::vec(piece, 0..5).prop_map(|p| p.concat());
        let list = proptest::collection::vec(text.clone(), 0..3);
        let member = |k: &str, v: String| format!("{}: {v}", serde_json::to_string(k).unwrap());
        let shuffled = |mut members: Vec<String>, by: usize| {
            let n = members.len().max(1);
            members.rotate_left(by % n);
            format!("{{{}}}", members.join(", "))
        };
        let extra = proptest::sample::select(vec!["", "", "", "", "task", "id", "other"]);
        (
            (proptest::option::of(text.clone()), proptest::option::weighted(0.8, list.clone()), proptest::option::weighted(0.9, text.clone())),
            proptest::collection::vec((text.clone(), list), 0..3),
            (proptest::option::of(text.clone()), proptest::option::of(text.clone()), extra.clone(), extra),
            (any::<usize>(), any::<bool>(), proptest::bool::weighted(0.1)),
            proptest::collection::vec((any::<proptest::sample::Index>(), proptest::sample::select(vec!["", "\\", "\"", "u", ",", ":", "}", " ", "\n", "\u{1}", "é"])), 0..2),
        )
            .prop_map(move |((prompt, schema, input), output, (task, source, extra_inner, extra_outer), (order, odd, edit), edits)| {
                // The rarer escapes JSON allows: `\/` and `\u`.
                let literal = |s: &str| {
                    let quoted = serde_json::to_string(s).unwrap();
                    if odd { quoted.replace('/', "\\/").replace('é', "\\u00e9") } else { quoted }
                };
                let list_of = |l: &[String]| format!("[{}]", l.iter().map(|m| literal(m)).collect::<Vec<_>>().join(", "));
                let mut inner = Vec::new();
                inner.extend(prompt.map(|p| member("instruction", literal(&p))));
                inner.extend(schema.map(|l| member("schema", list_of(&l))));
                inner.extend(input.map(|t| member("input", literal(&t))));
                inner.extend((!extra_inner.is_empty()).then(|| member(extra_inner, literal("x"))));
                let output = shuffled(output.iter().map(|(k, l)| member(k, list_of(l))).collect(), order);
                let mut outer = vec![member("instruction", literal(&shuffled(inner, order / 7))), member("output", literal(&output))];
                outer.extend(task.map(|t| member("task", literal(&t))));
                outer.extend(source.map(|t| member("source", literal(&t))));
                outer.extend((!extra_outer.is_empty()).then(|| member(extra_outer, literal("NER"))));
                let mut bytes = shuffled(outer, order / 49).into_bytes();
                let edits = if edit { edits } else { Vec::new() };
                for (at, insert) in &edits {
                    let i = at.index(bytes.len() + 1);
                    if insert.is_empty() && i < bytes.len() { bytes.remove(i); } else { bytes.splice(i..i, insert.bytes()); }
                }
                (bytes, edits.is_empty() && !odd)
            })
    }

    #[test]
    fn the_record_generator_reaches_the_scanner() {
        use proptest::strategy::{Strategy, ValueTree};
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let (mut scanned, mut clean, mut escaped) = (0, 0, 0);
        for _ in 0..2000 {
            let (bytes, is_clean) = arbitrary_record().new_tree(&mut runner).unwrap().current();
            clean += usize::from(is_clean);
            if scan_agrees(&bytes) {
                scanned += 1;
                escaped += usize::from(bytes.windows(4).any(|w| w == br#"\\\""#));
            }
        }
        assert!(scanned > 200 && escaped > 50 && clean > scanned / 2, "scanned {scanned}, with escaped quotes {escaped}, clean {clean}");
    }

    proptest::proptest! {
        #[test]
        fn the_scanner_never_reads_a_record_otherwise_than_serde_json((bytes, _clean) in arbitrary_record()) {
            scan_agrees(&bytes);
        }


        /// Random sentences and answers drawn from them, split over records: every record is
        /// accounted for and every mention is placed or reported.
        #[test]
        fn counts_balance_and_mentions_are_accounted(
            words in proptest::collection::vec(proptest::sample::select(vec!["a", "b", "青", "Ab", "c-d"]), 1..12),
            picks in proptest::collection::vec((0usize..12, 1usize..3, 0usize..3), 0..8),
            mode in proptest::sample::select(vec![MergeMode::Consecutive, MergeMode::Global, MergeMode::None]),
        ) {
            let text = words.join(" ");
            let labels = ["p", "q", "r"];
            let mut lines = Vec::new();
            for (start, len, label) in &picks {
                let mention = words.iter().skip(*start % words.len()).take(*len).copied().collect::<Vec<_>>().join(" ");
                lines.push(record("s", &[labels[*label]], &text, &[(labels[*label], &[mention.as_str()])]));
                lines.push(r#"{"task": "RE", "instruction": "{}", "output": "{}"}"#.to_string());
            }
            let reader = IepileReader { merge: mode, ..Default::default() };
            let s = read_with(&reader, &lines.join("\n"));
            // However the file is cut into units, merging gives the same samples and counts.
            for cut in [1, 2, 3] {
                let c = read_cut(&reader, &lines.join("\n"), cut);
                proptest::prop_assert_eq!(&c.samples, &s.samples);
                proptest::prop_assert_eq!(&c.counts, &s.counts);
            }
            proptest::prop_assert_eq!(s.counts.read as usize, lines.len());
            for sample in &s.samples {
                sample.check().unwrap();
                proptest::prop_assert!(sample.unaligned.iter().all(|u| u.reason == "inside_longer_mention"));
            }
        }
    }
}
