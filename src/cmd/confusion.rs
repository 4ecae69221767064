use super::{Ctx, Status};
use anyhow::Context;
use nerprep::confusion::{self, ConfusionParams};
use nerprep::embed::{default_models_dir, load_embedder, EmbedConfig};
use std::path::PathBuf;

/// Quantify how easily the types of a target label set are confused with each other
/// (MCQM): a hierarchy term (types sharing a coarse parent: the archetype of --types, or
/// the source model's predictions with --source-predictions), a semantic term (cosine of
/// the description embeddings), softmax over the other types with temperature --w0, plus
/// the explicit term from the target model's dev predictions (--dev-predictions, the
/// confusion.csv of `nerprep eval`) when given.
///
/// Writes into DIR: matrix.csv, matrix.json, heatmap.png, confusions.txt (`A → B` lines),
/// hard-negatives.yaml (for `nerprep emit --hard-negatives`) and provenance.json.
///
/// Examples:
///   nerprep confusion --types mappings/crossner.yaml --descriptions mappings/crossner.yaml \
///       --labels politician,person,politicalparty,organisation,election,event,country,location -o out/politics
///   nerprep confusion --types types.yaml --descriptions descriptions/ --model hash \
///       --dev-predictions eval/confusion.csv -o out/confusion
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The model cache; default: $NERPREP_MODELS, else models/.
    #[arg(long)]
    models: Option<PathBuf>,
    /// The directory to write (a directory an earlier run wrote is replaced whole; into any
    /// other, only this stage's files are written).
    #[arg(long, short)]
    output: PathBuf,
    #[command(flatten)]
    params: ConfusionParams,
}

pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<Status> {
    let valid = super::checked("confusion", &args.params);
    let p = &valid.params;
    let inputs: Vec<&std::path::Path> = [Some(&valid.types), Some(&valid.descriptions), p.dev_predictions.as_ref(), p.source_predictions.as_ref()]
        .into_iter()
        .flatten()
        .map(PathBuf::as_path)
        .collect();
    super::refuse_overwriting("confusion", &inputs, &args.output);
    let config = EmbedConfig { models_dir: args.models.clone().unwrap_or_else(default_models_dir), ..EmbedConfig::new(p.model.clone()) };
    let mut embedder = load_embedder(&config).context("loading the embedding model for the descriptions")?;
    let outcome = confusion::run(&valid, embedder.as_mut(), &args.output).with_context(|| format!("writing {}", args.output.display()))?;
    let m = &outcome.mcqm;
    ctx.info(format!("{} types, hierarchy from {}{}", m.types.len(), outcome.hierarchy_from, if m.explicit.is_some() { ", explicit term from dev predictions" } else { "" }));
    if !outcome.undescribed.is_empty() {
        ctx.info(format!("no description for {} (their label was embedded instead)", outcome.undescribed.join(", ")));
    }
    for (i, ranked) in m.ranked.iter().enumerate() {
        if let Some(&j) = ranked.first() {
            ctx.info(format!("  {} → {} ({:.3})", m.types[i], m.types[j], m.total[i][j]));
        }
    }
    ctx.info(format!("wrote {}", args.output.display()));
    Ok(Status::Clean)
}
