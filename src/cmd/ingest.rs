use super::{Ctx, Status};
use anyhow::Context;
use nerprep::ingest::{ingest, IngestOptions};
use nerprep::model::SourceFormat;
use nerprep::readers::b2nerd::B2nerdReader;
use nerprep::readers::crossner::CrossnerReader;
use nerprep::readers::iepile::IepileReader;
use nerprep::readers::mentions::MergeMode;
use nerprep::readers::pile_ner::PileNerReader;
use nerprep::readers::{LangPolicy, Reader};
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
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Input format: crossner, b2nerd, iepile, pile-ner.
    #[arg(long, short)]
    format: SourceFormat,
    /// Dataset name; default: IEPile's `source` field, else from the file name
    /// (`music_dev.txt`, `music/dev.txt` → music; CrossNER names get a `crossner_` prefix).
    #[arg(long)]
    dataset: Option<String>,
    /// Split (train, dev, test, …); default: from the file name, else `unknown`.
    #[arg(long)]
    split: Option<String>,
    /// Language code, or `auto` to guess per sample from the script (Han → zh, else en).
    #[arg(long, default_value = "auto")]
    lang: String,
    /// B2NERD: the dataset's labels.json; default: `labels.json` beside the split file, or
    /// the split name in the file name replaced by `labels`.
    #[arg(long)]
    labels: Option<PathBuf>,
    /// IEPile, Pile-NER: which records repeating one passage become one sample (entities and
    /// label sets united): `consecutive` runs (constant memory), `global` over the whole file
    /// (memory grows with the number of distinct passages; samples are written at the end of
    /// each file), or `none` (one sample per record).
    #[arg(long, default_value = "consecutive")]
    merge: MergeMode,
    /// Input files or directories (directories are searched for files of the format).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// The samples table to write.
    #[arg(long, short)]
    output: PathBuf,
}

pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<Status> {
    let reader: Box<dyn Reader> = match args.format {
        SourceFormat::Crossner => Box::new(CrossnerReader),
        SourceFormat::B2nerd => Box::new(B2nerdReader { labels: args.labels.clone() }),
        SourceFormat::Iepile => Box::new(IepileReader { merge: args.merge, source_as_dataset: args.dataset.is_none() }),
        SourceFormat::PileNer => Box::new(PileNerReader { merge: args.merge }),
        other => anyhow::bail!("ingest --format {other} is not supported yet; supported: crossner, b2nerd, iepile, pile-ner"),
    };
    let options = IngestOptions { dataset: args.dataset, split: args.split, lang: LangPolicy::parse(&args.lang) };
    let bar = ctx.bytes_bar("ingest");
    let outcome = ingest(reader.as_ref(), &args.inputs, &options, &args.output, &bar)
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
