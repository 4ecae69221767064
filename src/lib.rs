//! # nerprep
//!
//! Turns named-entity-recognition corpora into clean, deduplicated, taxonomy-aligned
//! instruction data for training LLM-based NER models.
//!
//! Data flows through one canonical table ([`model`], written by [`table`]):
//! [`readers`] turn each source format into [`model::Sample`]s, the [`ingest`] stage writes
//! them with a quarantine side table, [`stats`] describes a table and [`writers`] export it
//! back to source formats. Every stage accounts for its records with [`report::Counts`]
//! (`read = written + quarantined + skipped`). Later stages (taxonomy mapping, embeddings,
//! clustering, screening, pruning, emit, eval) are sibling modules that read and extend the
//! same table.

pub mod agreement;
pub mod align;
pub mod answer;
pub mod build;
pub mod cluster;
pub mod confusion;
pub mod consensus;
pub mod embed;
pub mod emit;
pub mod eval;
pub mod ingest;
pub mod io;
pub mod model;
pub mod params;
pub mod plot;
pub mod progress;
pub mod provenance;
pub mod prune;
pub mod readers;
pub mod report;
pub mod rng;
pub mod screen;
pub mod script;
pub mod stats;
pub mod table;
pub mod taxonomy;
pub mod writers;
pub mod uima;
pub mod vector;
