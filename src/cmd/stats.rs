use super::{Ctx, Status};
use anyhow::Context;
use nerprep::stats::{compute, to_markdown, GroupKey};
use std::path::PathBuf;

/// Describe a samples table: sizes, per-label counts, mention lengths, overlapping and
/// nested spans, unaligned mentions and quarantined records.
///
/// Example:
///   nerprep stats data/politics.parquet --by dataset,label
///   nerprep stats data/politics.parquet --format json -o politics.stats.json
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The samples table.
    input: PathBuf,
    /// Group the detail table by these columns: dataset, split, lang, label.
    #[arg(long, value_delimiter = ',', default_value = "label")]
    by: Vec<GroupKey>,
    /// Output format.
    #[arg(long, value_parser = ["md", "json"], default_value = "md")]
    format: String,
    /// Write the report here instead of standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
}

pub fn run(args: Args, _ctx: &Ctx) -> anyhow::Result<Status> {
    let stats = compute(&args.input, &args.by).with_context(|| format!("reading {}", args.input.display()))?;
    let text = match args.format.as_str() {
        "json" => serde_json::to_string_pretty(&stats)? + "\n",
        _ => to_markdown(&stats),
    };
    match &args.output {
        Some(path) => nerprep::io::write_atomic(path, text.as_bytes())?,
        None => {
            use std::io::Write;
            std::io::stdout().write_all(text.as_bytes())?;
        }
    }
    Ok(Status::Clean)
}
