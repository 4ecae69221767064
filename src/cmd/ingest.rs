use super::{Ctx, IndicatifProgress, Status};
use anyhow::Context;
use nerprep::ingest::{ingest, IngestParams};
use std::path::PathBuf;

/// Read a corpus into the canonical samples table (Parquet).
///
/// Writes OUTPUT and OUTPUT's quarantine side table (`x.parquet` → `x.quarantine.parquet`)
/// holding every record that could not be read, with file, line and reason. Exits 1 when
/// anything was quarantined; the good records are written all the same.
///
/// Example:
///   nerprep ingest --format crossner fixtures/crossner/politics_train.txt -o data/politics.parquet
///   nerprep ingest --format b2nerd fixtures/b2nerd/CrossNER_AI/train.json -o data/ai.parquet
///   nerprep ingest --format iepile fixtures/iepile -o data/iepile.parquet
///   nerprep ingest --format pile-ner --split test fixtures/pile-ner/mit-restaurant_head.json -o data/mit.parquet
///   nerprep ingest --format xmi fixtures/xmi/edge -o data/edge.parquet
///   nerprep ingest --format xmi --split-sentences fixtures/xmi/edge -o data/edge-sent.parquet
///   nerprep ingest --format iepile --shard 0/4 big/ -o data/part0.parquet   (and 1/4, 2/4, 3/4)
///
///   nerprep ingest --format xmi --entity-type webanno.custom.Metadata --entity-type webanno.custom.Content \
///       --annotators all fixtures/xmi/project/frame_project.zip -o data/frame.parquet
///
/// xmi: UIMA CAS XMI files, directories of them, zips of them, or INCEpTION project exports
/// (a zip with exportedproject.json: annotation/<doc>/<user>.zip, curation/<doc>/CURATION_USER.zip;
/// --annotators picks whose), with a TypeSystem XML (--typesystem, or TypeSystem.xml inside
/// the zip or beside the files). One sample per document (view); entities are every
/// --entity-type (a layer each) and their subtypes; DKPro coreference chains become `coref`
/// relations between consecutive mentions.
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(flatten)]
    params: IngestParams,
    /// Input files or directories (directories are searched for files of the format).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// The samples table to write.
    #[arg(long, short)]
    output: PathBuf,
}

pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<Status> {
    let params = super::checked("ingest", &args.params);
    super::refuse_overwriting("ingest", &args.inputs.iter().map(PathBuf::as_path).collect::<Vec<_>>(), &args.output);
    let progress = IndicatifProgress::new(ctx, "ingest");
    let outcome = ingest(&params, &args.inputs, &args.output, &progress)
        .with_context(|| format!("ingesting into {}", args.output.display()))?;
    for q in &outcome.problems {
        eprintln!("error: {}: {}: {}", q.location(), q.reason, q.message);
    }
    let quarantined = outcome.counts.quarantined_total();
    if quarantined > outcome.problems.len() as u64 {
        eprintln!("error: … and {} more; see {}", quarantined - outcome.problems.len() as u64, outcome.quarantine.display());
    }
    ctx.info(&outcome.counts);
    ctx.info(format!("wrote {} and {}", outcome.output.display(), outcome.quarantine.display()));
    Ok(if quarantined > 0 { Status::BadInput } else { Status::Clean })
}
