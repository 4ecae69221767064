use super::{Ctx, Status};
use anyhow::Context;
use nerprep::stats::{compute, to_markdown, ReportFormat, StatsParams};
use std::path::PathBuf;

/// Describe a samples table: sizes, per-label counts, mention lengths, overlapping and
/// nested spans, unaligned mentions, quarantined records and rows that are not valid samples.
///
/// Example:
///   nerprep stats data/politics.parquet --by dataset,label
///   nerprep stats data/politics.parquet --format json -o politics.stats.json
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The samples table.
    input: PathBuf,
    #[command(flatten)]
    params: StatsParams,
    /// Write the report here (with its provenance beside it) instead of standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
}

pub fn run(args: Args, _ctx: &Ctx) -> anyhow::Result<Status> {
    let params = super::checked("stats", &args.params);
    if let Some(out) = &args.output {
        super::refuse_overwriting("stats", &[&args.input], out);
    }
    let stats = compute(&args.input, &params.by).with_context(|| format!("reading {}", args.input.display()))?;
    let text = match params.format {
        ReportFormat::Json => serde_json::to_string_pretty(&stats)? + "\n",
        ReportFormat::Md => to_markdown(&stats),
    };
    match &args.output {
        Some(path) => {
            nerprep::io::write_atomic(path, text.as_bytes())?;
            let mut provenance = nerprep::provenance::Provenance::of(&params);
            provenance.input(&args.input)?;
            provenance.write_sidecar(path)?;
        }
        None => {
            use std::io::Write;
            std::io::stdout().write_all(text.as_bytes())?;
        }
    }
    let invalid: u64 = stats.invalid_rows.values().sum();
    if invalid > 0 {
        eprintln!("error: {}: {invalid} rows are not valid samples (see the report's invalid rows)", args.input.display());
        return Ok(Status::BadInput);
    }
    Ok(Status::Clean)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn flag_defaults_are_the_recipe_defaults() {
        let cli = crate::cmd::Cli::parse_from(["nerprep", "stats", "in.parquet"]);
        let crate::cmd::Command::Stats(args) = cli.command else { panic!("parsed as another command") };
        assert_eq!(args.params, StatsParams::default());
    }
}
