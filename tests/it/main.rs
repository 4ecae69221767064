//! Integration tests: the `nerprep` binary and the library over the real fixtures.
//! One test binary (ripgrep-style) keeps link time down; one module per subcommand/format.

mod common;

mod answer;
mod b2nerd;
mod bad_input;
mod crossner;
mod embed;
mod emit;
mod map;
mod stats;
mod taxonomy;
