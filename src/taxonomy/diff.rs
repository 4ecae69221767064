//! `nerprep taxonomy diff`: what changed between two versions of a taxonomy, and what the
//! change does to data, in a form to paste into a pull request (Markdown) or feed to tools
//! (JSON with sorted keys).
//!
//! A version is an archetypes file, a mapping file, or a directory holding at most one of
//! each; files may come from a git revision (`git:REV:path`). Renamed archetypes are found
//! by unchanged membership (the same labels listed under a new name) or, between archetypes
//! files alone, by an unchanged definition; renamed labels by staying in the same archetype
//! with the same definition or a spelling at most two edits away.

use super::files::{file_kind, Archetypes, FileKind, Mapping};
use super::source::Source;
use super::{normalize_label, TaxonomyError};
use crate::model::Sample;
use crate::table::TableReader;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

/// One side of a diff.
#[derive(Debug, Clone)]
pub struct Version {
    /// How the version was named on the command line.
    pub origin: String,
    /// Its archetypes file, if it has one.
    pub archetypes: Option<Archetypes>,
    /// Its mapping file, if it has one.
    pub mapping: Option<Mapping>,
}

impl Version {
    /// Loads a version from a file, a directory (at most one archetypes and one mapping
    /// file in it) or `git:REV:path` (a file).
    pub fn load(spec: &str) -> Result<Version, TaxonomyError> {
        let source = Source::parse(spec);
        let mut v = Version { origin: spec.to_string(), archetypes: None, mapping: None };
        if let Source::File(p) = &source
            && p.is_dir()
        {
            let mut files: Vec<_> = std::fs::read_dir(p)
                .map_err(|e| crate::io::IoError::new(p, e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|e| e == "yaml" || e == "yml"))
                .collect();
            files.sort();
            for f in files {
                v.add(&Source::File(f), p)?;
            }
            if v.archetypes.is_none() && v.mapping.is_none() {
                return Err(TaxonomyError::Layout { path: p.clone(), message: "no archetypes or mapping file in it".into() });
            }
            return Ok(v);
        }
        v.add(&source, Path::new(spec))?;
        Ok(v)
    }

    fn add(&mut self, source: &Source, dir: &Path) -> Result<(), TaxonomyError> {
        let text = source.read()?;
        let origin = source.display();
        let clash = |what: &str| TaxonomyError::Layout {
            path: dir.to_path_buf(),
            message: format!("holds more than one {what} file; diff them one at a time"),
        };
        match file_kind(&text, &origin)? {
            FileKind::Archetypes => {
                if self.archetypes.is_some() {
                    return Err(clash("archetypes"));
                }
                self.archetypes = Some(Archetypes::parse(&text, &origin)?);
            }
            FileKind::Mapping => {
                if self.mapping.is_some() {
                    return Err(clash("mapping"));
                }
                self.mapping = Some(Mapping::from_source(source)?);
            }
        }
        Ok(())
    }

    /// Archetype names: from the archetypes file, else the mapping's groups.
    fn archetype_names(&self) -> Vec<String> {
        match (&self.archetypes, &self.mapping) {
            (Some(a), _) => a.iter().map(|a| a.name.clone()).collect(),
            (None, Some(m)) => {
                let mut seen = BTreeSet::new();
                m.groups.iter().filter(|(n, _)| seen.insert(n.clone())).map(|(n, _)| n.clone()).collect()
            }
            (None, None) => Vec::new(),
        }
    }
}

/// What kind of change a [`Change`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// A `version:` field changed.
    VersionChanged,
    /// An archetype exists only in the new version.
    ArchetypeAdded,
    /// An archetype exists only in the old version.
    ArchetypeRemoved,
    /// An archetype got a new name (same members, or same definition).
    ArchetypeRenamed,
    /// An archetype's definition changed.
    ArchetypeDefinitionChanged,
    /// An archetype's example mentions changed.
    ArchetypeExamplesChanged,
    /// A label is mapped only in the new version.
    TypeAdded,
    /// A label is mapped only in the old version.
    TypeRemoved,
    /// A label maps to another archetype.
    TypeMoved,
    /// A label got a new spelling (same archetype; same definition or a close spelling).
    TypeRenamed,
    /// A label's definition changed.
    TypeDefinitionChanged,
}

impl ChangeKind {
    fn words(self) -> &'static str {
        match self {
            ChangeKind::VersionChanged => "version changed",
            ChangeKind::ArchetypeAdded => "added",
            ChangeKind::ArchetypeRemoved => "removed",
            ChangeKind::ArchetypeRenamed => "renamed",
            ChangeKind::ArchetypeDefinitionChanged => "definition changed",
            ChangeKind::ArchetypeExamplesChanged => "examples changed",
            ChangeKind::TypeAdded => "added",
            ChangeKind::TypeRemoved => "removed",
            ChangeKind::TypeMoved => "moved",
            ChangeKind::TypeRenamed => "renamed",
            ChangeKind::TypeDefinitionChanged => "definition changed",
        }
    }

    fn is_archetype_level(self) -> bool {
        self < ChangeKind::TypeAdded
    }
}

/// One piece of a word diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", content = "text", rename_all = "lowercase")]
pub enum WordOp {
    /// Words in both versions.
    Same(String),
    /// Words only in the old version.
    Removed(String),
    /// Words only in the new version.
    Added(String),
}

/// What a change does to a samples table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DataEffect {
    /// Entities concerned.
    pub entities: u64,
    /// Samples with at least one such entity.
    pub samples: u64,
    /// Up to two example mentions, `"text" (sample id)`, in table order.
    pub examples: Vec<String>,
}

/// One difference between the versions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// What changed.
    pub kind: ChangeKind,
    /// The archetype concerned (for type changes: the new one, or the old one if removed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archetype: Option<String>,
    /// The label concerned, for type changes (the new spelling for renames).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Old value: old archetype of a moved type, old name of a renamed one, old version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// New value, as `from`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// How a rename was recognised: `members`, `definition` or `spelling`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detected_by: Option<String>,
    /// Word diff of a changed definition.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub words: Vec<WordOp>,
    /// Examples added.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub added: Vec<String>,
    /// Examples removed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<String>,
    /// What it does to the data, when a table was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effect: Option<DataEffect>,
}

impl Change {
    fn new(kind: ChangeKind) -> Change {
        Change {
            kind,
            archetype: None,
            label: None,
            from: None,
            to: None,
            detected_by: None,
            words: Vec::new(),
            added: Vec::new(),
            removed: Vec::new(),
            effect: None,
        }
    }
}

/// Everything `taxonomy diff` reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaxonomyDiff {
    /// The old version as named.
    pub old: String,
    /// The new version as named.
    pub new: String,
    /// The samples table the effects were measured on, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// The changes: archetype-level first, then types, each sorted by kind and name.
    pub changes: Vec<Change>,
}

impl TaxonomyDiff {
    /// True when the versions do not differ.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// Compares two versions.
pub fn diff(old: &Version, new: &Version) -> TaxonomyDiff {
    let mut changes = Vec::new();
    versions(old, new, &mut changes);
    let renames = archetype_changes(old, new, &mut changes);
    if let (Some(om), Some(nm)) = (&old.mapping, &new.mapping) {
        type_changes(om, nm, &renames, &mut changes);
    }
    changes.sort_by(|a, b| {
        (a.kind, a.archetype.as_deref(), a.label.as_deref(), a.from.as_deref())
            .cmp(&(b.kind, b.archetype.as_deref(), b.label.as_deref(), b.from.as_deref()))
    });
    TaxonomyDiff { old: old.origin.clone(), new: new.origin.clone(), data: None, changes }
}

fn versions(old: &Version, new: &Version, out: &mut Vec<Change>) {
    let pairs = [
        ("archetypes", old.archetypes.as_ref().map(|a| &a.version), new.archetypes.as_ref().map(|a| &a.version)),
        ("mapping", old.mapping.as_ref().map(|m| &m.version), new.mapping.as_ref().map(|m| &m.version)),
    ];
    for (what, o, n) in pairs {
        if let (Some(o), Some(n)) = (o, n)
            && o != n
        {
            let mut c = Change::new(ChangeKind::VersionChanged);
            c.label = Some(what.to_string());
            c.from = Some(o.clone());
            c.to = Some(n.clone());
            out.push(c);
        }
    }
}

/// Archetype-level changes; returns old name -> new name for every archetype kept or renamed.
fn archetype_changes(old: &Version, new: &Version, out: &mut Vec<Change>) -> BTreeMap<String, String> {
    let old_names = old.archetype_names();
    let new_names = new.archetype_names();
    let old_set: BTreeSet<&String> = old_names.iter().collect();
    let new_set: BTreeSet<&String> = new_names.iter().collect();
    let mut gone: Vec<&String> = old_names.iter().filter(|n| !new_set.contains(n)).collect();
    let mut fresh: Vec<&String> = new_names.iter().filter(|n| !old_set.contains(n)).collect();
    let mut renames = BTreeMap::<String, String>::new();
    for n in old_names.iter().filter(|n| new_set.contains(n)) {
        renames.insert(n.clone(), n.clone());
    }
    let mut pair = |by: &str, same: &dyn Fn(&str, &str) -> bool, gone: &mut Vec<&String>, fresh: &mut Vec<&String>| {
        let mut i = 0;
        while i < gone.len() {
            if let Some(j) = fresh.iter().position(|f| same(gone[i], f)) {
                let (o, n) = (gone.remove(i), fresh.remove(j));
                renames.insert(o.clone(), n.clone());
                let mut c = Change::new(ChangeKind::ArchetypeRenamed);
                c.archetype = Some(n.clone());
                c.from = Some(o.clone());
                c.to = Some(n.clone());
                c.detected_by = Some(by.to_string());
                out.push(c);
            } else {
                i += 1;
            }
        }
    };
    if let (Some(om), Some(nm)) = (&old.mapping, &new.mapping) {
        let members = |m: &Mapping, a: &str| m.members(a).into_iter().map(String::from).collect::<BTreeSet<_>>();
        let same = |o: &str, n: &str| {
            let (a, b) = (members(om, o), members(nm, n));
            !a.is_empty() && a == b
        };
        pair("members", &same, &mut gone, &mut fresh);
    }
    if let (Some(oa), Some(na)) = (&old.archetypes, &new.archetypes) {
        let def = |a: &Archetypes, n: &str| a.get(n).map(|a| a.definition.trim().to_string()).unwrap_or_default();
        let same = |o: &str, n: &str| {
            let d = def(oa, o);
            !d.is_empty() && d == def(na, n)
        };
        pair("definition", &same, &mut gone, &mut fresh);
    }
    for n in fresh {
        let mut c = Change::new(ChangeKind::ArchetypeAdded);
        c.archetype = Some(n.clone());
        out.push(c);
    }
    for o in gone {
        let mut c = Change::new(ChangeKind::ArchetypeRemoved);
        c.archetype = Some(o.clone());
        out.push(c);
    }
    if let (Some(oa), Some(na)) = (&old.archetypes, &new.archetypes) {
        for (o, n) in &renames {
            let (Some(a), Some(b)) = (oa.get(o), na.get(n)) else { continue };
            if a.definition.trim() != b.definition.trim() {
                let mut c = Change::new(ChangeKind::ArchetypeDefinitionChanged);
                c.archetype = Some(n.clone());
                c.words = word_diff(&a.definition, &b.definition);
                out.push(c);
            }
            let (ea, eb): (BTreeSet<&String>, BTreeSet<&String>) = (a.examples.iter().collect(), b.examples.iter().collect());
            if ea != eb {
                let mut c = Change::new(ChangeKind::ArchetypeExamplesChanged);
                c.archetype = Some(n.clone());
                c.added = eb.difference(&ea).map(|s| s.to_string()).collect();
                c.removed = ea.difference(&eb).map(|s| s.to_string()).collect();
                out.push(c);
            }
        }
    }
    renames
}

fn type_changes(om: &Mapping, nm: &Mapping, renames: &BTreeMap<String, String>, out: &mut Vec<Change>) {
    let olds: BTreeMap<&str, &super::MappingEntry> = om.spellings().collect();
    let news: BTreeMap<&str, &super::MappingEntry> = nm.spellings().collect();
    let translate = |a: &str| renames.get(a).cloned().unwrap_or_else(|| a.to_string());
    let def = |e: &super::MappingEntry| e.definition.as_deref().map(str::trim).unwrap_or_default().to_string();
    let mut removed: Vec<&str> = olds.keys().filter(|l| !news.contains_key(*l)).copied().collect();
    let mut added: Vec<&str> = news.keys().filter(|l| !olds.contains_key(*l)).copied().collect();

    // Renames: same archetype, and the same definition or a close spelling; closest first.
    let mut candidates = Vec::new();
    for &o in &removed {
        for &n in &added {
            let (eo, en) = (olds[o], news[n]);
            if translate(&eo.archetype) != en.archetype {
                continue;
            }
            let distance = edit_distance(o, n);
            let spelling = normalize_label(o) == normalize_label(n) || (distance <= 2 && o.chars().count().min(n.chars().count()) >= 5);
            let same_def = !def(eo).is_empty() && def(eo) == def(en);
            if spelling || same_def {
                candidates.push((if spelling { distance } else { usize::MAX }, o, n, if spelling { "spelling" } else { "definition" }));
            }
        }
    }
    candidates.sort();
    let mut used = BTreeSet::new();
    let mut renamed = Vec::new();
    for (_, o, n, by) in candidates {
        if used.contains(o) || used.contains(n) {
            continue;
        }
        used.insert(o);
        used.insert(n);
        let mut c = Change::new(ChangeKind::TypeRenamed);
        c.archetype = Some(news[n].archetype.clone());
        c.label = Some(n.to_string());
        c.from = Some(o.to_string());
        c.to = Some(n.to_string());
        c.detected_by = Some(by.to_string());
        out.push(c);
        renamed.push((o, n));
    }
    removed.retain(|l| !used.contains(l));
    added.retain(|l| !used.contains(l));

    for l in added {
        let mut c = Change::new(ChangeKind::TypeAdded);
        c.archetype = Some(news[l].archetype.clone());
        c.label = Some(l.to_string());
        out.push(c);
    }
    for l in removed {
        let mut c = Change::new(ChangeKind::TypeRemoved);
        c.archetype = Some(olds[l].archetype.clone());
        c.label = Some(l.to_string());
        out.push(c);
    }
    let kept = olds.keys().filter(|l| news.contains_key(*l)).map(|l| (*l, *l));
    for (o, n) in kept.chain(renamed) {
        let (eo, en) = (olds[o], news[n]);
        if translate(&eo.archetype) != en.archetype {
            let mut c = Change::new(ChangeKind::TypeMoved);
            c.archetype = Some(en.archetype.clone());
            c.label = Some(n.to_string());
            c.from = Some(eo.archetype.clone());
            c.to = Some(en.archetype.clone());
            out.push(c);
        }
        if def(eo) != def(en) && eo.label == o && en.label == n {
            let mut c = Change::new(ChangeKind::TypeDefinitionChanged);
            c.archetype = Some(en.archetype.clone());
            c.label = Some(n.to_string());
            c.words = word_diff(&def(eo), &def(en));
            out.push(c);
        }
    }
}

/// Levenshtein distance in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// A word-level diff (longest common subsequence of whitespace-separated words), with runs
/// of the same operation joined.
pub fn word_diff(old: &str, new: &str) -> Vec<WordOp> {
    let a: Vec<&str> = old.split_whitespace().collect();
    let b: Vec<&str> = new.split_whitespace().collect();
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    // 0 = same, 1 = removed, 2 = added; runs of one kind are joined.
    let mut runs: Vec<(u8, String)> = Vec::new();
    let mut push = |kind: u8, w: &str| match runs.last_mut() {
        Some((k, s)) if *k == kind => {
            s.push(' ');
            s.push_str(w);
        }
        _ => runs.push((kind, w.to_string())),
    };
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            push(0, a[i]);
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            push(2, b[j]);
            j += 1;
        } else {
            push(1, a[i]);
            i += 1;
        }
    }
    runs
        .into_iter()
        .map(|(k, s)| match k {
            0 => WordOp::Same(s),
            1 => WordOp::Removed(s),
            _ => WordOp::Added(s),
        })
        .collect()
}

/// Measures, for each change, the entities and samples of the table at `data` it concerns,
/// with two example mentions each. Archetype-level changes concern the entities the old
/// version put in that archetype (by the old mapping when there is one, else by the table's
/// `archetype` column); type changes concern the entities with that label.
pub fn measure(d: &mut TaxonomyDiff, old: &Version, data: &Path) -> Result<(), TaxonomyError> {
    d.data = Some(data.display().to_string());
    let mut by_label = BTreeMap::<String, Vec<usize>>::new();
    let mut by_archetype = BTreeMap::<String, Vec<usize>>::new();
    for (i, c) in d.changes.iter_mut().enumerate() {
        match c.kind {
            ChangeKind::VersionChanged | ChangeKind::ArchetypeAdded => continue,
            k if k.is_archetype_level() => {
                let name = if k == ChangeKind::ArchetypeRenamed { c.from.clone() } else { c.archetype.clone() };
                let Some(name) = name else { continue };
                by_archetype.entry(name).or_default().push(i);
            }
            // The data still spells a renamed type the old way.
            ChangeKind::TypeRenamed => by_label.entry(c.from.clone().unwrap_or_default()).or_default().push(i),
            _ => by_label.entry(c.label.clone().unwrap_or_default()).or_default().push(i),
        }
        c.effect = Some(DataEffect::default());
    }
    // Definition/examples changes of a renamed archetype are filed under its new name;
    // point them at the old one too.
    let rename_back: BTreeMap<String, String> = d
        .changes
        .iter()
        .filter(|c| c.kind == ChangeKind::ArchetypeRenamed)
        .filter_map(|c| Some((c.to.clone()?, c.from.clone()?)))
        .collect();
    for (new_name, old_name) in &rename_back {
        if let Some(list) = by_archetype.remove(new_name) {
            by_archetype.entry(old_name.clone()).or_default().extend(list);
        }
    }
    for batch in TableReader::<Sample>::open(data)? {
        for s in batch? {
            let mut touched = BTreeSet::<usize>::new();
            for e in &s.entities {
                let old_archetype = match &old.mapping {
                    Some(m) => m.archetype_of(&e.label).map(String::from),
                    None => e.archetype.clone(),
                };
                let hits = by_label
                    .get(&e.label)
                    .into_iter()
                    .flatten()
                    .chain(old_archetype.as_ref().and_then(|a| by_archetype.get(a)).into_iter().flatten());
                for &i in hits {
                    if let Some(eff) = d.changes[i].effect.as_mut() {
                        eff.entities += 1;
                        let example = format!("\"{}\" ({})", e.text, s.id);
                        if eff.examples.len() < 2 && !eff.examples.contains(&example) {
                            eff.examples.push(example);
                        }
                    }
                    touched.insert(i);
                }
            }
            for i in touched {
                if let Some(eff) = d.changes[i].effect.as_mut() {
                    eff.samples += 1;
                }
            }
        }
    }
    Ok(())
}

/// Sorts the keys of every object, so the JSON is stable whatever the map implementation.
fn sorted(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => {
            let mut entries: Vec<(String, serde_json::Value)> = m.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            serde_json::Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        serde_json::Value::Array(a) => serde_json::Value::Array(a.into_iter().map(sorted).collect()),
        other => other,
    }
}

fn code(s: &str) -> String {
    format!("`{}`", s.replace('|', "\\|"))
}

fn render_words(words: &[WordOp]) -> String {
    let parts: Vec<String> = words
        .iter()
        .map(|w| match w {
            WordOp::Same(s) => s.clone(),
            WordOp::Removed(s) => format!("~~{s}~~"),
            WordOp::Added(s) => format!("**{s}**"),
        })
        .collect();
    parts.join(" ")
}

impl TaxonomyDiff {
    /// The diff as JSON with sorted keys (stable for tooling).
    pub fn to_json(&self) -> String {
        let v = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        let mut s = serde_json::to_string_pretty(&sorted(v)).unwrap_or_default();
        s.push('\n');
        s
    }

    /// The diff as Markdown, to paste into a pull request.
    pub fn to_markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# Taxonomy diff\n\n{} → {}\n", code(&self.old), code(&self.new));
        if let Some(d) = &self.data {
            let _ = writeln!(out, "Effects measured on {}.\n", code(d));
        }
        if self.changes.is_empty() {
            let _ = writeln!(out, "No differences.");
            return out;
        }
        let mut tally = BTreeMap::<(bool, &str), usize>::new();
        for c in &self.changes {
            let scope = c.kind.is_archetype_level() && c.kind != ChangeKind::VersionChanged;
            *tally.entry((!scope, c.kind.words())).or_default() += 1;
        }
        let summary: Vec<String> = tally
            .iter()
            .map(|((is_type, w), n)| format!("{n} {} {w}", if *is_type { "type" } else { "archetype" }))
            .collect();
        let _ = writeln!(out, "**{} changes**: {}.\n", self.changes.len(), summary.join(", ").replace("type version changed", "version changed"));
        let with_data = self.data.is_some();
        let effect_cells = |c: &Change| match (&c.effect, with_data) {
            (Some(e), true) => format!(" {} | {} | {} |", e.entities, e.samples, e.examples.join(", ")),
            (None, true) => " | | |".to_string(),
            _ => String::new(),
        };
        let extra_head = if with_data { " entities | samples | examples |" } else { "" };
        let extra_rule = if with_data { "---|---|---|" } else { "" };

        let versions: Vec<&Change> = self.changes.iter().filter(|c| c.kind == ChangeKind::VersionChanged).collect();
        for c in versions {
            let _ = writeln!(
                out,
                "Version of the {} file: {} → {}\n",
                c.label.as_deref().unwrap_or_default(),
                code(c.from.as_deref().unwrap_or_default()),
                code(c.to.as_deref().unwrap_or_default())
            );
        }
        let archetype: Vec<&Change> = self.changes.iter().filter(|c| c.kind.is_archetype_level() && c.kind != ChangeKind::VersionChanged).collect();
        if !archetype.is_empty() {
            let _ = writeln!(out, "## Archetypes\n\n| change | archetype | detail |{extra_head}\n|---|---|---|{extra_rule}");
            for c in archetype {
                let name = c.archetype.as_deref().unwrap_or_default();
                let (subject, detail) = match c.kind {
                    ChangeKind::ArchetypeRenamed => (
                        format!("{} → {}", code(c.from.as_deref().unwrap_or_default()), code(name)),
                        format!("same {}", c.detected_by.as_deref().unwrap_or_default()),
                    ),
                    ChangeKind::ArchetypeDefinitionChanged => (code(name), "see below".to_string()),
                    ChangeKind::ArchetypeExamplesChanged => {
                        let mut d = Vec::new();
                        if !c.added.is_empty() {
                            d.push(format!("+ {}", c.added.join(", ")));
                        }
                        if !c.removed.is_empty() {
                            d.push(format!("− {}", c.removed.join(", ")));
                        }
                        (code(name), d.join("; "))
                    }
                    _ => (code(name), String::new()),
                };
                let _ = writeln!(out, "| {} | {subject} | {detail} |{}", c.kind.words(), effect_cells(c));
            }
            out.push('\n');
        }
        let types: Vec<&Change> = self.changes.iter().filter(|c| !c.kind.is_archetype_level()).collect();
        if !types.is_empty() {
            let _ = writeln!(out, "## Types\n\n| change | type | archetype |{extra_head}\n|---|---|---|{extra_rule}");
            for c in types {
                let label = c.label.as_deref().unwrap_or_default();
                let archetype = c.archetype.as_deref().unwrap_or_default();
                let (subject, arch) = match c.kind {
                    ChangeKind::TypeMoved => (
                        code(label),
                        format!("{} → {}", c.from.as_deref().unwrap_or_default(), c.to.as_deref().unwrap_or_default()),
                    ),
                    ChangeKind::TypeRenamed => (
                        format!("{} → {}", code(c.from.as_deref().unwrap_or_default()), code(label)),
                        match c.detected_by.as_deref() {
                            Some("spelling") => format!("{archetype} (close spelling)"),
                            other => format!("{archetype} (same {})", other.unwrap_or_default()),
                        },
                    ),
                    ChangeKind::TypeDefinitionChanged => (code(label), format!("{archetype}; see below")),
                    _ => (code(label), archetype.to_string()),
                };
                let _ = writeln!(out, "| {} | {subject} | {arch} |{}", c.kind.words(), effect_cells(c));
            }
            out.push('\n');
        }
        let defs: Vec<&Change> = self.changes.iter().filter(|c| !c.words.is_empty()).collect();
        if !defs.is_empty() {
            let _ = writeln!(out, "## Definitions\n\n~~removed~~ and **added** words.\n");
            for c in defs {
                let (what, name) = match c.kind {
                    ChangeKind::ArchetypeDefinitionChanged => ("archetype", c.archetype.as_deref().unwrap_or_default()),
                    _ => ("type", c.label.as_deref().unwrap_or_default()),
                };
                let _ = writeln!(out, "### {what} {}\n\n{}\n", code(name), render_words(&c.words));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_diff_joins_runs() {
        let ops = word_diff("a named person, real or fictional", "a particular person, real or imagined");
        assert_eq!(
            ops,
            vec![
                WordOp::Same("a".into()),
                WordOp::Added("particular".into()),
                WordOp::Removed("named".into()),
                WordOp::Same("person, real or".into()),
                WordOp::Added("imagined".into()),
                WordOp::Removed("fictional".into()),
            ]
        );
        assert_eq!(word_diff("same", "same"), vec![WordOp::Same("same".into())]);
    }

    #[test]
    fn edit_distance_counts_characters() {
        assert_eq!(edit_distance("machanical property", "mechanical property"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("Zürich", "Zurich"), 1);
    }

    fn mapping(body: &str) -> Mapping {
        let text = format!("kind: mapping\nname: t\nversion: '1'\ntaxonomy: a.yaml\narchetypes:\n{body}");
        Mapping::parse(&text, "t").unwrap()
    }

    fn version(body: &str) -> Version {
        Version { origin: "v".into(), archetypes: None, mapping: Some(mapping(body)) }
    }

    #[test]
    fn renamed_archetype_keeps_its_members_from_moving() {
        let old = version("  Creative_Work: [song, album]\n  Misc: [award]\n");
        let new = version("  Work: [song, album]\n  Misc: [award]\n");
        let d = diff(&old, &new);
        assert_eq!(d.changes.len(), 1);
        assert_eq!(d.changes[0].kind, ChangeKind::ArchetypeRenamed);
        assert_eq!((d.changes[0].from.as_deref(), d.changes[0].to.as_deref()), (Some("Creative_Work"), Some("Work")));
    }

    #[test]
    fn moves_typo_fixes_and_identity() {
        let old = version("  Misc: [award, machanical property]\n  Event: [war]\n");
        let new = version("  Misc: [mechanical property]\n  Event: [war, award]\n");
        let kinds: Vec<_> = diff(&old, &new).changes.iter().map(|c| (c.kind, c.label.clone().unwrap_or_default())).collect();
        assert_eq!(
            kinds,
            vec![(ChangeKind::TypeMoved, "award".to_string()), (ChangeKind::TypeRenamed, "mechanical property".to_string())]
        );
        assert!(diff(&old, &old).is_empty());
    }
}
