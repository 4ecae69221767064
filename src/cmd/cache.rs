use super::{Ctx, Status};
use anyhow::Context;
use nerprep::embed::cache::{self, ModelCacheStats};
use nerprep::embed::params::default_cache_dir;
use std::path::PathBuf;

/// Inspect or compact the embedding cache that `nerprep embed` fills.
///
/// The cache keeps one directory per model (fingerprint) and adds a segment file per run, so
/// it only grows: `stats` prints, per model, its size, distinct texts, stored rows and
/// segments; `compact` rewrites each model's segments as one, each text once (run it while
/// no `nerprep embed` uses the cache).
///
/// Example:
///   nerprep cache stats
///   nerprep cache compact --cache /data/nerprep-cache
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
    /// The embedding cache; default: $NERPREP_CACHE, else ~/.cache/nerprep/embeddings.
    #[arg(long, global = true)]
    cache: Option<PathBuf>,
}

#[derive(Debug, clap::Subcommand)]
enum Action {
    /// Size, entries, segments and model of each part of the cache.
    Stats,
    /// Merge each model's segments into one.
    Compact,
}

pub fn run(args: Args, _ctx: &Ctx) -> anyhow::Result<Status> {
    let root = args.cache.unwrap_or_else(default_cache_dir);
    let models = match args.action {
        Action::Stats => cache::stats(&root),
        Action::Compact => cache::compact(&root),
    }
    .with_context(|| format!("embedding cache {}", root.display()))?;
    print!("{}", to_text(&root, &models));
    Ok(Status::Clean)
}

/// One line per model and a total.
fn to_text(root: &std::path::Path, models: &[ModelCacheStats]) -> String {
    let mut out = format!("cache: {}\n", root.display());
    for m in models {
        out += &format!(
            "{}: {} bytes, {} entries, {} rows in {} segments; {}\n",
            m.dir.file_name().map_or_else(|| m.dir.display().to_string(), |n| n.to_string_lossy().into_owned()),
            m.bytes,
            m.entries,
            m.rows,
            m.segments,
            m.fingerprint
        );
    }
    let bytes: u64 = models.iter().map(|m| m.bytes).sum();
    let entries: u64 = models.iter().map(|m| m.entries).sum();
    out += &format!("total: {} models, {bytes} bytes, {entries} entries\n", models.len());
    out
}
