//! The rules of `nerprep taxonomy check`: within a mapping file, across a mapping and its
//! archetypes file, and across every file checked together.
//!
//! Errors make a file unusable (`map` refuses it); warnings are allowed because the sources
//! really contain them (IEPile has both `Location` and `location`); notes are for reviewers.

use super::files::{file_kind, Archetypes, FileKind, Mapping};
use super::tree::{segments, LabelTree};
use super::{normalize_label, Diagnostic, Severity, TaxonomyError};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Where a spelling (label or alias) sits in a mapping.
#[derive(Clone, Copy)]
struct Spot {
    group: usize,
    entry: usize,
    alias: Option<usize>,
}

impl Mapping {
    fn spot_line(&self, s: Spot) -> Option<usize> {
        self.line(s.group, Some(s.entry), s.alias)
    }

    fn spellings_with_spots(&self) -> Vec<(&str, Spot)> {
        let mut out = Vec::new();
        for (g, (_, entries)) in self.groups.iter().enumerate() {
            for (i, e) in entries.iter().enumerate() {
                out.push((e.label.as_str(), Spot { group: g, entry: i, alias: None }));
                for (j, a) in e.aliases.iter().enumerate() {
                    out.push((a.as_str(), Spot { group: g, entry: i, alias: Some(j) }));
                }
            }
        }
        out
    }

    /// The rules of one mapping file on its own: groups exist, are unique and non-empty;
    /// every label (and alias) is listed once, under one archetype; labels and definitions
    /// are non-empty (and present when `require_definitions`); `parent -> child` labels form
    /// a tree without cycles. Case/space/underscore variants are warnings, unreviewed
    /// entries a note.
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        if self.groups.is_empty() {
            out.push(self.diag(Severity::Error, None, "no_archetypes", "`archetypes:` lists no archetype".into()));
        }
        self.group_rules(&mut out);
        let spots = self.spellings_with_spots();
        self.entry_rules(&spots, &mut out);
        self.variant_rules(&spots, &mut out);
        self.tree_rules(&spots, &mut out);
        let total = self.entries().count();
        let drafts = self.entries().filter(|e| !e.reviewed).count();
        if drafts > 0 {
            out.push(self.diag(
                Severity::Note,
                None,
                "unreviewed",
                format!("{drafts} of {total} entries are unreviewed drafts (`reviewed: false`)"),
            ));
        }
        out
    }

    fn group_rules(&self, out: &mut Vec<Diagnostic>) {
        let mut first = BTreeMap::<&str, usize>::new();
        for (g, (name, entries)) in self.groups.iter().enumerate() {
            if let Some(&f) = first.get(name.as_str()) {
                let at = self.line(f, None, None).map(|l| format!(" (first at line {l})")).unwrap_or_default();
                out.push(self.diag(
                    Severity::Error,
                    self.line(g, None, None),
                    "duplicate_archetype",
                    format!("archetype `{name}` is listed twice{at}; merge the two lists"),
                ));
            } else {
                first.insert(name, g);
            }
            if entries.is_empty() {
                out.push(self.diag(
                    Severity::Error,
                    self.line(g, None, None),
                    "empty_archetype",
                    format!("archetype `{name}` has no labels; list at least one or remove it"),
                ));
            }
        }
    }

    fn entry_rules(&self, spots: &[(&str, Spot)], out: &mut Vec<Diagnostic>) {
        let mut first = BTreeMap::<&str, Spot>::new();
        for &(spelling, spot) in spots {
            let archetype = &self.groups[spot.group].0;
            if spelling.trim().is_empty() {
                out.push(self.diag(
                    Severity::Error,
                    self.spot_line(spot),
                    "empty_label",
                    format!("empty label under `{archetype}`"),
                ));
                continue;
            }
            match first.get(spelling) {
                Some(&f) if self.groups[f.group].0 != *archetype => {
                    let other = &self.groups[f.group].0;
                    let at = self.spot_line(f).map(|l| format!(" (line {l})")).unwrap_or_default();
                    out.push(self.diag(
                        Severity::Error,
                        self.spot_line(spot),
                        "type_in_two_archetypes",
                        format!("`{spelling}` is listed under `{archetype}` and also under `{other}`{at}; a type maps to one archetype"),
                    ));
                }
                Some(&f) => {
                    let at = self.spot_line(f).map(|l| format!(" (first at line {l})")).unwrap_or_default();
                    out.push(self.diag(
                        Severity::Warning,
                        self.spot_line(spot),
                        "duplicate_type",
                        format!("`{spelling}` is listed twice under `{archetype}`{at}"),
                    ));
                }
                None => {
                    first.insert(spelling, spot);
                }
            }
        }
        for e in self.entries() {
            let line = || self.line_of_entry(e);
            match &e.definition {
                Some(d) if d.trim().is_empty() => out.push(self.diag(
                    Severity::Error,
                    line(),
                    "empty_definition",
                    format!("`{}` has an empty definition", e.label),
                )),
                None if self.require_definitions => out.push(self.diag(
                    Severity::Error,
                    line(),
                    "missing_definition",
                    format!("`{}` has no definition, and this mapping sets `require_definitions: true`", e.label),
                )),
                _ => {}
            }
        }
    }

    fn variant_rules(&self, spots: &[(&str, Spot)], out: &mut Vec<Diagnostic>) {
        let mut by_key = BTreeMap::<String, Vec<(&str, Spot)>>::new();
        for &(s, spot) in spots {
            let list = by_key.entry(normalize_label(s)).or_default();
            if !list.iter().any(|(t, _)| *t == s) {
                list.push((s, spot));
            }
        }
        for variants in by_key.values() {
            let entries: BTreeSet<(usize, usize)> = variants.iter().map(|(_, s)| (s.group, s.entry)).collect();
            if entries.len() < 2 {
                continue; // a label and its own alias may differ only in spacing
            }
            let archetypes: BTreeSet<&str> = variants.iter().map(|(_, s)| self.groups[s.group].0.as_str()).collect();
            let listed: Vec<String> = variants
                .iter()
                .map(|(s, spot)| {
                    let at = self.spot_line(*spot).map(|l| format!("line {l}, ")).unwrap_or_default();
                    format!("`{s}` ({at}{})", self.groups[spot.group].0)
                })
                .collect();
            let tail = if archetypes.len() > 1 {
                "; they map to different archetypes, so `map --normalize` cannot use them"
            } else {
                ""
            };
            out.push(self.diag(
                Severity::Warning,
                self.spot_line(variants[0].1),
                "case_variant",
                format!("labels differing only in case, spaces or underscores: {}{tail}", listed.join(", ")),
            ));
        }
    }

    fn tree_rules(&self, spots: &[(&str, Spot)], out: &mut Vec<Diagnostic>) {
        let mut tree = LabelTree::default();
        let mut line_of_label = BTreeMap::<&str, Spot>::new();
        for &(s, spot) in spots {
            line_of_label.entry(s).or_insert(spot);
            if !tree.add(s) {
                out.push(self.diag(
                    Severity::Error,
                    self.spot_line(spot),
                    "bad_hierarchy",
                    format!("`{s}` has an empty part; hierarchical labels are `parent -> child`"),
                ));
            }
        }
        let line = |label: &str| line_of_label.get(label).and_then(|s| self.spot_line(*s));
        for cycle in tree.cycles() {
            let closing = tree.edge_label(&cycle[cycle.len() - 2], &cycle[cycle.len() - 1]).unwrap_or_default();
            out.push(self.diag(
                Severity::Error,
                line(closing),
                "hierarchy_cycle",
                format!("`parent -> child` labels form a cycle: {} (closed by `{closing}`)", cycle.join(" -> ")),
            ));
        }
        for (child, parents) in tree.multi_parent() {
            let first = tree.edge_label(parents[0], child).unwrap_or_default();
            out.push(self.diag(
                Severity::Warning,
                line(first),
                "several_parents",
                format!("`{child}` is a child of several parents ({}); the hierarchy is not a tree there", parents.join(", ")),
            ));
        }
        let flat: BTreeSet<&str> = spots.iter().map(|(s, _)| s.trim()).collect();
        for parent in tree.parent_names() {
            let is_child_somewhere = spots.iter().any(|(s, _)| segments(s).and_then(Result::ok).is_some_and(|p| p[1..].contains(&parent)));
            if !flat.contains(parent) && !is_child_somewhere {
                let child = tree.children(parent).next().unwrap_or_default();
                let label = tree.edge_label(parent, child).unwrap_or_default();
                out.push(self.diag(
                    Severity::Warning,
                    line(label),
                    "parent_not_listed",
                    format!("parent `{parent}` (of `{label}`) is not listed as a label of its own"),
                ));
            }
        }
    }

    /// The rules across a mapping and its archetypes file: every archetype the mapping uses
    /// is defined there.
    pub fn diagnostics_against(&self, archetypes: &Archetypes) -> Vec<Diagnostic> {
        let known: BTreeMap<String, &str> = archetypes.iter().map(|a| (normalize_label(&a.name), a.name.as_str())).collect();
        let mut out = Vec::new();
        for (g, (name, _)) in self.groups.iter().enumerate() {
            if archetypes.get(name).is_some() {
                continue;
            }
            let hint = known.get(&normalize_label(name)).map(|k| format!("; did you mean `{k}`?")).unwrap_or_default();
            out.push(self.diag(
                Severity::Error,
                self.line(g, None, None),
                "unknown_archetype",
                format!("archetype `{name}` is not defined in {}{hint}", archetypes.origin()),
            ));
        }
        out
    }
}

/// What `taxonomy check` found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckReport {
    /// Files checked, in the order they were found.
    pub files: Vec<String>,
    /// Everything found, file by file, by line.
    pub diagnostics: Vec<Diagnostic>,
}

impl CheckReport {
    /// Number of diagnostics of `severity`.
    pub fn count(&self, severity: Severity) -> usize {
        self.diagnostics.iter().filter(|d| d.severity == severity).count()
    }

    /// True when nothing error-level was found.
    pub fn passed(&self) -> bool {
        self.count(Severity::Error) == 0
    }
}

/// Collects `*.yaml`/`*.yml` files: a file as given, a directory searched recursively
/// (links followed, loops not), sorted.
fn collect_files(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), TaxonomyError> {
    if !path.is_dir() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let (files, _) = crate::io::walk_files(path)?;
    out.extend(files.into_iter().filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml")));
    Ok(())
}

fn as_diagnostic(e: TaxonomyError, file: &str) -> Vec<Diagnostic> {
    match e {
        TaxonomyError::Parse { file, line, message } => vec![Diagnostic::new(Severity::Error, file, line, "parse", message)],
        TaxonomyError::Invalid(ds) => ds,
        other => vec![Diagnostic::new(Severity::Error, file, None, "read", other.to_string())],
    }
}

/// Checks every archetypes and mapping file under `paths` (files or directories), each
/// mapping also against the archetypes file its `taxonomy:` names, and every archetype of
/// an archetypes file among `paths` for at least one label in the mappings checked.
///
/// Only failing to list a directory is an `Err`; unreadable or broken files are reported
/// as error diagnostics so that one run shows every problem.
pub fn check_paths(paths: &[PathBuf]) -> Result<CheckReport, TaxonomyError> {
    let mut files = Vec::new();
    for p in paths {
        collect_files(p, &mut files)?;
    }
    let mut report = CheckReport::default();
    let mut taxonomies = BTreeMap::<PathBuf, Option<Archetypes>>::new();
    let mut used = BTreeMap::<PathBuf, BTreeSet<String>>::new();
    let mut given = BTreeSet::<PathBuf>::new();
    for file in &files {
        let origin = file.display().to_string();
        report.files.push(origin.clone());
        let text = match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) => {
                report.diagnostics.push(Diagnostic::new(Severity::Error, &origin, None, "read", e.to_string()));
                continue;
            }
        };
        let mut found = match file_kind(&text, &origin) {
            Err(e) => as_diagnostic(e, &origin),
            Ok(FileKind::Archetypes) => match Archetypes::parse(&text, &origin) {
                Ok(a) => {
                    let ds = a.diagnostics();
                    given.insert(key(file));
                    taxonomies.entry(key(file)).or_insert(Some(a));
                    ds
                }
                Err(e) => as_diagnostic(e, &origin),
            },
            Ok(FileKind::Mapping) => match Mapping::from_source(&super::Source::File(file.clone())) {
                Ok(m) => {
                    let mut ds = m.diagnostics();
                    let tax_path = m.taxonomy_path();
                    let tax = taxonomies.entry(key(&tax_path)).or_insert_with(|| {
                        let text = std::fs::read_to_string(&tax_path).ok()?;
                        Archetypes::parse(&text, &tax_path.display().to_string()).ok()
                    });
                    match tax {
                        Some(a) => {
                            ds.extend(m.diagnostics_against(a));
                            used.entry(key(&tax_path)).or_default().extend(m.groups.iter().filter(|(_, e)| !e.is_empty()).map(|(n, _)| n.clone()));
                        }
                        None => ds.push(Diagnostic::new(
                            Severity::Error,
                            &origin,
                            super::locate::line_of(&text, &[super::locate::Step::Key("taxonomy")]),
                            "taxonomy_unreadable",
                            format!("cannot load the archetypes file `{}` named by `taxonomy:`", tax_path.display()),
                        )),
                    }
                    ds
                }
                Err(e) => as_diagnostic(e, &origin),
            },
        };
        found.sort_by_key(|d| (d.severity != Severity::Note, d.line));
        report.diagnostics.extend(found);
    }
    // Only archetypes files that were themselves checked: checking one mapping alone should
    // not complain about the archetypes other mappings cover.
    for (path, names) in used.iter().filter(|(p, _)| given.contains(*p)) {
        if let Some(Some(a)) = taxonomies.get(path) {
            for (i, arch) in a.iter().enumerate() {
                if !names.contains(&arch.name) {
                    report.diagnostics.push(Diagnostic::new(
                        Severity::Warning,
                        a.origin(),
                        a.line_of(i),
                        "unused_archetype",
                        format!("archetype `{}` has no labels in any mapping checked", arch.name),
                    ));
                }
            }
        }
    }
    Ok(report)
}

/// A path key that names the same file the same way however it was reached.
fn key(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(body: &str) -> Mapping {
        let text = format!("kind: mapping\nname: t\nversion: '1'\ntaxonomy: a.yaml\narchetypes:\n{body}");
        Mapping::parse(&text, "t.yaml").unwrap()
    }

    fn codes(m: &Mapping) -> Vec<(&'static str, Option<usize>)> {
        m.diagnostics().into_iter().map(|d| (d.code, d.line)).collect()
    }

    #[test]
    fn a_type_under_two_archetypes_is_an_error_on_its_line() {
        let m = mapping("  Person: [actor]\n  Misc:\n    - else\n    - actor\n");
        assert_eq!(codes(&m), vec![("type_in_two_archetypes", Some(9))]);
    }

    #[test]
    fn empty_groups_and_definitions_are_errors() {
        let m = mapping("  Person: []\n  Misc:\n    - {label: x, definition: ' '}\n");
        assert_eq!(codes(&m), vec![("empty_archetype", Some(6)), ("empty_definition", Some(8))]);
    }

    #[test]
    fn case_variants_are_warnings_not_errors() {
        let m = mapping("  Location: [Location, location, exact location]\n");
        let ds = m.diagnostics();
        assert_eq!(ds.len(), 1);
        assert_eq!((ds[0].severity, ds[0].code), (Severity::Warning, "case_variant"));
        assert!(ds[0].message.contains("`Location` (line 6, Location), `location` (line 6, Location)"), "{}", ds[0].message);
    }

    #[test]
    fn hierarchy_cycles_and_empty_parts_are_errors() {
        let m = mapping("  Misc:\n    - a -> b\n    - b -> a\n    - 'c ->'\n");
        let c = codes(&m);
        assert!(c.contains(&("bad_hierarchy", Some(9))), "{c:?}");
        assert!(c.contains(&("hierarchy_cycle", Some(8))), "{c:?}");
    }

    #[test]
    fn a_label_and_its_alias_may_differ_in_spacing() {
        let m = mapping("  Person:\n    - {label: musicalartist, aliases: [musical artist]}\n");
        assert!(m.diagnostics().is_empty());
        assert_eq!(m.archetype_of("musical artist"), Some("Person"));
    }
}
