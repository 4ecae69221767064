use super::{Ctx, Status};
use anyhow::Context;
use nerprep::consensus::{run_consensus, ConsensusParams};
use std::path::PathBuf;

/// Merge anchor and explorer candidates per sample (SAM-NER Algorithm 1, CCR).
///
/// The result is the union of both candidate sets, minus explorer candidates of one token
/// (a whitespace-separated word, or a single Han/kana character) that the anchor did not
/// also produce. Inputs are JSON Lines of {"id", "text"?, "candidates": [mention |
/// {"mention", "label"?}]}; each output line lists the merged candidates, the dropped ones
/// and per-sample counts. Exits 1 when an input line could not be used.
///
/// Example:
///   nerprep consensus --anchor anchor.jsonl --explorer explorer.jsonl -o candidates.jsonl
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Candidates of the precision-oriented extractor (JSON Lines).
    #[arg(long)]
    anchor: PathBuf,
    /// Candidates of the recall-oriented extractor (JSON Lines).
    #[arg(long)]
    explorer: PathBuf,
    #[command(flatten)]
    params: ConsensusParams,
    /// The merged candidates to write (JSON Lines).
    #[arg(long, short)]
    output: PathBuf,
}

pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<Status> {
    super::refuse_overwriting("consensus", &[&args.anchor, &args.explorer], &args.output);
    let outcome = run_consensus(&args.anchor, &args.explorer, &args.output)
        .with_context(|| format!("writing {}", args.output.display()))?;
    for b in &outcome.bad_lines {
        eprintln!("error: {}:{}: {}: {}", b.file.display(), b.line, b.reason, b.message);
    }
    let params = super::checked("consensus", &args.params);
    let mut provenance = nerprep::provenance::Provenance::of(&params);
    provenance.inputs([args.anchor.as_path(), args.explorer.as_path()])?;
    provenance.counts = Some(outcome.counts.clone());
    provenance.write_sidecar(&args.output)?;
    ctx.info(&outcome.counts);
    ctx.info(format!("wrote {}", args.output.display()));
    Ok(if outcome.bad_lines.is_empty() { Status::Clean } else { Status::BadInput })
}
