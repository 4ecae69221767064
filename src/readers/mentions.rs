//! What the offset-free readers (IEPile, Pile-NER) share: per-label answers, merging records
//! that repeat one passage, and turning merged answers into spans with [`crate::align`].
//!
//! A format reader parses each raw record of a unit into a [`Parsed`] value;
//! [`parse_unit`] folds the unit's records with the same `(dataset, text)` into one
//! [`Passage`] according to the [`MergeMode`] and aligns the runs that are complete. Runs
//! that may continue in the neighbouring units are left [`Open`] and stitched by the
//! ingest driver, in unit order, with a [`Stitcher`]; the output therefore never depends
//! on how the file was cut or on the thread count. Every record is counted once: as written
//! (the first record of a sample), `merged` (a later record folded into it), skipped or
//! quarantined.

use super::json_stream::{RawRecord, SplitError};
use super::{FileContext, Part, ReadError, Sink, Unit, UnitBody};
use crate::align::{align, AlignOptions};
use crate::model::{QuarantineRecord, Sample, SourceFormat, Unaligned};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hash, Hasher};
use std::str::FromStr;

/// Skip reason for records folded into an earlier record's sample.
pub const MERGED: &str = "merged";
/// Note: samples built from more than one record.
pub const NOTE_MERGED_SAMPLES: &str = "merge:samples_from_several_records";
/// Note: records that went into those samples (first records included).
pub const NOTE_MERGED_RECORDS: &str = "merge:records_in_merged_samples";

/// Which records that repeat a passage become one sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
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

/// `(label, mention)` pairs, grouped by label in the order the labels were answered: the
/// input of [`align`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answers {
    pairs: Vec<(String, String)>,
}

impl Answers {
    /// Adds the answer for `label`. When the label was answered before (a type asked twice,
    /// or two merged records asking the same type) the lists are united so that each mention
    /// keeps its largest multiplicity.
    pub fn add(&mut self, label: &str, mentions: Vec<String>) {
        let Some(last) = self.pairs.iter().rposition(|(l, _)| l == label) else {
            self.pairs.extend(mentions.into_iter().map(|m| (label.to_string(), m)));
            return;
        };
        let mut have: HashMap<&str, usize> = HashMap::new();
        for (_, m) in self.pairs.iter().filter(|(l, _)| l == label) {
            *have.entry(m).or_default() += 1;
        }
        let mut extra = Vec::new();
        for m in mentions {
            match have.get_mut(m.as_str()) {
                Some(n) if *n > 0 => *n -= 1,
                _ => extra.push((label.to_string(), m)),
            }
        }
        self.pairs.splice(last + 1..last + 1, extra);
    }

    /// True when there is no mention at all.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The pairs, label by label in answer order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }
}

/// One passage with its answers, not yet aligned: a record, or several merged records.
/// The sample itself is built only when the passage is finished, so a record that merges
/// into an earlier one costs no sample.
#[derive(Debug, Clone, Default)]
pub struct Passage {
    /// 0-based index of the (first) record in the file: the record index of the sample id.
    pub index: u64,
    /// The dataset when it is not the file's (IEPile's `source`).
    pub dataset: Option<String>,
    /// The passage text.
    pub text: String,
    /// The labels asked, in order, negatives included.
    pub label_set: Vec<String>,
    /// Answers that could not be parsed, reported as they came.
    pub unaligned: Vec<Unaligned>,
    /// Source extras for the sample's `meta`, in insertion order, each key once
    /// ([`Passage::set_meta`]). A plain list: most passages merge into an earlier one and
    /// are dropped, and a map per record cost an allocation or two more than the list.
    pub meta: Vec<(&'static str, serde_json::Value)>,
    /// The answers to align.
    pub answers: Answers,
    /// Things tolerated while parsing, for [`crate::report::Counts::note`].
    pub notes: BTreeMap<String, u64>,
    /// How many records this passage holds.
    pub records: u64,
}

impl Passage {
    /// A passage of one record: record `index` of its file, with `text`.
    pub fn new(index: u64, text: String) -> Passage {
        Passage { index, text, records: 1, ..Passage::default() }
    }

    /// Counts one tolerated event.
    pub fn note(&mut self, what: &str) {
        match self.notes.get_mut(what) {
            Some(n) => *n += 1,
            None => {
                self.notes.insert(what.to_string(), 1);
            }
        }
    }

    /// Sets meta `key` (replacing an earlier value of it).
    pub fn set_meta(&mut self, key: &'static str, value: serde_json::Value) {
        match self.meta.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => *v = value,
            None => self.meta.push((key, value)),
        }
    }

    /// Adds `label` to the label set unless it is there already.
    pub fn ask(&mut self, label: &str) {
        if !self.label_set.iter().any(|l| l == label) {
            self.label_set.push(label.to_string());
        }
    }

    /// [`Passage::ask`] for a label the caller owns: no copy is made.
    pub fn ask_owned(&mut self, label: String) {
        if !self.label_set.contains(&label) {
            self.label_set.push(label);
        }
    }

    /// Whether `other` repeats this passage's text in the same dataset.
    fn same_passage(&self, other: &Passage) -> bool {
        self.text == other.text && self.dataset == other.dataset
    }

    /// Folds a later record of the same passage into this one: label sets and answers are
    /// united, unparsable answers and notes kept, meta keys of the first record win.
    fn absorb(&mut self, other: Passage) {
        for label in other.label_set {
            self.ask_owned(label);
        }
        let mut pairs = other.answers.pairs.into_iter().peekable();
        while let Some((label, first)) = pairs.next() {
            let mut mentions = vec![first];
            while let Some((_, m)) = pairs.next_if(|(l, _)| *l == label) {
                mentions.push(m);
            }
            self.answers.add(&label, mentions);
        }
        self.unaligned.extend(other.unaligned);
        for (k, v) in other.notes {
            *self.notes.entry(k).or_default() += v;
        }
        for (k, v) in other.meta {
            if !self.meta.iter().any(|(have, _)| *have == k) {
                self.meta.push((k, v));
            }
        }
        self.records += other.records;
    }

    /// Builds the sample (id, dataset, split and language from `ctx` unless the passage has
    /// its own dataset), aligns the answers, and returns it with the notes to count.
    pub fn finish(self, ctx: &FileContext, format: SourceFormat, options: &AlignOptions) -> (Sample, BTreeMap<String, u64>) {
        let Passage { index, dataset, text, label_set, unaligned, meta, answers, mut notes, records } = self;
        let dataset = dataset.unwrap_or_else(|| ctx.dataset.clone());
        let id = format!("{}/{}/{}:{}", dataset, ctx.split, ctx.stem, index);
        let lang = ctx.lang.lang_for(&text);
        let mut sample = Sample::new(id, dataset, format, ctx.split.clone(), lang, text);
        sample.label_set = label_set;
        sample.unaligned = unaligned;
        if !answers.is_empty() {
            let alignment = align(&sample.text, answers.pairs(), options);
            sample.entities = alignment.entities;
            sample.unaligned.extend(alignment.unaligned);
            for (k, v) in alignment.notes {
                *notes.entry(k).or_default() += v;
            }
        }
        sample.meta = meta.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        if records > 1 {
            sample.meta.insert("merged_records".into(), records.into());
        }
        (sample, notes)
    }
}

/// What a format reader makes of one raw record.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // parsed a batch at a time; a box would cost an allocation per record
pub enum Parsed {
    /// A record that contributes a passage.
    Passage(Passage),
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
#[derive(Debug)]
pub struct Merger {
    mode: MergeMode,
    /// Consecutive: the open run (at most one). Global: every passage of the file so far.
    open: Vec<Passage>,
    /// Global: text hash → indices into `open` with that hash.
    by_hash: HashMap<u64, Vec<usize>>,
    hasher: std::collections::hash_map::RandomState,
    /// Passages that can no longer grow, in output order.
    ready: Vec<Passage>,
    /// Records folded into an earlier passage since the last [`Merger::take_merged`].
    merged: u64,
}

impl Merger {
    /// A merger for one file.
    pub fn new(mode: MergeMode) -> Merger {
        Merger { mode, open: Vec::new(), by_hash: HashMap::new(), hasher: Default::default(), ready: Vec::new(), merged: 0 }
    }

    fn hash(&self, p: &Passage) -> u64 {
        let mut h = self.hasher.build_hasher();
        p.dataset.hash(&mut h);
        p.text.hash(&mut h);
        h.finish()
    }

    /// Takes one passage; counts it as merged when it folds into another.
    pub fn push(&mut self, passage: Passage) {
        match self.mode {
            MergeMode::None => self.ready.push(passage),
            MergeMode::Consecutive => match self.open.last_mut() {
                Some(open) if open.same_passage(&passage) => {
                    open.absorb(passage);
                    self.merged += 1;
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
                        self.merged += 1;
                    }
                    None => {
                        slot.push(self.open.len());
                        self.open.push(passage);
                    }
                }
            }
        }
    }

    /// Records merged since the last call.
    pub fn take_merged(&mut self) -> u64 {
        std::mem::take(&mut self.merged)
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

/// Passages of a unit that may still merge with those of other units: the driver hands
/// them to a [`Stitcher`] in unit order.
///
/// Consecutive merging: `head` is the unit's first run (at most one passage), `tail` its
/// last run when that is another one (the runs between are finished in the unit's
/// [`Part::samples`], which come after `head` and before `tail`). Global merging: `head`
/// holds every passage of the unit, unmerged.
#[derive(Debug, Default)]
pub struct Open {
    /// Passages before the unit's samples.
    pub head: Vec<Passage>,
    /// The run after them, if the unit has more than one.
    pub tail: Option<Passage>,
}

/// A finished sample with the notes to count and the number of records it holds.
pub type Finished = (Sample, BTreeMap<String, u64>, u64);

/// Aligns `passages` (in parallel) into finished samples, keeping their order.
pub fn finish_all(passages: Vec<Passage>, ctx: &FileContext, format: SourceFormat) -> Vec<Finished> {
    let options = AlignOptions::default();
    passages
        .into_par_iter()
        .map(|p| {
            let n = p.records;
            let (sample, notes) = p.finish(ctx, format, &options);
            (sample, notes, n)
        })
        .collect()
}

/// Writes finished samples to `sink` in order, counting for each its records (`read`; all
/// but the first also `merged`), its notes and merges. Passage records are counted here,
/// when their sample is written, so that a run stitched across units (or dropped because
/// another shard owns it) is counted exactly once.
pub fn emit(finished: Vec<Finished>, sink: &mut dyn Sink) -> Result<(), ReadError> {
    let (mut samples, mut records) = (0, 0);
    for (sample, notes, n) in finished {
        let counts = sink.counts();
        counts.read += n;
        counts.skip(MERGED, n.saturating_sub(1));
        for (k, v) in notes {
            counts.note(&k, v);
        }
        if n > 1 {
            samples += 1;
            records += n;
        }
        sink.sample(sample)?;
    }
    sink.counts().note(NOTE_MERGED_SAMPLES, samples);
    sink.counts().note(NOTE_MERGED_RECORDS, records);
    Ok(())
}

/// Parses the records of one unit with a format's record parser: skipped and quarantined
/// records are counted at once; passages are merged inside the unit per `mode`, runs that
/// cannot reach another unit are aligned into samples, and the rest is left [`Open`].
pub fn parse_unit<F>(unit: &Unit, format: SourceFormat, mode: MergeMode, parse: F) -> Part
where
    F: Fn(&RawRecord) -> Parsed,
{
    let ctx = &unit.file.ctx;
    let mut part = Part::default();
    let UnitBody::Records(records) = &unit.body else { return part };
    let mut passages = Vec::with_capacity(records.len());
    part.samples.reserve(records.len());
    for r in records {
        let parsed = match r {
            Ok(raw) => parse(raw),
            Err(e) => Parsed::Quarantined(Box::new(e.quarantine(ctx))),
        };
        match parsed {
            Parsed::Passage(p) => passages.push(p),
            Parsed::Skipped(reason) => {
                part.counts.read += 1;
                part.counts.skip(&reason, 1);
            }
            Parsed::Quarantined(q) => {
                part.counts.read += 1;
                part.quarantined.push(*q);
            }
        }
    }
    let finished = match mode {
        MergeMode::None => passages,
        MergeMode::Global => {
            part.open = Some(Open { head: passages, tail: None });
            Vec::new()
        }
        MergeMode::Consecutive => {
            let mut merger = Merger::new(mode);
            for p in passages {
                merger.push(p);
            }
            let mut runs = merger.finish().into_iter();
            let head: Vec<Passage> = runs.next().into_iter().collect();
            let mut body: Vec<Passage> = runs.collect();
            let tail = body.pop();
            part.open = Some(Open { head, tail });
            body
        }
    };
    let options = AlignOptions::default();
    let finished: Vec<Finished> = finished
        .into_iter()
        .map(|p| {
            let n = p.records;
            let (sample, notes) = p.finish(ctx, format, &options);
            (sample, notes, n)
        })
        .collect();
    // Writing into a `Part` cannot fail.
    let _ = emit(finished, &mut part);
    part
}

/// The edges of a unit another shard owns, under consecutive merging: its first run (parsed
/// until a different passage starts) and its last passage, which is all that decides how
/// the neighbouring units' runs stitch. Nothing is counted: the owner counts the unit.
pub fn edge_unit<F>(unit: &Unit, parse: F) -> Part
where
    F: Fn(&RawRecord) -> Parsed,
{
    let UnitBody::Records(records) = &unit.body else { return Part::default() };
    let passage = |r: &Result<RawRecord, SplitError>| match r {
        Ok(raw) => match parse(raw) {
            Parsed::Passage(p) => Some(p),
            _ => None,
        },
        Err(_) => None,
    };
    let mut head: Option<Passage> = None;
    let mut head_end = 0;
    let mut more = false;
    for (i, r) in records.iter().enumerate() {
        let Some(p) = passage(r) else { continue };
        match &mut head {
            None => head = Some(p),
            Some(h) if h.same_passage(&p) => h.absorb(p),
            Some(_) => {
                more = true;
                break;
            }
        }
        head_end = i;
    }
    let tail = if more { records[head_end + 1..].iter().rev().find_map(passage) } else { None };
    Part { open: Some(Open { head: head.into_iter().collect(), tail }), ..Part::default() }
}

/// Merges the [`Open`] passages of a file's units, in unit order, into final passages:
/// the ordered writer's half of [`MergeMode`].
///
/// With `--shard`, a run that crosses units belongs to the shard owning the unit it starts
/// in: that shard absorbs the records of the run's continuation from units it does not own
/// (it sees their [`edge_unit`]), and the other shards drop their part of it. Every record
/// is so counted by exactly one shard and the union of the shards' samples is the unsharded
/// output. Global merging spans a whole file, so it shards by file.
#[derive(Debug)]
pub struct Stitcher {
    mode: MergeMode,
    /// Consecutive: the run still open, and whether this shard owns it.
    open: Option<(Passage, bool)>,
    /// Global: every passage of the file so far.
    global: Merger,
}

impl Stitcher {
    /// A stitcher for one file.
    pub fn new(mode: MergeMode) -> Stitcher {
        Stitcher { mode, open: None, global: Merger::new(MergeMode::Global) }
    }

    /// Takes the `head` of a unit (owned by this shard or not); returns the passages that
    /// became final, in order.
    pub fn head(&mut self, head: Vec<Passage>, owned: bool) -> Vec<Passage> {
        match self.mode {
            MergeMode::None => head,
            MergeMode::Global => {
                for p in head {
                    self.global.push(p);
                }
                Vec::new()
            }
            MergeMode::Consecutive => {
                let mut out = Vec::new();
                for p in head {
                    match &mut self.open {
                        Some((open, open_owned)) if open.same_passage(&p) => {
                            if *open_owned {
                                open.absorb(p);
                            }
                        }
                        _ => {
                            out.extend(self.close());
                            self.open = Some((p, owned));
                        }
                    }
                }
                out
            }
        }
    }

    /// Ends the open run (the unit has more after its head); returns it if this shard owns it.
    pub fn close(&mut self) -> Option<Passage> {
        self.open.take().filter(|(_, owned)| *owned).map(|(p, _)| p)
    }

    /// Opens the `tail` run of a unit.
    pub fn tail(&mut self, tail: Passage, owned: bool) {
        debug_assert!(self.open.is_none(), "close() comes before tail()");
        self.open = Some((tail, owned));
    }

    /// Ends the file: every passage still open becomes final.
    pub fn finish(&mut self) -> Vec<Passage> {
        let mut out: Vec<Passage> = self.close().into_iter().collect();
        out.extend(self.global.finish());
        out
    }
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
    passage.unaligned.push(Unaligned { label: label.to_string(), text: answer.to_string(), reason: reason.to_string() });
    passage.note(&format!("unaligned:{reason}"));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::readers::LangPolicy;
    use std::path::Path;

    fn passage(text: &str, label: &str, mentions: &[&str]) -> Passage {
        let mut p = Passage::new(0, text.to_string());
        p.ask(label);
        p.answers.add(label, mentions.iter().map(|m| m.to_string()).collect());
        p
    }

    #[test]
    fn answers_for_a_label_asked_twice_unite_by_multiplicity() {
        let mut a = Answers::default();
        a.add("x", vec!["a".into(), "a".into(), "b".into()]);
        a.add("y", vec!["z".into()]);
        a.add("x", vec!["a".into(), "c".into(), "c".into()]);
        let got: Vec<_> = a.pairs().iter().map(|(l, m)| (l.as_str(), m.as_str())).collect();
        assert_eq!(got, vec![("x", "a"), ("x", "a"), ("x", "b"), ("x", "c"), ("x", "c"), ("y", "z")]);
    }

    #[test]
    fn merge_modes() {
        let run = |mode| {
            let mut m = Merger::new(mode);
            for (t, l) in [("A", "x"), ("A", "y"), ("B", "x"), ("A", "z")] {
                m.push(passage(t, l, &[]));
            }
            let merged = m.take_merged();
            let out: Vec<(String, Vec<String>)> = m.finish().into_iter().map(|p| (p.text, p.label_set)).collect();
            (out, merged)
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
        let ctx = FileContext::derive(Path::new("/x/d_train.json"), SourceFormat::PileNer, None, None, &LangPolicy::Auto);
        let mut m = Merger::new(MergeMode::Consecutive);
        m.push(passage("Robert Allenby won", "person", &["Robert Allenby"]));
        let mut second = passage("Robert Allenby won", "person", &["Allenby"]);
        second.index = 1;
        m.push(second);
        let (s, notes) = m.finish().pop().unwrap().finish(&ctx, SourceFormat::PileNer, &AlignOptions::default());
        assert_eq!((s.id.as_str(), s.dataset.as_str(), s.split.as_str()), ("d/train/d_train:0", "d", "train"));
        assert_eq!(s.entities.len(), 1);
        assert_eq!(s.unaligned[0].reason, "inside_longer_mention");
        assert_eq!(s.meta["merged_records"], 2);
        assert_eq!(notes["unaligned:inside_longer_mention"], 1);
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
