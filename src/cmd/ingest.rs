use super::{Ctx, Status};
use anyhow::Context;
use nerprep::ingest::{ingest, IngestOptions};
use nerprep::model::SourceFormat;
use nerprep::readers::b2nerd::B2nerdReader;
use nerprep::readers::crossner::CrossnerReader;
use nerprep::readers::iepile::IepileReader;
use nerprep::readers::mentions::MergeMode;
use nerprep::readers::pile_ner::PileNerReader;
use nerprep::readers::xmi::{ingest_xmi, ViewSelection, XmiOptions};
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
///   nerprep ingest --format xmi fixtures/xmi/edge -o data/edge.parquet
///   nerprep ingest --format xmi --split-sentences fixtures/xmi/edge -o data/edge-sent.parquet
///
/// xmi: UIMA CAS XMI files, directories of them, or zips of them (INCEpTION export), with a
/// TypeSystem XML (--typesystem, or TypeSystem.xml inside the zip or beside the files).
/// One sample per document (view); entities are --entity-type and its subtypes.
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Input format: crossner, b2nerd, iepile, pile-ner, xmi.
    #[arg(long, short)]
    format: SourceFormat,
    /// Dataset name; default: IEPile's `source` field, else from the file name (`music_dev.txt`, `music/dev.txt` → music;
    /// CrossNER names get a `crossner_` prefix; XMI: the input folder's or zip's name).
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
    /// XMI: TypeSystem XML; repeat to merge several. Default: TypeSystem.xml inside the zip,
    /// or beside the XMI files (or in a parent directory of the input).
    #[arg(long, value_name = "FILE")]
    typesystem: Vec<PathBuf>,
    /// XMI: the entity annotation type; its subtypes count too [default:
    /// de.tudarmstadt.ukp.dkpro.core.api.ner.type.NamedEntity].
    #[arg(long, value_name = "TYPE")]
    entity_type: Option<String>,
    /// XMI: the feature holding the label; when absent or empty the short type name is used
    /// (and counted) [default: value].
    #[arg(long, value_name = "FEATURE")]
    label_feature: Option<String>,
    /// XMI: read the view with this sofa ID instead of the initial view.
    #[arg(long, value_name = "NAME", conflicts_with = "all_views")]
    view: Option<String>,
    /// XMI: one sample per view that has text.
    #[arg(long)]
    all_views: bool,
    /// XMI: one sample per sentence annotation, offsets rebased to the sentence.
    #[arg(long)]
    split_sentences: bool,
    /// XMI: token type for token-boundary checks [default: DKPro Core Token, if present].
    #[arg(long, value_name = "TYPE")]
    token_type: Option<String>,
    /// XMI: sentence type for --split-sentences [default: DKPro Core Sentence, if present].
    #[arg(long, value_name = "TYPE")]
    sentence_type: Option<String>,
    /// Input files or directories (directories are searched for files of the format).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// The samples table to write.
    #[arg(long, short)]
    output: PathBuf,
}

/// The XMI options, or a usage error (exit 2) when they are given for another format.
fn xmi_options(args: &mut Args) -> Option<XmiOptions> {
    let given = !args.typesystem.is_empty()
        || args.entity_type.is_some()
        || args.label_feature.is_some()
        || args.view.is_some()
        || args.all_views
        || args.split_sentences
        || args.token_type.is_some()
        || args.sentence_type.is_some();
    if args.format != SourceFormat::Xmi {
        if given {
            use clap::CommandFactory;
            let msg = "--typesystem, --entity-type, --label-feature, --view, --all-views, --split-sentences, --token-type and --sentence-type only apply to --format xmi";
            super::Cli::command().error(clap::error::ErrorKind::ArgumentConflict, msg).exit();
        }
        return None;
    }
    let defaults = XmiOptions::default();
    Some(XmiOptions {
        typesystems: std::mem::take(&mut args.typesystem),
        entity_type: args.entity_type.take().unwrap_or(defaults.entity_type),
        label_feature: args.label_feature.take().unwrap_or(defaults.label_feature),
        views: match (args.view.take(), args.all_views) {
            (_, true) => ViewSelection::All,
            (Some(name), false) => ViewSelection::Named(name),
            (None, false) => ViewSelection::Initial,
        },
        split_sentences: args.split_sentences,
        token_type: args.token_type.take(),
        sentence_type: args.sentence_type.take(),
    })
}

pub fn run(mut args: Args, ctx: &Ctx) -> anyhow::Result<Status> {
    let xmi = xmi_options(&mut args);
    let source_as_dataset = args.dataset.is_none();
    let options = IngestOptions { dataset: args.dataset, split: args.split, lang: LangPolicy::parse(&args.lang) };
    let bar = ctx.bytes_bar("ingest");
    let outcome = match xmi {
        Some(xmi) => ingest_xmi(&args.inputs, xmi, &options, &args.output, &bar),
        None => {
            let reader: Box<dyn Reader> = match args.format {
                SourceFormat::Crossner => Box::new(CrossnerReader),
                SourceFormat::B2nerd => Box::new(B2nerdReader { labels: args.labels.clone() }),
                SourceFormat::Iepile => {
                    Box::new(IepileReader { merge: args.merge, source_as_dataset })
                }
                SourceFormat::PileNer => Box::new(PileNerReader { merge: args.merge }),
                SourceFormat::Xmi => unreachable!("xmi options are always built for --format xmi"),
            };
            ingest(reader.as_ref(), &args.inputs, &options, &args.output, &bar)
        }
    }
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
