//! Subcommands. Each file parses its arguments, builds the library's config, calls one
//! library function and reports; no pipeline logic lives here.

mod consensus;
mod embed;
mod emit;
mod eval;
mod export;
mod ingest;
mod map;
mod prune;
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
    Embed(embed::Args),
    Prune(prune::Args),
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
    /// A byte-progress bar on stderr, hidden with `--quiet` or when stderr is not a terminal.
    pub fn bytes_bar(&self, what: &str) -> ProgressBar {
        if self.quiet {
            return ProgressBar::hidden();
        }
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template("{msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
            .expect("valid template");
        bar.set_style(style);
        bar.set_message(what.to_string());
        bar
    }

    /// Prints an informational line on stderr unless `--quiet`.
    pub fn info(&self, line: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("{line}");
        }
    }
}

/// [`nerprep::progress::Progress`] as an indicatif bar on stderr (hidden with `--quiet`).
pub struct IndicatifProgress {
    bar: ProgressBar,
}

impl IndicatifProgress {
    /// A bar labelled `what`, hidden when `ctx.quiet`.
    pub fn new(ctx: &Ctx, what: &str) -> IndicatifProgress {
        let bar = if ctx.quiet { ProgressBar::hidden() } else { ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()) };
        bar.set_message(what.to_string());
        IndicatifProgress { bar }
    }

    /// Removes the bar from the terminal.
    pub fn clear(&self) {
        self.bar.finish_and_clear();
    }
}

impl nerprep::progress::Progress for IndicatifProgress {
    fn start(&self, total: Option<u64>, unit: nerprep::progress::Unit) {
        let template = match unit {
            nerprep::progress::Unit::Bytes => "{msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            nerprep::progress::Unit::Items => "{msg} {bar:30} {pos}/{len} {per_sec} eta {eta}",
        };
        self.bar.set_style(ProgressStyle::with_template(template).expect("valid template"));
        if let Some(total) = total {
            self.bar.set_length(total);
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
        Command::Embed(a) => embed::run(a, &ctx),
        Command::Prune(a) => prune::run(a, &ctx),
    }
}
