use super::{Ctx, IndicatifProgress, Status};
use anyhow::Context;
use nerprep::cluster::{self, ClusterParams};
use nerprep::embed::default_models_dir;
use nerprep::embed::{load_embedder, EmbedConfig, ModelSpec};
use nerprep::taxonomy::Mapping;
use std::path::PathBuf;

/// Choose the number of clusters of an embeddings table: for each k of --k, k-means
/// (k-means++ seeding, best of --restarts), the cosine silhouette and the gap statistic
/// (Tibshirani et al. 2001; --refs reference sets over the data's box, or --refs-box pca).
/// The gap's 1-SE choice, the largest gap and the silhouette's local peaks are reported
/// side by side; the assignments of the chosen k (or --assign-k) go to a side table and a
/// draft mapping for review. With --compare, every k is scored against a curated mapping
/// (adjusted Rand index, purity). Same --seed, same outputs, on any number of threads.
///
/// Writes into DIR: scores.csv, scores.json, scores.png, scores.svg, assignments.parquet,
/// draft-mapping.yaml, provenance.json.
///
/// Examples:
///   nerprep cluster data/types.emb.parquet --k 2..30 -o data/clusters
///   nerprep cluster data/types.emb.parquet --k 5..20 --refs 20 --refs-box pca --seed 7 -o out
///   nerprep cluster data/iepile.types.emb.parquet --types-of mappings/iepile.yaml \
///       --model minilm --compare mappings/iepile.yaml -o data/cluster-iepile
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The embeddings table (`nerprep embed`: `id`, `embedding`).
    input: PathBuf,
    /// First (re)write INPUT with the embeddings of this mapping's type names (label, and
    /// its definition when the mapping has one; never its archetype), made with --model.
    #[arg(long)]
    types_of: Option<PathBuf>,
    /// With --types-of: `hash`, `hash:DIM`, `minilm`, or a model directory.
    #[arg(long, default_value = "minilm", requires = "types_of")]
    model: ModelSpec,
    /// With --types-of: the model cache; default: $NERPREP_MODELS, else models/.
    #[arg(long, requires = "types_of")]
    models: Option<PathBuf>,
    #[command(flatten)]
    params: ClusterParams,
    /// The directory to write (replaced whole when the run succeeds).
    #[arg(long, short)]
    output: PathBuf,
}

pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<Status> {
    let valid = super::checked("cluster", &args.params);
    if let Some(mapping_path) = &args.types_of {
        let mapping = Mapping::load(mapping_path).with_context(|| format!("loading {}", mapping_path.display()))?;
        let config = EmbedConfig { models_dir: args.models.clone().unwrap_or_else(default_models_dir), ..EmbedConfig::new(args.model.clone()) };
        let mut embedder = load_embedder(&config).context("loading the embedding model")?;
        let n = cluster::write_type_embeddings(&mapping, embedder.as_mut(), &args.input)?;
        ctx.info(format!("embedded {n} types of {} into {}", mapping_path.display(), args.input.display()));
    }
    let progress = IndicatifProgress::new(ctx, "cluster: k-means fits");
    let outcome = cluster::run(&args.input, &args.output, &valid, &progress)
        .with_context(|| format!("clustering {}", args.input.display()))?;
    let c = &outcome.sweep.choices;
    let show = |k: Option<usize>| k.map_or_else(|| "none".to_string(), |k| k.to_string());
    let peaks: Vec<String> = c.silhouette_peaks.iter().map(usize::to_string).collect();
    ctx.info(format!(
        "{} units, k {}: gap 1-SE k = {}, largest gap k = {}, best silhouette k = {}, silhouette peaks at {}",
        outcome.units,
        valid.k,
        show(c.gap_1se),
        show(c.max_gap),
        show(c.max_silhouette),
        if peaks.is_empty() { "none".to_string() } else { peaks.join(", ") }
    ));
    if let Some((matched, unmatched)) = outcome.compared {
        let row = outcome.sweep.scores.iter().find(|s| s.k == outcome.assigned_k).expect("assigned k was tried");
        ctx.info(format!(
            "against the mapping ({matched} units listed, {unmatched} not): k = {} has ARI {:.3}, purity {:.3}",
            outcome.assigned_k,
            row.ari.unwrap_or(f64::NAN),
            row.purity.unwrap_or(f64::NAN)
        ));
    }
    ctx.info(format!("wrote {} (assignments for k = {})", args.output.display(), outcome.assigned_k));
    Ok(Status::Clean)
}
