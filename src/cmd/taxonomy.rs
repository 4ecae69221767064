use super::{Ctx, Status};
use anyhow::Context;
use nerprep::taxonomy::{check_paths, diff, measure, Severity, Version};
use std::path::PathBuf;

/// Check or compare taxonomy and mapping files.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    Check(CheckArgs),
    Diff(DiffArgs),
}

/// Check archetypes and mapping files: every archetype a mapping uses exists, no type is
/// under two archetypes, no archetype is empty, definitions are non-empty, `parent -> child`
/// labels form a tree without cycles. Case variants are warnings. Exits 1 on any error;
/// every message names file:line.
///
/// Example:
///   nerprep taxonomy check
///   nerprep taxonomy check taxonomy mappings/iepile.yaml
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
struct CheckArgs {
    /// Files or directories (searched for *.yaml); default: taxonomy and mappings.
    paths: Vec<PathBuf>,
    /// Also print notes (such as counts of unreviewed entries).
    #[arg(long)]
    notes: bool,
}

/// Compare two versions of a taxonomy: archetypes added, removed or renamed (same
/// members), types added, removed, moved or renamed, definitions as a word diff. With
/// --data, how many entities and samples each change concerns, with two example mentions.
/// OLD and NEW are an archetypes or mapping file, a directory with one of each, or
/// git:REV:path. Exits 0 when equal, 3 when they differ.
///
/// Example:
///   nerprep taxonomy diff git:main:mappings/iepile.yaml mappings/iepile.yaml
///   nerprep taxonomy diff fixtures/taxonomy/v1 fixtures/taxonomy/v2 --data data/crossner.parquet --format json
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
struct DiffArgs {
    /// The old version.
    old: String,
    /// The new version.
    new: String,
    /// A samples table to measure the effect of each change on.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Output format: md (for a pull request) or json (sorted keys, for tools).
    #[arg(long, value_parser = ["md", "json"], default_value = "md")]
    format: String,
    /// Write the report here instead of standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
}

pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<Status> {
    match args.command {
        Command::Check(a) => check(a, ctx),
        Command::Diff(a) => run_diff(a),
    }
}

fn check(args: CheckArgs, ctx: &Ctx) -> anyhow::Result<Status> {
    let paths = if args.paths.is_empty() { vec![PathBuf::from("taxonomy"), PathBuf::from("mappings")] } else { args.paths };
    let report = check_paths(&paths)?;
    for d in &report.diagnostics {
        if d.severity != Severity::Note || args.notes {
            eprintln!("{d}");
        }
    }
    ctx.info(format!(
        "taxonomy check: {} files, {} errors, {} warnings, {} notes",
        report.files.len(),
        report.count(Severity::Error),
        report.count(Severity::Warning),
        report.count(Severity::Note)
    ));
    Ok(if report.passed() { Status::Clean } else { Status::BadInput })
}

fn run_diff(args: DiffArgs) -> anyhow::Result<Status> {
    let old = Version::load(&args.old).with_context(|| format!("reading {}", args.old))?;
    let new = Version::load(&args.new).with_context(|| format!("reading {}", args.new))?;
    let mut d = diff(&old, &new);
    if let Some(data) = &args.data {
        measure(&mut d, &old, data).with_context(|| format!("reading {}", data.display()))?;
    }
    let text = if args.format == "json" { d.to_json() } else { d.to_markdown() };
    match &args.output {
        Some(path) => nerprep::io::write_atomic(path, text.as_bytes())?,
        None => {
            use std::io::Write;
            std::io::stdout().write_all(text.as_bytes())?;
        }
    }
    Ok(if d.is_empty() { Status::Clean } else { Status::Differ })
}
