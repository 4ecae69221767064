use super::{Ctx, IndicatifProgress, Status};
use anyhow::Context;
use nerprep::embed::stage::embed_table;
use nerprep::embed::{default_models_dir, EmbedEnv, EmbedError, EmbedParams};
use nerprep::embed::params::default_cache_dir;
use std::path::PathBuf;
use std::time::Instant;

/// Embed sample texts, entity mentions or entity types into a side table (`id`, the unit's
/// `dataset`/`label`/`sample_id`/`entity` columns, `embedding`), with the model id, backend
/// and pooling in its metadata.
///
/// Models are local only: `hash` (hashed character n-grams, no model), `minilm`
/// (all-MiniLM-L6-v2, installed into models/ by `make model`; ONNX Runtime on the CPU by
/// default), `minilm-int8` (its int8 export, faster), `minilm-static` (a static model
/// distilled from it: far faster, no word order or context) or a sentence-transformers
/// directory (config.json, tokenizer.json, model.safetensors and/or model.onnx). Vectors
/// are cached by (model, text): a rerun embeds only texts it has not seen.
///
/// Example:
///   nerprep embed data/crossner.parquet --model minilm -o data/crossner.emb.parquet
///   nerprep embed data/crossner.parquet --model hash --what mentions --context 20 -o mentions.parquet
///   nerprep embed data/crossner.parquet --what types --definitions mappings/crossner.yaml -o types.parquet
///   nerprep embed data/crossner.parquet --what types --types-by label -o types-over-datasets.parquet
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The samples table.
    input: PathBuf,
    #[command(flatten)]
    params: EmbedParams,
    /// The embedding cache; default: $NERPREP_CACHE, else ~/.cache/nerprep/embeddings.
    #[arg(long)]
    cache: Option<PathBuf>,
    /// Keep vectors for this run only.
    #[arg(long, conflicts_with = "cache")]
    no_cache: bool,
    /// The model cache `minilm` is looked up in; default: $NERPREP_MODELS, else models/.
    #[arg(long)]
    models: Option<PathBuf>,
    /// The embeddings table to write.
    #[arg(long, short)]
    output: PathBuf,
}

pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<Status> {
    let valid = super::checked("embed", &args.params);
    let env = EmbedEnv {
        models_dir: args.models.unwrap_or_else(default_models_dir),
        cache_dir: if args.no_cache { None } else { Some(args.cache.unwrap_or_else(default_cache_dir)) },
    };
    let progress = IndicatifProgress::new(ctx, "embed");
    let started = Instant::now();
    let outcome = match embed_table(&valid, &env, &args.input, &args.output, &progress) {
        Ok(outcome) => outcome,
        // A model option this model or build cannot honour is a usage error (exit 2).
        Err(e @ (EmbedError::Usage(_) | EmbedError::NotBuilt { .. })) => {
            clap::Error::raw(clap::error::ErrorKind::ArgumentConflict, format!("{e}\n")).exit()
        }
        Err(e) => {
            return Err(e).with_context(|| format!("embedding {} into {}", args.input.display(), args.output.display()))
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    ctx.info(format!("embedded {} with {}", args.params.what, outcome.info.fingerprint()));
    ctx.info(&outcome.counts);
    ctx.info(format!(
        "embedded {} texts in {seconds:.1} s ({:.0} sentences/s); wrote {}",
        outcome.tally.embedded,
        outcome.tally.embedded as f64 / seconds.max(1e-9),
        args.output.display()
    ));
    Ok(Status::Clean)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn flag_defaults_are_the_recipe_defaults() {
        let cli = crate::cmd::Cli::parse_from(["nerprep", "embed", "in.parquet", "-o", "out.parquet"]);
        let crate::cmd::Command::Embed(args) = cli.command else { panic!("parsed as another command") };
        assert_eq!(args.params, EmbedParams::default());
        assert_eq!((args.cache, args.no_cache, args.models), (None, false, None));
    }

    #[test]
    fn flags_set_the_params() {
        let cli = crate::cmd::Cli::parse_from([
            "nerprep", "embed", "in.parquet", "-o", "o.parquet", "--model", "hash:64", "--what", "types",
            "--types-by", "label", "--batch-size", "3",
        ]);
        let crate::cmd::Command::Embed(args) = cli.command else { panic!("parsed as another command") };
        assert_eq!(args.params.model, nerprep::embed::ModelSpec::Hash { dim: 64 });
        assert_eq!((args.params.types_by, args.params.batch_size), (nerprep::embed::TypesBy::Label, 3));
    }
}
