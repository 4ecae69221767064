//! Which labels of two datasets are screened against each other.
//!
//! A pair is two types of different datasets that (B2NER's first rule, seed 002 App. A.2)
//! share a label name after normalisation ([`pair_key`]: case, spaces, underscores,
//! hyphens, dots and British spellings), or, when asked, whose label-name embeddings have
//! cosine ≥ τ, or that a taxonomy mapping puts under the same archetype. Each pair is
//! screened in both directions ([`DirectedPair`]).

use super::corpus::Corpus;
use crate::embed::Embedder;
use crate::taxonomy::{Mapping, Resolver};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// British spellings and their American forms, applied to the squeezed lower-case label.
const SPELLINGS: &[(&str, &str)] = &[
    ("isation", "ization"),
    ("ising", "izing"),
    ("organise", "organize"),
    ("analyse", "analyze"),
    ("programme", "program"),
    ("centre", "center"),
    ("theatre", "theater"),
    ("metre", "meter"),
    ("colour", "color"),
    ("honour", "honor"),
    ("labour", "labor"),
    ("behaviour", "behavior"),
    ("harbour", "harbor"),
    ("neighbour", "neighbor"),
    ("favour", "favor"),
    ("catalogue", "catalog"),
    ("defence", "defense"),
    ("licence", "license"),
];

/// The name under which labels of two datasets count as the same: lower case, without
/// spaces, `_`, `-` or `.`, British spellings made American.
///
/// ```
/// use nerprep::screen::pair_key;
/// assert_eq!(pair_key("Organisation"), pair_key("organization"));
/// assert_eq!(pair_key("Political_Party"), pair_key("political party"));
/// assert_eq!(pair_key("LOC"), "loc");
/// assert_ne!(pair_key("location"), pair_key("loc"));
/// ```
pub fn pair_key(label: &str) -> String {
    let mut key: String = label
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '_' | '-' | '.'))
        .flat_map(char::to_lowercase)
        .collect();
    for (british, american) in SPELLINGS {
        if key.contains(british) {
            key = key.replace(british, american);
        }
    }
    key
}

/// Why two types are paired.
#[derive(Debug, Clone, PartialEq)]
pub enum Reason {
    /// The same name after [`pair_key`].
    SameName,
    /// The same archetype in the mappings.
    Archetype(String),
    /// Label-name embeddings with this cosine (≥ τ).
    Similar(f32),
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::SameName => f.write_str("same name"),
            Reason::Archetype(a) => write!(f, "archetype {a}"),
            Reason::Similar(c) => write!(f, "similar {c:.2}"),
        }
    }
}

/// Mentions of `source` (a type of one dataset) looked for in the texts of `target`'s
/// dataset and compared with `target`.
#[derive(Debug, Clone, PartialEq)]
pub struct DirectedPair {
    /// The type whose mentions are looked for.
    pub source: usize,
    /// The type they are compared with.
    pub target: usize,
    /// Why the two are paired (at least one).
    pub reasons: Vec<Reason>,
}

impl DirectedPair {
    /// The reasons as one phrase: `same name; archetype Location`.
    pub fn why(&self) -> String {
        let parts: Vec<String> = self.reasons.iter().map(Reason::to_string).collect();
        parts.join("; ")
    }
}

/// How types are paired beyond their names.
pub struct Pairing<'a, 'e> {
    /// Mappings whose shared archetypes pair types.
    pub mappings: &'a [Mapping],
    /// τ and the embedder for label-name similarity.
    pub similar: Option<(f32, &'e mut dyn Embedder)>,
}

/// Every directed pair of the corpus, sorted by (source dataset, source name, target
/// dataset, target name).
pub fn directed_pairs(corpus: &Corpus, pairing: Pairing<'_, '_>) -> Result<Vec<DirectedPair>, crate::embed::EmbedError> {
    let mut undirected: BTreeMap<(usize, usize), Vec<Reason>> = BTreeMap::new();
    let mut add = |a: usize, b: usize, r: Reason| {
        let key = (a.min(b), a.max(b));
        let reasons = undirected.entry(key).or_default();
        if !reasons.contains(&r) {
            reasons.push(r);
        }
    };
    for (a, b) in cross_dataset_pairs(corpus, |t| Some(corpus.types[t].key.clone())) {
        add(a, b, Reason::SameName);
    }
    if !pairing.mappings.is_empty() {
        let resolver = Resolver::new(pairing.mappings);
        let archetype = |t: usize| {
            let spellings = corpus.types[t].spellings.keys();
            spellings.filter_map(|s| resolver.archetype_of(s, true)).next().map(str::to_string)
        };
        let archetypes: Vec<Option<String>> = (0..corpus.types.len()).map(archetype).collect();
        for (a, b) in cross_dataset_pairs(corpus, |t| archetypes[t].clone()) {
            add(a, b, Reason::Archetype(archetypes[a].clone().unwrap_or_default()));
        }
    }
    if let Some((tau, embedder)) = pairing.similar {
        for (a, b, cos) in similar_pairs(corpus, tau, embedder)? {
            add(a, b, Reason::Similar(cos));
        }
    }
    let mut out = Vec::with_capacity(undirected.len() * 2);
    for ((a, b), reasons) in undirected {
        out.push(DirectedPair { source: a, target: b, reasons: reasons.clone() });
        out.push(DirectedPair { source: b, target: a, reasons });
    }
    let order = |t: usize| (corpus.types[t].dataset, corpus.types[t].name().to_string(), t);
    out.sort_by_key(|p| (order(p.source), order(p.target)));
    Ok(out)
}

/// Pairs of types of different datasets with the same `group` (types without one are left
/// out), each once as (lower id, higher id).
fn cross_dataset_pairs(corpus: &Corpus, group: impl Fn(usize) -> Option<String>) -> Vec<(usize, usize)> {
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for t in 0..corpus.types.len() {
        if let Some(g) = group(t) {
            groups.entry(g).or_default().push(t);
        }
    }
    let mut out = Vec::new();
    for members in groups.values() {
        for (i, &a) in members.iter().enumerate() {
            for &b in &members[i + 1..] {
                if corpus.types[a].dataset != corpus.types[b].dataset {
                    out.push((a, b));
                }
            }
        }
    }
    out
}

/// Pairs of types of different datasets and different names whose name embeddings have
/// cosine ≥ `tau`, with the cosine.
fn similar_pairs(corpus: &Corpus, tau: f32, embedder: &mut dyn Embedder) -> Result<Vec<(usize, usize, f32)>, crate::embed::EmbedError> {
    let names: BTreeSet<&str> = corpus.types.iter().map(|t| t.name()).collect();
    let names: Vec<&str> = names.into_iter().collect();
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let vectors = embedder.embed(&names)?;
    let row_of: BTreeMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let rows: Vec<&[f32]> = vectors.rows().collect();
    let mut out = Vec::new();
    for a in 0..corpus.types.len() {
        for b in a + 1..corpus.types.len() {
            let (ta, tb) = (&corpus.types[a], &corpus.types[b]);
            if ta.dataset == tb.dataset || ta.key == tb.key {
                continue;
            }
            let cos = crate::vector::dot(rows[row_of[ta.name()]], rows[row_of[tb.name()]]);
            if cos >= tau {
                out.push((a, b, cos));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn british_and_american_spellings_and_spacing_meet() {
        assert_eq!(pair_key("organisation"), "organization");
        assert_eq!(pair_key("Political Organisation"), "politicalorganization");
        assert_eq!(pair_key("musical-artist"), pair_key("MusicalArtist"));
        assert_eq!(pair_key("Theatre"), pair_key("theater"));
        assert_eq!(pair_key("location -> city"), "location>city");
    }
}
