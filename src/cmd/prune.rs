use super::{Ctx, IndicatifProgress, Status};
use anyhow::Context;
use nerprep::prune::{prune_tables, PruneParams};
use std::path::PathBuf;

/// Keep a diverse subset of a samples table: a pool of at most --per-type samples per
/// (dataset, label), filled in a seeded random order, each sample accepted with probability
/// 1 − (max cosine to the pool) + --offset (B2NER's diversity-aware pruning), plus up to
/// per-type × --negatives-ratio samples without entities per dataset.
///
/// Writes the kept samples (input order) to -o, every sample's decision to
/// NAME.decisions.parquet (kept, reason, pools, max similarity) and a per-label summary
/// (pool similarity against a random pick of the same size) to NAME.summary.json.
/// Same inputs + same --seed = same outputs, at any thread count and input order.
///
/// Examples:
///   nerprep embed data/b2nerd.parquet -o data/b2nerd.emb.parquet
///   nerprep prune data/b2nerd.parquet --emb data/b2nerd.emb.parquet -o data/b2nerd.pruned.parquet
///   nerprep prune data/b2nerd.parquet --emb data/b2nerd.emb.parquet --strategy threshold --threshold 0.3 -o out.parquet
///   nerprep prune data/b2nerd.parquet --emb data/b2nerd.emb.parquet --strategy random --total 5000 -o out.parquet
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Samples tables (their samples are pruned together; ids must be unique).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Text embeddings of the samples (nerprep embed --what text); repeat for several tables.
    #[arg(long, required = true)]
    emb: Vec<PathBuf>,
    /// The pruned samples table (decisions and summary go beside it).
    #[arg(long, short)]
    output: PathBuf,
    #[command(flatten)]
    params: PruneParams,
}

pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<Status> {
    let valid = super::checked("prune", &args.params);
    let progress = IndicatifProgress::new(ctx, "prune");
    let outcome = prune_tables(&args.inputs, &args.emb, &args.output, &valid, &progress)
        .with_context(|| format!("pruning into {}", args.output.display()))?;
    nerprep::progress::Progress::finish(&progress);
    ctx.info(&outcome.summary);
    ctx.info(format!(
        "wrote {}, {} and {}",
        outcome.outputs.samples.display(),
        outcome.outputs.decisions.display(),
        outcome.outputs.summary.display()
    ));
    Ok(Status::Clean)
}
