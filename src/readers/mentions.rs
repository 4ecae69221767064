//! What the offset-free readers (IEPile, Pile-NER) share: per-label answers, merging records
//! that repeat one passage, and turning merged answers into spans with [`crate::align`].
//!
//! A format reader parses each raw record into a [`Parsed`] value (in parallel, a batch at a
//! time); [`drive`] feeds them in file order through a [`Merger`], which folds records with
//! the same `(dataset, text)` into one [`Passage`] according to the [`MergeMode`], aligns the
//! finished passages (in parallel again) and hands the samples to the sink in order. Output
//! therefore never depends on the thread count. Every record is counted once: as written (the
//! first record of a sample), `merged` (a later record folded into it), skipped or quarantined.

use super::json_stream::{JsonRecords, RawRecord, SplitError};
use super::{FileContext, ReadError, Sink};
use crate::align::{align, AlignOptions};
use crate::io::IoError;
use crate::model::{QuarantineRecord, Sample, Unaligned};
use crate::report::Counts;
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hash, Hasher};
use std::io::BufRead;
use std::str::FromStr;

/// Skip reason for records folded into an earlier record's sample.
pub const MERGED: &str = "merged";
/// Note: samples built from more than one record.
pub const NOTE_MERGED_SAMPLES: &str = "merge:samples_from_several_records";
/// Note: records that went into those samples (first records included).
pub const NOTE_MERGED_RECORDS: &str = "merge:records_in_merged_samples";

/// Records handled per parallel batch: enough to keep every core busy, few enough that
/// memory stays bounded whatever the input size.
const BATCH_RECORDS: usize = 4096;

/// Which records that repeat a passage become one sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MergeMode {
    /// Runs of consecutive records with the same `(dataset, text)` (constant memory).
    #[default]
    Consecutive,
    /// All records of a file with the same `(dataset, text)`; samples are written when the
    /// file ends, in order of first appearance, so memory grows with the distinct texts.
    Global,
    /// One sample per record.
    None,
}

impl MergeMode {
    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            MergeMode::Consecutive => "consecutive",
            MergeMode::Global => "global",
            MergeMode::None => "none",
        }
    }
}

impl FromStr for MergeMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [MergeMode::Consecutive, MergeMode::Global, MergeMode::None]
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| format!("unknown merge mode `{s}`; expected consecutive, global or none"))
    }
}

impl std::fmt::Display for MergeMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Mention lists per label, in the order the labels were answered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answers {
    labels: Vec<(String, Vec<String>)>,
}

impl Answers {
    /// Adds the answer for `label`. When the label was already answered (a type asked twice,
    /// or two merged records asking the same type) the lists are united so that each mention
    /// keeps its largest multiplicity, and `true` is returned.
    pub fn add(&mut self, label: &str, mentions: Vec<String>) -> bool {
        match self.labels.iter_mut().find(|(l, _)| l == label) {
            None => {
                self.labels.push((label.to_string(), mentions));
                false
            }
            Some((_, existing)) => {
                let mut have: HashMap<&str, usize> = HashMap::new();
                for m in existing.iter() {
                    *have.entry(m).or_default() += 1;
                }
                let mut extra = Vec::new();
                for m in mentions {
                    match have.get_mut(m.as_str()) {
                        Some(n) if *n > 0 => *n -= 1,
                        _ => extra.push(m),
                    }
                }
                existing.extend(extra);
                true
            }
        }
    }

    /// True when no label has a mention.
    pub fn is_empty(&self) -> bool {
        self.labels.iter().all(|(_, m)| m.is_empty())
    }

    /// `(label, mention)` pairs for [`align`], label by label in answer order.
    pub fn pairs(&self) -> Vec<(String, String)> {
        self.labels.iter().flat_map(|(l, ms)| ms.iter().map(move |m| (l.clone(), m.clone()))).collect()
    }

    /// Mentions given per label, counted (for tests and reports).
    pub fn counts(&self) -> BTreeMap<&str, usize> {
        self.labels.iter().map(|(l, m)| (l.as_str(), m.len())).collect()
    }
}

/// One passage with its answers, not yet aligned: a record, or several merged records.
#[derive(Debug, Clone)]
pub struct Passage {
    /// The sample so far: id (of the first record), dataset, split, lang, text, label set,
    /// meta and answers that could not be parsed (in `unaligned`); no entities yet.
    pub sample: Sample,
    /// The answers to align.
    pub answers: Answers,
    /// Things tolerated while parsing, for [`Counts::note`].
    pub notes: BTreeMap<String, u64>,
    /// How many records this passage holds.
    pub records: u64,
}

impl Passage {
    /// A passage of one record.
    pub fn new(sample: Sample) -> Passage {
        Passage { sample, answers: Answers::default(), notes: BTreeMap::new(), records: 1 }
    }

    /// Counts one tolerated event.
    pub fn note(&mut self, what: &str) {
        *self.notes.entry(what.to_string()).or_default() += 1;
    }

    /// Adds `label` to the label set unless it is there already.
    pub fn ask(&mut self, label: &str) {
        if !self.sample.label_set.iter().any(|l| l == label) {
            self.sample.label_set.push(label.to_string());
        }
    }

    /// Whether `other` repeats this passage's text in the same dataset.
    fn same_passage(&self, other: &Passage) -> bool {
        self.sample.text == other.sample.text && self.sample.dataset == other.sample.dataset
    }

    /// Folds a later record of the same passage into this one: label sets and answers are
    /// united, unparsable answers and notes kept, meta keys of the first record win.
    fn absorb(&mut self, other: Passage) {
        for label in &other.sample.label_set {
            self.ask(label);
        }
        for (label, mentions) in other.answers.labels {
            self.answers.add(&label, mentions);
        }
        self.sample.unaligned.extend(other.sample.unaligned);
        for (k, v) in other.notes {
            *self.notes.entry(k).or_default() += v;
        }
        for (k, v) in other.sample.meta {
            self.sample.meta.entry(k).or_insert(v);
        }
        self.records += other.records;
    }

    /// Aligns the answers and returns the finished sample with the notes to count.
    pub fn finish(mut self, options: &AlignOptions) -> (Sample, BTreeMap<String, u64>) {
        if !self.answers.is_empty() {
            let alignment = align(&self.sample.text, &self.answers.pairs(), options);
            self.sample.entities = alignment.entities;
            self.sample.unaligned.extend(alignment.unaligned);
            for (k, v) in alignment.notes {
                *self.notes.entry(k).or_default() += v;
            }
        }
        if self.records > 1 {
            self.sample.meta.insert("merged_records".into(), self.records.into());
            *self.notes.entry(NOTE_MERGED_SAMPLES.into()).or_default() += 1;
            *self.notes.entry(NOTE_MERGED_RECORDS.into()).or_default() += self.records;
        }
        (self.sample, self.notes)
    }
}

/// What a format reader makes of one raw record.
#[derive(Debug)]
pub enum Parsed {
    /// A record that contributes a passage.
    Passage(Box<Passage>),
    /// A record deliberately not read, counted under this reason (`skipped_task:RE`).
    Skipped(String),
    /// A record that could not be read.
    Quarantined(Box<QuarantineRecord>),
}

impl Parsed {
    /// A quarantined record of `ctx` at `raw`.
    pub fn bad(ctx: &FileContext, raw: &RawRecord, line: u64, reason: &str, message: impl Into<String>) -> Parsed {
        Parsed::Quarantined(Box::new(ctx.quarantine(Some(line), Some(raw.index), reason, message, &raw.lossy())))
    }
}

/// Folds passages according to a [`MergeMode`]; see the module docs.
pub struct Merger {
    mode: MergeMode,
    /// Consecutive: the open run (at most one). Global: every passage of the file so far.
    open: Vec<Passage>,
    /// Global: text hash → indices into `open` with that hash.
    by_hash: HashMap<u64, Vec<usize>>,
    hasher: std::collections::hash_map::RandomState,
    /// Passages that can no longer grow, in output order.
    ready: Vec<Passage>,
}

impl Merger {
    /// A merger for one file.
    pub fn new(mode: MergeMode) -> Merger {
        Merger { mode, open: Vec::new(), by_hash: HashMap::new(), hasher: Default::default(), ready: Vec::new() }
    }

    fn hash(&self, p: &Passage) -> u64 {
        let mut h = self.hasher.build_hasher();
        p.sample.dataset.hash(&mut h);
        p.sample.text.hash(&mut h);
        h.finish()
    }

    /// Takes one passage; counts it as `merged` in `counts` when it folds into another.
    pub fn push(&mut self, passage: Passage, counts: &mut Counts) {
        match self.mode {
            MergeMode::None => self.ready.push(passage),
            MergeMode::Consecutive => match self.open.last_mut() {
                Some(open) if open.same_passage(&passage) => {
                    open.absorb(passage);
                    counts.skip(MERGED, 1);
                }
                _ => {
                    self.ready.append(&mut self.open);
                    self.open.push(passage);
                }
            },
            MergeMode::Global => {
                let h = self.hash(&passage);
                let slot = self.by_hash.entry(h).or_default();
                match slot.iter().copied().find(|&i| self.open[i].same_passage(&passage)) {
                    Some(i) => {
                        self.open[i].absorb(passage);
                        counts.skip(MERGED, 1);
                    }
                    None => {
                        slot.push(self.open.len());
                        self.open.push(passage);
                    }
                }
            }
        }
    }

    /// Passages that are complete, in output order.
    pub fn take_ready(&mut self) -> Vec<Passage> {
        std::mem::take(&mut self.ready)
    }

    /// Ends the file: every open passage becomes ready.
    pub fn finish(&mut self) -> Vec<Passage> {
        self.ready.append(&mut self.open);
        self.by_hash.clear();
        self.take_ready()
    }
}

/// Aligns `passages` in parallel and writes them to `sink` in order.
fn emit(passages: Vec<Passage>, options: &AlignOptions, sink: &mut dyn Sink) -> Result<(), ReadError> {
    let finished: Vec<(Sample, BTreeMap<String, u64>)> = passages.into_par_iter().map(|p| p.finish(options)).collect();
    for (sample, notes) in finished {
        for (k, v) in notes {
            sink.counts().note(&k, v);
        }
        sink.sample(sample)?;
    }
    Ok(())
}

/// Runs a format's record parser over `input`: splits records, parses each batch in
/// parallel with `parse`, merges per `mode`, aligns and writes. Counts every record.
pub fn drive<F>(ctx: &FileContext, input: &mut dyn BufRead, mode: MergeMode, sink: &mut dyn Sink, parse: F) -> Result<(), ReadError>
where
    F: Fn(&RawRecord) -> Parsed + Sync,
{
    let options = AlignOptions::default();
    let mut records = JsonRecords::new(input);
    let mut merger = Merger::new(mode);
    loop {
        let batch: Vec<Result<RawRecord, SplitError>> = records.by_ref().take(BATCH_RECORDS).collect();
        if batch.is_empty() {
            break;
        }
        let parsed: Vec<Parsed> = batch
            .into_par_iter()
            .map(|r| match r {
                Ok(raw) => parse(&raw),
                Err(e) => Parsed::Quarantined(Box::new(split_error(ctx, e))),
            })
            .collect();
        for p in parsed {
            sink.counts().read += 1;
            match p {
                Parsed::Passage(p) => merger.push(*p, sink.counts()),
                Parsed::Skipped(reason) => sink.counts().skip(&reason, 1),
                Parsed::Quarantined(q) => sink.quarantine(*q)?,
            }
        }
        emit(merger.take_ready(), &options, sink)?;
    }
    emit(merger.finish(), &options, sink)?;
    if records.bom {
        sink.counts().note("bom", 1);
    }
    if let Some(e) = records.take_io_error() {
        return Err(IoError::new(&ctx.path, e).into());
    }
    Ok(())
}

fn split_error(ctx: &FileContext, e: SplitError) -> QuarantineRecord {
    ctx.quarantine(Some(e.line), Some(e.index), e.reason, e.message, &String::from_utf8_lossy(&e.bytes))
}

/// Which syntax a mention list was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListSyntax {
    /// A JSON array of strings.
    Json,
    /// A Python `repr` of a list of strings (`['a', "b's"]`).
    PythonRepr,
}

/// Parses an answer that should be a JSON list of strings, accepting a Python-repr list
/// when it parses completely and unambiguously (single- or double-quoted strings, Python
/// escapes, optional trailing comma). Numbers in a JSON list are taken as their text.
/// `None` when neither reading works.
pub fn parse_mention_list(answer: &str) -> Option<(Vec<String>, ListSyntax)> {
    if let Ok(list) = serde_json::from_str::<Vec<String>>(answer) {
        return Some((list, ListSyntax::Json));
    }
    if let Ok(values) = serde_json::from_str::<Vec<serde_json::Value>>(answer) {
        return values
            .into_iter()
            .map(|v| match v {
                serde_json::Value::String(s) => Some(s),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect::<Option<Vec<String>>>()
            .map(|l| (l, ListSyntax::Json));
    }
    python_list(answer).map(|l| (l, ListSyntax::PythonRepr))
}

/// A Python-repr list of string literals, or `None` unless the whole input is one.
fn python_list(s: &str) -> Option<Vec<String>> {
    let mut chars = s.trim().chars().peekable();
    let skip_ws = |c: &mut std::iter::Peekable<std::str::Chars<'_>>| {
        while c.peek().is_some_and(|c| c.is_whitespace()) {
            c.next();
        }
    };
    if chars.next()? != '[' {
        return None;
    }
    let mut out = Vec::new();
    loop {
        skip_ws(&mut chars);
        match chars.peek()? {
            ']' => {
                chars.next();
                break;
            }
            '\'' | '"' => out.push(python_string(&mut chars)?),
            _ => return None,
        }
        skip_ws(&mut chars);
        match chars.next()? {
            ',' => continue,
            ']' => break,
            _ => return None,
        }
    }
    chars.next().is_none().then_some(out)
}

/// One Python string literal (the iterator is at its opening quote).
fn python_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<String> {
    let quote = chars.next()?;
    let mut out = String::new();
    loop {
        match chars.next()? {
            c if c == quote => return Some(out),
            '\n' => return None,
            '\\' => match chars.next()? {
                '\\' => out.push('\\'),
                '\'' => out.push('\''),
                '"' => out.push('"'),
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                'x' => out.push(hex_char(chars, 2)?),
                'u' => out.push(hex_char(chars, 4)?),
                'U' => out.push(hex_char(chars, 8)?),
                // Python keeps unknown escapes verbatim.
                other => {
                    out.push('\\');
                    out.push(other);
                }
            },
            c => out.push(c),
        }
    }
}

fn hex_char(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, digits: usize) -> Option<char> {
    let hex: String = (0..digits).map(|_| chars.next()).collect::<Option<String>>()?;
    char::from_u32(u32::from_str_radix(&hex, 16).ok()?)
}

/// Adds an answer that could not be parsed as one `unaligned` entry (label, raw answer,
/// `reason`), so it is reported rather than lost.
pub fn unparsable_answer(passage: &mut Passage, label: &str, answer: &str, reason: &str) {
    passage.sample.unaligned.push(Unaligned { label: label.to_string(), text: answer.to_string(), reason: reason.to_string() });
    passage.note(&format!("unaligned:{reason}"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SourceFormat;

    fn passage(text: &str, label: &str, mentions: &[&str]) -> Passage {
        let mut p = Passage::new(Sample::new("d/train/f:0", "d", SourceFormat::PileNer, "train", "en", text));
        p.ask(label);
        p.answers.add(label, mentions.iter().map(|m| m.to_string()).collect());
        p
    }

    #[test]
    fn answers_for_a_label_asked_twice_unite_by_multiplicity() {
        let mut a = Answers::default();
        assert!(!a.add("x", vec!["a".into(), "a".into(), "b".into()]));
        assert!(a.add("x", vec!["a".into(), "c".into(), "c".into()]));
        assert_eq!(a.pairs().iter().map(|p| p.1.as_str()).collect::<Vec<_>>(), vec!["a", "a", "b", "c", "c"]);
    }

    #[test]
    fn merge_modes() {
        let run = |mode| {
            let mut m = Merger::new(mode);
            let mut c = Counts::new("t");
            for (t, l) in [("A", "x"), ("A", "y"), ("B", "x"), ("A", "z")] {
                m.push(passage(t, l, &[]), &mut c);
            }
            let out: Vec<(String, Vec<String>)> =
                m.finish().into_iter().map(|p| (p.sample.text, p.sample.label_set)).collect();
            (out, c.skipped.get(MERGED).copied().unwrap_or(0))
        };
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(run(MergeMode::Consecutive), (vec![("A".into(), s(&["x", "y"])), ("B".into(), s(&["x"])), ("A".into(), s(&["z"]))], 1));
        assert_eq!(run(MergeMode::Global), (vec![("A".into(), s(&["x", "y", "z"])), ("B".into(), s(&["x"]))], 2));
        assert_eq!(run(MergeMode::None).0.len(), 4);
        assert_eq!("global".parse::<MergeMode>(), Ok(MergeMode::Global));
        assert!("all".parse::<MergeMode>().is_err());
    }

    #[test]
    fn merged_passages_align_once_and_say_how_many_records() {
        let mut m = Merger::new(MergeMode::Consecutive);
        let mut c = Counts::new("t");
        m.push(passage("Robert Allenby won", "person", &["Robert Allenby"]), &mut c);
        m.push(passage("Robert Allenby won", "person", &["Allenby"]), &mut c);
        let (s, notes) = m.finish().pop().unwrap().finish(&AlignOptions::default());
        assert_eq!(s.entities.len(), 1);
        assert_eq!(s.unaligned[0].reason, "inside_longer_mention");
        assert_eq!(s.meta["merged_records"], 2);
        assert_eq!((notes[NOTE_MERGED_SAMPLES], notes[NOTE_MERGED_RECORDS]), (1, 2));
    }

    #[test]
    fn mention_lists_json_and_python_repr() {
        assert_eq!(parse_mention_list(r#"["a", "b"]"#), Some((vec!["a".into(), "b".into()], ListSyntax::Json)));
        assert_eq!(parse_mention_list("[1999, \"x\"]"), Some((vec!["1999".into(), "x".into()], ListSyntax::Json)));
        assert_eq!(
            parse_mention_list(r#"['a', "b's", 'c\'d', 'caf\xe9',]"#),
            Some((vec!["a".into(), "b's".into(), "c'd".into(), "café".into()], ListSyntax::PythonRepr))
        );
        assert_eq!(parse_mention_list("[]"), Some((vec![], ListSyntax::Json)));
        for bad in ["['a' 'b']", "['a'] x", "[None]", "a, b", "{\"a\": 1}", "['unterminated]", "[\"a\", null]"] {
            assert_eq!(parse_mention_list(bad), None, "{bad}");
        }
    }
}
