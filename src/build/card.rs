//! The dataset card, `OUT/README.md`: what a person reads before training on the data.
//!
//! Sources with their licences and sizes, per step what went in and out and why (from the
//! manifest), the label and archetype distributions of each input's final table, the
//! training files, the figures the stages drew, and how to load the tables. No timings or
//! dates, so the card is as reproducible as the data.

use super::manifest::Manifest;
use super::recipe::Recipe;
use crate::io::{write_atomic, IoError};
use crate::model::Sample;
use crate::table::TableReader;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// How many labels the distribution tables list per input.
const TOP_LABELS: usize = 25;

/// Writes the card for a finished build.
pub fn write_card(recipe: &Recipe, manifest: &Manifest, path: &Path) -> Result<(), IoError> {
    let mut md = String::new();
    let _ = writeln!(md, "# Dataset card\n");
    let _ = writeln!(
        md,
        "Built by {} from `{}` (sha256 `{}`), seed {}. Every number below comes from `manifest.json`.\n",
        manifest.tool, manifest.recipe.path, short(&manifest.recipe.sha256), manifest.seed
    );
    sources(&mut md, recipe, manifest);
    steps(&mut md, manifest);
    distributions(&mut md, recipe, manifest);
    training_files(&mut md, manifest);
    figures(&mut md, &recipe.output);
    let _ = writeln!(md, "## Loading the tables\n");
    let _ = writeln!(md, "```python\nimport polars as pl\ndf = pl.scan_parquet(\"{}/samples/**/*.parquet\", hive_partitioning=True)\n```\n", recipe.output.display());
    let _ = writeln!(md, "```sql\nSELECT dataset, split, count(*) FROM read_parquet('{}/samples/**/*.parquet', hive_partitioning = true) GROUP BY ALL;\n```", recipe.output.display());
    write_atomic(path, md.as_bytes())
}

fn short(digest: &str) -> &str {
    &digest[..digest.len().min(12)]
}

fn sources(md: &mut String, recipe: &Recipe, manifest: &Manifest) {
    let _ = writeln!(md, "## Sources\n\n| input | format | files | bytes | licence | source |\n|---|---|---:|---:|---|---|");
    for input in &recipe.inputs {
        let step = manifest.step(&format!("ingest/{}", input.name));
        let (files, bytes) = step.map_or((0, 0), |s| (s.inputs.len(), s.inputs.iter().map(|i| i.size).sum::<u64>()));
        let format = input.ingest.format.map_or("?", |f| f.as_str());
        let _ = writeln!(
            md,
            "| {} | {format} | {files} | {bytes} | {} | {} |",
            input.name,
            input.licence.as_deref().unwrap_or("not stated: check upstream"),
            input.source.as_deref().unwrap_or("")
        );
    }
    md.push('\n');
}

fn reasons(map: &BTreeMap<String, u64>) -> String {
    if map.is_empty() {
        return String::new();
    }
    map.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")
}

fn steps(md: &mut String, manifest: &Manifest) {
    let _ = writeln!(md, "## What each step did\n\n| step | read | written | quarantined | skipped | why |\n|---|---:|---:|---:|---:|---|");
    for s in &manifest.steps {
        match &s.counts {
            Some(c) => {
                let why = [reasons(&c.quarantined), reasons(&c.skipped)].into_iter().filter(|r| !r.is_empty()).collect::<Vec<_>>().join("; ");
                let _ = writeln!(md, "| {} | {} | {} | {} | {} | {why} |", s.id, c.read, c.written, c.quarantined_total(), c.skipped_total());
            }
            None => {
                let _ = writeln!(md, "| {} | | {} files | | | |", s.id, s.outputs.len());
            }
        }
    }
    md.push('\n');
}

/// The table each input ends with: the last table step's first output.
fn final_tables(recipe: &Recipe, manifest: &Manifest) -> Vec<(String, PathBuf)> {
    recipe
        .inputs
        .iter()
        .filter_map(|i| {
            let last = manifest
                .steps
                .iter()
                .rfind(|s| matches!(s.stage.as_str(), "ingest" | "map" | "prune") && s.id.ends_with(&format!("/{}", i.name)))?;
            Some((i.name.clone(), PathBuf::from(&last.outputs.first()?.path)))
        })
        .collect()
}

fn distributions(md: &mut String, recipe: &Recipe, manifest: &Manifest) {
    let _ = writeln!(md, "## Labels and archetypes\n");
    for (name, table) in final_tables(recipe, manifest) {
        let Ok(mut reader) = TableReader::<Sample>::open(&table) else { continue };
        let mut labels: BTreeMap<String, u64> = BTreeMap::new();
        let mut archetypes: BTreeMap<String, u64> = BTreeMap::new();
        let mut samples = 0u64;
        while let Some(Ok(batch)) = reader.next_checked() {
            for s in batch.rows {
                samples += 1;
                for e in &s.entities {
                    *labels.entry(e.label.clone()).or_default() += 1;
                    if let Some(a) = &e.archetype {
                        *archetypes.entry(a.clone()).or_default() += 1;
                    }
                }
            }
        }
        let total: u64 = labels.values().sum();
        let _ = writeln!(md, "### {name}\n\n{samples} samples, {total} entities, {} labels.\n", labels.len());
        let _ = writeln!(md, "| label | entities |\n|---|---:|");
        let mut sorted: Vec<_> = labels.into_iter().collect();
        sorted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        for (label, n) in sorted.iter().take(TOP_LABELS) {
            let _ = writeln!(md, "| {} | {n} |", label.replace('|', "\\|"));
        }
        if sorted.len() > TOP_LABELS {
            let _ = writeln!(md, "| … {} more | |", sorted.len() - TOP_LABELS);
        }
        if !archetypes.is_empty() {
            let _ = writeln!(md, "\n| archetype | entities |\n|---|---:|");
            for (a, n) in &archetypes {
                let _ = writeln!(md, "| {a} | {n} |");
            }
        }
        md.push('\n');
    }
}

fn training_files(md: &mut String, manifest: &Manifest) {
    let _ = writeln!(md, "## Training files\n\nListed in `train/dataset_info.json` for LLaMA-Factory.\n\n| file | samples | records | skipped |\n|---|---:|---:|---|");
    for s in manifest.steps.iter().filter(|s| s.stage == "emit") {
        let Some(c) = &s.counts else { continue };
        let file = s.outputs.first().map_or("", |o| o.path.as_str());
        let records = c.notes.get("records").copied().unwrap_or(0);
        let _ = writeln!(md, "| `{file}` | {} | {records} | {} |", c.written, reasons(&c.skipped));
    }
    md.push('\n');
}

fn figures(md: &mut String, out: &Path) {
    let mut found = Vec::new();
    let mut stack = vec![out.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "png" || x == "svg") {
                found.push(p);
            }
        }
    }
    if found.is_empty() {
        return;
    }
    found.sort();
    let _ = writeln!(md, "## Figures\n");
    for p in found {
        let rel = p.strip_prefix(out).unwrap_or(&p).display().to_string();
        let _ = writeln!(md, "- [{rel}]({rel})");
    }
    md.push('\n');
}
