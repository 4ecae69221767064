//! The gold × predicted type confusion matrix, written as CSV (the explicit-confusion input
//! of `nerprep confusion`) and drawn as a heatmap.
//!
//! Cells pair labels found on the **same span**: a gold entity predicted with its own label
//! lands on the diagonal, one predicted with another label off it. A gold entity with no
//! prediction on its span is counted in the `O` column (missed), a prediction on a span
//! with no gold entity in the `O` row (spurious, including mentions not found in the text).
//! When one span has several unmatched gold and predicted labels, they are paired in label
//! order and the rest go to `O`.

use crate::model::Span;
use crate::plot::Heatmap;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// The row / column of "no entity": missed gold entities and spurious predictions.
pub const NONE: &str = "O";
/// Heatmaps show at most this many labels; the rest are folded into one `(other)` label.
pub const HEATMAP_LABELS: usize = 40;
const OTHER: &str = "(other)";

/// Counts of (gold label, predicted label) pairs on the same span.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfusionMatrix {
    cells: BTreeMap<(String, String), u64>,
}

/// The matrix as rows, columns and counts, for JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfusionTable {
    /// Gold labels (then `O`).
    pub rows: Vec<String>,
    /// Predicted labels (then `O`).
    pub cols: Vec<String>,
    /// `counts[i][j]`: gold `rows[i]` predicted as `cols[j]`.
    pub counts: Vec<Vec<u64>>,
}

/// Labels sorted, with `O` last.
fn ordered(labels: BTreeSet<&str>) -> Vec<String> {
    let mut v: Vec<String> = labels.iter().filter(|l| **l != NONE).map(|l| l.to_string()).collect();
    v.push(NONE.to_string());
    v
}

impl ConfusionMatrix {
    fn bump(&mut self, gold: &str, pred: &str, n: u64) {
        *self.cells.entry((gold.to_string(), pred.to_string())).or_default() += n;
    }

    /// Adds one sample: distinct gold `(span, label)` pairs, distinct placed predictions,
    /// and the labels of predictions that could not be placed in the text.
    pub fn add_sample(&mut self, gold: &[(Span, &str)], predicted: &[(Span, &str)], unplaced: &[&str]) {
        let mut by_span: BTreeMap<Span, (BTreeSet<&str>, BTreeSet<&str>)> = BTreeMap::new();
        for &(s, l) in gold {
            by_span.entry(s).or_default().0.insert(l);
        }
        for &(s, l) in predicted {
            by_span.entry(s).or_default().1.insert(l);
        }
        for (g, p) in by_span.values() {
            for l in g.intersection(p) {
                self.bump(l, l, 1);
            }
            let mut g_rest = g.difference(p);
            let mut p_rest = p.difference(g);
            loop {
                match (g_rest.next(), p_rest.next()) {
                    (Some(gl), Some(pl)) => self.bump(gl, pl, 1),
                    (Some(gl), None) => self.bump(gl, NONE, 1),
                    (None, Some(pl)) => self.bump(NONE, pl, 1),
                    (None, None) => break,
                }
            }
        }
        for l in unplaced {
            self.bump(NONE, l, 1);
        }
    }

    /// Adds another matrix into this one.
    pub fn absorb(&mut self, other: &ConfusionMatrix) {
        for ((g, p), n) in &other.cells {
            self.bump(g, p, *n);
        }
    }

    /// How often gold `gold` was predicted as `pred`.
    pub fn count(&self, gold: &str, pred: &str) -> u64 {
        self.cells.get(&(gold.to_string(), pred.to_string())).copied().unwrap_or(0)
    }

    /// The full matrix: every gold label as a row, every predicted label as a column,
    /// sorted, `O` last in both.
    pub fn table(&self) -> ConfusionTable {
        let rows = ordered(self.cells.keys().map(|(g, _)| g.as_str()).collect());
        let cols = ordered(self.cells.keys().map(|(_, p)| p.as_str()).collect());
        let counts = rows.iter().map(|g| cols.iter().map(|p| self.count(g, p)).collect()).collect();
        ConfusionTable { rows, cols, counts }
    }

    /// The matrix as CSV: a header `gold\predicted,<labels…>,O`, then one row per gold label.
    pub fn to_csv(&self) -> String {
        let t = self.table();
        let mut out = String::from("gold\\predicted");
        for c in &t.cols {
            out.push(',');
            out.push_str(&csv_field(c));
        }
        out.push('\n');
        for (r, counts) in t.rows.iter().zip(&t.counts) {
            out.push_str(&csv_field(r));
            for n in counts {
                out.push(',');
                out.push_str(&n.to_string());
            }
            out.push('\n');
        }
        out
    }

    /// A heatmap of the matrix, each row coloured by its share of the row total and
    /// annotated with counts. Only the [`HEATMAP_LABELS`] most frequent labels get their own
    /// row and column; the others are folded into `(other)`.
    pub fn heatmap(&self, title: &str) -> Heatmap {
        let mut freq: BTreeMap<&str, u64> = BTreeMap::new();
        for ((g, p), n) in &self.cells {
            *freq.entry(g).or_default() += n;
            *freq.entry(p).or_default() += n;
        }
        freq.remove(NONE);
        let mut by_freq: Vec<(&str, u64)> = freq.into_iter().collect();
        by_freq.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let folded = by_freq.len() > HEATMAP_LABELS;
        let kept: BTreeSet<&str> = by_freq.iter().take(HEATMAP_LABELS).map(|(l, _)| *l).collect();
        let fold = |l: &str| -> String {
            if l == NONE || kept.contains(l) { l.to_string() } else { OTHER.to_string() }
        };
        let mut folded_cells = ConfusionMatrix::default();
        for ((g, p), n) in &self.cells {
            folded_cells.bump(&fold(g), &fold(p), *n);
        }
        let t = folded_cells.table();
        let intensity = t
            .counts
            .iter()
            .map(|row| {
                let total: u64 = row.iter().sum();
                row.iter().map(|&n| if total == 0 { 0.0 } else { n as f64 / total as f64 }).collect()
            })
            .collect();
        let annotations =
            t.counts.iter().map(|row| row.iter().map(|&n| if n == 0 { String::new() } else { n.to_string() }).collect()).collect();
        let title = if folded {
            format!("{title} (top {HEATMAP_LABELS} of {} labels; see confusion.csv)", by_freq.len())
        } else {
            title.to_string()
        };
        Heatmap {
            title,
            row_axis: "gold".into(),
            col_axis: "predicted (colour: share of the gold row)".into(),
            rows: t.rows,
            cols: t.cols,
            intensity,
            annotations,
        }
    }
}

/// A CSV field, quoted when it holds a comma, quote or line break (RFC 4180).
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sp(a: u32, b: u32) -> Span {
        Span::new(a, b).unwrap()
    }

    #[test]
    fn same_span_pairs_and_o_for_missed_and_spurious() {
        let mut m = ConfusionMatrix::default();
        let gold = [(sp(0, 5), "ORG"), (sp(10, 16), "MISC"), (sp(20, 30), "PER")];
        let pred = [(sp(0, 5), "LOC"), (sp(10, 16), "MISC"), (sp(40, 44), "ORG")];
        m.add_sample(&gold, &pred, &["PER"]);
        assert_eq!(m.count("ORG", "LOC"), 1);
        assert_eq!(m.count("MISC", "MISC"), 1);
        assert_eq!(m.count("PER", NONE), 1);
        assert_eq!(m.count(NONE, "ORG"), 1);
        assert_eq!(m.count(NONE, "PER"), 1);
        let csv = m.to_csv();
        assert_eq!(
            csv,
            "gold\\predicted,LOC,MISC,ORG,PER,O\nMISC,0,1,0,0,0\nORG,1,0,0,0,0\nPER,0,0,0,0,1\nO,0,0,1,1,0\n"
        );
    }

    #[test]
    fn csv_quotes_awkward_labels() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"x\""), "\"say \"\"x\"\"\"");
        assert_eq!(csv_field("person"), "person");
    }

    #[test]
    fn heatmap_folds_rare_labels() {
        let mut m = ConfusionMatrix::default();
        let labels: Vec<String> = (0..HEATMAP_LABELS + 5).map(|i| format!("L{i:02}")).collect();
        for (i, l) in labels.iter().enumerate() {
            let span = sp(i as u32 * 10, i as u32 * 10 + 3);
            m.add_sample(&[(span, l.as_str())], &[(span, l.as_str())], &[]);
        }
        let h = m.heatmap("x");
        assert_eq!(h.rows.len(), HEATMAP_LABELS + 2);
        assert!(h.rows.contains(&OTHER.to_string()));
        assert!(h.title.contains("top 40 of 45"));
    }
}
