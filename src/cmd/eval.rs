use super::{Ctx, Status};
use anyhow::Context;
use nerprep::eval::{compare_predictions, evaluate, EvalOutcome, EvalParams};
use nerprep::params::Checker;
use std::path::{Path, PathBuf};

/// Score model predictions against a gold samples table.
///
/// Strict span+type precision, recall and F1 (micro, macro, per type, per dataset, and per
/// archetype when the gold table is mapped), the eight error types of the generative-NER
/// assessment (OOD type, wrong type, contains gold, contained by gold, overlaps gold,
/// completely-O, OOD mention, omitted mention) with examples, and a gold x predicted
/// confusion matrix. Writes DIR/report.md, report.json, confusion.csv (gold x predicted
/// counts, `O` = none) and confusion.png.
///
/// --scorer uniner / b2ner / all adds the published papers' own scorers, reimplemented with
/// their quirks: UniversalNER's evaluate.py (pile-ner answers) and B2NER's EvaluatorNER
/// (b2ner answers). Every micro and macro F1 gets a 95% bootstrap interval (--bootstrap N
/// resamples of the samples, seeded by --seed; 0 turns them off).
///
/// PRED is JSON Lines as `nerprep emit` writes it, with the model's answer in `predict` (or
/// `prediction`, or in place of `output` / the last gpt turn); `sample_id` (or `id` minus
/// its `@k` suffix) names the gold sample. Answers go through a repair layer (code fences,
/// prose, Python literals, duplicate keys, truncated JSON; every repair counted). A
/// mention-only listing is one prediction: on a gold entity with its label and mention,
/// else on one with its mention (a wrongly typed listing is one false positive), else the
/// readers' aligner places it. Give --pred twice to compare two models: reports in DIR/a/
/// and DIR/b/, and DIR/comparison.md with the paired-bootstrap p-value of each F1
/// difference. Exits 1 when a line could not be used.
///
/// Examples:
///   nerprep eval --gold data/test.parquet --pred predictions.jsonl --answer-format b2ner -o report/
///   nerprep eval --gold data/test.parquet --pred uniner.jsonl --answer-format pile-ner --scorer all -o report/
///   nerprep eval --gold data/test.parquet --pred a.jsonl --pred b.jsonl --answer-format b2ner -o compare/
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The gold samples table.
    #[arg(long)]
    gold: PathBuf,
    /// The predictions (JSON Lines); twice to compare two prediction files.
    #[arg(long, required = true)]
    pred: Vec<PathBuf>,
    #[command(flatten)]
    params: EvalParams,
    /// The directory to write the report into.
    #[arg(long, short)]
    output: PathBuf,
}

/// A usage error (exit 2) for `--pred` given more than twice, or twice without resamples.
fn check_preds(args: &Args) {
    let mut c = Checker::new("eval");
    c.require(args.pred.len() <= 2, "pred", format!("is given {} times; give one file, or two to compare", args.pred.len()));
    let compared = args.pred.len() == 2;
    c.require(!compared || args.params.bootstrap > 0, "bootstrap", "must be at least 1 to compare two --pred files");
    if let Err(e) = c.finish() {
        super::params_usage_error("eval", &e);
    }
}

/// Prints one file's bad lines and scores; whether it had bad lines.
fn report(ctx: &Ctx, pred: &Path, outcome: &EvalOutcome) -> bool {
    for b in &outcome.bad_lines {
        eprintln!("error: {}:{}: {}: {}", pred.display(), b.line, b.reason, b.message);
    }
    let r = &outcome.report;
    ctx.info(&r.counts);
    let interval = |i: Option<nerprep::eval::bootstrap::Interval>| i.map_or(String::new(), |i| format!(" [{:.4}, {:.4}]", i.low, i.high));
    ctx.info(format!(
        "{} samples: strict micro P {:.4} R {:.4} F1 {:.4}{}, macro F1 {:.4}{} over {} types",
        r.samples,
        r.overall.micro.precision,
        r.overall.micro.recall,
        r.overall.micro.f1,
        interval(r.overall.micro.f1_interval),
        r.overall.macro_.f1,
        interval(r.overall.macro_.f1_interval),
        r.overall.macro_.types
    ));
    for p in &r.published {
        ctx.info(format!(
            "{} ({} {}): P {:.4} R {:.4} F1 {:.4}{}, mean over datasets {:.4}",
            p.scorer.as_str(),
            p.units,
            p.unit,
            p.micro.precision,
            p.micro.recall,
            p.micro.f1,
            interval(p.micro.f1_interval),
            p.dataset_mean_f1
        ));
    }
    !outcome.bad_lines.is_empty()
}

pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<Status> {
    check_preds(&args);
    let options = super::checked("eval", &args.params);
    let bad = if let [a, b] = args.pred.as_slice() {
        let outcome = compare_predictions(&args.gold, a, b, &options, &args.output)
            .with_context(|| format!("comparing {} and {} against {}", a.display(), b.display(), args.gold.display()))?;
        let bad = report(ctx, a, &outcome.a) | report(ctx, b, &outcome.b);
        for row in &outcome.comparison.rows {
            let p = row.p_value.map_or(String::new(), |p| format!(", p = {p:.4}"));
            ctx.info(format!("{} {:?} F1: B − A = {:+.4}{p}", row.scorer, row.average, row.difference));
        }
        bad
    } else {
        let pred = &args.pred[0];
        let outcome = evaluate(&args.gold, pred, &options, &args.output)
            .with_context(|| format!("evaluating {} against {}", pred.display(), args.gold.display()))?;
        report(ctx, pred, &outcome)
    };
    ctx.info(format!("wrote {}", args.output.display()));
    Ok(if bad { Status::BadInput } else { Status::Clean })
}
