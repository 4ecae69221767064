//! Subcommands. Each file parses its arguments, builds the library's config, calls one
//! library function and reports; no pipeline logic lives here.

mod agreement;
mod build;
mod cache;
mod cluster;
mod consensus;
mod embed;
mod emit;
mod eval;
mod export;
mod info;
mod ingest;
mod map;
mod prune;
mod confusion;
mod screen;
mod stats;
mod taxonomy;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::process::ExitCode;

/// Turn NER corpora into clean, taxonomy-aligned instruction data.
///
/// Every command prints `read = written + quarantined + skipped` and exits 0 on success,
/// 1 on bad input (outputs are still written, bad records go to quarantine), 2 on usage
/// errors.
#[derive(Debug, Parser)]
#[command(name = "nerprep", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// No progress bars or summaries; errors are still printed.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Ingest(ingest::Args),
    Stats(stats::Args),
    Export(export::Args),
    Consensus(consensus::Args),
    Taxonomy(taxonomy::Args),
    Map(map::Args),
    Emit(emit::Args),
    Eval(eval::Args),
    Agreement(agreement::Args),
    Embed(embed::Args),
    Info(info::Args),
    Build(build::Args),
    Cluster(cluster::Args),
    Prune(prune::Args),
    Screen(screen::Args),
    Confusion(confusion::Args),
    Cache(cache::Args),
}

/// How a command ended, for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Everything was read and written.
    Clean,
    /// Outputs were written, but some input was bad (quarantined).
    BadInput,
    /// Two inputs compared and differ (`taxonomy diff`, like `diff`).
    Differ,
}

impl From<Status> for ExitCode {
    fn from(s: Status) -> Self {
        match s {
            Status::Clean => ExitCode::SUCCESS,
            Status::BadInput => ExitCode::from(1),
            Status::Differ => ExitCode::from(3),
        }
    }
}

/// Settings every command shares.
pub struct Ctx {
    pub quiet: bool,
}

impl Ctx {
    /// Prints an informational line on stderr unless `--quiet`.
    pub fn info(&self, line: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("{line}");
        }
    }
}

/// Reports parameters that fail their checks as a usage error (exit 2), worded as flags and
/// shown the way clap shows its own errors for `subcommand`.
pub fn params_usage_error(subcommand: &str, err: &nerprep::params::ParamsError) -> ! {
    usage_exit(subcommand, err.as_flags())
}

/// Exits with `message` as a usage error (exit 2) of `subcommand`, shown as clap shows its own.
fn usage_exit(subcommand: &str, message: String) -> ! {
    use clap::CommandFactory;
    let mut cli = Cli::command();
    cli.build();
    match cli.find_subcommand_mut(subcommand) {
        Some(sub) => sub.error(clap::error::ErrorKind::ArgumentConflict, message).exit(),
        None => cli.error(clap::error::ErrorKind::ArgumentConflict, message).exit(),
    }
}

/// Refuses (usage error, exit 2) an output that is one of the command's inputs: writing it
/// would destroy the input.
pub fn refuse_overwriting(subcommand: &str, inputs: &[&std::path::Path], output: &std::path::Path) {
    if let Some(input) = nerprep::io::input_overwritten_by(inputs, output) {
        usage_exit(subcommand, format!("the output {} is the input {}; choose another output", output.display(), input.display()));
    }
}

/// Checks a stage's parameters; a problem is a usage error (exit 2).
pub fn checked<P: nerprep::params::StageParams>(subcommand: &str, params: &P) -> P::Valid {
    match params.check() {
        Ok(valid) => valid,
        Err(e) => params_usage_error(subcommand, &e),
    }
}

/// [`nerprep::progress::Progress`] as an indicatif bar on stderr: hidden with `--quiet` or
/// when stderr is not a terminal (indicatif's own check).
pub struct IndicatifProgress {
    bar: ProgressBar,
    what: String,
}

impl IndicatifProgress {
    /// A bar labelled `what`, hidden when `quiet`.
    pub fn new(ctx: &Ctx, what: &str) -> IndicatifProgress {
        let bar = if ctx.quiet { ProgressBar::hidden() } else { ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()) };
        IndicatifProgress { bar, what: what.to_string() }
    }
}

impl nerprep::progress::Progress for IndicatifProgress {
    fn start(&self, total: Option<u64>, unit: nerprep::progress::Unit) {
        use nerprep::progress::Unit;
        let template = match (unit, total.is_some()) {
            (Unit::Bytes, true) => "{msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            (Unit::Bytes, false) => "{msg} {bytes} {bytes_per_sec}",
            (Unit::Items, true) => "{msg} {bar:30} {pos}/{len} {per_sec} eta {eta}",
            (Unit::Items, false) => "{msg} {pos} {per_sec}",
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            self.bar.set_style(style);
        }
        self.bar.set_message(self.what.clone());
        if let Some(n) = total {
            self.bar.set_length(n);
        }
    }

    fn advance(&self, n: u64) {
        self.bar.inc(n);
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

pub fn run(cli: Cli) -> anyhow::Result<Status> {
    let ctx = Ctx { quiet: cli.quiet };
    match cli.command {
        Command::Ingest(a) => ingest::run(a, &ctx),
        Command::Stats(a) => stats::run(a, &ctx),
        Command::Export(a) => export::run(a, &ctx),
        Command::Consensus(a) => consensus::run(a, &ctx),
        Command::Taxonomy(a) => taxonomy::run(a, &ctx),
        Command::Map(a) => map::run(a, &ctx),
        Command::Emit(a) => emit::run(a, &ctx),
        Command::Eval(a) => eval::run(a, &ctx),
        Command::Agreement(a) => agreement::run(a, &ctx),
        Command::Embed(a) => embed::run(a, &ctx),
        Command::Info(a) => info::run(a, &ctx),
        Command::Build(a) => build::run(a, &ctx),
        Command::Cluster(a) => cluster::run(a, &ctx),
        Command::Prune(a) => prune::run(a, &ctx),
        Command::Screen(a) => screen::run(a, &ctx),
        Command::Confusion(a) => confusion::run(a, &ctx),
        Command::Cache(a) => cache::run(a, &ctx),
    }
}
