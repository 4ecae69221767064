//! Subcommands. Each file parses its arguments, builds the library's config, calls one
//! library function and reports; no pipeline logic lives here.

mod consensus;
mod embed;
mod emit;
mod eval;
mod export;
mod ingest;
mod map;
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

/// Progress of a library stage as an indicatif bar on stderr, hidden with `--quiet` or
/// when stderr is not a terminal.
pub struct IndicatifProgress {
    bar: ProgressBar,
    what: String,
}

impl IndicatifProgress {
    /// A bar labelled `what` (hidden until the stage starts).
    pub fn new(ctx: &Ctx, what: &str) -> IndicatifProgress {
        let bar = if ctx.quiet { ProgressBar::hidden() } else { ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr()) };
        IndicatifProgress { bar, what: what.to_string() }
    }
}

impl nerprep::progress::Progress for IndicatifProgress {
    fn start(&self, total: Option<u64>, unit: nerprep::progress::Unit) {
        let template = match unit {
            nerprep::progress::Unit::Bytes => "{msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            nerprep::progress::Unit::Items => "{msg} {bar:30} {human_pos}/{human_len} {per_sec} eta {eta}",
        };
        self.bar.set_style(ProgressStyle::with_template(template).expect("valid template"));
        self.bar.set_message(self.what.clone());
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

/// Reports a stage's parameter problems as a usage error (exit 2), worded as flags, the way
/// clap reports its own.
pub fn usage_error(subcommand: &str, e: &nerprep::params::ParamsError) -> ! {
    use clap::CommandFactory;
    let mut cli = Cli::command();
    cli.build();
    let sub = cli.find_subcommand_mut(subcommand).expect("a known subcommand");
    sub.error(clap::error::ErrorKind::ArgumentConflict, e.as_flags()).exit()
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
    }
}
