//! The taxonomy stage: the 14 SAM-NER archetypes, mappings from source labels to them, the
//! checks that keep both sane, mapping a samples table, and reviewable diffs of changes.
//!
//! Data enters as YAML: `taxonomy/archetypes.yaml` ([`Archetypes`]: name, definition,
//! examples) and `mappings/*.yaml` ([`Mapping`]: labels grouped under archetypes, with
//! optional one-line definitions, aliases and review status). [`check_paths`] applies the
//! rules of `nerprep taxonomy check` with `file:line` diagnostics. [`map_table`] streams a
//! samples table and fills the nullable `entities.archetype` column, returning a
//! [`Coverage`] report. [`diff`] compares two versions (files, directories or
//! `git:REV:path`) and, given data, says what each change does to it.
//!
//! Other stages use the small loading API:
//!
//! ```
//! use nerprep::taxonomy::{Archetypes, Mapping};
//! let root = env!("CARGO_MANIFEST_DIR");
//! let archetypes = Archetypes::load(format!("{root}/taxonomy/archetypes.yaml")).unwrap();
//! let crossner = Mapping::load(format!("{root}/mappings/crossner.yaml")).unwrap();
//! for a in archetypes.iter() {
//!     assert!(!a.definition.is_empty()); // a.name, a.definition, a.examples
//! }
//! let archetype = crossner.archetype_of("band").unwrap(); // "Organization"
//! let described = crossner.definition_of("band").unwrap(); // one line, our words
//! assert!(archetypes.get(archetype).is_some() && !described.is_empty());
//! ```

mod apply;
mod check;
mod definitions;
mod diff;
mod error;
mod files;
mod locate;
mod source;
pub mod tree;

pub use apply::{map_stage, map_table, Coverage, MapOptions, MapParams, MapOutcome, NormalizedHit, Resolver, UnmappedPolicy, UnmappedType};
pub use check::{check_paths, CheckReport};
pub use definitions::definitions;
pub use diff::{diff, measure, word_diff, Change, ChangeKind, DataEffect, TaxonomyDiff, Version, WordOp};
pub use error::{Diagnostic, Severity, TaxonomyError};
pub use files::{file_kind, Archetype, Archetypes, FileKind, Mapping, MappingEntry};
pub use source::Source;

/// The archetype unmapped entities get with `--unmapped misc`.
pub const MISC: &str = "Misc";

/// The key under which `--normalize` matches labels: lower case, with whitespace and
/// underscores removed (`Creative_Work`, `creative work` and `creativework` all match).
///
/// ```
/// assert_eq!(nerprep::taxonomy::normalize_label(" Musical_Artist "), "musicalartist");
/// ```
pub fn normalize_label(label: &str) -> String {
    label.chars().filter(|c| !c.is_whitespace() && *c != '_').flat_map(char::to_lowercase).collect()
}
