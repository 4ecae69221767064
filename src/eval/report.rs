//! Writing an [`EvalReport`]: `report.md` for people, `report.json` for programs,
//! `confusion.csv` (input of `nerprep confusion`) and `confusion.png` (heatmap), all in one
//! directory, each file written atomically.

use super::bootstrap::Interval;
use super::confusion::ConfusionMatrix;
use super::metrics::{Prf, Scores};
use super::published::PublishedScores;
use super::{EvalReport, ExampleEntity};
use crate::io::IoError;
use crate::plot::PlotError;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The files [`write_report`] writes, by name inside the output directory.
pub const FILES: [&str; 4] = ["report.md", "report.json", "confusion.csv", "confusion.png"];

/// Writing a report (this one, or `nerprep agreement`'s) failed.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file could not be written.
    #[error(transparent)]
    Io(#[from] IoError),
    /// The heatmap could not be drawn.
    #[error(transparent)]
    Plot(#[from] PlotError),
}

pub(crate) fn pct(x: f64) -> String {
    format!("{:.2}", x * 100.0)
}

pub(crate) fn prf_cells(p: &Prf) -> String {
    format!(
        "{} | {} | {} | {} | {} | {}",
        pct(p.precision),
        pct(p.recall),
        pct(p.f1),
        p.tally.tp,
        p.tally.fp,
        p.tally.fn_
    )
}

/// `[low, high]` in percent, or `—` without a bootstrap.
fn interval_cell(i: Option<Interval>) -> String {
    i.map_or("—".to_string(), |i| format!("[{}, {}]", pct(i.low), pct(i.high)))
}

/// P, R, F1, its interval and the counts.
fn prf_interval_cells(p: &Prf) -> String {
    format!(
        "{} | {} | {} | {} | {} | {} | {}",
        pct(p.precision),
        pct(p.recall),
        pct(p.f1),
        interval_cell(p.f1_interval),
        p.tally.tp,
        p.tally.fp,
        p.tally.fn_
    )
}

/// The micro and macro rows of a strict scores table.
fn micro_macro_rows(md: &mut String, o: &Scores) {
    let _ = writeln!(md, "| scope | P | R | F1 | F1 95% interval | TP | FP | FN |\n|---|---:|---:|---:|---|---:|---:|---:|");
    let _ = writeln!(md, "| micro | {} |", prf_interval_cells(&o.micro));
    let _ = writeln!(
        md,
        "| macro ({} types) | {} | {} | {} | {} | | | |\n",
        o.macro_.types,
        pct(o.macro_.precision),
        pct(o.macro_.recall),
        pct(o.macro_.f1),
        interval_cell(o.macro_.f1_interval)
    );
}

/// The published scorers' section: what each reproduces, pooled and per-dataset scores.
fn published_section(md: &mut String, published: &[PublishedScores]) {
    let _ = writeln!(md, "## Published scorers\n");
    let _ = writeln!(
        md,
        "The papers' own scripts, reimplemented with their quirks (README, *eval*): `uniner` is \
         UniversalNER's `evaluate.py` (normalised mention strings per passage and type), `b2ner` \
         is B2NER's `EvaluatorNER` (formatted `label:mention` sets per instance). Both papers \
         report the unweighted mean of per-dataset F1.\n"
    );
    let _ = writeln!(md, "| scorer | units | P | R | F1 | F1 95% interval | TP | FP | FN | mean F1 over datasets |");
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|");
    for p in published {
        let _ = writeln!(md, "| {} | {} {} | {} | {} |", p.scorer.as_str(), p.units, p.unit, prf_interval_cells(&p.micro), pct(p.dataset_mean_f1));
    }
    for p in published {
        let _ = writeln!(md, "\n### {} per dataset\n", p.scorer.as_str());
        let _ = writeln!(md, "| dataset | P | R | F1 | F1 95% interval | TP | FP | FN |\n|---|---:|---:|---:|---|---:|---:|---:|");
        for (d, prf) in &p.per_dataset {
            let _ = writeln!(md, "| {} | {} |", cell(d), prf_interval_cells(prf));
        }
        if !p.notes.is_empty() {
            let notes: Vec<String> = p.notes.iter().map(|(k, v)| format!("{k} {v}")).collect();
            let _ = writeln!(md, "\nNotes: {}.", notes.join(", "));
        }
    }
    md.push('\n');
}

/// Escapes `|` and line breaks so a value stays in its Markdown table cell.
pub(crate) fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn entity(e: &Option<ExampleEntity>) -> String {
    match e {
        None => "—".to_string(),
        Some(e) => {
            let at = e.span.map(|s| format!(" {s}")).unwrap_or_else(|| " (not in text)".to_string());
            format!("`{}` {}{}", cell(&e.mention), cell(&e.label), at)
        }
    }
}

/// The report as Markdown.
pub fn to_markdown(r: &EvalReport) -> String {
    let mut md = String::new();
    let o = &r.overall;
    let _ = writeln!(md, "# Evaluation\n");
    let _ = writeln!(
        md,
        "{} samples, {} gold entities, {} predicted entities. Strict matching: a prediction is \
         correct only when its span (code points) and label equal a gold entity's.\n",
        r.samples, r.gold_entities, r.predicted_entities
    );
    micro_macro_rows(&mut md, o);
    if let Some(b) = r.bootstrap {
        let _ = writeln!(md, "Intervals: percentile bootstrap, {} resamples of the samples, seed {}.\n", b.resamples, b.seed);
    }
    if !r.published.is_empty() {
        published_section(&mut md, &r.published);
    }

    let _ = writeln!(md, "## Per dataset\n");
    let _ = writeln!(md, "| dataset | samples | micro P | micro R | micro F1 | F1 95% interval | TP | FP | FN | macro F1 | F1 95% interval |");
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---|");
    for (d, s) in &r.per_dataset {
        let m = &s.scores.macro_;
        let _ = writeln!(md, "| {} | {} | {} | {} | {} |", cell(d), s.samples, prf_interval_cells(&s.scores.micro), pct(m.f1), interval_cell(m.f1_interval));
    }

    if let Some(a) = &r.per_archetype {
        let _ = writeln!(md, "\n## Per archetype\n");
        let _ = writeln!(md, "Strict matching with every label replaced by its taxonomy archetype (`(unmapped)`: no archetype).\n");
        micro_macro_rows(&mut md, a);
        let _ = writeln!(md, "| archetype | P | R | F1 | TP | FP | FN |\n|---|---:|---:|---:|---:|---:|---:|");
        for (t, p) in &a.per_type {
            let _ = writeln!(md, "| {} | {} |", cell(t), prf_cells(p));
        }
    }

    let _ = writeln!(md, "\n## Per type\n");
    let _ = writeln!(md, "| type | P | R | F1 | TP | FP | FN |\n|---|---:|---:|---:|---:|---:|---:|");
    for (t, p) in &o.per_type {
        let _ = writeln!(md, "| {} | {} |", cell(t), prf_cells(p));
    }

    let _ = writeln!(md, "\n## Error types\n");
    let _ = writeln!(md, "| error | count | share % |\n|---|---:|---:|");
    for e in &r.errors {
        let _ = writeln!(md, "| {} (`{}`) | {} | {} |", e.kind.title(), e.kind, e.count, pct(e.share));
    }
    for e in r.errors.iter().filter(|e| !e.examples.is_empty()) {
        let _ = writeln!(md, "\n### {}\n", e.kind.title());
        let _ = writeln!(md, "| sample | predicted | gold | text |\n|---|---|---|---|");
        for x in &e.examples {
            let _ = writeln!(md, "| {} | {} | {} | {} |", cell(&x.sample), entity(&x.predicted), entity(&x.gold), cell(&x.text));
        }
    }

    if !r.unparseable.is_empty() {
        let _ = writeln!(md, "\n## Unparseable answers\n");
        let _ = writeln!(md, "Scored as predicting nothing; the first {}:\n", r.unparseable.len());
        let _ = writeln!(md, "| record | line | error | answer |\n|---|---:|---|---|");
        for u in &r.unparseable {
            let _ = writeln!(md, "| {} | {} | {} | {} |", cell(&u.record), u.line, cell(&u.error), cell(&u.answer));
        }
    }

    let listings: u64 = r.placement.values().sum();
    if listings > 0 {
        let _ = writeln!(md, "\n## Placement of listings\n");
        let _ = writeln!(md, "{listings} mention-only listings, each one prediction, by the first rule that applies (`repeated`: none, it repeats a listing already placed):\n");
        let _ = writeln!(md, "| rule | listings |\n|---|---:|");
        for (rule, n) in &r.placement {
            let _ = writeln!(md, "| `{rule}` | {n} |");
        }
    }

    let _ = writeln!(md, "\n## Confusion\n");
    let _ = writeln!(md, "Gold × predicted labels on the same span (`O`: none): `confusion.csv`, `confusion.png`.\n");
    let _ = writeln!(md, "## Records\n\n```\n{}\n```", r.counts);
    md
}

/// Writes `report.md`, `report.json`, `confusion.csv` and `confusion.png` into `dir`.
///
/// The files, and `provenance.json` describing them (each file's digest in its `output`
/// list), are written in full before any of them replaces an older report.
pub fn write_report(
    dir: &Path,
    report: &EvalReport,
    confusion: &ConfusionMatrix,
    provenance: crate::provenance::Provenance,
) -> Result<Vec<PathBuf>, ReportError> {
    let json_path = dir.join(FILES[1]);
    let json = serde_json::to_string_pretty(report).map_err(|e| ReportError::Io(IoError::new(&json_path, e.into())))? + "\n";
    let png = confusion.heatmap("Gold x predicted type").png_bytes(&dir.join(FILES[3]))?;
    let contents = [to_markdown(report).into_bytes(), json.into_bytes(), confusion.to_csv().into_bytes(), png];
    let files: Vec<(&str, Vec<u8>)> = FILES.iter().copied().zip(contents).collect();
    Ok(provenance.write_report_dir(dir, &files)?)
}
