use super::{Ctx, Status};
use anyhow::Context;
use nerprep::writers::conll::export_conll;
use nerprep::writers::xmi::export_xmi;
use nerprep::writers::{ExportFormat, ExportParams};
use std::path::PathBuf;

/// Write a samples table back out in a source format.
///
/// conll: `TOKEN<TAB>TAG` lines with IOB2 tags, a blank line after each sentence; entities
/// BIO cannot express (overlapping, or cutting a token) are counted and left untagged.
///
/// xmi: one UIMA CAS XMI document per sample plus TypeSystem.xml, in a directory or a zip
/// (OUTPUT ending in .zip), for dkpro-cassis, UIMA and INCEpTION: entities as annotations of
/// their layer's type (the one they were read from; DKPro NamedEntity without a layer;
/// value = label, identifier), `coref` relations as coreference chains, other relations as
/// webanno.custom.EntityRelation (Governor, Dependent, label), UTF-16 offsets. Unaligned
/// mentions and archetypes are not exported (counted).
///
/// Example:
///   nerprep export --format conll data/politics.parquet -o politics.conll
///   nerprep export --format xmi data/xmi.parquet -o xmi-out/
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(flatten)]
    params: ExportParams,
    /// The samples table.
    input: PathBuf,
    /// xmi: write into a directory that is not empty, replacing only the files export writes.
    #[arg(long)]
    force: bool,
    /// The file (directory or .zip for xmi) to write.
    #[arg(long, short)]
    output: PathBuf,
}

pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<Status> {
    let format = super::checked("export", &args.params);
    super::refuse_overwriting("export", &[&args.input], &args.output);
    let mut provenance = nerprep::provenance::Provenance::of(&args.params);
    provenance.input(&args.input)?;
    let counts = match format {
        ExportFormat::Xmi => export_xmi(&args.input, &args.output, args.force, provenance.clone()),
        ExportFormat::Conll => export_conll(&args.input, &args.output),
    }
    .with_context(|| format!("exporting {} to {}", args.input.display(), args.output.display()))?;
    if format == ExportFormat::Conll {
        provenance.counts = Some(counts.clone());
        provenance.write_sidecar(&args.output)?;
    }
    ctx.info(&counts);
    Ok(Status::Clean)
}
