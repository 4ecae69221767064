use super::{Ctx, Status};
use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use nerprep::embed::resolve::default_models_dir;
use nerprep::embed::stage::{embed_table, EmbedOptions, What, DEFAULT_BATCH};
use nerprep::embed::{load_embedder, Backend, Cache, Device, EmbedConfig, EmbedError, ModelSpec, Pooling};
use nerprep::taxonomy::Mapping;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Embed sample texts, entity mentions or entity types into a side table (`id`,
/// `embedding`), with the model id, backend and pooling in its metadata.
///
/// Models are local only: `hash` (hashed character n-grams, no model), `minilm`
/// (all-MiniLM-L6-v2, installed into models/ by `make model`) or a sentence-transformers
/// directory (config.json, tokenizer.json, model.safetensors and/or model.onnx). Vectors
/// are cached by (model, text): a rerun embeds only texts it has not seen.
///
/// Example:
///   nerprep embed data/crossner.parquet --model minilm -o data/crossner.emb.parquet
///   nerprep embed data/crossner.parquet --model hash --what mentions --context 20 -o mentions.parquet
///   nerprep embed data/crossner.parquet --what types --definitions mappings/crossner.yaml -o types.parquet
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The samples table.
    input: PathBuf,
    /// `hash`, `hash:DIM`, `minilm`, or a model directory.
    #[arg(long, short, default_value = "minilm")]
    model: ModelSpec,
    /// candle or onnx; default: onnx when built with the `onnx` feature and the model has
    /// model.onnx, else candle.
    #[arg(long)]
    backend: Option<Backend>,
    /// cpu, cuda or cuda:N (cuda needs the `cuda` feature and the candle backend).
    #[arg(long, default_value = "cpu")]
    device: Device,
    /// mean or cls; default: what the model's 1_Pooling/config.json declares, else mean.
    #[arg(long)]
    pooling: Option<Pooling>,
    /// What to embed: text (each sample), mentions (each entity), types (each label).
    #[arg(long, default_value = "text")]
    what: What,
    /// Mentions: code points of surrounding text to keep on each side.
    #[arg(long, default_value_t = 0)]
    context: usize,
    /// Types: how many of a label's most frequent mentions describe it.
    #[arg(long, default_value_t = 5)]
    top_mentions: usize,
    /// Types: label definitions, from a taxonomy mapping (mappings/crossner.yaml) or a YAML
    /// or JSON map `label: definition`.
    #[arg(long)]
    definitions: Option<PathBuf>,
    /// Texts per model call.
    #[arg(long, default_value_t = DEFAULT_BATCH)]
    batch_size: usize,
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
    let definitions = match &args.definitions {
        Some(path) => read_definitions(path)?,
        None => BTreeMap::new(),
    };
    let config = EmbedConfig {
        model: args.model,
        backend: args.backend,
        device: args.device,
        pooling: args.pooling,
        models_dir: args.models.unwrap_or_else(default_models_dir),
    };
    let mut embedder = match load_embedder(&config) {
        Ok(e) => e,
        // Options that do not fit the model or this build are usage errors (exit 2).
        Err(e @ (EmbedError::Usage(_) | EmbedError::NotBuilt { .. })) => {
            clap::Error::raw(clap::error::ErrorKind::ArgumentConflict, format!("{e}\n")).exit()
        }
        Err(e) => return Err(e).context("loading the embedding model"),
    };
    let info = embedder.info().clone();
    let mut cache = if args.no_cache {
        Cache::in_memory(info.dim)
    } else {
        let root = args.cache.unwrap_or_else(default_cache_dir);
        Cache::open(&root, &info).with_context(|| format!("opening the embedding cache in {}", root.display()))?
    };
    let options = EmbedOptions {
        what: args.what,
        context: args.context,
        top_mentions: args.top_mentions,
        definitions,
        batch_size: args.batch_size,
    };
    ctx.info(format!("embedding {} with {}", args.what, info.fingerprint()));
    let bar = sentences_bar(ctx);
    let started = Instant::now();
    let outcome = embed_table(&args.input, &args.output, embedder.as_mut(), &mut cache, &options, &bar)
        .with_context(|| format!("embedding {} into {}", args.input.display(), args.output.display()))?;
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    ctx.info(&outcome.counts);
    ctx.info(format!(
        "embedded {} texts in {seconds:.1} s ({:.0} sentences/s); wrote {}",
        outcome.tally.embedded,
        outcome.tally.embedded as f64 / seconds.max(1e-9),
        args.output.display()
    ));
    Ok(Status::Clean)
}

/// A counting bar with the rate, hidden with `--quiet`.
fn sentences_bar(ctx: &Ctx) -> ProgressBar {
    if ctx.quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("embed {spinner} {human_pos} sentences, {per_sec}").expect("valid template");
    bar.set_style(style);
    bar
}

/// `$NERPREP_CACHE`, else `$XDG_CACHE_HOME/nerprep/embeddings`, else `~/.cache/nerprep/embeddings`.
fn default_cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("NERPREP_CACHE") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME").map(PathBuf::from).unwrap_or_else(|| {
        std::env::var_os("HOME").map_or_else(|| PathBuf::from(".cache"), |h| PathBuf::from(h).join(".cache"))
    });
    base.join("nerprep").join("embeddings")
}

/// Label definitions from a taxonomy mapping file (`mappings/*.yaml`: each label and its
/// aliases get the entry's definition) or from a plain YAML/JSON map `label: definition`.
fn read_definitions(path: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    if let Ok(mapping) = Mapping::parse(&text, &path.display().to_string()) {
        let mut out = BTreeMap::new();
        for entry in mapping.groups.iter().flat_map(|(_, entries)| entries) {
            if let Some(def) = &entry.definition {
                for label in std::iter::once(&entry.label).chain(&entry.aliases) {
                    out.insert(label.clone(), def.clone());
                }
            }
        }
        return Ok(out);
    }
    serde_norway::from_str(&text).with_context(|| {
        format!("{}: expected a taxonomy mapping file or a YAML/JSON map `label: definition`", path.display())
    })
}
