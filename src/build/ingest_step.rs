//! The ingest step of a build: an input's files through its format's reader.
//!
//! The parameters are the ingest stage's own (format, dataset, split, lang); the build
//! hands it the expanded files of one input.

use crate::ingest::{ingest, IngestOptions};
use crate::model::SourceFormat;
use crate::params::{Checker, ParamsError, StageParams};
use crate::readers::b2nerd::B2nerdReader;
use crate::readers::crossner::CrossnerReader;
use crate::readers::iepile::IepileReader;
use crate::readers::mentions::MergeMode;
use crate::readers::pile_ner::PileNerReader;
use crate::readers::xmi::{ingest_xmi, XmiOptions};
use crate::readers::{LangPolicy, ReadError, Reader};
use crate::report::Counts;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// How one recipe input is read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct InputIngestParams {
    /// The input format: crossner, b2nerd, iepile, pile-ner, xmi (required).
    pub format: Option<SourceFormat>,
    /// Dataset name; default: from the file names (as `nerprep ingest` derives it).
    pub dataset: Option<String>,
    /// Split; default: from the file names, else `unknown`.
    pub split: Option<String>,
    /// Language code, or `auto` (default) to guess per sample from the script.
    pub lang: Option<String>,
    /// XMI: TypeSystem XML files.
    pub typesystem: Vec<PathBuf>,
}

impl StageParams for InputIngestParams {
    const STAGE: &'static str = "ingest";
    type Valid = InputIngestParams;

    fn check(&self) -> Result<InputIngestParams, ParamsError> {
        let mut c = Checker::new(Self::STAGE);
        c.require(self.format.is_some(), "format", "is required (crossner, b2nerd, iepile, pile-ner or xmi)");
        c.require(self.typesystem.is_empty() || self.format == Some(SourceFormat::Xmi), "typesystem", "applies to format xmi only");
        c.finish().map(|()| self.clone())
    }
}

/// Ingests `files` into `output` (and its quarantine table); returns the counts.
pub fn run_ingest(params: &InputIngestParams, files: &[PathBuf], output: &Path) -> Result<Counts, ReadError> {
    let options = IngestOptions {
        dataset: params.dataset.clone(),
        split: params.split.clone(),
        lang: LangPolicy::parse(params.lang.as_deref().unwrap_or("auto")),
    };
    let bar = indicatif::ProgressBar::hidden();
    let outcome = match params.format {
        Some(SourceFormat::Xmi) => {
            let xmi = XmiOptions { typesystems: params.typesystem.clone(), ..XmiOptions::default() };
            ingest_xmi(files, xmi, &options, output, &bar)?
        }
        Some(format) => {
            let reader: Box<dyn Reader> = match format {
                SourceFormat::Crossner => Box::new(CrossnerReader),
                SourceFormat::B2nerd => Box::new(B2nerdReader { labels: None }),
                SourceFormat::Iepile => Box::new(IepileReader { merge: MergeMode::Consecutive, source_as_dataset: params.dataset.is_none() }),
                SourceFormat::PileNer => Box::new(PileNerReader { merge: MergeMode::Consecutive }),
                SourceFormat::Xmi => unreachable!("handled above"),
            };
            ingest(reader.as_ref(), files, &options, output, &bar)?
        }
        None => return Err(ReadError::Input { path: output.to_path_buf(), line: None, message: "no format".into() }),
    };
    Ok(outcome.counts)
}
