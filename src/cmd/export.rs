use super::{Ctx, Status};
use anyhow::Context;
use nerprep::writers::conll::export_conll;
use nerprep::writers::xmi::export_xmi;
use std::path::PathBuf;

/// Write a samples table back out in a source format.
///
/// conll: `TOKEN<TAB>TAG` lines with IOB2 tags, a blank line after each sentence; entities
/// BIO cannot express (overlapping, or cutting a token) are counted and left untagged.
///
/// xmi: one UIMA CAS XMI document per sample plus TypeSystem.xml, in a directory or a zip
/// (OUTPUT ending in .zip), for dkpro-cassis, UIMA and INCEpTION: DKPro NamedEntity
/// (value = label, identifier), webanno.custom.EntityRelation (Governor, Dependent, label),
/// UTF-16 offsets. Unaligned mentions and archetypes are not exported (counted).
///
/// Example:
///   nerprep export --format conll data/politics.parquet -o politics.conll
///   nerprep export --format xmi data/xmi.parquet -o xmi-out/
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Output format: conll, xmi.
    #[arg(long, short, value_parser = ["conll", "xmi"])]
    format: String,
    /// The samples table.
    input: PathBuf,
    /// The file (directory or .zip for xmi) to write.
    #[arg(long, short)]
    output: PathBuf,
}

pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<Status> {
    let counts = match args.format.as_str() {
        "xmi" => export_xmi(&args.input, &args.output),
        _ => export_conll(&args.input, &args.output),
    }
    .with_context(|| format!("exporting {} to {}", args.input.display(), args.output.display()))?;
    ctx.info(&counts);
    Ok(Status::Clean)
}
