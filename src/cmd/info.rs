use super::{Ctx, Status};
use anyhow::Context;
use nerprep::provenance::{describe, Described};
use std::path::PathBuf;

/// Show where an output came from: its provenance (tool version, stage, parameters, input
/// digests, output digest, counts) and, for a table, its schema and row count.
///
/// Works on any file nerprep writes: a Parquet table (provenance in its metadata), a JSONL or
/// report file (`NAME.provenance.json` beside it), or a report directory (`DIR/provenance.json`).
///
/// Example:
///   nerprep info data/crossner.parquet
///   nerprep info data/train/b2nerd_b2ner.jsonl --json
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// The file or directory to describe.
    path: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args, _ctx: &Ctx) -> anyhow::Result<Status> {
    let info = describe(&args.path).with_context(|| format!("describing {}", args.path.display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&info)?);
    } else {
        print!("{}", to_text(&info));
    }
    Ok(if info.provenance.is_some() { Status::Clean } else { Status::BadInput })
}

/// The description as aligned `key: value` lines.
fn to_text(info: &Described) -> String {
    let mut out = format!("path: {}\n", info.path);
    if let Some(rows) = info.rows {
        out += &format!("rows: {rows}\n");
    }
    if !info.schema.is_empty() {
        out += "schema:\n";
        for (name, kind) in &info.schema {
            out += &format!("  {name}: {kind}\n");
        }
    }
    match &info.provenance {
        None => out += "provenance: none (not written by nerprep, or written before provenance was recorded)\n",
        Some(p) => {
            out += &format!("tool: {}\nstage: {}\nparams: {}\n", p.tool, p.stage, p.params);
            out += "inputs:\n";
            for i in &p.inputs {
                out += &format!("  {} ({} bytes, sha256 {})\n", i.path, i.size, i.sha256);
            }
            if let Some(d) = &p.output {
                out += &format!("output sha256: {d}\n");
            }
            if let Some(c) = &p.counts {
                out += &format!("counts: {}\n", c.to_string().replace("\n  ", "; "));
            }
        }
    }
    out
}
