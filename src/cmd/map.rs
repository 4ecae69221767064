use super::{Ctx, Status};
use anyhow::Context;
use nerprep::io::write_atomic;
use nerprep::taxonomy::{map_table, MapOptions, Mapping, UnmappedPolicy};
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
    /// A mapping file; repeat for several (earlier ones win).
    #[arg(long, short, required = true)]
    mapping: Vec<PathBuf>,
    /// Entities whose label no mapping knows: error (write nothing, exit 1), misc (give
    /// them Misc), keep (leave their archetype as it was, usually empty).
    #[arg(long, default_value = "keep")]
    unmapped: UnmappedPolicy,
    /// Also match labels differing only in case, whitespace or underscores (each such hit
    /// is listed in the report).
    #[arg(long)]
    normalize: bool,
    /// Coverage report path (.json for JSON, else Markdown); default: OUTPUT's stem + `.coverage.md`.
    #[arg(long, short)]
    report: Option<PathBuf>,
    /// How many unmapped types the Markdown report lists.
    #[arg(long, default_value_t = 20)]
    top: usize,
    /// The mapped samples table to write.
    #[arg(long, short)]
    output: PathBuf,
}

pub fn run(args: Args, ctx: &Ctx) -> anyhow::Result<Status> {
    let mut mappings = Vec::new();
    for path in &args.mapping {
        let (m, _) = Mapping::load_checked(path).with_context(|| format!("checking mapping {}", path.display()))?;
        mappings.push((m, path.display().to_string()));
    }
    let options = MapOptions { unmapped: args.unmapped, normalize: args.normalize };
    let outcome = map_table(&args.input, &args.output, &mappings, options)
        .with_context(|| format!("mapping {} into {}", args.input.display(), args.output.display()))?;
    let cov = &outcome.coverage;
    let report = args.report.clone().unwrap_or_else(|| {
        let stem = args.output.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        args.output.with_file_name(format!("{stem}.coverage.md"))
    });
    let text = if report.extension().is_some_and(|e| e == "json") {
        serde_json::to_string_pretty(cov)? + "\n"
    } else {
        cov.to_markdown(args.top)
    };
    write_atomic(&report, text.as_bytes())?;
    for h in &cov.normalized_hits {
        ctx.info(format!("normalised: `{}` -> `{}` ({}, {} entities)", h.label, h.matched, h.archetype, h.entities));
    }
    if !outcome.written {
        for u in cov.unmapped_types.iter().take(args.top) {
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
    ctx.info(format!(
        "mapped {:.1}% of {} entities and {} of {} types; wrote {} and {}",
        cov.entity_share * 100.0,
        cov.entities,
        cov.types_mapped,
        cov.types,
        args.output.display(),
        report.display()
    ));
    Ok(Status::Clean)
}
