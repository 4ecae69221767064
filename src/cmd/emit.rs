use super::{Ctx, Status};
use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use nerprep::answer::AnswerFormat;
use clap::CommandFactory;
use nerprep::emit::{emit, Container, EmitError, EmitParams, LangChoice, NegativeMode, Template};
use std::path::PathBuf;

/// Write instruction JSONL for training from a samples table, plus the LLaMA-Factory
/// `dataset_info.json` entry beside it (added to the file if it exists).
///
/// Templates: b2ner (label set + `label: entity; …`), iepile (double-encoded instruction,
/// schema in chunks of --split-num), pile-ner (multi-turn, one question per type),
/// sam-archetype / sam-calibrate (one record per mapped entity; need --archetypes).
/// Answer formats for b2ner and sam-*: b2ner, inline-bracket, inline-xml, json-grouped,
/// json-occurrence, json-offset. Every answer is parsed back before it is written and every
/// record is validated against schemas/<container>.schema.json. Samples that cannot be
/// emitted faithfully (unaligned mentions, spans crossing under an inline format, nothing
/// to ask) are skipped and counted by reason. Same table + same --seed = same bytes.
///
/// Examples:
///   nerprep emit data/b2nerd.parquet -t b2ner -o out/b2ner.jsonl
///   nerprep emit data/b2nerd.parquet -t b2ner --dynamic-label-set --label-dropout 0.1 -o out/dyn.jsonl
///   nerprep emit data/b2nerd.parquet -t b2ner --answer-format inline-xml --seed 7 -o out/xml.jsonl
///   nerprep emit data/b2nerd.parquet -t iepile --neg-ratio 0.5 --container sharegpt -o out/ie.jsonl
///   nerprep emit data/crossner.parquet -t pile-ner -o out/pile.jsonl
///   nerprep emit data/crossner.mapped.parquet -t sam-archetype \
///       --archetypes taxonomy/archetypes.yaml -o out/sam.jsonl
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The samples table.
    input: PathBuf,
    /// Instruction style: b2ner, iepile, pile-ner, sam-archetype, sam-calibrate.
    #[arg(long, short)]
    template: Template,
    /// Answer format; default: the template's own (b2ner for b2ner and sam-*).
    #[arg(long)]
    answer_format: Option<AnswerFormat>,
    /// Record layout: alpaca or sharegpt.
    #[arg(long, default_value = "alpaca")]
    container: Container,
    /// Prompt language: en, zh, or auto (per sample, from its lang column).
    #[arg(long, default_value = "auto")]
    lang: LangChoice,
    /// Seed for every random choice.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// b2ner: ask the sample's labels plus a random number of other labels of the dataset,
    /// shuffled, instead of the dataset's whole label set.
    #[arg(long)]
    dynamic_label_set: bool,
    /// b2ner: largest dynamic label set (default 20; labels present are always asked).
    #[arg(long)]
    max_labels: Option<usize>,
    /// b2ner: drop each label from instruction and answer with this probability (keeps one).
    #[arg(long, default_value_t = 0.0)]
    label_dropout: f64,
    /// b2ner, sam-calibrate: label descriptions, a mapping (mappings/*.yaml) or a JSON/YAML
    /// object label → description.
    #[arg(long)]
    label_descriptions: Option<PathBuf>,
    /// iepile: labels per record (default 6); a tail shorter than half joins the last
    /// record; 0 = never split.
    #[arg(long)]
    split_num: Option<usize>,
    /// iepile, pile-ner: negatives to ask: all (every label of the dataset) or none.
    #[arg(long)]
    negatives: Option<NegativeMode>,
    /// iepile, pile-ner: ask a seeded Binomial(pool size, P) count of negatives (at least one
    /// when the sample has none); pile-ner draws them by frequency from all types.
    #[arg(long)]
    neg_ratio: Option<f64>,
    /// iepile: JSON/YAML object of confusable labels per label (flat, or per dataset),
    /// always asked next to the label.
    #[arg(long)]
    hard_negatives: Option<PathBuf>,
    /// sam-*: the archetypes file (taxonomy/archetypes.yaml).
    #[arg(long)]
    archetypes: Option<PathBuf>,
    /// A system prompt for every record.
    #[arg(long)]
    system: Option<String>,
    /// Dataset name in dataset_info.json; default: the output file stem.
    #[arg(long)]
    dataset_name: Option<String>,
    /// The JSONL file to write (dataset_info.json goes beside it).
    #[arg(long, short)]
    output: PathBuf,
}

pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<Status> {
    let params = EmitParams {
        template: args.template,
        answer_format: args.answer_format,
        container: args.container,
        lang: args.lang,
        seed: args.seed,
        dynamic_label_set: args.dynamic_label_set,
        max_labels: args.max_labels,
        label_dropout: args.label_dropout,
        label_descriptions: args.label_descriptions,
        split_num: args.split_num,
        negatives: args.negatives,
        neg_ratio: args.neg_ratio,
        hard_negatives: args.hard_negatives,
        archetypes: args.archetypes,
        system: args.system,
        dataset_name: args.dataset_name,
    };
    let config = match params.check() {
        // Contradictory options are a usage error (exit 2), reported the way clap reports its own.
        Err(e @ EmitError::Params { .. }) => {
            let mut cli = super::Cli::command();
            cli.build();
            let emit = cli.find_subcommand_mut("emit").expect("emit is a subcommand");
            emit.error(clap::error::ErrorKind::ArgumentConflict, e.to_string()).exit()
        }
        other => other?,
    };
    let bar = if ctx.quiet {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(ProgressStyle::with_template("emit {pos} samples {per_sec}").expect("valid template"));
        bar
    };
    let outcome = emit(&args.input, &args.output, &config, &bar)
        .with_context(|| format!("emitting {} to {}", args.input.display(), args.output.display()))?;
    bar.finish_and_clear();
    ctx.info(&outcome.counts);
    ctx.info(format!(
        "wrote {} and {} (dataset {:?})",
        outcome.output.display(),
        outcome.dataset_info.display(),
        outcome.dataset_name
    ));
    Ok(Status::Clean)
}
