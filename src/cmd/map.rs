use super::{Ctx, Status};
use anyhow::Context;
use nerprep::io::write_atomic;
use nerprep::taxonomy::{map_stage, MapParams};
use std::path::PathBuf;

/// Fill `entities.archetype` of a samples table from taxonomy mappings, and report coverage.
///
/// Mappings are checked first (as `taxonomy check` does, against the archetypes file their
/// `taxonomy:` names) and consulted in the order given: the first that knows a label wins.
/// Writes OUTPUT and a coverage report (share of entities and of types mapped, entities
/// per archetype, the most frequent unmapped types): by default beside OUTPUT as
/// `x.coverage.md`; `--report x.json` writes JSON.
///
/// Example:
///   nerprep map data/crossner.parquet --mapping mappings/crossner.yaml -o data/crossner.mapped.parquet
///   nerprep map data/b2nerd.parquet --mapping mappings/crossner.yaml --mapping mappings/iepile.yaml --normalize --unmapped misc -o data/b2nerd.mapped.parquet
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The samples table.
    input: PathBuf,
    #[command(flatten)]
    params: MapParams,
    /// Coverage report path (.json for JSON, else Markdown); default: OUTPUT's stem + `.coverage.md`.
    #[arg(long, short)]
    report: Option<PathBuf>,
    /// The mapped samples table to write (its quarantine table beside it holds the input rows
    /// that are not valid samples).
    #[arg(long, short)]
    output: PathBuf,
}

pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<Status> {
    let params = super::checked("map", &args.params);
    super::refuse_overwriting("map", &[&args.input], &args.output);
    let outcome = map_stage(&params, &args.input, &args.output)
        .with_context(|| format!("mapping {} into {}", args.input.display(), args.output.display()))?;
    let cov = &outcome.coverage;
    let report = args.report.clone().unwrap_or_else(|| {
        let stem = args.output.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        args.output.with_file_name(format!("{stem}.coverage.md"))
    });
    let text = if report.extension().is_some_and(|e| e == "json") {
        serde_json::to_string_pretty(cov)? + "\n"
    } else {
        cov.to_markdown(params.top)
    };
    write_atomic(&report, text.as_bytes())?;
    let mut provenance = nerprep::provenance::Provenance::of(&params);
    provenance.inputs(std::iter::once(args.input.as_path()).chain(params.mapping.iter().map(PathBuf::as_path)))?;
    provenance.counts = Some(outcome.counts.clone());
    provenance.write_sidecar(&report)?;
    for h in &cov.normalized_hits {
        ctx.info(format!("normalised: `{}` -> `{}` ({}, {} entities)", h.label, h.matched, h.archetype, h.entities));
    }
    if !outcome.written {
        for u in cov.unmapped_types.iter().take(params.top) {
            eprintln!(
                "error: {}: sample {}: label `{}` ({} entities) is in no mapping; add it, or use --unmapped misc|keep",
                args.input.display(),
                u.first_sample,
                u.label,
                u.entities
            );
        }
        ctx.info(&outcome.counts);
        ctx.info(format!("wrote no table; coverage report {}", report.display()));
        return Ok(Status::BadInput);
    }
    ctx.info(&outcome.counts);
    let quarantined = outcome.counts.quarantined_total();
    if quarantined > 0 {
        eprintln!("error: {}: {quarantined} rows are not valid samples; see {}", args.input.display(), nerprep::io::side_path(&args.output, "quarantine").display());
    }
    let mapped = match cov.entities {
        0 => "no entities to map".to_string(),
        n => format!("mapped {:.1}% of {n} entities", cov.entity_share * 100.0),
    };
    ctx.info(format!(
        "{mapped} and {} of {} types; wrote {} and {}",
        cov.types_mapped,
        cov.types,
        args.output.display(),
        report.display()
    ));
    Ok(if quarantined > 0 { Status::BadInput } else { Status::Clean })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn flag_defaults_are_the_recipe_defaults() {
        let cli = crate::cmd::Cli::parse_from(["nerprep", "map", "in.parquet", "--mapping", "m.yaml", "-o", "out.parquet"]);
        let crate::cmd::Command::Map(args) = cli.command else { panic!("parsed as another command") };
        assert_eq!(args.params, MapParams { mapping: vec![PathBuf::from("m.yaml")], ..MapParams::default() });
    }
}
