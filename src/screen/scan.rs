//! The rule-based screen itself (B2NER, seed 002 App. A.2): the mentions of a source type
//! looked for in the target dataset's texts, each occurrence classified against the
//! target type.
//!
//! One Aho-Corasick automaton per target dataset holds the distinct mentions of every
//! source type paired with one of its types; it runs once over each of the dataset's texts
//! (overlapping matches, so `New York` and `New York City` are both found). A match must
//! start and end on token boundaries ([`crate::script::is_token_boundary`]: between words
//! of space-delimited text, anywhere beside Han or kana). Each occurrence is then:
//! - inside a longer annotated entity of the target → not checked ([`Kind::InsideLonger`]:
//!   a flat dataset rightly leaves it unannotated);
//! - an entity of exactly that span of the target type → [`Kind::Consistent`], of another
//!   type → [`Kind::WrongCategory`];
//! - overlapping an entity whose boundaries differ → [`Kind::PartiallyExtracted`];
//! - otherwise → [`Kind::NotExtracted`].
//!
//! Samples are scanned in parallel; every tally merges by sums and by keeping the
//! occurrences with the smallest seeded keys, so the result does not depend on how the
//! work was split (same bytes at any thread count).

use super::corpus::{Corpus, Ent, ScreenSample};
use super::labels::DirectedPair;
use super::ScreenError;
use crate::script::is_token_boundary;
use aho_corasick::{AhoCorasick, MatchKind};
use rayon::prelude::*;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

/// Samples per unit of parallel work.
const CHUNK: usize = 256;

/// What an occurrence of a source mention is in the target dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// Annotated on exactly that span with the target type.
    Consistent,
    /// Annotated on exactly that span with another type.
    WrongCategory,
    /// Not annotated at all.
    NotExtracted,
    /// Overlapping an annotated entity with other boundaries.
    PartiallyExtracted,
    /// Inside a longer annotated entity: skipped, not checked.
    InsideLonger,
}

impl Kind {
    /// The checked kinds, in column order.
    pub const CHECKED: [Kind; 4] = [Kind::Consistent, Kind::WrongCategory, Kind::NotExtracted, Kind::PartiallyExtracted];
    /// The error kinds (conflicts).
    pub const ERRORS: [Kind; 3] = [Kind::WrongCategory, Kind::NotExtracted, Kind::PartiallyExtracted];

    /// The name used in tables and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Consistent => "consistent",
            Kind::WrongCategory => "wrong_category",
            Kind::NotExtracted => "not_extracted",
            Kind::PartiallyExtracted => "partially_extracted",
            Kind::InsideLonger => "inside_longer",
        }
    }

    /// Whether the occurrence is a conflict.
    pub fn is_error(self) -> bool {
        Kind::ERRORS.contains(&self)
    }
}

/// One checked occurrence, as kept for the conflicts table and the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Occurrence {
    /// The seeded sampling key (smallest keys are kept).
    pub key: u64,
    /// The sample of the target dataset.
    pub sample: u32,
    /// Byte range of the occurrence in the sample text.
    pub start: u32,
    /// One past its last byte.
    pub end: u32,
    /// The mention (pattern index of the target dataset's automaton).
    pub mention: u32,
    /// What it is.
    pub kind: Kind,
    /// The target entity that decided the kind (exact span or overlapping), if any.
    pub found: Option<u32>,
}

/// Keeps the `cap` occurrences with the smallest keys.
#[derive(Debug, Clone, Default)]
pub struct Reservoir {
    cap: usize,
    heap: BinaryHeap<Occurrence>,
}

impl Reservoir {
    /// An empty reservoir of capacity `cap`.
    pub fn new(cap: usize) -> Reservoir {
        Reservoir { cap, heap: BinaryHeap::new() }
    }

    /// Offers one occurrence.
    pub fn offer(&mut self, o: Occurrence) {
        if self.heap.len() < self.cap {
            self.heap.push(o);
        } else if self.heap.peek().is_some_and(|top| o < *top) {
            self.heap.pop();
            self.heap.push(o);
        }
    }

    /// Offers everything `other` kept.
    pub fn absorb(&mut self, other: Reservoir) {
        for o in other.heap {
            self.offer(o);
        }
    }

    /// The kept occurrences, sorted by key, leaving the reservoir as it is.
    pub fn sorted(&self) -> Vec<Occurrence> {
        self.heap.clone().into_sorted_vec()
    }

    /// How many are kept.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

/// What was found for one directed pair.
#[derive(Debug, Clone, Default)]
pub struct PairTally {
    /// Occurrences by kind (checked kinds and [`Kind::InsideLonger`]).
    pub kinds: BTreeMap<Kind, u64>,
    /// Per mention (pattern index): occurrences checked and conflicts.
    pub mentions: HashMap<u32, (u64, u64)>,
    /// A seeded sample of the checked occurrences, for the conflicts table.
    pub rows: Reservoir,
    /// A seeded sample of each error kind, for the report's examples.
    pub examples: BTreeMap<Kind, Reservoir>,
}

impl PairTally {
    fn new(rows: usize, examples: usize) -> PairTally {
        let examples = Kind::ERRORS.iter().map(|&k| (k, Reservoir::new(examples))).collect();
        PairTally { rows: Reservoir::new(rows), examples, ..PairTally::default() }
    }

    /// Occurrences of `kind`.
    pub fn count(&self, kind: Kind) -> u64 {
        self.kinds.get(&kind).copied().unwrap_or(0)
    }

    /// Occurrences checked (every kind but inside-longer).
    pub fn matched(&self) -> u64 {
        Kind::CHECKED.iter().map(|&k| self.count(k)).sum()
    }

    /// Conflicting occurrences.
    pub fn conflicts(&self) -> u64 {
        Kind::ERRORS.iter().map(|&k| self.count(k)).sum()
    }

    /// Conflicts / matched; `None` when nothing was matched.
    pub fn ratio(&self) -> Option<f64> {
        let m = self.matched();
        (m > 0).then(|| self.conflicts() as f64 / m as f64)
    }

    /// Occurrence rows kept for the conflicts table.
    pub fn rows_kept(&self) -> usize {
        self.rows.len()
    }

    /// The kept occurrence rows, by sampling key.
    pub fn rows_sorted(&self) -> Vec<Occurrence> {
        self.rows.sorted()
    }

    /// The kept examples of error kind `kind`, by sampling key.
    pub fn examples_of(&self, kind: Kind) -> Vec<Occurrence> {
        self.examples.get(&kind).map(Reservoir::sorted).unwrap_or_default()
    }

    fn record(&mut self, o: Occurrence) {
        *self.kinds.entry(o.kind).or_default() += 1;
        if o.kind == Kind::InsideLonger {
            return;
        }
        let m = self.mentions.entry(o.mention).or_default();
        m.0 += 1;
        if o.kind.is_error() {
            m.1 += 1;
            if let Some(r) = self.examples.get_mut(&o.kind) {
                r.offer(o);
            }
        }
        self.rows.offer(o);
    }

    fn absorb(&mut self, other: PairTally) {
        for (k, n) in other.kinds {
            *self.kinds.entry(k).or_default() += n;
        }
        for (m, (a, b)) in other.mentions {
            let e = self.mentions.entry(m).or_default();
            e.0 += a;
            e.1 += b;
        }
        self.rows.absorb(other.rows);
        for (k, r) in other.examples {
            self.examples.entry(k).or_default().absorb(r);
        }
    }
}

/// The screen of one target dataset: its mentions to look for and the tallies.
#[derive(Debug, Clone, Default)]
pub struct TargetScan {
    /// The distinct mentions searched for (pattern index → text).
    pub patterns: Vec<String>,
    /// One tally per directed pair, by pair index.
    pub tallies: BTreeMap<usize, PairTally>,
}

/// How much to keep.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Mentions shorter than this many characters are not searched.
    pub min_chars: usize,
    /// Occurrence rows kept per pair.
    pub rows: usize,
    /// Examples kept per pair and error kind.
    pub examples: usize,
}

/// Screens every directed pair whose target type is in dataset `d`; returns the scan and
/// how many distinct mentions were too short to search. Fails only when the mentions are
/// too many for one search automaton.
pub fn scan_target(corpus: &Corpus, pairs: &[DirectedPair], d: usize, limits: Limits) -> Result<(TargetScan, u64), ScreenError> {
    let here: Vec<usize> = (0..pairs.len()).filter(|&p| corpus.types[pairs[p].target].dataset == d).collect();
    if here.is_empty() {
        return Ok((TargetScan::default(), 0));
    }
    // source type → [(pair index, target type)]
    let mut by_source: BTreeMap<usize, Vec<(usize, u32)>> = BTreeMap::new();
    for &p in &here {
        by_source.entry(pairs[p].source).or_default().push((p, pairs[p].target as u32));
    }
    let (patterns, sources, short) = patterns_of(corpus, &by_source, limits.min_chars);
    let mut scan = TargetScan { patterns, tallies: BTreeMap::new() };
    if scan.patterns.is_empty() {
        return Ok((scan, short));
    }
    let automaton = AhoCorasick::builder()
        .match_kind(MatchKind::Standard)
        .build(&scan.patterns)
        .map_err(|e| ScreenError::TooManyMentions {
            dataset: corpus.datasets[d].name.clone(),
            patterns: scan.patterns.len(),
            message: e.to_string(),
        })?;
    let samples = &corpus.datasets[d].samples;
    let fresh = || here.iter().map(|&p| (p, PairTally::new(limits.rows, limits.examples))).collect::<BTreeMap<_, _>>();
    let tallies = samples
        .par_chunks(CHUNK)
        .enumerate()
        .fold(fresh, |mut acc, (c, chunk)| {
            for (i, s) in chunk.iter().enumerate() {
                let sample = (c * CHUNK + i) as u32;
                scan_sample(&automaton, s, sample, &sources, &by_source, &mut acc);
            }
            acc
        })
        .reduce(fresh, |mut a, b| {
            for (p, t) in b {
                a.entry(p).or_default().absorb(t);
            }
            a
        });
    scan.tallies = tallies;
    Ok((scan, short))
}

/// The distinct mentions of the source types (sorted), the source types of each, and how
/// many distinct mentions were too short.
fn patterns_of(corpus: &Corpus, by_source: &BTreeMap<usize, Vec<(usize, u32)>>, min_chars: usize) -> (Vec<String>, Vec<Vec<usize>>, u64) {
    let mut all: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    let mut short = 0;
    for &source in by_source.keys() {
        for mention in corpus.types[source].mentions.keys() {
            let trimmed = mention.trim();
            if trimmed.is_empty() || trimmed.chars().count() < min_chars {
                short += 1;
                continue;
            }
            all.entry(mention.as_str()).or_default().push(source);
        }
    }
    let patterns = all.keys().map(|m| m.to_string()).collect();
    (patterns, all.into_values().collect(), short)
}

/// Every occurrence of a pattern in one sample, tallied for each pair of its source types.
fn scan_sample(
    automaton: &AhoCorasick,
    s: &ScreenSample,
    sample: u32,
    sources: &[Vec<usize>],
    by_source: &BTreeMap<usize, Vec<(usize, u32)>>,
    tallies: &mut BTreeMap<usize, PairTally>,
) {
    for m in automaton.find_overlapping_iter(&s.text) {
        let (start, end) = (m.start(), m.end());
        if !on_token_boundaries(&s.text, start, end) {
            continue;
        }
        let found = Found::of(&s.entities, start as u32, end as u32);
        let mention = m.pattern().as_u32();
        for source in &sources[m.pattern().as_usize()] {
            for &(p, target) in &by_source[source] {
                let (kind, entity) = found.kind(&s.entities, target);
                let key = occurrence_key(s.key, p, start);
                let o = Occurrence { key, sample, start: start as u32, end: end as u32, mention, kind, found: entity };
                if let Some(t) = tallies.get_mut(&p) {
                    t.record(o);
                }
            }
        }
    }
}

/// Whether `start..end` of `text` begins and ends between tokens.
fn on_token_boundaries(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].chars().next_back();
    let first = text[start..].chars().next();
    let last = text[..end].chars().next_back();
    let after = text[end..].chars().next();
    is_token_boundary(before, first) && is_token_boundary(last, after)
}

/// The seeded sampling key of an occurrence: the sample's key mixed with the pair and the
/// position (SplitMix64's finaliser).
fn occurrence_key(sample_key: u64, pair: usize, start: usize) -> u64 {
    let mut z = sample_key ^ (pair as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (start as u64).wrapping_mul(0xD6E8_FEB8_6659_FD93);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The target entities an occurrence meets, independent of the pair.
#[derive(Debug, Clone, PartialEq)]
enum Found {
    /// Entities on exactly the span (indices).
    Exact(Vec<u32>),
    /// Inside a longer entity.
    Inside,
    /// Overlapping this entity, boundaries differing.
    Partial(u32),
    /// No entity touches it.
    Nothing,
}

impl Found {
    /// Classifies the span `start..end` against the sample's entities (sorted by start).
    fn of(entities: &[Ent], start: u32, end: u32) -> Found {
        let mut exact = Vec::new();
        let mut inside = false;
        let mut partial = None;
        for (i, e) in entities.iter().enumerate() {
            if e.start >= end {
                break;
            }
            if e.end <= start {
                continue;
            }
            if e.start == start && e.end == end {
                exact.push(i as u32);
            } else if e.start <= start && e.end >= end {
                inside = true;
            } else if partial.is_none() {
                partial = Some(i as u32);
            }
        }
        if !exact.is_empty() {
            Found::Exact(exact)
        } else if inside {
            Found::Inside
        } else if let Some(p) = partial {
            Found::Partial(p)
        } else {
            Found::Nothing
        }
    }

    /// The kind for target type `target`, and the entity that decided it.
    fn kind(&self, entities: &[Ent], target: u32) -> (Kind, Option<u32>) {
        match self {
            Found::Exact(list) => match list.iter().find(|&&i| entities[i as usize].ty == target) {
                Some(&i) => (Kind::Consistent, Some(i)),
                None => (Kind::WrongCategory, list.first().copied()),
            },
            Found::Inside => (Kind::InsideLonger, None),
            Found::Partial(i) => (Kind::PartiallyExtracted, Some(*i)),
            Found::Nothing => (Kind::NotExtracted, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ent(start: u32, end: u32, ty: u32) -> Ent {
        Ent { start, end, ty, label: ty }
    }

    #[test]
    fn each_kind_of_occurrence() {
        let ents = [ent(0, 5, 1), ent(10, 20, 2), ent(30, 34, 1)];
        assert_eq!(Found::of(&ents, 0, 5).kind(&ents, 1), (Kind::Consistent, Some(0)));
        assert_eq!(Found::of(&ents, 0, 5).kind(&ents, 2), (Kind::WrongCategory, Some(0)));
        assert_eq!(Found::of(&ents, 12, 15).kind(&ents, 2).0, Kind::InsideLonger);
        assert_eq!(Found::of(&ents, 28, 32).kind(&ents, 1), (Kind::PartiallyExtracted, Some(2)));
        assert_eq!(Found::of(&ents, 29, 40).kind(&ents, 1), (Kind::PartiallyExtracted, Some(2)));
        assert_eq!(Found::of(&ents, 5, 10).kind(&ents, 1), (Kind::NotExtracted, None));
    }

    #[test]
    fn token_boundaries_in_english_and_chinese() {
        assert!(on_token_boundaries("in Paris.", 3, 8));
        assert!(!on_token_boundaries("Parisian", 0, 5));
        assert!(!on_token_boundaries("aParis", 1, 6));
        assert!(on_token_boundaries("我爱北京天安门", 6, 12));
    }

    #[test]
    fn the_reservoir_keeps_the_smallest_keys_in_any_order() {
        let o = |key| Occurrence { key, sample: 0, start: 0, end: 1, mention: 0, kind: Kind::Consistent, found: None };
        let mut a = Reservoir::new(3);
        let mut b = Reservoir::new(3);
        for k in [9, 1, 7, 3, 5] {
            a.offer(o(k));
        }
        for k in [5, 3, 7, 1, 9] {
            b.offer(o(k));
        }
        let keys = |r: Reservoir| r.sorted().iter().map(|o| o.key).collect::<Vec<_>>();
        assert_eq!(keys(a), vec![1, 3, 5]);
        assert_eq!(keys(b), vec![1, 3, 5]);
    }
}
