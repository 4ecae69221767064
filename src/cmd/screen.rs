use super::{Ctx, IndicatifProgress, Status};
use anyhow::Context;
use nerprep::embed::{default_models_dir, load_embedder, EmbedConfig, Embedder};
use nerprep::screen::{screen_tables, ScreenParams};
use std::path::PathBuf;

/// Screen datasets against each other for conflicting annotations (B2NER's rule-based
/// conflict screening): for every pair of labels of two datasets with the same name (up to
/// case, spacing and British/American spelling; plus --mapping archetypes and
/// --similar-labels), each mention annotated with the label in one dataset is looked for
/// in the other's texts, and each occurrence is consistent, a wrong category, not
/// extracted or partially extracted (occurrences inside a longer entity are skipped).
/// Both directions; datasets are told apart by the `dataset` column (two or more needed).
///
/// Writes into DIR: conflicts.parquet (a seeded sample of the occurrences, with sample ids
/// and offsets), pairs.csv (per pair: counts by kind, conflict ratio), report.md (the
/// worst pairs with examples), heatmap-NN-LABEL.png (dataset × dataset ratios per shared
/// label), knn.csv with --knn, provenance.json.
///
/// Examples:
///   nerprep screen data/conll.parquet data/ontonotes.parquet -o data/screen
///   nerprep screen data/crossner.parquet --mapping mappings/crossner.yaml -o out
///   nerprep screen a.parquet b.parquet --similar-labels 0.8 --model minilm -o out
///   nerprep embed data/all.parquet --what mentions --context 40 -o data/all.mentions.parquet
///   nerprep screen data/all.parquet --knn 10 --emb data/all.mentions.parquet -o out
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Samples tables (one or several; their datasets are screened against each other).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// With --knn: mention embeddings of the inputs (nerprep embed --what mentions).
    #[arg(long)]
    emb: Vec<PathBuf>,
    /// With --similar-labels: the model cache; default: $NERPREP_MODELS, else models/.
    #[arg(long)]
    models: Option<PathBuf>,
    /// The directory to write (a directory an earlier screen wrote is replaced whole; into
    /// any other, only the screen's files are written).
    #[arg(long, short)]
    output: PathBuf,
    #[command(flatten)]
    params: ScreenParams,
}

pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<Status> {
    let valid = super::checked("screen", &args.params);
    let inputs: Vec<&std::path::Path> = args.inputs.iter().chain(&args.emb).map(PathBuf::as_path).collect();
    super::refuse_overwriting("screen", &inputs, &args.output);
    let mut embedder = match valid.similar_labels {
        Some(_) => {
            let config = EmbedConfig { models_dir: args.models.clone().unwrap_or_else(default_models_dir), ..EmbedConfig::new(args.params.model.clone()) };
            Some(load_embedder(&config).context("loading the embedding model for --similar-labels")?)
        }
        None => None,
    };
    let progress = IndicatifProgress::new(ctx, "screen: datasets");
    let outcome = screen_tables(&args.inputs, &args.emb, &args.output, &valid, embedder.as_mut().map(|e| &mut **e as &mut dyn Embedder), &progress)
        .with_context(|| format!("screening into {}", args.output.display()))?;
    ctx.info(format!(
        "{} datasets, {} directed label pairs: {} occurrences checked, {} conflicts",
        outcome.datasets, outcome.pairs, outcome.matched, outcome.conflicts
    ));
    for line in outcome.worst.iter().take(5) {
        ctx.info(format!("  {line}"));
    }
    ctx.info(&outcome.counts);
    ctx.info(format!("wrote {}", args.output.display()));
    Ok(if outcome.counts.quarantined_total() > 0 { Status::BadInput } else { Status::Clean })
}
