//! Writers: the canonical table back out to source formats (`nerprep export`).
//!
//! Each writer turns samples into one output format and counts what it could not express
//! (overlapping spans in BIO, say) instead of dropping it silently.

pub mod conll;
pub mod xmi;

pub use conll::ExportError;
