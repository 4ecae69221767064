use super::{Ctx, Status};
use anyhow::Context;
use nerprep::eval::{evaluate, EvalParams};
use std::path::PathBuf;

/// Score model predictions against a gold samples table.
///
/// Strict span+type precision, recall and F1 (micro, macro, per type, per dataset), the
/// eight error types of the generative-NER assessment (OOD type, wrong type, contains gold,
/// contained by gold, overlaps gold, completely-O, OOD mention, omitted mention) with
/// examples, and a gold x predicted confusion matrix. Writes DIR/report.md, report.json,
/// confusion.csv (gold x predicted counts, `O` = none) and confusion.png.
///
/// PRED is JSON Lines as `nerprep emit` writes it, with the model's answer in `predict` (or
/// `prediction`, or in place of `output` / the last gpt turn); `sample_id` (or `id` minus
/// its `@k` suffix) names the gold sample. Answers go through a repair layer (code fences,
/// prose, Python literals, duplicate keys, truncated JSON; every repair counted). A
/// mention-only answer takes the span of the gold entity it names (same label and mention),
/// else the readers' aligner places it. Exits 1 when a line could not be used.
///
/// Examples:
///   nerprep eval --gold data/test.parquet --pred predictions.jsonl --answer-format b2ner -o report/
///   nerprep emit data/test.parquet --template iepile -o gold.jsonl
///   nerprep eval --gold data/test.parquet --pred gold.jsonl --answer-format iepile -o perfect/
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The gold samples table.
    #[arg(long)]
    gold: PathBuf,
    /// The predictions (JSON Lines).
    #[arg(long)]
    pred: PathBuf,
    #[command(flatten)]
    params: EvalParams,
    /// The directory to write the report into.
    #[arg(long, short)]
    output: PathBuf,
}

pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<Status> {
    let options = super::checked("eval", &args.params);
    let outcome = evaluate(&args.gold, &args.pred, &options, &args.output)
        .with_context(|| format!("evaluating {} against {}", args.pred.display(), args.gold.display()))?;
    for b in &outcome.bad_lines {
        eprintln!("error: {}:{}: {}: {}", args.pred.display(), b.line, b.reason, b.message);
    }
    let r = &outcome.report;
    ctx.info(&r.counts);
    ctx.info(format!(
        "{} samples: micro P {:.4} R {:.4} F1 {:.4}, macro F1 {:.4} over {} types",
        r.samples, r.overall.micro.precision, r.overall.micro.recall, r.overall.micro.f1, r.overall.macro_.f1, r.overall.macro_.types
    ));
    ctx.info(format!("wrote {}", args.output.display()));
    Ok(if outcome.bad_lines.is_empty() { Status::Clean } else { Status::BadInput })
}
