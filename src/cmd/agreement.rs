use super::{Ctx, Status};
use anyhow::Context;
use nerprep::agreement::{agreement, AgreementParams};
use std::path::PathBuf;

/// Inter-annotator agreement of the annotators of a samples table.
///
/// Samples are versions of one document by different annotators when they carry the same
/// meta.document (and dataset and view/sentence) and different meta.annotator, as ingest
/// records them for an INCEpTION project export read with --annotators all (or a list of
/// users, `curation` included if wanted). For every pair of annotators: strict span + label
/// precision, recall and F1 (the pair's first annotator, by name, is the reference) overall,
/// per label and per layer, and every disagreement with both versions. Writes DIR/report.md,
/// report.json, confusion.csv and confusion.png (label confusions between annotators on the
/// same span, pooled over the pairs) and provenance.json.
///
/// Example:
///   nerprep ingest --format xmi --entity-type webanno.custom.Content --annotators all project.zip -o ann.parquet
///   nerprep agreement ann.parquet -o agreement/
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The samples table.
    input: PathBuf,
    #[command(flatten)]
    params: AgreementParams,
    /// The directory to write the report into.
    #[arg(long, short)]
    output: PathBuf,
}

pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<Status> {
    let params = super::checked("agreement", &args.params);
    let outcome = agreement(&args.input, &params, &args.output).with_context(|| format!("agreement of {}", args.input.display()))?;
    let r = &outcome.report;
    ctx.info(&r.counts);
    for p in &r.pairs {
        ctx.info(format!(
            "{} – {}: {} units, P {:.4} R {:.4} F1 {:.4}, {} disagreements",
            p.first,
            p.second,
            p.units,
            p.scores.micro.precision,
            p.scores.micro.recall,
            p.scores.micro.f1,
            p.disagreements.len()
        ));
    }
    ctx.info(format!("all pairs: F1 {:.4}; wrote {}", r.pooled.f1, args.output.display()));
    Ok(Status::Clean)
}
