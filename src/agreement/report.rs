//! Writing an [`AgreementReport`]: `report.md` for people (scores per pair, label and layer,
//! the first disagreements), `report.json` for programs (everything, every disagreement),
//! `confusion.csv` and `confusion.png` (label confusions between annotators, pooled over the
//! pairs), and `provenance.json`, committed together.

use super::{AgreementReport, Disagreement, Version};
use crate::eval::confusion::ConfusionMatrix;
use crate::eval::report::{cell, pct, prf_cells};
pub use crate::eval::report::ReportError;
use crate::io::IoError;
use crate::provenance::Provenance;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The files [`write_report`] writes, by name inside the output directory.
pub const FILES: [&str; 4] = ["report.md", "report.json", "confusion.csv", "confusion.png"];

fn versions(v: &[Version]) -> String {
    if v.is_empty() {
        return "—".into();
    }
    let shown: Vec<String> = v.iter().map(|x| format!("{} ({})", cell(&x.label), cell(&x.layer))).collect();
    shown.join(", ")
}

fn disagreement_row(d: &Disagreement) -> String {
    format!("| {} | {} | {} | `{}` | {} | {} |", cell(&d.document), cell(&d.unit), d.span, cell(&d.text), versions(&d.first), versions(&d.second))
}

/// The report as Markdown; at most `max_listed` disagreements per pair.
pub fn to_markdown(r: &AgreementReport, max_listed: usize) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# Inter-annotator agreement\n");
    let _ = writeln!(
        md,
        "{} annotators ({}), {} documents (units) annotated by two or more. Strict matching: two \
         annotations agree only when span (code points) and label are equal. P and R take the \
         pair's first annotator as the reference; F1 is symmetric.\n",
        r.annotators.len(),
        r.annotators.iter().map(|a| cell(a)).collect::<Vec<_>>().join(", "),
        r.units
    );
    let _ = writeln!(md, "| pair | units | P | R | F1 | agreed | only 2nd | only 1st | macro F1 |");
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for p in &r.pairs {
        let _ = writeln!(md, "| {} – {} | {} | {} | {} |", cell(&p.first), cell(&p.second), p.units, prf_cells(&p.scores.micro), pct(p.scores.macro_.f1));
    }
    let _ = writeln!(md, "| all pairs | | {} | |\n", prf_cells(&r.pooled));
    for p in &r.pairs {
        let _ = writeln!(md, "## {} – {}\n", cell(&p.first), cell(&p.second));
        let _ = writeln!(md, "| layer | P | R | F1 | agreed | only 2nd | only 1st |\n|---|---:|---:|---:|---:|---:|---:|");
        for (layer, s) in &p.per_layer {
            let _ = writeln!(md, "| {} | {} |", cell(layer), prf_cells(s));
        }
        let _ = writeln!(md, "\n| label | P | R | F1 | agreed | only 2nd | only 1st |\n|---|---:|---:|---:|---:|---:|---:|");
        for (label, s) in &p.scores.per_type {
            let _ = writeln!(md, "| {} | {} |", cell(label), prf_cells(s));
        }
        let _ = writeln!(md, "\n### Disagreements ({})\n", p.disagreements.len());
        let _ = writeln!(md, "| document | unit | span | text | {} | {} |\n|---|---|---|---|---|---|", cell(&p.first), cell(&p.second));
        for d in p.disagreements.iter().take(max_listed) {
            let _ = writeln!(md, "{}", disagreement_row(d));
        }
        if p.disagreements.len() > max_listed {
            let _ = writeln!(md, "\n… and {} more in report.json.", p.disagreements.len() - max_listed);
        }
        let _ = writeln!(md);
    }
    let _ = writeln!(md, "## Confusion\n");
    let _ = writeln!(md, "Labels the two annotators of a pair gave the same span, pooled over the pairs (rows: the pair's first annotator; `O`: nothing): `confusion.csv`, `confusion.png`.\n");
    let _ = writeln!(md, "## Records\n\n```\n{}\n```", r.counts);
    md
}

/// Writes [`FILES`] and `provenance.json` into `dir`, all committed together.
pub fn write_report(
    dir: &Path,
    report: &AgreementReport,
    confusion: &ConfusionMatrix,
    max_listed: usize,
    provenance: Provenance,
) -> Result<Vec<PathBuf>, ReportError> {
    let json = serde_json::to_string_pretty(report).map_err(|e| IoError::new(dir.join(FILES[1]), e.into()))? + "\n";
    let mut heatmap = confusion.heatmap("Label confusions between annotators");
    heatmap.row_axis = "first annotator".into();
    heatmap.col_axis = "second annotator (colour: share of the row)".into();
    let png = heatmap.png_bytes(&dir.join(FILES[3]))?;
    let contents = [to_markdown(report, max_listed).into_bytes(), json.into_bytes(), confusion.to_csv().replacen("gold\\predicted", "first\\second", 1).into_bytes(), png];
    let files: Vec<(&str, Vec<u8>)> = FILES.iter().copied().zip(contents).collect();
    Ok(provenance.write_report_dir(dir, &files)?)
}
