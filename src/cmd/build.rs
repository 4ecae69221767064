use super::{Ctx, IndicatifProgress, Status};
use anyhow::Context;
use nerprep::build::recipe::{Recipe, RecipeError};
use nerprep::build::{build, verify, BuildOptions, BuildReport};
use nerprep::progress::Progress;
use std::path::PathBuf;

/// Run a recipe: ingest its inputs, run its stages, publish partitioned tables and training
/// JSONL, and write OUT/manifest.json and the dataset card OUT/README.md.
///
/// A step whose inputs, parameters and tool version are unchanged is skipped (cached); every
/// output is written under a temporary name and renamed, and the manifest is updated after
/// each step, so an interrupted build resumes. Same recipe, inputs and seed: the same bytes,
/// at any --jobs (only the manifest's timings differ).
///
/// Examples:
///   nerprep build recipes/default.yaml
///   nerprep build recipes/default.yaml --dry-run
///   nerprep build recipes/default.yaml --force emit --until emit
///   nerprep build recipes/default.yaml --verify
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The recipe (YAML; schema in schemas/recipe.schema.json).
    recipe: PathBuf,
    /// Worker threads (default: all cores).
    #[arg(long, short)]
    jobs: Option<usize>,
    /// Print the plan and what would rerun; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Rerun this stage even when cached (repeatable).
    #[arg(long, value_name = "STAGE")]
    force: Vec<String>,
    /// Stop after this stage.
    #[arg(long, value_name = "STAGE")]
    until: Option<String>,
    /// Re-hash every output against OUT/manifest.json instead of building (exit 1 on a change).
    #[arg(long, conflicts_with_all = ["dry_run", "force", "until"])]
    verify: bool,
}

pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<Status> {
    let recipe = match Recipe::load(&args.recipe) {
        Ok(r) => r,
        Err(RecipeError::Invalid(e)) => {
            eprintln!("error: {} has {} problem(s):\n{e}", args.recipe.display(), e.problems.len());
            return Ok(Status::BadInput);
        }
        Err(e) => return Err(e).context("loading the recipe"),
    };
    if args.verify {
        let changed = verify(&recipe.output.join("manifest.json"))?;
        for c in &changed {
            eprintln!("error: changed since the build: {c}");
        }
        ctx.info(format!("verified {}: {} changed", recipe.output.join("manifest.json").display(), changed.len()));
        return Ok(if changed.is_empty() { Status::Clean } else { Status::BadInput });
    }
    let options = BuildOptions { dry_run: args.dry_run, force: args.force, until: args.until };
    let progress = |what: &str| -> Box<dyn Progress> { Box::new(IndicatifProgress::new(ctx, what)) };
    let run = || build(&recipe, &args.recipe, &options, &progress);
    let report = match args.jobs {
        Some(n) => rayon::ThreadPoolBuilder::new().num_threads(n.max(1)).build()?.install(run),
        None => run(),
    }
    .with_context(|| format!("building {}", args.recipe.display()))?;
    ctx.info(summary(&report));
    Ok(Status::Clean)
}

/// The summary table: one line per step.
fn summary(report: &BuildReport) -> String {
    let width = report.steps.iter().map(|s| s.id.len()).max().unwrap_or(4).max(4);
    let mut out = format!("{:width$}  {:20} {:>9} {:>9} {:>9} {:>9} {:>8}\n", "step", "status", "read", "written", "quar.", "skipped", "seconds");
    for s in &report.steps {
        let (r, w, q, k) = s.counts.as_ref().map_or((String::new(), String::new(), String::new(), String::new()), |c| {
            (c.read.to_string(), c.written.to_string(), c.quarantined_total().to_string(), c.skipped_total().to_string())
        });
        out += &format!("{:width$}  {:20} {r:>9} {w:>9} {q:>9} {k:>9} {:>8.2}\n", s.id, s.status.as_str(), s.seconds);
    }
    out += &format!("manifest: {}", report.manifest.display());
    out
}
