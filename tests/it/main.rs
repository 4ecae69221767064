//! Integration tests: the `nerprep` binary and the library over the real fixtures.
//! One test binary (ripgrep-style) keeps link time down; one module per subcommand/format.

mod common;

mod answer;
mod answers;
mod b2nerd;
mod build;
mod cluster;
mod bad_input;
mod bad_input_suite;
mod consensus;
mod crossner;
mod embed;
mod emit;
mod eval;
mod inception;
mod agreement;
mod iepile;
mod ingest;
mod map;
mod pile_ner;
mod regression;
mod screen;
mod confusion;
mod prune;
mod stats;
mod tables;
mod taxonomy;
mod xmi;
