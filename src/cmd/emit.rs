use super::{Ctx, IndicatifProgress, Status};
use anyhow::Context;
use nerprep::emit::{emit, EmitParams};
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
    #[command(flatten)]
    params: EmitParams,
    /// The JSONL file to write (dataset_info.json goes beside it).
    #[arg(long, short)]
    output: PathBuf,
}

pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<Status> {
    let valid = super::checked("emit", &args.params);
    super::refuse_overwriting("emit", &[&args.input], &args.output);
    let config = valid.load().with_context(|| format!("loading the files emit's parameters name for {}", args.output.display()))?;
    let progress = IndicatifProgress::new(ctx, "emit samples");
    let outcome = emit(&args.input, &args.output, &config, &progress)
        .with_context(|| format!("emitting {} to {}", args.input.display(), args.output.display()))?;
    ctx.info(&outcome.counts);
    ctx.info(format!(
        "wrote {} and {} (dataset {:?})",
        outcome.output.display(),
        outcome.dataset_info.display(),
        outcome.dataset_name
    ));
    Ok(Status::Clean)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn flag_defaults_are_the_recipe_defaults() {
        let cli = crate::cmd::Cli::parse_from(["nerprep", "emit", "in.parquet", "--template", "b2ner", "-o", "out.jsonl"]);
        let crate::cmd::Command::Emit(args) = cli.command else { panic!("parsed as another command") };
        assert_eq!(args.params, EmitParams::new(nerprep::emit::Template::B2ner));
    }
}
