//! Placing mention-only listings (`b2ner`, `iepile`, `pile-ner`, `json-grouped` answers)
//! in the sample text, so the strict scorer can compare spans: one prediction per listing
//! (issue 19).
//!
//! A listing says a label and a mention, not which occurrence it means. It is placed by the
//! first rule that applies ([`Rule`]):
//! 1. **gold, same label**: a gold entity with the same label and mention not yet taken, in
//!    text order (`iepile` lists a mention once for all its occurrences, so its listing
//!    takes every such gold entity);
//! 2. **gold, other label**: a gold entity with the same mention, whatever its label —
//!    preferring one no listing took yet — so a wrongly typed listing is one false positive
//!    (and one miss), not one per occurrence of the string;
//! 3. **next occurrence**: a listing of a gold mention beyond its gold occurrences takes the
//!    next occurrence of the string (found as the aligner finds it) not yet predicted;
//!    when there is none it only repeats a placed listing (`pred_repeated_listing`);
//! 4. **aligner**: a listing whose mention matches no gold entity is placed by the readers'
//!    aligner (a mention listed once means all its occurrences); one not in the text is an
//!    OOD mention.
//!
//! Rule 1 runs over all listings before rule 2, so the result does not depend on the order
//! in which an answer lists a correct and a wrongly typed mention.

use super::{Placed, Predicted};
use crate::align::{align, reason, AlignOptions};
use crate::answer::{AnswerFormat, Fidelity};
use crate::model::{Sample, Span};
use crate::report::Counts;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// The rule that placed a listing (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// On a gold entity with the same label and mention.
    GoldSameLabel,
    /// On a gold entity with the same mention and another label.
    GoldOtherLabel,
    /// On the next occurrence of a gold mention listed more often than gold has it.
    NextOccurrence,
    /// By the readers' aligner (the mention matches no gold entity).
    Aligner,
    /// Not placed: it repeats a listing already placed on every occurrence.
    Repeated,
}

impl Rule {
    /// Every rule, in the order they are tried.
    pub const ALL: [Rule; 5] = [Rule::GoldSameLabel, Rule::GoldOtherLabel, Rule::NextOccurrence, Rule::Aligner, Rule::Repeated];

    /// The machine-readable name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::GoldSameLabel => "gold_same_label",
            Rule::GoldOtherLabel => "gold_other_label",
            Rule::NextOccurrence => "next_occurrence",
            Rule::Aligner => "aligner",
            Rule::Repeated => "repeated",
        }
    }
}

/// How many listings each rule placed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleCounts(BTreeMap<Rule, u64>);

impl RuleCounts {
    /// Counts one listing under `rule`.
    pub fn add(&mut self, rule: Rule) {
        *self.0.entry(rule).or_default() += 1;
    }

    /// Adds another sample's counts.
    pub fn absorb(&mut self, other: &RuleCounts) {
        for (rule, n) in &other.0 {
            *self.0.entry(*rule).or_default() += n;
        }
    }

    /// Listings placed by `rule`.
    pub fn get(&self, rule: Rule) -> u64 {
        self.0.get(&rule).copied().unwrap_or(0)
    }

    /// Every rule with its count (zeros included), in [`Rule::ALL`] order, for reports.
    pub fn table(&self) -> BTreeMap<String, u64> {
        Rule::ALL.iter().map(|r| (r.as_str().to_string(), self.get(*r))).collect()
    }
}

/// A listing: label and mention, as the answer gives them.
type Listing = (String, String);

/// The predictions made so far for one sample, to choose free spans.
#[derive(Default)]
struct Taken {
    /// Spans any listing took.
    spans: BTreeSet<Span>,
    /// `(span, label)` pairs predicted.
    pairs: BTreeSet<(Span, String)>,
}

impl Taken {
    fn take(&mut self, span: Span, label: &str) {
        self.spans.insert(span);
        self.pairs.insert((span, label.to_string()));
    }

    /// The first of `spans` no listing took, else the first not yet predicted with `label`.
    fn free(&self, spans: &[Span], label: &str) -> Option<Span> {
        let unclaimed = spans.iter().find(|s| !self.spans.contains(s));
        unclaimed.or_else(|| spans.iter().find(|s| !self.pairs.contains(&(**s, label.to_string())))).copied()
    }
}

/// Gold spans by `(label, mention)` and by mention, in text order.
struct GoldIndex {
    same_label: BTreeMap<(String, String), VecDeque<Span>>,
    by_mention: BTreeMap<String, Vec<Span>>,
}

impl GoldIndex {
    fn new(gold: &Sample) -> GoldIndex {
        let mut entities: Vec<_> = gold.entities.iter().collect();
        entities.sort_by_key(|e| e.span);
        let mut same_label: BTreeMap<(String, String), VecDeque<Span>> = BTreeMap::new();
        let mut by_mention: BTreeMap<String, Vec<Span>> = BTreeMap::new();
        for e in entities {
            let mention = e.text.trim().to_string();
            same_label.entry((e.label.clone(), mention.clone())).or_default().push_back(e.span);
            let spans = by_mention.entry(mention).or_default();
            if spans.last() != Some(&e.span) {
                spans.push(e.span);
            }
        }
        GoldIndex { same_label, by_mention }
    }
}

/// Places `listings` (in answer order) in `gold`'s text by the rules of the module docs,
/// counting each listing under its rule in `rules` and the aligner's notes in `counts`.
pub fn place_listings(
    gold: &Sample,
    listings: Vec<Listing>,
    format: AnswerFormat,
    options: &AlignOptions,
    counts: &mut Counts,
    rules: &mut RuleCounts,
) -> Vec<Predicted> {
    let once_for_all = format.fidelity() == Fidelity::Distinct;
    let mut index = GoldIndex::new(gold);
    let mut taken = Taken::default();
    let mut out = Vec::new();
    let mut anchored: BTreeSet<(String, String)> = BTreeSet::new();
    let mut rest: Vec<Listing> = Vec::new();
    for (label, mention) in listings {
        let key = (label.clone(), mention.trim().to_string());
        match index.same_label.get_mut(&key) {
            Some(spans) if !spans.is_empty() => {
                let n = if once_for_all { spans.len() } else { 1 };
                for span in spans.drain(..n) {
                    taken.take(span, &label);
                    out.push(Predicted::at(span, label.clone(), mention.clone()));
                }
                rules.add(Rule::GoldSameLabel);
                anchored.insert(key);
            }
            _ => rest.push((label, mention)),
        }
    }
    let mut for_aligner: Vec<Listing> = Vec::new();
    for (label, mention) in rest {
        let key = (label.clone(), mention.trim().to_string());
        if once_for_all && !anchored.insert(key.clone()) {
            counts.note("pred_repeated_listing", 1);
            rules.add(Rule::Repeated);
            continue;
        }
        let Some(gold_spans) = index.by_mention.get(&key.1) else {
            for_aligner.push((label, mention));
            continue;
        };
        let (span, rule) = match taken.free(gold_spans, &label) {
            Some(span) => (Some(span), Rule::GoldOtherLabel),
            None => (taken.free(&occurrences(&gold.text, &label, &mention, options), &label), Rule::NextOccurrence),
        };
        match span {
            Some(span) => {
                taken.take(span, &label);
                out.push(Predicted::at(span, label, mention));
                rules.add(rule);
            }
            None => {
                counts.note("pred_repeated_listing", 1);
                rules.add(Rule::Repeated);
            }
        }
    }
    out.extend(align_unmatched(gold, for_aligner, options, counts, rules));
    out
}

/// Every occurrence of `mention` in `text` as the aligner finds them, in text order.
fn occurrences(text: &str, label: &str, mention: &str, options: &AlignOptions) -> Vec<Span> {
    let mut spans: Vec<Span> = align(text, &[(label.to_string(), mention.to_string())], options).entities.iter().map(|e| e.span).collect();
    spans.sort();
    spans
}

/// Rule 4: the readers' aligner places listings whose mention matches no gold entity; one
/// not found in the text is kept unplaced (an OOD mention).
fn align_unmatched(
    gold: &Sample,
    listings: Vec<Listing>,
    options: &AlignOptions,
    counts: &mut Counts,
    rules: &mut RuleCounts,
) -> Vec<Predicted> {
    if listings.is_empty() {
        return Vec::new();
    }
    for _ in &listings {
        rules.add(Rule::Aligner);
    }
    let a = align(&gold.text, &listings, options);
    for (k, v) in &a.notes {
        counts.note(&format!("pred_{k}"), *v);
    }
    let mut out: Vec<Predicted> = a.entities.into_iter().map(|e| Predicted::at(e.span, e.label, e.text)).collect();
    for u in a.unaligned {
        // A mention that is not in the text is a hallucination (OOD mention); the other
        // reasons are listings that add no span (repeats, duplicates), noted only.
        if u.reason == reason::NOT_FOUND || u.reason == reason::NOT_ON_TOKEN_BOUNDARY {
            out.push(Predicted { label: u.label, text: u.text, placed: Placed::NotFound });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Entity, SourceFormat};

    fn sp(a: u32, b: u32) -> Span {
        Span::new(a, b).unwrap()
    }

    /// `Ada saw Paris , then Paris again .`: `Paris` at 8..13 and 21..26.
    fn sample(gold: &[(u32, u32, &str)]) -> Sample {
        let text = "Ada saw Paris , then Paris again .";
        let mut s = Sample::new("d/test/f:0", "d", SourceFormat::B2nerd, "test", "en", text);
        for &(a, b, l) in gold {
            s.entities.push(Entity::new(sp(a, b), l, &text[a as usize..b as usize]));
        }
        s
    }

    fn listings(items: &[(&str, &str)]) -> Vec<Listing> {
        items.iter().map(|(l, m)| (l.to_string(), m.to_string())).collect()
    }

    fn placed(s: &Sample, items: &[(&str, &str)], format: AnswerFormat) -> (Vec<(Option<Span>, String)>, RuleCounts) {
        let mut rules = RuleCounts::default();
        let got = place_listings(s, listings(items), format, &AlignOptions::default(), &mut Counts::new("eval"), &mut rules);
        let got = got.into_iter().map(|p| (p.placed.span(), p.label)).collect();
        (got, rules)
    }

    #[test]
    fn a_wrongly_typed_listing_takes_one_gold_span_not_every_occurrence() {
        // Gold: `Paris` LOC at both occurrences. `person: Paris` once is one prediction, on
        // the first gold span (the aligner would have put it on both).
        let s = sample(&[(8, 13, "LOC"), (21, 26, "LOC")]);
        let (got, rules) = placed(&s, &[("PER", "Paris")], AnswerFormat::B2ner);
        assert_eq!(got, vec![(Some(sp(8, 13)), "PER".to_string())]);
        assert_eq!(rules.get(Rule::GoldOtherLabel), 1);
    }

    #[test]
    fn correct_listings_are_placed_first_whatever_the_answer_order() {
        // Gold: LOC at 8, PER at 21. `PER: Paris` is listed after `LOC: Paris` twice; rule 1
        // gives LOC 8 and PER 21, the second LOC goes to the gold span nobody took... none is
        // left, so to the first span without LOC: 21.
        let s = sample(&[(8, 13, "LOC"), (21, 26, "PER")]);
        let (got, rules) = placed(&s, &[("LOC", "Paris"), ("LOC", "Paris"), ("PER", "Paris")], AnswerFormat::B2ner);
        assert_eq!(
            got,
            vec![(Some(sp(8, 13)), "LOC".to_string()), (Some(sp(21, 26)), "PER".to_string()), (Some(sp(21, 26)), "LOC".to_string())]
        );
        assert_eq!((rules.get(Rule::GoldSameLabel), rules.get(Rule::GoldOtherLabel)), (2, 1));
    }

    #[test]
    fn listings_beyond_the_gold_occurrences_take_the_next_occurrence() {
        // Gold: only the first `Paris` (LOC). Listed twice: the second takes 21..26 (rule 3);
        // a third has no occurrence left and only repeats.
        let s = sample(&[(8, 13, "LOC")]);
        let (got, rules) = placed(&s, &[("LOC", "Paris"), ("LOC", "Paris"), ("LOC", "Paris")], AnswerFormat::JsonGrouped);
        assert_eq!(got, vec![(Some(sp(8, 13)), "LOC".to_string()), (Some(sp(21, 26)), "LOC".to_string())]);
        assert_eq!((rules.get(Rule::NextOccurrence), rules.get(Rule::Repeated)), (1, 1));
    }

    #[test]
    fn iepile_listings_take_every_gold_occurrence_once() {
        let s = sample(&[(8, 13, "LOC"), (21, 26, "LOC")]);
        let (got, rules) = placed(&s, &[("LOC", "Paris"), ("LOC", "Paris"), ("PER", "Paris")], AnswerFormat::Iepile);
        let spans: Vec<Option<Span>> = got.iter().map(|g| g.0).collect();
        // LOC takes both gold spans; its repeat is noted; PER takes one span only.
        assert_eq!(spans, vec![Some(sp(8, 13)), Some(sp(21, 26)), Some(sp(8, 13))]);
        assert_eq!((rules.get(Rule::GoldSameLabel), rules.get(Rule::Repeated), rules.get(Rule::GoldOtherLabel)), (1, 1, 1));
    }

    #[test]
    fn mentions_no_gold_entity_has_go_to_the_aligner() {
        // `Ada` is not gold: the aligner places it (once in the text); `Rome` is not in the
        // text: unplaced, an OOD mention.
        let s = sample(&[(8, 13, "LOC")]);
        let (got, rules) = placed(&s, &[("PER", "Ada"), ("LOC", "Rome")], AnswerFormat::B2ner);
        assert_eq!(got, vec![(Some(sp(0, 3)), "PER".to_string()), (None, "LOC".to_string())]);
        assert_eq!(rules.get(Rule::Aligner), 2);
        assert_eq!(rules.table().values().sum::<u64>(), 2, "every listing is counted once");
    }
}
