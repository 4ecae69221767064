//! Mention-to-span alignment: turns the `(label, mention)` answers of offset-free sources
//! (IEPile, Pile-NER, some B2NERD records) into code-point spans of the text.
//!
//! Data enters as the text plus the answer's mention strings in answer order, and leaves as
//! an [`Alignment`]: placed [`Entity`]s whose `text` always equals the slice under their span,
//! the mentions that could not be placed ([`Unaligned`], with a reason code), and counters
//! for the caller's [`crate::report::Counts`]. The function is pure: no I/O, no state, the
//! same inputs give the same output.
//!
//! The rules (issue 4, SPEC §1):
//! - A mention listed `k > 1` times for one label maps its k-th repeat to its k-th
//!   occurrence (not counting occurrences inside a longer mention of the same label);
//!   repeats beyond the occurrences are unaligned (`more_repeats_than_occurrences`).
//! - A mention listed once annotates all of its occurrences, except those overlapping an
//!   already-placed longer mention of the same label (`Allenby` inside `Robert Allenby`).
//!   Longer mentions are placed first, so the result does not depend on the answer order.
//! - Occurrences must sit on token boundaries: a match may not cut a word in two, where
//!   "word" means letters and digits of space-delimited scripts. Han and kana are exempt, so
//!   any substring of Chinese or Japanese text matches (`胡` inside `胡老说`).
//! - When nothing matches verbatim, the mention is tried case-insensitively, then with
//!   whitespace normalised (any run of whitespace matches any other, case-insensitively);
//!   each fallback is counted (`align:fallback_case_insensitive`, `align:fallback_whitespace`).
//! - Otherwise the mention goes to `unaligned` with `not_found` or `not_on_token_boundary`.
//! - Whitespace around a mention is not part of it: it is searched for trimmed (counted as
//!   `align:trimmed_mention`); an empty mention is unaligned as `empty_mention`.
//!
//! Occurrences are found with one `memmem` scan per mention for the few mentions of a
//! typical record, and with one Aho-Corasick automaton over all of them when a record has
//! many (the two agree, see the tests).

use crate::model::{CharIndex, Entity, Span, Unaligned};
use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use std::collections::{BTreeMap, HashMap};

/// Note key: mentions placed only through the case-insensitive fallback.
pub const NOTE_CASE_INSENSITIVE: &str = "align:fallback_case_insensitive";
/// Note key: mentions placed only through the whitespace-normalising fallback.
pub const NOTE_WHITESPACE: &str = "align:fallback_whitespace";
/// Note key: mentions listed with surrounding whitespace, searched for without it.
pub const NOTE_TRIMMED: &str = "align:trimmed_mention";

/// Reason codes used in [`Unaligned::reason`].
pub mod reason {
    /// The mention occurs nowhere in the text, not even with the fallbacks.
    pub const NOT_FOUND: &str = "not_found";
    /// The mention occurs only inside words (`bar` in `barn`).
    pub const NOT_ON_TOKEN_BOUNDARY: &str = "not_on_token_boundary";
    /// Every occurrence lies inside a longer mention of the same label.
    pub const INSIDE_LONGER_MENTION: &str = "inside_longer_mention";
    /// Every occurrence was already placed, with the same label, by another listing
    /// (a fallback match of a mention that is also listed verbatim).
    pub const DUPLICATE_SPAN: &str = "duplicate_span";
    /// The answer repeats the mention more often than it occurs in the text.
    pub const MORE_REPEATS_THAN_OCCURRENCES: &str = "more_repeats_than_occurrences";
    /// The mention is empty or only whitespace.
    pub const EMPTY_MENTION: &str = "empty_mention";
}

/// Which occurrences count as matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Boundaries {
    /// Token boundaries for space-delimited scripts, any position next to Han or kana.
    #[default]
    Auto,
    /// Any substring (for inputs known to be unsegmented).
    Substring,
}

/// How [`align`] matches mentions. The default is what the readers use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlignOptions {
    /// Which occurrences count as matches.
    pub boundaries: Boundaries,
    /// Try the case-insensitive and whitespace-normalising fallbacks.
    pub fallbacks: bool,
    /// From how many distinct mention strings on one Aho-Corasick automaton is used instead
    /// of one `memmem` scan per mention (the results are the same; only speed differs).
    pub automaton_from: usize,
}

impl Default for AlignOptions {
    fn default() -> Self {
        AlignOptions { boundaries: Boundaries::Auto, fallbacks: true, automaton_from: 32 }
    }
}

/// The outcome of aligning one text's mentions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Alignment {
    /// Placed spans (code points, end-exclusive; `text` equals the slice under the span),
    /// ordered by the answer position of their mention, then by position in the text.
    pub entities: Vec<Entity>,
    /// For each entity, the index in the `mentions` argument of the listing that placed it
    /// (its first listing when the mention is repeated).
    pub origins: Vec<usize>,
    /// Listings that could not be placed, one per listing, in answer order.
    pub unaligned: Vec<Unaligned>,
    /// Counters for [`crate::report::Counts::note`]: fallback hits and `unaligned:<reason>`.
    pub notes: BTreeMap<String, u64>,
}

/// What one group got: its index, the spans chosen, and the reason and number of listings
/// that could not be placed.
type Placement = (usize, Vec<Span>, Option<(&'static str, usize)>);

/// One distinct `(label, mention)` pair of an answer.
struct Group<'m> {
    label: &'m str,
    /// The mention as listed (for `unaligned`).
    mention: &'m str,
    /// The mention with surrounding whitespace trimmed: what is searched for.
    needle: &'m str,
    /// How often the answer lists it.
    listed: usize,
    /// Index of its first listing.
    first: usize,
    /// Its length in code points (placement order).
    chars: usize,
}

/// Aligns `mentions` — `(label, mention)` pairs in answer order, where a repeated pair means
/// the k-th occurrence — to spans of `text`. See the module docs for the rules.
///
/// # Example
/// ```
/// use nerprep::align::{align, AlignOptions};
/// let text = "284 Robert Allenby ( Australia ) ... ( Allenby won at first play-off hole )";
/// let mentions = [("person".to_string(), "Robert Allenby".to_string()), ("person".to_string(), "Allenby".to_string())];
/// let a = align(text, &mentions, &AlignOptions::default());
/// let spans: Vec<(u32, u32)> = a.entities.iter().map(|e| (e.span.start(), e.span.end())).collect();
/// assert_eq!(spans, vec![(4, 18), (39, 46)]); // `Allenby` inside `Robert Allenby` is not doubled
/// assert!(a.unaligned.is_empty());
/// ```
pub fn align(text: &str, mentions: &[(String, String)], options: &AlignOptions) -> Alignment {
    let mut out = Alignment::default();
    let groups = group(mentions, &mut out);
    if groups.is_empty() {
        return out;
    }
    let view = TextView::new(text, options.boundaries);
    let (verbatim, of_group) = find_verbatim(&view, &groups, options);
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_by_key(|&g| (std::cmp::Reverse(groups[g].chars), groups[g].first));

    let mut labels: FirstSeen<&str> = FirstSeen::new(groups.len());
    let mut placed: Vec<Vec<Span>> = Vec::new();
    let mut results: Vec<Placement> = Vec::with_capacity(groups.len());
    for g in order {
        let group = &groups[g];
        let fallback;
        let mut occurrences: &[Span] = &verbatim[of_group[g]];
        if occurrences.is_empty() && options.fallbacks {
            fallback = view.fallback_occurrences(group.needle, &mut out.notes);
            occurrences = &fallback;
        }
        let (l, new) = labels.get_or_insert(group.label);
        if new {
            placed.push(Vec::new());
        }
        let same_label = &mut placed[l];
        let (chosen, failure) = choose(group, occurrences, same_label);
        let failure = match failure {
            Some(r) => Some((r, group.listed)),
            None if chosen.is_empty() => {
                let r = if view.text.contains(group.needle) { reason::NOT_ON_TOKEN_BOUNDARY } else { reason::NOT_FOUND };
                Some((r, group.listed))
            }
            None if group.listed > chosen.len() => {
                Some((reason::MORE_REPEATS_THAN_OCCURRENCES, group.listed - chosen.len()))
            }
            None => None,
        };
        same_label.extend(chosen.iter().copied());
        results.push((g, chosen, failure));
    }
    results.sort_by_key(|(g, _, _)| groups[*g].first);
    for (g, chosen, failure) in results {
        let group = &groups[g];
        for span in chosen {
            let mention = view.slice(span);
            out.entities.push(Entity::new(span, group.label, mention));
            out.origins.push(group.first);
        }
        if let Some((why, n)) = failure {
            for _ in 0..n {
                out.unaligned.push(Unaligned { label: group.label.into(), text: group.mention.into(), reason: why.into() });
            }
            *out.notes.entry(format!("unaligned:{why}")).or_default() += n as u64;
        }
    }
    sort_unaligned_by_answer(&mut out, mentions);
    out
}

/// Distinct `(label, mention)` pairs with their multiplicity; empty mentions go straight to
/// `unaligned`.
fn group<'m>(mentions: &'m [(String, String)], out: &mut Alignment) -> Vec<Group<'m>> {
    let mut groups: Vec<Group<'m>> = Vec::new();
    let mut index: FirstSeen<(&str, &str)> = FirstSeen::new(mentions.len());
    for (i, (label, mention)) in mentions.iter().enumerate() {
        if mention.trim().is_empty() {
            out.unaligned.push(Unaligned { label: label.clone(), text: mention.clone(), reason: reason::EMPTY_MENTION.into() });
            *out.notes.entry(format!("unaligned:{}", reason::EMPTY_MENTION)).or_default() += 1;
            continue;
        }
        match index.get_or_insert((label, mention)) {
            (g, false) => groups[g].listed += 1,
            (_, true) => {
                let needle = mention.trim();
                if needle.len() != mention.len() {
                    *out.notes.entry(NOTE_TRIMMED.into()).or_default() += 1;
                }
                groups.push(Group { label, mention, needle, listed: 1, first: i, chars: needle.chars().count() });
            }
        }
    }
    groups
}

/// Puts `unaligned` in the order of the listings they came from (empty mentions were
/// pushed first; everything else per group).
fn sort_unaligned_by_answer(out: &mut Alignment, mentions: &[(String, String)]) {
    if out.unaligned.len() < 2 {
        return;
    }
    let mut first: HashMap<(&str, &str), usize> = HashMap::new();
    for (i, (l, m)) in mentions.iter().enumerate() {
        first.entry((l.as_str(), m.as_str())).or_insert(i);
    }
    let key = |u: &Unaligned| first.get(&(u.label.as_str(), u.text.as_str())).copied().unwrap_or(usize::MAX);
    out.unaligned.sort_by_cached_key(key);
}

/// Picks the occurrences a group annotates, in text order, from its sorted `occurrences`.
/// Returns a reason when occurrences existed but all were covered by other placements.
fn choose(group: &Group<'_>, occurrences: &[Span], same_label: &[Span]) -> (Vec<Span>, Option<&'static str>) {
    let mut chosen: Vec<Span> = Vec::new();
    let (mut inside_longer, mut duplicate) = (false, false);
    for &occ in occurrences {
        if chosen.last().is_some_and(|c| c.overlaps(occ)) {
            continue; // self-overlap (`aa` in `aaa`): keep the leftmost
        }
        if same_label.contains(&occ) {
            duplicate = true;
            continue;
        }
        if same_label.iter().any(|p| p.len() > occ.len() && p.overlaps(occ)) {
            inside_longer = true;
            continue;
        }
        chosen.push(occ);
        if group.listed > 1 && chosen.len() == group.listed {
            break;
        }
    }
    let failure = match (chosen.is_empty(), inside_longer, duplicate) {
        (true, true, _) => Some(reason::INSIDE_LONGER_MENTION),
        (true, false, true) => Some(reason::DUPLICATE_SPAN),
        _ => None,
    };
    (chosen, failure)
}

/// Keys numbered in first-seen order: a linear scan for the handful of keys a typical
/// record has (cheaper than hashing), a hash map beyond that.
struct FirstSeen<K> {
    keys: Vec<K>,
    map: Option<HashMap<K, usize>>,
}

impl<K: Copy + Eq + std::hash::Hash> FirstSeen<K> {
    /// Above this many expected keys a hash map is used.
    const LINEAR_UP_TO: usize = 32;

    fn new(expected: usize) -> Self {
        FirstSeen { keys: Vec::new(), map: (expected > Self::LINEAR_UP_TO).then(HashMap::new) }
    }

    /// The key's number, and whether it was new.
    fn get_or_insert(&mut self, key: K) -> (usize, bool) {
        let next = self.keys.len();
        let found = match &mut self.map {
            Some(map) => *map.entry(key).or_insert(next),
            None => self.keys.iter().position(|k| *k == key).unwrap_or(next),
        };
        if found == next {
            self.keys.push(key);
        }
        (found, found == next)
    }
}

/// Finds the verbatim, boundary-respecting occurrences of every distinct mention string
/// (one string may be listed under several labels); returns them with, per group, the index
/// of its string.
fn find_verbatim(view: &TextView<'_>, groups: &[Group<'_>], options: &AlignOptions) -> (Vec<Vec<Span>>, Vec<usize>) {
    let mut slots: FirstSeen<&str> = FirstSeen::new(groups.len());
    let of_group: Vec<usize> = groups.iter().map(|g| slots.get_or_insert(g.needle).0).collect();
    let distinct = slots.keys;
    let mut found: Vec<Vec<(usize, usize)>> = vec![Vec::new(); distinct.len()];
    let automaton = (distinct.len() >= options.automaton_from)
        .then(|| {
            AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .kind(Some(AhoCorasickKind::ContiguousNFA))
                .build(&distinct)
                .ok()
        })
        .flatten();
    match automaton {
        Some(ac) => {
            for m in ac.find_overlapping_iter(view.text) {
                found[m.pattern().as_usize()].push((m.start(), m.end()));
            }
            for f in &mut found {
                f.sort_unstable();
            }
        }
        None => {
            for (d, mention) in distinct.iter().enumerate() {
                found[d] = find_all(view.text, mention);
            }
        }
    }
    let spans: Vec<Vec<Span>> = found
        .iter()
        .map(|ranges| ranges.iter().filter(|&&(s, e)| view.on_boundaries_bytes(s, e)).filter_map(|&(s, e)| view.span_of_bytes(s, e)).collect())
        .collect();
    (spans, of_group)
}

/// Up to this many bytes of text, [`find_all`] checks the places where the needle's last
/// byte occurs instead of building a `memmem` searcher, whose setup costs more than a
/// sentence's scan.
const SHORT_TEXT: usize = 1024;

/// Every (possibly overlapping) byte range where `needle` occurs in `haystack`, in order.
fn find_all(haystack: &str, needle: &str) -> Vec<(usize, usize)> {
    let (h, n) = (haystack.as_bytes(), needle.as_bytes());
    if let Some(&last) = n.last().filter(|_| h.len() <= SHORT_TEXT) {
        // `i` is where the needle would start if its last byte is the one found.
        let ends = h.get(n.len() - 1..).unwrap_or_default();
        return memchr::memchr_iter(last, ends).filter(|&i| h[i..].starts_with(n)).map(|i| (i, i + n.len())).collect();
    }
    find_all_memmem(haystack, needle)
}

/// [`find_all`] with a `memmem` searcher, for long texts and the empty needle.
fn find_all_memmem(haystack: &str, needle: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let finder = memchr::memmem::Finder::new(needle);
    let step = needle.chars().next().map_or(1, char::len_utf8);
    let mut from = 0;
    while let Some(pos) = haystack.as_bytes().get(from..).and_then(|rest| finder.find(rest)) {
        let start = from + pos;
        out.push((start, start + needle.len()));
        from = start + step;
    }
    out
}

/// Whether a match edge between `before` and `after` (either may be the text's end) is
/// acceptable: it must not split a word, unless one side is Han or kana
/// ([`crate::script::is_token_boundary`]).
fn edge_ok(before: Option<char>, after: Option<char>) -> bool {
    crate::script::is_token_boundary(before, after)
}

/// Folds one character for case-insensitive matching, keeping one char per char so that
/// positions in the folded text are positions in the original.
fn fold(c: char) -> char {
    let mut lower = c.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

/// The text with what matching needs: its code-point index, and (built on first use by a
/// fallback) its characters, folded.
struct TextView<'t> {
    text: &'t str,
    boundaries: Boundaries,
    index: CharIndex,
    folded: std::cell::OnceCell<Vec<char>>,
    /// The original characters (for boundary checks in char space), built with `folded`.
    chars: std::cell::OnceCell<Vec<char>>,
}

impl<'t> TextView<'t> {
    fn new(text: &'t str, boundaries: Boundaries) -> Self {
        TextView { text, boundaries, index: CharIndex::new(text), folded: Default::default(), chars: Default::default() }
    }

    fn chars(&self) -> &[char] {
        self.chars.get_or_init(|| self.text.chars().collect())
    }

    fn folded(&self) -> &[char] {
        self.folded.get_or_init(|| self.chars().iter().copied().map(fold).collect())
    }

    fn span_of_bytes(&self, start: usize, end: usize) -> Option<Span> {
        Span::new(self.index.char_of_byte(start)?, self.index.char_of_byte(end)?).ok()
    }

    fn slice(&self, span: Span) -> &'t str {
        self.index.slice(self.text, span).unwrap_or_default()
    }

    /// Boundary check for a match at byte range `start..end`.
    fn on_boundaries_bytes(&self, start: usize, end: usize) -> bool {
        if self.boundaries == Boundaries::Substring {
            return true;
        }
        let (head, rest) = self.text.split_at(start);
        let (inner, tail) = rest.split_at(end - start);
        edge_ok(head.chars().next_back(), inner.chars().next()) && edge_ok(inner.chars().next_back(), tail.chars().next())
    }

    /// Boundary check for a match at code points `start..end` (`end > start`).
    fn on_boundaries_chars(&self, start: usize, end: usize) -> bool {
        if self.boundaries == Boundaries::Substring {
            return true;
        }
        let c = self.chars();
        let before = start.checked_sub(1).map(|i| c[i]);
        edge_ok(before, Some(c[start])) && edge_ok(Some(c[end - 1]), c.get(end).copied())
    }

    /// Occurrences through the fallbacks, counting the one that hit in `notes`.
    fn fallback_occurrences(&self, mention: &str, notes: &mut BTreeMap<String, u64>) -> Vec<Span> {
        let needle: Vec<char> = mention.chars().map(fold).collect();
        let found = self.find_folded(&needle);
        if !found.is_empty() {
            *notes.entry(NOTE_CASE_INSENSITIVE.into()).or_default() += 1;
            return found;
        }
        let words: Vec<Vec<char>> = mention.split_whitespace().map(|w| w.chars().map(fold).collect()).collect();
        let found = self.find_words(&words);
        if !found.is_empty() {
            *notes.entry(NOTE_WHITESPACE.into()).or_default() += 1;
        }
        found
    }

    fn to_span(start: usize, end: usize) -> Option<Span> {
        Span::new(u32::try_from(start).ok()?, u32::try_from(end).ok()?).ok()
    }

    /// Case-insensitive occurrences of `needle` (already folded), on boundaries.
    fn find_folded(&self, needle: &[char]) -> Vec<Span> {
        let hay = self.folded();
        if needle.is_empty() || needle.len() > hay.len() {
            return Vec::new();
        }
        (0..=hay.len() - needle.len())
            .filter(|&i| hay[i..i + needle.len()] == *needle && self.on_boundaries_chars(i, i + needle.len()))
            .filter_map(|i| Self::to_span(i, i + needle.len()))
            .collect()
    }

    /// Occurrences of `words` (folded) separated by any non-empty runs of whitespace.
    fn find_words(&self, words: &[Vec<char>]) -> Vec<Span> {
        let hay = self.folded();
        let Some(first) = words.first() else { return Vec::new() };
        let mut out = Vec::new();
        for start in 0..hay.len() {
            if !hay[start..].starts_with(first) {
                continue;
            }
            if let Some(end) = Self::match_words_at(hay, start, words)
                && self.on_boundaries_chars(start, end)
                && let Some(span) = Self::to_span(start, end)
            {
                out.push(span);
            }
        }
        out
    }

    fn match_words_at(hay: &[char], start: usize, words: &[Vec<char>]) -> Option<usize> {
        let mut p = start;
        for (i, w) in words.iter().enumerate() {
            if i > 0 {
                let gap = p;
                while p < hay.len() && hay[p].is_whitespace() {
                    p += 1;
                }
                if p == gap {
                    return None;
                }
            }
            if !hay[p..].starts_with(w) {
                return None;
            }
            p += w.len();
        }
        Some(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items.iter().map(|(l, m)| (l.to_string(), m.to_string())).collect()
    }

    fn spans(a: &Alignment) -> Vec<(&str, u32, u32)> {
        a.entities.iter().map(|e| (e.text.as_str(), e.span.start(), e.span.end())).collect()
    }

    fn reasons(a: &Alignment) -> Vec<(&str, &str)> {
        a.unaligned.iter().map(|u| (u.text.as_str(), u.reason.as_str())).collect()
    }

    #[test]
    fn kth_repeat_maps_to_kth_occurrence() {
        let text = "5-oxo-ETE and then 5-oxo-ETE and again 5-oxo-ETE";
        let a = align(text, &pairs(&[("x", "5-oxo-ETE"), ("x", "5-oxo-ETE")]), &AlignOptions::default());
        assert_eq!(spans(&a), vec![("5-oxo-ETE", 0, 9), ("5-oxo-ETE", 19, 28)]);
        assert_eq!(a.origins, vec![0, 0]);
        let a = align("a X b", &pairs(&[("x", "X"), ("x", "X"), ("x", "X")]), &AlignOptions::default());
        assert_eq!(spans(&a), vec![("X", 2, 3)]);
        assert_eq!(reasons(&a), vec![("X", "more_repeats_than_occurrences"), ("X", "more_repeats_than_occurrences")]);
        assert_eq!(a.notes["unaligned:more_repeats_than_occurrences"], 2);
    }

    #[test]
    fn single_listing_annotates_every_occurrence_except_inside_longer_same_label() {
        let text = "Robert Allenby ( Australia ) , Allenby won";
        // Answer order does not matter: the longer mention is placed first either way.
        for order in [[("person", "Allenby"), ("person", "Robert Allenby")], [("person", "Robert Allenby"), ("person", "Allenby")]] {
            let a = align(text, &pairs(&order), &AlignOptions::default());
            let mut got = spans(&a);
            got.sort_by_key(|s| s.1);
            assert_eq!(got, vec![("Robert Allenby", 0, 14), ("Allenby", 31, 38)]);
        }
        // A different label may overlap.
        let a = align(text, &pairs(&[("person", "Robert Allenby"), ("surname", "Allenby")]), &AlignOptions::default());
        assert_eq!(a.entities.len(), 3);
        // Only inside a longer one: unaligned with a reason, not dropped.
        let a = align("Robert Allenby won", &pairs(&[("p", "Robert Allenby"), ("p", "Allenby")]), &AlignOptions::default());
        assert_eq!(reasons(&a), vec![("Allenby", "inside_longer_mention")]);
    }

    #[test]
    fn token_boundaries_for_spaced_text_any_substring_for_cjk() {
        let a = align("a barn and a bar", &pairs(&[("x", "bar")]), &AlignOptions::default());
        assert_eq!(spans(&a), vec![("bar", 13, 16)]);
        let a = align("barn", &pairs(&[("x", "bar")]), &AlignOptions::default());
        assert_eq!(reasons(&a), vec![("bar", "not_on_token_boundary")]);
        let a = align("barn", &pairs(&[("x", "bar")]), &AlignOptions { boundaries: Boundaries::Substring, ..Default::default() });
        assert_eq!(spans(&a), vec![("bar", 0, 3)]);
        let text = "胡老说，当画画疲倦时就到院里去看看";
        let a = align(text, &pairs(&[("人物", "胡")]), &AlignOptions::default());
        assert_eq!(spans(&a), vec![("胡", 0, 1)]);
        let a = align("买了iPhone手机", &pairs(&[("产品", "iPhone")]), &AlignOptions::default());
        assert_eq!(spans(&a), vec![("iPhone", 2, 8)]);
        // Punctuation-led mentions and punctuation neighbours are fine.
        let a = align("plasma membrane -localized (x)", &pairs(&[("x", "-localized"), ("y", "(x)")]), &AlignOptions::default());
        assert_eq!(spans(&a), vec![("-localized", 16, 26), ("(x)", 27, 30)]);
    }

    #[test]
    fn spans_are_code_points() {
        let text = "Zürich 😀 liegt am Zürichsee; Zürich";
        let a = align(text, &pairs(&[("loc", "Zürich")]), &AlignOptions::default());
        assert_eq!(spans(&a), vec![("Zürich", 0, 6), ("Zürich", 29, 35)]);
    }

    #[test]
    fn fallbacks_are_counted_and_keep_the_text_slice() {
        let a = align("The New York Times", &pairs(&[("org", "new york times")]), &AlignOptions::default());
        assert_eq!(spans(&a), vec![("New York Times", 4, 18)]);
        assert_eq!(a.notes[NOTE_CASE_INSENSITIVE], 1);
        let a = align("plasma\n  membrane", &pairs(&[("x", "Plasma membrane")]), &AlignOptions::default());
        assert_eq!(spans(&a), vec![("plasma\n  membrane", 0, 17)]);
        assert_eq!(a.notes[NOTE_WHITESPACE], 1);
        let off = AlignOptions { fallbacks: false, ..Default::default() };
        let a = align("The New York Times", &pairs(&[("org", "new york times")]), &off);
        assert_eq!(reasons(&a), vec![("new york times", "not_found")]);
        // A fallback hit on a span another listing already placed is a duplicate, not a twin.
        let a = align("New York", &pairs(&[("loc", "New York"), ("loc", "new york")]), &AlignOptions::default());
        assert_eq!(spans(&a), vec![("New York", 0, 8)]);
        assert_eq!(reasons(&a), vec![("new york", "duplicate_span")]);
    }

    #[test]
    fn empty_and_missing_mentions_are_reported_in_answer_order() {
        let a = align("abc def", &pairs(&[("x", "zzz"), ("x", " "), ("x", "def")]), &AlignOptions::default());
        assert_eq!(spans(&a), vec![("def", 4, 7)]);
        assert_eq!(reasons(&a), vec![("zzz", "not_found"), (" ", "empty_mention")]);
        assert_eq!(a.origins, vec![2]);
    }

    #[test]
    fn entities_follow_answer_order() {
        let text = "相比之下，青岛海牛队和广州松日队的雨中之战";
        let a = align(text, &pairs(&[("组织机构", "广州松日队"), ("组织机构", "青岛海牛队")]), &AlignOptions::default());
        assert_eq!(spans(&a), vec![("广州松日队", 11, 16), ("青岛海牛队", 5, 10)]);
    }

    /// Texts over a small alphabet (so mentions repeat and overlap), with CJK and
    /// multi-byte characters, spaces and case variants.
    fn text_strategy() -> impl Strategy<Value = String> {
        proptest::collection::vec(prop_oneof![Just('a'), Just('b'), Just('A'), Just(' '), Just(' '), Just('青'), Just('é'), Just('-'), Just('\n')], 0..60)
            .prop_map(|cs| cs.into_iter().collect())
    }

    /// Mentions: slices of the text (on char boundaries) and a few strings not in it.
    fn case_strategy() -> impl Strategy<Value = (String, Vec<(String, String)>)> {
        text_strategy().prop_flat_map(|text| {
            let n = text.chars().count();
            let mention = (0..=n, 0..=6usize, 0..3usize, prop_oneof![Just("x"), Just("y")]).prop_map({
                let text = text.clone();
                move |(start, len, kind, label)| {
                    let m: String = match kind {
                        0 => "zz".into(),
                        _ => text.chars().skip(start).take(len).collect(),
                    };
                    (label.to_string(), m)
                }
            });
            (Just(text), proptest::collection::vec(mention, 0..10))
        })
    }

    proptest! {
        /// Every listing is either placed (text == slice) or reported unaligned, exactly:
        /// a mention listed once has >= 1 entity or one unaligned entry; a mention listed k > 1
        /// times has entities + unaligned == k.
        #[test]
        fn every_mention_is_placed_exactly_or_reported((text, mentions) in case_strategy(), fallbacks in any::<bool>()) {
            let options = AlignOptions { fallbacks, ..Default::default() };
            let a = align(&text, &mentions, &options);
            let index = CharIndex::new(&text);
            prop_assert_eq!(a.entities.len(), a.origins.len());
            for e in &a.entities {
                prop_assert_eq!(index.slice(&text, e.span), Some(e.text.as_str()));
                prop_assert!(!e.span.is_empty());
            }
            let mut listed: BTreeMap<(&str, &str), (usize, usize)> = BTreeMap::new();
            for (l, m) in &mentions {
                listed.entry((l.as_str(), m.as_str())).or_insert((0, usize::MAX)).0 += 1;
            }
            for (i, (l, m)) in mentions.iter().enumerate() {
                let e = listed.get_mut(&(l.as_str(), m.as_str())).unwrap();
                e.1 = e.1.min(i);
            }
            for ((l, m), (k, first)) in &listed {
                let placed = a.origins.iter().filter(|&&o| o == *first).count();
                let missed = a.unaligned.iter().filter(|u| u.label == *l && u.text == *m).count();
                if m.trim().is_empty() {
                    prop_assert_eq!((placed, missed), (0, *k));
                } else if *k == 1 {
                    prop_assert!((placed >= 1) != (missed == 1), "{:?}: placed {} missed {}", m, placed, missed);
                    prop_assert!(missed <= 1);
                } else {
                    prop_assert_eq!(placed + missed, *k, "{:?}", m);
                }
                if !fallbacks {
                    for (e, o) in a.entities.iter().zip(&a.origins) {
                        if o == first {
                            prop_assert_eq!(e.text.as_str(), m.trim());
                        }
                    }
                }
            }
            let noted: u64 = a.notes.iter().filter(|(k, _)| k.starts_with("unaligned:")).map(|(_, v)| v).sum();
            prop_assert_eq!(noted as usize, a.unaligned.len());
        }

        /// Short texts are searched without `memmem`, with the same results.
        #[test]
        fn the_short_text_search_finds_what_memmem_finds((text, mentions) in case_strategy()) {
            for (_, needle) in &mentions {
                prop_assert_eq!(find_all(&text, needle), find_all_memmem(&text, needle));
            }
        }

        /// The Aho-Corasick path and the `str::find` path give identical alignments.
        #[test]
        fn automaton_and_scan_agree((text, mentions) in case_strategy()) {
            let scan = align(&text, &mentions, &AlignOptions { automaton_from: usize::MAX, ..Default::default() });
            let automaton = align(&text, &mentions, &AlignOptions { automaton_from: 0, ..Default::default() });
            prop_assert_eq!(scan, automaton);
        }
    }
}
