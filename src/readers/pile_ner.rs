//! Pile-NER / UniversalNER conversation reader: one JSON array (or JSON Lines) of
//! `{id, conversations: [{from, value}]}`.
//!
//! The first human turn `Text: <passage>` gives the passage; the model's acknowledgement
//! follows; then each (human question, gpt answer) pair asks one type —
//! `What describes <type> in the text?` — and answers a JSON list of mentions in a string.
//! Both layouts become one sample per passage: the multi-turn training layout (several
//! types per conversation) directly, the one-type-per-record evaluation layout by merging
//! consecutive records of the same passage ([`MergeMode`]). Types answered `[]` stay in
//! `label_set` as negatives. The definition variant asks with a definition instead of a
//! type name; such questions (not in the template, or naming more than
//! [`DEFINITION_WORDS`] words) are kept verbatim in `meta.questions`.
//!
//! SLIMER's per-(passage, type) derivative (`{doc_question_pairID, tagName, input, output}`)
//! is read as the same evaluation layout. GLiNER's `tokenized_text`/`ner` files are not
//! Pile-NER and are quarantined as such.
//!
//! Tolerated and counted, never fatal: Python-repr answers (`['x']`, parsed when
//! unambiguous), unparsable answers (kept in `unaligned` as `answer_unparsable`), mentions
//! not in the passage (aligner), a type asked twice (answers united), a question without an
//! answer, an answer without a question. A record without the `Text:` turn is quarantined.
//!
//! Conversation records of the usual shape are read by the [`super::json_scan`] scanner, the
//! rest by serde_json; the two read a record alike.

use super::json_scan::{scan_or_parse, set_once, Scan};
use super::json_stream::{error_line, JsonUnits, RawRecord};
use super::mentions::{edge_unit, parse_mention_list, parse_unit, unparsable_answer, ListSyntax, MergeMode, Parsed, Passage};
use super::{open_digested, FileContext, FileState, Naming, Part, ReadError, Reader, Unit, Units};
use crate::model::SourceFormat;
use serde::de::IgnoredAny;
use serde::Deserialize;
use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

/// A templated question naming more words than this is taken for a definition.
pub const DEFINITION_WORDS: usize = 6;

/// Reads Pile-NER conversation files. See the module docs.
#[derive(Debug, Clone, Default)]
pub struct PileNerReader {
    /// Dataset, split and language choices.
    pub naming: Naming,
    /// How records that repeat a passage are merged.
    pub merge: MergeMode,
}

/// A conversation record, or a SLIMER / GLiNER record (told apart by their fields).
#[derive(Deserialize, Debug)]
struct Record<'a> {
    id: Option<serde_json::Value>,
    #[serde(borrow)]
    conversations: Option<Vec<Turn<'a>>>,
    #[serde(rename = "tagName")]
    tag_name: Option<String>,
    input: Option<String>,
    output: Option<String>,
    #[serde(rename = "doc_question_pairID")]
    pair_id: Option<String>,
    tokenized_text: Option<IgnoredAny>,
}

/// One turn, borrowed from the record's bytes unless it holds escapes.
#[derive(Deserialize, Debug)]
struct Turn<'a> {
    #[serde(borrow)]
    from: Cow<'a, str>,
    #[serde(borrow)]
    value: Cow<'a, str>,
}

/// A conversation record `{id, conversations}` in the usual shape, read with [`Scan`];
/// `None` leaves the record to serde_json (see [`super::json_scan`] for why the two read
/// alike).
fn scan_record(bytes: &[u8]) -> Option<Record<'_>> {
    let mut scan = Scan::from_bytes(bytes)?;
    let (mut id, mut conversations) = (None, None);
    scan.object(|key, s| match key {
        "id" => set_once(&mut id, serde_json::Value::String(s.string()?.into_owned())),
        "conversations" => {
            let mut turns = Vec::new();
            s.array(|s| {
                turns.push(scan_turn(s)?);
                Some(())
            })?;
            set_once(&mut conversations, turns)
        }
        _ => None,
    })?;
    scan.end()?;
    let conversations = Some(conversations?);
    Some(Record { id, conversations, tag_name: None, input: None, output: None, pair_id: None, tokenized_text: None })
}

/// Whether the scanner reads `bytes` (a Pile-NER record) as serde_json does
/// ([`super::json_scan::matches_serde`]).
pub fn scan_matches_serde(bytes: &[u8]) -> Result<bool, String> {
    super::json_scan::matches_serde(bytes, scan_record)
}

fn scan_turn<'a>(s: &mut Scan<'a>) -> Option<Turn<'a>> {
    let (mut from, mut value) = (None, None);
    s.object(|key, s| match key {
        "from" => set_once(&mut from, s.string()?),
        "value" => set_once(&mut value, s.string()?),
        _ => None,
    })?;
    Some(Turn { from: from?, value: value? })
}

fn is_human(from: &str) -> bool {
    matches!(from, "human" | "user")
}

fn is_model(from: &str) -> bool {
    matches!(from, "gpt" | "assistant" | "model")
}

/// The type a question asks for, and whether the question is a definition (kept in meta).
pub fn question_label(question: &str) -> (&str, bool) {
    let q = question.trim();
    match q.strip_prefix("What describes ").and_then(|r| r.strip_suffix(" in the text?")) {
        Some(label) => (label.trim(), label.split_whitespace().count() > DEFINITION_WORDS),
        None => (q, true),
    }
}

impl PileNerReader {
    fn parse_record(&self, ctx: &FileContext, raw: &RawRecord) -> Parsed {
        let record: Record = match scan_or_parse(&raw.bytes, scan_record) {
            Ok(r) => r,
            Err(e) => {
                let reason = if e.is_data() { "bad_record" } else { "json_syntax" };
                let msg = format!("expected {{id, conversations: [{{from, value}}]}}: {e}");
                return Parsed::bad(ctx, raw, error_line(raw.line, &e), reason, msg);
            }
        };
        if let Some(turns) = &record.conversations {
            return self.conversation(ctx, raw, record.id.as_ref(), turns);
        }
        if let (Some(tag), Some(input), Some(output)) = (&record.tag_name, record.input, &record.output) {
            let mut p = Passage::new(raw.index, input);
            if let Some(id) = record.pair_id {
                p.set_meta("source_id", id.into());
            }
            Self::answer(&mut p, tag, output, &mut Vec::new());
            return Parsed::Passage(p);
        }
        if record.tokenized_text.is_some() {
            return Parsed::bad(ctx, raw, raw.line, "gliner_format", "a GLiNER `tokenized_text`/`ner` record, not the Pile-NER conversation format");
        }
        Parsed::bad(ctx, raw, raw.line, "unknown_variant", "expected {id, conversations: [{from, value}]}")
    }

    fn conversation(&self, ctx: &FileContext, raw: &RawRecord, id: Option<&serde_json::Value>, turns: &[Turn]) -> Parsed {
        let passage = turns
            .first()
            .filter(|t| is_human(&t.from))
            .and_then(|t| t.value.strip_prefix("Text:"))
            .map(|rest| rest.strip_prefix(' ').unwrap_or(rest));
        let Some(text) = passage else {
            return Parsed::bad(ctx, raw, raw.line, "missing_text_turn", "the first turn must be the human `Text: <passage>` turn");
        };
        let mut p = Passage::new(raw.index, text.to_string());
        if let Some(id) = id {
            let id = id.as_str().map(str::to_string).unwrap_or_else(|| id.to_string());
            p.set_meta("source_id", id.into());
        }
        let mut asked: Vec<&str> = Vec::new();
        let mut questions: Vec<serde_json::Value> = Vec::new();
        let mut i = 1;
        while i < turns.len() {
            let turn = &turns[i];
            if !is_human(&turn.from) {
                // The acknowledgement after the passage; any other stray answer is counted.
                if !(i == 1 && is_model(&turn.from)) {
                    p.note(if is_model(&turn.from) { "answer_without_question" } else { "unknown_speaker" });
                }
                i += 1;
                continue;
            }
            let (label, definition) = question_label(&turn.value);
            if definition {
                p.note("definition_question");
                questions.push(turn.value.as_ref().into());
            }
            match turns.get(i + 1).filter(|a| is_model(&a.from)) {
                Some(answer) => {
                    Self::answer(&mut p, label, &answer.value, &mut asked);
                    i += 2;
                }
                None => {
                    p.note("question_without_answer");
                    i += 1;
                }
            }
        }
        if asked.is_empty() {
            p.note("no_questions");
        }
        if !questions.is_empty() {
            p.set_meta("questions", questions.into());
        }
        Parsed::Passage(p)
    }

    /// Records one (type, answer) pair; `asked` tracks types already asked in this record.
    fn answer<'l>(p: &mut Passage, label: &'l str, answer: &str, asked: &mut Vec<&'l str>) {
        if asked.contains(&label) {
            p.note("type_asked_twice");
        } else {
            asked.push(label);
        }
        p.ask(label);
        match parse_mention_list(answer) {
            Some((mentions, syntax)) => {
                if syntax == ListSyntax::PythonRepr {
                    p.note("answer_python_repr");
                }
                p.answers.add(label, mentions);
            }
            None => unparsable_answer(p, label, answer, "answer_unparsable"),
        }
    }
}

impl Reader for PileNerReader {
    fn format(&self) -> SourceFormat {
        SourceFormat::PileNer
    }

    fn wants(&self, path: &Path) -> bool {
        matches!(path.extension().and_then(|e| e.to_str()), Some("json" | "jsonl"))
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
        Ok(parse_unit(unit, SourceFormat::PileNer, self.merge, |raw| self.parse_record(&unit.file.ctx, raw)))
    }

    fn merge(&self) -> MergeMode {
        self.merge
    }

    fn edges(&self, unit: &Unit) -> Option<Part> {
        Some(edge_unit(unit, |raw| self.parse_record(&unit.file.ctx, raw)))
    }
}

impl PileNerReader {
    /// The state of input file `path`.
    pub fn file_state(&self, path: &Path) -> Arc<FileState> {
        FileState::new(self.naming.context(path, SourceFormat::PileNer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::readers::VecSink;

    /// When the scanner reads a record, serde_json reads it too, to the same values.
    fn scan_agrees(bytes: &[u8]) -> bool {
        scan_matches_serde(bytes).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(bytes)))
    }

    /// The raw records of a file, as the splitter cuts them.
    fn raw_records(path: &Path) -> Vec<Vec<u8>> {
        let file = PileNerReader::default().file_state(path);
        let units = JsonUnits::new(file, std::io::Cursor::new(std::fs::read(path).unwrap()), Vec::new());
        let mut out = Vec::new();
        for unit in units {
            if let crate::readers::UnitBody::Records(records) = unit.unwrap().body {
                out.extend(records.into_iter().flatten().map(|r| r.bytes.to_vec()));
            }
        }
        out
    }

    #[test]
    fn the_scanner_reads_the_fixture_records_as_serde_json_does() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/pile-ner");
        for (file, conversations) in [
            ("CrossNER_science_head.json", true),
            ("mit-restaurant_head.json", true),
            ("SLIMER_pileNER_FalseDef_validation_head.jsonl", false),
            ("GLiNER_examples_sample_data_NOT_pile-ner.json", false),
        ] {
            let records = raw_records(&dir.join(file));
            let scanned = records.iter().filter(|r| scan_agrees(r)).count();
            assert!(!records.is_empty() && (scanned == records.len()) == conversations, "{file}: {scanned} of {} scanned", records.len());
        }
    }

    proptest::proptest! {
        #[test]
        fn the_scanner_never_reads_a_record_otherwise_than_serde_json(
            turns in proptest::collection::vec((
                proptest::sample::select(vec!["human", "gpt", "x\"y", "other"]),
                proptest::collection::vec(proptest::sample::select(vec!["Text: a", "人物", "[\"b\"]", "\\", "\n", "\u{1}", "/"]), 0..4),
                0usize..12,
            ), 0..4),
            id in proptest::option::of(proptest::sample::select(vec!["\"7\"", "7", "null", "\"a\\/b\""])),
            edit in proptest::option::of((proptest::arbitrary::any::<proptest::sample::Index>(), proptest::sample::select(vec!["", "\\", "\"", "u", ",", "}", "]", " "]))),
        ) {
            // Each turn: its members in either order, now and then one missing or repeated.
            let turn = |(from, pieces, shape): &(&str, Vec<&str>, usize)| {
                let (f, v) = (format!("\"from\": {}", serde_json::to_string(from).unwrap()), format!("\"value\": {}", serde_json::to_string(&pieces.concat()).unwrap()));
                match shape { 0 => format!("{{{v}}}"), 1 => format!("{{{v}, {f}}}"), 2 => format!("{{{f}, {f}, {v}}}"), _ => format!("{{{f}, {v}}}") }
            };
            let conversations = format!("\"conversations\": [{}]", turns.iter().map(turn).collect::<Vec<_>>().join(", "));
            let record = match id { Some(id) => format!("{{\"id\": {id}, {conversations}}}"), None => format!("{{{conversations}}}") };
            let mut bytes = record.into_bytes();
            if let Some((at, insert)) = edit {
                let i = at.index(bytes.len() + 1);
                if insert.is_empty() && i < bytes.len() { bytes.remove(i); } else { bytes.splice(i..i, insert.bytes()); }
            }
            scan_agrees(&bytes);
        }
    }

    fn read(input: &str) -> VecSink {
        let reader = PileNerReader::default();
        let file = reader.file_state(Path::new("/nonexistent/pile_train.json"));
        let units = JsonUnits::new(file, std::io::Cursor::new(input.as_bytes().to_vec()), Vec::new());
        let sink = crate::ingest::read_units(&reader, Box::new(units)).unwrap();
        sink.counts.check().unwrap();
        sink
    }

    fn conv(id: &str, text: &str, qa: &[(&str, &str)]) -> serde_json::Value {
        let mut turns = vec![
            serde_json::json!({"from": "human", "value": format!("Text: {text}")}),
            serde_json::json!({"from": "gpt", "value": "I've read this text."}),
        ];
        for (q, a) in qa {
            turns.push(serde_json::json!({"from": "human", "value": q}));
            turns.push(serde_json::json!({"from": "gpt", "value": a}));
        }
        serde_json::json!({"id": id, "conversations": turns})
    }

    fn ask(t: &str) -> String {
        format!("What describes {t} in the text?")
    }

    #[test]
    fn multi_turn_conversation_with_negatives_and_repeats() {
        let (p, o) = (ask("person"), ask("organization"));
        let c = conv("ner_0", "Ann met Ann and Bob", &[(&p, r#"["Ann", "Ann", "Bob"]"#), (&o, "[]")]);
        let s = read(&serde_json::json!([c]).to_string());
        let sample = &s.samples[0];
        assert_eq!(sample.label_set, vec!["person", "organization"]);
        let spans: Vec<_> = sample.entities.iter().map(|e| (e.text.as_str(), e.span.start())).collect();
        assert_eq!(spans, vec![("Ann", 0), ("Ann", 8), ("Bob", 16)]);
        assert_eq!(sample.meta["source_id"], "ner_0");
    }

    #[test]
    fn evaluation_layout_merges_one_type_per_record() {
        let text = "a four star restaurant with a bar";
        let records = [conv("r_0", text, &[(&ask("Amenity"), r#"["bar"]"#)]), conv("r_1", text, &[(&ask("Rating"), "[\"four star\"]")])];
        let s = read(&serde_json::json!(records).to_string());
        assert_eq!(s.samples.len(), 1);
        assert_eq!(s.samples[0].label_set, vec!["Amenity", "Rating"]);
        assert_eq!(s.samples[0].entities.len(), 2);
        assert_eq!((s.counts.read, s.counts.written, s.counts.skipped["merged"]), (2, 1, 1));
    }

    #[test]
    fn tolerates_odd_conversations_and_reports_them() {
        let p = ask("person");
        let turns = serde_json::json!([
            {"from": "human", "value": "Text: Ann and Bob"},
            {"from": "gpt", "value": "I've read this text."},
            {"from": "human", "value": p}, {"from": "gpt", "value": "['Ann']"},
            {"from": "human", "value": p}, {"from": "gpt", "value": "[\"Bob\"]"},
            {"from": "human", "value": ask("place")}, {"from": "gpt", "value": "Paris, I think"},
            {"from": "human", "value": ask("thing")}, {"from": "gpt", "value": "[\"Zed\"]"},
            {"from": "human", "value": ask("dangling")}
        ]);
        let no_text = serde_json::json!({"id": "x", "conversations": [{"from": "human", "value": p}]});
        let input = format!("{}\n{}\n", serde_json::json!({"id": 7, "conversations": turns}), no_text);
        let s = read(&input);
        let sample = &s.samples[0];
        assert_eq!(sample.entities.iter().map(|e| e.text.as_str()).collect::<Vec<_>>(), vec!["Ann", "Bob"]);
        assert_eq!(sample.label_set, vec!["person", "place", "thing"], "a question without answer is not a negative");
        let unaligned: Vec<_> = sample.unaligned.iter().map(|u| (u.text.as_str(), u.reason.as_str())).collect();
        assert_eq!(unaligned, vec![("Paris, I think", "answer_unparsable"), ("Zed", "not_found")]);
        for note in ["answer_python_repr", "type_asked_twice", "question_without_answer", "unaligned:answer_unparsable", "unaligned:not_found"] {
            assert_eq!(s.counts.notes.get(note), Some(&1), "{note}");
        }
        assert_eq!(sample.meta["source_id"], "7");
        assert_eq!(s.quarantined[0].reason, "missing_text_turn");
        assert_eq!(s.quarantined[0].line, Some(2));
    }

    #[test]
    fn definition_questions_are_kept_in_meta() {
        let q = "What describes a substance made of two or more chemical elements in the text?";
        let s = read(&serde_json::json!([conv("d", "Water is H2O", &[(q, "[\"H2O\"]")])]).to_string());
        assert_eq!(s.samples[0].meta["questions"][0], q);
        assert_eq!(s.samples[0].entities[0].label, "a substance made of two or more chemical elements");
        assert_eq!(question_label("Which entities are people?"), ("Which entities are people?", true));
        assert_eq!(question_label("What describes chemical compound in the text?"), ("chemical compound", false));
    }

    #[test]
    fn gliner_records_are_not_pile_ner() {
        let s = read(r#"[{"tokenized_text": ["a"], "ner": [[0, 0, "x"]]}]"#);
        assert_eq!(s.quarantined[0].reason, "gliner_format");
    }
}
