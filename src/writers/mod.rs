//! Writers: the canonical table back out to source formats (`nerprep export`).
//!
//! Each writer turns samples into one output format and counts what it could not express
//! (overlapping spans in BIO, say) instead of dropping it silently.

pub mod conll;
pub mod xmi;

pub use conll::ExportError;

use serde::{Deserialize, Serialize};

/// The formats `export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// `TOKEN<TAB>TAG` lines with IOB2 tags, one blank line after each sentence.
    Conll,
    /// UIMA CAS XMI documents plus TypeSystem.xml, in a directory or a zip.
    Xmi,
}

/// Parameters of `export` (flags and the recipe's `export` section).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct ExportParams {
    /// Output format: conll or xmi (required).
    #[arg(long, short, value_enum, required = true)]
    pub format: Option<ExportFormat>,
}

impl crate::params::StageParams for ExportParams {
    const STAGE: &'static str = "export";
    type Valid = ExportFormat;

    fn check(&self) -> Result<ExportFormat, crate::params::ParamsError> {
        let c = crate::params::Checker::new(Self::STAGE);
        match self.format {
            Some(f) => Ok(f),
            None => Err(c.fail("format", "is required (conll or xmi)")),
        }
    }
}
