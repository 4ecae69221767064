use super::{Ctx, Status};
use anyhow::Context;
use nerprep::writers::conll::export_conll;
use std::path::PathBuf;

/// Write a samples table back out in a source format.
///
/// conll: `TOKEN<TAB>TAG` lines with IOB2 tags, a blank line after each sentence; entities
/// BIO cannot express (overlapping, or cutting a token) are counted and left untagged.
///
/// Example:
///   nerprep export --format conll data/politics.parquet -o politics.conll
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Output format: conll.
    #[arg(long, short, value_parser = ["conll"])]
    format: String,
    /// The samples table.
    input: PathBuf,
    /// The file to write.
    #[arg(long, short)]
    output: PathBuf,
}

pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<Status> {
    let counts = match args.format.as_str() {
        _ => export_conll(&args.input, &args.output),
    }
    .with_context(|| format!("exporting {} to {}", args.input.display(), args.output.display()))?;
    ctx.info(&counts);
    Ok(Status::Clean)
}
