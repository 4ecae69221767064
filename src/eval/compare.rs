//! Two prediction files on the same gold (`nerprep eval --pred A --pred B`, issue 19): is
//! B's gain over A more than noise? For every scorer both files were scored with, the
//! paired bootstrap ([`super::bootstrap::paired_tests`]) resamples the samples both files
//! answered and gives the difference of their F1 (B − A), its 95% interval and a p-value.
//!
//! Data enters as each file's per-sample counts per scorer ([`Scored`]) and leaves as a
//! [`Comparison`], written as `comparison.md` and `comparison.json` ([`write_comparison`]).

use super::bootstrap::{paired_tests, point_f1, Average, Bootstrap, CountTable, Interval, SampleCounts};
use super::report::ReportError;
use crate::provenance::Provenance;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The files [`write_comparison`] writes, by name inside the output directory.
pub const FILES: [&str; 2] = ["comparison.md", "comparison.json"];

/// One file's per-sample counts under one scorer.
#[derive(Debug, Clone, Copy)]
pub struct Scored<'t> {
    /// The scorer's name in reports (`strict`, `uniner`, …).
    pub scorer: &'t str,
    /// The per-sample counts.
    pub table: &'t CountTable,
    /// Whether a macro F1 means anything (the published scorers have no types).
    pub macro_too: bool,
}

/// One F1 of both files and their difference.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComparedF1 {
    /// The scorer.
    pub scorer: String,
    /// Micro or macro F1.
    pub average: Average,
    /// A's F1 on the paired samples.
    pub a: f64,
    /// B's F1 on the paired samples.
    pub b: f64,
    /// `b - a`.
    pub difference: f64,
    /// 95% interval of the difference (with a bootstrap).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<Interval>,
    /// Two-sided paired-bootstrap p-value of "no difference" (with a bootstrap).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p_value: Option<f64>,
}

/// Everything `comparison.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// The first predictions file.
    pub a: String,
    /// The second predictions file.
    pub b: String,
    /// Samples both files answered (the ones compared).
    pub paired_samples: usize,
    /// Samples only A answered (left out of the comparison).
    pub only_in_a: usize,
    /// Samples only B answered (left out of the comparison).
    pub only_in_b: usize,
    /// The bootstrap behind intervals and p-values, if any.
    pub bootstrap: Option<Bootstrap>,
    /// One row per scorer and average.
    pub rows: Vec<ComparedF1>,
}

/// The samples of `a` and `b` with the same id, in `a`'s order, and how many are unpaired
/// on each side.
fn pair<'t>(a: &'t CountTable, b: &'t CountTable) -> (Vec<&'t SampleCounts>, Vec<&'t SampleCounts>, usize, usize) {
    let by_id: BTreeMap<&str, &SampleCounts> = b.samples.iter().map(|s| (s.sample.as_str(), s)).collect();
    let (mut left, mut right) = (Vec::new(), Vec::new());
    for s in &a.samples {
        if let Some(other) = by_id.get(s.sample.as_str()) {
            left.push(s);
            right.push(*other);
        }
    }
    let paired = left.len();
    (left, right, a.samples.len() - paired, b.samples.len() - paired)
}

/// The rows of one scorer scored for both files.
fn rows_of(a: Scored, b: Scored, boot: Option<Bootstrap>) -> Vec<ComparedF1> {
    let (left, right, _, _) = pair(a.table, b.table);
    let averages: &[Average] = if a.macro_too { &[Average::Micro, Average::Macro] } else { &[Average::Micro] };
    let tests = boot.and_then(|boot| paired_tests(&left, a.table.types, &right, b.table.types, boot));
    let (fa, fb) = (point_f1(&left, a.table.types), point_f1(&right, b.table.types));
    averages
        .iter()
        .map(|&average| {
            let pick = |v: (f64, f64)| if average == Average::Micro { v.0 } else { v.1 };
            let test = tests.as_ref().and_then(|t| t.iter().find(|t| t.average == average));
            ComparedF1 {
                scorer: a.scorer.to_string(),
                average,
                a: pick(fa),
                b: pick(fb),
                difference: pick(fb) - pick(fa),
                interval: test.map(|t| t.interval),
                p_value: test.map(|t| t.p_value),
            }
        })
        .collect()
}

/// Compares file `a` (its scorers' counts in `a_scored`, strict first) with file `b`; a
/// scorer only one of them has is left out.
pub fn compare(a: &str, a_scored: &[Scored], b: &str, b_scored: &[Scored], boot: Option<Bootstrap>) -> Comparison {
    let (_, _, only_in_a, only_in_b) = match (a_scored.first(), b_scored.first()) {
        (Some(x), Some(y)) => pair(x.table, y.table),
        _ => (Vec::new(), Vec::new(), 0, 0),
    };
    let paired_samples = a_scored.first().map_or(0, |x| x.table.samples.len() - only_in_a);
    let mut rows = Vec::new();
    for x in a_scored {
        if let Some(y) = b_scored.iter().find(|y| y.scorer == x.scorer) {
            rows.extend(rows_of(*x, *y, boot));
        }
    }
    Comparison { a: a.to_string(), b: b.to_string(), paired_samples, only_in_a, only_in_b, bootstrap: boot, rows }
}

fn pct(x: f64) -> String {
    format!("{:.2}", x * 100.0)
}

/// The comparison as Markdown.
pub fn to_markdown(c: &Comparison) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# Comparison\n");
    let _ = writeln!(md, "- A: `{}`\n- B: `{}`", c.a, c.b);
    let _ = writeln!(
        md,
        "- {} samples answered by both are compared ({} only in A, {} only in B, left out).",
        c.paired_samples, c.only_in_a, c.only_in_b
    );
    match c.bootstrap {
        Some(b) => {
            let _ = writeln!(
                md,
                "- Paired bootstrap: {} resamples of the samples, seed {}; p is two-sided, for \"A and B score the same\".\n",
                b.resamples, b.seed
            );
        }
        None => {
            let _ = writeln!(md, "- No bootstrap (`--bootstrap 0`): differences only.\n");
        }
    }
    let _ = writeln!(md, "| scorer | F1 | A | B | B − A | 95% interval | p |\n|---|---|---:|---:|---:|---|---:|");
    for r in &c.rows {
        let interval = r.interval.map_or("—".to_string(), |i| format!("[{}, {}]", pct(i.low), pct(i.high)));
        let p = r.p_value.map_or("—".to_string(), |p| format!("{p:.4}"));
        let average = if r.average == Average::Micro { "micro" } else { "macro" };
        let _ = writeln!(md, "| {} | {average} | {} | {} | {} | {interval} | {p} |", r.scorer, pct(r.a), pct(r.b), pct(r.difference));
    }
    md
}

/// Writes `comparison.md`, `comparison.json` and `provenance.json` into `dir`.
pub fn write_comparison(dir: &Path, c: &Comparison, provenance: Provenance) -> Result<Vec<PathBuf>, ReportError> {
    let json = serde_json::to_string_pretty(c).map_err(|e| ReportError::Io(crate::io::IoError::new(dir.join(FILES[1]), e.into())))? + "\n";
    Ok(provenance.write_report_dir(dir, &[(FILES[0], to_markdown(c).into_bytes()), (FILES[1], json.into_bytes())])?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::metrics::Tally;

    fn table(samples: &[(&str, u64, u64, u64)]) -> CountTable {
        CountTable {
            types: 1,
            samples: samples
                .iter()
                .map(|&(id, tp, fp, fn_)| SampleCounts { sample: id.into(), dataset: "d".into(), tallies: vec![(0, Tally { tp, fp, fn_ })] })
                .collect(),
        }
    }

    #[test]
    fn only_samples_both_files_answered_are_compared() {
        // A answered s1, s2; B answered s2, s3. Paired: s2 only. A on s2: tp 1, fp 1 → P 1/2,
        // R 1 → F1 2/3; B on s2: tp 1 → F1 1. Difference 1/3.
        let a = table(&[("s1", 5, 0, 0), ("s2", 1, 1, 0)]);
        let b = table(&[("s2", 1, 0, 0), ("s3", 0, 4, 4)]);
        let scored = |t| [Scored { scorer: "uniner", table: t, macro_too: false }];
        let c = compare("a.jsonl", &scored(&a), "b.jsonl", &scored(&b), None);
        assert_eq!((c.paired_samples, c.only_in_a, c.only_in_b), (1, 1, 1));
        assert_eq!(c.rows.len(), 1);
        assert!((c.rows[0].a - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(c.rows[0].b, 1.0);
        assert!((c.rows[0].difference - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!((c.rows[0].interval, c.rows[0].p_value), (None, None));
        assert!(to_markdown(&c).contains("| uniner | micro | 66.67 | 100.00 | 33.33 | — | — |"), "{}", to_markdown(&c));
    }
}
