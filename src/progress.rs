//! Progress reporting without a terminal library in the stages' signatures.
//!
//! Stage code reports through [`Progress`]; the CLI implements it with `indicatif` bars on
//! stderr, the recipe build with its own per-stage bars, and tests and library users pass
//! [`NoProgress`]. Implementations must be cheap to call per record and safe to share
//! between the threads of a parallel stage.

/// Somewhere a stage says how far it has come.
pub trait Progress: Sync {
    /// The amount of work expected (bytes, records: the stage says which in `unit`), once known.
    fn start(&self, total: Option<u64>, unit: Unit);
    /// `n` more units done.
    fn advance(&self, n: u64);
    /// The stage is done; a bar disappears.
    fn finish(&self);
}

/// What a stage counts its progress in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Input bytes read.
    Bytes,
    /// Records, samples or texts processed.
    Items,
}

/// Reports nowhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _total: Option<u64>, _unit: Unit) {}
    fn advance(&self, _n: u64) {}
    fn finish(&self) {}
}
